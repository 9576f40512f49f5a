//! Sending through Satchel's outbox to a real Postfix (STARTTLS + AUTH via
//! Dovecot) that delivers into the test Dovecot: what the recipient gets,
//! what lands in the sender's Sent and Drafts folders, and that no message
//! is lost or sent twice when the server is down or a sender died.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use mail_parser::{MessageParser, MimeHeaders};
use satchel_cache::Cache;
use satchel_core::config::AccountConfig;
use satchel_core::send::{self, Attachment, Compose, Source, drafts, reply};
use satchel_tests::{Dovecot, DovecotOptions, Peer, Postfix, sync, temp_cache};

fn start() -> Result<(Dovecot, Postfix)> {
    let dovecot = Dovecot::start(DovecotOptions { smtp: true, ..DovecotOptions::default() })?;
    let postfix = Postfix::start(&dovecot)?;
    Ok((dovecot, postfix))
}

fn to_bob(subject: &str) -> Compose {
    Compose {
        to: "Bob <bob@example.test>".into(),
        subject: subject.into(),
        body: format!("Hello Bob,\nthis is {subject}.\n"),
        ..Compose::default()
    }
}

/// Every message file in `user`'s `mailbox`, parsed once delivered.
fn maildir_messages(dovecot: &Dovecot, user: &str, mailbox: &str) -> Vec<Vec<u8>> {
    let dir = dovecot.maildir(user, mailbox);
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(dir.join(sub)) {
            for e in entries.flatten() {
                if let Ok(bytes) = std::fs::read(e.path()) {
                    out.push(bytes);
                }
            }
        }
    }
    out
}

/// The copies of Message-ID `id` in bob's INBOX, waiting up to 10 s for
/// the first (delivery is asynchronous), then a moment for any second.
async fn delivered(dovecot: &Dovecot, postfix: &Postfix, id: &str) -> Result<Vec<Vec<u8>>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let found = delivered_now(dovecot, id);
        if !found.is_empty() {
            postfix.wait_queue_empty(Duration::from_secs(5))?;
            tokio::time::sleep(Duration::from_millis(300)).await;
            return Ok(delivered_now(dovecot, id));
        }
        if Instant::now() > deadline {
            return Ok(found);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn setup() -> Result<(Dovecot, Postfix, tempfile::TempDir, Arc<Cache>, AccountConfig)> {
    let (dovecot, postfix) = start()?;
    let account = postfix.account_with_smtp(&dovecot, "alice");
    let (dir, cache) = temp_cache()?;
    sync(&cache, &account).await?;
    Ok((dovecot, postfix, dir, cache, account))
}

async fn queue(cache: &Arc<Cache>, account: &AccountConfig, c: &Compose) -> Result<(i64, String)> {
    let id = send::queue(cache, account, c, None, false).await?;
    let item = cache.outbox_item(id)?.context("the queued message is in the outbox")?;
    assert_eq!(item.state, "queued");
    Ok((id, item.message_id))
}

async fn server_uids(dovecot: &Dovecot, user: &str, mailbox: &str, query: &str) -> Result<Vec<u32>> {
    let mut peer = Peer::connect(dovecot, user).await?;
    let uids = peer.uid_search(mailbox, query).await?;
    peer.logout().await?;
    Ok(uids)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sent_message_arrives_once_and_is_filed_in_sent() -> Result<()> {
    let (dovecot, postfix, _dir, cache, account) = setup().await?;
    let (id, message_id) = queue(&cache, &account, &to_bob("plain send — ünïcode")).await?;
    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!((report.sent, report.failed, report.uncertain, report.waiting), (1, 0, 0, 0), "{report:?}\n{}", postfix.log());
    assert!(cache.outbox_item(id)?.is_none(), "a sent message leaves the outbox");

    let got = delivered(&dovecot, &postfix, &message_id).await?;
    assert_eq!(got.len(), 1, "bob has the message exactly once\n{}", postfix.log());
    let parsed = MessageParser::new().parse(&got[0]).context("parsing what bob got")?;
    assert_eq!(parsed.subject(), Some("plain send — ünïcode"));
    assert!(parsed.body_text(0).is_some_and(|t| t.contains("Hello Bob,")));
    assert!(!String::from_utf8_lossy(&got[0]).lines().any(|l| l.starts_with("Subject:") && !l.is_ascii()), "headers are encoded");

    // The copy reaches alice's Sent on the next sync, once, and stays once.
    sync(&cache, &account).await?;
    sync(&cache, &account).await?;
    let query = format!("HEADER Message-ID {message_id}");
    assert_eq!(server_uids(&dovecot, "alice", "Sent", &query).await?.len(), 1, "one copy in Sent");
    assert_eq!(cache.pending_count(cache.account_by_name(&account.name)?.id)?, 0);
    // Nothing left to send: another pass sends nothing again.
    let again = send::outbox::flush(&cache, &account).await?;
    assert_eq!(again.sent, 0);
    assert_eq!(delivered(&dovecot, &postfix, &message_id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_threads_and_marks_the_original_answered() -> Result<()> {
    let (dovecot, postfix, _dir, cache, account) = setup().await?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.append(
        "INBOX",
        None,
        b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Re: Lunch\r\nMessage-ID: <orig@example.test>\r\nReferences: <root@example.test>\r\n\r\nNoon at the usual place?\r\n",
    )
    .await?;
    peer.logout().await?;
    sync(&cache, &account).await?;
    let account_id = cache.account_by_name(&account.name)?.id;
    let inbox = cache.mailbox_by_name(account_id, "INBOX")?;
    let original = cache.read(|r| r.message_ids(inbox.id))?.into_iter().next().context("the original is cached")?;

    let mut c = reply::start(&cache, Some(&account), &account.email, original, reply::Kind::Reply, false).await?;
    assert_eq!(c.to, "Bob <bob@example.test>");
    assert_eq!(c.subject, "Re: Lunch", "Re: is not added twice");
    assert!(c.body.contains("> Noon at the usual place?"), "{}", c.body);
    c.body = format!("Yes, see you there.{}", c.body);
    let (_, message_id) = queue(&cache, &account, &c).await?;
    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!(report.sent, 1, "{report:?}");

    let got = delivered(&dovecot, &postfix, &message_id).await?;
    assert_eq!(got.len(), 1);
    let parsed = MessageParser::new().parse(&got[0]).context("parsing the reply")?;
    assert_eq!(parsed.in_reply_to().as_text(), Some("orig@example.test"));
    let refs: Vec<String> = parsed.references().as_text_list().unwrap_or_default().iter().map(|s| s.to_string()).collect();
    assert_eq!(refs, vec!["root@example.test", "orig@example.test"]);
    assert_eq!(parsed.subject(), Some("Re: Lunch"));

    sync(&cache, &account).await?;
    assert_eq!(server_uids(&dovecot, "alice", "INBOX", "ANSWERED").await?.len(), 1, "the original is \\Answered on the server");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_attachment_arrives_byte_for_byte() -> Result<()> {
    let (dovecot, postfix, dir, cache, account) = setup().await?;
    // 300 KB of every byte value, so any re-encoding slip shows.
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let path = dir.path().join("report 2026 (final).bin");
    std::fs::write(&path, &bytes)?;
    let mut c = to_bob("with an attachment");
    c.attachments.push(Attachment {
        name: "report 2026 (final).bin".into(),
        mime_type: send::compose::mime_for("report.bin"),
        source: Source::File(path.clone()),
    });
    let (_, message_id) = queue(&cache, &account, &c).await?;
    assert_eq!(send::outbox::flush(&cache, &account).await?.sent, 1);
    let got = delivered(&dovecot, &postfix, &message_id).await?;
    assert_eq!(got.len(), 1);
    let parsed = MessageParser::new().parse(&got[0]).context("parsing")?;
    let attachment = parsed.attachment(0).context("the attachment is there")?;
    assert_eq!(attachment.attachment_name(), Some("report 2026 (final).bin"));
    assert!(attachment.contents() == bytes.as_slice(), "attachment bytes differ after the round trip");
    Ok(())
}

/// Forward: the original's attachments (fetched from the server, as only
/// headers are cached) go along byte for byte, Fwd: is added once, and the
/// original is marked $Forwarded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forward_keeps_the_attachments_and_marks_the_original() -> Result<()> {
    let (dovecot, postfix, _dir, cache, account) = setup().await?;
    let pdf: Vec<u8> = (0..40_000u32).map(|i| (i.wrapping_mul(40_503) >> 7) as u8).collect();
    let original = {
        use lettre::message::{Attachment as Part, MultiPart, SinglePart, header::ContentType};
        let pdf_type = ContentType::parse("application/pdf").context("content type")?;
        lettre::Message::builder()
            .from("Carol <carol@example.test>".parse().context("from")?)
            .to("alice@example.test".parse().context("to")?)
            .subject("Tickets")
            .message_id(Some("<tickets@example.test>".into()))
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain("Both tickets attached.".to_string()))
                    .singlepart(Part::new("tickets.pdf".into()).body(pdf.clone(), pdf_type)),
            )
            .context("building the original")?
            .formatted()
    };
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.append("INBOX", None, &original).await?;
    peer.logout().await?;
    sync(&cache, &account).await?;
    let account_id = cache.account_by_name(&account.name)?.id;
    let inbox = cache.mailbox_by_name(account_id, "INBOX")?;
    let id = cache.read(|r| r.message_ids(inbox.id))?.into_iter().next().context("the original is cached")?;

    let mut c = reply::start(&cache, Some(&account), &account.email, id, reply::Kind::Forward, false).await?;
    assert_eq!(c.subject, "Fwd: Tickets");
    assert!(c.body.contains("Both tickets attached."), "the forwarded text is quoted: {}", c.body);
    assert_eq!(c.attachments.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["tickets.pdf"]);
    c.to = "Bob <bob@example.test>".into();
    let (_, message_id) = queue(&cache, &account, &c).await?;
    assert_eq!(send::outbox::flush(&cache, &account).await?.sent, 1);

    let got = delivered(&dovecot, &postfix, &message_id).await?;
    assert_eq!(got.len(), 1, "bob has the forward once");
    let parsed = MessageParser::new().parse(&got[0]).context("parsing the forward")?;
    assert_eq!(parsed.subject(), Some("Fwd: Tickets"));
    let attachment = parsed.attachment(0).context("the attachment went along")?;
    assert_eq!(attachment.attachment_name(), Some("tickets.pdf"));
    assert!(attachment.contents() == pdf.as_slice(), "forwarded attachment bytes differ");
    sync(&cache, &account).await?;
    assert_eq!(server_uids(&dovecot, "alice", "INBOX", "KEYWORD $Forwarded").await?.len(), 1, "the original is $Forwarded");
    Ok(())
}

/// A message over the server's size limit is kept, marked not sent, with
/// the server's words; nothing reaches bob.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_too_big_for_the_server_is_kept_with_its_words() -> Result<()> {
    let dovecot = Dovecot::start(DovecotOptions { smtp: true, ..DovecotOptions::default() })?;
    let postfix = Postfix::start_with(&dovecot, "message_size_limit = 100000")?;
    let account = postfix.account_with_smtp(&dovecot, "alice");
    let (dir, cache) = temp_cache()?;
    sync(&cache, &account).await?;
    let path = dir.path().join("scan.bin");
    std::fs::write(&path, vec![7u8; 200_000])?;
    let mut c = to_bob("too big");
    c.attachments.push(Attachment { name: "scan.bin".into(), mime_type: "application/octet-stream".into(), source: Source::File(path) });
    let (id, message_id) = queue(&cache, &account, &c).await?;
    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!((report.sent, report.failed), (0, 1), "{report:?}");
    let item = cache.outbox_item(id)?.context("kept in the outbox")?;
    assert_eq!(item.state, "failed");
    let error = item.last_error.unwrap_or_default();
    assert!(error.contains("552") && error.contains("too big"), "the server's words are kept: {error}");
    assert!(cache.outgoing_raw(id)?.is_some_and(|raw| raw.len() > 200_000), "the whole message is kept");
    assert!(delivered_now(&dovecot, &message_id).is_empty());
    Ok(())
}

/// A wrong password: nothing is sent, the message waits with the server's
/// refusal, and once the password is right it goes, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_keeps_the_message_until_retried() -> Result<()> {
    let (dovecot, postfix, _dir, cache, account) = setup().await?;
    let mut wrong = account.clone();
    wrong.password_command = Some("printf not-the-password".into());
    let (id, message_id) = queue(&cache, &wrong, &to_bob("after a login failure")).await?;
    let report = send::outbox::flush(&cache, &wrong).await?;
    assert_eq!(report.sent, 0, "{report:?}");
    let item = cache.outbox_item(id)?.context("kept in the outbox")?;
    let error = item.last_error.unwrap_or_default();
    assert!(error.contains("535"), "the server's refusal is kept: {error}");
    // Nothing went out, so it waits (the engine tries again after a pause
    // of a minute) and goes by itself once the password is fixed.
    assert_eq!(item.state, "queued", "a refused login leaves the message waiting");
    assert!(delivered_now(&dovecot, &message_id).is_empty());
    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!(report.sent, 1, "{report:?}");
    assert_eq!(delivered(&dovecot, &postfix, &message_id).await?.len(), 1);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_smtp_down_the_message_waits_with_the_reason_and_goes_once_later() -> Result<()> {
    let (dovecot, postfix, _dir, cache, mut account) = setup().await?;
    let real_port = account.smtp.as_ref().map(|s| s.port).context("smtp set")?;
    // A port nothing listens on: the "server down" / disconnected case.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    if let Some(s) = account.smtp.as_mut() {
        s.port = closed;
    }
    let (id, message_id) = queue(&cache, &account, &to_bob("queued while down")).await?;
    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!((report.sent, report.waiting), (0, 1));
    let item = cache.outbox_item(id)?.context("still in the outbox")?;
    assert_eq!(item.state, "queued");
    let reason = item.last_error.unwrap_or_default();
    assert!(reason.contains("cannot reach") && reason.contains(&closed.to_string()), "{reason}");

    // Back online: it goes, once; further passes send nothing.
    if let Some(s) = account.smtp.as_mut() {
        s.port = real_port;
    }
    assert_eq!(send::outbox::flush(&cache, &account).await?.sent, 1);
    assert_eq!(send::outbox::flush(&cache, &account).await?.sent, 0);
    assert_eq!(delivered(&dovecot, &postfix, &message_id).await?.len(), 1, "delivered exactly once");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_recipient_keeps_the_message_with_the_servers_words() -> Result<()> {
    let (_dovecot, _postfix, _dir, cache, account) = setup().await?;
    let c = Compose { to: "nobody@example.test".into(), ..to_bob("to nobody") };
    let (id, _) = queue(&cache, &account, &c).await?;
    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!(report.failed, 1, "{report:?}");
    let item = cache.outbox_item(id)?.context("kept in the outbox")?;
    assert_eq!(item.state, "failed");
    let words = item.last_error.unwrap_or_default();
    assert!(words.contains("nobody@example.test") && words.contains("550"), "{words}");
    // Not retried on its own.
    assert_eq!(send::outbox::flush(&cache, &account).await?.failed, 0);
    Ok(())
}

/// A sender that died after the server accepted the message (SMTP DATA
/// answered) but before recording it leaves its row `sending`, held by a
/// pid that no longer runs. The next pass must not send it again on its
/// own: it becomes "may have been sent", and goes only on Resend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_interrupted_by_a_crash_is_not_resent_automatically() -> Result<()> {
    let (dovecot, postfix, _dir, cache, account) = setup().await?;
    let (id, message_id) = queue(&cache, &account, &to_bob("interrupted")).await?;
    let mut gone = std::process::Command::new("true").spawn()?;
    let dead_pid = gone.id();
    gone.wait()?;
    let claimed = cache.claim_outgoing(id, dead_pid)?.context("the dead sender had claimed it")?;
    // ...and had got as far as the server accepting the message (its DATA
    // answered 250) before dying, so nothing recorded that.
    deliver_as_the_dead_sender(&dovecot, &postfix, &claimed).await?;
    assert_eq!(delivered(&dovecot, &postfix, &message_id).await?.len(), 1);

    let report = send::outbox::flush(&cache, &account).await?;
    assert_eq!((report.sent, report.waiting), (0, 0), "{report:?}");
    let item = cache.outbox_item(id)?.context("kept")?;
    assert_eq!(item.state, "uncertain");
    assert!(item.last_error.unwrap_or_default().contains("may have been sent"));
    assert_eq!(send::outbox::flush(&cache, &account).await?.sent, 0);
    postfix.wait_queue_empty(Duration::from_secs(5))?;
    assert_eq!(delivered_now(&dovecot, &message_id).len(), 1, "not sent again on its own");

    // The user checked with the recipient and chose Resend: a second copy,
    // because the user asked for it.
    assert!(cache.retry_outgoing(id)?);
    assert_eq!(send::outbox::flush(&cache, &account).await?.sent, 1);
    postfix.wait_queue_empty(Duration::from_secs(5))?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while delivered_now(&dovecot, &message_id).len() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(delivered_now(&dovecot, &message_id).len(), 2);
    Ok(())
}

/// What the dead process did before dying: the whole SMTP transaction.
async fn deliver_as_the_dead_sender(dovecot: &Dovecot, postfix: &Postfix, m: &satchel_cache::Claimed) -> Result<()> {
    use lettre::address::Envelope;
    use lettre::transport::smtp::authentication::Credentials;
    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
    let pem = std::fs::read(&dovecot.ca_file)?;
    let tls = TlsParameters::builder("127.0.0.1".into()).add_root_certificate(Certificate::from_pem(&pem)?).build_rustls()?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(postfix.submission_port)
        .tls(Tls::Required(tls))
        .credentials(Credentials::new("alice".into(), dovecot.password("alice")))
        .build();
    let to = m.recipients.iter().map(|r| r.parse()).collect::<std::result::Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(Some(m.envelope_from.parse()?), to)?;
    transport.send_raw(&envelope, &m.raw).await?;
    Ok(())
}

fn delivered_now(dovecot: &Dovecot, id: &str) -> Vec<Vec<u8>> {
    maildir_messages(dovecot, "bob", "INBOX")
        .into_iter()
        .filter(|m| MessageParser::new().parse_headers(m).and_then(|p| p.message_id().map(|i| format!("<{i}>"))).as_deref() == Some(id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_draft_is_saved_and_replaced_on_the_server() -> Result<()> {
    let (dovecot, _postfix, _dir, cache, account) = setup().await?;
    let account_id = cache.account_by_name(&account.name)?.id;
    let mut c = to_bob("draft version one");
    let draft = drafts::save(&cache, account_id, None, &c).await?;
    drafts::file(&cache, &account, draft, false).await?;
    sync(&cache, &account).await?;
    assert_eq!(server_uids(&dovecot, "alice", "Drafts", "ALL").await?.len(), 1);
    assert_eq!(server_uids(&dovecot, "alice", "Drafts", "SUBJECT \"version one\"").await?.len(), 1);

    c.subject = "draft version two".into();
    c.bcc = "carol@example.test".into();
    drafts::save(&cache, account_id, Some(draft), &c).await?;
    assert_eq!(drafts::load(&cache, draft).await?.map(|d| d.subject), Some("draft version two".into()));
    drafts::file(&cache, &account, draft, false).await?;
    sync(&cache, &account).await?;
    sync(&cache, &account).await?;
    assert_eq!(server_uids(&dovecot, "alice", "Drafts", "NOT DELETED").await?.len(), 1, "the old version is gone");
    assert_eq!(server_uids(&dovecot, "alice", "Drafts", "SUBJECT \"version two\"").await?.len(), 1);
    assert_eq!(server_uids(&dovecot, "alice", "Drafts", "DRAFT").await?.len(), 1, "marked \\Draft");

    // Sending it removes the draft and its copy.
    send::queue(&cache, &account, &c, Some(draft), false).await?;
    sync(&cache, &account).await?;
    assert_eq!(server_uids(&dovecot, "alice", "Drafts", "NOT DELETED").await?.len(), 0);
    assert!(drafts::load(&cache, draft).await?.is_none());
    Ok(())
}

#[test]
fn a_bad_address_is_a_clear_error() {
    let account = AccountConfig {
        name: "t".into(),
        email: "alice@example.test".into(),
        imap: satchel_core::config::ImapSettings {
            host: "127.0.0.1".into(),
            port: 993,
            security: satchel_core::config::Security::Tls,
            username: "alice".into(),
            tls_ca_file: None,
            allow_plaintext: false,
            compress: true,
        },
        password_command: None,
        display_name: Some("Älice".into()),
        smtp: None,
    };
    let c = Compose { to: "bob at example".into(), ..to_bob("x") };
    let err = send::compose::build(&account, &c, Vec::new(), "<x@example.test>", false).err().map(|e| e.to_string());
    assert!(err.as_deref().unwrap_or("").contains("To: \"bob at example\""), "{err:?}");
    let none = Compose { to: String::new(), ..to_bob("x") };
    assert!(send::compose::build(&account, &none, Vec::new(), "<x@example.test>", false).is_err());
    let ok = send::compose::build(&account, &to_bob("ok"), Vec::new(), "<x@example.test>", false);
    let Ok(built) = ok else { panic!("a good message builds") };
    let text = String::from_utf8_lossy(&built.raw);
    assert!(text.contains("From: =?utf-8?b?") || text.contains("From: =?UTF-8?"), "the name is encoded: {text}");
}
