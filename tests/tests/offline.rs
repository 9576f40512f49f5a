//! Disconnected operation: two machines (two profiles of one account)
//! change the same mailbox while apart, then converge on the server with
//! nothing lost, nothing duplicated and every conflict recorded.

use std::sync::Arc;

use satchel_cache::Cache;
use satchel_tests::{Dovecot, DovecotOptions, Peer, assert_cache_equals_server, mail, sync, temp_cache};

/// The local id of the message with `uid` in `folder`.
fn id_of(cache: &Cache, account: i64, folder: &str, uid: u32) -> anyhow::Result<i64> {
    let mailbox = cache.mailbox_by_name(account, folder)?;
    cache
        .message_headers(mailbox.id)?
        .into_iter()
        .find(|h| h.uid == Some(uid))
        .map(|h| h.id)
        .ok_or_else(|| anyhow::anyhow!("uid {uid} not cached in {folder}"))
}

fn folder_id(cache: &Cache, account: i64, name: &str) -> anyhow::Result<i64> {
    Ok(cache.mailbox_by_name(account, name)?.id)
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_machines_apart_converge_with_conflicts_listed() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Projects").await?;
    for n in 0..20u64 {
        peer.append("INBOX", if n % 3 == 0 { Some("(\\Seen)") } else { None }, &mail::message(n, 5)).await?;
    }
    let (_da, a): (_, Arc<Cache>) = temp_cache()?;
    let (_db, b): (_, Arc<Cache>) = temp_cache()?;
    sync(&a, &account).await?;
    sync(&b, &account).await?;
    let acc_a = a.ensure_account(&account.name, &account.email)?.id;
    let acc_b = b.ensure_account(&account.name, &account.email)?.id;

    // Machine A, on a train: every action lands in its cache at once.
    a.queue_flags(id_of(&a, acc_a, "INBOX", 2)?, &s(&["\\Flagged", "$Todo"]), &[])?;
    let three = id_of(&a, acc_a, "INBOX", 3)?;
    a.queue_flags(three, &s(&["\\Flagged"]), &[])?;
    a.queue_flags(three, &[], &s(&["\\Flagged"]))?; // on then off: nothing to send
    let five = id_of(&a, acc_a, "INBOX", 5)?;
    a.queue_move(five, folder_id(&a, acc_a, "Projects")?)?;
    a.queue_move(id_of(&a, acc_a, "INBOX", 6)?, folder_id(&a, acc_a, "Projects")?)?;
    a.queue_move(id_of(&a, acc_a, "INBOX", 7)?, folder_id(&a, acc_a, "Trash")?)?;
    a.queue_expunge(id_of(&a, acc_a, "INBOX", 8)?)?;
    a.queue_flags(id_of(&a, acc_a, "INBOX", 9)?, &s(&["\\Answered"]), &[])?;
    a.queue_flags(id_of(&a, acc_a, "INBOX", 10)?, &s(&["$Label"]), &[])?;
    assert_eq!(a.ops(acc_a)?.len(), 9);
    let inbox_a = folder_id(&a, acc_a, "INBOX")?;
    assert_eq!(a.message_count(inbox_a)?, 20 - 4, "moves and deletes show at once, offline");

    // Machine B, meanwhile, online: moves 6 elsewhere, deletes 9, marks 10 unread.
    b.queue_move(id_of(&b, acc_b, "INBOX", 6)?, folder_id(&b, acc_b, "Archive")?)?;
    b.queue_expunge(id_of(&b, acc_b, "INBOX", 9)?)?;
    b.queue_flags(id_of(&b, acc_b, "INBOX", 10)?, &[], &s(&["\\Seen"]))?;
    let sb = sync(&b, &account).await?;
    assert_eq!((sb.replayed, sb.conflicts, sb.failed_ops), (3, 0, 0));

    // A reconnects.
    let sa = sync(&a, &account).await?;
    assert_eq!(sa.failed_ops, 0);
    assert_eq!(sa.conflicts, 2, "the move of 6 and the flag of 9 found their message gone");
    assert!(a.ops(acc_a)?.is_empty(), "the queue is empty once the server answered");
    let conflicts = a.conflicts(acc_a)?;
    assert_eq!(conflicts.len(), 2);
    assert!(conflicts.iter().all(|c| c.kind == "gone"), "{conflicts:?}");
    assert!(conflicts.iter().any(|c| c.detail.contains("move to Projects")), "{conflicts:?}");

    // The server holds the merged result.
    let inbox = peer.snapshot("INBOX").await?;
    let uids: Vec<u32> = inbox.iter().map(|m| m.uid).collect();
    for gone in [5, 6, 7, 8, 9] {
        assert!(!uids.contains(&gone), "uid {gone} left INBOX: {uids:?}");
    }
    let flags_of = |uid: u32| inbox.iter().find(|m| m.uid == uid).map(|m| m.flags.clone()).unwrap_or_default();
    assert_eq!(flags_of(2), s(&["$Todo", "\\Flagged"]));
    assert!(!flags_of(3).contains(&"\\Flagged".to_string()));
    // Three-way merge: B's "unread" and A's label both survive.
    assert_eq!(flags_of(10), s(&["$Label"]));
    assert_eq!(peer.snapshot("Projects").await?.len(), 1);
    assert_eq!(peer.snapshot("Archive").await?.len(), 1);
    assert_eq!(peer.snapshot("Trash").await?.len(), 1);

    // Both caches equal the server, and B catches up on A's changes.
    sync(&b, &account).await?;
    for folder in ["INBOX", "Projects", "Archive", "Trash"] {
        assert_cache_equals_server(&a, &account, folder, &mut peer).await?;
        assert_cache_equals_server(&b, &account, folder, &mut peer).await?;
    }
    // The moved message kept its local id and got its new UID.
    let projects = a.mailbox_by_name(acc_a, "Projects")?;
    let moved = a.message_headers(projects.id)?;
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].id, five);
    assert!(moved[0].uid.is_some());
    assert_eq!(moved[0].subject, mail::subject(4));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_the_server_did_before_a_crash_is_not_repeated() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Projects").await?;
    for n in 0..5u64 {
        peer.append("INBOX", None, &mail::message(n, 6)).await?;
    }
    let (_d, a) = temp_cache()?;
    sync(&a, &account).await?;
    let acc = a.ensure_account(&account.name, &account.email)?.id;
    let id = id_of(&a, acc, "INBOX", 3)?;
    a.queue_move(id, folder_id(&a, acc, "Projects")?)?;
    // The server carried out the MOVE, then the process died before the
    // cache recorded the answer: the op is still queued.
    peer.move_uids("INBOX", "3", "Projects").await?;
    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts), (1, 0), "found in the target by Message-ID");
    let projects = peer.snapshot("Projects").await?;
    assert_eq!(projects.len(), 1, "no second copy");
    assert_cache_equals_server(&a, &account, "Projects", &mut peer).await?;
    assert_cache_equals_server(&a, &account, "INBOX", &mut peer).await?;
    let cached = a.message_headers(folder_id(&a, acc, "Projects")?)?;
    assert_eq!(cached.len(), 1);
    assert_eq!(cached[0].id, id, "the local id survives");
    assert_eq!(cached[0].uid, Some(projects[0].uid));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_on_a_server_without_condstore_sends_no_condstore_syntax() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions {
        capabilities: satchel_tests::ServerKind::Plain,
        ..DovecotOptions::default()
    })?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..6u64 {
        peer.append("INBOX", None, &mail::message(n, 8)).await?;
    }
    let (_d, a) = temp_cache()?;
    sync(&a, &account).await?;
    let acc = a.ensure_account(&account.name, &account.email)?.id;
    a.queue_flags(id_of(&a, acc, "INBOX", 1)?, &s(&["\\Seen", "\\Flagged"]), &[])?;
    a.queue_move(id_of(&a, acc, "INBOX", 2)?, folder_id(&a, acc, "Archive")?)?;
    a.queue_expunge(id_of(&a, acc, "INBOX", 3)?)?;
    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts, summary.failed_ops), (3, 0, 0));
    for folder in ["INBOX", "Archive"] {
        assert_cache_equals_server(&a, &account, folder, &mut peer).await?;
    }
    assert_eq!(peer.snapshot("INBOX").await?.len(), 4);
    let sent = dovecot.client_transcript("alice").to_uppercase();
    assert!(sent.contains("UID MOVE") && sent.contains("UID EXPUNGE 3"), "transcript recorded");
    for word in ["UNCHANGEDSINCE", "CONDSTORE", "QRESYNC", "MODSEQ"] {
        assert!(!sent.contains(word), "sent {word} to a server without CONDSTORE");
    }
    assert!(!sent.lines().any(|l| l.trim_end().ends_with(" EXPUNGE") && !l.contains("UID")), "never a bare EXPUNGE");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_copy_and_folder_changes_made_offline_reach_the_server_once() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Old").await?;
    peer.create("Doomed").await?;
    for n in 0..3u64 {
        peer.append("INBOX", None, &mail::message(n, 12)).await?;
    }
    let (_d, a) = temp_cache()?;
    sync(&a, &account).await?;
    let acc = a.ensure_account(&account.name, &account.email)?.id;

    // Offline: new folder, rename, delete; an .eml without a Message-ID
    // appended into the new folder; a copy into it.
    a.queue_folder_op(acc, satchel_cache::Op::CreateFolder { name: "Receipts".into() })?;
    a.queue_folder_op(acc, satchel_cache::Op::RenameFolder { from: "Old".into(), to: "Older".into() })?;
    a.queue_folder_op(acc, satchel_cache::Op::DeleteFolder { name: "Doomed".into() })?;
    let local = satchel_core::local_mail::read(
        b"From: me@example.test\r\nSubject: Hotel receipt\r\n\r\nPaid 120 EUR.\r\n",
        satchel_cache::Flags::from_imap(["\\Seen"]),
        "example.test",
    );
    let receipts = folder_id(&a, acc, "Receipts")?;
    let uploaded = a.queue_append(receipts, &local.row, &local.raw, local.text.as_deref())?;
    let copy = a.queue_copy(id_of(&a, acc, "INBOX", 2)?, receipts)?;
    // Readable and searchable offline.
    assert_eq!(a.reader()?.search(acc, "hotel paid", 10)?.len(), 1);

    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts, summary.failed_ops), (5, 0, 0));
    let on_server = peer.snapshot("Receipts").await?;
    assert_eq!(on_server.len(), 2, "the upload and the copy, once each");
    assert!(on_server.iter().any(|m| m.flags == vec!["\\Seen".to_string()]));
    assert!(peer.select("Older").await.is_ok() && peer.select("Old").await.is_err());
    assert!(peer.select("Doomed").await.is_err());
    assert_cache_equals_server(&a, &account, "Receipts", &mut peer).await?;
    let cached = a.message_headers(receipts)?;
    let ids: Vec<i64> = cached.iter().map(|h| h.id).collect();
    assert!(ids.contains(&uploaded) && ids.contains(&copy), "local ids kept: {ids:?} vs {uploaded}, {copy}");

    // A crash after the server took an upload: the op is still queued, the
    // message is already there (same Message-ID). No second copy.
    let again = satchel_core::local_mail::read(
        b"From: me@example.test\r\nSubject: Taxi receipt\r\n\r\nPaid 30 EUR.\r\n",
        satchel_cache::Flags::default(),
        "example.test",
    );
    a.queue_append(receipts, &again.row, &again.raw, again.text.as_deref())?;
    peer.append("Receipts", None, &again.raw).await?; // what the server got before the crash
    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts), (1, 0));
    assert_eq!(peer.snapshot("Receipts").await?.len(), 3);
    assert_cache_equals_server(&a, &account, "Receipts", &mut peer).await?;

    // The same for a copy: the COPY went out (its attempt is recorded
    // first) and the server did it, but the answer was lost. The retry
    // finds the copy by Message-ID instead of copying again.
    let copy = a.queue_copy(id_of(&a, acc, "INBOX", 1)?, receipts)?;
    let op = a.ops(acc)?.into_iter().find(|o| matches!(o.op, satchel_cache::Op::Copy { copy: c, .. } if c == copy)).map(|o| o.id).ok_or_else(|| anyhow::anyhow!("copy op"))?;
    a.op_sent(op)?;
    peer.copy_uids("INBOX", "1", "Receipts").await?; // what the server did before the crash
    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts), (1, 0));
    assert_eq!(peer.snapshot("Receipts").await?.len(), 4, "one copy, not two");
    assert_cache_equals_server(&a, &account, "Receipts", &mut peer).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_ops_survive_a_uidvalidity_reset_by_message_id() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Lists").await?;
    let messages: Vec<Vec<u8>> = (0..6u64).map(|n| mail::message(n, 13)).collect();
    for m in &messages {
        peer.append("Lists", None, m).await?;
    }
    let (_d, a) = temp_cache()?;
    sync(&a, &account).await?;
    let acc = a.ensure_account(&account.name, &account.email)?.id;
    a.queue_flags(id_of(&a, acc, "Lists", 2)?, &s(&["\\Flagged"]), &[])?;
    a.queue_move(id_of(&a, acc, "Lists", 5)?, folder_id(&a, acc, "Archive")?)?;

    // The server rebuilds the folder: new UIDVALIDITY, the same messages in
    // reverse order (so every UID now names another message).
    peer.select("INBOX").await?;
    peer.delete("Lists").await?;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    peer.create("Lists").await?;
    for m in messages.iter().rev() {
        peer.append("Lists", None, m).await?;
    }
    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts, summary.failed_ops), (2, 0, 0));
    let lists = peer.snapshot("Lists").await?;
    assert_eq!(lists.len(), 5);
    // Message 2 (n=1) is now UID 5 (reverse order); it carries the flag.
    let flagged: Vec<u32> = lists.iter().filter(|m| m.flags.contains(&"\\Flagged".to_string())).map(|m| m.uid).collect();
    assert_eq!(flagged, vec![5]);
    let archive = peer.snapshot("Archive").await?;
    assert_eq!(archive.len(), 1);
    assert_cache_equals_server(&a, &account, "Lists", &mut peer).await?;
    assert_cache_equals_server(&a, &account, "Archive", &mut peer).await?;
    let arch = a.message_headers(folder_id(&a, acc, "Archive")?)?;
    assert_eq!(arch[0].subject, mail::subject(4), "the right message moved");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_action_stays_visible_and_can_be_discarded() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.create("Projects").await?;
    for n in 0..3u64 {
        peer.append("INBOX", None, &mail::message(n, 14)).await?;
    }
    let (_d, a) = temp_cache()?;
    sync(&a, &account).await?;
    let acc = a.ensure_account(&account.name, &account.email)?.id;
    let id = id_of(&a, acc, "INBOX", 2)?;
    a.queue_move(id, folder_id(&a, acc, "Projects")?)?;
    // Meanwhile the target folder is deleted on the server.
    peer.delete("Projects").await?;
    let summary = sync(&a, &account).await?;
    assert_eq!(summary.failed_ops, 1);
    let ops = a.ops(acc)?;
    assert_eq!(ops.len(), 1, "kept, not dropped");
    assert_eq!(ops[0].state, "failed");
    let error = ops[0].last_error.clone().unwrap_or_default();
    assert!(error.contains("UID MOVE") || error.to_lowercase().contains("mailbox"), "the server's words: {error}");
    // Nothing was lost on the server; discarding puts the message back.
    assert_eq!(peer.snapshot("INBOX").await?.len(), 3);
    assert!(a.discard_op(ops[0].id)?);
    assert!(a.ops(acc)?.is_empty());
    sync(&a, &account).await?;
    assert_cache_equals_server(&a, &account, "INBOX", &mut peer).await?;
    assert_eq!(id_of(&a, acc, "INBOX", 2)?, id, "back in INBOX under its old UID and id");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_move_a_move_is_copy_then_expunge_of_that_uid_only() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions {
        capabilities: satchel_tests::ServerKind::CondStoreOnly,
        ..DovecotOptions::default()
    })?;
    let account = dovecot.account("alice");
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..6u64 {
        peer.append("INBOX", None, &mail::message(n, 15)).await?;
    }
    // Another client's message marked \Deleted but not expunged: it must survive.
    peer.store("INBOX", "6", "+FLAGS (\\Deleted)").await?;
    let (_d, a) = temp_cache()?;
    sync(&a, &account).await?;
    let acc = a.ensure_account(&account.name, &account.email)?.id;
    let archive = folder_id(&a, acc, "Archive")?;
    let moved = id_of(&a, acc, "INBOX", 2)?;
    a.queue_move(moved, archive)?;
    a.queue_move(id_of(&a, acc, "INBOX", 3)?, archive)?;
    a.queue_flags(id_of(&a, acc, "INBOX", 1)?, &s(&["\\Flagged"]), &[])?;
    let summary = sync(&a, &account).await?;
    assert_eq!((summary.replayed, summary.conflicts, summary.failed_ops), (3, 0, 0));
    let inbox: Vec<u32> = peer.snapshot("INBOX").await?.iter().map(|m| m.uid).collect();
    assert_eq!(inbox, vec![1, 4, 5, 6], "only 2 and 3 left INBOX; 6 (\\Deleted by another client) stayed");
    assert_eq!(peer.snapshot("Archive").await?.len(), 2);
    for folder in ["INBOX", "Archive"] {
        assert_cache_equals_server(&a, &account, folder, &mut peer).await?;
    }
    let cached = a.message_headers(archive)?;
    assert!(cached.iter().any(|h| h.id == moved && h.uid.is_some()), "COPYUID mapped the moved message");
    let sent = dovecot.client_transcript("alice").to_uppercase();
    assert!(sent.contains("UID COPY") && sent.contains("UID EXPUNGE"), "the COPY path was taken");
    assert!(!sent.contains("UID MOVE"), "no MOVE to a server without it");
    assert!(sent.contains("UNCHANGEDSINCE"), "flag writes are conditional with CONDSTORE");
    assert!(!sent.lines().any(|l| l.split_whitespace().nth(1) == Some("EXPUNGE")), "never a bare EXPUNGE");
    Ok(())
}
