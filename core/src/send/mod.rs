//! Sending mail: the compose form and its MIME form, reply/forward
//! helpers, drafts, the outbox and its SMTP sender. SMTP is only ever
//! reached through the outbox, so a message exists durably before any
//! byte of it goes on the wire.

pub mod compose;
pub mod drafts;
mod folders;
pub mod outbox;
pub mod reply;
pub mod smtp;

use std::sync::Arc;

use satchel_cache::Cache;

pub use compose::{Attachment, Built, Compose, Marks, Source};
pub use outbox::FlushReport;

use crate::config::AccountConfig;
use crate::{CoreError, Result};

/// Runs `f` on the blocking pool (SQLite and file reads stay off the async
/// executor).
pub(crate) async fn blocking<T, F>(cache: &Arc<Cache>, f: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Cache) -> Result<T> + Send + 'static,
{
    let cache = cache.clone();
    tokio::task::spawn_blocking(move || f(&cache))
        .await
        .map_err(|e| CoreError::io("cache worker", std::io::Error::other(e.to_string())))?
}

/// Reads the attachments' bytes (files, or parts of cached messages,
/// fetched when online) in order.
pub async fn attachment_bytes(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    compose: &Compose,
    offline: bool,
) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::with_capacity(compose.attachments.len());
    for a in &compose.attachments {
        let bytes = match &a.source {
            Source::File(path) => tokio::fs::read(path)
                .await
                .map_err(|e| CoreError::Compose(format!("attachment {}: {e}", path.display())))?,
            Source::Part { message, section } => crate::body::part_bytes(cache, Some(account), *message, section, offline)
                .await?
                .ok_or_else(|| {
                    CoreError::Compose(format!("the attachment {:?} is not available offline; connect first or remove it", a.name))
                })?,
        };
        out.push(bytes);
    }
    Ok(out)
}

/// Builds `compose` and puts it in the outbox (it goes when the account is
/// online: the engine, or [`outbox::flush`], sends it). Returns the outbox
/// id. A draft it came from is deleted with its copy in Drafts.
pub async fn queue(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    compose: &Compose,
    draft: Option<i64>,
    offline: bool,
) -> Result<i64> {
    let parts = attachment_bytes(cache, account, compose, offline).await?;
    let message_id = compose::new_message_id(account);
    let built = compose::build(account, compose, parts, &message_id, false)?;
    let id = outbox::queue(cache, account, compose, built).await?;
    if let Some(draft) = draft {
        blocking(cache, move |c| Ok(c.delete_draft(draft)?)).await?;
    }
    Ok(id)
}
