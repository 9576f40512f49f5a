//! Settings: accounts (add, edit, remove), notifications per account, and
//! the theme. Offline policy is per folder, in the folder menu.

use iced::widget::{Column, button, column, container, pick_list, row, scrollable, text, toggler};
use iced::{Element, Fill};
use satchel_core::config::{Config, ThemeChoice};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThemeOption(pub ThemeChoice);

impl std::fmt::Display for ThemeOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            ThemeChoice::System => "Follow the system",
            ThemeChoice::Light => "Light",
            ThemeChoice::Dark => "Dark",
        })
    }
}

const THEMES: [ThemeOption; 3] =
    [ThemeOption(ThemeChoice::System), ThemeOption(ThemeChoice::Light), ThemeOption(ThemeChoice::Dark)];

#[derive(Debug, Default)]
pub struct Settings {
    /// The account waiting for "Remove" to be confirmed.
    confirm_remove: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Theme(ThemeOption),
    Notify(String, bool),
    AddAccount,
    Edit(String),
    Remove(String),
    ConfirmRemove,
    CancelRemove,
    Close,
}

pub enum Event {
    Theme(ThemeChoice),
    Notify(String, bool),
    AddAccount,
    Edit(String),
    Remove(String),
    Close,
}

impl Settings {
    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Theme(t) => Some(Event::Theme(t.0)),
            Message::Notify(account, on) => Some(Event::Notify(account, on)),
            Message::AddAccount => Some(Event::AddAccount),
            Message::Edit(name) => Some(Event::Edit(name)),
            Message::Remove(name) => {
                self.confirm_remove = Some(name);
                None
            }
            Message::ConfirmRemove => self.confirm_remove.take().map(Event::Remove),
            Message::CancelRemove => {
                self.confirm_remove = None;
                None
            }
            Message::Close => Some(Event::Close),
        }
    }

    pub fn view<'a>(&'a self, config: &'a Config) -> Element<'a, Message> {
        let mut accounts = Column::new().spacing(8);
        if config.accounts.is_empty() {
            accounts = accounts.push(text("No mail account yet."));
        }
        for a in &config.accounts {
            let notify = !config.ui.muted_accounts.contains(&a.name);
            let name = a.name.clone();
            accounts = accounts.push(
                row![
                    column![text(a.name.as_str()), text(format!("{} — {}", a.email, a.imap.host)).size(13).style(text::secondary)]
                        .width(Fill),
                    toggler(notify).label("Notify").on_toggle(move |on| Message::Notify(name.clone(), on)),
                    button("Edit").on_press(Message::Edit(a.name.clone())),
                    button("Remove").on_press(Message::Remove(a.name.clone())).style(button::danger),
                ]
                .spacing(10)
                .align_y(iced::Center),
            );
            if self.confirm_remove.as_deref() == Some(a.name.as_str()) {
                accounts = accounts.push(
                    container(
                        row![
                            text("Remove this account, its saved password and its cached mail (unsent changes are lost)?")
                                .width(Fill),
                            button("Remove").on_press(Message::ConfirmRemove).style(button::danger),
                            button("Keep").on_press(Message::CancelRemove),
                        ]
                        .spacing(8)
                        .align_y(iced::Center),
                    )
                    .padding(8)
                    .style(container::rounded_box),
                );
            }
        }
        let page = column![
            row![text("Settings").size(24).width(Fill), button("Close").on_press(Message::Close)],
            text("Accounts").size(18),
            accounts,
            button("Add account").on_press(Message::AddAccount),
            text("Appearance").size(18),
            row![text("Theme").width(120), pick_list(THEMES, Some(ThemeOption(config.ui.theme)), Message::Theme)]
                .spacing(10)
                .align_y(iced::Center),
        ]
        .spacing(12)
        .padding(24)
        .max_width(760);
        scrollable(container(page).center_x(Fill)).height(Fill).into()
    }
}
