//! Drafts: the form is saved locally as the user types ([`save`]); a copy
//! goes to the Drafts folder when asked ([`file`]), replacing the copy
//! filed before, so the server holds one version of each draft.

use std::sync::Arc;

use satchel_cache::{Cache, Flags};

use super::compose::{self, Compose};
use super::{attachment_bytes, blocking, folders};
use crate::config::AccountConfig;
use crate::{CoreError, Result};

fn encode(compose: &Compose) -> Result<String> {
    serde_json::to_string(compose).map_err(|e| CoreError::Compose(format!("saving a draft: {e}")))
}

/// Saves the form (a new draft when `draft` is None); returns its id.
pub async fn save(cache: &Arc<Cache>, account_id: i64, draft: Option<i64>, compose: &Compose) -> Result<i64> {
    let content = encode(compose)?;
    blocking(cache, move |c| Ok(c.save_draft(account_id, draft, &content)?)).await
}

/// The form of a saved draft.
pub async fn load(cache: &Arc<Cache>, draft: i64) -> Result<Option<Compose>> {
    let row = blocking(cache, move |c| Ok(c.draft(draft)?)).await?;
    row.map(|r| serde_json::from_str(&r.content).map_err(|e| CoreError::Compose(format!("reading draft {draft}: {e}"))))
        .transpose()
}

/// Files the draft's current form in the Drafts folder (queued for the
/// server, which gets it when online) and drops the copy filed before.
/// Returns the new copy's local message id.
pub async fn file(cache: &Arc<Cache>, account: &AccountConfig, draft: i64, offline: bool) -> Result<i64> {
    let form = load(cache, draft).await?.ok_or_else(|| CoreError::Compose(format!("no draft {draft}")))?;
    let account_id = blocking(cache, move |c| Ok(c.draft(draft)?.map(|d| d.account_id).unwrap_or(0))).await?;
    let parts = attachment_bytes(cache, account, &form, offline).await?;
    let message_id = compose::new_message_id(account);
    let built = compose::build(account, &form, parts, &message_id, true)?;
    let folder = folders::find_or_create(cache, account_id, "\\Drafts").await?;
    let domain = account.email.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let mut flags = Flags::seen();
    flags.set("\\Draft", true);
    let local = crate::local_mail::read(&built.raw, flags, &domain);
    blocking(cache, move |c| Ok(c.replace_draft_copy(draft, folder, &local.row, &local.raw, local.text.as_deref())?)).await
}

/// Throws a draft away, with its copy in Drafts.
pub async fn discard(cache: &Arc<Cache>, draft: i64) -> Result<()> {
    blocking(cache, move |c| Ok(c.delete_draft(draft)?)).await
}
