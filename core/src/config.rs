//! Profiles and account settings.
//!
//! A profile is a folder holding `config.toml` (settings, never a password)
//! and `cache.sqlite`. Without `--profile` it is the platform's config and
//! data folders (XDG on Linux, Application Support on macOS, AppData on
//! Windows, via the `directories` crate).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{CoreError, Result};

/// How the IMAP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (port 993).
    #[default]
    Tls,
    /// Plain connect, then STARTTLS; failure to upgrade fails the connection.
    Starttls,
    /// No TLS at all: only with `allow_plaintext`.
    Plain,
}

impl Security {
    pub fn default_port(self) -> u16 {
        match self {
            Security::Tls => 993,
            Security::Starttls | Security::Plain => 143,
        }
    }

    /// The usual SMTP submission port: 465 for implicit TLS (RFC 8314),
    /// 587 otherwise.
    pub fn default_smtp_port(self) -> u16 {
        match self {
            Security::Tls => 465,
            Security::Starttls | Security::Plain => 587,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImapSettings {
    pub host: String,
    pub port: u16,
    #[serde(default)]
    pub security: Security,
    pub username: String,
    /// Extra CA certificates (PEM) to trust besides the usual roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    /// Permit sending the password over an unencrypted connection.
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Use COMPRESS=DEFLATE when the server offers it (saves most of the
    /// bytes on a slow link; costs CPU on a fast one).
    #[serde(default = "yes")]
    pub compress: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountConfig {
    pub name: String,
    pub email: String,
    pub imap: ImapSettings,
    /// A command whose standard output is the password (like mbsync's
    /// PassCmd). When absent the password is in the OS keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_command: Option<String>,
    /// The name put beside `email` in From: ("Ada Lovelace").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The outgoing server; without it the account cannot send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smtp: Option<SmtpSettings>,
}

/// The account's SMTP submission server. The password is the IMAP one
/// (keyring entry or `password_command`) unless the keyring holds an entry
/// for `username@host` of this server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    /// `tls` = implicit TLS (465), `starttls` = STARTTLS (587).
    #[serde(default)]
    pub security: Security,
    /// The login; the IMAP user name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Extra CA certificates (PEM); the IMAP ones when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca_file: Option<PathBuf>,
    #[serde(default)]
    pub allow_plaintext: bool,
    /// The server files sent mail in Sent itself (Gmail does): no APPEND.
    #[serde(default)]
    pub server_saves_sent: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// "Work offline", chosen by the user: nothing connects until it is
    /// switched off again. Persisted so it survives a restart.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub work_offline: bool,
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountConfig>,
    /// How the desktop app looks and when it speaks up.
    #[serde(default)]
    pub ui: UiSettings,
    /// What a folder marked "available offline" keeps.
    #[serde(default)]
    pub offline: OfflineDefaults,
}

/// The policy of folders kept available offline, set in Settings: like
/// Thunderbird's "keep messages on this computer", bounded by age and by
/// attachment size so a laptop's disk is not filled by old archives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineDefaults {
    /// Messages of the last this many days (0: all).
    pub days: u32,
    /// Attachments up to this size are fetched too.
    pub max_attachment_mb: u32,
}

impl Default for OfflineDefaults {
    fn default() -> Self {
        OfflineDefaults { days: 90, max_attachment_mb: 5 }
    }
}

/// Light, dark, or whatever the desktop uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThemeChoice {
    #[default]
    System,
    Light,
    Dark,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UiSettings {
    #[serde(default)]
    pub theme: ThemeChoice,
    /// Accounts whose new mail shows no desktop notification.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub muted_accounts: Vec<String>,
    /// The message list groups messages by conversation (References /
    /// In-Reply-To), like Thunderbird's "Threaded" view; off: by date.
    #[serde(default)]
    pub threads: bool,
}

impl Config {
    pub fn account(&self, name: &str) -> Result<&AccountConfig> {
        self.accounts
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| CoreError::NoSuchAccount(name.to_string()))
    }

    /// The named account, or the only/first one when no name is given.
    pub fn pick_account(&self, name: Option<&str>) -> Result<&AccountConfig> {
        match name {
            Some(n) => self.account(n),
            None => self.accounts.first().ok_or_else(|| {
                CoreError::NoSuchAccount("(none configured; add one with `satchel account add`)".into())
            }),
        }
    }
}

/// Where one profile keeps its files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub config_file: PathBuf,
    pub cache_file: PathBuf,
}

impl Profile {
    /// Everything in one folder (the `--profile DIR` option).
    pub fn in_dir(dir: &Path) -> Profile {
        Profile { config_file: dir.join("config.toml"), cache_file: dir.join("cache.sqlite") }
    }

    /// The platform's usual folders.
    pub fn platform_default() -> Result<Profile> {
        let dirs = directories::ProjectDirs::from("org", "Satchel", "satchel").ok_or_else(|| {
            CoreError::Config {
                path: PathBuf::new(),
                message: "cannot find a home folder for the default profile; use --profile DIR".into(),
            }
        })?;
        Ok(Profile {
            config_file: dirs.config_dir().join("config.toml"),
            cache_file: dirs.data_dir().join("cache.sqlite"),
        })
    }

    /// Reads the config; a missing file is an empty config.
    pub fn load(&self) -> Result<Config> {
        let text = match std::fs::read_to_string(&self.config_file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => {
                return Err(CoreError::Config { path: self.config_file.clone(), message: e.to_string() });
            }
        };
        toml::from_str(&text).map_err(|e| CoreError::Config {
            path: self.config_file.clone(),
            message: e.to_string().replace('\n', " "),
        })
    }

    /// Writes the config atomically (temp file + rename), so a crash never
    /// leaves half a config.
    pub fn save(&self, config: &Config) -> Result<()> {
        let text = toml::to_string_pretty(config).map_err(|e| CoreError::Config {
            path: self.config_file.clone(),
            message: e.to_string(),
        })?;
        let dir = self.config_file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
        let tmp = self.config_file.with_extension("toml.tmp");
        std::fs::write(&tmp, text).map_err(|e| CoreError::io(format!("writing {}", tmp.display()), e))?;
        std::fs::rename(&tmp, &self.config_file)
            .map_err(|e| CoreError::io(format!("replacing {}", self.config_file.display()), e))
    }

    /// Changes the config under a lock: read, change, write. The window and
    /// the command line may both change it at once; without the lock one
    /// of two changes could be lost.
    pub fn update<T>(&self, change: impl FnOnce(&mut Config) -> Result<T>) -> Result<T> {
        let dir = self.config_file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
        let lock_path = self.config_file.with_extension("toml.lock");
        let lock = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| CoreError::io(format!("opening {}", lock_path.display()), e))?;
        lock.lock().map_err(|e| CoreError::io(format!("locking {}", lock_path.display()), e))?;
        let mut config = self.load()?;
        let out = change(&mut config)?;
        self.save(&config)?;
        // Dropping the file releases the lock.
        drop(lock);
        Ok(out)
    }

    /// Opens the profile's cache, creating its folder if needed.
    pub fn open_cache(&self) -> Result<satchel_cache::Cache> {
        if let Some(dir) = self.cache_file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
        }
        Ok(satchel_cache::Cache::open(&self.cache_file)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_holds_no_password_field() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CoreError::io("tempdir", e))?;
        let profile = Profile::in_dir(dir.path());
        assert_eq!(profile.load()?, Config::default());
        let config = Config {
            work_offline: true,
            accounts: vec![AccountConfig {
                name: "work".into(),
                email: "me@example.org".into(),
                imap: ImapSettings {
                    host: "imap.example.org".into(),
                    port: 993,
                    security: Security::Tls,
                    username: "me".into(),
                    tls_ca_file: None,
                    allow_plaintext: false,
                    compress: true,
                },
                password_command: Some("pass show mail".into()),
                display_name: Some("Ada Lovelace".into()),
                smtp: Some(SmtpSettings {
                    host: "smtp.example.org".into(),
                    port: 587,
                    security: Security::Starttls,
                    username: None,
                    tls_ca_file: None,
                    allow_plaintext: false,
                    server_saves_sent: false,
                }),
            }],
            ui: UiSettings { theme: ThemeChoice::Dark, muted_accounts: vec!["work".into()], threads: true },
            offline: OfflineDefaults { days: 30, max_attachment_mb: 1 },
        };
        profile.save(&config)?;
        assert_eq!(profile.load()?, config);
        let text = std::fs::read_to_string(&profile.config_file).map_err(|e| CoreError::io("read", e))?;
        assert!(!text.to_lowercase().contains("password ="), "{text}");
        Ok(())
    }

    /// Two writers at once (threads standing in for the window and the
    /// command line): every change survives.
    #[test]
    fn concurrent_updates_lose_nothing() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CoreError::io("tempdir", e))?;
        let profile = Profile::in_dir(dir.path());
        let writers: Vec<_> = (0..8)
            .map(|n| {
                let profile = profile.clone();
                std::thread::spawn(move || {
                    profile.update(|c| {
                        c.ui.muted_accounts.push(format!("account-{n}"));
                        Ok(())
                    })
                })
            })
            .collect();
        for w in writers {
            w.join().map_err(|_| CoreError::Compose("a writer panicked".into()))??;
        }
        let mut muted = profile.load()?.ui.muted_accounts;
        muted.sort();
        assert_eq!(muted, (0..8).map(|n| format!("account-{n}")).collect::<Vec<_>>());
        Ok(())
    }

    #[test]
    fn a_broken_config_names_the_file() {
        let dir = tempfile::tempdir().map_err(|e| CoreError::io("tempdir", e));
        let Ok(dir) = dir else { return };
        let profile = Profile::in_dir(dir.path());
        let _ = std::fs::write(&profile.config_file, "[[account]]\nname = 3\n");
        let err = profile.load().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("config.toml"), "{err}");
    }

    #[test]
    fn a_config_from_before_threads_lists_by_date() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| CoreError::io("tempdir", e))?;
        let profile = Profile::in_dir(dir.path());
        std::fs::write(&profile.config_file, "[ui]\ntheme = \"dark\"\n").map_err(|e| CoreError::io("write", e))?;
        let ui = profile.load()?.ui;
        assert_eq!((ui.theme, ui.threads), (ThemeChoice::Dark, false));
        Ok(())
    }
}
