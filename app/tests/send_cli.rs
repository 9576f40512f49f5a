//! `satchel send` and `satchel outbox` as a user types them, against the
//! test Postfix and Dovecot: queue while working offline, send on going
//! online, a refused recipient kept with the server's words, Discard.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use satchel_tests::{Dovecot, DovecotOptions, Postfix};

fn satchel(profile: &std::path::Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .arg("--profile")
        .arg(profile)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the satchel binary runs");
    if let Some(mut input) = child.stdin.take() {
        let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    }
    child.wait_with_output().expect("satchel finishes")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "failed: {}", text(out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// Messages in bob's INBOX with this subject (waits up to 10 s for one).
fn in_bobs_inbox(dovecot: &Dovecot, subject: &str) -> usize {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut n = 0;
        for sub in ["new", "cur"] {
            for e in std::fs::read_dir(dovecot.maildir("bob", "INBOX").join(sub)).into_iter().flatten().flatten() {
                if std::fs::read_to_string(e.path()).is_ok_and(|t| t.lines().any(|l| l == format!("Subject: {subject}"))) {
                    n += 1;
                }
            }
        }
        if n > 0 || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `satchel account add` for alice of the test Dovecot, sending through
/// 127.0.0.1:`smtp_port` (STARTTLS unless `extra` says otherwise), then a
/// first sync.
fn add_alice(dovecot: &Dovecot, profile: &std::path::Path, smtp_port: u16, extra: &[&str]) -> anyhow::Result<()> {
    let (imap_port, smtp_port, ca) = (dovecot.imaps_port.to_string(), smtp_port.to_string(), dovecot.ca_file.display().to_string());
    let secret = profile.join("secret");
    std::fs::write(&secret, "alice-pw\n")?;
    let command = format!("cat {}", secret.display());
    let mut args = vec![
        "account", "add", "--name", "alice", "--email", "alice@example.test", "--imap-host", "127.0.0.1",
        "--imap-port", &imap_port, "--username", "alice", "--password-command", &command, "--tls-ca-file", &ca,
        "--smtp-host", "127.0.0.1", "--smtp-port", &smtp_port,
    ];
    args.extend_from_slice(extra);
    let added = satchel(profile, &args, None);
    assert!(added.status.success(), "{}", text(&added));
    assert!(satchel(profile, &["sync"], None).status.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_offline_then_online_and_a_refusal_stays_in_the_outbox() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions { smtp: true, ..DovecotOptions::default() })?;
    let postfix = Postfix::start(&dovecot)?;
    let dir = tempfile::tempdir()?;
    let profile = dir.path();
    add_alice(&dovecot, profile, postfix.submission_port, &["--display-name", "Alice Example"])?;

    // Working offline: queued, nothing sent.
    assert!(satchel(profile, &["offline", "on"], None).status.success());
    let queued = satchel(
        profile,
        &["send", "--to", "bob@example.test", "--subject", "From the train", "--body-stdin"],
        Some("Written offline.\n"),
    );
    assert!(queued.status.success(), "{}", text(&queued));
    assert!(text(&queued).contains("working offline"), "{}", text(&queued));
    let list = json(&satchel(profile, &["--json", "outbox"], None));
    assert_eq!(list[0]["state"], "queued", "{list}");
    let id = list[0]["id"].as_i64().unwrap_or(0).to_string();
    assert_eq!(in_bobs_inbox_now(&dovecot, "From the train"), 0);

    // Online again: it goes once, and the outbox empties.
    assert!(satchel(profile, &["offline", "off"], None).status.success());
    let retried = satchel(profile, &["outbox", "retry", "--id", &id], None);
    assert!(text(&retried).contains(": sent"), "{}", text(&retried));
    assert_eq!(in_bobs_inbox(&dovecot, "From the train"), 1);
    assert!(text(&satchel(profile, &["outbox"], None)).contains("the outbox is empty"));

    // A refused recipient: non-zero exit, the server's words, kept.
    let refused = satchel(
        profile,
        &["send", "--to", "nobody@example.test", "--subject", "Lost", "--body-stdin"],
        Some("Anyone?\n"),
    );
    assert!(!refused.status.success());
    assert!(text(&refused).contains("550"), "{}", text(&refused));
    let list = json(&satchel(profile, &["--json", "outbox"], None));
    assert_eq!(list[0]["state"], "failed", "{list}");
    let id = list[0]["id"].as_i64().unwrap_or(0).to_string();
    assert!(satchel(profile, &["outbox", "discard", "--id", &id], None).status.success());
    assert!(text(&satchel(profile, &["outbox"], None)).contains("the outbox is empty"));
    drop(postfix);
    Ok(())
}

fn in_bobs_inbox_now(dovecot: &Dovecot, subject: &str) -> usize {
    ["new", "cur"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(dovecot.maildir("bob", "INBOX").join(sub)).into_iter().flatten().flatten())
        .filter(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.lines().any(|l| l == format!("Subject: {subject}"))))
        .count()
}

/// A real `satchel send` process killed while it waits for the server's
/// verdict on a message the server has already taken (a proxy swallows
/// the "250 OK"): bob gets it once, `satchel outbox` then says "may have
/// been sent", and the next send does not send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sender_killed_after_the_server_took_the_message_does_not_resend_it() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions { smtp: true, ..DovecotOptions::default() })?;
    let postfix = Postfix::start(&dovecot)?;
    // Over implicit TLS; the message is ~300 KB, so once 200 KB went up
    // the next answer is the verdict on it.
    let proxy = satchel_tests::CuttingProxy::muting_after_upload(postfix.smtps_port, 200_000).await?;
    let dir = tempfile::tempdir()?;
    let profile = dir.path();
    add_alice(&dovecot, profile, proxy.port, &["--smtp-security", "tls"])?;
    let body = dir.path().join("long.txt");
    std::fs::write(&body, (0..6000).map(|i| format!("Line {i} of the minutes, kept long on purpose.\n")).collect::<String>())?;

    let mut sender = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .arg("--profile")
        .arg(profile)
        .args(["send", "--to", "bob@example.test", "--subject", "Killed mid-send", "--body-file"])
        .arg(&body)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    assert_eq!(in_bobs_inbox(&dovecot, "Killed mid-send"), 1, "the server took it\n{}", postfix.log());
    assert!(sender.try_wait()?.is_none(), "the sender is still waiting for the verdict");
    assert!(proxy.muted.load(std::sync::atomic::Ordering::SeqCst) > 0, "the verdict was held back");
    sender.kill()?;
    sender.wait()?;

    let listed = text(&satchel(profile, &["outbox"], None));
    assert!(listed.contains("may have been sent: \"Killed mid-send\""), "{listed}");
    // Another send goes out alone; the killed one waits for the user.
    let next = satchel(profile, &["send", "--to", "bob@example.test", "--subject", "Next one", "--body-stdin"], Some("Short.\n"));
    assert!(next.status.success(), "{}", text(&next));
    assert_eq!(in_bobs_inbox(&dovecot, "Next one"), 1);
    postfix.wait_queue_empty(Duration::from_secs(5))?;
    assert_eq!(in_bobs_inbox_now(&dovecot, "Killed mid-send"), 1, "not sent a second time");
    assert!(text(&satchel(profile, &["outbox"], None)).contains("may have been sent"));
    Ok(())
}
