//! Replay one op at a time: the general path, and the fallback of the bulk
//! one (UIDVALIDITY changed, a message the bulk command missed).

use std::sync::Arc;

use satchel_cache::{Cache, Flags, Op, OpOutcome};

use super::*;
use crate::imap::{Command, CompletionCode, Connection, SyncMode, quote, utf7};
use super::batch::merge;
use crate::sync::mailbox::db;
use crate::{CoreError, Result};

/// Carries out one unit of work. `None`: nothing to record (the op stays).
pub(super) async fn run_work(
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
                    let uid = match relocate(conn, cache, validity_changed, uid, mid.clone(), row.id).await? {
                        Ok(u) => u,
                        Err(outcome) => return Ok(Some((Some(copy), outcome))),
                    };
                    // A COPY sent before whose answer was never recorded (the
                    // connection, the engine or the app died first) may have
                    // been done: look for it in the target before copying again.
                    if row.attempts > 0
                        && let Some(id) = mid.as_deref()
                    {
                        select(conn, &to_name).await?;
                        let found = search_message_id(conn, id).await?.last().copied();
                        // Back to the source, which the COPY reads from.
                        select(conn, &row.mailbox_name).await?;
                        if let Some(found) = found {
                            return Ok(Some((Some(copy), OpOutcome { new_uid: Some(found), ..OpOutcome::default() })));
                        }
                    }
                    let op = row.id;
                    db(cache, move |c| c.op_sent(op)).await?;
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
pub(super) async fn relocate(
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

/// CREATE/DELETE: a NO saying it is already so counts as done.
pub(super) async fn folder_command(conn: &mut Connection, cmd: &str, already: &str) -> Result<()> {
    match Command::start(&mut conn.session, cmd).await?.finish().await {
        Ok(_) => Ok(()),
        Err(CoreError::Command { text, .. }) if text.to_ascii_uppercase().contains(already) => Ok(()),
        Err(e) => Err(e),
    }
}

pub(super) async fn copy_message(conn: &mut Connection, uid: u32, to: &str) -> Result<OpOutcome> {
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
pub(super) async fn append(
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

/// Three-way merge of one message's flags; then STORE what is ours to set.
pub(super) async fn flags(conn: &mut Connection, uid: u32, base: &Flags, target: &Flags) -> Result<OpOutcome> {
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

/// Returns the outcome and whether another mailbox is now selected.
pub(super) async fn move_message(conn: &mut Connection, uid: u32, to: &str, message_id: Option<&str>) -> Result<(OpOutcome, bool)> {
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

pub(super) async fn expunge(conn: &mut Connection, uid: u32) -> Result<OpOutcome> {
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
