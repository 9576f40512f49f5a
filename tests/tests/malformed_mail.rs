//! Odd and broken real-world mail syncs without panic, with readable
//! subjects: our own malformed fixtures, and every message of the shared
//! corpus (`../shared/corpus/`) when it is present.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use satchel_tests::{Dovecot, DovecotOptions, Peer, assert_cache_equals_server, sync, temp_cache};

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        if p.is_dir() {
            files_under(&p, out);
        } else if p.extension().is_some_and(|e| e == "eml" || e == "msg" || e == "txt") || p.extension().is_none() {
            out.push(p);
        }
    }
}

/// What a careful reader would call the subject, per fixture.
const EXPECTED: &[(&str, &str)] = &[
    ("01-bad-encoded-word.eml", "=?UTF-8?B?###not-base64###?="),
    ("02-raw-latin1.eml", "café crème"),
    ("03-no-headers.eml", ""),
    ("04-unterminated-multipart.eml", "broken multipart"),
    ("06-groups-bad-date.eml", "group syntax"),
    ("07-encoded-crlf.eml", "line Bcc: evil@example.test"),
    ("08-iso-2022-jp.eml", "ですか"),
    ("09-rfc2231-and-nested.eml", "attachment names"),
    ("11-folded-words.eml", "split words"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_corpus_mail_syncs_with_sensible_subjects() -> anyhow::Result<()> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    files_under(&manifest.join("fixtures/malformed"), &mut files);
    let own = files.len();
    let corpus = manifest.join("../../shared/corpus");
    files_under(&corpus, &mut files);
    if files.len() == own {
        eprintln!(
            "NOTE: no corpus at {} — only Satchel's own {own} malformed fixtures were synced",
            corpus.display()
        );
    }

    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Corpus").await?;
    let mut appended: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for f in &files {
        let raw = std::fs::read(f)?;
        // The server may refuse some bytes (e.g. NUL); that is its right,
        // and it is not what this test is about.
        if peer.append("Corpus", None, &raw).await.is_ok() {
            appended.push((f.clone(), raw));
        }
    }
    assert!(appended.len() >= own, "all our fixtures are accepted by Dovecot");

    let (_dir, cache) = temp_cache()?;
    sync(&cache, &account).await?;
    assert_eq!(assert_cache_equals_server(&cache, &account, "Corpus", &mut peer).await?, appended.len());

    let acc = cache.ensure_account(&account.name, &account.email)?;
    let folder = cache.mailbox_by_name(acc.id, "Corpus")?;
    let headers = cache.message_headers(folder.id)?;
    assert_eq!(headers.len(), appended.len());
    let parser = mail_parser::MessageParser::new();
    for (h, (path, raw)) in headers.iter().zip(&appended) {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        assert!(!h.subject.chars().any(char::is_control), "{name}: control characters in {:?}", h.subject);
        if let Some((_, want)) = EXPECTED.iter().find(|(f, _)| *f == name) {
            assert_eq!(&h.subject, want, "{name}");
            continue;
        }
        // Elsewhere: agree with a full parse of the message's own headers
        // (mail-parser), whitespace aside.
        if let Some(parsed) = parser.parse_headers(raw)
            && let Some(subject) = parsed.subject()
        {
            let norm = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
            let want: String = norm(&subject.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>());
            if want.is_ascii() || h.subject.contains('\u{fffd}') {
                continue; // nothing to decode, or bytes no charset explains
            }
            assert_eq!(norm(&h.subject), want, "{name}");
        }
    }
    let long = headers.iter().find(|h| h.subject.starts_with("long long")).map(|h| h.subject.len());
    assert_eq!(long, Some("long ".len() * 3000 - 1), "a 15 KB subject survives whole");
    Ok(())
}

/// A server answer our parser cannot read (as servers produce for some
/// malformed mail) must not stall the folder: the batch is fetched again
/// message by message, and the unreadable one is cached from its header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_fetch_answer_is_salvaged_not_skipped() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..40u64 {
        let mut raw = satchel_tests::mail::message(n, 3);
        if n == 17 {
            raw = b"From: x@example.test\r\nSubject: BREAKME please\r\nMessage-ID: <breakme@example.test>\r\n\r\nbody\r\n".to_vec();
        }
        peer.append("INBOX", None, &raw).await?;
    }
    // Through a proxy that corrupts that message's ENVELOPE on the wire.
    let proxy = satchel_tests::CuttingProxy::rewriting(dovecot.imap_port, b"\"BREAKME please\"", b"\"BREAKME\" )(").await?;
    let mut account = dovecot.account("alice");
    account.imap.security = satchel_core::config::Security::Plain;
    account.imap.allow_plaintext = true;
    account.imap.compress = false;
    account.imap.port = proxy.port;
    let (_dir, cache) = temp_cache()?;
    let summary = sync(&cache, &account).await?;
    assert!(proxy.rewrites.load(std::sync::atomic::Ordering::Relaxed) >= 1, "the corruption happened");
    assert_eq!(summary.new, 40);
    assert_eq!(summary.header_only, 1);
    assert_eq!(assert_cache_equals_server(&cache, &account, "INBOX", &mut peer).await?, 40);
    let acc = cache.ensure_account(&account.name, &account.email)?;
    let inbox = cache.mailbox_by_name(acc.id, "INBOX")?;
    let broken = cache.message_headers(inbox.id)?.into_iter().find(|h| h.uid == Some(18));
    let broken = broken.expect("uid 18 cached");
    assert_eq!(broken.subject, "BREAKME please");
    assert_eq!(broken.message_id.as_deref(), Some("<breakme@example.test>"));
    // And the next sync is an ordinary, quiet one.
    let again = sync(&cache, &account).await?;
    assert_eq!((again.new, again.header_only), (0, 0));
    Ok(())
}
