//! Online mode: stay connected, push new mail (IDLE on INBOX), send queued
//! actions at once, poll the other folders, and fall back to disconnected
//! mode with capped exponential backoff when the network goes. This is the
//! disconnected code path with a queue that drains at once: the same sync,
//! the same replay.
//!
//! Events carry ids and "this changed" hints only; a UI re-reads the cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use satchel_cache::Cache;
use serde::Serialize;

use crate::config::AccountConfig;
use crate::imap::{self, Command, Connection};
use crate::sync::mailbox::db;
use crate::sync::{MailboxStats, Progress, SyncOptions, SyncSummary, sync_folders, sync_mailbox};
use crate::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// `connecting`, `online` or `offline` (with the reason).
    Connectivity { state: &'static str, #[serde(skip_serializing_if = "Option::is_none")] reason: Option<String> },
    SyncProgress { folder: String, done: u64, total: u64 },
    /// The folder list changed or a folder's counts did.
    FolderChanged { folder_id: i64 },
    /// Messages of this folder were added, changed or removed.
    MessagesChanged { folder_id: i64 },
    /// Unread messages new to this account, each announced once.
    NewMail { message_ids: Vec<i64> },
    /// Queued actions the server refused (see `satchel pending`).
    OpFailed { count: u64 },
    /// Queued actions were sent (or refused): the pending list changed.
    QueueChanged { account_id: i64 },
    /// Conflicts found while replaying (see `satchel conflicts`).
    Conflict { count: u64 },
    /// The outbox changed: messages went, or failed (see `satchel outbox`).
    OutboxChanged { account_id: i64, sent: u64, failed: u64 },
}

#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// How often the folders other than INBOX are checked.
    pub poll_interval: Duration,
    /// How long one IDLE lasts before queued actions are looked for.
    pub idle_slice: Duration,
    /// Backoff cap while the server cannot be reached.
    pub max_backoff: Duration,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll_interval: Duration::from_secs(300),
            idle_slice: Duration::from_secs(5),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// Runs until a non-network error (e.g. a refused login) or until the
/// future is dropped.
pub async fn watch(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    options: &WatchOptions,
    emit: &mut (dyn FnMut(Event) + Send),
) -> Result<()> {
    let mut backoff = Duration::from_secs(1);
    loop {
        emit(Event::Connectivity { state: "connecting", reason: None });
        let password = crate::credentials::password(account).await?;
        let started = Instant::now();
        let result = online(cache, account, &password, options, emit).await;
        match result {
            Err(e) if e.is_connection_lost() || matches!(e, CoreError::Io { .. }) => {
                emit(Event::Connectivity { state: "offline", reason: Some(e.to_string()) });
                if started.elapsed() > Duration::from_secs(60) {
                    backoff = Duration::from_secs(1);
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(options.max_backoff);
            }
            Err(e) => return Err(e),
            Ok(()) => return Ok(()),
        }
    }
}

async fn online(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    password: &str,
    options: &WatchOptions,
    emit: &mut (dyn FnMut(Event) + Send),
) -> Result<()> {
    let mut conn = imap::connect(account, password).await?;
    emit(Event::Connectivity { state: "online", reason: None });
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_id = db(cache, move |c| c.ensure_account(&name, &email)).await?.id;
    full_sync(&mut conn, cache, account, account_id, emit).await?;
    let mut outbox = OutboxTimer::default();
    outbox.flush(cache, account, account_id, emit).await?;
    let mut last_poll = Instant::now();
    let can_idle = conn.capabilities.has("IDLE");
    let mut inbox_selected = false;
    loop {
        let inbox = db(cache, move |c| c.mailbox_by_name(account_id, "INBOX")).await?;
        if can_idle {
            // Mail that arrived after the last sync but before IDLE starts is
            // announced only in the SELECT's answer; IDLE would not report it.
            let mut behind = false;
            if !inbox_selected {
                behind = select_is_ahead(&mut conn, &inbox).await?;
                inbox_selected = true;
            }
            if behind || imap::idle(&mut conn.session, options.idle_slice).await? {
                let mut stats = MailboxStats::default();
                sync_mailbox(&mut conn, cache, &inbox, &mut stats, &mut |p| forward(p, emit)).await?;
                inbox_selected = false;
                if stats.new + stats.changed + stats.vanished > 0 {
                    emit(Event::MessagesChanged { folder_id: inbox.id });
                }
                announce(cache, inbox.id, emit).await?;
            }
        } else {
            tokio::time::sleep(options.idle_slice).await;
            let mut stats = MailboxStats::default();
            sync_mailbox(&mut conn, cache, &inbox, &mut stats, &mut |p| forward(p, emit)).await?;
            if stats.new + stats.changed + stats.vanished > 0 {
                emit(Event::MessagesChanged { folder_id: inbox.id });
            }
            announce(cache, inbox.id, emit).await?;
        }
        outbox.flush(cache, account, account_id, emit).await?;
        let pending = db(cache, move |c| c.pending_count(account_id)).await?;
        if pending > 0 || last_poll.elapsed() >= options.poll_interval {
            full_sync(&mut conn, cache, account, account_id, emit).await?;
            inbox_selected = false;
            last_poll = Instant::now();
        }
    }
}

/// Sends queued mail while online. After a pass that could not reach the
/// SMTP server (or could not log in) it waits a minute before the next, so
/// a wrong password is not tried every few seconds.
#[derive(Default)]
struct OutboxTimer {
    not_before: Option<Instant>,
}

impl OutboxTimer {
    async fn flush(
        &mut self,
        cache: &Arc<Cache>,
        account: &AccountConfig,
        account_id: i64,
        emit: &mut (dyn FnMut(Event) + Send),
    ) -> Result<()> {
        if self.not_before.is_some_and(|t| Instant::now() < t) {
            return Ok(());
        }
        if db(cache, move |c| c.outbox_queued(account_id)).await?.is_empty() {
            return Ok(());
        }
        let report = crate::send::outbox::flush(cache, account).await?;
        self.not_before = (report.waiting > 0).then(|| Instant::now() + Duration::from_secs(60));
        if report.sent + report.failed + report.uncertain > 0 {
            emit(Event::OutboxChanged { account_id, sent: report.sent, failed: report.failed + report.uncertain });
        }
        if let Some(e) = &report.last_error {
            tracing::warn!("outbox of {}: {e}", account.name);
        }
        Ok(())
    }
}

/// SELECTs `mailbox`; true when the server has mail or flag changes the
/// cache has not seen (UIDNEXT or HIGHESTMODSEQ beyond the synced state).
async fn select_is_ahead(conn: &mut Connection, mailbox: &satchel_cache::Mailbox) -> Result<bool> {
    use async_imap::imap_proto::{Response, ResponseCode};
    let cmd = format!("SELECT {}", imap::quote(&imap::utf7::encode(&mailbox.name)));
    let mut c = Command::start(&mut conn.session, &cmd).await?;
    let mut ahead = false;
    while let Some(found) = c
        .next(|r| match r {
            Response::Data { outcome, .. } => match &outcome.code {
                Some(ResponseCode::UidNext(n)) => *n > mailbox.sync.uidnext,
                Some(ResponseCode::HighestModSeq(m)) => mailbox.sync.modseq.is_some_and(|s| *m > s),
                _ => false,
            },
            _ => false,
        })
        .await?
    {
        ahead |= found;
    }
    c.finish().await?;
    Ok(ahead)
}

/// Replay, folder list, every folder; then announce new INBOX mail.
async fn full_sync(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    account: &AccountConfig,
    account_id: i64,
    emit: &mut (dyn FnMut(Event) + Send),
) -> Result<()> {
    let mut summary = SyncSummary::default();
    let queued_before = db(cache, move |c| c.pending_count(account_id)).await?;
    sync_folders(conn, cache, account, &SyncOptions::default(), &mut |p| forward(p, emit), &mut summary).await?;
    if queued_before > 0 && db(cache, move |c| c.pending_count(account_id)).await? != queued_before {
        emit(Event::QueueChanged { account_id });
    }
    if summary.conflicts > 0 {
        emit(Event::Conflict { count: summary.conflicts });
    }
    if summary.failed_ops > 0 {
        emit(Event::OpFailed { count: summary.failed_ops });
    }
    if let Ok(inbox) = db(cache, move |c| c.mailbox_by_name(account_id, "INBOX")).await {
        announce(cache, inbox.id, emit).await?;
    }
    // Folders marked "available offline" get their new bodies now, so they
    // read offline after the next trip; a message that fails here is
    // fetched again next time, it does not stop the engine.
    let mut report =
        |folder: &str, done: u64, total: u64| emit(Event::SyncProgress { folder: format!("{folder} (offline copy)"), done, total });
    match crate::body::prefetch(cache, account, None, &mut report).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_connection_lost() => Err(e),
        Err(e) => {
            tracing::warn!("keeping folders available offline: {e}");
            Ok(())
        }
    }
}

fn forward(p: Progress, emit: &mut (dyn FnMut(Event) + Send)) {
    match p {
        Progress::Fetched { folder, done, total } => emit(Event::SyncProgress { folder, done, total }),
        Progress::FolderDone { folder_id, new, changed, vanished } if new + changed + vanished > 0 => {
            emit(Event::MessagesChanged { folder_id });
            emit(Event::FolderChanged { folder_id });
        }
        _ => {}
    }
}

async fn announce(cache: &Arc<Cache>, mailbox_id: i64, emit: &mut (dyn FnMut(Event) + Send)) -> Result<()> {
    let ids = db(cache, move |c| c.take_new_mail(mailbox_id)).await?;
    if !ids.is_empty() {
        emit(Event::NewMail { message_ids: ids });
    }
    Ok(())
}
