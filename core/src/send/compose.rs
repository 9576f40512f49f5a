//! A message as the user writes it, and its RFC 5322 / MIME form (built
//! with lettre's builder, which encodes non-ASCII headers and picks body
//! encodings).

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::message::{Attachment as MimeAttachment, Mailbox, Mailboxes, MultiPart, SinglePart};
use serde::{Deserialize, Serialize};

use crate::config::AccountConfig;
use crate::{CoreError, Result};

/// The compose form. Address fields hold what the user typed
/// ("Ann <ann@example.org>, bob@example.org").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compose {
    pub to: String,
    #[serde(default)]
    pub cc: String,
    #[serde(default)]
    pub bcc: String,
    pub subject: String,
    pub body: String,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// Threading: the Message-ID answered, and the References chain.
    #[serde(default)]
    pub in_reply_to: Option<String>,
    #[serde(default)]
    pub references: Vec<String>,
    /// The local message answered or forwarded, which gets \Answered or
    /// $Forwarded once this one is sent.
    #[serde(default)]
    pub original: Option<(i64, Marks)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Marks {
    Answered,
    Forwarded,
}

impl Marks {
    pub fn flag(self) -> &'static str {
        match self {
            Marks::Answered => "\\Answered",
            Marks::Forwarded => "$Forwarded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub name: String,
    pub mime_type: String,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Source {
    /// A file the user picked; read when the message is built.
    File(PathBuf),
    /// A part of a cached message (kept on forward).
    Part { message: i64, section: String },
}

/// A built message, ready for the outbox.
#[derive(Debug, Clone)]
pub struct Built {
    pub raw: Vec<u8>,
    pub message_id: String,
    pub subject: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
}

/// Parses an address field; empty is fine, a bad address is an error that
/// names the field and what was typed.
pub fn parse_addresses(field: &str, what: &str) -> Result<Vec<Mailbox>> {
    let trimmed = field.trim().trim_end_matches(',').trim();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    trimmed
        .parse::<Mailboxes>()
        .map(|m| m.into_iter().collect())
        .map_err(|_| CoreError::Compose(format!("{what}: {trimmed:?} is not a list of e-mail addresses")))
}

/// The account's From: mailbox.
pub fn sender(account: &AccountConfig) -> Result<Mailbox> {
    let address = account
        .email
        .parse()
        .map_err(|_| CoreError::Compose(format!("the account's address {:?} is not an e-mail address", account.email)))?;
    Ok(Mailbox::new(account.display_name.clone().filter(|n| !n.trim().is_empty()), address))
}

/// A new Message-ID in the sender's domain.
pub fn new_message_id(account: &AccountConfig) -> String {
    let domain = account.email.rsplit_once('@').map(|(_, d)| d).unwrap_or("localhost");
    crate::local_mail::new_message_id(domain)
}

/// Builds the message. `parts` are the attachments' bytes, in order.
/// `keep_bcc` keeps the Bcc header (for the Drafts copy only; a sent
/// message never shows it).
pub fn build(
    account: &AccountConfig,
    compose: &Compose,
    parts: Vec<Vec<u8>>,
    message_id: &str,
    keep_bcc: bool,
) -> Result<Built> {
    let from = sender(account)?;
    let to = parse_addresses(&compose.to, "To")?;
    let cc = parse_addresses(&compose.cc, "Cc")?;
    let bcc = parse_addresses(&compose.bcc, "Bcc")?;
    if !keep_bcc && to.is_empty() && cc.is_empty() && bcc.is_empty() {
        return Err(CoreError::Compose("no recipient: fill in To, Cc or Bcc".into()));
    }
    let mut builder = lettre::Message::builder()
        .from(from.clone())
        .subject(compose.subject.clone())
        .date_now()
        .message_id(Some(message_id.to_string()))
        .user_agent(format!("Satchel {}", env!("CARGO_PKG_VERSION")));
    for m in &to {
        builder = builder.to(m.clone());
    }
    for m in &cc {
        builder = builder.cc(m.clone());
    }
    for m in &bcc {
        builder = builder.bcc(m.clone());
    }
    if keep_bcc {
        builder = builder.keep_bcc();
    }
    if let Some(id) = &compose.in_reply_to {
        builder = builder.in_reply_to(id.clone());
    }
    if !compose.references.is_empty() {
        builder = builder.references(compose.references.join(" "));
    }
    // Lines end in CRLF on the wire whatever the text box gave.
    let body = compose.body.replace("\r\n", "\n").replace('\n', "\r\n");
    let text = SinglePart::builder().header(ContentType::TEXT_PLAIN).body(body);
    let message = if compose.attachments.is_empty() {
        builder.singlepart(text)
    } else {
        let mut mixed = MultiPart::mixed().singlepart(text);
        for (a, bytes) in compose.attachments.iter().zip(parts) {
            let content_type = ContentType::parse(&a.mime_type).unwrap_or_else(|_| octet_stream());
            mixed = mixed.singlepart(MimeAttachment::new(a.name.clone()).body(bytes, content_type));
        }
        builder.multipart(mixed)
    }
    .map_err(|e| CoreError::Compose(e.to_string()))?;
    let recipients = to.iter().chain(&cc).chain(&bcc).map(|m| m.email.to_string()).collect();
    Ok(Built {
        raw: message.formatted(),
        message_id: message_id.to_string(),
        subject: compose.subject.clone(),
        envelope_from: from.email.to_string(),
        recipients,
    })
}

fn octet_stream() -> ContentType {
    ContentType::parse("application/octet-stream").unwrap_or(ContentType::TEXT_PLAIN)
}

/// A MIME type for a file name (a short list of the common ones; the rest
/// go as application/octet-stream, which every client can save).
pub fn mime_for(name: &str) -> String {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "ics" => "text/calendar",
        "odt" => "application/vnd.oasis.opendocument.text",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
    .to_string()
}

/// "Re: " / "Fwd: " put in front once: a subject that already starts with
/// one (any case, "Fw:" too for forwards) is kept as it is.
pub fn prefixed(subject: &str, prefix: &str) -> String {
    let trimmed = subject.trim();
    let lower = trimmed.to_ascii_lowercase();
    let already = match prefix {
        "Re:" => lower.starts_with("re:"),
        _ => lower.starts_with("fwd:") || lower.starts_with("fw:"),
    };
    if already { trimmed.to_string() } else { format!("{prefix} {trimmed}").trim_end().to_string() }
}
