//! The status bar: connectivity, pending changes (click for the list), and
//! progress of a long sync.

use iced::widget::{button, container, progress_bar, row, space, text, toggler};
use iced::{Element, Fill};

/// How the window is connected, as the user reads it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Connectivity {
    /// No account with a server (the demo).
    #[default]
    NoServer,
    Connecting,
    Online,
    /// The network or server went away; the engine retries by itself.
    Offline(String),
    /// The user chose "Work offline".
    WorkingOffline,
}

impl Connectivity {
    pub fn label(&self) -> String {
        match self {
            Connectivity::NoServer => "Demo mailbox: changes stay pending".into(),
            Connectivity::Connecting => "Connecting…".into(),
            Connectivity::Online => "Online".into(),
            Connectivity::Offline(why) if why.is_empty() => "Offline (no network)".into(),
            Connectivity::Offline(why) => format!("Offline: {why}"),
            Connectivity::WorkingOffline => "Working offline".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    ShowPending,
    WorkOffline(bool),
    /// Start the engines that stopped on an error again now.
    RetryNow,
}

pub struct StatusBar<'a> {
    pub connectivity: &'a Connectivity,
    pub pending: u64,
    pub failed: u64,
    pub progress: Option<(&'a str, u64, u64)>,
    pub work_offline: bool,
    /// An account's engine stopped on an error (a refused login) and waits
    /// to be tried again.
    pub stopped: bool,
}

impl StatusBar<'_> {
    pub fn view(self) -> Element<'static, Message> {
        let pending = match (self.pending, self.failed) {
            (0, 0) => "No pending changes".to_string(),
            (p, 0) => super::style::count(p, "pending change", "pending changes"),
            (0, f) => super::style::count(f, "failed change", "failed changes"),
            (p, f) => format!("{}, {f} failed", super::style::count(p, "pending change", "pending changes")),
        };
        let mut bar = row![
            text(self.connectivity.label()),
            button(text(pending)).on_press(Message::ShowPending).style(button::text),
        ]
        .spacing(16)
        .align_y(iced::Center)
        .padding([2, 10]);
        if self.stopped {
            bar = bar.push(button(text("Retry now")).on_press(Message::RetryNow).style(button::secondary));
        }
        match self.progress {
            Some((folder, done, total)) if total > 0 => {
                bar = bar
                    .push(text(format!("Syncing {folder} {done}/{total}")))
                    .push(progress_bar(0.0..=total as f32, done as f32).length(160).girth(8));
            }
            _ => {}
        }
        bar = bar.push(space::horizontal()).push(toggler(self.work_offline).label("Work offline").on_toggle(Message::WorkOffline));
        container(bar).width(Fill).style(container::bordered_box).into()
    }
}
