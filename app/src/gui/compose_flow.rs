//! What the window does around the compose screen: starting a new message,
//! a reply or a forward, saving the draft as the user types, sending
//! through the outbox, filing the draft in Drafts.

use iced::Task;
use satchel_core::send::{self, drafts, reply};

use super::backend::Answer;
use super::compose::{self, Compose, Identity};
use super::{App, Loaded, Message, Page};

impl App {
    /// The account new mail is written from: the open folder's, else the
    /// first one that can send.
    fn sending_account(&self) -> Option<i64> {
        let senders = self.identities();
        let open = self.folder.as_ref().map(|f| f.account_id);
        senders.iter().find(|i| Some(i.account_id) == open).or(senders.first()).map(|i| i.account_id)
    }

    /// The accounts that can send, "Name <address>" as From will read.
    fn identities(&self) -> Vec<Identity> {
        self.accounts
            .iter()
            .filter_map(|a| {
                let config = a.config.as_ref().filter(|c| c.smtp.is_some())?;
                let label = match config.display_name.as_deref() {
                    Some(name) => format!("{name} <{}>", config.email),
                    None => config.email.clone(),
                };
                Some(Identity { account_id: a.id, label })
            })
            .collect()
    }

    fn no_sending(&mut self) -> Task<Message> {
        self.notice = Some(if self.backend.demo && self.accounts.iter().all(|a| a.config.is_none()) {
            "The demo mailbox has no outgoing server; add an account (Settings) to send mail.".into()
        } else {
            "No account has an outgoing (SMTP) server; add one in Settings.".into()
        });
        Task::none()
    }

    /// "Write": the message being written, or a new one.
    pub(super) fn write_new(&mut self) -> Task<Message> {
        if self.compose.is_some() {
            self.page = Page::Compose;
            return Task::none();
        }
        let Some(account) = self.sending_account() else { return self.no_sending() };
        self.show_compose(account, send::Compose::default())
    }

    /// r / a / f and the reader's buttons.
    pub(super) fn answer(&mut self, kind: reply::Kind) -> Task<Message> {
        let Some(message) = self.reader.reading.as_ref().map(|r| r.detail.id) else { return Task::none() };
        let Some(read_in) = self.reader.reading.as_ref().map(|r| r.detail.account_id) else { return Task::none() };
        // Answer from the account the mail came to; if that one cannot
        // send, from one that can (the From choice can change it).
        let sends = |id: i64| self.identities().iter().any(|i| i.account_id == id);
        let Some(account_id) = Some(read_in).filter(|id| sends(*id)).or_else(|| self.sending_account()) else {
            return self.no_sending();
        };
        // The original is read (and fetched) through its own account.
        let reading = self.account_config(read_in).cloned();
        let own = reading.as_ref().map(|a| a.email.clone()).unwrap_or_default();
        let offline = !self.online(read_in);
        let cache = self.backend.cache.clone();
        Task::perform(
            async move {
                reply::start(&cache, reading.as_ref(), &own, message, kind, offline).await.map_err(|e| e.to_string())
            },
            move |r| Message::Loaded(Loaded::ComposeReady(account_id, r)),
        )
    }

    pub(super) fn compose_ready(&mut self, account_id: i64, form: Answer<send::Compose>) -> Task<Message> {
        match form {
            Ok(form) => self.show_compose(account_id, form),
            Err(e) => {
                self.notice = Some(format!("Error: {e}"));
                Task::none()
            }
        }
    }

    fn show_compose(&mut self, account_id: i64, form: send::Compose) -> Task<Message> {
        let mut c = Compose::new(account_id, self.identities(), form);
        c.saving = true;
        let save = save_task(&self.backend.cache, account_id, None, &c.form);
        self.compose = Some(c);
        self.page = Page::Compose;
        save
    }

    pub(super) fn compose_message(&mut self, m: compose::Message) -> Task<Message> {
        let Some(c) = self.compose.as_mut() else { return Task::none() };
        match c.update(m) {
            None => Task::none(),
            Some(compose::Event::Changed) => {
                c.changes += 1;
                if c.saving {
                    c.dirty = true;
                    return Task::none();
                }
                c.saving = true;
                save_task(&self.backend.cache, c.account_id, c.draft, &c.form)
            }
            Some(compose::Event::ChooseFiles) => Task::perform(
                async {
                    let picked = rfd::AsyncFileDialog::new().set_title("Attach files").pick_files().await;
                    picked.unwrap_or_default().into_iter().map(|f| f.path().to_path_buf()).collect()
                },
                |paths| Message::Compose(compose::Message::Chosen(paths)),
            ),
            Some(compose::Event::Suggest(prefix)) => {
                let account = c.account_id;
                self.query(
                    move |b| Ok(if prefix.len() < 2 { Vec::new() } else { b.cache.address_suggestions(account, &prefix, 6)? }),
                    |r| Message::Loaded(Loaded::Suggestions(r)),
                )
            }
            Some(compose::Event::Send) => {
                let (account_id, draft, form) = (c.account_id, c.draft, c.form.clone());
                let Some(config) = self.account_config(account_id).cloned() else { return self.no_sending() };
                let offline = !self.online(account_id);
                let work_offline = self.config.work_offline;
                let cache = self.backend.cache.clone();
                Task::perform(
                    async move {
                        let id = send::queue(&cache, &config, &form, draft, offline).await.map_err(|e| e.to_string())?;
                        if work_offline {
                            return Ok("Queued in the outbox; it goes when you are online.".to_string());
                        }
                        let report = send::outbox::flush(&cache, &config).await.map_err(|e| e.to_string())?;
                        // SQLite off the async workers, like every other cache read.
                        let state = tokio::task::spawn_blocking(move || cache.outbox_item(id))
                            .await
                            .map_err(|e| e.to_string())?
                            .map_err(|e| e.to_string())?
                            .map(|i| i.state);
                        Ok(match (state.as_deref(), report.last_error) {
                            (None, _) => "Sent.".to_string(),
                            (Some("queued"), e) => format!("In the outbox: {}", e.unwrap_or_else(|| "waiting".into())),
                            (Some("uncertain"), e) => format!("May have been sent (see Pending): {}", e.unwrap_or_default()),
                            (_, e) => format!("Not sent (see Pending): {}", e.unwrap_or_default()),
                        })
                    },
                    |r| Message::Loaded(Loaded::Sent(r)),
                )
            }
            Some(compose::Event::SaveDraft) => {
                let Some(draft) = c.draft else { return Task::none() };
                let account_id = c.account_id;
                let form = c.form.clone();
                let changes = c.changes;
                let Some(config) = self.account_config(account_id).cloned() else { return self.no_sending() };
                let offline = !self.online(account_id);
                let cache = self.backend.cache.clone();
                Task::perform(
                    async move {
                        drafts::save(&cache, account_id, Some(draft), &form).await.map_err(|e| e.to_string())?;
                        drafts::file(&cache, &config, draft, offline).await.map_err(|e| e.to_string())
                    },
                    move |r| Message::Loaded(Loaded::DraftFiled(changes, r)),
                )
            }
            Some(compose::Event::Discard) => {
                let draft = c.draft;
                self.compose = None;
                self.page = Page::Main;
                let cache = self.backend.cache.clone();
                match draft {
                    Some(d) => Task::perform(
                        async move { drafts::discard(&cache, d).await.map(|_| "Draft discarded.".to_string()).map_err(|e| e.to_string()) },
                        Message::Notice,
                    ),
                    None => Task::none(),
                }
            }
        }
    }

    pub(super) fn draft_saved(&mut self, saved: Answer<i64>) -> Task<Message> {
        let Some(c) = self.compose.as_mut() else { return Task::none() };
        c.saving = false;
        match saved {
            Ok(id) => c.draft = Some(id),
            Err(e) => c.error = Some(format!("The draft could not be saved: {e}")),
        }
        if c.dirty {
            c.dirty = false;
            c.saving = true;
            return save_task(&self.backend.cache, c.account_id, c.draft, &c.form);
        }
        // Saved here; while online, a copy goes to the server's Drafts a
        // little later (one filing per pause, not one per keystroke).
        let due = c.draft.is_some() && c.changes != c.filed_changes && !c.filing_due;
        let account_id = c.account_id;
        if due && self.online(account_id) && !self.config.work_offline {
            if let Some(c) = self.compose.as_mut() {
                c.filing_due = true;
            }
            return Task::perform(tokio::time::sleep(self.draft_upload_delay), |_| Message::FileDraft);
        }
        Task::none()
    }

    /// The timer after a change ran out: file the draft as it is now.
    pub(super) fn file_draft(&mut self) -> Task<Message> {
        let Some(c) = self.compose.as_mut() else { return Task::none() };
        c.filing_due = false;
        let Some(draft) = c.draft else { return Task::none() };
        if c.changes == c.filed_changes || c.saving || c.dirty {
            // Still being saved locally: draft_saved starts a new timer.
            return Task::none();
        }
        let (account_id, changes) = (c.account_id, c.changes);
        let Some(config) = self.account_config(account_id).cloned() else { return Task::none() };
        let offline = !self.online(account_id) || self.config.work_offline;
        let cache = self.backend.cache.clone();
        Task::perform(
            async move { drafts::file(&cache, &config, draft, offline).await.map_err(|e| e.to_string()) },
            move |r| Message::Loaded(Loaded::DraftFiled(changes, r)),
        )
    }

    /// A copy is in Drafts (or queued for it) as of `changes` changes.
    pub(super) fn draft_filed(&mut self, changes: u64, filed: Answer<i64>) -> Task<Message> {
        let Some(c) = self.compose.as_mut() else { return Task::none() };
        match filed {
            Ok(_) => {
                c.filed_changes = c.filed_changes.max(changes);
                c.filed_note = Some("Draft saved in Drafts".into());
            }
            Err(e) => c.filed_note = Some(format!("Draft kept on this computer only: {e}")),
        }
        // The upload is a pending change until the engine sends it.
        self.reload_queue()
    }

    pub(super) fn sent(&mut self, result: Answer<String>) -> Task<Message> {
        match result {
            Ok(note) => {
                self.compose = None;
                self.page = Page::Main;
                self.notice = Some(note);
                Task::batch([self.reload_accounts(), self.reload_queue()])
            }
            // Not queued (a bad address, an unreadable file): stay on the form.
            Err(e) => {
                if let Some(c) = self.compose.as_mut() {
                    c.error = Some(e);
                }
                Task::none()
            }
        }
    }
}

fn save_task(cache: &std::sync::Arc<satchel_core::cache::Cache>, account: i64, draft: Option<i64>, form: &send::Compose) -> Task<Message> {
    let (cache, form) = (cache.clone(), form.clone());
    Task::perform(
        async move { drafts::save(&cache, account, draft, &form).await.map_err(|e| e.to_string()) },
        |r| Message::Loaded(Loaded::DraftSaved(r)),
    )
}
