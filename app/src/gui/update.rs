//! The window's update: routes each part's messages, turns their events
//! into Tasks on the backend, and re-reads the cache when the engine says
//! something changed.

use iced::Task;
use satchel_core::cache::{FolderSummary, MessageListItem};
use satchel_core::watch::Event as EngineEvent;

use super::folders::Event as FolderEvent;
use super::message_list::{self, Listing, Source};
use super::status_bar::Connectivity;
use super::{Action, AccountEntry, Answer, App, Backend, Loaded, Message, Page, pending, reader, settings, setup};

impl App {
    /// Runs `work` on the backend off the UI thread; its answer comes back
    /// as the message `done` makes of it.
    pub fn query<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Backend) -> anyhow::Result<T> + Send + 'static,
        done: impl FnOnce(Answer<T>) -> Message + Send + 'static,
    ) -> Task<Message> {
        let backend = self.backend.clone();
        Task::perform(async move { backend.run(work).await }, done)
    }

    pub fn reload_accounts(&self) -> Task<Message> {
        self.query(
            |b| {
                let config = b.config()?;
                let mut out = Vec::new();
                for a in b.accounts()? {
                    let folders = b.folders(a.id)?;
                    out.push((a, folders));
                }
                Ok((config, out))
            },
            |r| Message::Loaded(Loaded::Accounts(r)),
        )
    }

    pub fn reload_queue(&self) -> Task<Message> {
        let ids: Vec<i64> = self.accounts.iter().map(|a| a.id).collect();
        self.query(
            move |b| {
                let (mut ops, mut conflicts, mut outbox) = (Vec::new(), Vec::new(), Vec::new());
                for id in ids {
                    ops.extend(b.pending(id)?);
                    conflicts.extend(b.cache.conflicts(id)?);
                    outbox.extend(b.cache.outbox(id)?);
                }
                Ok((ops, conflicts, outbox))
            },
            |r| Message::Loaded(Loaded::Queue(r)),
        )
    }

    fn load_ids(&self, folder: i64, keep: bool) -> Task<Message> {
        let threads = self.config.ui.threads;
        self.query(
            move |b| Ok(if threads { Listing::Threads(b.threaded_ids(folder)?) } else { Listing::Flat(b.message_ids(folder)?) }),
            move |ids| Message::Loaded(Loaded::Ids { folder, keep, ids }),
        )
    }

    fn load_rows(&self, ids: Vec<i64>) -> Task<Message> {
        self.query(move |b| b.rows(&ids), |r| Message::Loaded(Loaded::Rows(r)))
    }

    /// Opens a message in the reader and marks it read, as mail clients do.
    pub fn open(&mut self, id: i64) -> Task<Message> {
        self.reader.loading(id);
        let account_id = self.folder.as_ref().map(|f| f.account_id).unwrap_or_default();
        let account = self.account_config(account_id).cloned();
        let offline = !self.online(account_id);
        let cache = self.backend.cache.clone();
        // Mail still waiting to be uploaded (no UID yet) cannot take a flag
        // change; it is not marked read rather than showing an error.
        let unread = self.list.row(id).is_some_and(|m| m.uid.is_some() && !m.flags.has(satchel_core::cache::SystemFlag::Seen));
        let read = Task::perform(
            async move { satchel_core::reading::open(&cache, account.as_ref(), id, offline).await.map_err(|e| e.to_string()) },
            move |r| Message::Loaded(Loaded::Reading(id, r)),
        );
        if unread { Task::batch([read, self.act(Action::ToggleRead)]) } else { read }
    }

    fn select_folder(&mut self, folder: FolderSummary) -> Task<Message> {
        let id = folder.id;
        self.folder = Some(folder);
        self.searching = None;
        self.search.clear();
        self.reader.clear();
        self.list.set_ids(Vec::new(), false);
        self.load_ids(id, false)
    }

    pub fn update(&mut self, message: Message) -> Task<Message> {
        match message {
            Message::Loaded(loaded) => self.loaded(loaded),
            Message::Folders(m) => match self.folders.update(m) {
                Some(e) => self.folder_event(e),
                None => Task::none(),
            },
            Message::List(m) => match self.list.update(m) {
                Some(message_list::Event::NeedRows(ids)) => self.load_rows(ids),
                Some(message_list::Event::Open(id)) => {
                    self.row_menu = None;
                    self.open(id)
                }
                Some(message_list::Event::Menu(id)) => {
                    self.row_menu = Some(id);
                    Task::none()
                }
                Some(message_list::Event::Threads(on)) => self.set_threads(on),
                None => Task::none(),
            },
            Message::Reader(m) => match self.reader.update(m) {
                Some(reader::Event::OpenUrl(url)) => open_externally(url),
                Some(reader::Event::LoadRemote(id, urls)) => Task::perform(
                    async move { satchel_core::remote::fetch(&urls).await },
                    move |items| Message::Reader(reader::Message::RemoteLoaded(id, items)),
                ),
                Some(reader::Event::Save(id, a)) => self.save_attachment(id, a, false),
                Some(reader::Event::Open(id, a)) => self.save_attachment(id, a, true),
                None => Task::none(),
            },
            Message::Status(super::status_bar::Message::ShowPending) => {
                self.page = Page::Pending;
                self.reload_queue()
            }
            Message::Status(super::status_bar::Message::WorkOffline(on)) => self.set_work_offline(on),
            Message::Pending(m) => match self.pending.update(m) {
                pending::Event::Close => {
                    self.page = Page::Main;
                    Task::none()
                }
                pending::Event::Retry(op) => self.change_queue(op, true),
                pending::Event::Discard(op) => self.change_queue(op, false),
                pending::Event::Resend(id) => self.change_outbox(id, true),
                pending::Event::DiscardOutgoing(id) => self.change_outbox(id, false),
            },
            Message::Settings(m) => match self.settings.update(m, self.config.offline) {
                Some(e) => self.settings_event(e),
                None => Task::none(),
            },
            Message::Setup(m) => match self.setup.update(m) {
                Some(e) => self.setup_event(e),
                None => Task::none(),
            },
            Message::Compose(m) => self.compose_message(m),
            Message::Write => self.write_new(),
            Message::FileDraft => self.file_draft(),
            Message::Answer(kind) => self.answer(kind),
            Message::Engine(account, event) => self.engine_event(account, event),
            Message::EngineStopped(account) => {
                self.stopped_engines.insert(account.clone());
                Task::perform(tokio::time::sleep(self.engine_retry_delay), move |_| Message::RestartEngine(account.clone()))
            }
            Message::RestartEngine(account) => {
                self.restart_engine(&account);
                Task::none()
            }
            Message::Status(super::status_bar::Message::RetryNow) => {
                let stopped: Vec<String> = self.stopped_engines.iter().cloned().collect();
                for account in stopped {
                    self.restart_engine(&account);
                }
                Task::none()
            }
            Message::Act(action) => {
                self.row_menu = None;
                self.act(action)
            }
            Message::CloseMenu => {
                self.row_menu = None;
                Task::none()
            }
            Message::SearchInput(q) => {
                self.search = q;
                Task::none()
            }
            Message::SearchSubmit => self.run_search(),
            Message::SearchClear => match self.folder.clone() {
                Some(f) => self.select_folder(f),
                None => Task::none(),
            },
            Message::Key(key, modifiers) => self.key(key, modifiers),
            Message::ShowPage(page) => {
                self.page = page;
                self.row_menu = None;
                if page == Page::Setup {
                    self.setup = setup::Setup::default();
                }
                Task::none()
            }
            Message::Noop => Task::none(),
            Message::Notice(r) => {
                self.notice = Some(match r {
                    Ok(s) => s,
                    Err(e) => format!("Error: {e}"),
                });
                Task::none()
            }
        }
    }

    fn loaded(&mut self, loaded: Loaded) -> Task<Message> {
        match loaded {
            Loaded::ComposeReady(account, form) => self.compose_ready(account, form),
            Loaded::DraftSaved(r) => self.draft_saved(r),
            Loaded::DraftFiled(changes, r) => self.draft_filed(changes, r),
            Loaded::Suggestions(r) => {
                if let Some(c) = self.compose.as_mut() {
                    c.suggestions = r.unwrap_or_default();
                }
                Task::none()
            }
            Loaded::Sent(r) => self.sent(r),
            Loaded::Accounts(Ok((mut config, accounts))) => {
                // The window's own choices win over a file read a moment ago.
                config.work_offline = self.config.work_offline;
                config.ui = self.config.ui.clone();
                self.config = config;
                self.accounts = accounts.iter().map(|(a, _)| a.clone()).collect();
                self.folders.accounts = accounts;
                for a in &self.accounts {
                    if a.config.is_some() && !self.connectivity.contains_key(&a.name) {
                        self.connectivity.insert(a.name.clone(), Connectivity::Connecting);
                    }
                }
                // Keep the open folder's counts current; open INBOX at start.
                match self.folder.as_ref().and_then(|f| self.folders.find(f.id)).cloned() {
                    Some(f) => {
                        self.folder = Some(f);
                        Task::none()
                    }
                    None => {
                        let inbox = self.folders.accounts.iter().flat_map(|(_, fs)| fs).find(|f| f.name.eq_ignore_ascii_case("INBOX")).cloned();
                        match inbox {
                            Some(f) => {
                                self.folders.selected = Some(f.id);
                                Task::batch([self.select_folder(f), self.reload_queue()])
                            }
                            None => Task::none(),
                        }
                    }
                }
            }
            Loaded::Ids { folder, keep, ids: Ok(ids) } => {
                // An answer from before "Threads" was switched is stale too.
                let stale = ids.threaded() != self.config.ui.threads;
                if self.folder.as_ref().map(|f| f.id) != Some(folder) || self.searching.is_some() || stale {
                    return Task::none();
                }
                let reordered = ids.threaded() != self.list.threaded() && !self.list.ids().is_empty();
                self.list.set_listing(ids, keep);
                let want = if keep { Some(self.list.window_ids()) } else { self.list.missing() };
                let rows = match want {
                    Some(want) if !want.is_empty() => self.load_rows(want),
                    _ => Task::none(),
                };
                // Switching threads moves the open message: keep it in view.
                if reordered { Task::batch([rows, self.list.reveal_selected()]) } else { rows }
            }
            Loaded::Rows(Ok(rows)) => {
                self.list.set_rows(rows);
                Task::none()
            }
            Loaded::Reading(id, r) => {
                self.reader.loaded(id, r);
                Task::none()
            }
            Loaded::Queue(Ok((ops, conflicts, outbox))) => {
                let failed = ops.iter().filter(|o| o.state == "failed").count() as u64;
                let stuck = outbox.iter().filter(|m| m.state == "failed" || m.state == "uncertain").count() as u64;
                self.queued = (ops.len() as u64 - failed + outbox.len() as u64 - stuck, failed + stuck);
                self.pending.ops = ops;
                self.pending.conflicts = conflicts;
                self.pending.outbox = outbox;
                Task::none()
            }
            Loaded::Search { run, server, found: Ok(items) } => {
                if self.searching.is_none() || run != self.search_run {
                    return Task::none();
                }
                let ids: Vec<i64> = items.iter().map(|m| m.id).collect();
                if server {
                    let added = self.list.extend(&ids);
                    self.list.mark_sources(&added, Source::Server);
                } else {
                    self.list.set_ids(ids.clone(), false);
                    self.list.mark_sources(&ids, Source::Local);
                }
                self.list.set_rows(items);
                Task::none()
            }
            Loaded::Acted { message, removed, result } => {
                let mut tasks = vec![self.reload_accounts(), self.reload_queue()];
                match result {
                    Ok(notice) => self.notice = (!notice.is_empty()).then_some(notice),
                    Err(e) => self.notice = Some(format!("Error: {e}")),
                }
                if let Some(f) = &self.folder {
                    if self.searching.is_none() {
                        tasks.push(self.load_ids(f.id, true));
                    }
                }
                tasks.push(self.load_rows(vec![message]));
                // Refresh the reader only if the user is still on this message.
                let still_here = self.reader.loading.is_none() && self.list.selected() == Some(message);
                if self.reader.shown() == Some(message) && !removed && still_here {
                    let account_id = self.folder.as_ref().map(|f| f.account_id).unwrap_or_default();
                    let (cache, account, offline) = (self.backend.cache.clone(), self.account_config(account_id).cloned(), !self.online(account_id));
                    tasks.push(Task::perform(
                        async move { satchel_core::reading::open(&cache, account.as_ref(), message, offline).await.map_err(|e| e.to_string()) },
                        move |r| Message::Loaded(Loaded::Reading(message, r)),
                    ));
                    self.reader.loading = Some(message);
                }
                Task::batch(tasks)
            }
            Loaded::Accounts(Err(e))
            | Loaded::Ids { ids: Err(e), .. }
            | Loaded::Rows(Err(e))
            | Loaded::Queue(Err(e))
            | Loaded::Search { found: Err(e), .. } => {
                self.notice = Some(format!("Error: {e}"));
                Task::none()
            }
        }
    }

    fn folder_event(&mut self, event: FolderEvent) -> Task<Message> {
        match event {
            FolderEvent::Selected(f) => self.select_folder(f),
            FolderEvent::Create { account, name } => self.folder_op(account, satchel_core::cache::Op::CreateFolder { name }),
            FolderEvent::Rename { account, from, to } => self.folder_op(account, satchel_core::cache::Op::RenameFolder { from, to }),
            FolderEvent::Delete { account, name } => self.folder_op(account, satchel_core::cache::Op::DeleteFolder { name }),
            FolderEvent::SetOffline { folder, on } => {
                // Like Thunderbird's "keep messages for this folder on this computer",
                // bounded as Settings says (by default the last 90 days,
                // attachments up to 5 MB).
                let policy = on.then_some(offline_policy(self.config.offline));
                let set = self.query(
                    move |b| Ok(b.cache.set_offline_policy(folder, policy)?),
                    move |r: Answer<()>| {
                        Message::Notice(r.map(|_| {
                            if on { "Folder will be kept available offline." } else { "Folder no longer kept offline." }.to_string()
                        }))
                    },
                );
                // The reload reads what the change wrote: after it, not beside it.
                set.chain(self.reload_accounts())
            }
        }
    }

    fn folder_op(&self, account: i64, op: satchel_core::cache::Op) -> Task<Message> {
        let what = super::pending::describe(&op, "");
        let queued = self.query(
            move |b| Ok(b.cache.queue_folder_op(account, op)?),
            move |r: Answer<()>| Message::Notice(r.map(|_| format!("Queued: {}", what.trim_end_matches(" in ")))),
        );
        queued.chain(Task::batch([self.reload_accounts(), self.reload_queue()]))
    }

    /// A new identity for the account's engine subscription, so iced starts
    /// it again (only if it is still stopped: a timer may come late).
    fn restart_engine(&mut self, account: &str) {
        if self.stopped_engines.remove(account) {
            *self.engine_restarts.entry(account.to_string()).or_default() += 1;
            self.connectivity.insert(account.to_string(), Connectivity::Connecting);
        }
    }

    fn engine_event(&mut self, account: String, event: EngineEvent) -> Task<Message> {
        match event {
            EngineEvent::Connectivity { state, reason } => {
                let c = match state {
                    "online" => Connectivity::Online,
                    "connecting" => Connectivity::Connecting,
                    _ => Connectivity::Offline(reason.unwrap_or_default()),
                };
                if c == Connectivity::Online {
                    self.progress = None;
                }
                self.connectivity.insert(account, c);
                Task::none()
            }
            EngineEvent::SyncProgress { folder, done, total } => {
                self.progress = (done < total).then_some((folder, done, total));
                Task::none()
            }
            EngineEvent::FolderChanged { .. } => self.reload_accounts(),
            EngineEvent::MessagesChanged { folder_id } => {
                if self.folder.as_ref().map(|f| f.id) == Some(folder_id) && self.searching.is_none() {
                    self.load_ids(folder_id, true)
                } else {
                    Task::none()
                }
            }
            EngineEvent::OpFailed { .. }
            | EngineEvent::Conflict { .. }
            | EngineEvent::QueueChanged { .. }
            | EngineEvent::OutboxChanged { .. } => Task::batch([self.reload_queue(), self.reload_accounts()]),
            EngineEvent::NewMail { message_ids } => {
                let muted = self.config.ui.muted_accounts.contains(&account);
                let refresh = Task::batch([self.reload_accounts(), self.reload_queue()]);
                if muted {
                    return refresh;
                }
                let notify = self.query(
                    move |b| {
                        let rows: Vec<MessageListItem> = b.rows(&message_ids)?;
                        if let Some((title, body)) = crate::notify::text_for(&account, &rows) {
                            crate::notify::show(&title, &body).map_err(anyhow::Error::msg)?;
                        }
                        Ok(String::new())
                    },
                    |r| {
                        // No notification service is not worth a line on
                        // screen at every new message; it goes to the log.
                        if let Err(e) = r {
                            eprintln!("satchel: {e}");
                        }
                        Message::Noop
                    },
                );
                Task::batch([refresh, notify])
            }
        }
    }

    fn set_work_offline(&mut self, on: bool) -> Task<Message> {
        self.config.work_offline = on;
        if !on {
            // A fresh start for engines that stopped on an error.
            self.engine_generation += 1;
            self.stopped_engines.clear();
            for a in self.accounts.iter().filter(|a| a.config.is_some()) {
                self.connectivity.insert(a.name.clone(), Connectivity::Connecting);
            }
        }
        self.query(
            move |b| {
                b.profile.update(|config| {
                    config.work_offline = on;
                    Ok(())
                })?;
                Ok(String::new())
            },
            Message::Notice,
        )
    }

    /// "Threads" in the list's header: remembered in the config, and the
    /// open folder listed again in the new order, keeping the selection.
    fn set_threads(&mut self, on: bool) -> Task<Message> {
        self.config.ui.threads = on;
        let mut tasks = vec![self.save_ui()];
        if let Some(f) = self.folder.as_ref().filter(|_| self.searching.is_none()) {
            tasks.push(self.load_ids(f.id, true));
        }
        Task::batch(tasks)
    }

    fn change_queue(&self, op: i64, retry: bool) -> Task<Message> {
        let changed = self.query(
            move |b| {
                let found = if retry { b.cache.retry_op(op)? } else { b.cache.discard_op(op)? };
                Ok(if !found { "That change is no longer queued.".to_string() } else if retry { "Queued again.".into() } else { "Discarded.".into() })
            },
            Message::Notice,
        );
        let mut reloads = vec![self.reload_queue(), self.reload_accounts()];
        if let Some(f) = &self.folder {
            reloads.push(self.load_ids(f.id, true));
        }
        // Run beside the change, a reload could read the queue from before
        // it (the window then showed a retried change as still failed).
        changed.chain(Task::batch(reloads))
    }

    /// Resend (the user decided: queued again, the engine sends it) or
    /// Discard a message in the outbox.
    fn change_outbox(&self, id: i64, resend: bool) -> Task<Message> {
        let changed = self.query(
            move |b| {
                let found = if resend { b.cache.retry_outgoing(id)? } else { b.cache.discard_outgoing(id)? };
                Ok(match (found, resend) {
                    (false, _) => "That message is no longer in the outbox.".to_string(),
                    (true, true) => "Queued to send again.".into(),
                    (true, false) => "Discarded.".into(),
                })
            },
            Message::Notice,
        );
        changed.chain(self.reload_queue())
    }

    fn settings_event(&mut self, event: settings::Event) -> Task<Message> {
        match event {
            settings::Event::Close => {
                self.page = Page::Main;
                Task::none()
            }
            settings::Event::AddAccount => {
                self.setup = setup::Setup::default();
                self.page = Page::Setup;
                Task::none()
            }
            settings::Event::Edit(name) => {
                if let Some(a) = self.config.accounts.iter().find(|a| a.name == name) {
                    self.setup = setup::Setup::edit(a);
                    self.page = Page::Setup;
                }
                Task::none()
            }
            settings::Event::Offline(limits) => {
                self.config.offline = limits;
                let folders: Vec<i64> = self.folders.kept_offline().into_iter().map(|(id, _)| id).collect();
                let policy = offline_policy(limits);
                let saved = self.query(
                    move |b| {
                        b.profile.update(|config| {
                            config.offline = limits;
                            Ok(())
                        })?;
                        // The folders kept offline follow the new limits.
                        for f in &folders {
                            b.cache.set_offline_policy(*f, Some(policy))?;
                        }
                        Ok(format!("Folders kept offline now hold {}.", settings::Days(limits.days)))
                    },
                    Message::Notice,
                );
                saved.chain(self.reload_accounts())
            }
            settings::Event::StopOffline(folder) => self.folder_event(FolderEvent::SetOffline { folder, on: false }),
            settings::Event::Theme(t) => {
                self.config.ui.theme = t;
                self.save_ui()
            }
            settings::Event::Notify(account, on) => {
                self.config.ui.muted_accounts.retain(|a| *a != account);
                if !on {
                    self.config.ui.muted_accounts.push(account);
                }
                self.save_ui()
            }
            settings::Event::Remove(name) => {
                // Out of the list first: its engine subscription ends before
                // its rows go.
                self.accounts.retain(|a| a.name != name);
                self.folders.accounts.retain(|(a, _)| a.name != name);
                self.connectivity.remove(&name);
                self.config.ui.muted_accounts.retain(|a| *a != name);
                self.folder = None;
                self.list.set_ids(Vec::new(), false);
                self.reader.clear();
                let removed = self.query(
                    move |b| {
                        satchel_core::accounts::remove(&b.profile, &name)?;
                        Ok(format!("Removed {name}, its saved password and its cached mail."))
                    },
                    Message::Notice,
                );
                removed.chain(self.reload_accounts())
            }
        }
    }

    fn save_ui(&self) -> Task<Message> {
        let ui = self.config.ui.clone();
        self.query(
            move |b| {
                b.profile.update(|config| {
                    config.ui = ui;
                    Ok(())
                })?;
                Ok(String::new())
            },
            Message::Notice,
        )
    }

    fn setup_event(&mut self, event: setup::Event) -> Task<Message> {
        match event {
            setup::Event::Cancel => {
                self.page = if self.accounts.is_empty() { Page::Setup } else { Page::Main };
                Task::none()
            }
            setup::Event::Discover(email) => Task::perform(
                async move {
                    satchel_core::autoconfig::discover(&email)
                        .await
                        .map(|found| found.map(|d| (d.imap, d.smtp)))
                        .map_err(|e| e.to_string())
                },
                |r| Message::Setup(setup::Message::Found(r)),
            ),
            setup::Event::Test(account, password) => Task::perform(
                async move {
                    let password = match password {
                        Some(p) => p,
                        None => satchel_core::credentials::password(&account).await.map_err(|e| e.to_string())?,
                    };
                    let incoming = satchel_core::setup::test_connection(&account, &password)
                        .await
                        .map(|summary| summary.to_string())
                        .map_err(|problem| problem.to_string())?;
                    // The outgoing server, when one is set, with the same password.
                    match &account.smtp {
                        None => Ok(format!("{incoming} No outgoing server is set, so this account cannot send.")),
                        Some(smtp) => match satchel_core::send::smtp::check_login(&account, &password).await {
                            Ok(()) => Ok(format!("{incoming} Outgoing: logged in to {}.", smtp.host)),
                            Err(failure) => Err(format!("Incoming works ({incoming}) but the outgoing server failed: {failure}")),
                        },
                    }
                },
                |r| Message::Setup(setup::Message::Tested(r)),
            ),
            setup::Event::Save(account, password, editing) => self.query(
                move |b| {
                    let name = account.name.clone();
                    if editing {
                        satchel_core::accounts::update(&b.profile, account, password.as_deref())?;
                    } else {
                        satchel_core::accounts::add(&b.profile, account, password.as_deref())?;
                    }
                    Ok(name)
                },
                |r| Message::Setup(setup::Message::Saved(r)),
            ),
            setup::Event::Done(name) => {
                self.engine_generation += 1;
                self.stopped_engines.clear();
                self.page = Page::Main;
                self.notice = Some(format!("Saved {name}. Its mail appears as it arrives."));
                self.reload_accounts()
            }
        }
    }

    fn save_attachment(&self, message: i64, attachment: satchel_core::reading::Attachment, then_open: bool) -> Task<Message> {
        let account_id = self.folder.as_ref().map(|f| f.account_id).unwrap_or_default();
        let account = self.account_config(account_id).cloned();
        let offline = !self.online(account_id);
        let cache = self.backend.cache.clone();
        // Opening goes through a private temporary folder; saving to the
        // user's Downloads folder, never over an existing file.
        let dir = if then_open {
            private_temp_dir()
        } else {
            directories::UserDirs::new()
                .and_then(|u| u.download_dir().map(std::path::Path::to_path_buf))
                .unwrap_or_else(|| std::env::temp_dir().join("satchel-downloads"))
        };
        Task::perform(
            async move {
                let path = satchel_core::reading::save_attachment(&cache, account.as_ref(), message, &attachment, &dir, offline)
                    .await
                    .map_err(|e| e.to_string())?;
                if then_open {
                    open::that_detached(&path).map_err(|e| format!("opening {}: {e}", path.display()))?;
                    Ok(format!("Opened {}", path.display()))
                } else {
                    Ok(format!("Saved to {}", path.display()))
                }
            },
            Message::Notice,
        )
    }

    /// The accounts the window shows (for tests and the status bar).
    pub fn account_entries(&self) -> &[AccountEntry] {
        &self.accounts
    }
}

/// A folder only this user can read, for attachments opened from mail.
fn private_temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("satchel-open-{}-{}", whoami(), std::process::id()));
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    let _ = builder.create(&dir);
    dir
}

fn whoami() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default()
}

fn open_externally(url: String) -> Task<Message> {
    Task::perform(
        async move { open::that_detached(&url).map(|_| format!("Opened {url}")).map_err(|e| format!("opening {url}: {e}")) },
        Message::Notice,
    )
}

/// The cache's policy for the limits chosen in Settings.
fn offline_policy(limits: satchel_core::config::OfflineDefaults) -> satchel_core::cache::OfflinePolicy {
    satchel_core::cache::OfflinePolicy { days: limits.days, max_attachment: u64::from(limits.max_attachment_mb) * 1_000_000 }
}
