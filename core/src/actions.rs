//! User actions that need a decision beyond one cache call (which folder
//! "Delete" and "Archive" go to). Each is one cache transaction plus a
//! queued op: it applies at once, online or not.

use satchel_cache::Cache;

use crate::{CoreError, Result};

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    MovedToTrash,
    /// In Trash already, or asked for: \Deleted + UID EXPUNGE of that UID.
    Permanently,
}

/// Like Thunderbird: delete moves to Trash; in Trash (or with `permanent`)
/// it deletes for good.
pub fn delete(cache: &Cache, message: i64, permanent: bool) -> Result<Deleted> {
    if !permanent {
        let current = cache.message_mailbox(message)?;
        let account = cache.mailbox_by_id(current)?.account_id;
        let trash = match special_folder(cache, account, "\\Trash")? {
            Some(t) => Some(t),
            // Servers without SPECIAL-USE: the names clients commonly use.
            None => ["Trash", "Deleted Items", "Deleted Messages", "INBOX.Trash", "INBOX/Trash"]
                .iter()
                .find_map(|n| cache.mailbox_by_name(account, n).ok().map(|m| m.id)),
        };
        if let Some(trash) = trash.filter(|t| *t != current) {
            cache.queue_move(message, trash)?;
            return Ok(Deleted::MovedToTrash);
        }
    }
    cache.queue_expunge(message)?;
    Ok(Deleted::Permanently)
}

/// Moves to the account's \Archive folder (RFC 6154), or one named
/// "Archive" when the server marks none.
pub fn archive(cache: &Cache, message: i64) -> Result<()> {
    let current = cache.message_mailbox(message)?;
    let account = cache.mailbox_by_id(current)?.account_id;
    let target = match special_folder(cache, account, "\\Archive")? {
        Some(id) => id,
        None => cache
            .mailbox_by_name(account, "Archive")
            .map_err(|_| CoreError::NoSuchFolder("Archive".into()))?
            .id,
    };
    if target != current {
        cache.queue_move(message, target)?;
    }
    Ok(())
}

/// The folder of this account marked with a special use, if any.
pub fn special_folder(cache: &Cache, account_id: i64, special_use: &str) -> Result<Option<i64>> {
    Ok(cache
        .mailboxes(account_id)?
        .into_iter()
        .find(|m| m.special_use.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(special_use)))
        .map(|m| m.id))
}
