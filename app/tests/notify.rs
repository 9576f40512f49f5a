//! Desktop notifications end to end: the real window under Xvfb, the real
//! notification server (dunst) on the session bus, every `Notify` call seen
//! by dbus-monitor. A message appended by another client gives exactly one
//! call naming its sender and subject; the first sync and a reconnect give
//! none. Needs the D-Bus session and the packages of `scripts/test.sh`.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use satchel_core::config::{Config, Profile};
use satchel_tests::{Dovecot, DovecotOptions, Peer, mail};

const RUN_TEST_SH: &str = "run it through `scripts/test.sh`, which installs Xvfb, dunst and dbus \
and runs the suite inside a private D-Bus session";
const SENDER: &str = "Nora Notifier";
const SUBJECT: &str = "Build 42 is green";

/// Every child process of the test; killed on drop, so also on a failed assert.
struct Children(Vec<(&'static str, Child)>);

impl Drop for Children {
    fn drop(&mut self) {
        // The app first, so it does not see its notification server go away.
        for (_, child) in self.0.iter_mut().rev() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Children {
    fn spawn(&mut self, name: &'static str, command: &mut Command) -> &mut Child {
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start {name} ({e}); {RUN_TEST_SH}"));
        self.0.push((name, child));
        let last = self.0.len() - 1;
        &mut self.0[last].1
    }

    /// Fails at once when one of them died (the app crashing, say).
    fn assert_alive(&mut self, logs: &Path) {
        for (name, child) in &mut self.0 {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{name} exited ({status}); its log:\n{}", read(&logs.join(format!("{name}.log"))));
            }
        }
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn log_file(dir: &Path, name: &str) -> std::io::Result<File> {
    File::create(dir.join(format!("{name}.log")))
}

/// Polls `done` every 200 ms until it holds or `limit` passes.
async fn wait_for(limit: Duration, children: &mut Children, logs: &Path, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return true;
        }
        children.assert_alive(logs);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    done()
}

/// The `Notify` method calls in dbus-monitor's output, one string each
/// (header line and arguments).
fn notify_calls(monitor_log: &Path) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    let mut inside = false;
    for line in read(monitor_log).lines() {
        if !line.starts_with(char::is_whitespace) {
            inside = line.starts_with("method call") && line.contains("member=Notify");
            if inside {
                calls.push(String::new());
            }
        }
        if inside && let Some(call) = calls.last_mut() {
            call.push_str(line);
            call.push('\n');
        }
    }
    calls
}

fn logins(dovecot: &Dovecot) -> usize {
    dovecot.log().matches("Login: user=<alice>").count()
}

fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_mail_gives_one_notification_and_a_reconnect_none() -> anyhow::Result<()> {
    // Never skip: a missing session or program is a failure telling how to fix it.
    assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(), "no D-Bus session bus; {RUN_TEST_SH}");
    for program in ["Xvfb", "dunst", "dbus-monitor", "dbus-send"] {
        assert!(have(program), "`{program}` is not installed; {RUN_TEST_SH}");
    }
    let tmp = tempfile::tempdir()?;
    let logs = tmp.path().to_path_buf();
    let mut children = Children(Vec::new());

    // Xvfb picks a free display itself and writes its number to -displayfd
    // once it accepts connections: no guessing, no race with other servers.
    let xvfb = children.spawn(
        "xvfb",
        Command::new("Xvfb")
            .args(["-displayfd", "1", "-nolisten", "tcp", "-screen", "0", "1280x800x24"])
            .stdout(Stdio::piped())
            .stderr(log_file(&logs, "xvfb")?),
    );
    let mut number = String::new();
    let stdout = xvfb.stdout.take().ok_or_else(|| anyhow::anyhow!("Xvfb's stdout is not piped"))?;
    BufReader::new(stdout).read_line(&mut number)?;
    let display = format!(":{}", number.trim());
    assert!(number.trim().parse::<u32>().is_ok(), "Xvfb gave no display number: {}", read(&logs.join("xvfb.log")));

    let monitor_log = logs.join("dbus-monitor.log");
    children.spawn(
        "dbus-monitor",
        Command::new("dbus-monitor")
            .args(["--session", "interface='org.freedesktop.Notifications',member='Notify'"])
            .stdout(File::create(&monitor_log)?)
            .stderr(Stdio::null()),
    );
    children.spawn("dunst", Command::new("dunst").env("DISPLAY", &display).stdout(Stdio::null()).stderr(log_file(&logs, "dunst")?));
    // Notifications must reach dunst, not a server D-Bus would activate.
    let owned = || {
        Command::new("dbus-send")
            .args(["--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus"])
            .args(["org.freedesktop.DBus.NameHasOwner", "string:org.freedesktop.Notifications"])
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("boolean true"))
    };
    assert!(wait_for(Duration::from_secs(15), &mut children, &logs, owned).await, "dunst did not take org.freedesktop.Notifications");
    // dbus-monitor prints its own NameAcquired/NameLost first: it is listening.
    assert!(wait_for(Duration::from_secs(15), &mut children, &logs, || !read(&monitor_log).is_empty()).await, "dbus-monitor printed nothing");

    // One unread message already there: the first sync must not announce it.
    // Delivered into the Maildir, so the only logins in the log are the app's.
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    dovecot.deliver("alice", "INBOX", std::iter::once((mail::message(0, 7), false)))?;
    let mut account = dovecot.account("alice");
    account.name = "notify-test".into();
    let profile_dir = tmp.path().join("profile");
    let profile = Profile::in_dir(&profile_dir);
    profile.save(&Config { accounts: vec![account], ..Config::default() })?;
    let runtime_dir = tmp.path().join("runtime");
    std::fs::create_dir(&runtime_dir)?;
    let started = Instant::now();
    children.spawn(
        "satchel",
        Command::new(env!("CARGO_BIN_EXE_satchel"))
            .arg("--profile")
            .arg(&profile_dir)
            .env("DISPLAY", &display)
            .env("XDG_RUNTIME_DIR", &runtime_dir)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(log_file(&logs, "satchel")?),
    );

    // The app has logged in, so it has created the cache (before its window
    // opened); only now does the test open it, to read.
    let login = wait_for(Duration::from_secs(60), &mut children, &logs, || logins(&dovecot) >= 1).await;
    assert!(login, "the app did not log in within 60 s; Dovecot log:\n{}", dovecot.log());
    let cache = satchel_cache::Cache::open(&profile.cache_file)?;
    // First sync done = every folder has a UIDVALIDITY and INBOX its message.
    // The engine then announces (nothing: first sync) and goes into IDLE.
    let synced = || -> bool {
        let Ok(account) = cache.account_by_name("notify-test") else { return false };
        let Ok(boxes) = cache.mailboxes(account.id) else { return false };
        let inbox = boxes.iter().find(|m| m.name == "INBOX");
        boxes.len() >= 5
            && boxes.iter().all(|m| !m.selectable() || m.sync.uidvalidity.is_some())
            && inbox.is_some_and(|m| cache.message_count(m.id).ok() == Some(1))
    };
    assert!(wait_for(Duration::from_secs(60), &mut children, &logs, synced).await, "no first sync within 60 s");
    println!("first sync after {:.1} s", started.elapsed().as_secs_f64());
    // A message appended between the end of that sync and the SELECT before
    // IDLE would only be seen at the next poll (minutes): let IDLE start.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(notify_calls(&monitor_log), Vec::<String>::new(), "the first sync announced old mail");

    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let message = format!(
        "From: {SENDER} <nora@example.test>\r\nTo: alice@example.test\r\nSubject: {SUBJECT}\r\n\
         Date: {}\r\nMessage-ID: <notify-test-1@example.test>\r\n\r\nAll checks passed.\r\n",
        mail::rfc2822_date(1_767_225_600)
    );
    peer.append("INBOX", None, message.as_bytes()).await?;
    peer.logout().await?;
    let appended = Instant::now();
    let notified = wait_for(Duration::from_secs(20), &mut children, &logs, || !notify_calls(&monitor_log).is_empty()).await;
    assert!(notified, "no Notify call within 20 s of the APPEND; app log:\n{}", read(&logs.join("satchel.log")));
    println!("notified {:.1} s after the APPEND", appended.elapsed().as_secs_f64());
    let calls = notify_calls(&monitor_log);
    println!("{}", calls[0]);
    assert!(calls[0].contains(SENDER) && calls[0].contains(SUBJECT), "sender and subject in {}", calls[0]);
    assert!(calls[0].contains("(notify-test)"), "the account is named: {}", calls[0]);

    // Reconnect: Dovecot drops the app's session; the engine logs in again
    // and resyncs. The message is old news by then.
    let before = logins(&dovecot);
    dovecot.doveadm(&["kick", "alice"])?;
    let kicked = Instant::now();
    let relogin = wait_for(Duration::from_secs(30), &mut children, &logs, || logins(&dovecot) > before).await;
    assert!(relogin, "the app did not log in again after the kick; Dovecot log:\n{}", dovecot.log());
    println!("logged in again {:.1} s after the kick", kicked.elapsed().as_secs_f64());
    tokio::time::sleep(Duration::from_secs(10)).await;
    children.assert_alive(&logs);
    let calls = notify_calls(&monitor_log);
    assert_eq!(calls.len(), 1, "exactly one Notify over the whole run:\n{}", calls.join("\n"));

    // The message is in the cache once, after its older neighbour.
    let account = cache.account_by_name("notify-test")?;
    let inbox = cache.mailbox_by_name(account.id, "INBOX")?;
    let uids: Vec<Option<u32>> = cache.message_headers(inbox.id)?.iter().map(|h| h.uid).collect();
    assert_eq!(uids, vec![Some(1), Some(2)], "INBOX in the cache");
    Ok(())
}
