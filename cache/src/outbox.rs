//! The outbox: every message the user sends is first a row here, holding
//! the whole message, so it survives being offline, a crash or a refusal.
//!
//! States: `queued` (waits for the SMTP server), `sending` (a sender has
//! claimed it and may be inside the SMTP transaction), `uncertain` (the
//! transaction may have completed, e.g. the sender died or the connection
//! broke before the server's answer: never resent without the user),
//! `failed` (the server refused it, with its words). A row leaves the
//! outbox only in the transaction that files the sent copy.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use crate::error::{CacheError, Result, SqlContext};
use crate::{Cache, Flags, NewMessage};

/// A message to queue.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub message_id: String,
    pub subject: String,
    pub envelope_from: String,
    /// To, Cc and Bcc addresses (bare, no display names).
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    /// The message this one answers or forwards, and the flag it gets
    /// once sent (`\Answered` or `$Forwarded`).
    pub original: Option<(i64, String)>,
    /// File a copy in the Sent folder after the server accepted it.
    pub save_copy: bool,
}

/// One outbox row, for listing (without the message bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutboxItem {
    pub id: i64,
    pub account_id: i64,
    pub message_id: String,
    pub subject: String,
    pub recipients: Vec<String>,
    pub size: u64,
    pub state: String,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub created_at: i64,
}

/// A claimed row: what a sender needs for the SMTP transaction.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub raw: Vec<u8>,
    pub save_copy: bool,
}

/// What happened to a send attempt that did not succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// Nothing reached the server (could not connect, 4xx): try again later.
    Temporary,
    /// The server refused the message (5xx): the user decides.
    Refused,
    /// The server may have accepted it: the user decides, never automatic.
    Uncertain,
}

impl SendFailure {
    fn state(self) -> &'static str {
        match self {
            SendFailure::Temporary => "queued",
            SendFailure::Refused => "failed",
            SendFailure::Uncertain => "uncertain",
        }
    }
}

/// Where the sent copy goes, parsed by the caller (the cache does no MIME).
pub struct SentCopy<'a> {
    pub mailbox_id: i64,
    pub row: &'a NewMessage,
    pub text: Option<&'a str>,
}

const COLUMNS: &str =
    "id, account_id, message_id, subject, recipients, length(raw), state, last_error, attempts, created_at";

fn item(r: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxItem> {
    let recipients: String = r.get(4)?;
    Ok(OutboxItem {
        id: r.get(0)?,
        account_id: r.get(1)?,
        message_id: r.get(2)?,
        subject: r.get(3)?,
        recipients: recipients.lines().map(str::to_string).collect(),
        size: r.get::<_, i64>(5)? as u64,
        state: r.get(6)?,
        last_error: r.get(7)?,
        attempts: r.get(8)?,
        created_at: r.get(9)?,
    })
}

impl Cache {
    /// Puts a message in the outbox; returns its row id.
    pub fn queue_outgoing(&self, account_id: i64, m: &Outgoing) -> Result<i64> {
        let (original, flag) = match &m.original {
            Some((id, flag)) => (Some(*id), Some(flag.clone())),
            None => (None, None),
        };
        self.write()?
            .query_row(
                "INSERT INTO outbox (account_id, message_id, subject, envelope_from, recipients, raw, state,
                                     original, original_flag, save_copy, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?8, ?9, ?10) RETURNING id",
                params![
                    account_id,
                    m.message_id,
                    m.subject,
                    m.envelope_from,
                    m.recipients.join("\n"),
                    m.raw,
                    original,
                    flag,
                    m.save_copy,
                    crate::now_unix()
                ],
                |r| r.get(0),
            )
            .context("queueing a message to send")
    }

    /// The outbox of an account, oldest first.
    pub fn outbox(&self, account_id: i64) -> Result<Vec<OutboxItem>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM outbox WHERE account_id = ?1 ORDER BY id"))
            .context("listing the outbox")?;
        let rows = stmt
            .query_map(params![account_id], item)
            .context("listing the outbox")?
            .collect::<rusqlite::Result<Vec<_>>>()
            .context("reading the outbox")?;
        Ok(rows)
    }

    /// One outbox row.
    pub fn outbox_item(&self, id: i64) -> Result<Option<OutboxItem>> {
        self.write()?
            .query_row(&format!("SELECT {COLUMNS} FROM outbox WHERE id = ?1"), params![id], item)
            .optional()
            .context("reading an outbox row")
    }

    /// Ids of the rows waiting to be sent, oldest first.
    pub fn outbox_queued(&self, account_id: i64) -> Result<Vec<i64>> {
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached("SELECT id FROM outbox WHERE account_id = ?1 AND state = 'queued' ORDER BY id")
            .context("listing queued messages")?;
        let ids = stmt
            .query_map(params![account_id], |r| r.get(0))
            .context("listing queued messages")?
            .collect::<rusqlite::Result<Vec<i64>>>()
            .context("reading queued messages")?;
        Ok(ids)
    }

    /// Takes a queued row for sending (only one sender can), recording who
    /// holds it. None when it is not queued (any more).
    pub fn claim_outgoing(&self, id: i64, pid: u32) -> Result<Option<Claimed>> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to claim a message")?;
        let n = tx
            .execute(
                "UPDATE outbox SET state = 'sending', attempts = attempts + 1, sending_pid = ?2, sending_since = ?3
                  WHERE id = ?1 AND state = 'queued'",
                params![id, pid, crate::now_unix()],
            )
            .context("claiming a message to send")?;
        if n == 0 {
            return Ok(None);
        }
        let claimed = tx
            .query_row(
                "SELECT id, envelope_from, recipients, raw, save_copy FROM outbox WHERE id = ?1",
                params![id],
                |r| {
                    let recipients: String = r.get(2)?;
                    Ok(Claimed {
                        id: r.get(0)?,
                        envelope_from: r.get(1)?,
                        recipients: recipients.lines().map(str::to_string).collect(),
                        raw: r.get(3)?,
                        save_copy: r.get(4)?,
                    })
                },
            )
            .context("reading a claimed message")?;
        tx.commit().context("committing a claim")?;
        Ok(Some(claimed))
    }

    /// Records a failed attempt with the server's (or network's) words.
    pub fn outgoing_failed(&self, id: i64, failure: SendFailure, error: &str) -> Result<()> {
        self.write()?
            .execute(
                "UPDATE outbox SET state = ?2, last_error = ?3, sending_pid = NULL, sending_since = NULL WHERE id = ?1",
                params![id, failure.state(), error],
            )
            .context("recording a send failure")?;
        Ok(())
    }

    /// Keeps why a queued message could not go yet (it stays queued).
    pub fn note_outgoing_error(&self, id: i64, error: &str) -> Result<()> {
        self.write()?
            .execute("UPDATE outbox SET last_error = ?2 WHERE id = ?1 AND state = 'queued'", params![id, error])
            .context("recording why a message waits")?;
        Ok(())
    }

    /// The server accepted the message: in one transaction the row leaves
    /// the outbox, the copy is queued for Sent and the original gets its
    /// \Answered / $Forwarded flag (when it still exists and has a UID).
    pub fn outgoing_sent(&self, id: i64, copy: Option<SentCopy<'_>>) -> Result<()> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting to record a sent message")?;
        let original: Option<(Option<i64>, Option<String>)> = tx
            .query_row("SELECT original, original_flag FROM outbox WHERE id = ?1", params![id], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .context("reading an outbox row")?;
        let Some((original, flag)) = original else { return Err(CacheError::NoSuchMessage(id)) };
        if let Some(copy) = copy {
            let raw: Vec<u8> =
                tx.query_row("SELECT raw FROM outbox WHERE id = ?1", params![id], |r| r.get(0)).context("reading a sent message")?;
            crate::ops::append_in(&tx, copy.mailbox_id, copy.row, &raw, copy.text)?;
        }
        if let (Some(message), Some(flag)) = (original, flag) {
            match crate::ops::flags_in(&tx, message, std::slice::from_ref(&flag), &[]) {
                // A reply to a message still waiting for its UID (or gone)
                // just goes without the mark.
                Ok(_) | Err(CacheError::WaitingForServer(_)) | Err(CacheError::NoSuchMessage(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tx.execute("DELETE FROM outbox WHERE id = ?1", params![id]).context("removing a sent message")?;
        tx.commit().context("committing a sent message")?;
        Ok(())
    }

    /// Rows left `sending` by a sender that no longer runs become
    /// `uncertain`: the transaction may have completed, so they are not sent
    /// again unless the user says so. `alive(pid, since)` tells whether the
    /// holder may still be at work. Returns how many changed.
    pub fn recover_outbox(&self, alive: &dyn Fn(u32, i64) -> bool) -> Result<usize> {
        let mut conn = self.write()?;
        let tx = conn.transaction().context("starting outbox recovery")?;
        let stuck: Vec<(i64, Option<i64>, Option<i64>)> = {
            let mut stmt = tx
                .prepare("SELECT id, sending_pid, sending_since FROM outbox WHERE state = 'sending'")
                .context("looking for interrupted sends")?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .context("looking for interrupted sends")?
                .collect::<rusqlite::Result<Vec<_>>>()
                .context("reading interrupted sends")?
        };
        let mut changed = 0;
        for (id, pid, since) in stuck {
            if alive(pid.unwrap_or(0) as u32, since.unwrap_or(0)) {
                continue;
            }
            changed += tx
                .execute(
                    "UPDATE outbox SET state = 'uncertain', sending_pid = NULL, sending_since = NULL,
                            last_error = 'Satchel stopped while sending this message; it may have been sent.'
                      WHERE id = ?1",
                    params![id],
                )
                .context("marking an interrupted send")?;
        }
        tx.commit().context("committing outbox recovery")?;
        Ok(changed)
    }

    /// Puts a failed or uncertain row back in the queue (the user's
    /// "Resend"). False when there is no such row or it is being sent.
    pub fn retry_outgoing(&self, id: i64) -> Result<bool> {
        let n = self
            .write()?
            .execute(
                "UPDATE outbox SET state = 'queued' WHERE id = ?1 AND state IN ('failed', 'uncertain', 'queued')",
                params![id],
            )
            .context("retrying a message")?;
        Ok(n > 0)
    }

    /// Drops a row that is not being sent. False when there is no such row
    /// or a sender holds it.
    pub fn discard_outgoing(&self, id: i64) -> Result<bool> {
        let n = self
            .write()?
            .execute("DELETE FROM outbox WHERE id = ?1 AND state != 'sending'", params![id])
            .context("discarding a message")?;
        Ok(n > 0)
    }

    /// The whole message of an outbox row (to show it, or save it).
    pub fn outgoing_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        self.write()?
            .query_row("SELECT raw FROM outbox WHERE id = ?1", params![id], |r| r.get(0))
            .optional()
            .context("reading an outbox message")
    }

    /// Addresses seen in this account's mail that start with (or whose
    /// name starts with) `prefix`, most used first: address completion.
    pub fn address_suggestions(&self, account_id: i64, prefix: &str, limit: usize) -> Result<Vec<String>> {
        let prefix = prefix.trim().to_lowercase();
        if prefix.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.write()?;
        let mut stmt = conn
            .prepare_cached(
                "SELECT m.from_addr, m.to_addr, m.cc FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id
                  WHERE b.account_id = ?1 ORDER BY m.sort_date DESC LIMIT 20000",
            )
            .context("reading addresses")?;
        let mut counts: std::collections::HashMap<String, (usize, String)> = std::collections::HashMap::new();
        let rows = stmt
            .query_map(params![account_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))
            .context("reading addresses")?;
        for row in rows {
            let (from, to, cc) = row.context("reading addresses")?;
            for field in [from, to, cc] {
                for one in split_addresses(&field) {
                    let lower = one.to_lowercase();
                    let matches = lower.starts_with(&prefix)
                        || lower.split([' ', '<', '"']).any(|w| w.starts_with(&prefix));
                    if matches {
                        let key = bare_address(&lower).to_string();
                        let entry = counts.entry(key).or_insert((0, one.to_string()));
                        entry.0 += 1;
                    }
                }
            }
        }
        let mut found: Vec<(usize, String)> = counts.into_values().collect();
        found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        Ok(found.into_iter().take(limit).map(|(_, a)| a).collect())
    }
}

/// Splits a cached address list ("Ann <a@x>, b@y") at commas outside
/// quotes, keeping the entries that hold an address.
pub fn split_addresses(field: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in field.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(field[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(field[start..].trim());
    out.into_iter().filter(|a| a.contains('@')).collect()
}

/// "Ann <a@x>" -> "a@x".
pub fn bare_address(one: &str) -> &str {
    match (one.rfind('<'), one.rfind('>')) {
        (Some(a), Some(b)) if a < b => &one[a + 1..b],
        _ => one,
    }
}

impl Flags {
    /// Flags for a copy of a message the user wrote (Sent, Drafts).
    pub fn seen() -> Flags {
        let mut f = Flags::default();
        f.set("\\Seen", true);
        f
    }
}
