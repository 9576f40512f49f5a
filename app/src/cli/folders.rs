//! `satchel folders` and `satchel list`: read from the cache only.

use anyhow::Result;
use satchel_cache::MessageListItem;
use serde::Serialize;

use super::{Context, open_account, print_json};


pub fn folders(cx: &Context, account: Option<String>) -> Result<()> {
    let (cache, id) = open_account(cx, account.as_deref())?;
    let counts = cache.reader()?.mailbox_counts(id)?;
    if cx.json {
        return print_json(&counts);
    }
    if counts.is_empty() {
        println!("no folders cached yet; run `satchel sync`");
    }
    for c in counts {
        let special = c.special_use.as_deref().unwrap_or("");
        println!("{:<40} {:<9} {:>7} messages {:>6} unread", c.name, special, c.total, c.unread);
    }
    Ok(())
}

#[derive(Serialize)]
struct ListRow<'a> {
    /// Stable local id (survives moves and UID changes).
    id: i64,
    uid: Option<u32>,
    flags: Vec<String>,
    date: String,
    from: &'a str,
    subject: &'a str,
    size: u32,
}

pub fn list(cx: &Context, account: Option<String>, folder: &str, limit: u32) -> Result<()> {
    let (cache, id) = open_account(cx, account.as_deref())?;
    let reader = cache.reader()?;
    let mailbox = reader.mailbox_by_name(id, folder).map_err(|_| satchel_core::CoreError::NoSuchFolder(folder.into()))?;
    let page = reader.list_messages(mailbox.id, None, limit)?;
    let rows: Vec<ListRow<'_>> = page.items.iter().map(row).collect();
    if cx.json {
        return print_json(&rows);
    }
    for r in rows {
        let unread = if r.flags.iter().any(|f| f == "\\Seen") { ' ' } else { '*' };
        println!("{unread} {:>7} {} {:<30.30} {}", r.uid.map(|u| u.to_string()).unwrap_or("-".into()), r.date, r.from, r.subject);
    }
    Ok(())
}

fn row(m: &MessageListItem) -> ListRow<'_> {
    ListRow {
        id: m.id,
        uid: m.uid,
        flags: m.flags.to_imap(),
        date: satchel_core::sync::decode::format_date(m.date),
        from: &m.from,
        subject: &m.subject,
        size: m.size,
    }
}
