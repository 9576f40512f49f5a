//! Passwords: from the OS keyring, or from a user-given command
//! (`password_command`, like mbsync's PassCmd). Satchel never writes a
//! password to its config, its cache or its logs.

use std::sync::{Arc, OnceLock};

use keyring_core::{CredentialStore, Entry};

use crate::config::AccountConfig;
use crate::{CoreError, Result};

/// The keyring service name under which Satchel stores passwords.
pub const KEYRING_SERVICE: &str = "satchel";

/// The password of `account`.
pub async fn password(account: &AccountConfig) -> Result<String> {
    match &account.password_command {
        Some(cmd) => run_password_command(&account.name, cmd).await,
        None => {
            let name = account.name.clone();
            let user = keyring_user(account);
            tokio::task::spawn_blocking(move || {
                entry(&name, &user)?.get_password().map_err(|e| keyring_error(&name, e))
            })
            .await
            .map_err(|e| CoreError::Credentials { account: account.name.clone(), message: e.to_string() })?
        }
    }
}

/// The password for the account's SMTP server: the keyring entry filed
/// under the SMTP login when there is one, else the IMAP password (most
/// providers use one password for both).
pub async fn smtp_password(account: &AccountConfig) -> Result<String> {
    if account.password_command.is_none()
        && let Some(smtp) = &account.smtp
    {
        let user = format!("{}@{}", smtp.username.as_deref().unwrap_or(&account.imap.username), smtp.host);
        if user != keyring_user(account) {
            let name = account.name.clone();
            let found = tokio::task::spawn_blocking(move || entry(&name, &user).ok()?.get_password().ok())
                .await
                .ok()
                .flatten();
            if let Some(password) = found {
                return Ok(password);
            }
        }
    }
    password(account).await
}

/// Stores `password` for `account` in the OS keyring.
pub fn store_password(account: &AccountConfig, password: &str) -> Result<()> {
    entry(&account.name, &keyring_user(account))?
        .set_password(password)
        .map_err(|e| keyring_error(&account.name, e))
}

/// Removes the keyring entry of `account`, if any.
pub fn delete_password(account: &AccountConfig) -> Result<()> {
    match entry(&account.name, &keyring_user(account))?.delete_credential() {
        Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
        Err(e) => Err(keyring_error(&account.name, e)),
    }
}

/// One keyring entry per account and login name.
fn keyring_user(account: &AccountConfig) -> String {
    format!("{}@{}", account.imap.username, account.imap.host)
}

fn entry(account: &str, user: &str) -> Result<Entry> {
    ensure_store(account)?;
    Entry::new(KEYRING_SERVICE, user).map_err(|e| keyring_error(account, e))
}

fn keyring_error(account: &str, e: keyring_core::Error) -> CoreError {
    let message = match e {
        keyring_core::Error::NoEntry => "no password in the OS keyring (add the account again, or set password_command)".to_string(),
        keyring_core::Error::NoStorageAccess(inner) => {
            format!("the OS keyring is not reachable ({inner}); is a keyring service running and unlocked?")
        }
        other => format!("OS keyring: {other}"),
    };
    CoreError::Credentials { account: account.to_string(), message }
}

/// Installs the platform's keyring store once per process.
fn ensure_store(account: &str) -> Result<()> {
    static STORE: OnceLock<std::result::Result<(), String>> = OnceLock::new();
    STORE
        .get_or_init(|| {
            let store = platform_store().map_err(|e| e.to_string())?;
            keyring_core::set_default_store(store);
            Ok(())
        })
        .clone()
        .map_err(|message| CoreError::Credentials {
            account: account.to_string(),
            message: format!("cannot open the OS keyring: {message}"),
        })
}

#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(dbus_secret_service_keyring_store::Store::new()?)
}

#[cfg(target_os = "macos")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(apple_native_keyring_store::keychain::Store::new()?)
}

#[cfg(target_os = "windows")]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Ok(windows_native_keyring_store::Store::new()?)
}

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
fn platform_store() -> keyring_core::Result<Arc<CredentialStore>> {
    Err(keyring_core::Error::NotSupportedByStore("no OS keyring support on this platform; use password_command".into()))
}

async fn run_password_command(account: &str, cmd: &str) -> Result<String> {
    let fail = |message: String| CoreError::Credentials { account: account.to_string(), message };
    #[cfg(windows)]
    let mut command = {
        let mut c = tokio::process::Command::new("cmd");
        c.arg("/C").arg(cmd);
        c
    };
    #[cfg(not(windows))]
    let mut command = {
        let mut c = tokio::process::Command::new("sh");
        c.arg("-c").arg(cmd);
        c
    };
    command.stdin(std::process::Stdio::null()).kill_on_drop(true);
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .map_err(|_| fail("password_command took over 60 s".into()))?
        .map_err(|e| fail(format!("cannot run password_command: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        return Err(fail(format!("password_command failed ({}): {first}", output.status)));
    }
    let text = String::from_utf8(output.stdout)
        .map_err(|_| fail("password_command printed something that is not UTF-8".into()))?;
    // Like PassCmd: the first line is the password.
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        return Err(fail("password_command printed nothing".into()));
    }
    Ok(password)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_command_first_line_and_errors() {
        assert_eq!(run_password_command("a", "printf 'pw one\\nsecond'").await.ok(), Some("pw one".into()));
        let err = run_password_command("a", "echo nope >&2; exit 3").await.err().map(|e| e.to_string());
        assert!(err.as_deref().unwrap_or("").contains("nope"), "{err:?}");
        assert!(run_password_command("a", "true").await.is_err());
    }
}
