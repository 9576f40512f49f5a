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

use async_imap::imap_proto::{MailboxDatum, Response, Status};
use satchel_cache::{Cache, Flags, Op, OpOutcome, OpRow};
use serde::Serialize;

use crate::imap::{Command, CompletionCode, Connection, SyncMode, completion_code, quote, utf7};
use crate::sync::mailbox::db;
use crate::sync::decode;
use crate::{CoreError, Result};

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

/// Moves (to one folder) or deletes of one folder in one command. Falls
/// back to one by one when the folder's UIDVALIDITY changed, the server
/// lacks MOVE or UIDPLUS, or for any message the bulk command missed.
async fn run_group(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    account_id: i64,
    group: Vec<OpRow>,
    selected: &mut Option<(String, bool)>,
    stats: &mut ReplayStats,
) -> Result<()> {
    let Some(first) = group.first() else { return Ok(()) };
    let mailbox = first.mailbox_name.clone();
    let is_move = matches!(first.op, Op::Move { .. });
    let capable = if is_move { conn.capabilities.has("MOVE") } else { conn.capabilities.has("UIDPLUS") };
    if group.len() == 1 || !capable {
        for row in group {
            run_one(conn, cache, account_id, Work::Other(row), selected, stats).await?;
        }
        return Ok(());
    }
    if selected.as_ref().map(|(n, _)| n.as_str()) != Some(mailbox.as_str()) {
        let validity = select(conn, &mailbox).await?;
        let name = mailbox.clone();
        let cached = db(cache, move |c| c.synced_uidvalidity(account_id, &name)).await?;
        *selected = Some((mailbox.clone(), matches!((cached, validity), (Some(a), Some(b)) if a != b)));
    }
    if selected.as_ref().is_some_and(|(_, changed)| *changed) {
        for row in group {
            run_one(conn, cache, account_id, Work::Other(row), selected, stats).await?;
        }
        return Ok(());
    }
    let uid_of = |row: &OpRow| match row.op {
        Op::Move { uid, .. } | Op::Expunge { uid, .. } => uid,
        _ => 0,
    };
    let uids: Vec<u32> = group.iter().map(uid_of).collect();
    let set = crate::imap::uidset::format(&uids);
    // Which of them the server still has.
    let mut present: std::collections::HashSet<u32> = Default::default();
    {
        let mut c = Command::start(&mut conn.session, &format!("UID FETCH {set} (UID)")).await?;
        while let Some(u) = c
            .next(|r| match r {
                Response::Fetch(_, attrs) => attrs.iter().find_map(|a| match a {
                    async_imap::imap_proto::AttributeValue::Uid(u) => Some(*u),
                    _ => None,
                }),
                _ => None,
            })
            .await?
        {
            present.extend(u);
        }
        c.finish().await?;
    }
    let here: Vec<u32> = uids.iter().copied().filter(|u| present.contains(u)).collect();
    let mut mapping: HashMap<u32, u32> = HashMap::new();
    if !here.is_empty() {
        let here_set = crate::imap::uidset::format(&here);
        if let Op::Move { to_name, .. } = &first.op {
            let target = quote(&utf7::encode(to_name));
            let mut cmd = Command::start(&mut conn.session, &format!("UID MOVE {here_set} {target}")).await?;
            while let Some(c) = cmd.next(copyuid_of).await? {
                if let Some((_, from, to)) = c {
                    mapping.extend(from.into_iter().zip(to));
                }
            }
            let done = cmd.finish().await?;
            if let Some(CompletionCode::CopyUid(_, from, to)) = done.code {
                mapping.extend(from.into_iter().zip(to));
            }
        } else {
            Command::start(&mut conn.session, &format!("UID STORE {here_set} +FLAGS.SILENT (\\Deleted)")).await?.finish().await?;
            Command::start(&mut conn.session, &format!("UID EXPUNGE {here_set}")).await?.finish().await?;
        }
    }
    let mut finished: Vec<(Vec<i64>, Option<i64>, OpOutcome)> = Vec::new();
    let mut leftovers: Vec<OpRow> = Vec::new();
    for row in group {
        let uid = uid_of(&row);
        if is_move {
            match mapping.get(&uid) {
                Some(&new_uid) => finished.push((vec![row.id], row.message, OpOutcome { new_uid: Some(new_uid), ..OpOutcome::default() })),
                // Gone from the source (or not mapped): the one-by-one path
                // looks for it in the target by Message-ID.
                None => leftovers.push(row),
            }
        } else if present.contains(&uid) {
            finished.push((vec![row.id], row.message, OpOutcome::default()));
        } else {
            finished.push((vec![row.id], row.message, gone("delete", "the message was already moved or deleted elsewhere")));
        }
    }
    stats.replayed += finished.len() as u64;
    stats.conflicts += finished.iter().map(|(_, _, o)| o.conflicts.len() as u64).sum::<u64>();
    db(cache, move |c| c.finish_many(&finished)).await?;
    for row in leftovers {
        run_one(conn, cache, account_id, Work::Other(row), selected, stats).await?;
    }
    Ok(())
}

/// Flag changes of one (selected) mailbox in bulk: one FETCH of the
/// server's flags, a three-way merge per message, then one STORE per
/// distinct change, guarded by UNCHANGEDSINCE; messages the server reports
/// MODIFIED are merged again one by one.
async fn flags_batch(conn: &mut Connection, cache: &Arc<Cache>, list: Vec<Work>, stats: &mut ReplayStats) -> Result<()> {
    struct Item {
        ops: Vec<i64>,
        message: Option<i64>,
        uid: u32,
        base: Flags,
        target: Flags,
    }
    let items: Vec<Item> = list
        .into_iter()
        .filter_map(|w| match w {
            Work::Flags { ops, message, uid, base, target, .. } => Some(Item { ops, message, uid, base, target }),
            Work::Other(_) => None,
        })
        .collect();
    let uids: Vec<u32> = items.iter().map(|i| i.uid).collect();
    let items_arg = if conn.mode == SyncMode::Plain { "(UID FLAGS)" } else { "(UID FLAGS MODSEQ)" };
    let mut server: HashMap<u32, Flags> = HashMap::new();
    let mut highest: Option<u64> = None;
    {
        let cmd = format!("UID FETCH {} {items_arg}", crate::imap::uidset::format(&uids));
        let mut c = Command::start(&mut conn.session, &cmd).await?;
        while let Some(u) = c
            .next(|r| match r {
                Response::Fetch(_, attrs) => decode::flag_update(attrs),
                _ => None,
            })
            .await?
        {
            if let Some(u) = u {
                highest = highest.max(u.modseq);
                server.insert(u.uid, u.flags);
            }
        }
        c.finish().await?;
    }
    // (additions, removals) -> UIDs.
    let mut groups: Vec<((Vec<String>, Vec<String>), Vec<u32>)> = Vec::new();
    let mut merged_of: HashMap<u32, Flags> = HashMap::new();
    let mut finished: Vec<(Vec<i64>, Option<i64>, OpOutcome)> = Vec::new();
    for item in &items {
        let Some(now) = server.get(&item.uid) else {
            finished.push((item.ops.clone(), item.message, gone("flag change", "the message was moved or deleted elsewhere")));
            continue;
        };
        let (merged, add, remove) = merge(&item.base, &item.target, now);
        merged_of.insert(item.uid, merged);
        if add.is_empty() && remove.is_empty() {
            continue;
        }
        match groups.iter_mut().find(|(k, _)| k.0 == add && k.1 == remove) {
            Some((_, list)) => list.push(item.uid),
            None => groups.push(((add, remove), vec![item.uid])),
        }
    }
    let condition = match (conn.mode, highest) {
        (SyncMode::Plain, _) | (_, None) => String::new(),
        (_, Some(m)) => format!(" (UNCHANGEDSINCE {m})"),
    };
    let mut modified: std::collections::HashSet<u32> = Default::default();
    for ((add, remove), list) in &groups {
        let set = crate::imap::uidset::format(list);
        for (sign, names) in [("+", add), ("-", remove)] {
            if names.is_empty() {
                continue;
            }
            let cmd = format!("UID STORE {set}{condition} {sign}FLAGS.SILENT ({})", names.join(" "));
            let done = Command::start(&mut conn.session, &cmd).await?.finish().await?;
            if let Some(rest) = done.text.split("[MODIFIED ").nth(1) {
                let set = rest.split(']').next().unwrap_or("");
                modified.extend(crate::imap::uidset::parse(set, list.len()));
            }
        }
    }
    for item in items {
        if modified.contains(&item.uid) {
            // Changed on the server meanwhile: merge that one again.
            match flags(conn, item.uid, &item.base, &item.target).await {
                Ok(o) => finished.push((item.ops, item.message, o)),
                Err(e) if e.is_connection_lost() => return Err(e),
                Err(e) => fail(cache, &item.ops, &e, stats).await?,
            }
        } else if let Some(m) = merged_of.remove(&item.uid) {
            finished.push((item.ops, item.message, OpOutcome { flags: Some(m), ..OpOutcome::default() }));
        }
    }
    stats.replayed += finished.len() as u64;
    stats.conflicts += finished.iter().map(|(_, _, o)| o.conflicts.len() as u64).sum::<u64>();
    // One transaction for the whole batch.
    db(cache, move |c| c.finish_many(&finished)).await?;
    Ok(())
}

/// Three-way merge of one message's flags: for every flag we changed, ours
/// applies where the server still has the base value. (Where the server
/// moved away from the base it already holds our value: two boolean changes
/// from one base cannot disagree.) Returns (result, to add, to remove).
fn merge(base: &Flags, target: &Flags, server: &Flags) -> (Flags, Vec<String>, Vec<String>) {
    let mut changed: Vec<String> = names(base);
    changed.extend(names(target));
    changed.sort();
    changed.dedup();
    changed.retain(|f| base.contains(f) != target.contains(f));
    let mut merged = server.clone();
    for f in &changed {
        if server.contains(f) == base.contains(f) {
            merged.set(f, target.contains(f));
        }
    }
    let add = changed.iter().filter(|f| merged.contains(f) && !server.contains(f)).cloned().collect();
    let remove = changed.iter().filter(|f| !merged.contains(f) && server.contains(f)).cloned().collect();
    (merged, add, remove)
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
    let search = format!("UID SEARCH HEADER Message-ID {}", quote(message_id));
    let mut found: Vec<u32> = Vec::new();
    let mut cmd = Command::start(&mut conn.session, &search).await?;
    while let Some(uids) = cmd
        .next(|r| match r {
            Response::MailboxData(MailboxDatum::Search(u)) => u.clone(),
            _ => Vec::new(),
        })
        .await?
    {
        found.extend(uids);
    }
    cmd.finish().await?;
    found.sort_unstable();
    Ok(found)
}

/// Carries out one unit of work. `None`: nothing to record (the op stays).
async fn run_work(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    w: Work,
    validity_changed: bool,
    selected: &mut Option<(String, bool)>,
) -> Result<Option<(Option<i64>, OpOutcome)>> {
    // UIDVALIDITY changed under queued ops: each message is found again by
    // its Message-ID; one that cannot be found is reported, never dropped
    // silently.
    match w {
        Work::Flags { message, mut uid, base, target, ops, .. } => {
            if validity_changed {
                let m = message;
                let mid = match m {
                    Some(id) => db(cache, move |c| c.message_id_header(id)).await.ok().flatten(),
                    None => None,
                };
                match mid {
                    Some(id) => match search_message_id(conn, &id).await?.last() {
                        Some(&new_uid) => {
                            uid = new_uid;
                            for op in &ops {
                                let op = *op;
                                db(cache, move |c| c.rematch_op(op, new_uid)).await?;
                            }
                        }
                        None => return Ok(Some((message, gone("flag change", "the folder was rebuilt on the server and the message is not in it")))),
                    },
                    None => return Ok(Some((message, gone("flag change", "the folder was rebuilt on the server and the message has no Message-ID to find it by")))),
                }
            }
            Ok(Some((message, flags(conn, uid, &base, &target).await?)))
        }
        Work::Other(row) => {
            match row.op.clone() {
                Op::Move { uid, to_name, message_id, .. } => {
                    let uid = match relocate(conn, cache, validity_changed, uid, message_id.clone(), row.id).await? {
                        Ok(u) => u,
                        Err(outcome) => return Ok(Some((row.message, outcome))),
                    };
                    let r = move_message(conn, uid, &to_name, message_id.as_deref()).await;
                    // Only the search for a lost move leaves another folder
                    // selected; re-selecting costs a SELECT of the source.
                    if r.as_ref().map_or(true, |(_, reselected)| *reselected) {
                        *selected = None;
                    }
                    r.map(|(o, _)| Some((row.message, o)))
                }
                Op::Expunge { uid, message_id } => {
                    let uid = match relocate(conn, cache, validity_changed, uid, message_id, row.id).await? {
                        Ok(u) => u,
                        Err(outcome) => return Ok(Some((row.message, outcome))),
                    };
                    expunge(conn, uid).await.map(|o| Some((row.message, o)))
                }
                Op::Copy { uid, to_name, copy } => {
                    let mid = db(cache, move |c| c.message_id_header(copy)).await.ok().flatten();
                    let uid = match relocate(conn, cache, validity_changed, uid, mid, row.id).await? {
                        Ok(u) => u,
                        Err(outcome) => return Ok(Some((Some(copy), outcome))),
                    };
                    copy_message(conn, uid, &to_name).await.map(|o| Some((Some(copy), o)))
                }
                Op::Append { flags, message_id } => {
                    *selected = None;
                    let Some(message) = row.message else { return Ok(Some((None, OpOutcome::default()))) };
                    append(conn, cache, message, &row.mailbox_name, &flags, message_id.as_deref()).await.map(|o| Some((Some(message), o)))
                }
                Op::CreateFolder { name } => {
                    folder_command(conn, &format!("CREATE {}", quote(&utf7::encode(&name))), "ALREADYEXISTS").await?;
                    let _ = Command::start(&mut conn.session, &format!("SUBSCRIBE {}", quote(&utf7::encode(&name)))).await?.finish().await;
                    Ok(Some((None, OpOutcome::default())))
                }
                Op::RenameFolder { from, to } => {
                    *selected = None;
                    let cmd = format!("RENAME {} {}", quote(&utf7::encode(&from)), quote(&utf7::encode(&to)));
                    Command::start(&mut conn.session, &cmd).await?.finish().await?;
                    let _ = Command::start(&mut conn.session, &format!("SUBSCRIBE {}", quote(&utf7::encode(&to)))).await?.finish().await;
                    Ok(Some((None, OpOutcome::default())))
                }
                Op::DeleteFolder { name } => {
                    *selected = None;
                    // Leave it first: a server may refuse to delete the selected folder.
                    let _ = Command::start(&mut conn.session, "UNSELECT").await?.finish().await;
                    folder_command(conn, &format!("DELETE {}", quote(&utf7::encode(&name))), "NONEXISTENT").await?;
                    Ok(Some((None, OpOutcome::default())))
                }
                Op::Flags { .. } => Ok(Some((row.message, OpOutcome::default()))),
            }
        }
    }
}

/// The op's UID, re-matched by Message-ID when UIDVALIDITY changed.
/// `Err(outcome)`: the message cannot be found; report it.
async fn relocate(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    validity_changed: bool,
    uid: u32,
    message_id: Option<String>,
    op: i64,
) -> Result<std::result::Result<u32, OpOutcome>> {
    if !validity_changed {
        return Ok(Ok(uid));
    }
    let Some(id) = message_id else {
        return Ok(Err(gone("queued action", "the folder was rebuilt on the server and the message has no Message-ID to find it by")));
    };
    match search_message_id(conn, &id).await?.last() {
        Some(&new_uid) => {
            db(cache, move |c| c.rematch_op(op, new_uid)).await?;
            Ok(Ok(new_uid))
        }
        None => Ok(Err(gone("queued action", "the folder was rebuilt on the server and the message is not in it"))),
    }
}

fn gone(what: &str, why: &str) -> OpOutcome {
    OpOutcome { conflicts: vec![("gone".into(), format!("{what} dropped: {why}"))], ..OpOutcome::default() }
}

/// CREATE/DELETE: a NO saying it is already so counts as done.
async fn folder_command(conn: &mut Connection, cmd: &str, already: &str) -> Result<()> {
    match Command::start(&mut conn.session, cmd).await?.finish().await {
        Ok(_) => Ok(()),
        Err(CoreError::Command { text, .. }) if text.to_ascii_uppercase().contains(already) => Ok(()),
        Err(e) => Err(e),
    }
}

async fn copy_message(conn: &mut Connection, uid: u32, to: &str) -> Result<OpOutcome> {
    let mut outcome = OpOutcome::default();
    if server_flags(conn, uid).await?.is_none() {
        outcome.forget_message = true;
        outcome.conflicts.push(("gone".into(), format!("copy to {to} dropped: the message was already moved or deleted elsewhere")));
        return Ok(outcome);
    }
    let done = Command::start(&mut conn.session, &format!("UID COPY {uid} {}", quote(&utf7::encode(to)))).await?.finish().await?;
    match done.code {
        Some(CompletionCode::CopyUid(_, from, to)) => {
            outcome.new_uid = from.iter().position(|u| *u == uid).and_then(|i| to.get(i).copied());
        }
        // Without UIDPLUS the copy's UID is unknown: drop the local copy; the
        // next sync of the target brings the server's.
        _ => outcome.forget_message = true,
    }
    Ok(outcome)
}

/// APPEND, unless the message is already there (an upload the server took
/// before a crash): found by Message-ID, never uploaded twice.
async fn append(
    conn: &mut Connection,
    cache: &Arc<Cache>,
    message: i64,
    mailbox: &str,
    flags: &Flags,
    message_id: Option<&str>,
) -> Result<OpOutcome> {
    let mut outcome = OpOutcome::default();
    if let Some(id) = message_id {
        select(conn, mailbox).await?;
        if let Some(&uid) = search_message_id(conn, id).await?.last() {
            outcome.new_uid = Some(uid);
            return Ok(outcome);
        }
    }
    let raw = db(cache, move |c| c.raw_message(message)).await?
        .ok_or_else(|| CoreError::protocol("APPEND", "the message to upload is missing from the cache"))?;
    let flag_list = flags.to_imap().join(" ");
    let flag_arg = format!("({flag_list})");
    conn.session
        .append(utf7::encode(mailbox), Some(&flag_arg), None, &raw)
        .await
        .map_err(|e| match e {
            async_imap::error::Error::No(t) | async_imap::error::Error::Bad(t) => {
                CoreError::Command { command: "APPEND".into(), status: "NO".into(), text: t }
            }
            async_imap::error::Error::Io(_) | async_imap::error::Error::ConnectionLost => {
                CoreError::ConnectionLost("sending APPEND".into())
            }
            other => CoreError::protocol("APPEND", other.to_string()),
        })?;
    crate::imap::drain(&conn.session);
    // async-imap does not return APPENDUID; find the new UID by Message-ID.
    if let Some(id) = message_id {
        select(conn, mailbox).await?;
        outcome.new_uid = search_message_id(conn, id).await?.last().copied();
    }
    if outcome.new_uid.is_none() {
        // Unknown UID: drop the local row; the next sync brings the server's.
        outcome.forget_message = true;
    }
    Ok(outcome)
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

/// Three-way merge of one message's flags; then STORE what is ours to set.
async fn flags(conn: &mut Connection, uid: u32, base: &Flags, target: &Flags) -> Result<OpOutcome> {
    let mut outcome = OpOutcome::default();
    if base == target {
        return Ok(outcome); // e.g. flagged then unflagged while offline: nothing to send
    }
    let mut changed: Vec<String> = names(base);
    changed.extend(names(target));
    changed.sort();
    changed.dedup();
    changed.retain(|f| base.contains(f) != target.contains(f));
    for _attempt in 0..3 {
        let Some((server, modseq)) = server_flags(conn, uid).await? else {
            outcome.conflicts.push((
                "gone".into(),
                format!("flag change ({}) not sent: the message was moved or deleted elsewhere", describe(&changed, target)),
            ));
            return Ok(outcome);
        };
        let (merged, add, remove) = merge(base, target, &server);
        let condition = match (conn.mode, modseq) {
            (SyncMode::Plain, _) | (_, None) => String::new(),
            (_, Some(m)) => format!(" (UNCHANGEDSINCE {m})"),
        };
        let mut modified = false;
        for (sign, list) in [("+", &add), ("-", &remove)] {
            if list.is_empty() || modified {
                continue;
            }
            let cmd = format!("UID STORE {uid}{condition} {sign}FLAGS.SILENT ({})", list.join(" "));
            let done = Command::start(&mut conn.session, &cmd).await?.finish().await?;
            // RFC 7162: the message changed since `modseq`; merge again.
            modified = done.text.contains("[MODIFIED");
        }
        if !modified {
            outcome.flags = Some(merged);
            return Ok(outcome);
        }
    }
    Err(CoreError::protocol("UID STORE", "the message kept changing on the server; will retry at the next sync"))
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

/// Returns the outcome and whether another mailbox is now selected.
async fn move_message(conn: &mut Connection, uid: u32, to: &str, message_id: Option<&str>) -> Result<(OpOutcome, bool)> {
    let target = quote(&utf7::encode(to));
    let mut new_uid = None;
    let pick = |from: &[u32], to: &[u32]| from.iter().position(|u| *u == uid).and_then(|i| to.get(i).copied());
    if conn.capabilities.has("MOVE") {
        let mut cmd = Command::start(&mut conn.session, &format!("UID MOVE {uid} {target}")).await?;
        while let Some(c) = cmd.next(copyuid_of).await? {
            if let Some((_, from, to)) = c {
                new_uid = pick(&from, &to).or(new_uid);
            }
        }
        let done = cmd.finish().await?;
        if let Some(CompletionCode::CopyUid(_, from, to)) = done.code {
            new_uid = pick(&from, &to).or(new_uid);
        }
    } else if server_flags(conn, uid).await?.is_some() {
        let done = Command::start(&mut conn.session, &format!("UID COPY {uid} {target}")).await?.finish().await?;
        if let Some(CompletionCode::CopyUid(_, from, to)) = done.code {
            new_uid = pick(&from, &to);
        }
        // Only now that the copy exists is the original marked and removed,
        // and only that UID: a plain EXPUNGE could take other clients' mail.
        Command::start(&mut conn.session, &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)")).await?.finish().await?;
        if conn.capabilities.has("UIDPLUS") {
            Command::start(&mut conn.session, &format!("UID EXPUNGE {uid}")).await?.finish().await?;
        }
    }
    let mut outcome = OpOutcome::default();
    if new_uid.is_some() {
        outcome.new_uid = new_uid;
        return Ok((outcome, false));
    }
    // Nothing was moved: the source is gone. Either our own earlier attempt
    // moved it before a crash, or another machine moved or deleted it.
    if let Some(id) = message_id {
        Command::start(&mut conn.session, &format!("SELECT {target}")).await?.finish().await?;
        if let Some(u) = search_message_id(conn, id).await?.last().copied() {
            outcome.new_uid = Some(u);
            return Ok((outcome, true));
        }
    }
    outcome.forget_message = true;
    outcome.conflicts.push(("gone".into(), format!("move to {to} dropped: the message was already moved or deleted elsewhere")));
    Ok((outcome, message_id.is_some()))
}

async fn expunge(conn: &mut Connection, uid: u32) -> Result<OpOutcome> {
    let mut outcome = OpOutcome::default();
    if server_flags(conn, uid).await?.is_none() {
        outcome.conflicts.push(("gone".into(), "delete dropped: the message was already moved or deleted elsewhere".into()));
        return Ok(outcome);
    }
    Command::start(&mut conn.session, &format!("UID STORE {uid} +FLAGS.SILENT (\\Deleted)")).await?.finish().await?;
    if conn.capabilities.has("UIDPLUS") {
        Command::start(&mut conn.session, &format!("UID EXPUNGE {uid}")).await?.finish().await?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

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
