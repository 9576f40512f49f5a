//! Message bodies on demand: text parts fetched by section
//! (`BODY.PEEK[n]`, never marking mail read) and cached, attachments only
//! when asked. mail-parser decodes transfer encodings and charsets; HTML is
//! offered as plain text. Offline, an uncached body is "not available
//! offline" — an answer, not an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::{AttributeValue, MessageSection, Response, SectionPath};
use mail_parser::MessageParser;
use satchel_cache::{Cache, MessageDetail, Part};

use crate::config::AccountConfig;
use crate::imap::{self, Command, Connection, quote, utf7};
use crate::sync::mailbox::db;
use crate::{CoreError, Result};

/// The cache key of a message's readable text.
pub const TEXT_KEY: &str = "text";
/// The cache key of the HTML source, kept when the body is HTML so the
/// reader can show it as rich text (links, emphasis, lists).
pub const HTML_KEY: &str = "html";

/// What opening a message's text gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Available(String),
    /// Not cached, and the server cannot be reached (or the user works
    /// offline).
    NotAvailableOffline,
}

/// The part to show as the body: the first text/plain that is not an
/// attachment, else the first text/html.
pub fn text_part(structure: &Part) -> Option<&Part> {
    fn walk<'a>(p: &'a Part, want: &str, out: &mut Option<&'a Part>) {
        if out.is_some() {
            return;
        }
        if p.children.is_empty() {
            if p.mime_type == want && p.disposition.as_deref() != Some("attachment") {
                *out = Some(p);
            }
            return;
        }
        // An attached message's text is not this message's body.
        if p.mime_type == "message/rfc822" {
            return;
        }
        for c in &p.children {
            walk(c, want, out);
        }
    }
    let mut found = None;
    walk(structure, "text/plain", &mut found);
    if found.is_none() {
        walk(structure, "text/html", &mut found);
    }
    found
}

/// Attachments (leaf parts with a name or an attachment disposition).
pub fn attachments(structure: &Part) -> Vec<&Part> {
    fn walk<'a>(p: &'a Part, out: &mut Vec<&'a Part>) {
        if p.children.is_empty() {
            if p.disposition.as_deref() == Some("attachment") || (p.filename.is_some() && !p.mime_type.starts_with("text/")) {
                out.push(p);
            }
        } else {
            p.children.iter().for_each(|c| walk(c, out));
        }
    }
    let mut out = Vec::new();
    walk(structure, &mut out);
    out
}

/// The message's text: from the cache, else fetched (unless `offline`, or
/// `account` is None: mail with no server, like the demo's).
pub async fn message_text(cache: &Arc<Cache>, account: Option<&AccountConfig>, message: i64, offline: bool) -> Result<Text> {
    if let Some(bytes) = db(cache, move |c| c.cached_part(message, TEXT_KEY)).await? {
        return Ok(Text::Available(String::from_utf8_lossy(&bytes).into_owned()));
    }
    let Some(account) = account.filter(|_| !offline) else {
        return Ok(Text::NotAvailableOffline);
    };
    let detail = db(cache, move |c| c.message_detail(message)).await?;
    let mut conn = match open(account, &detail).await {
        Ok(c) => c,
        Err(e) if e.is_connection_lost() || matches!(e, CoreError::Tls { .. }) => return Ok(Text::NotAvailableOffline),
        Err(e) => return Err(e),
    };
    let (text, html) = fetch_text(&mut conn, &detail).await?;
    let _ = tokio::time::timeout(Duration::from_secs(3), conn.session.logout()).await;
    store_text(cache, message, &text, html).await?;
    Ok(Text::Available(text))
}

async fn open(account: &AccountConfig, detail: &MessageDetail) -> Result<Connection> {
    let password = crate::credentials::password(account).await?;
    let mut conn = imap::connect(account, &password).await?;
    let cmd = format!("EXAMINE {}", quote(&utf7::encode(&detail.mailbox)));
    Command::start(&mut conn.session, &cmd).await?.finish().await?;
    Ok(conn)
}

/// Fetches one part with its MIME header: (header, body) as sent.
async fn fetch_section(conn: &mut Connection, uid: u32, section: &str) -> Result<(Vec<u8>, Vec<u8>)> {
    // A single-part message's body is section 1; its MIME header is the
    // message header.
    let (head, body) = if section == "1" {
        ("HEADER".to_string(), "1".to_string())
    } else {
        (format!("{section}.MIME"), section.to_string())
    };
    let cmd = format!("UID FETCH {uid} (BODY.PEEK[{head}] BODY.PEEK[{body}])");
    let (mut header, mut content) = (Vec::new(), None);
    let mut c = Command::start(&mut conn.session, &cmd).await?;
    while let Some(found) = c.next(|r| sections_of(r, uid)).await? {
        for (is_header, data) in found {
            if is_header {
                header = data;
            } else {
                content = Some(data);
            }
        }
    }
    c.finish().await?;
    let content = content.ok_or_else(|| CoreError::protocol("UID FETCH", format!("no part {section} of UID {uid}")))?;
    Ok((header, content))
}

fn sections_of(r: &Response<'_>, uid: u32) -> Vec<(bool, Vec<u8>)> {
    let Response::Fetch(_, attrs) = r else { return Vec::new() };
    if !attrs.iter().any(|a| matches!(a, AttributeValue::Uid(u) if *u == uid)) {
        return Vec::new();
    }
    attrs
        .iter()
        .filter_map(|a| match a {
            AttributeValue::BodySection { section, data: Some(d), .. } => {
                let is_header = matches!(
                    section,
                    Some(SectionPath::Full(MessageSection::Header)) | Some(SectionPath::Part(_, Some(MessageSection::Mime)))
                );
                Some((is_header, d.to_vec()))
            }
            _ => None,
        })
        .collect()
}

fn as_message(header: &[u8], body: &[u8]) -> Vec<u8> {
    let mut raw = header.to_vec();
    if !raw.ends_with(b"\r\n\r\n") && !raw.ends_with(b"\n\n") {
        raw.extend_from_slice(b"\r\n");
    }
    raw.extend_from_slice(body);
    raw
}

/// Caches the text (searchable) and, for HTML mail, its source. The HTML
/// goes first: a message whose text is cached is taken as complete.
async fn store_text(cache: &Arc<Cache>, message: i64, text: &str, html: Option<String>) -> Result<()> {
    if let Some(html) = html {
        db(cache, move |c| c.store_part(message, HTML_KEY, html.as_bytes(), None)).await?;
    }
    let stored = text.to_string();
    db(cache, move |c| c.store_part(message, TEXT_KEY, stored.as_bytes(), Some(&stored))).await
}

/// The readable text, and the HTML source when the shown part is HTML.
async fn fetch_text(conn: &mut Connection, detail: &MessageDetail) -> Result<(String, Option<String>)> {
    let uid = detail.uid.ok_or_else(|| CoreError::protocol("opening a message", "it has no UID yet; sync first"))?;
    let section = detail.structure.as_ref().and_then(text_part).map(|p| p.section.clone()).unwrap_or_else(|| "1".into());
    let (header, body) = fetch_section(conn, uid, &section).await?;
    let raw = as_message(&header, &body);
    let parsed = MessageParser::new().parse(&raw);
    let is_html = detail.structure.as_ref().and_then(text_part).is_some_and(|p| p.mime_type == "text/html");
    let html = if is_html { parsed.as_ref().and_then(|m| m.body_html(0).map(|t| t.into_owned())) } else { None };
    let text = parsed
        .as_ref()
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    Ok((text, html))
}

/// Fetches one part's decoded content (cached afterwards).
pub async fn part_bytes(
    cache: &Arc<Cache>,
    account: Option<&AccountConfig>,
    message: i64,
    section: &str,
    offline: bool,
) -> Result<Option<Vec<u8>>> {
    let key = section.to_string();
    if let Some(bytes) = db(cache, move |c| c.cached_part(message, &key)).await? {
        return Ok(Some(bytes));
    }
    let Some(account) = account.filter(|_| !offline) else {
        return Ok(None);
    };
    let detail = db(cache, move |c| c.message_detail(message)).await?;
    let uid = detail.uid.ok_or_else(|| CoreError::protocol("opening a message", "it has no UID yet; sync first"))?;
    let mut conn = match open(account, &detail).await {
        Ok(c) => c,
        Err(e) if e.is_connection_lost() => return Ok(None),
        Err(e) => return Err(e),
    };
    let (header, body) = fetch_section(&mut conn, uid, section).await?;
    let _ = tokio::time::timeout(Duration::from_secs(3), conn.session.logout()).await;
    let raw = as_message(&header, &body);
    let bytes = MessageParser::new()
        .parse(&raw)
        .and_then(|m| m.parts.first().map(|p| p.contents().to_vec()))
        .unwrap_or(body);
    let (key, stored) = (section.to_string(), bytes.clone());
    db(cache, move |c| c.store_part(message, &key, &stored, None)).await?;
    Ok(Some(bytes))
}

/// A file name from a message that is safe to create in `dir`: no path
/// separators or `..`, no control characters, no leading dots, no Windows
/// device names, at most 120 characters, and not overwriting a file.
pub fn safe_path(dir: &Path, suggested: Option<&str>, fallback: &str) -> PathBuf {
    let raw = suggested.unwrap_or(fallback);
    let base = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let mut name: String = base
        .chars()
        .map(|c| if c.is_control() || "<>:\"|?*".contains(c) { '_' } else { c })
        .collect();
    name = name.trim().trim_start_matches('.').trim_end_matches(['.', ' ']).to_string();
    let stem = name.split('.').next().unwrap_or("").to_ascii_uppercase();
    let reserved = ["CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "LPT1", "LPT2", "LPT3"];
    if name.is_empty() || reserved.contains(&stem.as_str()) {
        name = format!("{fallback}{}", if name.is_empty() { String::new() } else { format!("-{name}") });
    }
    if name.chars().count() > 120 {
        let ext: String = name.rsplit_once('.').map(|(_, e)| e.chars().take(10).collect()).unwrap_or_default();
        let head: String = name.chars().take(100).collect();
        name = if ext.is_empty() { head } else { format!("{head}.{ext}") };
    }
    let mut path = dir.join(&name);
    let mut n = 1;
    while path.exists() {
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
            _ => (name.clone(), String::new()),
        };
        path = dir.join(format!("{stem} ({n}){ext}"));
        n += 1;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_mail_cannot_escape_or_clobber() {
        let dir = std::env::temp_dir().join(format!("satchel-safe-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        assert_eq!(safe_path(&dir, Some("../../etc/passwd"), "a"), dir.join("passwd"));
        assert_eq!(safe_path(&dir, Some("..\\..\\boot.ini"), "a"), dir.join("boot.ini"));
        assert_eq!(safe_path(&dir, Some(".bashrc"), "a"), dir.join("bashrc"));
        assert_eq!(safe_path(&dir, Some("CON.txt"), "part-2"), dir.join("part-2-CON.txt"));
        assert_eq!(safe_path(&dir, Some("a\u{0}b\r\n.pdf"), "x"), dir.join("a_b__.pdf"));
        assert_eq!(safe_path(&dir, None, "part-3"), dir.join("part-3"));
        let long = "x".repeat(300) + ".pdf";
        assert_eq!(safe_path(&dir, Some(&long), "x").file_name().map(|n| n.len()), Some(104));
        let _ = std::fs::write(dir.join("report.pdf"), b"taken");
        assert_eq!(safe_path(&dir, Some("report.pdf"), "x"), dir.join("report (1).pdf"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn picks_plain_text_over_html_and_skips_attached_messages() {
        let leaf = |section: &str, mime: &str| Part { section: section.into(), mime_type: mime.into(), ..Part::default() };
        let tree = Part {
            mime_type: "multipart/mixed".into(),
            children: vec![
                Part {
                    section: "1".into(),
                    mime_type: "message/rfc822".into(),
                    children: vec![leaf("1.1", "text/plain")],
                    ..Part::default()
                },
                Part {
                    section: "2".into(),
                    mime_type: "multipart/alternative".into(),
                    children: vec![leaf("2.1", "text/html"), leaf("2.2", "text/plain")],
                    ..Part::default()
                },
            ],
            ..Part::default()
        };
        assert_eq!(text_part(&tree).map(|p| p.section.as_str()), Some("2.2"));
        let html_only = Part { mime_type: "multipart/alternative".into(), children: vec![leaf("1", "text/html")], ..Part::default() };
        assert_eq!(text_part(&html_only).map(|p| p.section.as_str()), Some("1"));
    }
}

/// What a prefetch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Prefetched {
    pub messages: u64,
    pub attachments: u64,
    pub bytes: u64,
}

/// Fetches the text (and attachments within the size limit) of messages in
/// "available offline" folders, newest first, within each folder's age
/// limit. `progress(folder, done, total)` after each message.
pub async fn prefetch(
    cache: &Arc<Cache>,
    account: &AccountConfig,
    folder: Option<&str>,
    progress: &mut (dyn FnMut(&str, u64, u64) + Send),
) -> Result<Prefetched> {
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_id = db(cache, move |c| c.ensure_account(&name, &email)).await?.id;
    let folders = db(cache, move |c| c.offline_folders(account_id)).await?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut done = Prefetched::default();
    let password = crate::credentials::password(account).await?;
    let mut conn: Option<Connection> = None;
    for (mailbox_id, mailbox, policy) in folders {
        if folder.is_some_and(|f| f != mailbox) {
            continue;
        }
        let since = now - i64::from(policy.days) * 86_400;
        let items = db(cache, move |c| c.prefetch_candidates(mailbox_id, since)).await?;
        if items.is_empty() {
            continue;
        }
        let c = match conn.as_mut() {
            Some(c) => c,
            None => conn.insert(imap::connect(account, &password).await?),
        };
        Command::start(&mut c.session, &format!("EXAMINE {}", quote(&utf7::encode(&mailbox)))).await?.finish().await?;
        let total = items.len() as u64;
        for (i, item) in items.into_iter().enumerate() {
            let id = item.id;
            let detail = db(cache, move |c| c.message_detail(id)).await?;
            let (text, html) = fetch_text(c, &detail).await?;
            done.bytes += (text.len() + html.as_ref().map_or(0, String::len)) as u64;
            store_text(cache, id, &text, html).await?;
            if let (Some(structure), Some(uid)) = (&item.structure, detail.uid) {
                for a in attachments(structure).into_iter().filter(|a| u64::from(a.size) <= policy.max_attachment) {
                    let (header, body) = fetch_section(c, uid, &a.section).await?;
                    let raw = as_message(&header, &body);
                    let bytes = MessageParser::new()
                        .parse(&raw)
                        .and_then(|m| m.parts.first().map(|p| p.contents().to_vec()))
                        .unwrap_or(body);
                    done.bytes += bytes.len() as u64;
                    done.attachments += 1;
                    let section = a.section.clone();
                    db(cache, move |c| c.store_part(id, &section, &bytes, None)).await?;
                }
            }
            done.messages += 1;
            progress(&mailbox, i as u64 + 1, total);
        }
    }
    if let Some(mut c) = conn {
        let _ = tokio::time::timeout(Duration::from_secs(3), c.session.logout()).await;
    }
    Ok(done)
}
