//! Settings: accounts (add, edit, remove), notifications per account, what
//! folders kept offline hold (and which folders those are), and the theme.
//! A folder is marked "available offline" in its menu in the folder pane.

use iced::widget::{Column, button, column, container, pick_list, row, scrollable, text, toggler};
use iced::{Element, Fill};
use satchel_core::config::{Config, OfflineDefaults, ThemeChoice};

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

/// "All" mail is a hundred years of it.
const ALL_DAYS: u32 = 36_500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Days(pub u32);

impl std::fmt::Display for Days {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            ALL_DAYS.. => f.write_str("all mail"),
            365 => f.write_str("the last year"),
            d => write!(f, "the last {d} days"),
        }
    }
}

const DAYS: [Days; 4] = [Days(30), Days(90), Days(365), Days(ALL_DAYS)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Megabytes(pub u32);

impl std::fmt::Display for Megabytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            0 => f.write_str("no attachments"),
            mb => write!(f, "attachments up to {mb} MB"),
        }
    }
}

const SIZES: [Megabytes; 5] = [Megabytes(0), Megabytes(1), Megabytes(5), Megabytes(25), Megabytes(100)];

#[derive(Debug, Default)]
pub struct Settings {
    /// The account waiting for "Remove" to be confirmed.
    confirm_remove: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Theme(ThemeOption),
    Notify(String, bool),
    OfflineDays(Days),
    OfflineSize(Megabytes),
    /// Stop keeping this folder offline.
    StopOffline(i64),
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
    /// New limits for every folder kept offline.
    Offline(OfflineDefaults),
    StopOffline(i64),
    AddAccount,
    Edit(String),
    Remove(String),
    Close,
}

impl Settings {
    pub fn update(&mut self, message: Message, current: OfflineDefaults) -> Option<Event> {
        match message {
            Message::Theme(t) => Some(Event::Theme(t.0)),
            Message::OfflineDays(d) => Some(Event::Offline(OfflineDefaults { days: d.0, ..current })),
            Message::OfflineSize(s) => Some(Event::Offline(OfflineDefaults { max_attachment_mb: s.0, ..current })),
            Message::StopOffline(folder) => Some(Event::StopOffline(folder)),
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

    /// `kept`: the folders kept available offline, (id, "account: folder").
    pub fn view<'a>(&'a self, config: &'a Config, kept: Vec<(i64, String)>) -> Element<'a, Message> {
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
            text("Offline").size(18),
            offline_view(config.offline, kept),
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

/// The limits of folders kept offline, and those folders.
fn offline_view(current: OfflineDefaults, kept: Vec<(i64, String)>) -> Element<'static, Message> {
    let days = DAYS.iter().copied().find(|d| d.0 == current.days).unwrap_or(Days(current.days));
    let size = SIZES.iter().copied().find(|s| s.0 == current.max_attachment_mb).unwrap_or(Megabytes(current.max_attachment_mb));
    let mut body = column![
        row![
            text("Folders kept offline hold").width(Fill),
            pick_list(DAYS, Some(days), Message::OfflineDays),
            pick_list(SIZES, Some(size), Message::OfflineSize),
        ]
        .spacing(10)
        .align_y(iced::Center),
    ]
    .spacing(6);
    if kept.is_empty() {
        body = body.push(
            text("No folder is kept offline. Right-click a folder and choose \"Available offline\" to keep its mail on this computer.")
                .size(13)
                .style(text::secondary),
        );
    }
    for (id, name) in kept {
        body = body.push(
            row![text(name).width(Fill), button("Stop keeping offline").on_press(Message::StopOffline(id)).style(button::text)]
                .spacing(10)
                .align_y(iced::Center),
        );
    }
    body.into()
}
