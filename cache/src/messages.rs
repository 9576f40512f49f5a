//! Message rows: inserting fetched headers, applying flag changes and
//! expunges, and listing by date in pages.
//!
//! Every write that moves a mailbox's sync state does so in the same
//! transaction as the messages it describes, so an interrupted sync resumes
//! exactly where the last commit left it.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::error::{CacheError, Result, SqlContext};
use crate::{Cache, Flags, MessageHeader, MessageListItem, NewMessage, Page, PageCursor, Reader};

/// One flag update seen on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate {
    pub uid: u32,
    pub modseq: Option<u64>,
    pub flags: Flags,
}

/// What a commit changed in the cache.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitCounts {
    pub inserted: u64,
    pub changed: u64,
    pub removed: u64,
}

impl Cache {
    /// Caches a batch of new messages and advances the mailbox's
    /// `synced_uidnext` to `uidnext` (never backwards), in one transaction.
    /// A message already cached under the same UID is updated, not duplicated,
    /// so re-running an interrupted batch is harmless.
    pub fn commit_new_messages(
        &self,
        mailbox_id: i64,
        messages: &[NewMessage],
        uidnext: u32,
    ) -> Result<CommitCounts> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a batch")?;
        let mut counts = CommitCounts::default();
        // Rows inserted below get ids above this (INTEGER PRIMARY KEY takes
        // max+1); rows updated on a UID conflict keep theirs.
        let before: i64 = tx
            .query_row("SELECT coalesce(max(id), 0) FROM messages", [], |r| r.get(0))
            .context("reading the last message id")?;
        {
            for m in messages {
                insert_message(&tx, mailbox_id, m, Some(m.uid))?;
                counts.inserted += 1;
            }
        }
        index_for_search(&tx, before)?;
        tx.execute(
            "UPDATE mailboxes SET synced_uidnext = max(synced_uidnext, ?2) WHERE id = ?1",
            params![mailbox_id, uidnext],
        )
        .context("advancing the sync state")?;
        tx.commit().context("committing a batch")?;
        Ok(counts)
    }

    /// Applies flag changes and expunges seen on the server, and (when given)
    /// records the MODSEQ they bring the mailbox up to, in one transaction.
    /// Updates for UIDs not cached yet are ignored: those messages are still
    /// to be fetched whole.
    pub fn apply_server_changes(
        &self,
        mailbox_id: i64,
        updates: &[FlagUpdate],
        vanished: &[u32],
        synced_modseq: Option<u64>,
    ) -> Result<CommitCounts> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a flag update")?;
        let counts = apply_changes(&tx, mailbox_id, updates, vanished)?;
        if let Some(modseq) = synced_modseq {
            tx.execute(
                "UPDATE mailboxes SET synced_modseq = ?2 WHERE id = ?1",
                params![mailbox_id, modseq as i64],
            )
            .context("recording the synced MODSEQ")?;
        }
        tx.commit().context("committing flag updates")?;
        Ok(counts)
    }

    /// Forgets every cached message of a mailbox whose UIDVALIDITY changed,
    /// and starts its sync state afresh under `uidvalidity`. Messages that
    /// never had a UID (local, waiting to be uploaded) are kept.
    pub fn reset_mailbox(&self, mailbox_id: i64, uidvalidity: u32) -> Result<u64> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a folder reset")?;
        let removed = tx
            .execute(
                "DELETE FROM messages WHERE mailbox_id = ?1 AND uid IS NOT NULL",
                params![mailbox_id],
            )
            .context("dropping messages of an old UIDVALIDITY")?;
        tx.execute(
            "UPDATE mailboxes SET synced_uidvalidity = ?2, synced_uidnext = 1, synced_modseq = NULL,
                    notified_uidnext = NULL
             WHERE id = ?1",
            params![mailbox_id, uidvalidity],
        )
        .context("resetting the sync state")?;
        tx.commit().context("committing a folder reset")?;
        Ok(removed as u64)
    }

    /// Unread messages that arrived since the last call, once each: the
    /// new-mail notification source. Moves the mailbox's high-water mark to
    /// its sync state in the same transaction, so nothing is announced twice
    /// (a restart, a reconnect or a resync announces nothing again). The
    /// first call for a folder only sets the mark: old mail is not news.
    pub fn take_new_mail(&self, mailbox_id: i64) -> Result<Vec<i64>> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a new-mail check")?;
        let (notified, synced): (Option<i64>, i64) = tx
            .query_row(
                "SELECT notified_uidnext, synced_uidnext FROM mailboxes WHERE id = ?1",
                params![mailbox_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .context("reading the new-mail mark")?;
        let mut ids = Vec::new();
        if let Some(from) = notified {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT id FROM messages WHERE mailbox_id = ?1 AND uid >= ?2 AND uid < ?3 AND (flags & 1) = 0
                      ORDER BY uid",
                )
                .context("finding new mail")?;
            ids = stmt
                .query_map(params![mailbox_id, from, synced], |r| r.get(0))
                .context("finding new mail")?
                .collect::<rusqlite::Result<Vec<i64>>>()
                .context("reading new mail")?;
        }
        tx.execute("UPDATE mailboxes SET notified_uidnext = ?2 WHERE id = ?1", params![mailbox_id, synced])
            .context("moving the new-mail mark")?;
        tx.commit().context("committing the new-mail mark")?;
        Ok(ids)
    }

    /// Local ids of the cached messages with these UIDs.
    pub fn ids_for_uids(&self, mailbox_id: i64, uids: &[u32]) -> Result<Vec<i64>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached("SELECT id FROM messages WHERE mailbox_id = ?1 AND uid = ?2")
            .context("looking up UIDs")?;
        let mut ids = Vec::new();
        for uid in uids {
            if let Some(id) = stmt
                .query_row(params![mailbox_id, uid], |r| r.get::<_, i64>(0))
                .optional()
                .context("looking up a UID")?
            {
                ids.push(id);
            }
        }
        Ok(ids)
    }

    /// List rows for these local ids (newest first).
    pub fn list_items(&self, ids: &[i64]) -> Result<Vec<MessageListItem>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {LIST_COLUMNS} FROM messages WHERE id = ?1"))
            .context("reading messages")?;
        let mut items = Vec::new();
        for id in ids {
            if let Some(item) = stmt.query_row(params![id], list_item).optional().context("reading a message")? {
                items.push(item);
            }
        }
        items.sort_by_key(|m| std::cmp::Reverse(m.date));
        Ok(items)
    }

    /// The UIDs cached for a mailbox, ascending.
    pub fn cached_uids(&self, mailbox_id: i64) -> Result<Vec<u32>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT uid FROM messages WHERE mailbox_id = ?1 AND uid IS NOT NULL ORDER BY uid",
            )
            .context("reading cached UIDs")?;
        let uids = stmt
            .query_map(params![mailbox_id], |r| r.get::<_, i64>(0))
            .context("reading cached UIDs")?
            .map(|r| r.map(|v| v as u32))
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading cached UIDs")?;
        Ok(uids)
    }

    pub fn message_count(&self, mailbox_id: i64) -> Result<u64> {
        message_count(&*self.write()?, mailbox_id)
    }

    pub fn list_messages(
        &self,
        mailbox_id: i64,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<Page> {
        list_messages(&*self.write()?, mailbox_id, after, limit)
    }

    /// Compact per-message facts of a whole mailbox, by UID (for tests,
    /// tools and sync checks).
    pub fn message_headers(&self, mailbox_id: i64) -> Result<Vec<MessageHeader>> {
        message_headers(&*self.write()?, mailbox_id)
    }
}

impl Reader {
    pub fn list_messages(
        &self,
        mailbox_id: i64,
        after: Option<PageCursor>,
        limit: u32,
    ) -> Result<Page> {
        list_messages(&self.conn, mailbox_id, after, limit)
    }

    pub fn message_count(&self, mailbox_id: i64) -> Result<u64> {
        message_count(&self.conn, mailbox_id)
    }

    pub fn message_headers(&self, mailbox_id: i64) -> Result<Vec<MessageHeader>> {
        message_headers(&self.conn, mailbox_id)
    }
}

/// Inserts one message row (`uid` None: local, waiting for the server);
/// on a UID already cached only its flags are updated, so replaying a batch
/// never duplicates. Returns the row id.
pub(crate) fn insert_message(tx: &Transaction<'_>, mailbox_id: i64, m: &NewMessage, uid: Option<u32>) -> Result<i64> {
    let structure = match &m.bodystructure {
        Some(p) => Some(
            serde_json::to_string(p)
                .map_err(|e| CacheError::Json { context: "encoding a body structure".into(), source: e })?,
        ),
        None => None,
    };
    let has_attachments = m.bodystructure.as_ref().is_some_and(|p| p.has_attachments());
    let mut insert = tx
        .prepare_cached(
            "INSERT INTO messages (mailbox_id, uid, modseq, flags, keywords, internal_date, size,
                sort_date, date_header, subject, from_addr, sender, reply_to, to_addr, cc, bcc,
                in_reply_to, message_id, refs, bodystructure, has_attachments)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,
                ?17, ?18, ?19, ?20, ?21)
             ON CONFLICT (mailbox_id, uid) DO UPDATE SET
                modseq = excluded.modseq, flags = excluded.flags, keywords = excluded.keywords
             RETURNING id",
        )
        .context("preparing the message insert")?;
    insert
        .query_row(
            params![
                mailbox_id,
                uid,
                m.modseq.map(|v| v as i64),
                m.flags.system,
                m.flags.keywords_column(),
                m.internal_date,
                m.size,
                m.sort_date,
                m.date_header,
                m.subject,
                m.from,
                m.sender,
                m.reply_to,
                m.to,
                m.cc,
                m.bcc,
                m.in_reply_to,
                m.message_id,
                m.references,
                structure,
                has_attachments,
            ],
            |r| r.get(0),
        )
        .context("caching a message")
}

/// Adds the messages with ids above `after` to the full-text index, in one
/// statement (so FTS5 builds one segment per batch, not one per row).
pub(crate) fn index_for_search(tx: &Transaction<'_>, after: i64) -> Result<()> {
    tx.execute(
        "INSERT INTO messages_fts (rowid, subject, addresses, body)
         SELECT id, subject, from_addr || ' ' || to_addr || ' ' || cc || ' ' || bcc, ''
           FROM messages WHERE id > ?1",
        params![after],
    )
    .context("indexing new messages for search")?;
    Ok(())
}

fn apply_changes(
    tx: &Transaction<'_>,
    mailbox_id: i64,
    updates: &[FlagUpdate],
    vanished: &[u32],
) -> Result<CommitCounts> {
    let mut counts = CommitCounts::default();
    let mut update = tx
        .prepare_cached(
            "UPDATE messages SET flags = ?3, keywords = ?4, modseq = coalesce(?5, modseq)
              WHERE mailbox_id = ?1 AND uid = ?2 AND (flags != ?3 OR keywords != ?4)",
        )
        .context("preparing a flag update")?;
    for u in updates {
        counts.changed += update
            .execute(params![
                mailbox_id,
                u.uid,
                u.flags.system,
                u.flags.keywords_column(),
                u.modseq.map(|v| v as i64)
            ])
            .context("updating flags")? as u64;
    }
    let mut delete = tx
        .prepare_cached("DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2")
        .context("preparing an expunge")?;
    for uid in vanished {
        counts.removed += delete.execute(params![mailbox_id, uid]).context("removing a message")? as u64;
    }
    Ok(counts)
}

fn message_count(conn: &Connection, mailbox_id: i64) -> Result<u64> {
    let n: i64 = conn
        .query_row("SELECT count(*) FROM messages WHERE mailbox_id = ?1", params![mailbox_id], |r| {
            r.get(0)
        })
        .context("counting messages")?;
    Ok(n as u64)
}

pub(crate) const LIST_COLUMNS: &str =
    "id, uid, flags, keywords, sort_date, from_addr, subject, size, has_attachments";

pub(crate) fn list_item(r: &rusqlite::Row<'_>) -> rusqlite::Result<MessageListItem> {
    let keywords: String = r.get(3)?;
    Ok(MessageListItem {
        id: r.get(0)?,
        uid: r.get::<_, Option<i64>>(1)?.map(|v| v as u32),
        flags: Flags::from_columns(r.get(2)?, &keywords),
        date: r.get(4)?,
        from: r.get(5)?,
        subject: r.get(6)?,
        size: r.get::<_, i64>(7)? as u32,
        has_attachments: r.get(8)?,
    })
}

/// Newest first; `after` continues below the last row of the previous page.
/// Uses the (mailbox_id, sort_date, id) index, so a page costs the same at
/// the top of a 100,000-message folder as at its bottom.
fn list_messages(
    conn: &Connection,
    mailbox_id: i64,
    after: Option<PageCursor>,
    limit: u32,
) -> Result<Page> {
    let (date, id) = after.map_or((i64::MAX, i64::MAX), |c| (c.sort_date, c.id));
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {LIST_COLUMNS} FROM messages
              WHERE mailbox_id = ?1 AND (sort_date, id) < (?2, ?3)
              ORDER BY sort_date DESC, id DESC LIMIT ?4"
        ))
        .context("listing messages")?;
    let items = stmt
        .query_map(params![mailbox_id, date, id, limit], list_item)
        .context("listing messages")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading the message list")?;
    let next = if items.len() as u32 == limit {
        items.last().map(|m| PageCursor { sort_date: m.date, id: m.id })
    } else {
        None
    };
    Ok(Page { items, next })
}

fn message_headers(conn: &Connection, mailbox_id: i64) -> Result<Vec<MessageHeader>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, uid, flags, keywords, subject, size, message_id FROM messages
              WHERE mailbox_id = ?1 ORDER BY uid",
        )
        .context("reading message headers")?;
    let rows = stmt
        .query_map(params![mailbox_id], |r| {
            let keywords: String = r.get(3)?;
            Ok(MessageHeader {
                id: r.get(0)?,
                uid: r.get::<_, Option<i64>>(1)?.map(|v| v as u32),
                flags: Flags::from_columns(r.get(2)?, &keywords),
                subject: r.get(4)?,
                size: r.get::<_, i64>(5)? as u32,
                message_id: r.get(6)?,
            })
        })
        .context("reading message headers")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading message headers")?;
    Ok(rows)
}
