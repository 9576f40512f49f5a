//! Online mode against the real Dovecot: IDLE push, new-mail events once
//! and only once, queued actions sent at once.

use std::time::Duration;

use satchel_core::watch::{Event, WatchOptions, watch};
use satchel_tests::{Dovecot, DovecotOptions, Peer, mail, temp_cache};
use tokio::sync::mpsc;

fn start(
    cache: std::sync::Arc<satchel_cache::Cache>,
    account: satchel_core::config::AccountConfig,
) -> (tokio::task::JoinHandle<()>, mpsc::UnboundedReceiver<Event>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let options = WatchOptions { idle_slice: Duration::from_millis(500), ..WatchOptions::default() };
        let mut emit = |e: Event| {
            let _ = tx.send(e);
        };
        let _ = watch(&cache, &account, &options, &mut emit).await;
    });
    (task, rx)
}

/// Events until `until` matches (returned) or `within` passes (None).
async fn wait_for(rx: &mut mpsc::UnboundedReceiver<Event>, within: Duration, until: impl Fn(&Event) -> bool) -> Option<Event> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(e)) if until(&e) => return Some(e),
            Ok(Some(_)) => continue,
            _ => return None,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_is_pushed_once_and_never_again_after_a_reconnect() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..10 {
        peer.append("INBOX", None, &mail::message(n, 4)).await?;
    }
    let (_dir, cache) = temp_cache()?;
    let (task, mut rx) = start(cache.clone(), account.clone());
    // The first sync of a folder announces nothing: old mail is not news.
    let online = wait_for(&mut rx, Duration::from_secs(10), |e| matches!(e, Event::Connectivity { state: "online", .. })).await;
    assert!(online.is_some(), "watch went online");
    let early = wait_for(&mut rx, Duration::from_secs(2), |e| matches!(e, Event::NewMail { .. })).await;
    assert_eq!(early, None, "no NewMail for the initial sync");

    // Another client delivers: pushed within 2 seconds, one event, one id.
    let sent = std::time::Instant::now();
    peer.append("INBOX", None, &mail::message(10, 4)).await?;
    let got = wait_for(&mut rx, Duration::from_secs(2), |e| matches!(e, Event::NewMail { .. })).await;
    let Some(Event::NewMail { message_ids }) = got else { panic!("no NewMail within 2 s") };
    eprintln!("NewMail after {:?}", sent.elapsed());
    assert_eq!(message_ids.len(), 1);
    let acc = cache.ensure_account(&account.name, &account.email)?;
    let inbox = cache.mailbox_by_name(acc.id, "INBOX")?;
    let newest = cache.list_messages(inbox.id, None, 1)?.items;
    assert_eq!(newest[0].id, message_ids[0]);
    assert_eq!(newest[0].subject, mail::subject(10));

    // A queued action goes out without waiting for the poll interval.
    cache.queue_flags(message_ids[0], &["\\Flagged".to_string()], &[])?;
    let mut flagged = false;
    for _ in 0..40 {
        if peer.snapshot("INBOX").await?.iter().any(|m| m.uid == 11 && m.flags.contains(&"\\Flagged".to_string())) {
            flagged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(flagged, "the flag reached the server while online");

    // Restart (a reconnect after the network came back): nothing announced again.
    task.abort();
    let _ = task.await;
    let (task, mut rx) = start(cache.clone(), account.clone());
    assert!(wait_for(&mut rx, Duration::from_secs(10), |e| matches!(e, Event::Connectivity { state: "online", .. })).await.is_some());
    assert_eq!(wait_for(&mut rx, Duration::from_secs(2), |e| matches!(e, Event::NewMail { .. })).await, None);
    // ... and a message that arrived while it was down is announced once.
    peer.append("INBOX", Some("(\\Seen)"), &mail::message(11, 4)).await?; // read elsewhere: not news
    peer.append("INBOX", None, &mail::message(12, 4)).await?;
    let got = wait_for(&mut rx, Duration::from_secs(3), |e| matches!(e, Event::NewMail { .. })).await;
    let Some(Event::NewMail { message_ids }) = got else { panic!("no NewMail after restart") };
    assert_eq!(message_ids.len(), 1, "only the unread one");
    task.abort();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_server_goes_offline_and_comes_back() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    // Through a proxy we can cut: every connection dies after 40 KB
    // (uncompressed, so the header sync below is well over that).
    let proxy = satchel_tests::CuttingProxy::start(dovecot.imaps_port, 40_000).await?;
    account.imap.port = proxy.port;
    account.imap.compress = false;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..200 {
        peer.append("INBOX", None, &mail::message(n, 4)).await?;
    }
    let (_dir, cache) = temp_cache()?;
    let (task, mut rx) = start(cache.clone(), account.clone());
    let offline = wait_for(&mut rx, Duration::from_secs(15), |e| matches!(e, Event::Connectivity { state: "offline", .. })).await;
    assert!(offline.is_some(), "a cut connection is reported as offline");
    let back = wait_for(&mut rx, Duration::from_secs(15), |e| matches!(e, Event::Connectivity { state: "online", .. })).await;
    assert!(back.is_some(), "and it reconnects by itself");
    task.abort();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_idle_new_mail_is_found_by_polling() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions { capabilities: satchel_tests::ServerKind::Plain, ..DovecotOptions::default() })?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.append("INBOX", None, &mail::message(0, 4)).await?;
    let (_dir, cache) = temp_cache()?;
    let (task, mut rx) = start(cache.clone(), account.clone());
    assert!(wait_for(&mut rx, Duration::from_secs(10), |e| matches!(e, Event::Connectivity { state: "online", .. })).await.is_some());
    // Let the first sync finish (it announces nothing).
    assert_eq!(wait_for(&mut rx, Duration::from_secs(2), |e| matches!(e, Event::NewMail { .. })).await, None);
    peer.append("INBOX", None, &mail::message(1, 4)).await?;
    let got = wait_for(&mut rx, Duration::from_secs(3), |e| matches!(e, Event::NewMail { .. })).await;
    assert!(matches!(got, Some(Event::NewMail { ref message_ids }) if message_ids.len() == 1), "{got:?}");
    task.abort();
    let sent = dovecot.client_transcript("alice").to_uppercase();
    assert!(!sent.lines().any(|l| l.split_whitespace().nth(1) == Some("IDLE")), "IDLE sent to a server without it");
    Ok(())
}
