//! The `satchel` command line against a real Dovecot: what a user types and
//! reads, including the one-line errors.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

use std::process::{Command, Output};

use satchel_tests::{Dovecot, DovecotOptions, Peer, mail};

fn satchel(profile: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_satchel"))
        .arg("--profile")
        .arg(profile)
        .args(args)
        .output()
        .expect("the satchel binary runs")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// Exit status non-zero, exactly one line on stderr starting with `error:`.
fn one_line_error(out: &Output) -> String {
    assert!(!out.status.success(), "expected failure, got: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    assert!(!err.contains("panicked") && !err.contains("backtrace"), "{err}");
    err
}

fn add_account(profile: &std::path::Path, dovecot: &Dovecot, name: &str, port: u16, extra: &[&str]) -> Output {
    let port = port.to_string();
    let ca = dovecot.ca_file.display().to_string();
    // The password lives in a file outside the profile, as with `pass`.
    let secret = dovecot.dir().join("alice.secret");
    std::fs::write(&secret, "alice-pw\n").expect("write the secret");
    let command = format!("cat {}", secret.display());
    let mut args = vec![
        "account", "add", "--name", name, "--email", "alice@example.test", "--imap-host", "127.0.0.1",
        "--imap-port", &port, "--username", "alice", "--password-command", &command, "--tls-ca-file", &ca,
    ];
    args.extend_from_slice(extra);
    satchel(profile, &args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_sync_folders_and_list() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..30 {
        peer.append("INBOX", if n % 2 == 0 { Some("(\\Seen)") } else { None }, &mail::message(n, 1)).await?;
    }
    let profile = tempfile::tempdir()?;
    let p = profile.path();
    assert!(add_account(p, &dovecot, "home", dovecot.imaps_port, &["--json"]).status.success());

    let accounts = json(&satchel(p, &["account", "list", "--json"]));
    assert_eq!(accounts[0]["name"], "home");
    assert_eq!(accounts[0]["password"], "command");

    let summary = json(&satchel(p, &["sync", "--json"]));
    for key in ["folders", "new", "changed", "vanished", "bytes_in", "bytes_out", "seconds"] {
        assert!(summary.get(key).is_some(), "summary has {key}: {summary}");
    }
    assert_eq!(summary["new"], 30);
    assert!(summary["folders"].as_u64() >= Some(5), "INBOX and the special folders: {summary}");
    assert!(summary["bytes_in"].as_u64() > Some(1000));

    let folders = json(&satchel(p, &["folders", "--json"]));
    let inbox = folders.as_array().and_then(|a| a.iter().find(|f| f["name"] == "INBOX")).cloned();
    let inbox = inbox.expect("INBOX listed");
    assert_eq!(inbox["total"], 30);
    assert_eq!(inbox["unread"], 15);
    let sent = folders.as_array().and_then(|a| a.iter().find(|f| f["name"] == "Sent")).cloned();
    assert_eq!(sent.map(|s| s["special_use"].clone()), Some(serde_json::json!("\\Sent")));

    let list = json(&satchel(p, &["list", "INBOX", "--limit", "5", "--json"]));
    let rows = list.as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0]["uid"], 30, "newest first");
    assert_eq!(rows[0]["subject"], mail::subject(29));
    assert_eq!(rows[1]["flags"], serde_json::json!(["\\Seen"]), "uid 29 was appended \\Seen");
    for key in ["uid", "flags", "date", "from", "subject", "size"] {
        assert!(rows[0].get(key).is_some(), "{key} in {}", rows[0]);
    }
    // The human form works too and the password is nowhere in the profile.
    let human = satchel(p, &["list", "INBOX", "--limit", "2"]);
    assert!(String::from_utf8_lossy(&human.stdout).contains(&mail::subject(29)));
    for entry in std::fs::read_dir(p)? {
        let bytes = std::fs::read(entry?.path())?;
        assert!(!bytes.windows(8).any(|w| w == b"alice-pw"), "password stored in the profile");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_queue_offline_and_go_out_with_sync() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    for n in 0..4 {
        peer.append("INBOX", None, &mail::message(n, 2)).await?;
    }
    let profile = tempfile::tempdir()?;
    let p = profile.path();
    assert!(add_account(p, &dovecot, "home", dovecot.imaps_port, &[]).status.success());
    json(&satchel(p, &["sync", "--json"]));
    let rows = json(&satchel(p, &["list", "INBOX", "--json"]));
    let id_of = |uid: u64| -> String {
        rows.as_array()
            .and_then(|r| r.iter().find(|m| m["uid"] == uid))
            .map(|m| m["id"].to_string())
            .unwrap_or_default()
    };
    let (one, two, three) = (id_of(1), id_of(2), id_of(3));
    let flagged = json(&satchel(p, &["flag", "--id", &one, "--add", "\\Flagged", "--add", "\\Seen", "--json"]));
    assert_eq!(flagged["flags"], serde_json::json!(["\\Seen", "\\Flagged"]));
    assert!(satchel(p, &["move", "--id", &two, "--to", "Archive"]).status.success());
    assert!(satchel(p, &["delete", "--id", &three]).status.success(), "to Trash");
    let pending = json(&satchel(p, &["pending", "--json"]));
    assert_eq!(pending.as_array().map(Vec::len), Some(3));
    // Offline view: the moved message shows in Archive with no UID yet.
    let archive = json(&satchel(p, &["list", "Archive", "--json"]));
    assert_eq!(archive[0]["id"].to_string(), two);
    assert_eq!(archive[0]["uid"], serde_json::Value::Null);

    let summary = json(&satchel(p, &["sync", "--json"]));
    assert_eq!(summary["replayed"], 3);
    assert_eq!(json(&satchel(p, &["pending", "--json"])).as_array().map(Vec::len), Some(0));
    let archive = json(&satchel(p, &["list", "Archive", "--json"]));
    assert_eq!(archive[0]["id"].to_string(), two, "same local id after the move");
    assert!(archive[0]["uid"].as_u64().is_some(), "the server's UID is recorded");
    assert_eq!(peer.snapshot("Trash").await?.len(), 1);
    let inbox = peer.snapshot("INBOX").await?;
    assert_eq!(inbox.len(), 2);
    assert_eq!(inbox[0].flags, vec!["\\Flagged".to_string(), "\\Seen".to_string()]);
    let conflicts = json(&satchel(p, &["conflicts", "--json"]));
    assert_eq!(conflicts.as_array().map(Vec::len), Some(0));
    let err = one_line_error(&satchel(p, &["move", "--id", "999999", "--to", "Archive"]));
    assert!(err.contains("no message with id 999999"), "{err}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_one_line_error() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let profile = tempfile::tempdir()?;
    let p = profile.path();
    assert!(add_account(p, &dovecot, "home", dovecot.imaps_port, &[]).status.success());

    let err = one_line_error(&satchel(p, &["sync", "--account", "nope"]));
    assert!(err.contains("no account named \"nope\""), "{err}");
    let err = one_line_error(&satchel(p, &["list", "Nowhere"]));
    assert!(err.contains("no folder named \"Nowhere\""), "{err}");
    let err = one_line_error(&satchel(p, &["sync", "--folder", "Nowhere"]));
    assert!(err.contains("no folder named \"Nowhere\""), "{err}");

    // Unreachable host (a closed loopback port).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    assert!(add_account(p, &dovecot, "closed", closed, &[]).status.success());
    let err = one_line_error(&satchel(p, &["sync", "--account", "closed"]));
    assert!(err.contains("cannot reach 127.0.0.1"), "{err}");

    // Wrong password.
    let port = dovecot.imaps_port.to_string();
    let ca = dovecot.ca_file.display().to_string();
    let out = satchel(p, &[
        "account", "add", "--name", "wrongpw", "--email", "a@example.test", "--imap-host", "127.0.0.1",
        "--imap-port", &port, "--username", "alice", "--password-command", "echo nope", "--tls-ca-file", &ca,
    ]);
    assert!(out.status.success());
    let err = one_line_error(&satchel(p, &["sync", "--account", "wrongpw"]));
    assert!(err.contains("login") && err.contains("failed"), "{err}");

    // Untrusted certificate: no CA file given.
    let out = satchel(p, &[
        "account", "add", "--name", "nocA", "--email", "a@example.test", "--imap-host", "127.0.0.1",
        "--imap-port", &port, "--username", "alice", "--password-command", "echo alice-pw",
    ]);
    assert!(out.status.success());
    let err = one_line_error(&satchel(p, &["sync", "--account", "nocA"]));
    assert!(err.contains("certificate is not trusted"), "{err}");

    // Plaintext without consent is refused at once.
    let plain_port = dovecot.imap_port.to_string();
    let err = one_line_error(&satchel(p, &[
        "account", "add", "--name", "plain", "--email", "a@example.test", "--imap-host", "127.0.0.1",
        "--imap-port", &plain_port, "--security", "plain", "--username", "alice", "--password-command", "echo x",
    ]));
    assert!(err.contains("--allow-plaintext"), "{err}");

    // A duplicate account name.
    let err = one_line_error(&add_account(p, &dovecot, "home", dovecot.imaps_port, &[]));
    assert!(err.contains("already exists"), "{err}");
    Ok(())
}

#[test]
fn demo_mailbox_opens_without_account_or_network() {
    let profile = tempfile::tempdir().expect("tempdir");
    // With a subcommand, --demo runs it on the demo mailbox (the window is
    // tested in gui.rs).
    let out = satchel(profile.path(), &["--demo", "folders"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("INBOX") && text.contains("240"), "{text}");
    let list = satchel(profile.path(), &["--demo", "list", "INBOX", "--limit", "300"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(listed.contains("会議の議事録") || listed.contains("Réunion"), "non-ASCII subjects show: {listed}");
    // Opening it again reuses the cache instead of adding messages twice.
    let again = satchel(profile.path(), &["--demo", "folders"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("240"));
    assert!(!String::from_utf8_lossy(&again.stdout).contains("480"));
    // A demo message reads from the cache (the demo has no server).
    let shown = satchel(profile.path(), &["--demo", "show", "--id", "1"]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("generated for Satchel's demo mailbox"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_fetches_caches_and_answers_offline() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let with_attachment = "From: Erika <erika@example.test>\r\nTo: alice@example.test\r\nSubject: Zugfahrt\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: multipart/alternative; boundary=\"a\"\r\n\r\n--a\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nDer Zug f=E4hrt um 7 Uhr nach M=FCnchen.\r\n--a\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<p>HTML version</p>\r\n--a--\r\n--b\r\nContent-Type: text/plain; name=\"x.txt\"\r\n\
Content-Disposition: attachment; filename=\"../../evil.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
aGVsbG8gYXR0YWNobWVudCBieXRlcw==\r\n--b--\r\n";
    peer.append("INBOX", None, with_attachment.as_bytes()).await?;
    peer.append("INBOX", None, &mail::message(1, 9)).await?;
    let profile = tempfile::tempdir()?;
    let p = profile.path();
    assert!(add_account(p, &dovecot, "home", dovecot.imaps_port, &[]).status.success());
    json(&satchel(p, &["sync", "--json"]));
    let rows = json(&satchel(p, &["list", "INBOX", "--json"]));
    let id = |uid: u64| rows.as_array().and_then(|r| r.iter().find(|m| m["uid"] == uid)).map(|m| m["id"].to_string()).unwrap_or_default();

    // Online: fetched by section, decoded (quoted-printable, Latin-1).
    let saved = tempfile::tempdir()?;
    let dir = saved.path().display().to_string();
    let shown = json(&satchel(p, &["show", "--id", &id(1), "--save-attachments", &dir, "--json"]));
    assert_eq!(shown["text"].as_str().map(str::trim), Some("Der Zug fährt um 7 Uhr nach München."));
    assert_eq!(shown["available_offline"], true);
    assert_eq!(std::fs::read(saved.path().join("evil.txt"))?, b"hello attachment bytes", "saved, name made safe");
    assert!(!saved.path().join("../evil.txt").exists());
    // Reading does not mark the message read (BODY.PEEK).
    assert!(peer.snapshot("INBOX").await?[0].flags.is_empty());

    // Offline: the cached body is there; the other one is "not available".
    assert!(satchel(p, &["offline", "on"]).status.success());
    let again = json(&satchel(p, &["show", "--id", &id(1), "--json"]));
    assert_eq!(again["text"], shown["text"]);
    let other = json(&satchel(p, &["show", "--id", &id(2), "--json"]));
    assert_eq!(other["available_offline"], false);
    assert_eq!(other["text"], serde_json::Value::Null);
    let human = satchel(p, &["show", "--id", &id(2)]);
    assert!(human.status.success() && String::from_utf8_lossy(&human.stdout).contains("not available offline"));
    // Search, offline, finds words of the cached body (diacritics folded).
    let hits = json(&satchel(p, &["search", "munchen", "--json"]));
    assert_eq!(hits.as_array().map(Vec::len), Some(1));
    assert_eq!(hits[0]["subject"], "Zugfahrt");
    // Working offline, sync refuses to connect and says how to go online.
    let err = one_line_error(&satchel(p, &["sync"]));
    assert!(err.contains("offline off"), "{err}");
    assert!(satchel(p, &["offline", "off"]).status.success());
    assert!(satchel(p, &["sync"]).status.success());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prefetch_keeps_a_folder_readable_offline_and_search_merges_the_server() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs() as i64;
    // Two recent messages (one with a 30 KB attachment) and one from last year.
    let recent = |subject: &str, body: &str, attachment: bool| {
        let date = satchel_tests::mail::rfc2822_date(now - 3600);
        let mut m = format!("From: a@example.test\r\nDate: {date}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n");
        if attachment {
            let blob = satchel_tests::mail::base64(&vec![7u8; 30_000]);
            m.push_str(&format!("Content-Type: multipart/mixed; boundary=\"z\"\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\n{body}\r\n--z\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"blob.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{blob}\r\n--z--\r\n"));
        } else {
            m.push_str(&format!("Content-Type: text/plain\r\n\r\n{body}\r\n"));
        }
        m.into_bytes()
    };
    peer.append("INBOX", None, &recent("Ferry times", "The ferry leaves at nine from pier four.", true)).await?;
    peer.append("INBOX", None, &recent("Museum", "Closed on Mondays, open late on Thursdays.", false)).await?;
    let old = format!("From: b@example.test\r\nDate: {}\r\nSubject: Old plan\r\n\r\nThe ferry was cancelled.\r\n", satchel_tests::mail::rfc2822_date(now - 400 * 86400));
    peer.append("INBOX", None, old.as_bytes()).await?;

    let profile = tempfile::tempdir()?;
    let p = profile.path();
    assert!(add_account(p, &dovecot, "home", dovecot.imaps_port, &[]).status.success());
    json(&satchel(p, &["sync", "--json"]));
    // Online search finds the old message's body on the server only.
    let hits = json(&satchel(p, &["search", "ferry", "--json"]));
    let sources: Vec<(String, String)> = hits
        .as_array()
        .map(|a| a.iter().map(|h| (h["subject"].as_str().unwrap_or("").to_string(), h["source"].as_str().unwrap_or("").to_string())).collect())
        .unwrap_or_default();
    assert!(sources.contains(&("Ferry times".into(), "local".into())), "subject match is local: {sources:?}");
    assert!(sources.contains(&("Old plan".into(), "server".into())), "body match comes from the server: {sources:?}");

    assert!(satchel(p, &["offline-policy", "INBOX", "--days", "30", "--max-attachment-kb", "64"]).status.success());
    let done = json(&satchel(p, &["prefetch", "--json"]));
    assert_eq!(done["messages"], 2, "the two recent ones, not last year's");
    assert_eq!(done["attachments"], 1);
    let space = json(&satchel(p, &["space", "--json"]));
    let inbox = space["folders"].as_array().and_then(|a| a.iter().find(|f| f["folder"] == "INBOX")).cloned().unwrap_or_default();
    assert_eq!(inbox["bodies_cached"], 2);
    assert!(inbox["bytes"].as_u64() > Some(30_000));

    // Offline: prefetched bodies read, and search finds their words.
    assert!(satchel(p, &["offline", "on"]).status.success());
    let rows = json(&satchel(p, &["list", "INBOX", "--json"]));
    for r in rows.as_array().cloned().unwrap_or_default() {
        let shown = json(&satchel(p, &["show", "--id", &r["id"].to_string(), "--json"]));
        let expected = r["subject"] != "Old plan";
        assert_eq!(shown["available_offline"], expected, "{}", r["subject"]);
    }
    let hits = json(&satchel(p, &["search", "mondays", "--json"]));
    assert_eq!(hits.as_array().map(Vec::len), Some(1));
    // Purging outside the policy (none now) frees the space.
    assert!(satchel(p, &["offline", "off"]).status.success());
    assert!(satchel(p, &["offline-policy", "INBOX", "--off"]).status.success());
    let purged = json(&satchel(p, &["space", "--purge", "--json"]));
    assert!(purged["purged_bytes"].as_u64() > Some(30_000), "{purged}");
    let hits = json(&satchel(p, &["search", "mondays", "--local", "--json"]));
    assert_eq!(hits.as_array().map(Vec::len), Some(0), "purged words leave the index");
    Ok(())
}

/// The OS keyring holds the password, and nothing in the profile does. Needs
/// a Secret Service: `scripts/test.sh` runs the suite inside a D-Bus session
/// with gnome-keyring-daemon unlocked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_stdin_goes_to_the_os_keyring_and_nowhere_else() -> anyhow::Result<()> {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "no D-Bus session: run the tests with scripts/test.sh, which starts one with gnome-keyring-daemon \
             (Debian packages dbus and gnome-keyring)"
        );
    }
    // A password no other test uses, so finding it anywhere means a leak.
    let secret = format!("kr-{}-pw", std::process::id());
    let dovecot = Dovecot::start(DovecotOptions { users: vec![("alice".into(), secret.clone())], ..DovecotOptions::default() })?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.append("INBOX", None, &mail::message(0, 3)).await?;
    let profile = tempfile::tempdir()?;
    let p = profile.path();
    let port = dovecot.imaps_port.to_string();
    let ca = dovecot.ca_file.display().to_string();
    let mut child = Command::new(env!("CARGO_BIN_EXE_satchel"))
        .args(["--profile", &p.display().to_string(), "account", "add", "--name", "kr", "--email", "alice@example.test",
               "--imap-host", "127.0.0.1", "--imap-port", &port, "--username", "alice", "--password-stdin", "--tls-ca-file", &ca])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "{secret}")?;
    }
    let out = child.wait_with_output()?;
    assert!(out.status.success(), "account add: {}", String::from_utf8_lossy(&out.stderr));
    // The password comes back from the keyring: the sync logs in.
    let summary = json(&satchel(p, &["sync", "--json"]));
    assert_eq!(summary["new"], 1);
    // ... and is nowhere in the profile (config, cache, WAL).
    for entry in std::fs::read_dir(p)? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "password found in {}", path.display());
    }
    Ok(())
}
