//! The demo mailbox: a few hundred messages, so a newcomer can look around
//! without an account or network. They are real RFC 5322 / MIME files
//! (resources/demo/*.mbox, made by [`generate`]) built into the binary, and
//! go into the cache the way local mail does: parsed by mail-parser, their
//! text, HTML and attachments cached, so everything reads offline.

pub mod generate;
mod mbox;
mod structure;
#[cfg(test)]
mod tests;

use mail_parser::{MessageParser, MimeHeaders};
use satchel_cache::{Cache, MailboxServerInfo, NewMessage};

use crate::{CoreError, Result};

/// The demo account's name in the cache.
pub const ACCOUNT: &str = "demo";

/// Each folder's mbox, built in so an installed binary needs no files.
/// Its names are [`generate::FOLDERS`]'s; a test checks the bytes are
/// what [`generate::generate`] makes.
const FILES: &[(&str, &[u8])] = &[
    ("INBOX", include_bytes!("../../resources/demo/INBOX.mbox")),
    ("Archive", include_bytes!("../../resources/demo/Archive.mbox")),
    ("Lists/rust-users", include_bytes!("../../resources/demo/Lists__rust-users.mbox")),
    ("Sent", include_bytes!("../../resources/demo/Sent.mbox")),
];

/// One message ready for the cache.
struct Loaded {
    row: NewMessage,
    text: Option<String>,
    html: Option<String>,
    /// Decoded attachment contents by IMAP section.
    attachments: Vec<(String, Vec<u8>)>,
}

/// Fills `cache` with the demo account unless it is there already.
/// Returns the account id.
pub fn fill(cache: &Cache) -> Result<i64> {
    let account = cache.ensure_account(ACCOUNT, "you@demo.example")?;
    if !cache.mailboxes(account.id)?.is_empty() {
        return Ok(account.id);
    }
    // Everything is read before the cache changes: a bad file leaves no
    // half-filled demo behind.
    let mut folders = FILES.iter().map(|&(name, bytes)| Ok((name, load(name, bytes)?))).collect::<Result<Vec<_>>>()?;
    let folder = |name: &str, special: Option<&str>| MailboxServerInfo {
        name: name.into(),
        delimiter: Some("/".into()),
        attributes: special.map(|s| vec![s.to_string()]).unwrap_or_default(),
        special_use: special.map(String::from),
        subscribed: true,
    };
    cache.replace_folder_list(
        account.id,
        &[
            folder("INBOX", None),
            folder("Archive", Some("\\Archive")),
            folder("Drafts", Some("\\Drafts")),
            folder("Lists", None),
            folder("Lists/rust-users", None),
            folder("Sent", Some("\\Sent")),
            folder("Trash", Some("\\Trash")),
        ],
    )?;
    // The files are dated around 2026-01-01; the demo should look current,
    // so every date moves by the same amount, the newest to ten minutes ago.
    let newest = folders.iter().flat_map(|(_, messages)| messages).map(|m| m.row.sort_date).max().unwrap_or(0);
    let shift = crate::now_unix() - 600 - newest;
    for (_, messages) in &mut folders {
        for m in messages.iter_mut() {
            m.row.sort_date += shift;
            m.row.internal_date = Some(m.row.sort_date);
        }
    }
    for (name, messages) in &folders {
        store(cache, account.id, name, messages)?;
    }
    Ok(account.id)
}

/// Reads one folder's mbox; message `i` gets UID `i + 1`.
fn load(folder: &str, mbox: &[u8]) -> Result<Vec<Loaded>> {
    mbox::split(mbox)
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let uid = i as u32 + 1;
            let local = crate::local_mail::read(&entry.raw, entry.flags.to_flags(), "demo.example");
            let parsed = MessageParser::new().parse(&local.raw).ok_or_else(|| {
                CoreError::io(
                    format!("reading the demo folder {folder}"),
                    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("message {uid} is not a message")),
                )
            })?;
            let parts = structure::of(&parsed);
            let has_html = parts.leaves.iter().any(|(_, p)| p.is_text_html() && !p.content_disposition().is_some_and(|d| d.is_attachment()));
            let attachments = crate::body::attachments(&parts.tree)
                .into_iter()
                .filter_map(|a| {
                    let (_, part) = parts.leaves.iter().find(|(section, _)| *section == a.section)?;
                    Some((a.section.clone(), part.contents().to_vec()))
                })
                .collect();
            let mut row = local.row;
            row.uid = uid;
            row.bodystructure = Some(parts.tree);
            Ok(Loaded {
                row,
                text: local.text,
                html: if has_html { parsed.body_html(0).map(|h| h.into_owned()) } else { None },
                attachments,
            })
        })
        .collect()
}

/// Caches a folder's messages under UIDs 1..n with their bodies, as a
/// sync and a prefetch would leave them.
fn store(cache: &Cache, account: i64, folder: &str, messages: &[Loaded]) -> Result<()> {
    let mailbox = cache.mailbox_by_name(account, folder)?;
    cache.reset_mailbox(mailbox.id, 1)?;
    let rows: Vec<NewMessage> = messages.iter().map(|m| m.row.clone()).collect();
    let uids: Vec<u32> = rows.iter().map(|r| r.uid).collect();
    cache.commit_new_messages(mailbox.id, &rows, uids.len() as u32 + 1)?;
    let ids = cache.ids_for_uids(mailbox.id, &uids)?;
    for (id, m) in ids.into_iter().zip(messages) {
        // HTML first: a message whose text is cached counts as complete.
        if let Some(html) = &m.html {
            cache.store_part(id, crate::body::HTML_KEY, html.as_bytes(), None)?;
        }
        if let Some(text) = &m.text {
            cache.store_part(id, crate::body::TEXT_KEY, text.as_bytes(), Some(text))?;
        }
        for (section, bytes) in &m.attachments {
            cache.store_part(id, section, bytes, None)?;
        }
    }
    Ok(())
}
