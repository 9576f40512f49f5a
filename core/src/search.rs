//! Server-side search, for messages whose bodies are not cached: UID SEARCH
//! TEXT in every folder, answers mapped to local ids. The local index
//! (FTS5, in the cache) answers first and offline; this adds to it.

use std::sync::Arc;

use satchel_cache::Cache;

use crate::config::AccountConfig;
use crate::imap::{self, Command, quote, utf7};
use crate::sync::mailbox::db;
use crate::Result;

/// Local ids of messages the server finds for every word of `query`.
pub async fn server_search(cache: &Arc<Cache>, account: &AccountConfig, query: &str) -> Result<Vec<i64>> {
    let words: Vec<&str> = query.split_whitespace().collect();
    if words.is_empty() {
        return Ok(Vec::new());
    }
    let password = crate::credentials::password(account).await?;
    let mut conn = imap::connect(account, &password).await?;
    let literal_plus = conn.capabilities.has("LITERAL+");
    let mut criteria = String::new();
    for w in &words {
        if w.is_ascii() {
            criteria.push_str(&format!(" TEXT {}", quote(w)));
        } else if literal_plus {
            // A non-ASCII word goes as a LITERAL+ (no round trip to wait for).
            criteria.push_str(&format!(" TEXT {{{}+}}\r\n{w}", w.len()));
        } else {
            continue;
        }
    }
    let charset = if query.is_ascii() { "" } else { " CHARSET UTF-8" };
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_id = db(cache, move |c| c.ensure_account(&name, &email)).await?.id;
    let folders = db(cache, move |c| c.mailboxes(account_id)).await?;
    let mut ids = Vec::new();
    for folder in folders.into_iter().filter(|f| f.selectable()) {
        let examine = format!("EXAMINE {}", quote(&utf7::encode(&folder.name)));
        if Command::start(&mut conn.session, &examine).await?.finish().await.is_err() {
            continue;
        }
        let uids = imap::uid_search(&mut conn.session, &format!("{}{criteria}", charset.trim_start())).await?;
        let id = folder.id;
        ids.extend(db(cache, move |c| c.ids_for_uids(id, &uids)).await?);
    }
    let _ = conn.session.logout().await;
    Ok(ids)
}
