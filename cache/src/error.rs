use thiserror::Error;

pub type Result<T> = std::result::Result<T, CacheError>;

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("cache: {context}: {source}")]
    Sql {
        context: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cache: {context}: {source}")]
    Json {
        context: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cache schema version {found} is newer than this Satchel knows ({known}); update Satchel")]
    TooNew { found: i64, known: i64 },
    #[error("no account named {0:?}")]
    NoSuchAccount(String),
    #[error("no folder named {0:?}")]
    NoSuchMailbox(String),
    #[error("no message with id {0}")]
    NoSuchMessage(i64),
    #[error("message {0} is waiting for the server to give it a UID; sync first")]
    WaitingForServer(i64),
}

impl CacheError {
    pub(crate) fn sql(context: impl Into<String>, source: rusqlite::Error) -> CacheError {
        CacheError::Sql { context: context.into(), source }
    }
}

/// `.context()` for rusqlite results, in the spirit of anyhow, but typed.
pub(crate) trait SqlContext<T> {
    fn context(self, what: &str) -> Result<T>;
}

impl<T> SqlContext<T> for std::result::Result<T, rusqlite::Error> {
    fn context(self, what: &str) -> Result<T> {
        self.map_err(|e| CacheError::sql(what, e))
    }
}
