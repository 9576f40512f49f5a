//! Carrying out one mailbox's sync plan over the network. Every cache write
//! runs on the blocking pool, overlapped with reading the next batch, and
//! every batch commits together with the sync state it reaches.

use std::collections::HashSet;
use std::sync::Arc;

use async_imap::imap_proto::{MailboxDatum, Response, ResponseCode};
use satchel_cache::{Cache, CommitCounts, FlagUpdate, Mailbox, NewMessage};
use tokio::task::JoinHandle;

use super::plan::{self, FlagStep, ServerState};
use super::{Progress, decode, folders};
use crate::imap::{Command, Connection, Event, Pipeline, SyncMode, quote, uidset, utf7};
use crate::{CoreError, Result};

/// UIDs per FETCH command when fetching new messages. Each batch is one
/// transaction; the range grows when a mailbox's UIDs are sparse.
pub const BATCH_UIDS: u32 = 1000;
/// Flag updates applied per transaction while a flag resync streams in.
const FLAG_CHUNK: usize = 5000;

/// What one mailbox sync did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MailboxStats {
    pub new: u64,
    pub changed: u64,
    pub vanished: u64,
    pub skipped: bool,
}

impl MailboxStats {
    fn add(&mut self, c: CommitCounts) {
        self.new += c.inserted;
        self.changed += c.changed;
        self.vanished += c.removed;
    }
}

/// Runs `f` on the blocking pool (SQLite stays off the async executor).
pub(crate) async fn db<T, F>(cache: &Arc<Cache>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Cache) -> satchel_cache::Result<T> + Send + 'static,
{
    let cache = cache.clone();
    tokio::task::spawn_blocking(move || f(&cache))
        .await
        .map_err(|e| CoreError::io("cache worker", std::io::Error::other(e.to_string())))?
        .map_err(CoreError::from)
}

async fn join(handle: Option<JoinHandle<satchel_cache::Result<CommitCounts>>>) -> Result<CommitCounts> {
    match handle {
        None => Ok(CommitCounts::default()),
        Some(h) => h
            .await
            .map_err(|e| CoreError::io("cache worker", std::io::Error::other(e.to_string())))?
            .map_err(CoreError::from),
    }
}

/// Brings the cache of `mailbox` in line with the server.
///
/// `stats` is updated as each transaction commits, so it is right even when
/// the sync stops half-way.
pub async fn sync_mailbox(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    mailbox: &Mailbox,
    stats: &mut MailboxStats,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<()> {
    let id = mailbox.id;
    let cached = mailbox.sync;
    let wire_name = quote(&utf7::encode(&mailbox.name));
    let started = std::time::Instant::now();
    let cached_count = db(cache, move |c| c.message_count(id)).await?;
    tracing::debug!(folder = %mailbox.name, ms = started.elapsed().as_millis() as u64, "counted");

    // A STATUS round trip is cheaper than SELECT when nothing changed.
    if conn.mode != SyncMode::Plain && cached.modseq.is_some() {
        let status = folders::status(conn, &mailbox.name, true).await?;
        if plan::unchanged(&cached, cached_count, &status) {
            stats.skipped = true;
            return Ok(());
        }
    }

    let params = plan::select_parameters(conn.mode, &cached);
    let qresync_sent = params.as_deref().is_some_and(|p| p.starts_with("(QRESYNC"));
    let command = match &params {
        Some(p) => format!("SELECT {wire_name} {p}"),
        None => format!("SELECT {wire_name}"),
    };
    let mut selected = ServerState::default();
    let mut updates: Vec<FlagUpdate> = Vec::new();
    let mut vanished: Vec<u32> = Vec::new();
    {
        let mut cmd = Command::start(&mut conn.session, &command).await?;
        while let Some(item) = cmd.next(select_item).await? {
            match item {
                SelectItem::State(f) => f(&mut selected),
                SelectItem::Flags(u) => updates.push(u),
                // UIDs above what we cached are of no interest (never cached).
                SelectItem::Vanished(r) => vanished.extend(uidset::expand(&r, cached.uidnext)),
                SelectItem::Other => {}
            }
        }
        cmd.finish().await.map_err(|e| match e {
            CoreError::Command { status, .. } if status == "NO" => CoreError::NoSuchFolder(mailbox.name.clone()),
            other => other,
        })?;
    }

    tracing::debug!(folder = %mailbox.name, ms = started.elapsed().as_millis() as u64, "selected");
    let plan = plan::plan(conn.mode, &cached, cached_count, &selected, qresync_sent);
    if let Some(uv) = plan.reset_to {
        let removed = db(cache, move |c| c.reset_mailbox(id, uv)).await?;
        stats.vanished += removed;
        updates.clear();
        vanished.clear();
    }

    match plan.flags {
        FlagStep::Nothing => {
            if plan.reset_to.is_none() && plan.modseq.is_some() && plan.modseq != cached.modseq {
                let m = plan.modseq;
                stats.add(db(cache, move |c| c.apply_server_changes(id, &[], &[], m)).await?);
            }
        }
        FlagStep::FromSelect => {
            let m = plan.modseq;
            stats.add(db(cache, move |c| c.apply_server_changes(id, &updates, &vanished, m)).await?);
        }
        FlagStep::ChangedSince { modseq, last_uid } => {
            let command = format!("UID FETCH 1:{last_uid} (UID FLAGS MODSEQ) (CHANGEDSINCE {modseq})");
            let c = fetch_flags(conn, cache, id, &command, plan.modseq, None).await?;
            stats.add(c);
        }
        FlagStep::Full { last_uid } => {
            let command = format!("UID FETCH 1:{last_uid} (UID FLAGS)");
            let cached_uids = db(cache, move |c| c.cached_uids(id)).await?;
            let c = fetch_flags(conn, cache, id, &command, plan.modseq, Some(cached_uids)).await?;
            stats.add(c);
        }
    }

    tracing::debug!(folder = %mailbox.name, ms = started.elapsed().as_millis() as u64, "flags applied");
    if let Some((first, last)) = plan.fetch_new {
        fetch_new(conn, cache, mailbox, first, last, plan.modseq, stats, progress).await?;
    }

    if plan.check_expunges {
        let count = db(cache, move |c| c.message_count(id)).await?;
        if selected.exists.is_some_and(|e| u64::from(e) != count) {
            stats.add(search_expunged(conn, cache, id).await?);
        }
    }

    tracing::debug!(folder = %mailbox.name, ms = started.elapsed().as_millis() as u64, "done");
    db(cache, move |c| {
        c.record_server_status(id, selected.uidvalidity, selected.uidnext, selected.highestmodseq)
    })
    .await?;
    Ok(())
}

enum SelectItem {
    State(Box<dyn FnOnce(&mut ServerState) + Send>),
    Flags(FlagUpdate),
    Vanished(Vec<std::ops::RangeInclusive<u32>>),
    Other,
}

fn select_item(response: &Response<'_>) -> SelectItem {
    match response {
        Response::MailboxData(MailboxDatum::Exists(n)) => {
            let n = *n;
            SelectItem::State(Box::new(move |s| s.exists = Some(n)))
        }
        Response::Data { outcome, .. } => match &outcome.code {
            Some(ResponseCode::UidValidity(v)) => {
                let v = *v;
                SelectItem::State(Box::new(move |s| s.uidvalidity = Some(v)))
            }
            Some(ResponseCode::UidNext(v)) => {
                let v = *v;
                SelectItem::State(Box::new(move |s| s.uidnext = Some(v)))
            }
            Some(ResponseCode::HighestModSeq(v)) => {
                let v = *v;
                SelectItem::State(Box::new(move |s| s.highestmodseq = Some(v)))
            }
            _ => SelectItem::Other,
        },
        Response::Fetch(_, attrs) => decode::flag_update(attrs).map_or(SelectItem::Other, SelectItem::Flags),
        Response::Vanished { uids, .. } => SelectItem::Vanished(uids.clone()),
        _ => SelectItem::Other,
    }
}

/// Runs a flag FETCH, applying updates in chunks. With `cached_uids`
/// (a full fetch), cached UIDs the server did not mention are expunged.
async fn fetch_flags(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    id: i64,
    command: &str,
    modseq: Option<u64>,
    cached_uids: Option<Vec<u32>>,
) -> Result<CommitCounts> {
    let mut total = CommitCounts::default();
    let mut seen: HashSet<u32> = HashSet::new();
    let mut chunk: Vec<FlagUpdate> = Vec::with_capacity(FLAG_CHUNK);
    let mut vanished_now: Vec<u32> = Vec::new();
    {
        let mut cmd = Command::start(&mut conn.session, command).await?;
        while let Some(item) = cmd.next(fetch_or_vanished).await? {
            match item {
                FetchItem::Flags(u) => {
                    if cached_uids.is_some() {
                        seen.insert(u.uid);
                    }
                    chunk.push(u);
                    if chunk.len() >= FLAG_CHUNK {
                        let batch = std::mem::take(&mut chunk);
                        add(&mut total, db(cache, move |c| c.apply_server_changes(id, &batch, &[], None)).await?);
                    }
                }
                FetchItem::Vanished(v) => vanished_now.extend(v),
                FetchItem::Other => {}
            }
        }
        cmd.finish().await?;
    }
    if let Some(cached) = cached_uids {
        vanished_now.extend(cached.into_iter().filter(|u| !seen.contains(u)));
    }
    add(&mut total, db(cache, move |c| c.apply_server_changes(id, &chunk, &vanished_now, modseq)).await?);
    Ok(total)
}

fn add(total: &mut CommitCounts, c: CommitCounts) {
    total.inserted += c.inserted;
    total.changed += c.changed;
    total.removed += c.removed;
}

enum FetchItem {
    Flags(FlagUpdate),
    Vanished(Vec<u32>),
    Other,
}

fn fetch_or_vanished(response: &Response<'_>) -> FetchItem {
    match response {
        Response::Fetch(_, attrs) => decode::flag_update(attrs).map_or(FetchItem::Other, FetchItem::Flags),
        Response::Vanished { uids, .. } => FetchItem::Vanished(uidset::expand(uids, u32::MAX)),
        _ => FetchItem::Other,
    }
}

/// Fetches UIDs `first..=last` in batches, two FETCH commands in flight so
/// the server never waits for us; each batch commits (on the blocking pool,
/// while the next is read) with `synced_uidnext` just past its range.
#[allow(clippy::too_many_arguments)]
async fn fetch_new(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    mailbox: &Mailbox,
    first: u32,
    last: u32,
    modseq: Option<u64>,
    stats: &mut MailboxStats,
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<()> {
    let id = mailbox.id;
    let items = if conn.mode == SyncMode::Plain {
        "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (REFERENCES)])"
    } else {
        "(UID FLAGS MODSEQ INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (REFERENCES)])"
    };
    let expected = u64::from(last - first + 1);
    let mut pending: Option<JoinHandle<satchel_cache::Result<CommitCounts>>> = None;
    // Ranges in flight, oldest first, each with the messages read for it.
    let mut batches: std::collections::VecDeque<(u32, u32, Vec<NewMessage>)> = Default::default();
    let mut next_start = Some(first);
    let mut span = BATCH_UIDS;
    let (mut waited_for_commits, started) = (std::time::Duration::ZERO, std::time::Instant::now());
    let mut pipe = Pipeline::new(&mut conn.session);
    loop {
        // Keep two batches in flight while there is work left.
        while pipe.in_flight() < 2
            && let Some(start) = next_start
        {
            let end = start.saturating_add(span - 1).min(last);
            pipe.send(&format!("UID FETCH {start}:{end} {items}")).await?;
            batches.push_back((start, end, Vec::with_capacity(span.min(BATCH_UIDS * 2) as usize)));
            next_start = if end >= last { None } else { Some(end + 1) };
        }
        if pipe.in_flight() == 0 {
            break;
        }
        let event = pipe.next(new_message).await.map_err(|e| match e {
            // Say which batch could not be read, so it can be salvaged.
            CoreError::Unparsable { context, detail, .. } => CoreError::Unparsable {
                context,
                detail,
                batch: batches.front().map(|(s, e, _)| (id, *s, *e)),
            },
            other => other,
        });
        if event.is_err() {
            // Commit what the previous batch read before giving up on this one.
            stats.add(join(pending.take()).await?);
        }
        match event? {
            // A server may answer `a:b` with a message outside it ("*"
            // semantics): keep only what some batch asked for.
            Event::Untagged(Some(m)) => {
                if let Some(b) = batches.iter_mut().find(|(s, e, _)| (*s..=*e).contains(&m.uid)) {
                    b.2.push(m);
                }
            }
            Event::Untagged(None) => {}
            Event::Done(done) => {
                let Some((start, end, batch)) = batches.pop_front() else { break };
                if !done.ok {
                    return Err(CoreError::Command { command: "UID FETCH".into(), status: done.status, text: done.text });
                }
                let got = batch.len() as u32;
                // One writer and at most three batches in memory: wait for
                // the previous commit before handing over this one.
                let wait_started = std::time::Instant::now();
                stats.add(join(pending.take()).await?);
                waited_for_commits += wait_started.elapsed();
                let cache2 = cache.clone();
                let uidnext = end.saturating_add(1);
                pending = Some(tokio::task::spawn_blocking(move || {
                    let counts = cache2.commit_new_messages(id, &batch, uidnext)?;
                    if let Some(m) = modseq {
                        // First sync: the batch was read after SELECT, so its
                        // flags are at least as new as HIGHESTMODSEQ then.
                        cache2.apply_server_changes(id, &[], &[], Some(m))?;
                    }
                    Ok(counts)
                }));
                let done_uids = u64::from(end - first + 1).min(expected);
                progress(Progress::Fetched { folder: mailbox.name.clone(), done: done_uids, total: expected });
                // Sparse UIDs (after many expunges): widen the next ranges.
                if got < (end - start + 1) / 4 && span < BATCH_UIDS * 64 {
                    span *= 2;
                }
            }
        }
    }
    let wait_started = std::time::Instant::now();
    stats.add(join(pending.take()).await?);
    waited_for_commits += wait_started.elapsed();
    tracing::debug!(
        folder = %mailbox.name,
        total_ms = started.elapsed().as_millis() as u64,
        waiting_for_commits_ms = waited_for_commits.as_millis() as u64,
        "fetched new messages"
    );
    Ok(())
}

fn new_message(response: &Response<'_>) -> Option<NewMessage> {
    match response {
        Response::Fetch(_, attrs) => decode::new_message(attrs),
        _ => None,
    }
}

/// CONDSTORE without QRESYNC: find expunged UIDs by listing what exists.
async fn search_expunged(conn: &mut Connection, cache: &Arc<Cache>, id: i64) -> Result<CommitCounts> {
    let present: HashSet<u32> = crate::imap::uid_search(&mut conn.session, "ALL").await?.into_iter().collect();
    let cached = db(cache, move |c| c.cached_uids(id)).await?;
    let gone: Vec<u32> = cached.into_iter().filter(|u| !present.contains(u)).collect();
    if gone.is_empty() {
        return Ok(CommitCounts::default());
    }
    db(cache, move |c| c.apply_server_changes(id, &[], &gone, None)).await
}

