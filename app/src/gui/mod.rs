//! The desktop window (iced). It reads only the cache, through Tasks, and
//! sends actions to the core; the engine's events come in through a
//! Subscription and carry ids only, so the window re-reads what changed.
//! Each part of the window is a module with its own `Message`, an
//! `update` that may return an `Event` for this module to act on, and a
//! `view`.

pub mod backend;
pub mod compose;
mod compose_flow;
pub mod folders;
mod keys;
pub mod message_list;
mod pending;
pub mod reader;
pub mod settings;
pub mod setup;
pub mod status_bar;
pub mod style;
mod update;
mod view;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use iced::{Subscription, Task, Theme};
use satchel_core::cache::{Cache, Conflict, FolderSummary, MessageListItem, OpRow};
use satchel_core::config::{AccountConfig, Config, ThemeChoice};
use satchel_core::reading::Reading;
use satchel_core::watch::{Event as EngineEvent, WatchOptions};

pub use backend::{AccountEntry, Answer, Backend};
use folders::Folders;
use message_list::MessageList;
use pending::Pending;
use reader::Reader;
use settings::Settings;
use setup::Setup;
use status_bar::Connectivity;

/// Opens the window on `backend`'s profile.
pub fn run(backend: Backend) -> iced::Result {
    iced::application(move || App::boot(backend.clone()), App::update, App::view)
        .title(App::title)
        .subscription(App::subscription)
        .theme(App::theme)
        .window(window_settings())
        .run()
}

/// The window's size, icon and (on Linux) application id, which must match
/// the desktop file's name so docks and taskbars pair the two.
fn window_settings() -> iced::window::Settings {
    let png = include_bytes!("../../../resources/icons/hicolor/128x128/apps/org.satchel.Satchel.png");
    let icon = image::load_from_memory(png).ok().map(|i| i.to_rgba8()).and_then(|rgba| {
        let (w, h) = rgba.dimensions();
        iced::window::icon::from_rgba(rgba.into_raw(), w, h).ok()
    });
    #[cfg(target_os = "linux")]
    let platform_specific =
        iced::window::settings::PlatformSpecific { application_id: "org.satchel.Satchel".into(), ..Default::default() };
    #[cfg(not(target_os = "linux"))]
    let platform_specific = Default::default();
    iced::window::Settings { size: iced::Size::new(1200.0, 760.0), icon, platform_specific, ..Default::default() }
}

/// What fills the window besides the three panes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Main,
    Pending,
    Settings,
    Setup,
    /// Choosing the folder to move (or copy) the selected message to.
    Choose { copy: bool },
    /// Writing a message (new, reply or forward).
    Compose,
}

pub struct App {
    pub backend: Backend,
    pub config: Config,
    pub accounts: Vec<AccountEntry>,
    pub folders: Folders,
    pub list: MessageList,
    pub reader: Reader,
    pub pending: Pending,
    pub settings: Settings,
    pub setup: Setup,
    pub page: Page,
    /// The message being written, kept while the user looks elsewhere.
    pub compose: Option<compose::Compose>,
    pub connectivity: HashMap<String, Connectivity>,
    pub progress: Option<(String, u64, u64)>,
    /// (pending, failed) queued changes over all accounts.
    pub queued: (u64, u64),
    pub search: String,
    /// The query whose results the list shows, if any.
    pub searching: Option<String>,
    pub folder: Option<FolderSummary>,
    /// One line telling what just happened (saved a file, an error).
    pub notice: Option<String>,
    /// The message whose right-click menu is open.
    pub row_menu: Option<i64>,
    /// Raised when settings are saved or the window goes back online, so
    /// every engine starts again (one that stopped on an error included).
    pub engine_generation: u64,
    /// The number of the search whose results the list shows.
    pub search_run: u64,
    /// Accounts whose engine ended on an error it does not retry by itself
    /// (a refused login); each is started again after `engine_retry_delay`
    /// or on "Retry now".
    pub stopped_engines: std::collections::HashSet<String>,
    /// Restarts per account, part of its engine's identity.
    pub engine_restarts: HashMap<String, u64>,
    pub engine_retry_delay: std::time::Duration,
    /// How long after a change the draft is filed in the server's Drafts
    /// (while online); the local copy is saved at once.
    pub draft_upload_delay: std::time::Duration,
}

#[derive(Debug, Clone)]
pub enum Message {
    Folders(folders::Message),
    List(message_list::Message),
    Reader(reader::Message),
    Status(status_bar::Message),
    Pending(pending::Message),
    Settings(settings::Message),
    Setup(setup::Message),
    Compose(compose::Message),
    /// Write a new message (or go back to the one being written).
    Write,
    /// The timer after a change ran out: file the draft in Drafts.
    FileDraft,
    Answer(satchel_core::send::reply::Kind),
    Loaded(Loaded),
    Engine(String, EngineEvent),
    /// This account's engine ended (after an offline event saying why).
    EngineStopped(String),
    /// Start this account's stopped engine again.
    RestartEngine(String),
    Act(Action),
    SearchInput(String),
    SearchSubmit,
    SearchClear,
    Key(iced::keyboard::Key, iced::keyboard::Modifiers),
    ShowPage(Page),
    CloseMenu,
    /// Nothing to do (a Task whose answer only mattered for the log).
    Noop,
    Notice(Result<String, String>),
}

/// Answers of Tasks that read or changed the cache.
#[derive(Debug, Clone)]
pub enum Loaded {
    Accounts(Answer<(Config, Vec<(AccountEntry, Vec<FolderSummary>)>)>),
    Ids { folder: i64, keep: bool, ids: Answer<message_list::Listing> },
    Rows(Answer<Vec<MessageListItem>>),
    Reading(i64, Answer<Reading>),
    Queue(Answer<(Vec<OpRow>, Vec<Conflict>, Vec<satchel_core::cache::OutboxItem>)>),
    /// `run` numbers the searches, so a late answer to an older one is dropped.
    Search { run: u64, server: bool, found: Answer<Vec<MessageListItem>> },
    Acted { message: i64, removed: bool, result: Answer<String> },
    ComposeReady(i64, Answer<satchel_core::send::Compose>),
    DraftSaved(Answer<i64>),
    /// The draft's copy in Drafts, filed at this change count.
    DraftFiled(u64, Answer<i64>),
    Suggestions(Answer<Vec<String>>),
    Sent(Answer<String>),
}

/// What the toolbar, the keys and the menus do to the selected message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    ToggleRead,
    ToggleFlag,
    Archive,
    Delete,
    MoveTo(i64),
    CopyTo(i64),
}

impl App {
    pub fn boot(backend: Backend) -> (App, Task<Message>) {
        let config = backend.profile.load().unwrap_or_default();
        let first_run = config.accounts.is_empty() && !backend.demo;
        let app = App {
            backend,
            config,
            accounts: Vec::new(),
            folders: Folders::default(),
            list: MessageList::default(),
            reader: Reader::default(),
            pending: Pending::default(),
            settings: Settings::default(),
            setup: Setup::default(),
            page: if first_run { Page::Setup } else { Page::Main },
            compose: None,
            connectivity: HashMap::new(),
            progress: None,
            queued: (0, 0),
            search: String::new(),
            searching: None,
            folder: None,
            notice: None,
            row_menu: None,
            engine_generation: 0,
            search_run: 0,
            draft_upload_delay: std::time::Duration::from_secs(15),
            stopped_engines: Default::default(),
            engine_restarts: HashMap::new(),
            engine_retry_delay: std::time::Duration::from_secs(300),
        };
        let task = Task::batch([app.reload_accounts(), app.reload_queue()]);
        (app, task)
    }

    pub fn title(&self) -> String {
        match &self.folder {
            Some(f) => format!("{} — Satchel", style::folder_label(&f.name)),
            None => "Satchel".to_string(),
        }
    }

    pub fn theme(&self) -> Option<Theme> {
        match self.config.ui.theme {
            ThemeChoice::System => None,
            ThemeChoice::Light => Some(Theme::Light),
            ThemeChoice::Dark => Some(Theme::Dark),
        }
    }

    /// The engine of every account with a server runs while the window is
    /// online; "Work offline" drops the subscriptions, which stops them.
    pub fn subscription(&self) -> Subscription<Message> {
        let keys = iced::keyboard::listen().filter_map(|event| match event {
            iced::keyboard::Event::KeyPressed { key, modifiers, .. } => Some(Message::Key(key, modifiers)),
            _ => None,
        });
        if self.config.work_offline {
            return keys;
        }
        let engines = self.accounts.iter().filter_map(|a| {
            let account = a.config.clone()?;
            let restarts = self.engine_restarts.get(&a.name).copied().unwrap_or(0);
            let key = EngineKey { cache: self.backend.cache.clone(), account, generation: (self.engine_generation, restarts) };
            Some(Subscription::run_with(key, engine_stream))
        });
        Subscription::batch(std::iter::once(keys).chain(engines))
    }

    /// The account config behind a cache account id (None for the demo).
    pub fn account_config(&self, account_id: i64) -> Option<&AccountConfig> {
        self.accounts.iter().find(|a| a.id == account_id).and_then(|a| a.config.as_ref())
    }

    /// True when bodies may be fetched for this account now.
    pub fn online(&self, account_id: i64) -> bool {
        let Some(a) = self.accounts.iter().find(|a| a.id == account_id) else { return false };
        !self.config.work_offline && self.connectivity.get(&a.name) == Some(&Connectivity::Online)
    }

    /// The status bar's one state over all accounts.
    pub fn overall_connectivity(&self) -> Connectivity {
        if self.config.work_offline {
            return Connectivity::WorkingOffline;
        }
        let servers: Vec<&Connectivity> =
            self.accounts.iter().filter(|a| a.config.is_some()).map(|a| self.connectivity.get(&a.name).unwrap_or(&Connectivity::Connecting)).collect();
        if servers.is_empty() {
            return Connectivity::NoServer;
        }
        if let Some(off) = servers.iter().find(|c| matches!(c, Connectivity::Offline(_))) {
            return (*off).clone();
        }
        if servers.iter().any(|c| **c == Connectivity::Connecting) {
            return Connectivity::Connecting;
        }
        Connectivity::Online
    }
}

/// Identifies one account's engine subscription; a settings change gives a
/// new key, so iced restarts the engine with them.
struct EngineKey {
    cache: Arc<Cache>,
    account: AccountConfig,
    /// (all engines' generation, this account's restarts)
    generation: (u64, u64),
}

impl Hash for EngineKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Every setting the connection depends on, serialized; the
        // password itself is never in the config.
        toml::to_string(&self.account).unwrap_or_else(|_| self.account.name.clone()).hash(state);
        self.generation.hash(state);
    }
}

fn engine_stream(key: &EngineKey) -> impl iced::futures::Stream<Item = Message> + use<> {
    use iced::futures::StreamExt;
    let name = key.account.name.clone();
    let stopped = name.clone();
    satchel_core::events::engine(key.cache.clone(), key.account.clone(), WatchOptions::default())
        .map(move |event| Message::Engine(name.clone(), event))
        // The stream only ends by itself when the engine gave up; dropped
        // (work offline, new settings) it says nothing.
        .chain(iced::futures::stream::once(async move { Message::EngineStopped(stopped) }))
}
