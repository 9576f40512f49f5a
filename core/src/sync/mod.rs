//! Header sync: the folder list, then each mailbox by its plan.

pub mod decode;
mod folders;
pub(crate) mod mailbox;
pub mod plan;
mod salvage;

use std::sync::Arc;
use std::time::{Duration, Instant};

use satchel_cache::Cache;
use serde::Serialize;

pub use folders::list_folders;
pub use mailbox::{BATCH_UIDS, MailboxStats, sync_mailbox};

use crate::config::AccountConfig;
use crate::imap::{self, Connection};
use crate::{CoreError, Result};

/// Progress reports while syncing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    Connected { mode: imap::SyncMode, compressed: bool },
    Folders { total: usize },
    Folder { name: String, index: usize, total: usize },
    Fetched { folder: String, done: u64, total: u64 },
    Retrying { attempt: u32, error: String },
    /// One folder is done; its counts (for "this folder changed" events).
    FolderDone { folder_id: i64, new: u64, changed: u64, vanished: u64 },
    /// A batch the parser could not read was fetched message by message.
    Salvaged { folder_id: i64, first: u32, last: u32, header_only: u64 },
}

#[derive(Debug, Clone, Default)]
pub struct SyncOptions {
    /// Only this folder (and the folder list).
    pub folder: Option<String>,
    /// Reconnect and resume this many times when the connection drops.
    pub retries: u32,
}

/// The summary `satchel sync` prints.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncSummary {
    pub folders: u64,
    pub new: u64,
    pub changed: u64,
    pub vanished: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub seconds: f64,
    /// Offline actions sent to the server in this sync.
    pub replayed: u64,
    /// Conflicts found while replaying (see `satchel conflicts`).
    pub conflicts: u64,
    /// Actions the server refused; they stay queued with its words.
    pub failed_ops: u64,
    /// Messages whose structure the server described unreadably; they are
    /// cached from their raw header.
    #[serde(skip_serializing_if = "is_zero")]
    pub header_only: u64,
    /// Folders the server refused (e.g. deleted meanwhile), with its words.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Syncs one account: folder list, then every selectable folder (or just
/// `options.folder`). Reconnects and resumes on a dropped connection up to
/// `options.retries` times; committed batches are never fetched again.
pub async fn sync_account(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    password: &str,
    options: &SyncOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<SyncSummary> {
    let started = Instant::now();
    let mut summary = SyncSummary::default();
    let mut attempt = 0;
    let mut salvaged = 0;
    loop {
        let result = sync_once(cache, account, password, options, progress, &mut summary).await;
        match result {
            // Each salvage moves the folder's sync state past the bad batch,
            // so this ends; the bound is a guard against a server that keeps
            // answering garbage.
            Err(CoreError::Unparsable { batch: Some((folder_id, first, last)), .. }) if salvaged < 100 => {
                salvaged += 1;
                let done = salvage::salvage_batch(account, password, cache, folder_id, first, last).await?;
                summary.new += done.cached;
                summary.header_only += done.header_only;
                progress(Progress::Salvaged { folder_id, first, last, header_only: done.header_only });
            }
            Err(e) if e.is_connection_lost() && attempt < options.retries => {
                attempt += 1;
                progress(Progress::Retrying { attempt, error: e.to_string() });
                tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
            }
            Err(e) => return Err(e),
            Ok(()) => break,
        }
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

async fn sync_once(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    password: &str,
    options: &SyncOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
    summary: &mut SyncSummary,
) -> Result<()> {
    let mut conn = imap::connect(account, password).await?;
    progress(Progress::Connected { mode: conn.mode, compressed: conn.compressed });
    let result = sync_folders(&mut conn, cache, account, options, progress, summary).await;
    summary.bytes_in += conn.traffic.received();
    summary.bytes_out += conn.traffic.sent();
    if result.is_ok() {
        let _ = tokio::time::timeout(Duration::from_secs(5), conn.session.logout()).await;
    }
    result
}

pub(crate) async fn sync_folders(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    account: &AccountConfig,
    options: &SyncOptions,
    progress: &mut (dyn FnMut(Progress) + Send),
    summary: &mut SyncSummary,
) -> Result<()> {
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_row = mailbox::db(cache, move |c| c.ensure_account(&name, &email)).await?;
    let account_id = account_row.id;
    // DESIGN.md step 1: offline actions go first (folders created offline
    // must exist before the folder list is mirrored), then the resync.
    let replayed = crate::replay::replay(conn, cache, account_id).await?;
    summary.replayed += replayed.replayed;
    summary.conflicts += replayed.conflicts;
    summary.failed_ops += replayed.failed;
    let listed = list_folders(conn).await?;
    mailbox::db(cache, move |c| c.replace_folder_list(account_id, &listed)).await?;
    let mailboxes = mailbox::db(cache, move |c| c.mailboxes(account_id)).await?;
    let chosen: Vec<_> = match &options.folder {
        Some(f) => {
            let m = mailboxes
                .into_iter()
                .find(|m| &m.name == f || (f.eq_ignore_ascii_case("INBOX") && m.name == "INBOX"))
                .ok_or_else(|| CoreError::NoSuchFolder(f.clone()))?;
            vec![m]
        }
        None => mailboxes.into_iter().filter(|m| m.selectable()).collect(),
    };
    progress(Progress::Folders { total: chosen.len() });
    summary.folders = chosen.len() as u64;
    for (index, mailbox) in chosen.iter().enumerate() {
        progress(Progress::Folder { name: mailbox.name.clone(), index, total: chosen.len() });
        let mut stats = MailboxStats::default();
        let result = sync_mailbox(conn, cache, mailbox, &mut stats, progress).await;
        summary.new += stats.new;
        summary.changed += stats.changed;
        summary.vanished += stats.vanished;
        progress(Progress::FolderDone {
            folder_id: mailbox.id,
            new: stats.new,
            changed: stats.changed,
            vanished: stats.vanished,
        });
        match result {
            Ok(()) => {}
            // A folder deleted between LIST and SELECT: the next folder-list
            // sync removes it; the rest of the account still syncs.
            Err(CoreError::NoSuchFolder(name)) => summary.errors.push(format!("{name}: not selectable")),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
