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
