//! What the window does around the compose screen: starting a new message,
//! a reply or a forward, saving the draft as the user types, sending
//! through the outbox, filing the draft in Drafts.

use iced::Task;
use satchel_core::send::{self, drafts, reply};

use super::backend::Answer;
use super::compose::{self, Compose};
use super::{App, Loaded, Message, Page};

impl App {
    /// The account new mail is written from: the open folder's, else the
    /// first one that can send.
    fn sending_account(&self) -> Option<i64> {
        self.folder
            .as_ref()
            .map(|f| f.account_id)
            .filter(|id| self.account_config(*id).is_some_and(|a| a.smtp.is_some()))
            .or_else(|| self.accounts.iter().find(|a| a.config.as_ref().is_some_and(|c| c.smtp.is_some())).map(|a| a.id))
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
        let Some(account_id) = self.reader.reading.as_ref().map(|r| r.detail.account_id) else { return Task::none() };
        let Some(config) = self.account_config(account_id).filter(|a| a.smtp.is_some()).cloned() else {
            return self.no_sending();
        };
        let offline = !self.online(account_id);
        let cache = self.backend.cache.clone();
        Task::perform(
            async move {
                reply::start(&cache, Some(&config), &config.email, message, kind, offline).await.map_err(|e| e.to_string())
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
        let name = self.accounts.iter().find(|a| a.id == account_id).map(|a| a.email.clone()).unwrap_or_default();
        let mut c = Compose::new(account_id, name, form);
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
                if c.saving {
                    c.dirty = true;
                    return Task::none();
                }
                c.saving = true;
                save_task(&self.backend.cache, c.account_id, c.draft, &c.form)
            }
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
                        let state = cache.outbox_item(id).map_err(|e| e.to_string())?.map(|i| i.state);
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
                let Some(config) = self.account_config(account_id).cloned() else { return self.no_sending() };
                let offline = !self.online(account_id);
                let cache = self.backend.cache.clone();
                Task::perform(
                    async move {
                        drafts::save(&cache, account_id, Some(draft), &form).await.map_err(|e| e.to_string())?;
                        drafts::file(&cache, &config, draft, offline).await.map_err(|e| e.to_string())?;
                        Ok("Draft saved in Drafts.".to_string())
                    },
                    Message::Notice,
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
        Task::none()
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
