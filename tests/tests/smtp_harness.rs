//! The SMTP harness itself: a private Postfix in front of the test Dovecot
//! takes mail from alice (SMTP AUTH over STARTTLS or implicit TLS) and
//! delivers it into bob's INBOX. Uses lettre directly, not Satchel's code,
//! so these tests say whether the harness works before the client is tried
//! against it. Nothing is skipped: a missing package fails with what to
//! install.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use satchel_tests::{Dovecot, DovecotOptions, Peer, Postfix};

/// Delivery is asynchronous (queue, then LMTP): how long to poll for it.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);

fn start() -> Result<(Dovecot, Postfix)> {
    let dovecot = Dovecot::start(DovecotOptions { smtp: true, ..DovecotOptions::default() })?;
    let started = Instant::now();
    let postfix = Postfix::start(&dovecot)?;
    eprintln!("postfix started in {:?}", started.elapsed());
    Ok((dovecot, postfix))
}

/// A lettre transport to `postfix` as `user`, trusting only the test CA.
fn transport(
    dovecot: &Dovecot,
    postfix: &Postfix,
    implicit_tls: bool,
    user: &str,
    password: &str,
) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let pem = std::fs::read(&dovecot.ca_file).context("reading the test CA")?;
    let tls = TlsParameters::builder("127.0.0.1".into())
        .add_root_certificate(Certificate::from_pem(&pem)?)
        .build_rustls()?;
    let (port, tls) =
        if implicit_tls { (postfix.smtps_port, Tls::Wrapper(tls)) } else { (postfix.submission_port, Tls::Required(tls)) };
    Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(port)
        .tls(tls)
        .credentials(Credentials::new(user.into(), password.into()))
        .timeout(Some(Duration::from_secs(10)))
        .build())
}

fn message(message_id: &str, subject: &str) -> Result<Message> {
    Ok(Message::builder()
        .from("Alice <alice@example.test>".parse::<Mailbox>()?)
        .to("Bob <bob@example.test>".parse::<Mailbox>()?)
        .subject(subject)
        .message_id(Some(message_id.to_string()))
        .body(format!("Sent through the test Postfix: {subject}\r\n"))?)
}

/// Polls bob's INBOX until the message with `message_id` (accepted by
/// Postfix at `sent`) is there, then checks it is there once, after
/// Postfix's queue has emptied (so a second copy would have had its chance
/// to arrive).
async fn assert_delivered_once(
    dovecot: &Dovecot,
    postfix: &Postfix,
    bob: &mut Peer,
    message_id: &str,
    sent: Instant,
) -> Result<()> {
    let query = format!("HEADER Message-ID {message_id}");
    while bob.uid_search("INBOX", &query).await?.is_empty() {
        if sent.elapsed() > DELIVERY_TIMEOUT {
            bail!(
                "{message_id} not in bob's INBOX after {DELIVERY_TIMEOUT:?}\nqueue: {}\npostfix log: {}\ndovecot log: {}",
                postfix.queue().unwrap_or_else(|e| format!("{e:#}")),
                postfix.log(),
                dovecot.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("{message_id} in bob's INBOX {:?} after the send returned", sent.elapsed());
    postfix.wait_queue_empty(DELIVERY_TIMEOUT)?;
    let found = bob.uid_search("INBOX", &query).await?;
    let inbox = bob.snapshot("INBOX").await?;
    if found.len() != 1 || inbox.len() != 1 {
        bail!("expected {message_id} once in bob's INBOX; found UIDs {found:?}; INBOX: {inbox:?}");
    }
    Ok(())
}

async fn send_and_check(implicit_tls: bool) -> Result<()> {
    let (dovecot, postfix) = start()?;
    let smtp = transport(&dovecot, &postfix, implicit_tls, "alice", &dovecot.password("alice"))?;
    let kind = if implicit_tls { "implicit-tls" } else { "starttls" };
    let message_id = format!("<{kind}.{}@example.test>", std::process::id());
    // Logged in before sending, so the timing below is the delivery's.
    let mut bob = Peer::connect(&dovecot, "bob").await?;
    let started = Instant::now();
    let response = smtp
        .send(message(&message_id, &format!("Hello over {kind}"))?)
        .await
        .with_context(|| format!("sending as alice over {kind}; postfix log: {}", postfix.log()))?;
    if !response.is_positive() {
        bail!("send over {kind} answered {:?}", response);
    }
    let sent = Instant::now();
    eprintln!("{kind}: the send took {:?}", sent - started);
    assert_delivered_once(&dovecot, &postfix, &mut bob, &message_id, sent).await?;
    bob.logout().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_sends_to_bob_over_starttls() -> Result<()> {
    send_and_check(false).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_sends_to_bob_over_implicit_tls() -> Result<()> {
    send_and_check(true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_refused_with_535() -> Result<()> {
    let (dovecot, postfix) = start()?;
    for implicit_tls in [false, true] {
        let smtp = transport(&dovecot, &postfix, implicit_tls, "alice", "not-alices-password")?;
        let started = Instant::now();
        let result = smtp.send(message("<wrong-password@example.test>", "Should not go out")?).await;
        let Err(error) = result else {
            bail!("a wrong password was accepted (implicit TLS: {implicit_tls})");
        };
        let code = error.status().map(u16::from);
        if code != Some(535) {
            bail!("expected 535 for a wrong password (implicit TLS: {implicit_tls}), got {code:?}: {error}");
        }
        // Dovecot answers failures on a 500 ms timer; more would be its
        // failure delay or auth penalty, both off in the harness.
        eprintln!("refused in {:?}", started.elapsed());
        if started.elapsed() > Duration::from_secs(2) {
            bail!("refusing a wrong password took {:?}", started.elapsed());
        }
    }
    // With the auth penalty on, Dovecot would hold the next login from
    // 127.0.0.1 (every Postfix login) for seconds after these failures.
    let smtp = transport(&dovecot, &postfix, false, "alice", &dovecot.password("alice"))?;
    let started = Instant::now();
    if !smtp.test_connection().await.context("logging in with the right password")? {
        bail!("the right password did not log in after wrong ones");
    }
    if started.elapsed() > Duration::from_secs(2) {
        bail!("the right password took {:?} after wrong ones: auth penalty on?", started.elapsed());
    }
    if !postfix.queue_is_empty()? {
        bail!("a refused login left mail in the queue: {}", postfix.queue()?);
    }
    Ok(())
}

/// The account helper fills in the settings Satchel's sender will use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_with_smtp_points_at_this_postfix() -> Result<()> {
    let (dovecot, postfix) = start()?;
    let account = postfix.account_with_smtp(&dovecot, "alice");
    let smtp = account.smtp.context("no smtp settings")?;
    assert_eq!(account.email, "alice@example.test");
    assert_eq!((smtp.port, smtp.security), (postfix.submission_port, satchel_core::config::Security::Starttls));
    assert_eq!(smtp.tls_ca_file.as_deref(), Some(dovecot.ca_file.as_path()));
    let tls = postfix.smtp_settings(&dovecot, true);
    assert_eq!((tls.port, tls.security), (postfix.smtps_port, satchel_core::config::Security::Tls));
    Ok(())
}
