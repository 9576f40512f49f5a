//! Satchel's local cache: one SQLite file per profile holding accounts,
//! mailboxes, message headers, cached MIME parts and queued offline actions.
//!
//! There is exactly one writer connection (behind a mutex) and any number of
//! short-lived readers; the database runs in WAL mode so readers never block
//! the writer. Nothing here touches the network.

mod accounts;
mod browse;
mod drafts;
mod error;
mod flags;
mod mailboxes;
pub(crate) mod messages;
mod migrations;
mod model;
mod offline;
mod ops;
mod outbox;
mod search;
mod threads;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use rusqlite::Connection;

pub use browse::FolderSummary;
pub use error::{CacheError, Result};
pub use flags::{Flags, SystemFlag};
pub use mailboxes::FolderListChange;
pub use messages::{CommitCounts, FlagUpdate};
pub use drafts::DraftRow;
pub use outbox::{bare_address, split_addresses, Claimed, OutboxItem, Outgoing, SendFailure, SentCopy};
pub use offline::{FolderSpace, OfflinePolicy, PrefetchItem};
pub use threads::{ThreadInput, ThreadedId, thread_order};
pub use ops::{Conflict, MessageDetail, Op, OpOutcome, OpRow};
pub use model::{
    Account, Mailbox, MailboxCounts, MailboxServerInfo, MessageHeader, MessageListItem,
    NewMessage, Page, PageCursor, Part, SyncState,
};

/// The cache of one profile.
pub struct Cache {
    path: PathBuf,
    writer: Mutex<Connection>,
    /// Idle read connections for [`Cache::read`].
    readers: Mutex<Vec<Reader>>,
}

impl Cache {
    /// Opens (creating if needed) the cache at `path` and brings its schema up
    /// to date.
    pub fn open(path: &Path) -> Result<Cache> {
        let mut conn = open_connection(path)?;
        migrations::run(&mut conn)?;
        Ok(Cache { path: path.to_path_buf(), writer: Mutex::new(conn), readers: Mutex::new(Vec::new()) })
    }

    /// A fresh read-only connection. Readers see the last committed state and
    /// never wait on the writer (WAL).
    pub fn reader(&self) -> Result<Reader> {
        let conn = open_connection(&self.path)?;
        conn.pragma_update(None, "query_only", true)
            .map_err(|e| CacheError::sql("making a read connection query-only", e))?;
        Ok(Reader { conn })
    }

    /// The path of the SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write(&self) -> Result<MutexGuard<'_, Connection>> {
        // A poisoned lock means a writer panicked mid-call; SQLite rolled the
        // transaction back, so the connection itself is still consistent.
        Ok(self.writer.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }
}

/// A read connection (see [`Cache::reader`]).
pub struct Reader {
    conn: Connection,
}

fn open_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)
        .map_err(|e| CacheError::sql(format!("opening the cache at {}", path.display()), e))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(|e| CacheError::sql("setting the busy timeout", e))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(|e| CacheError::sql("switching to WAL", e))?;
    // NORMAL is durable across process crashes in WAL mode; only a power cut
    // can lose the last transactions, never corrupt the file.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| CacheError::sql("setting synchronous", e))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| CacheError::sql("enabling foreign keys", e))?;
    // A bulk header sync writes index pages all over the message table:
    // a 16 MiB page cache and fewer WAL checkpoints keep it off the disk.
    conn.pragma_update(None, "cache_size", -16384)
        .map_err(|e| CacheError::sql("sizing the page cache", e))?;
    conn.pragma_update(None, "wal_autocheckpoint", 4000)
        .map_err(|e| CacheError::sql("setting the checkpoint interval", e))?;
    Ok(conn)
}

fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
