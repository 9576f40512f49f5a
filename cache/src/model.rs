//! Plain data types going in and out of the cache.

use serde::{Deserialize, Serialize};

use crate::Flags;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// `\Noselect` / `\NonExistent` mailboxes are hierarchy nodes only.
pub(crate) fn selectable(attributes: &[String]) -> bool {
    !attributes
        .iter()
        .any(|a| a.eq_ignore_ascii_case("\\Noselect") || a.eq_ignore_ascii_case("\\NonExistent"))
}

/// What LIST (and LSUB / SPECIAL-USE) told us about one mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxServerInfo {
    pub name: String,
    pub delimiter: Option<String>,
    pub attributes: Vec<String>,
    pub special_use: Option<String>,
    pub subscribed: bool,
}

impl MailboxServerInfo {
    /// `\Noselect` / `\NonExistent` mailboxes are hierarchy nodes only.
    pub fn selectable(&self) -> bool {
        selectable(&self.attributes)
    }
}

/// How far the cache of one mailbox is in step with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SyncState {
    /// The UIDVALIDITY the cached UIDs belong to; `None` before the first sync.
    pub uidvalidity: Option<u32>,
    /// Every message with a smaller UID is cached (or was expunged).
    pub uidnext: u32,
    /// Flags of cached messages are current up to this MODSEQ (CONDSTORE).
    pub modseq: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub delimiter: Option<String>,
    pub attributes: Vec<String>,
    pub special_use: Option<String>,
    pub subscribed: bool,
    pub sync: SyncState,
}

impl Mailbox {
    pub fn selectable(&self) -> bool {
        selectable(&self.attributes)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MailboxCounts {
    pub name: String,
    pub special_use: Option<String>,
    pub total: u64,
    pub unread: u64,
}

/// One MIME part of a message's BODYSTRUCTURE, with its IMAP section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Part {
    /// IMAP section number ("1", "2.1"); empty for the message itself.
    pub section: String,
    /// Lower-case MIME type, e.g. "text/plain", "multipart/alternative".
    pub mime_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    #[serde(default)]
    pub size: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<Part>,
}

impl Part {
    /// True when this part or a descendant is an attachment (a disposition of
    /// "attachment", or a named non-text leaf).
    pub fn has_attachments(&self) -> bool {
        if self.children.is_empty() {
            let is_attachment = self.disposition.as_deref() == Some("attachment");
            let named_non_text = self.filename.is_some() && !self.mime_type.starts_with("text/");
            return is_attachment || named_non_text;
        }
        self.children.iter().any(Part::has_attachments)
    }
}

/// A message as fetched from the server, ready to be cached.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewMessage {
    pub uid: u32,
    pub modseq: Option<u64>,
    pub flags: Flags,
    pub internal_date: Option<i64>,
    pub size: u32,
    pub date_header: Option<String>,
    /// The Date header as unix seconds, else INTERNALDATE.
    pub sort_date: i64,
    pub subject: String,
    pub from: String,
    pub sender: String,
    pub reply_to: String,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub in_reply_to: Option<String>,
    pub message_id: Option<String>,
    pub references: Option<String>,
    pub bodystructure: Option<Part>,
}

/// A row of a message list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageListItem {
    pub id: i64,
    pub uid: Option<u32>,
    pub flags: Flags,
    pub date: i64,
    pub from: String,
    pub subject: String,
    pub size: u32,
    pub has_attachments: bool,
}

/// Where the next page of a date-ordered list starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageCursor {
    pub sort_date: i64,
    pub id: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub items: Vec<MessageListItem>,
    pub next: Option<PageCursor>,
}

/// Cached facts about one message that sync compares against the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageHeader {
    pub id: i64,
    pub uid: Option<u32>,
    pub flags: Flags,
    pub subject: String,
    pub size: u32,
    pub message_id: Option<String>,
}
