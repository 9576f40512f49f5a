use std::path::PathBuf;

use thiserror::Error;

pub type Result<T> = std::result::Result<T, CoreError>;

/// Every error the engine reports. Messages are one line and name the cause,
/// so the CLI and GUI can show them as they are.
#[derive(Debug, Error)]
pub enum CoreError {
    #[error("config file {path}: {message}")]
    Config { path: PathBuf, message: String },
    #[error("no account named {0:?} (see `satchel account list`)")]
    NoSuchAccount(String),
    #[error("an account named {0:?} already exists")]
    AccountExists(String),
    #[error("password for {account:?}: {message}")]
    Credentials { account: String, message: String },
    #[error("cannot reach {host}:{port}: {source}")]
    Connect {
        host: String,
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("TLS with {host}: {message}")]
    Tls { host: String, message: String },
    #[error(
        "refusing to send the password for {account:?} without TLS; set allow_plaintext = true for this account to permit it"
    )]
    PlaintextRefused { account: String },
    #[error("login to {host} as {username:?} failed: {server}")]
    Login { host: String, username: String, server: String },
    #[error("server closed the connection while {0}")]
    ConnectionLost(String),
    #[error("IMAP {command}: server said {status}: {text}")]
    Command { command: String, status: String, text: String },
    #[error("IMAP {context}: {message}")]
    Protocol { context: String, message: String },
    /// A response our IMAP parser could not read (servers build some
    /// BODYSTRUCTUREs of malformed mail badly). The session is unusable after
    /// it; sync reconnects and fetches that batch message by message.
    #[error("IMAP {context}: unreadable response from the server: {detail}")]
    Unparsable {
        context: String,
        detail: String,
        /// The mailbox and UID range being fetched, when known.
        batch: Option<(i64, u32, u32)>,
    },
    /// Account setup could not use an address or a provider's settings file.
    #[error("automatic setup: {0}")]
    Autoconfig(String),
    /// A message that cannot be built as written (a bad address, an
    /// unreadable attachment, no SMTP server set).
    #[error("cannot send: {0}")]
    Compose(String),
    #[error("no folder named {0:?} on this account")]
    NoSuchFolder(String),
    #[error(transparent)]
    Cache(#[from] satchel_cache::CacheError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl CoreError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> CoreError {
        CoreError::Io { context: context.into(), source }
    }

    pub(crate) fn protocol(context: impl Into<String>, message: impl Into<String>) -> CoreError {
        CoreError::Protocol { context: context.into(), message: message.into() }
    }

    /// True for errors after which the connection is gone (as opposed to a
    /// NO from the server, a bad setting or a full disk).
    pub fn is_connection_lost(&self) -> bool {
        matches!(self, CoreError::ConnectionLost(_) | CoreError::Connect { .. })
    }
}
