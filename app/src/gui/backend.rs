//! The app's handle on the engine: the profile, its settings and its cache.
//! Every method here may touch SQLite or the network, so the screens call
//! them only from Tasks (never inside `update`), through [`Backend::run`].

use std::sync::Arc;

use satchel_core::cache::{Cache, FolderSummary, MessageListItem, OpRow, ThreadedId};
use satchel_core::config::{AccountConfig, Config, Profile};

/// One account as the window lists it: its cache id, and its settings when
/// it has a server (the demo account has none and never connects).
#[derive(Debug, Clone)]
pub struct AccountEntry {
    pub id: i64,
    pub name: String,
    pub email: String,
    pub config: Option<AccountConfig>,
}

#[derive(Clone)]
pub struct Backend {
    pub profile: Profile,
    pub cache: Arc<Cache>,
    pub demo: bool,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend").field("profile", &self.profile).field("demo", &self.demo).finish()
    }
}

/// Errors reach the screens as one line of text.
pub type Answer<T> = Result<T, String>;

impl Backend {
    pub fn open(profile: Profile, demo: bool) -> anyhow::Result<Backend> {
        let cache = Arc::new(profile.open_cache()?);
        if demo {
            satchel_core::demo::fill(&cache)?;
        }
        Ok(Backend { profile, cache, demo })
    }

    /// Runs blocking work (SQLite, keyring, config files) off the UI thread.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Backend) -> anyhow::Result<T> + Send + 'static,
    ) -> Answer<T> {
        let backend = self.clone();
        match tokio::task::spawn_blocking(move || work(&backend)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(e) => Err(format!("internal error: {e}")),
        }
    }

    pub fn config(&self) -> anyhow::Result<Config> {
        Ok(self.profile.load()?)
    }

    pub fn accounts(&self) -> anyhow::Result<Vec<AccountEntry>> {
        let mut out = Vec::new();
        if self.demo {
            let row = self.cache.account_by_name(satchel_core::demo::ACCOUNT)?;
            out.push(AccountEntry { id: row.id, name: row.name, email: row.email, config: None });
        }
        for a in self.config()?.accounts {
            let row = self.cache.ensure_account(&a.name, &a.email)?;
            out.push(AccountEntry { id: row.id, name: a.name.clone(), email: a.email.clone(), config: Some(a) });
        }
        Ok(out)
    }

    pub fn folders(&self, account: i64) -> anyhow::Result<Vec<FolderSummary>> {
        Ok(self.cache.read(|r| r.folder_summaries(account))?)
    }

    pub fn message_ids(&self, folder: i64) -> anyhow::Result<Vec<i64>> {
        Ok(self.cache.read(|r| r.message_ids(folder))?)
    }

    /// The folder's ids grouped by thread, with depths (see the cache's
    /// threads.rs).
    pub fn threaded_ids(&self, folder: i64) -> anyhow::Result<Vec<ThreadedId>> {
        Ok(self.cache.threaded_ids(folder)?)
    }

    pub fn rows(&self, ids: &[i64]) -> anyhow::Result<Vec<MessageListItem>> {
        Ok(self.cache.read(|r| r.rows(ids))?)
    }

    pub fn pending(&self, account: i64) -> anyhow::Result<Vec<OpRow>> {
        Ok(self.cache.ops(account)?)
    }
}
