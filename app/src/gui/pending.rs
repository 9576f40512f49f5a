//! The list of changes waiting for the server: pending ones, failed ones
//! with the server's words (Retry / Discard), and conflicts found while
//! replaying; and the outbox: mail waiting to go, refused, or that may
//! have been sent (Resend / Discard, never resent on its own).

use iced::widget::{Column, button, column, container, row, scrollable, text};
use iced::{Element, Fill};
use satchel_core::cache::{Conflict, Op, OpRow, OutboxItem};

#[derive(Debug, Default)]
pub struct Pending {
    pub ops: Vec<OpRow>,
    pub conflicts: Vec<Conflict>,
    pub outbox: Vec<OutboxItem>,
}

#[derive(Debug, Clone)]
pub enum Message {
    Retry(i64),
    Discard(i64),
    Resend(i64),
    DiscardOutgoing(i64),
    Close,
}

pub enum Event {
    Retry(i64),
    Discard(i64),
    Resend(i64),
    DiscardOutgoing(i64),
    Close,
}

impl Pending {
    pub fn update(&mut self, message: Message) -> Event {
        match message {
            Message::Retry(id) => Event::Retry(id),
            Message::Discard(id) => Event::Discard(id),
            Message::Resend(id) => Event::Resend(id),
            Message::DiscardOutgoing(id) => Event::DiscardOutgoing(id),
            Message::Close => Event::Close,
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut list = Column::new().spacing(6);
        if self.ops.is_empty() {
            list = list.push(text("Nothing is waiting for the server."));
        }
        for o in &self.ops {
            let failed = o.state == "failed";
            let mut line = row![text(describe(&o.op, &o.mailbox_name)).width(Fill)].spacing(8).align_y(iced::Center);
            if failed {
                line = line.push(text("failed").style(text::danger));
                line = line.push(button("Retry").on_press(Message::Retry(o.id)));
            } else {
                line = line.push(text("pending").style(text::secondary));
            }
            line = line.push(button("Discard").on_press(Message::Discard(o.id)).style(button::danger));
            let mut item = column![line].spacing(2);
            if let Some(e) = &o.last_error {
                item = item.push(text(format!("Server said: {e}")).size(13).style(text::danger));
            }
            list = list.push(item);
        }
        if !self.outbox.is_empty() {
            list = list.push(text("Outbox").size(17));
        }
        for m in &self.outbox {
            let (state, style): (&str, fn(&iced::Theme) -> text::Style) = match m.state.as_str() {
                "queued" => ("waiting to be sent", text::secondary),
                "sending" => ("sending…", text::secondary),
                "uncertain" => ("may have been sent", text::danger),
                _ => ("not sent", text::danger),
            };
            let mut line = row![text(format!("\"{}\" to {}", m.subject, m.recipients.join(", "))).width(Fill), text(state).style(style)]
                .spacing(8)
                .align_y(iced::Center);
            if m.state == "uncertain" || m.state == "failed" {
                line = line.push(button("Resend").on_press(Message::Resend(m.id)));
            }
            if m.state != "sending" {
                line = line.push(button("Discard").on_press(Message::DiscardOutgoing(m.id)).style(button::danger));
            }
            let mut item = column![line].spacing(2);
            if let Some(e) = &m.last_error {
                item = item.push(text(e.as_str()).size(13).style(text::danger));
            }
            list = list.push(item);
        }
        if !self.conflicts.is_empty() {
            list = list.push(text("Conflicts").size(17));
            for c in &self.conflicts {
                list = list.push(text(format!("{} in {}: \"{}\" — {}", c.kind, c.mailbox, c.subject, c.detail)).size(13));
            }
        }
        let page = column![
            row![text("Pending changes").size(20).width(Fill), button("Close").on_press(Message::Close)],
            scrollable(list).height(Fill),
        ]
        .spacing(10)
        .padding(16);
        container(page).height(Fill).into()
    }
}

/// One line a user understands for a queued op.
pub fn describe(op: &Op, folder: &str) -> String {
    match op {
        Op::Flags { base, target, .. } => {
            let (before, after) = (base.to_imap(), target.to_imap());
            let mut parts = Vec::new();
            for f in after.iter().filter(|f| !before.contains(f)) {
                parts.push(format!("mark {}", flag_word(f, true)));
            }
            for f in before.iter().filter(|f| !after.contains(f)) {
                parts.push(format!("mark {}", flag_word(f, false)));
            }
            format!("{} in {folder}", parts.join(", "))
        }
        Op::Move { to_name, .. } => format!("move from {folder} to {to_name}"),
        Op::Copy { to_name, .. } => format!("copy from {folder} to {to_name}"),
        Op::Expunge { .. } => format!("delete for good from {folder}"),
        Op::Append { .. } => format!("upload to {folder}"),
        Op::CreateFolder { name } => format!("create folder {name}"),
        Op::RenameFolder { from, to } => format!("rename folder {from} to {to}"),
        Op::DeleteFolder { name } => format!("delete folder {name}"),
    }
}

fn flag_word(flag: &str, on: bool) -> String {
    match (flag, on) {
        ("\\Seen", true) => "read".into(),
        ("\\Seen", false) => "unread".into(),
        ("\\Flagged", true) => "flagged".into(),
        ("\\Flagged", false) => "not flagged".into(),
        (other, true) => other.to_string(),
        (other, false) => format!("not {other}"),
    }
}
