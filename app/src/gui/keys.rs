//! Keyboard shortcuts and the actions on the selected message (shared by
//! the toolbar, the keys and the move/copy chooser), and search.
//!
//! j/k or the arrows move, Enter opens, s flags, u toggles read, e
//! archives, Delete deletes, m moves, c copies, / searches, r / a / f
//! reply, reply to all, forward, w writes a new message.

use iced::Task;
use iced::keyboard::{Key, Modifiers, key::Named};
use satchel_core::cache::SystemFlag;

use super::{Action, App, Loaded, Message, Page};

pub fn search_id() -> iced::widget::Id {
    iced::widget::Id::new("search")
}

impl App {
    pub(super) fn key(&mut self, key: Key, modifiers: Modifiers) -> Task<Message> {
        if modifiers.control() || modifiers.alt() || modifiers.logo() {
            return Task::none();
        }
        if let Key::Named(Named::Escape) = key {
            self.page = Page::Main;
            return Task::none();
        }
        if self.page != Page::Main {
            return Task::none();
        }
        match key.as_ref() {
            Key::Named(Named::ArrowDown) | Key::Character("j") => self.step(1),
            Key::Named(Named::ArrowUp) | Key::Character("k") => self.step(-1),
            Key::Named(Named::Enter) => match self.list.selected() {
                Some(id) => self.open(id),
                None => self.step(1),
            },
            Key::Character("s") => self.act(Action::ToggleFlag),
            Key::Character("u") => self.act(Action::ToggleRead),
            Key::Character("e") => self.act(Action::Archive),
            Key::Named(Named::Delete) => self.act(Action::Delete),
            Key::Character("m") if self.list.selected().is_some() => {
                self.page = Page::Choose { copy: false };
                Task::none()
            }
            Key::Character("c") if self.list.selected().is_some() => {
                self.page = Page::Choose { copy: true };
                Task::none()
            }
            Key::Character("/") => iced::widget::operation::focus(search_id()),
            Key::Character("r") => self.answer(satchel_core::send::reply::Kind::Reply),
            Key::Character("a") => self.answer(satchel_core::send::reply::Kind::ReplyAll),
            Key::Character("f") => self.answer(satchel_core::send::reply::Kind::Forward),
            Key::Character("w") => self.write_new(),
            _ => Task::none(),
        }
    }

    fn step(&mut self, delta: isize) -> Task<Message> {
        match self.list.step(delta) {
            Some((id, scroll)) => Task::batch([scroll, self.open(id)]),
            None => Task::none(),
        }
    }

    /// Applies `action` to the selected message: one cache transaction and
    /// a queued op, whether online or not.
    pub(super) fn act(&mut self, action: Action) -> Task<Message> {
        let Some(id) = self.list.selected() else {
            return Task::none();
        };
        self.page = Page::Main;
        let removed = matches!(action, Action::Archive | Action::Delete | Action::MoveTo(_));
        // The message leaves the list at once and the next one opens, as in
        // other mail clients; a second Delete then acts on that one, never
        // twice on the same message. A failure brings it back on reload.
        let mut next = Task::none();
        if removed {
            let neighbour = self.list.neighbour_of(id);
            self.list.remove(id);
            self.list.select(neighbour);
            next = match neighbour {
                Some(n) => self.open(n),
                None => {
                    self.reader.clear();
                    Task::none()
                }
            };
        }
        let act = self.query(
            move |b| {
                let cache = &b.cache;
                Ok(match action {
                    Action::ToggleRead => {
                        // Flags from the cache, not the row on screen (which
                        // may not be loaded yet).
                        let seen = cache.message_detail(id)?.flags.iter().any(|f| f == SystemFlag::Seen.imap_name());
                        toggle(cache, id, "\\Seen", !seen)?;
                        String::new()
                    }
                    Action::ToggleFlag => {
                        let flagged = cache.message_detail(id)?.flags.iter().any(|f| f == SystemFlag::Flagged.imap_name());
                        toggle(cache, id, "\\Flagged", !flagged)?;
                        String::new()
                    }
                    Action::Archive => {
                        satchel_core::actions::archive(cache, id)?;
                        "Archived.".into()
                    }
                    Action::Delete => match satchel_core::actions::delete(cache, id, false)? {
                        satchel_core::actions::Deleted::MovedToTrash => "Moved to Trash.".into(),
                        satchel_core::actions::Deleted::Permanently => "Deleted for good.".into(),
                    },
                    Action::MoveTo(folder) => {
                        cache.queue_move(id, folder)?;
                        format!("Moved to {}.", cache.mailbox_by_id(folder)?.name)
                    }
                    Action::CopyTo(folder) => {
                        cache.queue_copy(id, folder)?;
                        format!("Copied to {}.", cache.mailbox_by_id(folder)?.name)
                    }
                })
            },
            move |result| Message::Loaded(Loaded::Acted { message: id, removed, result }),
        );
        Task::batch([act, next])
    }

    /// Local results at once; the server's are added when online, marked.
    pub(super) fn run_search(&mut self) -> Task<Message> {
        let query = self.search.trim().to_string();
        let Some(folder) = self.folder.clone() else { return Task::none() };
        if query.is_empty() {
            return self.update(Message::SearchClear);
        }
        self.searching = Some(query.clone());
        self.search_run += 1;
        let run = self.search_run;
        self.reader.clear();
        let account_id = folder.account_id;
        let q = query.clone();
        let local = self.query(
            move |b| Ok(b.cache.read(|r| r.search(account_id, &q, 1_000))?),
            move |found| Message::Loaded(Loaded::Search { run, server: false, found }),
        );
        let Some(account) = self.account_config(account_id).cloned().filter(|_| self.online(account_id)) else {
            return local;
        };
        let cache = self.backend.cache.clone();
        let backend = self.backend.clone();
        let server = Task::perform(
            async move {
                let ids = satchel_core::search::server_search(&cache, &account, &query).await.map_err(|e| e.to_string())?;
                let found = backend.run(move |b| b.rows(&ids)).await;
                Ok::<_, String>(found)
            },
            move |r| match r {
                Ok(found) => Message::Loaded(Loaded::Search { run, server: true, found }),
                Err(e) => Message::Notice(Err(format!("server search: {e}"))),
            },
        );
        // Local first: the server's answer is added to it, never replaces it.
        local.chain(server)
    }
}

fn toggle(cache: &satchel_core::cache::Cache, id: i64, flag: &str, on: bool) -> anyhow::Result<()> {
    let flag = flag.to_string();
    if on {
        cache.queue_flags(id, std::slice::from_ref(&flag), &[])?;
    } else {
        cache.queue_flags(id, &[], std::slice::from_ref(&flag))?;
    }
    Ok(())
}
