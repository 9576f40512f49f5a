//! Where sent mail and drafts are filed: the folder the server marks
//! (RFC 6154 SPECIAL-USE), else one with a name clients commonly use, else
//! a new one (created now in the cache, queued for the server).

use std::sync::Arc;

use satchel_cache::{Cache, Op};

use super::blocking;
use crate::Result;

fn common_names(special_use: &str) -> &'static [&'static str] {
    match special_use {
        "\\Sent" => &["Sent", "Sent Items", "Sent Messages", "Sent Mail", "INBOX.Sent", "INBOX/Sent"],
        "\\Drafts" => &["Drafts", "Draft", "INBOX.Drafts", "INBOX/Drafts"],
        _ => &[],
    }
}

fn new_name(special_use: &str) -> &'static str {
    match special_use {
        "\\Drafts" => "Drafts",
        _ => "Sent",
    }
}

/// The account's folder for `special_use` (`\Sent` or `\Drafts`).
pub async fn find_or_create(cache: &Arc<Cache>, account_id: i64, special_use: &'static str) -> Result<i64> {
    blocking(cache, move |c| {
        if let Some(id) = crate::actions::special_folder(c, account_id, special_use)? {
            return Ok(id);
        }
        if let Some(id) = common_names(special_use).iter().find_map(|n| c.mailbox_by_name(account_id, n).ok().map(|m| m.id)) {
            return Ok(id);
        }
        let name = new_name(special_use);
        c.queue_folder_op(account_id, Op::CreateFolder { name: name.to_string() })?;
        Ok(c.mailbox_by_name(account_id, name)?.id)
    })
    .await
}
