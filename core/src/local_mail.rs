//! Messages that start on this machine (an .eml file, a draft): read them
//! into a cache row, giving them a Message-ID when they have none, so a
//! later upload can be recognised on the server and never duplicated.

use std::sync::atomic::{AtomicU64, Ordering};

use mail_parser::MessageParser;
use satchel_cache::{Flags, NewMessage};

use crate::sync::decode;

/// A message ready to queue: its row, the bytes to upload, its text.
pub struct LocalMessage {
    pub row: NewMessage,
    pub raw: Vec<u8>,
    pub text: Option<String>,
}

pub fn new_message_id(domain: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("<{now:x}.{:x}.{n}.satchel@{domain}>", std::process::id())
}

/// Reads `raw` (RFC 5322). `domain` names this machine's Message-IDs.
pub fn read(raw: &[u8], flags: Flags, domain: &str) -> LocalMessage {
    let mut raw = raw.to_vec();
    let parsed_id = MessageParser::new().parse_headers(&raw).and_then(|m| m.message_id().map(str::to_string));
    if parsed_id.is_none() {
        let mut with_id = format!("Message-ID: {}\r\n", new_message_id(domain)).into_bytes();
        with_id.extend_from_slice(&raw);
        raw = with_id;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let header_end = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4).unwrap_or(raw.len());
    let attrs = vec![
        async_imap::imap_proto::AttributeValue::Uid(0),
        async_imap::imap_proto::AttributeValue::Rfc822Size(raw.len() as u32),
        async_imap::imap_proto::AttributeValue::BodySection {
            section: None,
            index: None,
            data: Some(std::borrow::Cow::Borrowed(&raw[..header_end])),
        },
    ];
    let mut row = decode::from_header(&attrs).unwrap_or_default();
    row.flags = flags;
    row.internal_date = Some(now);
    if row.sort_date == 0 {
        row.sort_date = now;
    }
    let text = MessageParser::new().parse(&raw).and_then(|m| m.body_text(0).map(|t| t.into_owned()));
    LocalMessage { row, raw, text }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_a_message_id_when_missing_and_keeps_one_that_exists() {
        let m = read(b"Subject: hi\r\nFrom: a@example.test\r\n\r\nbody text\r\n", Flags::default(), "example.test");
        let id = m.row.message_id.clone().unwrap_or_default();
        assert!(id.starts_with('<') && id.ends_with("satchel@example.test>"), "{id}");
        assert!(m.raw.starts_with(b"Message-ID: <"));
        assert_eq!(m.row.subject, "hi");
        assert_eq!(m.text.as_deref().map(str::trim), Some("body text"));
        let kept = read(b"Message-ID: <x@y>\r\nSubject: s\r\n\r\nb\r\n", Flags::default(), "example.test");
        assert_eq!(kept.row.message_id.as_deref(), Some("<x@y>"));
        assert!(kept.raw.starts_with(b"Message-ID: <x@y>"));
    }
}
