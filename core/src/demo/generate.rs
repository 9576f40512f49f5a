//! The demo mailbox's messages, written the way a mail program writes
//! them: RFC 5322 / MIME from lettre's builder, one mbox per folder.
//! Nothing depends on the clock or chance (dates, Message-IDs and MIME
//! boundaries are fixed), so every run gives the same bytes and the files
//! committed under resources/demo/ can be checked against this code.
//! `cargo run -p satchel-core --example make-demo` writes them.

use std::time::{Duration, UNIX_EPOCH};

use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, Mailbox, MultiPart, SinglePart};

use super::mbox::{self, MboxFlags};
use crate::{CoreError, Result};

/// The folders with mail: (name, messages, seed). The seed keeps each
/// folder's Message-IDs apart: message `uid` is `<demo-{seed*1000+uid}@…>`.
pub const FOLDERS: &[(&str, u32, u64)] = &[("INBOX", 240, 1), ("Archive", 60, 2), ("Lists/rust-users", 120, 3), ("Sent", 30, 4)];

/// The date of each folder's newest message: 2026-01-01 09:00 UTC. The
/// others are three hours apart before it. `fill` moves every date by the
/// same amount so the newest is a few minutes old.
pub const NEWEST: i64 = 1_767_258_000;

/// The account's own address (the From of everything in Sent).
pub const ME: (&str, &str) = ("You", "you@demo.example");

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

/// The file under resources/demo/ that holds `folder`
/// ("Lists/rust-users" is `Lists__rust-users.mbox`).
pub fn file_name(folder: &str) -> String {
    format!("{}.mbox", folder.replace('/', "__"))
}

/// Every demo folder as (folder name, mbox bytes), in [`FOLDERS`] order.
pub fn generate() -> Result<Vec<(&'static str, Vec<u8>)>> {
    FOLDERS
        .iter()
        .map(|&(folder, count, seed)| {
            let mut out = Vec::new();
            for uid in 1..=count {
                let m = message(uid, count, seed, folder == "Sent")?;
                mbox::append(&mut out, &m.raw, m.date, m.flags);
            }
            Ok((folder, out))
        })
        .collect()
}

struct Generated {
    raw: Vec<u8>,
    date: i64,
    flags: MboxFlags,
}

/// Message `uid` of a folder of `count`. Every third message starts a
/// thread; the two after it answer the one before them, with In-Reply-To
/// and the whole References chain. About one in seven has a CSV attached,
/// one in five (of the rest) an HTML alternative.
fn message(uid: u32, count: u32, seed: u64, sent: bool) -> Result<Generated> {
    let n = u64::from(uid) + seed * 1000;
    let thread = n / 3;
    let topic = TOPICS[(thread % TOPICS.len() as u64) as usize];
    let person = PEOPLE[(n % PEOPLE.len() as u64) as usize];
    let (from, to) = if sent { (ME, person) } else { (person, ME) };
    let reply = !n.is_multiple_of(3);
    let date = NEWEST - i64::from(count - uid) * 10_800;
    let flags = MboxFlags { seen: uid + 12 < count || sent, flagged: n.is_multiple_of(17), answered: false };
    let id = |k: u64| format!("<demo-{k}@demo.example>");
    let fail = |e: &dyn std::fmt::Display| {
        CoreError::io(format!("building demo message {}", id(n)), std::io::Error::other(e.to_string()))
    };
    let mailbox = |(name, addr): (&str, &str)| -> Result<Mailbox> {
        Ok(Mailbox::new(Some(name.to_string()), addr.parse().map_err(|e| fail(&e))?))
    };

    let mut builder = lettre::Message::builder()
        .message_id(Some(id(n)))
        .date(UNIX_EPOCH + Duration::from_secs(date.unsigned_abs()))
        .from(mailbox(from)?)
        .to(mailbox(to)?)
        .subject(if reply { format!("Re: {topic}") } else { topic.to_string() });
    if reply {
        builder = builder
            .in_reply_to(id(n - 1))
            .references(((thread * 3)..n).map(id).collect::<Vec<_>>().join(" "));
    }

    let signature = from.0.split(' ').next().unwrap_or("Someone");
    let plain = SinglePart::plain(text(topic, signature, uid, n, reply));
    let built = if n.is_multiple_of(7) {
        let name = if n.is_multiple_of(2) { format!("données-{n}.csv") } else { format!("figures-{n}.csv") };
        // Bytes, not a String: lettre would turn LF into CRLF in a String.
        let csv = Body::new_with_encoding(csv().into_bytes(), ContentTransferEncoding::Base64)
            .map_err(|_| fail(&"the CSV cannot be base64"))?;
        let csv_type = ContentType::parse("text/csv").map_err(|e| fail(&e))?;
        let parts = MultiPart::mixed()
            .boundary(format!("demo-{n}-mixed"))
            .singlepart(plain)
            .singlepart(Attachment::new(name).body(csv, csv_type));
        builder.multipart(parts)
    } else if n.is_multiple_of(5) {
        let parts =
            MultiPart::alternative().boundary(format!("demo-{n}-alternative")).singlepart(plain).singlepart(SinglePart::html(html(topic, signature, uid)));
        builder.multipart(parts)
    } else {
        builder.singlepart(plain)
    };
    let raw = built.map_err(|e| fail(&e))?.formatted();
    Ok(Generated { raw, date, flags })
}

fn text(topic: &str, signature: &str, uid: u32, n: u64, reply: bool) -> String {
    let mut text = format!(
        "Hello,\n\nHere is where things stand on \"{topic}\". Nothing here needs the network: \
         this message was generated for Satchel's demo mailbox and read from the local cache.\n\n\
         Details are on https://demo.example/notes/{uid}.\n"
    );
    // A line starting "From " is what mbox files must escape; some
    // messages have one so the demo's files exercise it.
    if n.is_multiple_of(11) {
        text.push_str("From Monday on, the figures are updated every day.\n");
    }
    text.push_str(&format!("\nBest,\n{signature}\n"));
    if reply {
        text.push_str(&format!(
            "\nOn an earlier day, someone wrote:\n> About \"{topic}\": what do you think?\n>> The first draft is attached.\n"
        ));
    }
    text
}

/// Rich text with what the reader must neutralise: a remote tracking
/// pixel and a script.
fn html(topic: &str, signature: &str, uid: u32) -> String {
    format!(
        "<html><head><style>p {{ color: #333 }}</style></head><body>\
         <h2>{topic}</h2><p>Hello,</p><p>This is the <b>HTML</b> version, shown as rich text \
         <i>without</i> scripts or remote content.</p><ul><li>Agenda: <a href=\"https://demo.example/agenda\">demo.example/agenda</a></li>\
         <li>Notes from last time</li></ul><img src=\"https://tracker.demo.example/pixel-{uid}.gif\" width=1 height=1>\
         <p>Best,<br>{signature}</p><script>alert('never run')</script></body></html>"
    )
}

fn csv() -> String {
    let rows: String = (1..=40).map(|i| format!("{i},item {i},{}\n", i * 7 % 13)).collect();
    format!("n,name,count\n{rows}")
}
