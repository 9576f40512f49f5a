//! Replaying offline actions by UID (RFC 4549, DESIGN.md step 1).
//!
//! Flag changes are merged three ways per flag (last known server state,
//! our change, the server now) and written with UNCHANGEDSINCE when
//! CONDSTORE is on. Moves use MOVE, else COPY + \Deleted + UID EXPUNGE of
//! just that UID. A move whose source is already gone is looked for in the
//! target by Message-ID first, so a move the server did before a crash is
//! recorded, not repeated.

use std::collections::HashMap;
use std::sync::Arc;

use async_imap::imap_proto::{Response, Status};
use satchel_cache::{Cache, Flags, Op, OpOutcome, OpRow};
use serde::Serialize;

use crate::imap::{Command, CompletionCode, Connection, SyncMode, completion_code, quote, utf7};
use crate::sync::mailbox::db;
use crate::sync::decode;
use crate::{CoreError, Result};

mod batch;
mod single;
use batch::{flags_batch, run_group};
use single::run_work;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ReplayStats {
    /// Ops carried out (coalesced ones count once each).
    pub replayed: u64,
    pub conflicts: u64,
    pub failed: u64,
}

/// One unit of work: consecutive flag ops on a message coalesce.
enum Work {
    Flags { ops: Vec<i64>, message: Option<i64>, mailbox: String, uid: u32, base: Flags, target: Flags },
    Other(OpRow),
}

fn plan_work(ops: Vec<OpRow>) -> Vec<Work> {
    let mut work: Vec<Work> = Vec::new();
    let mut open: HashMap<i64, usize> = HashMap::new();
    for row in ops.into_iter().filter(|o| o.state == "pending") {
        match (&row.op, row.message) {
            (Op::Flags { uid, base, target }, Some(m)) => {
                if let Some(&i) = open.get(&m)
                    && let Some(Work::Flags { ops, target: t, uid: u, .. }) = work.get_mut(i)
                    && *u == *uid
                {
                    ops.push(row.id);
                    *t = target.clone();
                    continue;
                }
                open.insert(m, work.len());
                work.push(Work::Flags {
                    ops: vec![row.id],
                    message: Some(m),
                    mailbox: row.mailbox_name.clone(),
                    uid: *uid,
                    base: base.clone(),
                    target: target.clone(),
                });
            }
            _ => {
                if let Some(m) = row.message {
                    open.remove(&m);
                }
                work.push(Work::Other(row));
            }
        }
    }
    work
}

/// Sends every pending op of `account_id`.
pub async fn replay(conn: &mut Connection, cache: &Arc<Cache>, account_id: i64) -> Result<ReplayStats> {
    let ops = db(cache, move |c| c.ops(account_id)).await?;
    let mut stats = ReplayStats::default();
    // The selected mailbox, and whether its UIDVALIDITY changed since the
    // cache last synced it (then queued UIDs are re-matched by Message-ID).
    let mut selected: Option<(String, bool)> = None;
    // Phases: folders created or renamed first (later ops use their new
    // names), then flag changes (batched per mailbox: one FETCH, a few
    // STOREs), then copies, moves, deletes and uploads in queue order, and
    // folder deletions last (after what was moved out of them). An op on a
    // message without a UID cannot be queued, so a message's flag changes
    // always come before its move or delete.
    let phase = |w: &Work| match w {
        Work::Other(row) if matches!(row.op, Op::CreateFolder { .. } | Op::RenameFolder { .. }) => 0,
        Work::Flags { .. } => 1,
        Work::Other(row) if matches!(row.op, Op::DeleteFolder { .. }) => 3,
        Work::Other(_) => 2,
    };
    let mut work = plan_work(ops);
    work.sort_by_key(|w| phase(w));
    let (flag_work, rest): (Vec<Work>, Vec<Work>) = work.into_iter().partition(|w| phase(w) == 1);
    let (early, late): (Vec<Work>, Vec<Work>) = rest.into_iter().partition(|w| phase(w) == 0);
    let mut ordered: Vec<Work> = early;
    // Flag changes in mailboxes whose UIDVALIDITY is unchanged go in bulk;
    // the rest take the one-by-one path below, which re-matches UIDs.
    let mut by_mailbox: Vec<(String, Vec<Work>)> = Vec::new();
    for w in flag_work {
        let Work::Flags { mailbox, .. } = &w else { continue };
        match by_mailbox.iter_mut().find(|(m, _)| m == mailbox) {
            Some((_, list)) => list.push(w),
            None => by_mailbox.push((mailbox.clone(), vec![w])),
        }
    }
    let started = std::time::Instant::now();
    for w in std::mem::take(&mut ordered) {
        run_one(conn, cache, account_id, w, &mut selected, &mut stats).await?;
    }
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "replayed folder creations and renames");
    for (mailbox, list) in by_mailbox {
        let validity = match select(conn, &mailbox).await {
            Ok(v) => v,
            Err(e) if e.is_connection_lost() => return Err(e),
            Err(e) => {
                for w in &list {
                    if let Work::Flags { ops, .. } = w {
                        fail(cache, ops, &e, &mut stats).await?;
                    }
                }
                continue;
            }
        };
        let name = mailbox.clone();
        let cached = db(cache, move |c| c.synced_uidvalidity(account_id, &name)).await?;
        selected = Some((mailbox.clone(), matches!((cached, validity), (Some(a), Some(b)) if a != b)));
        if selected.as_ref().is_some_and(|(_, changed)| *changed) {
            for w in list {
                run_one(conn, cache, account_id, w, &mut selected, &mut stats).await?;
            }
        } else {
            flags_batch(conn, cache, list, &mut stats).await?;
        }
    }
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "replayed flag changes");
    let late_count = late.len();
    // Copies before moves and deletes (a copy reads the source UID), moves
    // and deletes grouped per folder into one command each; uploads and
    // folder deletions after.
    let rank = |w: &Work| match w {
        Work::Other(row) => match row.op {
            Op::Copy { .. } => 0,
            Op::Move { .. } => 1,
            Op::Expunge { .. } => 2,
            Op::DeleteFolder { .. } => 4,
            _ => 3,
        },
        Work::Flags { .. } => 3,
    };
    let mut late = late;
    late.sort_by_key(|w| rank(w));
    let mut pending_group: Vec<OpRow> = Vec::new();
    for w in late {
        let groupable = match &w {
            Work::Other(row) => matches!(row.op, Op::Move { .. } | Op::Expunge { .. }),
            Work::Flags { .. } => false,
        };
        if let Some(first) = pending_group.first() {
            let same = match (&w, &first.op) {
                (Work::Other(row), Op::Move { to_name, .. }) => {
                    matches!(&row.op, Op::Move { to_name: t, .. } if t == to_name) && row.mailbox_name == first.mailbox_name
                }
                (Work::Other(row), Op::Expunge { .. }) => {
                    matches!(row.op, Op::Expunge { .. }) && row.mailbox_name == first.mailbox_name
                }
                _ => false,
            };
            if !same {
                let group = std::mem::take(&mut pending_group);
                run_group(conn, cache, account_id, group, &mut selected, &mut stats).await?;
            }
        }
        match w {
            Work::Other(row) if groupable => pending_group.push(row),
            other => run_one(conn, cache, account_id, other, &mut selected, &mut stats).await?,
        }
    }
    if !pending_group.is_empty() {
        run_group(conn, cache, account_id, pending_group, &mut selected, &mut stats).await?;
    }
    tracing::debug!(ms = started.elapsed().as_millis() as u64, late_count, "replayed the rest");
    Ok(stats)
}

/// One unit of work, selecting its mailbox first when it needs one.
async fn run_one(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    account_id: i64,
    w: Work,
    selected: &mut Option<(String, bool)>,
    stats: &mut ReplayStats,
) -> Result<()> {
    {
        let (ids, mailbox) = match &w {
            Work::Flags { ops, mailbox, .. } => (ops.clone(), mailbox.clone()),
            Work::Other(row) => (vec![row.id], row.mailbox_name.clone()),
        };
        let needs_mailbox = match &w {
            Work::Flags { .. } => true,
            Work::Other(row) => matches!(row.op, Op::Move { .. } | Op::Expunge { .. } | Op::Copy { .. }),
        };
        if needs_mailbox && selected.as_ref().map(|(n, _)| n.as_str()) != Some(mailbox.as_str()) {
            match select(conn, &mailbox).await {
                Ok(validity) => {
                    let name = mailbox.clone();
                    let cached = db(cache, move |c| c.synced_uidvalidity(account_id, &name)).await?;
                    let changed = matches!((cached, validity), (Some(a), Some(b)) if a != b);
                    *selected = Some((mailbox.clone(), changed));
                }
                Err(e) if e.is_connection_lost() => return Err(e),
                Err(e) => {
                    fail(cache, &ids, &e, stats).await?;
                    *selected = None;
                    return Ok(());
                }
            }
        }
        let validity_changed = needs_mailbox && selected.as_ref().is_some_and(|(_, c)| *c);
        let result = run_work(conn, cache, w, validity_changed, selected).await;
        match result {
            Ok(Some((message, outcome))) => {
                stats.replayed += 1;
                stats.conflicts += outcome.conflicts.len() as u64;
                db(cache, move |c| c.finish_ops(&ids, message, &outcome)).await?;
            }
            Ok(None) => {}
            Err(e) if e.is_connection_lost() => return Err(e),
            Err(e) => {
                fail(cache, &ids, &e, stats).await?;
                *selected = None;
            }
        }
    }
    Ok(())
}

/// SELECT; returns the mailbox's UIDVALIDITY.
async fn select(conn: &mut Connection, mailbox: &str) -> Result<Option<u32>> {
    let cmd = format!("SELECT {}", quote(&utf7::encode(mailbox)));
    let mut validity = None;
    let mut c = Command::start(&mut conn.session, &cmd).await?;
    while let Some(v) = c
        .next(|r| match r {
            Response::Data { outcome, .. } => match outcome.code {
                Some(async_imap::imap_proto::ResponseCode::UidValidity(v)) => Some(v),
                _ => None,
            },
            _ => None,
        })
        .await?
    {
        if v.is_some() {
            validity = v;
        }
    }
    c.finish().await?;
    Ok(validity)
}

/// The UIDs of messages with this Message-ID in the selected mailbox.
async fn search_message_id(conn: &mut Connection, message_id: &str) -> Result<Vec<u32>> {
    crate::imap::uid_search(&mut conn.session, &format!("HEADER Message-ID {}", quote(message_id))).await
}

fn gone(what: &str, why: &str) -> OpOutcome {
    OpOutcome { conflicts: vec![("gone".into(), format!("{what} dropped: {why}"))], ..OpOutcome::default() }
}

async fn fail(cache: &Arc<Cache>, ids: &[i64], e: &CoreError, stats: &mut ReplayStats) -> Result<()> {
    stats.failed += 1;
    let text = e.to_string();
    let ids = ids.to_vec();
    db(cache, move |c| {
        for id in &ids {
            c.fail_op(*id, &text, true)?;
        }
        Ok(())
    })
    .await
}

/// The server's flags and MODSEQ of `uid` in the selected mailbox.
async fn server_flags(conn: &mut Connection, uid: u32) -> Result<Option<(Flags, Option<u64>)>> {
    let items = if conn.mode == SyncMode::Plain { "(UID FLAGS)" } else { "(UID FLAGS MODSEQ)" };
    let mut found = None;
    let mut cmd = Command::start(&mut conn.session, &format!("UID FETCH {uid} {items}")).await?;
    while let Some(u) = cmd
        .next(|r| match r {
            Response::Fetch(_, attrs) => decode::flag_update(attrs),
            _ => None,
        })
        .await?
    {
        if let Some(u) = u.filter(|u| u.uid == uid) {
            found = Some((u.flags, u.modseq));
        }
    }
    cmd.finish().await?;
    Ok(found)
}

fn names(f: &Flags) -> Vec<String> {
    f.to_imap()
}

fn describe(changed: &[String], target: &Flags) -> String {
    changed
        .iter()
        .map(|f| format!("{}{f}", if target.contains(f) { "+" } else { "-" }))
        .collect::<Vec<_>>()
        .join(" ")
}

/// COPYUID from untagged OK responses (MOVE) or the tagged one (COPY).
fn copyuid_of(response: &Response<'_>) -> Option<(u32, Vec<u32>, Vec<u32>)> {
    match response {
        Response::Data { status: Status::Ok, outcome } => match outcome.code.as_ref().map(completion_code) {
            Some(CompletionCode::CopyUid(v, from, to)) => Some((v, from, to)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::batch::merge;

    fn f(names: &[&str]) -> Flags {
        Flags::from_imap(names.iter().copied())
    }

    #[test]
    fn three_way_merge_keeps_both_sides_changes() {
        // We flagged; the other machine marked it read: both survive.
        let (m, add, remove) = merge(&f(&[]), &f(&["\\Flagged"]), &f(&["\\Seen"]));
        assert_eq!(m, f(&["\\Seen", "\\Flagged"]));
        assert_eq!((add, remove), (vec!["\\Flagged".to_string()], vec![]));
        // Both unflagged: nothing to send.
        let (m, add, remove) = merge(&f(&["\\Flagged"]), &f(&[]), &f(&[]));
        assert_eq!(m, f(&[]));
        assert!(add.is_empty() && remove.is_empty());
        // A flag we did not touch keeps the server's value.
        let (m, _, remove) = merge(&f(&["\\Seen", "$Work"]), &f(&["\\Seen"]), &f(&["$Work"]));
        assert_eq!(m, f(&[]), "we removed $Work; \\Seen stays as the server has it");
        assert_eq!(remove, vec!["$Work".to_string()]);
        // Coalesced on-then-off: no change at all.
        let (m, add, remove) = merge(&f(&["\\Seen"]), &f(&["\\Seen"]), &f(&[]));
        assert_eq!(m, f(&[]));
        assert!(add.is_empty() && remove.is_empty());
    }
}
