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
    let mut selected: Option<String> = None;
    for w in plan_work(ops) {
        let (ids, mailbox) = match &w {
            Work::Flags { ops, mailbox, .. } => (ops.clone(), mailbox.clone()),
            Work::Other(row) => (vec![row.id], row.mailbox_name.clone()),
        };
        if selected.as_deref() != Some(mailbox.as_str()) {
            let cmd = format!("SELECT {}", quote(&utf7::encode(&mailbox)));
            if let Err(e) = Command::start(&mut conn.session, &cmd).await?.finish().await {
                fail(cache, &ids, &e, &mut stats).await?;
                selected = None;
                continue;
            }
            selected = Some(mailbox.clone());
        }
        let result = match w {
            Work::Flags { message, uid, base, target, .. } => flags(conn, uid, &base, &target).await.map(|o| (message, o)),
            Work::Other(row) => match &row.op {
                Op::Move { uid, to_name, message_id, .. } => {
                    let r = move_message(conn, *uid, to_name, message_id.as_deref()).await;
                    // The search for a lost move selects the target.
                    selected = None;
                    r.map(|o| (row.message, o))
                }
                Op::Expunge { uid } => expunge(conn, *uid).await.map(|o| (row.message, o)),
                Op::Flags { .. } => Ok((row.message, OpOutcome::default())),
            },
        };
        match result {
            Ok((message, outcome)) => {
                stats.replayed += 1;
                stats.conflicts += outcome.conflicts.len() as u64;
                db(cache, move |c| c.finish_ops(&ids, message, &outcome)).await?;
            }
            Err(e) if e.is_connection_lost() => return Err(e),
            Err(e) => {
                fail(cache, &ids, &e, &mut stats).await?;
                selected = None;
            }
        }
    }
    Ok(stats)
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
        // Per flag: ours applies where the server still has the base value.
        // (Where the server moved away from the base it already holds our
        // value: two boolean changes from one base cannot disagree.)
        let mut merged = server.clone();
        for f in &changed {
            if server.contains(f) == base.contains(f) {
                merged.set(f, target.contains(f));
            }
        }
        let add: Vec<String> = changed.iter().filter(|f| merged.contains(f) && !server.contains(f)).cloned().collect();
        let remove: Vec<String> = changed.iter().filter(|f| !merged.contains(f) && server.contains(f)).cloned().collect();
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

async fn move_message(conn: &mut Connection, uid: u32, to: &str, message_id: Option<&str>) -> Result<OpOutcome> {
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
        return Ok(outcome);
    }
    // Nothing was moved: the source is gone. Either our own earlier attempt
    // moved it before a crash, or another machine moved or deleted it.
    if let Some(id) = message_id {
        Command::start(&mut conn.session, &format!("SELECT {target}")).await?.finish().await?;
        let mut found: Vec<u32> = Vec::new();
        let search = format!("UID SEARCH HEADER Message-ID {}", quote(id));
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
        if let Some(u) = found.into_iter().max() {
            outcome.new_uid = Some(u);
            return Ok(outcome);
        }
    }
    outcome.forget_message = true;
    outcome.conflicts.push(("gone".into(), format!("move to {to} dropped: the message was already moved or deleted elsewhere")));
    Ok(outcome)
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
