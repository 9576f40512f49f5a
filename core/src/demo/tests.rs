//! The committed files are the generator's output, and a filled demo
//! cache reads like synced mail: counts, threads, HTML, attachments and
//! non-ASCII text, all offline.

use std::sync::Arc;

use satchel_cache::{Cache, MessageDetail};

use super::{FILES, fill, generate};
use crate::reading::{self, Body};

#[test]
fn resources_are_what_the_generator_makes() {
    let made = match generate::generate() {
        Ok(made) => made,
        Err(e) => panic!("the generator fails: {e}"),
    };
    let names: Vec<&str> = made.iter().map(|(folder, _)| *folder).collect();
    let built_in: Vec<&str> = FILES.iter().map(|(folder, _)| *folder).collect();
    assert_eq!(names, built_in, "demo::FILES must list generate::FOLDERS");
    for ((folder, bytes), (_, committed)) in made.iter().zip(FILES) {
        assert!(
            bytes.as_slice() == *committed,
            "resources/demo/{} is not what the generator makes ({} bytes made, {} committed): \
             run `cargo run -p satchel-core --example make-demo` and commit the files",
            generate::file_name(folder),
            bytes.len(),
            committed.len()
        );
        // Every header is encoded (RFC 2047/2231) and every body is
        // 7-bit, quoted-printable or base64, as real mail is.
        assert!(committed.is_ascii(), "{folder}: 8-bit bytes in the file");
    }
}

/// A filled demo cache in a temporary directory.
fn filled() -> (tempfile::TempDir, Arc<Cache>, i64) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let cache = Cache::open(&dir.path().join("cache.sqlite")).unwrap_or_else(|e| panic!("cache: {e}"));
    let account = fill(&cache).unwrap_or_else(|e| panic!("fill: {e}"));
    (dir, Arc::new(cache), account)
}

/// Every message of `folder`, UID order.
fn messages(cache: &Cache, account: i64, folder: &str) -> Vec<MessageDetail> {
    let mailbox = cache.mailbox_by_name(account, folder).unwrap_or_else(|e| panic!("{folder}: {e}"));
    let ids = cache.read(|r| r.message_ids(mailbox.id)).unwrap_or_else(|e| panic!("ids: {e}"));
    let mut all: Vec<MessageDetail> = ids.into_iter().map(|id| cache.message_detail(id).unwrap_or_else(|e| panic!("{e}"))).collect();
    all.sort_by_key(|m| m.uid);
    all
}

fn by_id<'a>(all: &'a [MessageDetail], message_id: &str) -> &'a MessageDetail {
    all.iter().find(|m| m.message_id.as_deref() == Some(message_id)).unwrap_or_else(|| panic!("no {message_id}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| panic!("runtime: {e}"))
}

#[test]
fn fill_gives_every_folder_its_messages_once() {
    let (_dir, cache, account) = filled();
    let summaries = cache.read(|r| r.folder_summaries(account)).unwrap_or_else(|e| panic!("{e}"));
    let count = |name: &str| summaries.iter().find(|f| f.name == name).map(|f| (f.total, f.unread));
    assert_eq!(count("INBOX"), Some((240, 13)), "the newest 13 are unread");
    assert_eq!(count("Archive"), Some((60, 13)));
    assert_eq!(count("Lists/rust-users"), Some((120, 13)));
    assert_eq!(count("Sent"), Some((30, 0)));
    assert_eq!(count("Drafts"), Some((0, 0)));
    let special: Vec<_> = summaries.iter().filter_map(|f| f.special_use.clone()).collect();
    assert_eq!(special, ["\\Archive", "\\Drafts", "\\Sent", "\\Trash"]);

    // UIDs 1..n in file order, the newest last and unread, dates three
    // hours apart with the newest ten minutes old.
    let inbox = messages(&cache, account, "INBOX");
    let uids: Vec<u32> = inbox.iter().filter_map(|m| m.uid).collect();
    assert_eq!(uids, (1..=240).collect::<Vec<_>>());
    let newest = &inbox[239];
    assert!(!newest.flags.iter().any(|f| f == "\\Seen"), "{:?}", newest.flags);
    let age = crate::now_unix() - newest.date;
    assert!((600..700).contains(&age), "the newest is {age} s old");
    assert_eq!(newest.date - inbox[238].date, 10_800);
    assert!(by_id(&inbox, "<demo-1020@demo.example>").flags.iter().any(|f| f == "\\Flagged"));

    // A second fill (the next start) adds nothing.
    assert_eq!(fill(&cache).ok(), Some(account));
    assert_eq!(messages(&cache, account, "INBOX").len(), 240);
}

#[test]
fn replies_carry_their_thread_and_non_ascii_decodes() {
    let (_dir, cache, account) = filled();
    let inbox = messages(&cache, account, "INBOX");
    // 1002 starts a thread; 1003 answers it and 1004 answers 1003.
    let start = by_id(&inbox, "<demo-1002@demo.example>");
    let last = by_id(&inbox, "<demo-1004@demo.example>");
    assert_eq!(start.references, None);
    assert_eq!(last.references.as_deref(), Some("<demo-1002@demo.example> <demo-1003@demo.example>"));
    assert_eq!(last.subject, format!("Re: {}", start.subject));
    for id in last.references.iter().flat_map(|r| r.split(' ')) {
        by_id(&inbox, id);
    }

    assert!(inbox.iter().any(|m| m.subject == "Re: 会議の議事録"), "Japanese subject");
    assert!(inbox.iter().any(|m| m.subject == "Ключевые вопросы"), "Russian subject");
    assert!(inbox.iter().any(|m| m.subject == "Réunion de lundi"));
    assert!(inbox.iter().any(|m| m.from == "Bjørn Østergaard <bjorn@demo.example>"));
    let sent = messages(&cache, account, "Sent");
    assert!(sent.iter().all(|m| m.from == "You <you@demo.example>"), "Sent is from the account");
    assert!(sent.iter().any(|m| m.to == "Chloé Dubois <chloe@demo.example>"));
}

#[test]
fn html_and_attachments_read_offline() {
    let (dir, cache, account) = filled();
    let inbox = messages(&cache, account, "INBOX");
    let rt = runtime();

    // 1005: plain text with an HTML alternative.
    let html = by_id(&inbox, "<demo-1005@demo.example>");
    let reading = rt.block_on(reading::open(&cache, None, html.id, true)).unwrap_or_else(|e| panic!("{e}"));
    let Body::Rich(doc) = reading.body else { panic!("the HTML message is not available offline") };
    let shown = crate::html::to_plain(&doc);
    assert!(shown.contains("This is the HTML version"), "{shown}");
    assert!(!shown.contains("never run"), "the script is dropped: {shown}");
    assert_eq!(doc.remote_content, ["https://tracker.demo.example/pixel-5.gif"], "the pixel is listed, not loaded");
    assert!(reading.attachments.is_empty());

    // 1008: text and a CSV whose name is not ASCII.
    let with_csv = by_id(&inbox, "<demo-1008@demo.example>");
    let reading = rt.block_on(reading::open(&cache, None, with_csv.id, true)).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(&reading.body, Body::Rich(d) if crate::html::to_plain(d).contains("Here is where things stand")));
    let [csv] = reading.attachments.as_slice() else { panic!("one attachment: {:?}", reading.attachments) };
    assert_eq!((csv.name.as_str(), csv.mime_type.as_str(), csv.section.as_str()), ("données-1008.csv", "text/csv", "2"));
    let saved = rt
        .block_on(reading::save_attachment(&cache, None, with_csv.id, csv, &dir.path().join("saved"), true))
        .unwrap_or_else(|e| panic!("{e}"));
    let bytes = std::fs::read(&saved).unwrap_or_else(|e| panic!("{e}"));
    assert!(bytes.starts_with(b"n,name,count\n1,item 1,7\n"), "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 41);
}
