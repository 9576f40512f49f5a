//! Mailbox rows: the folder list as the server last showed it, plus each
//! mailbox's sync state.

use std::collections::HashSet;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::{Result, SqlContext};
use crate::{Cache, CacheError, Mailbox, MailboxCounts, MailboxServerInfo, Reader, SyncState};

/// What changed in the folder list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderListChange {
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

const MAILBOX_COLUMNS: &str = "id, account_id, name, delimiter, attributes, special_use, subscribed, \
     synced_uidvalidity, synced_uidnext, synced_modseq";

fn mailbox_from_row(r: &Row<'_>) -> rusqlite::Result<Mailbox> {
    let attributes: String = r.get(4)?;
    Ok(Mailbox {
        id: r.get(0)?,
        account_id: r.get(1)?,
        name: r.get(2)?,
        delimiter: r.get(3)?,
        attributes: attributes.split(' ').filter(|a| !a.is_empty()).map(String::from).collect(),
        special_use: r.get(5)?,
        subscribed: r.get(6)?,
        sync: SyncState {
            uidvalidity: r.get::<_, Option<i64>>(7)?.map(|v| v as u32),
            uidnext: r.get::<_, i64>(8)? as u32,
            modseq: r.get::<_, Option<i64>>(9)?.map(|v| v as u64),
        },
    })
}

fn mailboxes(conn: &Connection, account_id: i64) -> Result<Vec<Mailbox>> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = ?1 ORDER BY name"
        ))
        .context("listing folders")?;
    let rows = stmt
        .query_map(params![account_id], mailbox_from_row)
        .context("listing folders")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("reading folders")?;
    Ok(rows)
}

fn mailbox_by_name(conn: &Connection, account_id: i64, name: &str) -> Result<Mailbox> {
    conn.query_row(
        &format!("SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE account_id = ?1 AND name = ?2"),
        params![account_id, name],
        mailbox_from_row,
    )
    .optional()
    .context("looking up a folder")?
    .ok_or_else(|| CacheError::NoSuchMailbox(name.to_string()))
}

fn mailbox_counts(conn: &Connection, account_id: i64) -> Result<Vec<MailboxCounts>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT b.name, b.special_use,
                    (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id),
                    (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id AND (m.flags & 1) = 0)
               FROM mailboxes b WHERE b.account_id = ?1 ORDER BY b.name",
        )
        .context("counting messages per folder")?;
    let rows = stmt
        .query_map(params![account_id], |r| {
            Ok(MailboxCounts {
                name: r.get(0)?,
                special_use: r.get(1)?,
                total: r.get::<_, i64>(2)? as u64,
                unread: r.get::<_, i64>(3)? as u64,
            })
        })
        .context("counting messages per folder")?
        .collect::<rusqlite::Result<Vec<_>>>()
        .context("counting messages per folder")?;
    Ok(rows)
}

impl Reader {
    pub fn mailboxes(&self, account_id: i64) -> Result<Vec<Mailbox>> {
        mailboxes(&self.conn, account_id)
    }
    pub fn mailbox_by_name(&self, account_id: i64, name: &str) -> Result<Mailbox> {
        mailbox_by_name(&self.conn, account_id, name)
    }
    pub fn mailbox_counts(&self, account_id: i64) -> Result<Vec<MailboxCounts>> {
        mailbox_counts(&self.conn, account_id)
    }
}

impl Cache {
    pub fn mailboxes(&self, account_id: i64) -> Result<Vec<Mailbox>> {
        mailboxes(&*self.write()?, account_id)
    }

    pub fn mailbox_by_name(&self, account_id: i64, name: &str) -> Result<Mailbox> {
        mailbox_by_name(&*self.write()?, account_id, name)
    }

    pub fn mailbox_by_id(&self, id: i64) -> Result<Mailbox> {
        self.write()?
            .query_row(&format!("SELECT {MAILBOX_COLUMNS} FROM mailboxes WHERE id = ?1"), params![id], mailbox_from_row)
            .optional()
            .context("looking up a folder")?
            .ok_or_else(|| CacheError::NoSuchMailbox(format!("#{id}")))
    }

    /// Makes the cached folder list equal to the server's `listed` folders:
    /// new ones are added, gone ones removed with their messages (a rename
    /// on the server shows up as one of each), the rest updated. One
    /// transaction.
    pub fn replace_folder_list(
        &self,
        account_id: i64,
        listed: &[MailboxServerInfo],
    ) -> Result<FolderListChange> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting the folder list update")?;
        let existing: HashSet<String> = {
            let mut stmt = tx
                .prepare("SELECT name FROM mailboxes WHERE account_id = ?1")
                .context("reading folder names")?;
            stmt.query_map(params![account_id], |r| r.get(0))
                .context("reading folder names")?
                .collect::<rusqlite::Result<_>>()
                .context("reading folder names")?
        };
        let listed_names: HashSet<&str> = listed.iter().map(|m| m.name.as_str()).collect();
        let mut change = FolderListChange::default();
        for gone in existing.iter().filter(|n| !listed_names.contains(n.as_str())) {
            // Messages moved into it offline go back where they came from
            // (the server still has them there), and the move is marked
            // failed for the user to see.
            tx.execute(
                "UPDATE messages SET
                    uid = (SELECT json_extract(o.payload, '$.uid') FROM ops o
                            WHERE o.message_id = messages.id AND o.kind = 'move' ORDER BY o.id DESC LIMIT 1),
                    mailbox_id = (SELECT o.mailbox_id FROM ops o
                            WHERE o.message_id = messages.id AND o.kind = 'move' ORDER BY o.id DESC LIMIT 1)
                  WHERE uid IS NULL
                    AND mailbox_id = (SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2)
                    AND EXISTS (SELECT 1 FROM ops o WHERE o.message_id = messages.id AND o.kind = 'move'
                                 AND o.mailbox_id IS NOT NULL)",
                params![account_id, gone],
            )
            .context("returning messages moved into a vanished folder")?;
            tx.execute(
                "UPDATE ops SET state = 'failed',
                        last_error = coalesce(last_error, 'the target folder ' || ?2 || ' no longer exists on the server')
                  WHERE account_id = ?1 AND kind = 'move' AND json_extract(payload, '$.to_name') = ?2",
                params![account_id, gone],
            )
            .context("marking moves into a vanished folder")?;
            // A folder still holding mail waiting for upload stays, as a
            // local folder: its messages exist nowhere else.
            let uploads: i64 = tx
                .query_row(
                    "SELECT count(*) FROM parts p JOIN messages m ON m.id = p.message_id
                       JOIN mailboxes b ON b.id = m.mailbox_id
                      WHERE b.account_id = ?1 AND b.name = ?2 AND p.section = 'raw'",
                    params![account_id, gone],
                    |r| r.get(0),
                )
                .context("looking for uploads")?;
            if uploads > 0 {
                continue;
            }
            tx.execute(
                "DELETE FROM mailboxes WHERE account_id = ?1 AND name = ?2",
                params![account_id, gone],
            )
            .context("removing a folder gone from the server")?;
            change.removed.push(gone.clone());
        }
        for m in listed {
            if !existing.contains(&m.name) {
                change.added.push(m.name.clone());
            }
            tx.execute(
                "INSERT INTO mailboxes (account_id, name, delimiter, attributes, special_use, subscribed)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (account_id, name) DO UPDATE SET
                    delimiter = excluded.delimiter, attributes = excluded.attributes,
                    special_use = excluded.special_use, subscribed = excluded.subscribed",
                params![
                    account_id,
                    m.name,
                    m.delimiter,
                    m.attributes.join(" "),
                    m.special_use,
                    m.subscribed
                ],
            )
            .context("saving a folder")?;
        }
        tx.commit().context("committing the folder list")?;
        change.added.sort();
        change.removed.sort();
        Ok(change)
    }

    /// Records what SELECT or STATUS said about a mailbox (informational; the
    /// sync state is only moved together with the messages it describes).
    pub fn record_server_status(
        &self,
        mailbox_id: i64,
        uidvalidity: Option<u32>,
        uidnext: Option<u32>,
        highestmodseq: Option<u64>,
    ) -> Result<()> {
        self.write()?
            .execute(
                "UPDATE mailboxes SET uidvalidity = ?2, uidnext = ?3, highestmodseq = ?4,
                        last_sync = ?5 WHERE id = ?1",
                params![
                    mailbox_id,
                    uidvalidity,
                    uidnext,
                    highestmodseq.map(|v| v as i64),
                    crate::now_unix()
                ],
            )
            .context("recording folder status")?;
        Ok(())
    }

    pub fn mailbox_counts(&self, account_id: i64) -> Result<Vec<MailboxCounts>> {
        mailbox_counts(&*self.write()?, account_id)
    }
}
