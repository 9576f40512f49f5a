//! The "available offline" policy per folder, what it asks to prefetch,
//! and how much space cached bodies take.

use rusqlite::params;
use serde::Serialize;

use crate::error::{CacheError, Result, SqlContext};
use crate::{Cache, Part};

/// A folder's offline policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OfflinePolicy {
    /// Bodies of messages newer than this many days are kept.
    pub days: u32,
    /// Attachments up to this size (bytes) are kept too; 0: none.
    pub max_attachment: u64,
}

/// A message whose body the policy wants and the cache lacks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchItem {
    pub id: i64,
    pub structure: Option<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FolderSpace {
    pub folder: String,
    pub messages: u64,
    pub bodies_cached: u64,
    pub bytes: u64,
    pub policy: Option<OfflinePolicy>,
}

impl Cache {
    pub fn set_offline_policy(&self, mailbox_id: i64, policy: Option<OfflinePolicy>) -> Result<()> {
        let (days, max) = match policy {
            Some(p) => (Some(i64::from(p.days)), p.max_attachment as i64),
            None => (None, 0),
        };
        self.write()?
            .execute(
                "UPDATE mailboxes SET offline_days = ?2, offline_max_attachment = ?3 WHERE id = ?1",
                params![mailbox_id, days, max],
            )
            .context("setting the offline policy")?;
        Ok(())
    }

    /// Folders of an account with a policy: (id, name, policy).
    pub fn offline_folders(&self, account_id: i64) -> Result<Vec<(i64, String, OfflinePolicy)>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT id, name, offline_days, offline_max_attachment FROM mailboxes
                  WHERE account_id = ?1 AND offline_days IS NOT NULL ORDER BY name",
            )
            .context("listing offline folders")?;
        let rows = stmt
            .query_map(params![account_id], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    OfflinePolicy { days: r.get::<_, i64>(2)? as u32, max_attachment: r.get::<_, i64>(3)? as u64 },
                ))
            })
            .context("listing offline folders")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading offline folders")?;
        Ok(rows)
    }

    /// Messages of a folder newer than `since` whose text is not cached.
    pub fn prefetch_candidates(&self, mailbox_id: i64, since: i64) -> Result<Vec<PrefetchItem>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT m.id, m.bodystructure FROM messages m
                  WHERE m.mailbox_id = ?1 AND m.uid IS NOT NULL AND m.sort_date >= ?2
                    AND NOT EXISTS (SELECT 1 FROM parts p WHERE p.message_id = m.id AND p.section = 'text')
                  ORDER BY m.sort_date DESC",
            )
            .context("finding bodies to prefetch")?;
        let rows = stmt
            .query_map(params![mailbox_id, since], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)))
            .context("finding bodies to prefetch")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading bodies to prefetch")?;
        rows.into_iter()
            .map(|(id, s)| {
                let structure = match s {
                    Some(s) => Some(serde_json::from_str(&s).map_err(|e| CacheError::Json {
                        context: "reading a body structure".into(),
                        source: e,
                    })?),
                    None => None,
                };
                Ok(PrefetchItem { id, structure })
            })
            .collect()
    }

    /// How much each folder's cached bodies take.
    pub fn space(&self, account_id: i64) -> Result<Vec<FolderSpace>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT b.name, b.offline_days, b.offline_max_attachment,
                        (SELECT count(*) FROM messages m WHERE m.mailbox_id = b.id),
                        (SELECT count(*) FROM parts p JOIN messages m ON m.id = p.message_id
                          WHERE m.mailbox_id = b.id AND p.section = 'text'),
                        (SELECT coalesce(sum(length(p.data)), 0) FROM parts p JOIN messages m ON m.id = p.message_id
                          WHERE m.mailbox_id = b.id)
                   FROM mailboxes b WHERE b.account_id = ?1 ORDER BY b.name",
            )
            .context("measuring cached bodies")?;
        let rows = stmt
            .query_map(params![account_id], |r| {
                let days: Option<i64> = r.get(1)?;
                let max: i64 = r.get(2)?;
                Ok(FolderSpace {
                    folder: r.get(0)?,
                    policy: days.map(|d| OfflinePolicy { days: d as u32, max_attachment: max as u64 }),
                    messages: r.get::<_, i64>(3)? as u64,
                    bodies_cached: r.get::<_, i64>(4)? as u64,
                    bytes: r.get::<_, i64>(5)? as u64,
                })
            })
            .context("measuring cached bodies")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading sizes")?;
        Ok(rows)
    }

    /// Drops cached bodies outside each folder's policy (folders without
    /// one keep none; uploads waiting for the server are never touched).
    /// Returns the bytes freed.
    pub fn purge_outside_policy(&self, account_id: i64, now: i64) -> Result<u64> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting a purge")?;
        let before: i64 = tx
            .query_row("SELECT coalesce(sum(length(data)), 0) FROM parts", [], |r| r.get(0))
            .context("measuring parts")?;
        // Their words leave the search index with them.
        tx.execute(
            "UPDATE messages_fts SET body = '' WHERE rowid IN (
                SELECT p.message_id FROM parts p JOIN messages m ON m.id = p.message_id
                  JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE p.section = 'text' AND b.account_id = ?1
                   AND (b.offline_days IS NULL OR m.sort_date < ?2 - b.offline_days * 86400))",
            params![account_id, now],
        )
        .context("unindexing purged bodies")?;
        tx.execute(
            "DELETE FROM parts WHERE section != 'raw' AND message_id IN (
                SELECT m.id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                 WHERE b.account_id = ?1
                   AND (b.offline_days IS NULL OR m.sort_date < ?2 - b.offline_days * 86400))",
            params![account_id, now],
        )
        .context("purging bodies")?;
        // Attachments over the folder's size limit (text stays).
        tx.execute(
            "DELETE FROM parts WHERE section NOT IN ('raw', 'text') AND message_id IN (
                SELECT m.id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.account_id = ?1)
               AND length(data) > (SELECT b.offline_max_attachment FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                                    WHERE m.id = parts.message_id)",
            params![account_id],
        )
        .context("purging large attachments")?;
        let after: i64 = tx
            .query_row("SELECT coalesce(sum(length(data)), 0) FROM parts", [], |r| r.get(0))
            .context("measuring parts")?;
        tx.commit().context("committing a purge")?;
        Ok((before - after).max(0) as u64)
    }
}
