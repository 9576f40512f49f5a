//! Reply, reply-all and forward: the compose form they start from, with
//! threading headers (RFC 5322 3.6.4), "Re:" / "Fwd:" put in front once, the
//! original quoted, and on forward its attachments kept.

use std::sync::Arc;

use satchel_cache::Cache;

use super::compose::{self, Attachment, Compose, Marks, Source};
use crate::config::AccountConfig;
use crate::reading::{self, Body};
use crate::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Reply,
    ReplyAll,
    Forward,
}

/// The form for answering or forwarding local message `message`.
/// `account` None reads only the cache (the demo).
pub async fn start(
    cache: &Arc<Cache>,
    account: Option<&AccountConfig>,
    own_address: &str,
    message: i64,
    kind: Kind,
    offline: bool,
) -> Result<Compose> {
    let reading = reading::open(cache, account, message, offline).await?;
    let d = &reading.detail;
    let text = match &reading.body {
        Body::Rich(doc) => crate::html::to_plain(doc),
        Body::NotAvailableOffline => String::new(),
    };
    let when = chrono::DateTime::from_timestamp(d.date, 0)
        .map(|t| t.format("%a, %-d %b %Y %H:%M UTC").to_string())
        .unwrap_or_default();
    let mut c = Compose::default();
    match kind {
        Kind::Reply | Kind::ReplyAll => {
            c.subject = compose::prefixed(&d.subject, "Re:");
            let author = if d.reply_to.trim().is_empty() { d.from.clone() } else { d.reply_to.clone() };
            let mut to = vec![author];
            let mut cc = Vec::new();
            if kind == Kind::ReplyAll {
                to.extend(split(&d.to));
                cc.extend(split(&d.cc));
            }
            c.to = without(own_address, to).join(", ");
            c.cc = without(own_address, cc).join(", ");
            if c.to.is_empty() {
                // Answering one's own message: back to the same recipients.
                c.to = d.to.clone();
            }
            c.body = format!("\n\nOn {when}, {} wrote:\n{}", d.from, quote(&text));
            c.in_reply_to = d.message_id.clone();
            c.references = references(d.references.as_deref(), d.message_id.as_deref());
            c.original = Some((message, Marks::Answered));
        }
        Kind::Forward => {
            c.subject = compose::prefixed(&d.subject, "Fwd:");
            c.body = format!(
                "\n\n---------- Forwarded message ----------\nFrom: {}\nDate: {when}\nSubject: {}\nTo: {}\n{}\n{}",
                d.from,
                d.subject,
                d.to,
                if d.cc.is_empty() { String::new() } else { format!("Cc: {}\n", d.cc) },
                text
            );
            c.attachments = reading
                .attachments
                .iter()
                .map(|a| Attachment {
                    name: a.name.clone(),
                    mime_type: a.mime_type.clone(),
                    source: Source::Part { message, section: a.section.clone() },
                })
                .collect();
            c.references = references(d.references.as_deref(), d.message_id.as_deref());
            c.original = Some((message, Marks::Forwarded));
        }
    }
    Ok(c)
}

/// The References chain for an answer: the original's, then its id.
pub fn references(original_refs: Option<&str>, original_id: Option<&str>) -> Vec<String> {
    let mut refs: Vec<String> = original_refs.unwrap_or("").split_whitespace().map(str::to_string).collect();
    if let Some(id) = original_id
        && !refs.iter().any(|r| r == id)
    {
        refs.push(id.to_string());
    }
    refs
}

/// "> " before every line.
pub fn quote(text: &str) -> String {
    text.trim_end().lines().map(|l| if l.is_empty() { ">".to_string() } else { format!("> {l}") }).collect::<Vec<_>>().join("\n")
}

fn split(field: &str) -> Vec<String> {
    satchel_cache::split_addresses(field).into_iter().map(str::to_string).collect()
}

/// Drops the user's own address and repeats.
fn without(own: &str, list: Vec<String>) -> Vec<String> {
    let own = own.to_ascii_lowercase();
    let mut seen: Vec<String> = Vec::new();
    list.into_iter()
        .filter(|a| {
            let bare = satchel_cache::bare_address(a).trim().to_ascii_lowercase();
            if bare == own || seen.contains(&bare) {
                return false;
            }
            seen.push(bare);
            true
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_once_and_chains_references() {
        assert_eq!(compose::prefixed("Lunch", "Re:"), "Re: Lunch");
        assert_eq!(compose::prefixed("RE: Lunch", "Re:"), "RE: Lunch");
        assert_eq!(compose::prefixed("Fw: Lunch", "Fwd:"), "Fw: Lunch");
        assert_eq!(compose::prefixed("Re: Lunch", "Fwd:"), "Fwd: Re: Lunch");
        assert_eq!(references(Some("<a@x> <b@x>"), Some("<c@x>")), vec!["<a@x>", "<b@x>", "<c@x>"]);
        assert_eq!(references(None, Some("<c@x>")), vec!["<c@x>"]);
        assert_eq!(references(Some("<c@x>"), Some("<c@x>")), vec!["<c@x>"]);
    }

    #[test]
    fn reply_all_leaves_out_the_user_and_repeats() {
        let list = split("\"Doe, Ann\" <ann@x.org>, me@home.org, Bob <bob@y.org>, ann@x.org");
        assert_eq!(without("Me@Home.org", list), vec!["\"Doe, Ann\" <ann@x.org>", "Bob <bob@y.org>"]);
        assert_eq!(quote("a\n\nb\n"), "> a\n>\n> b");
    }
}
