//! The demo mailbox: a few hundred generated messages written straight into
//! a cache, so a newcomer can look around without an account or network.

use satchel_cache::{Cache, Flags, MailboxServerInfo, NewMessage, Part};

use crate::Result;

/// The demo account's name in the cache.
pub const ACCOUNT: &str = "demo";

const PEOPLE: &[(&str, &str)] = &[
    ("Alice Martin", "alice@demo.example"),
    ("Bjørn Østergaard", "bjorn@demo.example"),
    ("Chloé Dubois", "chloe@demo.example"),
    ("Dmitri Ivanov", "dmitri@demo.example"),
    ("Fumiko Tanaka", "fumiko@demo.example"),
    ("Rust Users", "rust-users@lists.demo.example"),
];

const TOPICS: &[&str] = &[
    "Train tickets for Thursday",
    "Quarterly report draft",
    "Réunion de lundi",
    "会議の議事録",
    "Build failure on main",
    "Photos from the weekend",
    "Invoice 2026-113",
    "Ключевые вопросы",
];

/// Fills `cache` with the demo account unless it is there already.
/// Returns the account id.
pub fn fill(cache: &Cache) -> Result<i64> {
    let account = cache.ensure_account(ACCOUNT, "you@demo.example")?;
    if !cache.mailboxes(account.id)?.is_empty() {
        return Ok(account.id);
    }
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
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    for (name, count, seed) in [("INBOX", 240u32, 1u64), ("Archive", 60, 2), ("Lists/rust-users", 120, 3), ("Sent", 30, 4)] {
        let mailbox = cache.mailbox_by_name(account.id, name)?;
        cache.reset_mailbox(mailbox.id, 1)?;
        let messages: Vec<NewMessage> = (1..=count).map(|uid| message(uid, count, seed, now)).collect();
        cache.commit_new_messages(mailbox.id, &messages, count + 1)?;
        let ids = cache.ids_for_uids(mailbox.id, &(1..=count).collect::<Vec<_>>())?;
        for (id, m) in ids.into_iter().zip(&messages) {
            store_body(cache, id, m)?;
        }
    }
    Ok(account.id)
}

/// Caches the demo message's text (and HTML and attachment where its
/// structure has them), so it reads fully offline.
fn store_body(cache: &Cache, id: i64, m: &NewMessage) -> Result<()> {
    let first = m.from.split(' ').next().unwrap_or("Someone");
    let topic = m.subject.trim_start_matches("Re: ");
    let mut text = format!(
        "Hello,\n\nHere is where things stand on \"{topic}\". Nothing here needs the network: \
         this message was generated for Satchel's demo mailbox and read from the local cache.\n\n\
         Details are on https://demo.example/notes/{}.\n\nBest,\n{first}\n",
        m.uid
    );
    if m.in_reply_to.is_some() {
        text.push_str(&format!("\nOn an earlier day, someone wrote:\n> About \"{topic}\": what do you think?\n>> The first draft is attached.\n"));
    }
    let structure = m.bodystructure.as_ref();
    let has_html = structure.is_some_and(|p| p.children.iter().any(|c| c.mime_type == "text/html"));
    if has_html {
        let html = format!(
            "<html><head><style>p {{ color: #333 }}</style></head><body>\
             <h2>{topic}</h2><p>Hello,</p><p>This is the <b>HTML</b> version, shown as rich text \
             <i>without</i> scripts or remote content.</p><ul><li>Agenda: <a href=\"https://demo.example/agenda\">demo.example/agenda</a></li>\
             <li>Notes from last time</li></ul><img src=\"https://tracker.demo.example/pixel-{}.gif\" width=1 height=1>\
             <p>Best,<br>{first}</p><script>alert('never run')</script></body></html>",
            m.uid
        );
        cache.store_part(id, crate::body::HTML_KEY, html.as_bytes(), None)?;
    }
    cache.store_part(id, crate::body::TEXT_KEY, text.as_bytes(), Some(&text))?;
    for a in structure.map(crate::body::attachments).unwrap_or_default() {
        let rows: String = (1..=40).map(|i| format!("{i},item {i},{}\n", i * 7 % 13)).collect();
        cache.store_part(id, &a.section, format!("n,name,count\n{rows}").as_bytes(), None)?;
    }
    Ok(())
}

fn message(uid: u32, count: u32, seed: u64, now: i64) -> NewMessage {
    let n = u64::from(uid) + seed * 1000;
    let thread = n / 3;
    let topic = TOPICS[(thread % TOPICS.len() as u64) as usize];
    let (name, addr) = PEOPLE[(n % PEOPLE.len() as u64) as usize];
    let reply = n % 3 != 0;
    // Newest last; about three hours apart.
    let date = now - i64::from(count - uid) * 10_800 - 600;
    let mut flags = Vec::new();
    if uid + 12 < count || seed == 4 {
        flags.push("\\Seen");
    }
    if n % 17 == 0 {
        flags.push("\\Flagged");
    }
    let attachment = n % 7 == 0;
    let body = if attachment {
        Part {
            mime_type: "multipart/mixed".into(),
            children: vec![
                Part { section: "1".into(), mime_type: "text/plain".into(), charset: Some("utf-8".into()), size: 1800, ..Part::default() },
                Part {
                    section: "2".into(),
                    mime_type: "text/csv".into(),
                    encoding: Some("base64".into()),
                    size: 540,
                    disposition: Some("attachment".into()),
                    filename: Some(format!("figures-{n}.csv")),
                    ..Part::default()
                },
            ],
            ..Part::default()
        }
    } else if n % 5 == 0 {
        Part {
            mime_type: "multipart/alternative".into(),
            children: vec![
                Part { section: "1".into(), mime_type: "text/plain".into(), size: 900, ..Part::default() },
                Part { section: "2".into(), mime_type: "text/html".into(), size: 4200, ..Part::default() },
            ],
            ..Part::default()
        }
    } else {
        Part { section: "1".into(), mime_type: "text/plain".into(), charset: Some("utf-8".into()), size: 1400, ..Part::default() }
    };
    let id = |k: u64| format!("<demo-{k}@demo.example>");
    NewMessage {
        uid,
        modseq: None,
        flags: Flags::from_imap(flags),
        internal_date: Some(date),
        size: body.size.max(body.children.iter().map(|c| c.size).sum()) + 900,
        date_header: None,
        sort_date: date,
        subject: if reply { format!("Re: {topic}") } else { topic.to_string() },
        from: format!("{name} <{addr}>"),
        sender: String::new(),
        reply_to: String::new(),
        to: "You <you@demo.example>".into(),
        cc: String::new(),
        bcc: String::new(),
        in_reply_to: reply.then(|| id(n - 1)),
        message_id: Some(id(n)),
        references: reply.then(|| ((thread * 3)..n).map(id).collect::<Vec<_>>().join(" ")),
        bodystructure: Some(body),
    }
}
