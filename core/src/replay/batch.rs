//! Replay in bulk: flag changes of a folder in one FETCH and a few STOREs,
//! moves and deletes of a folder in one command.

use std::collections::HashMap;
use std::sync::Arc;

use async_imap::imap_proto::Response;
use satchel_cache::{Cache, Flags, Op, OpOutcome, OpRow};

use super::*;
use crate::imap::{Command, CompletionCode, Connection, SyncMode, quote, utf7};
use crate::sync::decode;
use crate::sync::mailbox::db;
use super::single::flags;
use crate::Result;

/// Moves (to one folder) or deletes of one folder in one command. Falls
/// back to one by one when the folder's UIDVALIDITY changed, the server
/// lacks MOVE or UIDPLUS, or for any message the bulk command missed.
pub(super) async fn run_group(
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
pub(super) async fn flags_batch(conn: &mut Connection, cache: &Arc<Cache>, list: Vec<Work>, stats: &mut ReplayStats) -> Result<()> {
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
pub(super) fn merge(base: &Flags, target: &Flags, server: &Flags) -> (Flags, Vec<String>, Vec<String>) {
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
