//! Drafts: the compose form is saved here as the user types (JSON the app
//! owns), and a copy of the message is kept in the account's Drafts folder,
//! each new copy replacing the last one there (the old UID is expunged).

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::{CacheError, Result, SqlContext};
use crate::{Cache, NewMessage};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DraftRow {
    pub id: i64,
    pub account_id: i64,
    /// The compose form, as the app wrote it.
    pub content: String,
    /// The local message holding its latest copy in Drafts, if any.
    pub message: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str = "id, account_id, content, message, updated_at";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DraftRow> {
    Ok(DraftRow { id: r.get(0)?, account_id: r.get(1)?, content: r.get(2)?, message: r.get(3)?, updated_at: r.get(4)? })
}

impl Cache {
    /// Saves the form (a new draft when `id` is None); returns its id.
    pub fn save_draft(&self, account_id: i64, id: Option<i64>, content: &str) -> Result<i64> {
        let conn = self.write()?;
        let now = crate::now_unix();
        match id {
            Some(id) => {
                let n = conn
                    // The account too: the user may pick another identity.
                    .execute(
                        "UPDATE drafts SET content = ?2, updated_at = ?3, account_id = ?4 WHERE id = ?1",
                        params![id, content, now, account_id],
                    )
                    .context("saving a draft")?;
                if n == 0 {
                    return Err(CacheError::NoSuchMessage(id));
                }
                Ok(id)
            }
            None => conn
                .query_row(
                    "INSERT INTO drafts (account_id, content, updated_at) VALUES (?1, ?2, ?3) RETURNING id",
                    params![account_id, content, now],
                    |r| r.get(0),
                )
                .context("creating a draft"),
        }
    }

    pub fn draft(&self, id: i64) -> Result<Option<DraftRow>> {
        self.write()?
            .query_row(&format!("SELECT {COLUMNS} FROM drafts WHERE id = ?1"), params![id], row)
            .optional()
            .context("reading a draft")
    }

    /// The drafts of an account, newest first.
    pub fn drafts(&self, account_id: i64) -> Result<Vec<DraftRow>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM drafts WHERE account_id = ?1 ORDER BY updated_at DESC, id DESC"))
            .context("listing drafts")?;
        let rows = stmt
            .query_map(params![account_id], row)
            .context("listing drafts")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading drafts")?;
        Ok(rows)
    }

    /// Files a new copy of draft `id` in `mailbox_id` (queued for upload)
    /// and removes the previous copy (its UID expunged on the server, or its
    /// upload dropped if it never left). Returns the new copy's local id.
    pub fn replace_draft_copy(&self, id: i64, mailbox_id: i64, message: &NewMessage, raw: &[u8], text: Option<&str>) -> Result<i64> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to file a draft")?;
        let previous: Option<i64> = tx
            .query_row("SELECT message FROM drafts WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .context("reading a draft")?
            .ok_or(CacheError::NoSuchMessage(id))?;
        if let Some(previous) = previous {
            drop_copy_in(&tx, previous)?;
        }
        let copy = crate::ops::append_in(&tx, mailbox_id, message, raw, text)?;
        tx.execute("UPDATE drafts SET message = ?2 WHERE id = ?1", params![id, copy]).context("recording a draft's copy")?;
        tx.commit().context("committing a draft's copy")?;
        Ok(copy)
    }

    /// Deletes a draft and its copy in Drafts (sent or thrown away).
    pub fn delete_draft(&self, id: i64) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to delete a draft")?;
        let previous: Option<Option<i64>> = tx
            .query_row("SELECT message FROM drafts WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .context("reading a draft")?;
        if let Some(Some(previous)) = previous {
            drop_copy_in(&tx, previous)?;
        }
        tx.execute("DELETE FROM drafts WHERE id = ?1", params![id]).context("deleting a draft")?;
        tx.commit().context("committing a draft's deletion")?;
        Ok(())
    }
}

/// Removes a draft's copy: on the server by UID, or, when its upload is
/// still queued, by dropping that upload.
fn drop_copy_in(tx: &rusqlite::Transaction<'_>, message: i64) -> Result<()> {
    let uid: Option<Option<i64>> = tx
        .query_row("SELECT uid FROM messages WHERE id = ?1", params![message], |r| r.get(0))
        .optional()
        .context("reading a draft's copy")?;
    match uid {
        None => Ok(()),
        Some(Some(_)) => crate::ops::expunge_in(tx, message),
        Some(None) => {
            tx.execute(
                "DELETE FROM ops WHERE message_id = ?1 AND kind = 'append' AND state IN ('pending', 'failed')",
                params![message],
            )
            .context("dropping a draft's upload")?;
            tx.execute("DELETE FROM messages WHERE id = ?1", params![message]).context("dropping a draft's copy")?;
            Ok(())
        }
    }
}
