//! Test harness for Satchel's end-to-end tests and benchmarks: a private
//! Dovecot on 127.0.0.1 with its own config, users and CA; an independent
//! IMAP client acting as "another machine"; a TCP proxy that cuts
//! connections; a private Postfix in front of that Dovecot for sending;
//! and a generator of realistic messages.

pub mod dovecot;
pub mod mail;
pub mod peer;
pub mod postfix;
pub mod proxy;

pub use dovecot::{Dovecot, DovecotOptions, ServerKind};
pub use peer::Peer;
pub use postfix::Postfix;
pub use proxy::CuttingProxy;

use std::sync::Arc;

use satchel_core::config::AccountConfig;
use satchel_core::sync::{SyncOptions, SyncSummary, sync_account};

/// Syncs `account` into `cache` with no retries and no progress output.
pub async fn sync(cache: &Arc<satchel_cache::Cache>, account: &AccountConfig) -> anyhow::Result<SyncSummary> {
    sync_with(cache, account, SyncOptions::default()).await
}

pub async fn sync_with(
    cache: &Arc<satchel_cache::Cache>,
    account: &AccountConfig,
    options: SyncOptions,
) -> anyhow::Result<SyncSummary> {
    let password = satchel_core::credentials::password(account).await?;
    Ok(sync_account(cache, account, &password, &options, &mut |_| {}).await?)
}

/// Asserts that the cache of `folder` holds exactly the server's messages:
/// same UIDs, flags and sizes. Returns how many there are.
pub async fn assert_cache_equals_server(
    cache: &satchel_cache::Cache,
    account: &AccountConfig,
    folder: &str,
    peer: &mut Peer,
) -> anyhow::Result<usize> {
    let account_row = cache.ensure_account(&account.name, &account.email)?;
    let mailbox = cache.mailbox_by_name(account_row.id, folder)?;
    let cached: Vec<peer::ServerMessage> = cache
        .message_headers(mailbox.id)?
        .into_iter()
        .map(|h| {
            let mut flags = h.flags.to_imap();
            flags.sort();
            peer::ServerMessage { uid: h.uid.unwrap_or(0), flags, size: h.size }
        })
        .collect();
    let server = peer.snapshot(folder).await?;
    if cached != server {
        let only_cache: Vec<_> = cached.iter().filter(|m| !server.contains(m)).take(5).collect();
        let only_server: Vec<_> = server.iter().filter(|m| !cached.contains(m)).take(5).collect();
        anyhow::bail!(
            "{folder}: cache has {} messages, server {}; only in cache: {only_cache:?}; only on server: {only_server:?}",
            cached.len(),
            server.len()
        );
    }
    Ok(server.len())
}

/// A fresh cache in a temporary folder.
pub fn temp_cache() -> anyhow::Result<(tempfile::TempDir, Arc<satchel_cache::Cache>)> {
    let dir = tempfile::tempdir()?;
    let cache = satchel_cache::Cache::open(&dir.path().join("cache.sqlite"))?;
    Ok((dir, Arc::new(cache)))
}
