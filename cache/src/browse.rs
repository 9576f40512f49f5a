//! Queries the GUI runs on read connections while a sync holds the writer:
//! the folder pane with its counts, and a folder's message ids in display
//! order (by date, or by thread) so the list can fetch only the rows on
//! screen.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::messages::{LIST_COLUMNS, list_item};
use crate::error::{Result, SqlContext};
use crate::threads::{Headers, ThreadedId};
use crate::{Cache, MessageListItem, Reader};

/// One folder as the folder pane shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderSummary {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub delimiter: Option<String>,
    pub special_use: Option<String>,
    pub selectable: bool,
    pub total: u64,
    pub unread: u64,
    /// "Available offline" is on (bodies are prefetched).
    pub offline: bool,
}

fn folder_summaries(conn: &Connection, account_id: i64) -> Result<Vec<FolderSummary>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT b.id, b.account_id, b.name, b.delimiter, b.special_use, b.attributes, b.offline_days IS NOT NULL,
                    (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id),
                    (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id AND (m.flags & 1) = 0)
               FROM mailboxes b WHERE b.account_id = ?1 ORDER BY b.name",
        )
        .context("reading the folder list")?;
    let rows = stmt
        .query_map(params![account_id], |r| {
            let attributes: String = r.get(5)?;
            Ok(FolderSummary {
                id: r.get(0)?,
                account_id: r.get(1)?,
                name: r.get(2)?,
                delimiter: r.get(3)?,
                special_use: r.get(4)?,
                selectable: crate::model::selectable(&attributes.split(' ').map(String::from).collect::<Vec<_>>()),
                offline: r.get(6)?,
                total: r.get::<_, i64>(7)? as u64,
                unread: r.get::<_, i64>(8)? as u64,
            })
        })
        .context("reading the folder list")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading the folder list")?;
    Ok(rows)
}

/// Every message id of a folder, newest first (8 bytes a message: 800 KB
/// for 100,000, read in a few tens of milliseconds through the date index).
fn message_ids(conn: &Connection, mailbox_id: i64) -> Result<Vec<i64>> {
    let mut stmt = conn
        .prepare_cached("SELECT id FROM messages WHERE mailbox_id = ?1 ORDER BY sort_date DESC, id DESC")
        .context("listing a folder")?;
    let ids = stmt
        .query_map(params![mailbox_id], |r| r.get(0))
        .context("listing a folder")?
        .collect::<rusqlite::Result<Vec<i64>>>()
        .context("listing a folder")?;
    Ok(ids)
}

/// A folder's ids in thread order with their depths (see threads.rs):
/// one scan of the folder's threading headers, read in place (no string
/// is copied out of SQLite) and ordered in memory.
fn threaded_ids(conn: &Connection, mailbox_id: i64) -> Result<Vec<ThreadedId>> {
    let mut stmt = conn
        .prepare_cached("SELECT id, sort_date, message_id, in_reply_to, refs FROM messages WHERE mailbox_id = ?1")
        .context("listing a folder by thread")?;
    let mut rows = stmt.query(params![mailbox_id]).context("listing a folder by thread")?;
    let mut headers = Headers::default();
    while let Some(r) = rows.next().context("listing a folder by thread")? {
        // A header that is not text threads as if it were absent.
        let text = |i: usize| r.get_ref(i).ok().and_then(|v| v.as_str_or_null().ok().flatten());
        let id: i64 = r.get(0).context("listing a folder by thread")?;
        let date: i64 = r.get(1).context("listing a folder by thread")?;
        headers.push(id, date, text(2), text(3), text(4));
    }
    Ok(headers.order())
}

/// List rows for `ids`, in the order given; ids no longer cached are left out.
fn rows(conn: &Connection, ids: &[i64]) -> Result<Vec<MessageListItem>> {
    let mut stmt = conn
        .prepare_cached(&format!("SELECT {LIST_COLUMNS} FROM messages WHERE id = ?1"))
        .context("reading message rows")?;
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(item) = stmt.query_row(params![id], list_item).optional().context("reading a message row")? {
            items.push(item);
        }
    }
    Ok(items)
}

impl Reader {
    pub fn folder_summaries(&self, account_id: i64) -> Result<Vec<FolderSummary>> {
        folder_summaries(&self.conn, account_id)
    }
    pub fn message_ids(&self, mailbox_id: i64) -> Result<Vec<i64>> {
        message_ids(&self.conn, mailbox_id)
    }
    pub fn rows(&self, ids: &[i64]) -> Result<Vec<MessageListItem>> {
        rows(&self.conn, ids)
    }
    pub fn threaded_ids(&self, mailbox_id: i64) -> Result<Vec<ThreadedId>> {
        threaded_ids(&self.conn, mailbox_id)
    }
}

impl Cache {
    /// Runs `f` on a pooled read connection, so reads never wait for a sync
    /// that holds the writer (WAL readers see the last commit).
    pub fn read<T>(&self, f: impl FnOnce(&Reader) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let reader = match pooled {
            Some(r) => r,
            None => self.reader()?,
        };
        let out = f(&reader);
        let mut pool = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if pool.len() < 4 {
            pool.push(reader);
        }
        out
    }

    /// A folder's ids grouped by conversation, threads newest first, each
    /// with its depth under the thread's root (on a pooled read connection).
    pub fn threaded_ids(&self, mailbox_id: i64) -> Result<Vec<ThreadedId>> {
        self.read(|r| r.threaded_ids(mailbox_id))
    }
}

#[cfg(test)]
mod tests {
    use crate::{Cache, CacheError, MailboxServerInfo, NewMessage};

    #[test]
    fn threaded_ids_group_a_folder_by_its_headers_and_leave_other_folders_out() -> crate::Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CacheError::NoSuchMailbox(e.to_string()))?;
        let cache = Cache::open(&dir.path().join("c.sqlite"))?;
        let account = cache.ensure_account("a", "a@example.test")?;
        let folder = |name: &str| MailboxServerInfo {
            name: name.into(),
            delimiter: None,
            attributes: vec![],
            special_use: None,
            subscribed: true,
        };
        cache.replace_folder_list(account.id, &[folder("INBOX"), folder("Sent")])?;
        let inbox = cache.mailbox_by_name(account.id, "INBOX")?;
        let sent = cache.mailbox_by_name(account.id, "Sent")?;
        let message = |uid: u32, id: &str, parent: Option<&str>| NewMessage {
            uid,
            sort_date: i64::from(uid) * 100,
            // The same subject everywhere: only the headers thread.
            subject: "Re: lunch".into(),
            message_id: Some(id.into()),
            in_reply_to: parent.map(String::from),
            references: parent.map(String::from),
            ..NewMessage::default()
        };
        // 1 <- 3, and 2 alone (same subject, no references); 4 answers 3
        // but sits in Sent.
        let batch = [message(1, "<root@x>", None), message(2, "<alone@x>", None), message(3, "<reply@x>", Some("<root@x>"))];
        cache.commit_new_messages(inbox.id, &batch, 4)?;
        cache.commit_new_messages(sent.id, &[message(4, "<mine@x>", Some("<reply@x>"))], 5)?;
        let ids = cache.ids_for_uids(inbox.id, &[1, 2, 3])?;
        let got: Vec<(i64, u32)> = cache.threaded_ids(inbox.id)?.into_iter().map(|t| (t.id, t.depth)).collect();
        assert_eq!(got, [(ids[0], 0), (ids[2], 1), (ids[1], 0)]);
        let flat = cache.read(|r| r.message_ids(inbox.id))?;
        assert_eq!(flat, [ids[2], ids[1], ids[0]], "the flat order is unchanged");
        Ok(())
    }
}
