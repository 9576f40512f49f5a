//! Desktop notifications for new mail: the sender and subject of one
//! message, or "N new messages" when several arrive together. The OS part
//! is cfg-gated: D-Bus (freedesktop) on Linux and the BSDs, the system
//! notification APIs on macOS and Windows, nothing elsewhere.

use satchel_core::cache::MessageListItem;

/// The title and body for a batch of new messages of one account.
pub fn text_for(account: &str, new: &[MessageListItem]) -> Option<(String, String)> {
    match new {
        [] => None,
        [m] => Some((
            format!("{} ({account})", sender_name(&m.from)),
            if m.subject.is_empty() { "(no subject)".to_string() } else { m.subject.clone() },
        )),
        many => Some((format!("{} new messages", many.len()), format!("in {account}"))),
    }
}

fn sender_name(from: &str) -> String {
    crate::gui::style::display_name(from)
}

/// Shows a notification; errors (no notification server) are returned so
/// the caller can log them, never shown as a dialog.
#[cfg(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    target_os = "windows"
))]
pub fn show(summary: &str, body: &str) -> Result<(), String> {
    notify_rust::Notification::new()
        .appname("Satchel")
        .summary(summary)
        .body(body)
        .show()
        .map(|_| ())
        .map_err(|e| format!("desktop notification: {e}"))
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "freebsd",
    target_os = "openbsd",
    target_os = "netbsd",
    target_os = "macos",
    target_os = "windows"
)))]
pub fn show(_summary: &str, _body: &str) -> Result<(), String> {
    Err("desktop notifications are not supported on this system".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(from: &str, subject: &str) -> MessageListItem {
        MessageListItem {
            id: 1,
            uid: Some(1),
            flags: Default::default(),
            date: 0,
            from: from.into(),
            subject: subject.into(),
            size: 10,
            has_attachments: false,
        }
    }

    #[test]
    fn one_message_names_sender_and_subject_many_become_a_count() {
        assert_eq!(text_for("work", &[]), None);
        let one = text_for("work", &[item("\"Alice Martin\" <alice@example.org>", "Lunch?")]);
        assert_eq!(one, Some(("Alice Martin (work)".into(), "Lunch?".into())));
        let bare = text_for("work", &[item("bob@example.org", "")]);
        assert_eq!(bare, Some(("bob@example.org (work)".into(), "(no subject)".into())));
        let three = text_for("work", &[item("a@x", "1"), item("b@x", "2"), item("c@x", "3")]);
        assert_eq!(three, Some(("3 new messages".into(), "in work".into())));
    }
}
