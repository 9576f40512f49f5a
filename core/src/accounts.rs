//! Adding and removing accounts: the profile's config, the keyring entry and
//! the account's cache go together, so a removed account leaves nothing
//! behind and an added one never has its password on disk.

use crate::config::{AccountConfig, Profile};
use crate::{CoreError, Result};

/// Adds `account` to the profile, with `password` into the OS keyring
/// (None: the account uses its `password_command`).
pub fn add(profile: &Profile, account: AccountConfig, password: Option<&str>) -> Result<()> {
    profile.update(|config| {
        if config.accounts.iter().any(|a| a.name == account.name) {
            return Err(CoreError::AccountExists(account.name));
        }
        if let Some(password) = password {
            crate::credentials::store_password(&account, password)?;
        }
        config.accounts.push(account);
        Ok(())
    })
}

/// Replaces the settings of an existing account (same name); a new
/// password replaces the keyring entry.
pub fn update(profile: &Profile, account: AccountConfig, password: Option<&str>) -> Result<()> {
    profile.update(|config| {
        let Some(slot) = config.accounts.iter_mut().find(|a| a.name == account.name) else {
            return Err(CoreError::NoSuchAccount(account.name));
        };
        if let Some(password) = password {
            crate::credentials::store_password(&account, password)?;
        }
        *slot = account;
        Ok(())
    })
}

/// Removes the account from the config, its keyring entry and its cached
/// mail (including actions not yet sent: the user asked to forget it).
pub fn remove(profile: &Profile, name: &str) -> Result<()> {
    let account = profile.update(|config| {
        let Some(index) = config.accounts.iter().position(|a| a.name == name) else {
            return Err(CoreError::NoSuchAccount(name.to_string()));
        };
        Ok(config.accounts.remove(index))
    })?;
    if account.password_command.is_none() {
        // Already gone from the keyring is fine: the goal is "not there".
        let _ = crate::credentials::delete_password(&account);
    }
    profile.open_cache()?.remove_account(name)?;
    Ok(())
}
