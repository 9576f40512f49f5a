//! The folder list: LIST (with special-use attributes) and LSUB, read with
//! our own response loop, then mirrored into the cache.

use async_imap::imap_proto::{MailboxDatum, NameAttribute, Response, StatusAttribute};
use satchel_cache::MailboxServerInfo;

use super::plan::ServerState;
use crate::Result;
use crate::imap::{Command, Connection, quote, utf7};

/// All folders on the server, names decoded to UTF-8.
pub async fn list_folders(conn: &mut Connection) -> Result<Vec<MailboxServerInfo>> {
    // RFC 6154: with SPECIAL-USE the attributes come with a plain LIST on
    // servers like Dovecot; LIST-EXTENDED lets us ask for them explicitly.
    let list_command = if conn.capabilities.has("SPECIAL-USE") && conn.capabilities.has("LIST-EXTENDED") {
        "LIST \"\" \"*\" RETURN (SPECIAL-USE)"
    } else {
        "LIST \"\" \"*\""
    };
    let mut folders = Vec::new();
    let mut cmd = Command::start(&mut conn.session, list_command).await?;
    while let Some(item) = cmd.next(list_item).await? {
        if let Some(f) = item {
            folders.push(f);
        }
    }
    cmd.finish().await?;

    let mut subscribed = Vec::new();
    let mut cmd = Command::start(&mut conn.session, "LSUB \"\" \"*\"").await?;
    while let Some(item) = cmd.next(list_item).await? {
        if let Some(f) = item {
            subscribed.push(f.name);
        }
    }
    cmd.finish().await?;
    for f in &mut folders {
        f.subscribed = subscribed.contains(&f.name) || f.name.eq_ignore_ascii_case("INBOX");
    }
    folders.sort_by(|a, b| a.name.cmp(&b.name));
    folders.dedup_by(|a, b| a.name == b.name);
    Ok(folders)
}

fn list_item(response: &Response<'_>) -> Option<MailboxServerInfo> {
    let Response::MailboxData(MailboxDatum::List(data)) = response else {
        return None;
    };
    let (flags, delimiter, name) = (&data.name_attributes, &data.delimiter, &data.name);
    let mut attributes = Vec::new();
    let mut special_use = None;
    for f in flags {
        let text = match f {
            NameAttribute::NoInferiors => "\\Noinferiors".to_string(),
            NameAttribute::NoSelect => "\\Noselect".to_string(),
            NameAttribute::Marked => "\\Marked".to_string(),
            NameAttribute::Unmarked => "\\Unmarked".to_string(),
            NameAttribute::All => "\\All".to_string(),
            NameAttribute::Archive => "\\Archive".to_string(),
            NameAttribute::Drafts => "\\Drafts".to_string(),
            NameAttribute::Flagged => "\\Flagged".to_string(),
            NameAttribute::Junk => "\\Junk".to_string(),
            NameAttribute::Sent => "\\Sent".to_string(),
            NameAttribute::Trash => "\\Trash".to_string(),
            NameAttribute::Extension(e) => e.to_string(),
            _ => continue,
        };
        if special_use.is_none()
            && ["\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash"]
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&text))
        {
            special_use = Some(text.clone());
        }
        attributes.push(text);
    }
    let raw_name = name.as_ref();
    // INBOX is case-insensitive; always spell it one way.
    let name = if raw_name.eq_ignore_ascii_case("INBOX") { "INBOX".to_string() } else { utf7::decode(raw_name) };
    Some(MailboxServerInfo {
        name,
        delimiter: delimiter.as_ref().map(|d| d.to_string()),
        attributes,
        special_use,
        subscribed: false,
    })
}

/// STATUS of one folder (HIGHESTMODSEQ only when CONDSTORE is on).
pub async fn status(conn: &mut Connection, name: &str, with_modseq: bool) -> Result<ServerState> {
    let items = if with_modseq {
        "(MESSAGES UIDNEXT UIDVALIDITY HIGHESTMODSEQ)"
    } else {
        "(MESSAGES UIDNEXT UIDVALIDITY)"
    };
    let command = format!("STATUS {} {items}", quote(&utf7::encode(name)));
    let mut state = ServerState::default();
    let mut cmd = Command::start(&mut conn.session, &command).await?;
    while let Some(attrs) = cmd.next(status_attributes).await? {
        for a in attrs {
            match a {
                StatusAttribute::Messages(n) => state.exists = Some(n),
                StatusAttribute::UidNext(n) => state.uidnext = Some(n),
                StatusAttribute::UidValidity(n) => state.uidvalidity = Some(n),
                StatusAttribute::HighestModSeq(n) => state.highestmodseq = Some(n),
                _ => {}
            }
        }
    }
    cmd.finish().await?;
    Ok(state)
}

fn status_attributes(response: &Response<'_>) -> Vec<StatusAttribute> {
    match response {
        Response::MailboxData(MailboxDatum::Status { status, .. }) => status.clone(),
        _ => Vec::new(),
    }
}
