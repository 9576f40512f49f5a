//! Numbered, forward-only schema migrations. Each runs in one transaction
//! together with the `PRAGMA user_version` bump, so a crash leaves the schema
//! either fully at N-1 or fully at N. Never edit a released migration: add one.

use rusqlite::Connection;

use crate::error::{CacheError, Result, SqlContext};

const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    email       TEXT NOT NULL
) STRICT;

CREATE TABLE mailboxes (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,              -- the server's name, modified UTF-7 decoded
    delimiter       TEXT,                        -- hierarchy delimiter, NULL for flat
    attributes      TEXT NOT NULL DEFAULT '',    -- LIST attributes, space separated
    special_use     TEXT,                        -- \Sent, \Trash, ... (RFC 6154)
    subscribed      INTEGER NOT NULL DEFAULT 0,
    -- Server state last seen (STATUS or SELECT).
    uidvalidity     INTEGER,
    uidnext         INTEGER,
    highestmodseq   INTEGER,
    -- Sync state: every message with a UID below synced_uidnext is cached
    -- (or was expunged); flags are in sync up to synced_modseq. Both are
    -- committed in the same transaction as the messages they describe.
    synced_uidvalidity INTEGER,
    synced_uidnext  INTEGER NOT NULL DEFAULT 1,
    synced_modseq   INTEGER,
    last_sync       INTEGER,
    UNIQUE (account_id, name)
) STRICT;

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,         -- stable local id
    mailbox_id      INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
    uid             INTEGER,                     -- NULL until the server assigned one
    modseq          INTEGER,
    flags           INTEGER NOT NULL DEFAULT 0,  -- system flags, see flags.rs
    keywords        TEXT NOT NULL DEFAULT '',    -- other flags, sorted, space separated
    internal_date   INTEGER,                     -- unix seconds
    size            INTEGER NOT NULL DEFAULT 0,  -- RFC822.SIZE
    sort_date       INTEGER NOT NULL DEFAULT 0,  -- Date header, else INTERNALDATE
    date_header     TEXT,
    subject         TEXT NOT NULL DEFAULT '',
    from_addr       TEXT NOT NULL DEFAULT '',
    sender          TEXT NOT NULL DEFAULT '',
    reply_to        TEXT NOT NULL DEFAULT '',
    to_addr         TEXT NOT NULL DEFAULT '',
    cc              TEXT NOT NULL DEFAULT '',
    bcc             TEXT NOT NULL DEFAULT '',
    in_reply_to     TEXT,
    message_id      TEXT,
    refs            TEXT,                        -- References header
    bodystructure   TEXT,                        -- JSON, see model::Part
    has_attachments INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE UNIQUE INDEX messages_by_uid ON messages (mailbox_id, uid);
CREATE INDEX messages_by_date ON messages (mailbox_id, sort_date DESC, id DESC);
CREATE INDEX messages_by_message_id ON messages (message_id);

CREATE TABLE parts (
    message_id      INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    section         TEXT NOT NULL,               -- IMAP section, e.g. '1.2'
    data            BLOB NOT NULL,               -- decoded content bytes
    fetched_at      INTEGER NOT NULL,
    PRIMARY KEY (message_id, section)
) STRICT;

-- Offline actions waiting for the server (RFC 4549). A row leaves only in
-- the transaction that records the server's answer.
CREATE TABLE ops (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    message_id      INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    mailbox_id      INTEGER REFERENCES mailboxes(id) ON DELETE SET NULL,
    payload         TEXT NOT NULL DEFAULT '{}',  -- JSON, depends on kind
    state           TEXT NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX ops_by_account ON ops (account_id, state, id);

-- Full-text index over subject and addresses; bodies join it later.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, addresses, body,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, subject, addresses, body)
    VALUES (new.id, new.subject,
            new.from_addr || ' ' || new.to_addr || ' ' || new.cc || ' ' || new.bcc, '');
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    DELETE FROM messages_fts WHERE rowid = old.id;
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF subject, from_addr, to_addr, cc, bcc ON messages BEGIN
    UPDATE messages_fts
       SET subject = new.subject,
           addresses = new.from_addr || ' ' || new.to_addr || ' ' || new.cc || ' ' || new.bcc
     WHERE rowid = new.id;
END;
"#,
    // 2: FTS rows for new messages are written once per batch by the code
    // that inserts them (see messages.rs). A per-row trigger made FTS5 flush
    // its pending index at every statement: 60% of an initial sync's CPU.
    r#"
DROP TRIGGER messages_fts_insert;
"#,
    // 3: conflicts found while replaying offline actions, kept for the user.
    r#"
CREATE TABLE conflicts (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    mailbox_name    TEXT NOT NULL,
    uid             INTEGER,
    subject         TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,               -- 'flag', 'gone'
    detail          TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
"#,
    // 4: new-mail notification high-water mark per mailbox: messages with a
    // UID at or above it have not been announced. NULL: the folder's first
    // sync (or a UIDVALIDITY change) is still to be absorbed silently.
    r#"
ALTER TABLE mailboxes ADD COLUMN notified_uidnext INTEGER;
"#,
    // 5: "available offline": bodies of messages newer than offline_days are
    // prefetched, with attachments up to offline_max_attachment bytes.
    r#"
ALTER TABLE mailboxes ADD COLUMN offline_days INTEGER;
ALTER TABLE mailboxes ADD COLUMN offline_max_attachment INTEGER NOT NULL DEFAULT 0;
"#,
    // 6: sending. The outbox holds each message whole until the SMTP server
    // accepted it (see outbox.rs for the states); drafts hold the compose
    // form and point at their latest copy in the Drafts folder.
    r#"
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message_id      TEXT NOT NULL,               -- its Message-ID header
    subject         TEXT NOT NULL DEFAULT '',
    envelope_from   TEXT NOT NULL,
    recipients      TEXT NOT NULL,               -- envelope recipients, one per line
    raw             BLOB NOT NULL,               -- the message as it is sent
    state           TEXT NOT NULL DEFAULT 'queued', -- queued, sending, uncertain, failed
    last_error      TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    sending_pid     INTEGER,                     -- who holds a 'sending' row
    sending_since   INTEGER,
    original        INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    original_flag   TEXT,                        -- \Answered or $Forwarded, set once sent
    save_copy       INTEGER NOT NULL DEFAULT 1,  -- APPEND to Sent once sent
    created_at      INTEGER NOT NULL
) STRICT;
CREATE TABLE drafts (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    content         TEXT NOT NULL,               -- the compose form (JSON, the app's)
    message         INTEGER REFERENCES messages(id) ON DELETE SET NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
"#,
];

/// The schema version this build writes.
pub(crate) const LATEST: i64 = MIGRATIONS.len() as i64;

pub(crate) fn run(conn: &mut Connection) -> Result<()> {
    let current: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .context("reading the schema version")?;
    if current > LATEST {
        return Err(CacheError::TooNew { found: current, known: LATEST });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as i64 + 1;
        let tx = conn.transaction().context("starting a migration")?;
        tx.execute_batch(sql)
            .map_err(|e| CacheError::sql(format!("applying migration {version}"), e))?;
        tx.pragma_update(None, "user_version", version)
            .context("recording the schema version")?;
        tx.commit().map_err(|e| CacheError::sql(format!("committing migration {version}"), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_a_fresh_database_and_is_idempotent() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CacheError::NoSuchMailbox(e.to_string()))?;
        let path = dir.path().join("c.sqlite");
        drop(crate::Cache::open(&path)?);
        let cache = crate::Cache::open(&path)?;
        let conn = cache.write()?;
        let v: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).context("v")?;
        assert_eq!(v, LATEST);
        let strict: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_list WHERE strict = 1 AND name IN ('accounts','mailboxes','messages','parts','ops')",
                [],
                |r| r.get(0),
            )
            .context("strict")?;
        assert_eq!(strict, 5, "all plain tables are STRICT");
        Ok(())
    }

    #[test]
    fn refuses_a_newer_schema() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CacheError::NoSuchMailbox(e.to_string()))?;
        let path = dir.path().join("c.sqlite");
        drop(crate::Cache::open(&path)?);
        {
            let conn = Connection::open(&path).context("open")?;
            conn.pragma_update(None, "user_version", LATEST + 1).context("bump")?;
        }
        match crate::Cache::open(&path) {
            Err(CacheError::TooNew { found, .. }) => assert_eq!(found, LATEST + 1),
            other => panic!("expected TooNew, got {:?}", other.map(|_| ())),
        }
        Ok(())
    }
}
