//! "Test connection" on the account setup screen: one login with the
//! settings as typed, and a message per failure that tells a home user
//! which field to look at, rather than an engine error.

use std::fmt;
use std::time::Duration;

use crate::CoreError;
use crate::config::AccountConfig;
use crate::imap::{Capabilities, connect};
use crate::sync::list_folders;

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// The features the setup screen mentions, in the order shown.
const FEATURES: [&str; 4] = ["IDLE", "CONDSTORE", "QRESYNC", "MOVE"];

/// What a successful test found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSummary {
    /// Those of IDLE, CONDSTORE, QRESYNC and MOVE the server offers.
    pub features: Vec<String>,
    /// Folders the login can see; None when the LIST failed (the login
    /// itself worked, which is what the test is for).
    pub folder_count: Option<usize>,
    /// Everything the server announced after login.
    pub capabilities: Capabilities,
}

impl ServerSummary {
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.has(capability)
    }
}

impl fmt::Display for ServerSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Connected and logged in")?;
        match self.folder_count {
            Some(1) => write!(f, "; 1 folder")?,
            Some(n) => write!(f, "; {n} folders")?,
            None => {}
        }
        if self.features.is_empty() {
            write!(f, ".")
        } else {
            write!(f, "; the server supports {}.", self.features.join(", "))
        }
    }
}

/// Why a test failed, one kind per thing the user can fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionProblem {
    HostNotFound { host: String },
    Refused { host: String, port: u16 },
    TimedOut { host: String, port: u16 },
    /// TLS failed: an untrusted certificate, or not TLS on that port.
    Tls { host: String, message: String },
    /// Security "none" without `allow_plaintext`: the password stays home.
    PlaintextRefused,
    LoginFailed { server_words: String },
    Other(String),
}

impl fmt::Display for ConnectionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectionProblem::HostNotFound { host } if host.is_empty() => write!(f, "Enter the server name."),
            ConnectionProblem::HostNotFound { host } => write!(
                f,
                "The server name {host} could not be found. Check the spelling, and that this computer is online."
            ),
            ConnectionProblem::Refused { host, port } => write!(
                f,
                "{host} refused the connection on port {port}. Check the port and security settings."
            ),
            ConnectionProblem::TimedOut { host, port } => write!(
                f,
                "{host} did not answer on port {port}. Check the server name and port; a firewall may be blocking it."
            ),
            ConnectionProblem::Tls { message, .. } if message.contains("certificate") => {
                write!(f, "The server's certificate could not be verified: {message}.")
            }
            ConnectionProblem::Tls { host, message } => write!(
                f,
                "A secure connection to {host} could not be set up: {message}. Check that the port matches the \
                 security setting (usually 993 for SSL/TLS, 143 for STARTTLS)."
            ),
            ConnectionProblem::PlaintextRefused => write!(
                f,
                "With security set to none, your password would cross the network unprotected, so Satchel did \
                 not send it. Choose SSL/TLS or STARTTLS, or allow unencrypted connections for this account."
            ),
            ConnectionProblem::LoginFailed { server_words } => {
                write!(f, "The server rejected the user name or password: {server_words}")
            }
            ConnectionProblem::Other(message) => write!(f, "The connection test failed: {message}"),
        }
    }
}

impl std::error::Error for ConnectionProblem {}

/// Connects, logs in, counts folders and logs out again.
pub async fn test_connection(
    account: &AccountConfig,
    password: &str,
) -> std::result::Result<ServerSummary, ConnectionProblem> {
    let (host, port) = (account.imap.host.trim(), account.imap.port);
    // A failed DNS lookup reaches us from connect() as an io error with no
    // usable kind; asking first tells "no such name" from "no answer".
    if host.is_empty() {
        return Err(ConnectionProblem::HostNotFound { host: String::new() });
    }
    let resolved = match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host, port))).await {
        Err(_) => {
            return Err(ConnectionProblem::Other(format!(
                "looking up {host} took too long; check that this computer is online"
            )));
        }
        Ok(addrs) => addrs.is_ok_and(|mut a| a.next().is_some()),
    };
    if !resolved {
        return Err(ConnectionProblem::HostNotFound { host: host.to_string() });
    }

    let mut account = account.clone();
    account.imap.host = host.to_string();
    let mut conn = connect(&account, password).await.map_err(|e| problem(e, host, port))?;
    let folder_count = list_folders(&mut conn).await.ok().map(|f| f.len());
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.session.logout()).await;
    Ok(ServerSummary {
        features: FEATURES.iter().filter(|c| conn.capabilities.has(c)).map(|c| c.to_string()).collect(),
        folder_count,
        capabilities: conn.capabilities,
    })
}

fn problem(error: CoreError, host: &str, port: u16) -> ConnectionProblem {
    use std::io::ErrorKind;
    match error {
        CoreError::Connect { source, .. } => match source.kind() {
            ErrorKind::ConnectionRefused => ConnectionProblem::Refused { host: host.into(), port },
            ErrorKind::TimedOut => ConnectionProblem::TimedOut { host: host.into(), port },
            ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => ConnectionProblem::Other(format!(
                "{host} cannot be reached from this network; check that this computer is online"
            )),
            _ => ConnectionProblem::Other(format!("cannot reach {host} on port {port}: {source}")),
        },
        CoreError::Tls { message, .. } => ConnectionProblem::Tls { host: host.into(), message: plain_tls(&message) },
        CoreError::PlaintextRefused { .. } => ConnectionProblem::PlaintextRefused,
        CoreError::Login { server, .. } => ConnectionProblem::LoginFailed { server_words: server },
        // Typically the wrong security for the port: a TLS server waiting
        // for a handshake never sends a plain greeting.
        CoreError::ConnectionLost(what) => ConnectionProblem::Other(format!(
            "the server stopped answering while {what}; check the port and security settings"
        )),
        other => ConnectionProblem::Other(other.to_string()),
    }
}

/// Rewrites connect()'s TLS messages, written for the command line, in
/// words for the setup screen.
fn plain_tls(message: &str) -> String {
    if !message.contains("certificate is not trusted") {
        return message.to_string();
    }
    let reason = if message.contains("UnknownIssuer") {
        "it was not issued by an authority this computer trusts (is it self-signed?)"
    } else if message.contains("NotValidForName") {
        "it was issued for a different server name"
    } else if message.contains("Expired") {
        "it has expired"
    } else if message.contains("NotValidYet") {
        "it is not valid yet (is this computer's clock right?)"
    } else if message.contains("Revoked") {
        "it has been revoked"
    } else {
        "this computer does not trust it"
    };
    format!("the certificate is not accepted because {reason}")
}
