//! Header sync against a real Dovecot: initial sync, incremental resync on
//! each kind of server, folder changes, UIDVALIDITY change, interruption.

use satchel_tests::{
    Dovecot, DovecotOptions, Peer, ServerKind, assert_cache_equals_server, mail, sync, temp_cache,
};

fn server(kind: ServerKind) -> anyhow::Result<Dovecot> {
    Dovecot::start(DovecotOptions { capabilities: kind, ..DovecotOptions::default() })
}

/// Many messages at once, delivered to the Maildir; message k gets UID k+1.
fn deliver(dovecot: &Dovecot, folder: &str, range: std::ops::Range<u64>) -> anyhow::Result<()> {
    dovecot.deliver("alice", folder, range.map(|n| (mail::message(n, 1), n % 3 == 0)))?;
    Ok(())
}

async fn seed(peer: &mut Peer, folder: &str, range: std::ops::Range<u64>) -> anyhow::Result<()> {
    for n in range {
        let flags = if n % 3 == 0 { Some("(\\Seen)") } else { None };
        peer.append(folder, flags, &mail::message(n, 1)).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_sync_of_thousands_equals_the_server() -> anyhow::Result<()> {
    let dovecot = server(ServerKind::Full)?;
    let account = dovecot.account("alice");
    deliver(&dovecot, "INBOX", 0..2500)?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let (_dir, cache) = temp_cache()?;
    let summary = sync(&cache, &account).await?;
    assert_eq!(summary.new, 2500);
    assert_eq!(assert_cache_equals_server(&cache, &account, "INBOX", &mut peer).await?, 2500);

    // Subjects and senders are decoded, and the list is newest first.
    let acc = cache.ensure_account(&account.name, &account.email)?;
    let inbox = cache.mailbox_by_name(acc.id, "INBOX")?;
    let page = cache.list_messages(inbox.id, None, 3)?;
    assert_eq!(page.items.len(), 3);
    assert_eq!(page.items[0].subject, mail::subject(2499));
    assert_eq!(page.items[1].subject, mail::subject(2498));
    assert!(page.items[0].date > page.items[1].date);
    let headers = cache.message_headers(inbox.id)?;
    for h in headers.iter().take(50) {
        let n = u64::from(h.uid.unwrap_or(0)) - 1;
        assert_eq!(h.subject, mail::subject(n), "uid {:?}", h.uid);
    }
    assert!(headers.iter().any(|h| h.subject.contains("会議の議事録")), "non-ASCII subjects decode");

    // A second sync with no change fetches nothing and changes nothing.
    let again = sync(&cache, &account).await?;
    assert_eq!((again.new, again.changed, again.vanished), (0, 0, 0));
    assert!(again.bytes_in < 20_000, "no-change resync received {} bytes", again.bytes_in);
    Ok(())
}

/// Another client appends, flags, unflags, adds a keyword and expunges;
/// the next sync must equal the server.
async fn changes_by_another_client(kind: ServerKind) -> anyhow::Result<Dovecot> {
    let dovecot = server(kind)?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    seed(&mut peer, "INBOX", 0..300).await?;
    let (_dir, cache) = temp_cache()?;
    sync(&cache, &account).await?;
    assert_cache_equals_server(&cache, &account, "INBOX", &mut peer).await?;

    seed(&mut peer, "INBOX", 300..320).await?;
    peer.store("INBOX", "5:14", "+FLAGS (\\Flagged)").await?;
    peer.store("INBOX", "1:30", "-FLAGS (\\Seen)").await?;
    peer.store("INBOX", "40,41", "+FLAGS ($Important)").await?;
    peer.expunge("INBOX", "50:59,305").await?;
    let summary = sync(&cache, &account).await?;
    assert_eq!(summary.new, 19, "20 appended, one of them expunged");
    assert_eq!(summary.vanished, 10);
    // 5:14 flagged, 10 of 1:30 lost \Seen (3 of them also flagged), 2 keywords.
    assert_eq!(summary.changed, 19);
    assert_eq!(assert_cache_equals_server(&cache, &account, "INBOX", &mut peer).await?, 300 + 20 - 11);

    // Unflag and drop a keyword again: the cache follows.
    peer.store("INBOX", "5:9", "-FLAGS (\\Flagged)").await?;
    peer.store("INBOX", "40", "-FLAGS ($Important)").await?;
    sync(&cache, &account).await?;
    assert_cache_equals_server(&cache, &account, "INBOX", &mut peer).await?;
    Ok(dovecot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_with_qresync_equals_the_server() -> anyhow::Result<()> {
    changes_by_another_client(ServerKind::Full).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_with_condstore_only_equals_the_server() -> anyhow::Result<()> {
    changes_by_another_client(ServerKind::CondStoreOnly).await.map(drop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resync_on_a_plain_server_equals_it_and_sends_no_condstore_syntax() -> anyhow::Result<()> {
    let dovecot = changes_by_another_client(ServerKind::Plain).await?;
    let sent = dovecot.client_transcript("alice");
    assert!(sent.contains("UID FETCH"), "the transcript is recorded: {}", &sent[..sent.len().min(300)]);
    for word in ["CONDSTORE", "QRESYNC", "CHANGEDSINCE", "MODSEQ", "VANISHED", "COMPRESS"] {
        assert!(!sent.to_uppercase().contains(word), "client sent {word} to a server without it");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folders_created_renamed_and_deleted_elsewhere_show_up() -> anyhow::Result<()> {
    let dovecot = server(ServerKind::Full)?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Projects").await?;
    peer.create("Projects/Satchel").await?;
    peer.create("Old").await?;
    peer.create("Entwürfe").await.or_else(|_| anyhow::Ok(()))?;
    seed(&mut peer, "Projects/Satchel", 0..5).await?;
    let (_dir, cache) = temp_cache()?;
    sync(&cache, &account).await?;
    let acc = cache.ensure_account(&account.name, &account.email)?;
    let names = |cache: &satchel_cache::Cache| -> anyhow::Result<Vec<String>> {
        Ok(cache.mailboxes(acc.id)?.into_iter().map(|m| m.name).collect())
    };
    let before = names(&cache)?;
    for f in ["INBOX", "Projects", "Projects/Satchel", "Old", "Sent", "Trash", "Drafts", "Archive"] {
        assert!(before.contains(&f.to_string()), "{f} missing from {before:?}");
    }
    let sent = cache.mailbox_by_name(acc.id, "Sent")?;
    assert_eq!(sent.special_use.as_deref(), Some("\\Sent"));

    peer.rename("Projects/Satchel", "Projects/Satchel-2026").await?;
    peer.delete("Old").await?;
    peer.create("New").await?;
    sync(&cache, &account).await?;
    let after = names(&cache)?;
    assert!(after.contains(&"Projects/Satchel-2026".to_string()), "{after:?}");
    assert!(after.contains(&"New".to_string()), "{after:?}");
    assert!(!after.contains(&"Old".to_string()), "{after:?}");
    assert!(!after.contains(&"Projects/Satchel".to_string()), "{after:?}");
    assert_eq!(assert_cache_equals_server(&cache, &account, "Projects/Satchel-2026", &mut peer).await?, 5);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changed_uidvalidity_rebuilds_the_folder() -> anyhow::Result<()> {
    let dovecot = server(ServerKind::Full)?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Lists").await?;
    seed(&mut peer, "Lists", 0..40).await?;
    let old_validity = peer.select("Lists").await?;
    let (_dir, cache) = temp_cache()?;
    sync(&cache, &account).await?;

    // Delete and recreate: same name, new UIDVALIDITY, other messages.
    peer.select("INBOX").await?;
    peer.delete("Lists").await?;
    // Dovecot derives UIDVALIDITY from the clock; make sure it moves.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    peer.create("Lists").await?;
    seed(&mut peer, "Lists", 100..112).await?;
    let new_validity = peer.select("Lists").await?;
    assert_ne!(old_validity, new_validity);
    let summary = sync(&cache, &account).await?;
    assert_eq!(summary.new, 12);
    assert_eq!(assert_cache_equals_server(&cache, &account, "Lists", &mut peer).await?, 12);
    let acc = cache.ensure_account(&account.name, &account.email)?;
    let lists = cache.mailbox_by_name(acc.id, "Lists")?;
    assert_eq!(lists.sync.uidvalidity, Some(new_validity));
    let subjects: Vec<String> = cache.message_headers(lists.id)?.into_iter().map(|h| h.subject).collect();
    assert_eq!(subjects[0], mail::subject(100));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_sync_resumes_without_gap_or_duplicate() -> anyhow::Result<()> {
    let dovecot = server(ServerKind::Full)?;
    let mut account = dovecot.account("alice");
    deliver(&dovecot, "INBOX", 0..3000)?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let (_dir, cache) = temp_cache()?;

    // Every connection through the proxy dies after 100 KB from the server (compressed):
    // a few batches commit, then the network goes away mid-response.
    let proxy = satchel_tests::CuttingProxy::start(dovecot.imaps_port, 100_000).await?;
    account.imap.port = proxy.port;
    let first = sync(&cache, &account).await;
    let err = first.as_ref().err().map(|e| e.to_string()).unwrap_or_default();
    eprintln!("first attempt: {:?}", first.as_ref().map(|s| s.bytes_in));
    assert!(err.contains("connection"), "a clear error, got: {err:?}");
    let acc = cache.ensure_account(&account.name, &account.email)?;
    let inbox = cache.mailbox_by_name(acc.id, "INBOX")?;
    let partial = cache.message_count(inbox.id)?;
    assert!(partial > 0 && partial < 3000, "some batches committed before the cut: {partial}");
    assert_eq!(u64::from(inbox.sync.uidnext) - 1, partial, "state moved with the batches");

    // Resume over the proxy with retries: every attempt adds batches.
    let options = satchel_core::sync::SyncOptions { folder: None, retries: 20 };
    let resumed = satchel_tests::sync_with(&cache, &account, options).await?;
    assert!(proxy.cuts.load(std::sync::atomic::Ordering::Relaxed) >= 1);
    assert_eq!(resumed.new + partial, 3000, "nothing fetched twice");
    assert_eq!(assert_cache_equals_server(&cache, &account, "INBOX", &mut peer).await?, 3000);
    Ok(())
}
