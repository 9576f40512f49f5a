//! Local full-text search (FTS5) over subject and addresses.

use rusqlite::params;

use crate::error::{Result, SqlContext};
use crate::messages::{LIST_COLUMNS, list_item};
use crate::{MessageListItem, Reader};

/// Turns what a user typed into an FTS5 query: every word must match as a
/// prefix; FTS syntax characters lose their meaning (no query errors from
/// quotes or stars typed into a search box).
fn fts_query(text: &str) -> Option<String> {
    let terms: Vec<String> = text
        .split_whitespace()
        .map(|w| w.replace('"', ""))
        .filter(|w| !w.is_empty())
        .map(|w| format!("\"{w}\"*"))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

impl Reader {
    /// Messages of `account_id` matching every word of `text`, newest first.
    pub fn search(&self, account_id: i64, text: &str, limit: u32) -> Result<Vec<MessageListItem>> {
        let Some(query) = fts_query(text) else { return Ok(Vec::new()) };
        let columns = LIST_COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {columns} FROM messages_fts f
                   JOIN messages m ON m.id = f.rowid
                   JOIN mailboxes b ON b.id = m.mailbox_id
                  WHERE messages_fts MATCH ?1 AND b.account_id = ?2
                  ORDER BY m.sort_date DESC LIMIT ?3"
            ))
            .context("preparing a search")?;
        let rows = stmt
            .query_map(params![query, account_id, limit], list_item)
            .context("searching")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading search results")?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::fts_query;

    #[test]
    fn quotes_every_word_and_strips_syntax() {
        assert_eq!(fts_query("  hello wor\"ld "), Some("\"hello\"* \"world\"*".into()));
        assert_eq!(fts_query(" \" "), None);
    }
}

#[cfg(test)]
mod index_tests {
    use crate::{Cache, CacheError, MailboxServerInfo, NewMessage};

    #[test]
    fn new_messages_are_searchable_once_even_when_a_batch_is_replayed() -> crate::Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CacheError::NoSuchMailbox(e.to_string()))?;
        let cache = Cache::open(&dir.path().join("c.sqlite"))?;
        let account = cache.ensure_account("a", "a@example.test")?;
        let info = MailboxServerInfo {
            name: "INBOX".into(),
            delimiter: None,
            attributes: vec![],
            special_use: None,
            subscribed: true,
        };
        cache.replace_folder_list(account.id, &[info])?;
        let inbox = cache.mailbox_by_name(account.id, "INBOX")?;
        let batch: Vec<NewMessage> = (1..=3)
            .map(|uid| NewMessage {
                uid,
                subject: format!("Zugfahrt nach München {uid}"),
                from: "Erika <erika@example.test>".into(),
                ..NewMessage::default()
            })
            .collect();
        cache.commit_new_messages(inbox.id, &batch, 4)?;
        cache.commit_new_messages(inbox.id, &batch, 4)?; // an interrupted batch, run again
        let reader = cache.reader()?;
        assert_eq!(reader.search(account.id, "munchen", 10)?.len(), 3, "diacritics folded");
        assert_eq!(reader.search(account.id, "erika zug", 10)?.len(), 3, "address and subject");
        assert_eq!(reader.search(account.id, "nothing", 10)?.len(), 0);
        assert_eq!(cache.message_count(inbox.id)?, 3);
        cache.apply_server_changes(inbox.id, &[], &[2], None)?;
        assert_eq!(reader.search(account.id, "zugfahrt", 10)?.len(), 2, "expunged ones leave the index");
        Ok(())
    }
}
