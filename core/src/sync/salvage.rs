//! Recovering a batch whose FETCH answer our parser could not read.
//!
//! Servers build the BODYSTRUCTURE (and sometimes ENVELOPE) of malformed mail
//! in ways strict parsers reject, and a parse failure leaves the session
//! unusable. Rather than stall the folder forever, the batch is fetched again
//! one message at a time on fresh connections; a message that still cannot
//! be read whole is cached from its raw header (a literal, always readable),
//! so it is listed and nothing is skipped.

use std::sync::Arc;

use async_imap::imap_proto::Response;
use satchel_cache::{Cache, NewMessage};

use super::decode;
use super::mailbox::db;
use crate::config::AccountConfig;
use crate::imap::{self, Command, Connection, SyncMode, quote, utf7};
use crate::{CoreError, Result};

const FULL: &str = "(UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (REFERENCES)])";
const FALLBACK: &str = "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER])";

/// What a salvage cached: messages, and how many of them from the header only.
#[derive(Debug, Clone, Copy, Default)]
pub struct Salvaged {
    pub cached: u64,
    pub header_only: u64,
}

pub async fn salvage_batch(
    account: &AccountConfig,
    password: &str,
    cache: &Arc<Cache>,
    mailbox_id: i64,
    first: u32,
    last: u32,
) -> Result<Salvaged> {
    let mailbox = db(cache, move |c| c.mailbox_by_id(mailbox_id)).await?;
    let wire_name = quote(&utf7::encode(&mailbox.name));
    let mut conn = open(account, password, &wire_name).await?;
    let mut uids = imap::uid_search(&mut conn.session, &format!("UID {first}:{last}")).await?;
    uids.retain(|u| (first..=last).contains(u));
    let mut messages: Vec<NewMessage> = Vec::with_capacity(uids.len());
    let mut header_only = 0;
    for uid in uids {
        match fetch_one(&mut conn, uid, FULL, decode::new_message).await {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => {} // expunged meanwhile
            Err(CoreError::Unparsable { detail, .. }) => {
                tracing::warn!(folder = %mailbox.name, uid, %detail, "caching from the raw header");
                conn = open(account, password, &wire_name).await?;
                if let Some(m) = fetch_one(&mut conn, uid, FALLBACK, decode::from_header).await? {
                    messages.push(m);
                    header_only += 1;
                }
            }
            Err(e) => return Err(e),
        }
    }
    let uidnext = last.saturating_add(1);
    let counts = db(cache, move |c| c.commit_new_messages(mailbox_id, &messages, uidnext)).await?;
    let _ = conn.session.logout().await;
    Ok(Salvaged { cached: counts.inserted, header_only })
}

async fn open(account: &AccountConfig, password: &str, wire_name: &str) -> Result<Connection> {
    let mut conn = imap::connect(account, password).await?;
    let select = if conn.mode == SyncMode::Plain {
        format!("SELECT {wire_name}")
    } else {
        format!("SELECT {wire_name} (CONDSTORE)")
    };
    Command::start(&mut conn.session, &select).await?.finish().await?;
    Ok(conn)
}

async fn fetch_one(
    conn: &mut Connection,
    uid: u32,
    items: &str,
    decode: fn(&[async_imap::imap_proto::AttributeValue<'_>]) -> Option<NewMessage>,
) -> Result<Option<NewMessage>> {
    let items = if conn.mode == SyncMode::Plain { items.to_string() } else { items.replacen("(UID FLAGS", "(UID FLAGS MODSEQ", 1) };
    let mut found = None;
    let mut cmd = Command::start(&mut conn.session, &format!("UID FETCH {uid} {items}")).await?;
    while let Some(m) = cmd
        .next(|r| match r {
            Response::Fetch(_, attrs) => decode(attrs),
            _ => None,
        })
        .await?
    {
        if let Some(m) = m.filter(|m| m.uid == uid) {
            found = Some(m);
        }
    }
    cmd.finish().await?;
    Ok(found)
}
