//! Offline actions (RFC 4549 "disconnected" mode). Each action is one
//! transaction: the cached view changes at once and an op row is queued.
//! The engine replays ops by UID and removes a row only in the transaction
//! that records the server's answer.

use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{CacheError, Result, SqlContext};
use crate::{Cache, Flags};

/// What an op asks of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Op {
    /// Change flags of `uid` from `base` (as last known) to `target`.
    Flags { uid: u32, base: Flags, target: Flags },
    /// Move `uid` from the op's mailbox to `to_mailbox`.
    Move { uid: u32, to_mailbox: i64, to_name: String, message_id: Option<String> },
    /// Delete `uid` for good (\Deleted + UID EXPUNGE of just that UID).
    Expunge {
        uid: u32,
        #[serde(default)]
        message_id: Option<String>,
    },
    /// Copy `uid` to `to_name`; the copy is local message `copy`.
    Copy { uid: u32, to_name: String, copy: i64 },
    /// Upload the message (its raw bytes are the part `raw`) to the op's
    /// mailbox with `flags`.
    Append { flags: Flags, message_id: Option<String> },
    CreateFolder { name: String },
    RenameFolder { from: String, to: String },
    DeleteFolder { name: String },
}

impl Op {
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Flags { .. } => "flags",
            Op::Move { .. } => "move",
            Op::Expunge { .. } => "expunge",
            Op::Copy { .. } => "copy",
            Op::Append { .. } => "append",
            Op::CreateFolder { .. } => "create_folder",
            Op::RenameFolder { .. } => "rename_folder",
            Op::DeleteFolder { .. } => "delete_folder",
        }
    }
}

/// A queued op.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpRow {
    pub id: i64,
    /// The local message it concerns (stable across moves).
    pub message: Option<i64>,
    /// The mailbox the op runs in (the source, for a move).
    pub mailbox_id: i64,
    pub mailbox_name: String,
    pub op: Op,
    /// `pending` or `failed` (kept with the server's words until retried
    /// or discarded).
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// A conflict found during replay, kept for the user to read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub id: i64,
    pub mailbox: String,
    pub uid: Option<u32>,
    pub subject: String,
    pub kind: String,
    pub detail: String,
    pub at: i64,
}

/// What the server's answer does to the cache when an op completes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpOutcome {
    /// The message's flags as they now are on the server.
    pub flags: Option<Flags>,
    /// The message's new UID in its (destination) mailbox.
    pub new_uid: Option<u32>,
    /// The message no longer exists anywhere we can tell: drop the row.
    pub forget_message: bool,
    /// Conflicts to record: (kind, detail).
    pub conflicts: Vec<(String, String)>,
}

struct Target {
    mailbox_id: i64,
    account_id: i64,
    uid: Option<u32>,
    flags: Flags,
    message_id: Option<String>,
}

impl Cache {
    fn target(conn: &rusqlite::Connection, message: i64) -> Result<Target> {
        conn.query_row(
            "SELECT m.mailbox_id, b.account_id, m.uid, m.flags, m.keywords, m.message_id
               FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.id = ?1",
            params![message],
            |r| {
                let keywords: String = r.get(4)?;
                Ok(Target {
                    mailbox_id: r.get(0)?,
                    account_id: r.get(1)?,
                    uid: r.get::<_, Option<i64>>(2)?.map(|u| u as u32),
                    flags: Flags::from_columns(r.get(3)?, &keywords),
                    message_id: r.get(5)?,
                })
            },
        )
        .optional()
        .context("looking up a message")?
        .ok_or(CacheError::NoSuchMessage(message))
    }

    fn insert_op(tx: &rusqlite::Transaction<'_>, t: &Target, message: i64, op: &Op) -> Result<i64> {
        let payload = serde_json::to_string(op)
            .map_err(|e| CacheError::Json { context: "encoding an op".into(), source: e })?;
        tx.query_row(
            "INSERT INTO ops (account_id, kind, message_id, mailbox_id, payload, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
            params![t.account_id, op.kind(), message, t.mailbox_id, payload, crate::now_unix()],
            |r| r.get(0),
        )
        .context("queueing an op")
    }

    /// Adds and removes flags on a message now, and queues the change.
    pub fn queue_flags(&self, message: i64, add: &[String], remove: &[String]) -> Result<Flags> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a flag change")?;
        let target = flags_in(&tx, message, add, remove)?;
        tx.commit().context("committing a flag change")?;
        Ok(target)
    }

    /// Moves a message to another mailbox of the same account now (it keeps
    /// its local id; its UID is unknown until the server answers), and
    /// queues the move.
    pub fn queue_move(&self, message: i64, to_mailbox: i64) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a move")?;
        let t = Self::target(&tx, message)?;
        let uid = t.uid.ok_or(CacheError::WaitingForServer(message))?;
        let (to_account, to_name): (i64, String) = tx
            .query_row("SELECT account_id, name FROM mailboxes WHERE id = ?1", params![to_mailbox], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .context("looking up the target folder")?
            .ok_or_else(|| CacheError::NoSuchMailbox(format!("#{to_mailbox}")))?;
        if to_account != t.account_id {
            return Err(CacheError::NoSuchMailbox(to_name));
        }
        if to_mailbox == t.mailbox_id {
            return Ok(());
        }
        tx.execute("UPDATE messages SET mailbox_id = ?2, uid = NULL WHERE id = ?1", params![message, to_mailbox])
            .context("moving a message")?;
        Self::insert_op(&tx, &t, message, &Op::Move { uid, to_mailbox, to_name, message_id: t.message_id.clone() })?;
        tx.commit().context("committing a move")?;
        Ok(())
    }

    /// Deletes a message for good now, and queues the expunge of its UID.
    pub fn queue_expunge(&self, message: i64) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a delete")?;
        expunge_in(&tx, message)?;
        tx.commit().context("committing a delete")?;
        Ok(())
    }

    /// The mailbox a message is in now.
    pub fn message_mailbox(&self, message: i64) -> Result<i64> {
        Ok(Self::target(&*self.write()?, message)?.mailbox_id)
    }

    /// Copies a message into another folder now (a new local message without
    /// a UID) and queues the copy. Returns the copy's id.
    pub fn queue_copy(&self, message: i64, to_mailbox: i64) -> Result<i64> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a copy")?;
        let t = Self::target(&tx, message)?;
        let uid = t.uid.ok_or(CacheError::WaitingForServer(message))?;
        let to_name: String = tx
            .query_row("SELECT name FROM mailboxes WHERE id = ?1 AND account_id = ?2", params![to_mailbox, t.account_id], |r| r.get(0))
            .optional()
            .context("looking up the target folder")?
            .ok_or_else(|| CacheError::NoSuchMailbox(format!("#{to_mailbox}")))?;
        let copy: i64 = tx
            .query_row(
                "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, size, sort_date,
                    date_header, subject, from_addr, sender, reply_to, to_addr, cc, bcc, in_reply_to, message_id,
                    refs, bodystructure, has_attachments)
                 SELECT ?2, NULL, NULL, flags, keywords, internal_date, size, sort_date, date_header, subject,
                    from_addr, sender, reply_to, to_addr, cc, bcc, in_reply_to, message_id, refs, bodystructure,
                    has_attachments
                   FROM messages WHERE id = ?1 RETURNING id",
                params![message, to_mailbox],
                |r| r.get(0),
            )
            .context("copying a message")?;
        tx.execute(
            "INSERT INTO parts (message_id, section, data, fetched_at)
             SELECT ?2, section, data, fetched_at FROM parts WHERE message_id = ?1",
            params![message, copy],
        )
        .context("copying cached parts")?;
        crate::messages::index_for_search(&tx, copy - 1)?;
        Self::insert_op(&tx, &t, message, &Op::Copy { uid, to_name, copy })?;
        tx.commit().context("committing a copy")?;
        Ok(copy)
    }

    /// Adds a message (e.g. an .eml file or a draft) to a folder now, and
    /// queues its upload. `raw` is kept as part `raw` until the server has
    /// it; `text` is its readable body (searchable at once).
    pub fn queue_append(
        &self,
        mailbox_id: i64,
        message: &crate::NewMessage,
        raw: &[u8],
        text: Option<&str>,
    ) -> Result<i64> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting an append")?;
        let id = append_in(&tx, mailbox_id, message, raw, text)?;
        tx.commit().context("committing an append")?;
        Ok(id)
    }

    /// Folder operations: applied to the folder list now, queued for the
    /// server. Deleting a folder drops its cached messages.
    pub fn queue_folder_op(&self, account_id: i64, op: Op) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a folder change")?;
        let mailbox_id: Option<i64> = match &op {
            Op::CreateFolder { name } => {
                let delimiter: Option<String> = tx
                    .query_row("SELECT delimiter FROM mailboxes WHERE account_id = ?1 AND delimiter IS NOT NULL LIMIT 1", params![account_id], |r| r.get(0))
                    .optional()
                    .context("reading the hierarchy delimiter")?
                    .flatten();
                Some(
                    tx.query_row(
                        "INSERT INTO mailboxes (account_id, name, delimiter, subscribed) VALUES (?1, ?2, ?3, 1)
                         ON CONFLICT (account_id, name) DO UPDATE SET subscribed = 1 RETURNING id",
                        params![account_id, name, delimiter],
                        |r| r.get(0),
                    )
                    .context("creating a folder")?,
                )
            }
            Op::RenameFolder { from, to } => {
                let n = tx
                    .execute("UPDATE mailboxes SET name = ?3 WHERE account_id = ?1 AND name = ?2", params![account_id, from, to])
                    .context("renaming a folder")?;
                if n == 0 {
                    return Err(CacheError::NoSuchMailbox(from.clone()));
                }
                None
            }
            Op::DeleteFolder { name } => {
                let n = tx
                    .execute("DELETE FROM mailboxes WHERE account_id = ?1 AND name = ?2", params![account_id, name])
                    .context("deleting a folder")?;
                if n == 0 {
                    return Err(CacheError::NoSuchMailbox(name.clone()));
                }
                None
            }
            _ => None,
        };
        let payload = serde_json::to_string(&op)
            .map_err(|e| CacheError::Json { context: "encoding an op".into(), source: e })?;
        tx.execute(
            "INSERT INTO ops (account_id, kind, mailbox_id, payload, created_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![account_id, op.kind(), mailbox_id, payload, crate::now_unix()],
        )
        .context("queueing a folder change")?;
        tx.commit().context("committing a folder change")?;
        Ok(())
    }

    /// Ops of an account, oldest first (`failed` ones included).
    pub fn ops(&self, account_id: i64) -> Result<Vec<OpRow>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT o.id, o.message_id, o.mailbox_id, coalesce(b.name, ''), o.payload, o.state, o.attempts, o.last_error
                   FROM ops o LEFT JOIN mailboxes b ON b.id = o.mailbox_id
                  WHERE o.account_id = ?1 ORDER BY o.id",
            )
            .context("listing ops")?;
        let rows = stmt
            .query_map(params![account_id], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<i64>>(1)?,
                    r.get::<_, Option<i64>>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .context("listing ops")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading ops")?;
        rows.into_iter()
            .map(|(id, message, mailbox, name, payload, state, attempts, last_error)| {
                let op = serde_json::from_str(&payload)
                    .map_err(|e| CacheError::Json { context: format!("reading op {id}"), source: e })?;
                Ok(OpRow {
                    id,
                    message,
                    mailbox_id: mailbox.unwrap_or(0),
                    mailbox_name: name,
                    op,
                    state,
                    attempts,
                    last_error,
                })
            })
            .collect()
    }

    /// Records the server's answer to ops `done` (several when coalesced)
    /// and removes them, in one transaction.
    pub fn finish_ops(&self, done: &[i64], message: Option<i64>, outcome: &OpOutcome) -> Result<()> {
        self.finish_many(&[(done.to_vec(), message, outcome.clone())])
    }

    /// Several [`Cache::finish_ops`] in one transaction (a batch replay).
    pub fn finish_many(&self, results: &[(Vec<i64>, Option<i64>, OpOutcome)]) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to record ops")?;
        for (done, message, outcome) in results {
            finish_in(&tx, done, *message, outcome)?;
        }
        tx.commit().context("committing ops' results")?;
        Ok(())
    }

    /// Counts an attempt before a command that is not safe to repeat
    /// (COPY) goes out, so a retry after a crash knows to check first.
    pub fn op_sent(&self, op: i64) -> Result<()> {
        self.write()?
            .execute("UPDATE ops SET attempts = attempts + 1 WHERE id = ?1", params![op])
            .context("recording an attempt")?;
        Ok(())
    }

    /// Marks an op failed with the server's words; it stays queued.
    pub fn fail_op(&self, op: i64, error: &str, permanent: bool) -> Result<()> {
        self.write()?
            .execute(
                "UPDATE ops SET attempts = attempts + 1, last_error = ?2,
                        state = CASE WHEN ?3 THEN 'failed' ELSE state END WHERE id = ?1",
                params![op, error, permanent],
            )
            .context("recording an op failure")?;
        Ok(())
    }

    /// How many ops wait to be sent.
    pub fn pending_count(&self, account_id: i64) -> Result<u64> {
        let n: i64 = self
            .write()?
            .query_row("SELECT count(*) FROM ops WHERE account_id = ?1 AND state = 'pending'", params![account_id], |r| {
                r.get(0)
            })
            .context("counting pending ops")?;
        Ok(n as u64)
    }

    /// Points a queued op at the message's UID under a new UIDVALIDITY.
    pub fn rematch_op(&self, op: i64, new_uid: u32) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting an op re-match")?;
        let payload: String = tx
            .query_row("SELECT payload FROM ops WHERE id = ?1", params![op], |r| r.get(0))
            .context("reading an op")?;
        let mut parsed: Op = serde_json::from_str(&payload)
            .map_err(|e| CacheError::Json { context: format!("reading op {op}"), source: e })?;
        match &mut parsed {
            Op::Flags { uid, .. } | Op::Move { uid, .. } | Op::Expunge { uid, .. } | Op::Copy { uid, .. } => *uid = new_uid,
            _ => {}
        }
        let payload = serde_json::to_string(&parsed)
            .map_err(|e| CacheError::Json { context: "encoding an op".into(), source: e })?;
        tx.execute("UPDATE ops SET payload = ?2 WHERE id = ?1", params![op, payload]).context("re-matching an op")?;
        tx.commit().context("committing an op re-match")?;
        Ok(())
    }

    /// The Message-ID header of a local message.
    pub fn message_id_header(&self, message: i64) -> Result<Option<String>> {
        Ok(Self::target(&*self.write()?, message)?.message_id)
    }

    /// The raw bytes of a message queued for upload.
    pub fn raw_message(&self, message: i64) -> Result<Option<Vec<u8>>> {
        self.cached_part(message, "raw")
    }

    /// The UIDVALIDITY a mailbox's cached UIDs belong to.
    pub fn synced_uidvalidity(&self, account_id: i64, name: &str) -> Result<Option<u32>> {
        Ok(self
            .write()?
            .query_row(
                "SELECT synced_uidvalidity FROM mailboxes WHERE account_id = ?1 AND name = ?2",
                params![account_id, name],
                |r| r.get::<_, Option<i64>>(0),
            )
            .optional()
            .context("reading a folder's UIDVALIDITY")?
            .flatten()
            .map(|v| v as u32))
    }

    /// Puts a failed op back in the queue.
    pub fn retry_op(&self, op: i64) -> Result<bool> {
        let n = self
            .write()?
            .execute("UPDATE ops SET state = 'pending' WHERE id = ?1", params![op])
            .context("retrying an op")?;
        Ok(n > 0)
    }

    /// Drops an op and undoes its effect on the cached view, in one
    /// transaction: a flag change reverts to the flags it started from, a
    /// moved message returns to its folder and UID, a deleted one is fetched
    /// again at the next sync.
    pub fn discard_op(&self, op: i64) -> Result<bool> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to discard an op")?;
        let row: Option<(Option<i64>, Option<i64>, String)> = tx
            .query_row("SELECT message_id, mailbox_id, payload FROM ops WHERE id = ?1", params![op], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .context("reading an op")?;
        let Some((message, mailbox, payload)) = row else { return Ok(false) };
        let parsed: Op = serde_json::from_str(&payload)
            .map_err(|e| CacheError::Json { context: format!("reading op {op}"), source: e })?;
        match (parsed, message, mailbox) {
            (Op::Flags { base, .. }, Some(m), _) => {
                tx.execute(
                    "UPDATE messages SET flags = ?2, keywords = ?3 WHERE id = ?1",
                    params![m, base.system, base.keywords_column()],
                )
                .context("reverting flags")?;
            }
            (Op::Move { uid, .. }, Some(m), Some(source)) => {
                tx.execute("UPDATE messages SET mailbox_id = ?2, uid = ?3 WHERE id = ?1", params![m, source, uid])
                    .context("moving a message back")?;
            }
            (Op::Expunge { uid, .. }, _, Some(source)) => {
                tx.execute(
                    "UPDATE mailboxes SET synced_uidnext = min(synced_uidnext, ?2) WHERE id = ?1",
                    params![source, uid],
                )
                .context("asking for the message again")?;
            }
            _ => {}
        }
        tx.execute("DELETE FROM ops WHERE id = ?1", params![op]).context("discarding an op")?;
        tx.commit().context("committing a discard")?;
        Ok(true)
    }

    /// Conflicts recorded for an account, newest first.
    pub fn conflicts(&self, account_id: i64) -> Result<Vec<Conflict>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, mailbox_name, uid, subject, kind, detail, created_at FROM conflicts
                  WHERE account_id = ?1 ORDER BY id DESC",
            )
            .context("listing conflicts")?;
        let rows = stmt
            .query_map(params![account_id], |r| {
                Ok(Conflict {
                    id: r.get(0)?,
                    mailbox: r.get(1)?,
                    uid: r.get::<_, Option<i64>>(2)?.map(|u| u as u32),
                    subject: r.get(3)?,
                    kind: r.get(4)?,
                    detail: r.get(5)?,
                    at: r.get(6)?,
                })
            })
            .context("listing conflicts")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading conflicts")?;
        Ok(rows)
    }
}

/// Everything the reader shows about one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageDetail {
    pub id: i64,
    pub account_id: i64,
    pub mailbox: String,
    pub uid: Option<u32>,
    pub flags: Vec<String>,
    pub date: i64,
    pub subject: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub reply_to: String,
    pub message_id: Option<String>,
    /// The References header (message ids, space separated).
    pub references: Option<String>,
    pub size: u32,
    #[serde(skip)]
    pub structure: Option<crate::Part>,
}

impl Cache {
    pub fn message_detail(&self, message: i64) -> Result<MessageDetail> {
        let conn = self.write()?;
        let row = conn
            .query_row(
                "SELECT m.id, b.account_id, b.name, m.uid, m.flags, m.keywords, m.sort_date, m.subject, m.from_addr,
                        m.to_addr, m.cc, m.reply_to, m.message_id, m.size, m.bodystructure, m.refs
                   FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE m.id = ?1",
                params![message],
                |r| {
                    let keywords: String = r.get(5)?;
                    let structure: Option<String> = r.get(14)?;
                    Ok((
                        MessageDetail {
                            id: r.get(0)?,
                            account_id: r.get(1)?,
                            mailbox: r.get(2)?,
                            uid: r.get::<_, Option<i64>>(3)?.map(|u| u as u32),
                            flags: Flags::from_columns(r.get(4)?, &keywords).to_imap(),
                            date: r.get(6)?,
                            subject: r.get(7)?,
                            from: r.get(8)?,
                            to: r.get(9)?,
                            cc: r.get(10)?,
                            reply_to: r.get(11)?,
                            message_id: r.get(12)?,
                            size: r.get::<_, i64>(13)? as u32,
                            references: r.get(15)?,
                            structure: None,
                        },
                        structure,
                    ))
                },
            )
            .optional()
            .context("reading a message")?
            .ok_or(CacheError::NoSuchMessage(message))?;
        let (mut detail, structure) = row;
        detail.structure = structure.and_then(|s| serde_json::from_str(&s).ok());
        Ok(detail)
    }

    /// A cached part (decoded content), if any.
    pub fn cached_part(&self, message: i64, section: &str) -> Result<Option<Vec<u8>>> {
        self.write()?
            .query_row(
                "SELECT data FROM parts WHERE message_id = ?1 AND section = ?2",
                params![message, section],
                |r| r.get(0),
            )
            .optional()
            .context("reading a cached part")
    }

    /// Caches a part; `search_text` (the readable body) also joins the
    /// full-text index.
    pub fn store_part(&self, message: i64, section: &str, data: &[u8], search_text: Option<&str>) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to cache a part")?;
        tx.execute(
            "INSERT INTO parts (message_id, section, data, fetched_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (message_id, section) DO UPDATE SET data = excluded.data, fetched_at = excluded.fetched_at",
            params![message, section, data, crate::now_unix()],
        )
        .context("caching a part")?;
        if let Some(text) = search_text {
            tx.execute("UPDATE messages_fts SET body = ?2 WHERE rowid = ?1", params![message, text])
                .context("indexing a body")?;
        }
        tx.commit().context("committing a part")?;
        Ok(())
    }
}

fn finish_in(tx: &rusqlite::Transaction<'_>, done: &[i64], message: Option<i64>, outcome: &OpOutcome) -> Result<()> {
        if let Some(m) = message {
            let info: Option<(i64, String, String, Option<i64>)> = tx
                .query_row(
                    "SELECT b.account_id, b.name, m.subject, m.uid FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                      WHERE m.id = ?1",
                    params![m],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .optional()
                .context("reading the op's message")?;
            if let Some((account, mailbox, subject, uid)) = info {
                for (kind, detail) in &outcome.conflicts {
                    tx.execute(
                        "INSERT INTO conflicts (account_id, message_id, mailbox_name, uid, subject, kind, detail, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![account, m, mailbox, uid, subject, kind, detail, crate::now_unix()],
                    )
                    .context("recording a conflict")?;
                }
            }
            if let Some(f) = &outcome.flags {
                tx.execute(
                    "UPDATE messages SET flags = ?2, keywords = ?3 WHERE id = ?1",
                    params![m, f.system, f.keywords_column()],
                )
                .context("recording the server's flags")?;
            }
            if let Some(uid) = outcome.new_uid {
                // Another row may already hold that UID if a sync fetched it
                // first: keep ours (it carries the local id) and drop that one.
                tx.execute(
                    "DELETE FROM messages WHERE uid = ?2 AND id != ?1
                        AND mailbox_id = (SELECT mailbox_id FROM messages WHERE id = ?1)",
                    params![m, uid],
                )
                .context("removing a duplicate")?;
                tx.execute("UPDATE messages SET uid = ?2 WHERE id = ?1", params![m, uid])
                    .context("recording the new UID")?;
                // An uploaded message's bytes are on the server now.
                tx.execute("DELETE FROM parts WHERE message_id = ?1 AND section = 'raw'", params![m])
                    .context("dropping the uploaded copy")?;
            }
            if outcome.forget_message {
                tx.execute("DELETE FROM messages WHERE id = ?1", params![m]).context("forgetting a message")?;
            }
        }
        for id in done {
            tx.execute("DELETE FROM ops WHERE id = ?1", params![id]).context("removing a finished op")?;
        }
        Ok(())
}


/// [`Cache::queue_flags`] inside a caller's transaction.
pub(crate) fn flags_in(tx: &rusqlite::Transaction<'_>, message: i64, add: &[String], remove: &[String]) -> Result<Flags> {
    let t = Cache::target(tx, message)?;
    let uid = t.uid.ok_or(CacheError::WaitingForServer(message))?;
    let mut target = t.flags.clone();
    for f in add {
        target.set(f, true);
    }
    for f in remove {
        target.set(f, false);
    }
    tx.execute(
        "UPDATE messages SET flags = ?2, keywords = ?3 WHERE id = ?1",
        params![message, target.system, target.keywords_column()],
    )
    .context("changing flags")?;
    Cache::insert_op(tx, &t, message, &Op::Flags { uid, base: t.flags.clone(), target: target.clone() })?;
    Ok(target)
}

/// [`Cache::queue_append`] inside a caller's transaction.
pub(crate) fn append_in(
    tx: &rusqlite::Transaction<'_>,
    mailbox_id: i64,
    message: &crate::NewMessage,
    raw: &[u8],
    text: Option<&str>,
) -> Result<i64> {
    let account_id: i64 = tx
        .query_row("SELECT account_id FROM mailboxes WHERE id = ?1", params![mailbox_id], |r| r.get(0))
        .optional()
        .context("looking up the folder")?
        .ok_or_else(|| CacheError::NoSuchMailbox(format!("#{mailbox_id}")))?;
    let id = crate::messages::insert_message(tx, mailbox_id, message, None)?;
    crate::messages::index_for_search(tx, id - 1)?;
    let now = crate::now_unix();
    tx.execute(
        "INSERT INTO parts (message_id, section, data, fetched_at) VALUES (?1, 'raw', ?2, ?3)",
        params![id, raw, now],
    )
    .context("keeping the message to upload")?;
    if let Some(text) = text {
        tx.execute(
            "INSERT INTO parts (message_id, section, data, fetched_at) VALUES (?1, 'text', ?2, ?3)",
            params![id, text.as_bytes(), now],
        )
        .context("keeping the message text")?;
        tx.execute("UPDATE messages_fts SET body = ?2 WHERE rowid = ?1", params![id, text])
            .context("indexing the message text")?;
    }
    let t = Target { mailbox_id, account_id, uid: None, flags: message.flags.clone(), message_id: message.message_id.clone() };
    Cache::insert_op(tx, &t, id, &Op::Append { flags: message.flags.clone(), message_id: message.message_id.clone() })?;
    Ok(id)
}

/// [`Cache::queue_expunge`] inside a caller's transaction.
pub(crate) fn expunge_in(tx: &rusqlite::Transaction<'_>, message: i64) -> Result<()> {
    let t = Cache::target(tx, message)?;
    let uid = t.uid.ok_or(CacheError::WaitingForServer(message))?;
    Cache::insert_op(tx, &t, message, &Op::Expunge { uid, message_id: t.message_id.clone() })?;
    tx.execute("DELETE FROM messages WHERE id = ?1", params![message]).context("deleting a message")?;
    Ok(())
}
