//! The window against a real Dovecot: the engine's event stream (what the
//! window's Subscription runs) drives it, bodies come from the server on
//! demand, and actions reach the server by themselves.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use iced::futures::StreamExt;
use satchel::gui::{App, Backend, Message};
use support::{click, deliver, settle, shows};
use satchel::gui::status_bar::Connectivity;
use satchel_core::config::{Config, Profile};
use satchel_core::watch::WatchOptions;
use satchel_tests::dovecot::{Dovecot, DovecotOptions};
use satchel_tests::peer::Peer;

/// Feeds engine events to the window until `done` holds (or fails after 30 s).
async fn pump(
    app: &mut App,
    events: &mut satchel_core::events::EventStream,
    name: &str,
    what: &str,
    done: impl Fn(&App) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(app) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting for: {what}");
        if let Ok(Some(event)) = tokio::time::timeout(left.min(Duration::from_millis(500)), events.next()).await {
            let task = app.update(Message::Engine(name.to_string(), event));
            settle(app, task).await;
        }
    }
}

const HTML: &str = "From: Erika Musterfrau <erika@example.test>\r\nTo: alice@example.test\r\n\
Subject: Plan for the trip\r\nMessage-ID: <trip-1@example.test>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>Hello <b>Alice</b>,</p>\
<p>the <a href=\"https://example.test/route\">route</a> is ready.</p>\
<img src=\"https://tracker.example.test/p.gif\"><script>alert(1)</script></body></html>\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_follows_the_server_and_sends_actions() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    peer.append("INBOX", None, HTML.as_bytes()).await?;
    let dir = tempfile::tempdir()?;
    let profile = Profile::in_dir(dir.path());
    let account = dovecot.account("alice");
    profile.save(&Config { accounts: vec![account.clone()], ..Config::default() })?;

    let backend = Backend::open(profile, false).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let cache = backend.cache.clone();
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;
    assert_eq!(app.overall_connectivity(), Connectivity::Connecting);

    let options = WatchOptions { idle_slice: Duration::from_secs(1), ..WatchOptions::default() };
    let mut events = satchel_core::events::engine(cache, account.clone(), options);
    let name = account.name.clone();
    pump(&mut app, &mut events, &name, "the first sync fills INBOX", |a| {
        a.overall_connectivity() == Connectivity::Online && a.list.len() == 1
    })
    .await;
    assert!(shows(&app, "Online"));

    // Opening fetches the HTML body from the server and shows it as rich
    // text, without its script and without fetching the tracker.
    let clicked = click(&app, "Plan for the trip");
    deliver(&mut app, clicked).await;
    let reading = app.reader.reading.as_ref().expect("the message opened");
    let satchel_core::reading::Body::Rich(doc) = &reading.body else { panic!("online, the body is fetched") };
    let text = satchel_core::html::to_plain(doc);
    assert!(text.contains("Hello Alice") && text.contains("route"), "{text}");
    assert!(!text.contains("alert"), "scripts are dropped: {text}");
    assert_eq!(doc.remote_content, vec!["https://tracker.example.test/p.gif".to_string()]);
    assert!(shows(&app, "Satchel did not load 1 remote item of this message (images, styles)."));
    let link = doc.blocks.iter().flat_map(|b| &b.spans).find_map(|s| s.link.clone());
    assert_eq!(link.as_deref(), Some("https://example.test/route"));

    // Flagging applies at once and the engine sends it within seconds.
    let clicked = click(&app, "Flag");
    deliver(&mut app, clicked).await;
    pump(&mut app, &mut events, &name, "the flag reaches the server", |a| a.queued == (0, 0)).await;
    let on_server = peer.snapshot("INBOX").await?;
    assert_eq!(on_server.len(), 1);
    assert!(on_server[0].flags.contains(&"\\Flagged".to_string()), "{on_server:?}");
    assert!(on_server[0].flags.contains(&"\\Seen".to_string()), "opening marked it read on the server too");

    // Mail from elsewhere shows up without a click.
    let new = "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Fresh news\r\n\
Message-ID: <fresh-1@example.test>\r\n\r\nHi\r\n";
    peer.append("INBOX", None, new.as_bytes()).await?;
    pump(&mut app, &mut events, &name, "new mail is listed", |a| a.list.len() == 2).await;
    assert!(shows(&app, "Fresh news"));
    Ok(())
}

/// Setup through the window: "Test connection" logs in to the IMAP and the
/// SMTP server, Save puts the password in the OS keyring and nowhere in the
/// profile, editing the account keeps its outgoing server, and removing the
/// account in Settings takes the keyring entry and the cached mail with it.
/// Needs the Secret Service that scripts/test.sh starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_tests_the_connection_and_keeps_the_password_in_the_keyring_only() -> anyhow::Result<()> {
    use satchel::gui::setup::Message as Field;
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
        panic!(
            "no D-Bus session: run the tests with scripts/test.sh, which starts one with gnome-keyring-daemon \
             (Debian packages dbus and gnome-keyring)"
        );
    }
    let secret = format!("gui-{}-pw", std::process::id());
    let dovecot =
        Dovecot::start(DovecotOptions { users: vec![("alice".into(), secret.clone())], smtp: true, ..DovecotOptions::default() })?;
    let postfix = satchel_tests::Postfix::start(&dovecot)?;
    let dir = tempfile::tempdir()?;
    let backend = Backend::open(Profile::in_dir(dir.path()), false).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;

    let typed = [
        Field::Name("Home".into()),
        Field::Email("alice@example.test".into()),
        Field::Password(secret.clone()),
        Field::Host("127.0.0.1".into()),
        Field::Port(dovecot.imaps_port.to_string()),
        Field::Username("alice".into()),
        Field::CaFile(dovecot.ca_file.display().to_string()),
        Field::SmtpHost("127.0.0.1".into()),
        Field::SmtpSecurity(satchel::gui::setup::SmtpChoice(satchel::gui::setup::SecurityChoice::Starttls)),
        Field::SmtpPort(postfix.submission_port.to_string()),
        Field::DisplayName("Alice Example".into()),
    ];
    for m in typed {
        let task = app.update(Message::Setup(m));
        settle(&mut app, task).await;
    }
    for label in ["Test connection", "Save"] {
        if label == "Save" {
            let status = app.setup.status.clone().unwrap_or_default();
            assert!(status.starts_with("Connected: Connected and logged in"), "{status}");
            assert!(status.ends_with("Outgoing: logged in to 127.0.0.1."), "{status}");
            assert!(shows(&app, &status), "the result shows on the form");
        }
        for m in click(&app, label) {
            let task = app.update(m);
            settle(&mut app, task).await;
        }
    }
    assert_eq!(app.page, satchel::gui::Page::Main, "{:?}", app.setup.errors);
    let config = Profile::in_dir(dir.path()).load()?;
    let account = config.accounts.first().expect("saved").clone();
    assert_eq!(satchel_core::credentials::password(&account).await?, secret, "the keyring has it");
    let smtp = account.smtp.clone().expect("the outgoing server is saved");
    assert_eq!((smtp.host.as_str(), smtp.port), ("127.0.0.1", postfix.submission_port));
    assert_eq!(smtp.security, satchel_core::config::Security::Starttls);
    assert_eq!(account.display_name.as_deref(), Some("Alice Example"));

    // Editing another field keeps the outgoing server and the password.
    let edit = [
        Message::ShowPage(satchel::gui::Page::Settings),
        Message::Settings(satchel::gui::settings::Message::Edit("Home".into())),
        Message::Setup(Field::DisplayName("Alice E.".into())),
    ];
    for m in edit {
        let task = app.update(m);
        settle(&mut app, task).await;
    }
    for m in click(&app, "Save") {
        let task = app.update(m);
        settle(&mut app, task).await;
    }
    assert_eq!(app.page, satchel::gui::Page::Main, "{:?}", app.setup.errors);
    let edited = Profile::in_dir(dir.path()).load()?.accounts.first().expect("still there").clone();
    assert_eq!(edited.smtp.as_ref(), Some(&smtp));
    assert_eq!(edited.display_name.as_deref(), Some("Alice E."));
    assert_eq!(satchel_core::credentials::password(&edited).await?, secret);
    for entry in std::fs::read_dir(dir.path())? {
        let path = entry?.path();
        let bytes = std::fs::read(&path)?;
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "password found in {}", path.display());
    }

    // Remove it again from Settings (confirming).
    let remove = [
        Message::ShowPage(satchel::gui::Page::Settings),
        Message::Settings(satchel::gui::settings::Message::Remove("Home".into())),
    ];
    for m in remove {
        let task = app.update(m);
        settle(&mut app, task).await;
    }
    assert!(shows(&app, "Remove this account, its saved password and its cached mail (unsent changes are lost)?"));
    let task = app.update(Message::Settings(satchel::gui::settings::Message::ConfirmRemove));
    settle(&mut app, task).await;
    assert!(Profile::in_dir(dir.path()).load()?.accounts.is_empty());
    assert!(satchel_core::credentials::password(&account).await.is_err(), "the keyring entry is gone");
    assert!(app.backend.cache.account_by_name("Home").is_err(), "the cached mail is gone");
    Ok(())
}

/// Reply from the reader: "Reply" opens the form filled in (Re: once, the
/// quote, the sender); while it is typed, a copy goes to the server's
/// Drafts (one copy, replaced as the text changes); the answer goes out
/// through the outbox to the test Postfix, bob receives it threaded under
/// his message, and the draft leaves Drafts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_from_the_reader_is_sent_and_threaded() -> anyhow::Result<()> {
    use iced::widget::text_editor::{Action, Edit};
    use satchel::gui::compose::Message as Form;
    let dovecot = Dovecot::start(DovecotOptions { smtp: true, ..DovecotOptions::default() })?;
    let postfix = satchel_tests::Postfix::start(&dovecot)?;
    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let lunch = "From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nSubject: Lunch?\r\n\
Message-ID: <lunch-1@example.test>\r\n\r\nNoon at the usual place?\r\n";
    peer.append("INBOX", None, lunch.as_bytes()).await?;
    let dir = tempfile::tempdir()?;
    let profile = Profile::in_dir(dir.path());
    let account = postfix.account_with_smtp(&dovecot, "alice");
    profile.save(&Config { accounts: vec![account.clone()], ..Config::default() })?;
    let backend = Backend::open(profile, false).map_err(|e| anyhow::anyhow!("{e:#}"))?;
    let cache = backend.cache.clone();
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;
    // File drafts in Drafts right after each change rather than 15 s later.
    app.draft_upload_delay = Duration::ZERO;
    let options = WatchOptions { idle_slice: Duration::from_secs(1), ..WatchOptions::default() };
    let mut events = satchel_core::events::engine(cache, account.clone(), options);
    let name = account.name.clone();
    pump(&mut app, &mut events, &name, "INBOX is listed", |a| {
        a.overall_connectivity() == Connectivity::Online && a.list.len() == 1
    })
    .await;
    let clicked = click(&app, "Lunch?");
    deliver(&mut app, clicked).await;
    let clicked = click(&app, "Reply");
    deliver(&mut app, clicked).await;
    assert_eq!(app.page, satchel::gui::Page::Compose);
    let form = &app.compose.as_ref().expect("the form is open").form;
    assert_eq!(form.subject, "Re: Lunch?");
    assert_eq!(form.to, "Bob <bob@example.test>");
    assert!(form.body.contains("> Noon at the usual place?"), "{}", form.body);
    let typed = app.update(Message::Compose(Form::Body(Action::Edit(Edit::Paste(std::sync::Arc::new("Yes, see you!".into()))))));
    settle(&mut app, typed).await;
    assert!(app.compose.as_ref().is_some_and(|c| c.draft.is_some()), "the form is kept as a local draft");
    assert!(shows(&app, "Draft saved in Drafts"), "online, the draft is filed on the server too");
    pump(&mut app, &mut events, &name, "the draft reaches Drafts", |a| a.queued == (0, 0)).await;
    assert_eq!(peer.uid_search("Drafts", "DRAFT TEXT \"see you\"").await?.len(), 1, "one copy in Drafts");
    let typed = app.update(Message::Compose(Form::Body(Action::Edit(Edit::Paste(std::sync::Arc::new(" Bringing cake.".into()))))));
    settle(&mut app, typed).await;
    pump(&mut app, &mut events, &name, "the new version reaches Drafts", |a| a.queued == (0, 0)).await;
    assert_eq!(peer.uid_search("Drafts", "ALL").await?.len(), 1, "the new version replaced the old one");
    assert_eq!(peer.uid_search("Drafts", "TEXT \"Bringing cake\"").await?.len(), 1);

    let clicked = click(&app, "Send");
    deliver(&mut app, clicked).await;
    assert_eq!(app.notice.as_deref(), Some("Sent."), "{:?}", app.notice);
    assert_eq!(app.page, satchel::gui::Page::Main);
    let deadline = Instant::now() + Duration::from_secs(10);
    let got = loop {
        let found: Vec<String> = ["new", "cur"]
            .iter()
            .flat_map(|s| std::fs::read_dir(dovecot.maildir("bob", "INBOX").join(s)).into_iter().flatten().flatten())
            .filter_map(|e| std::fs::read_to_string(e.path()).ok())
            .filter(|t| t.contains("Yes, see you!"))
            .collect();
        if !found.is_empty() || Instant::now() > deadline {
            break found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(got.len(), 1, "bob got the reply once\n{}", postfix.log());
    assert!(got[0].contains("In-Reply-To: <lunch-1@example.test>"), "{}", got[0]);
    // The engine files the copy in Sent and marks the original answered.
    pump(&mut app, &mut events, &name, "the Sent copy and \\Answered reach the server", |a| a.queued == (0, 0)).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while peer.uid_search("INBOX", "ANSWERED").await?.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(peer.uid_search("INBOX", "ANSWERED").await?.len(), 1);
    assert!(peer.uid_search("Drafts", "ALL").await?.is_empty(), "the sent draft left Drafts");
    Ok(())
}
