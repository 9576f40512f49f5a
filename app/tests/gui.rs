//! The desktop window driven headless with iced_test's simulator: clicks on
//! the rendered widgets produce the window's messages, and every Task they
//! start runs for real (cache reads, queued ops, a real Dovecot for the
//! server test). ICED_TEST_BACKEND=tiny-skia comes from .cargo/config.toml.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

mod support;

use satchel::gui::{App, Backend, Message, Page};
use support::{click, deliver, settle, shows};
use satchel_core::config::{Config, Profile};

async fn demo_window(dir: &std::path::Path) -> App {
    let backend = Backend::open(Profile::in_dir(dir), true).expect("demo profile opens");
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;
    app
}

fn folder_total(app: &App, name: &str) -> u64 {
    let id = app.backend.cache.read(|r| r.folder_summaries(app.accounts[0].id)).expect("folders");
    id.into_iter().find(|f| f.name == name).map(|f| f.total).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_flag_and_move_a_message_in_the_demo_mailbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    assert_eq!(app.page, Page::Main);
    assert_eq!(app.list.len(), 240, "INBOX opens with all its messages listed");
    assert!(shows(&app, "Inbox") && shows(&app, "Archive"), "the folder pane lists the folders");

    let newest = app.list.ids()[0];
    let subject = app.list.row(newest).map(|r| r.subject.clone()).expect("the first rows are loaded");
    let unread_before = app.list.row(newest).is_some_and(|r| !r.flags.has(satchel_core::cache::SystemFlag::Seen));
    assert!(unread_before, "the newest demo message starts unread");
    let clicked = click(&app, &subject);
    deliver(&mut app, clicked).await;
    let reading = app.reader.reading.as_ref().expect("the reader shows the clicked message");
    assert_eq!(reading.detail.id, newest);
    assert!(shows(&app, "Alice Martin <alice@demo.example>") || shows(&app, &reading.detail.from), "the sender shows");
    let row = app.list.row(newest).expect("row");
    assert!(row.flags.has(satchel_core::cache::SystemFlag::Seen), "opening marks it read");

    let clicked = click(&app, "Flag");
    deliver(&mut app, clicked).await;
    assert!(app.list.row(newest).is_some_and(|r| r.flags.has(satchel_core::cache::SystemFlag::Flagged)), "s/Flag flags it");

    let clicked = click(&app, "Move…");
    deliver(&mut app, clicked).await;
    assert_eq!(app.page, Page::Choose { copy: false });
    let archive_before = folder_total(&app, "Archive");
    let clicked = click(&app, "Archive");
    deliver(&mut app, clicked).await;
    assert_eq!(app.page, Page::Main);
    assert_eq!(app.list.len(), 239, "the moved message left the list");
    assert!(!app.list.ids().contains(&newest));
    assert_eq!(folder_total(&app, "Archive"), archive_before + 1);
    assert_ne!(app.list.selected(), Some(newest), "the selection went on to the next message");
    // Read, flag and move wait for the server (the demo has none); so does
    // marking read the next message, which opened in its place.
    let ops: Vec<_> = app.pending.ops.iter().filter(|o| o.message == Some(newest)).map(|o| o.op.kind()).collect();
    assert_eq!(ops, ["flags", "flags", "move"], "{ops:?}");
    assert!(app.queued.0 >= 3 && app.queued.1 == 0);
    assert!(shows(&app, &format!("{} pending changes", app.queued.0)), "the status bar counts them");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyboard_moves_through_the_list_and_flags() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    use iced::keyboard::{Key, Modifiers, key::Named};
    let press = |k: Key| Message::Key(k, Modifiers::default());
    deliver(&mut app, vec![press(Key::Character("j".into())), press(Key::Character("j".into()))]).await;
    let second = app.list.ids()[1];
    assert_eq!(app.list.selected(), Some(second), "j twice: the second message");
    assert_eq!(app.reader.reading.as_ref().map(|r| r.detail.id), Some(second));
    deliver(&mut app, vec![press(Key::Named(Named::ArrowUp))]).await;
    assert_eq!(app.list.selected(), Some(app.list.ids()[0]));
    deliver(&mut app, vec![press(Key::Character("s".into()))]).await;
    let first = app.list.ids()[0];
    assert!(app.list.row(first).is_some_and(|r| r.flags.has(satchel_core::cache::SystemFlag::Flagged)));
    deliver(&mut app, vec![press(Key::Character("u".into()))]).await;
    assert!(app.list.row(first).is_some_and(|r| !r.flags.has(satchel_core::cache::SystemFlag::Seen)), "u marks unread again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_form_says_what_is_missing_and_saves_without_the_password_on_disk() {
    use satchel::gui::setup::Message as Field;
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(Profile::in_dir(dir.path()), false).expect("profile");
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;
    assert_eq!(app.page, Page::Setup, "first run opens account setup");

    let clicked = click(&app, "Save");
    deliver(&mut app, clicked).await;
    assert!(shows(&app, "Enter an email address like name@example.org."));
    assert!(shows(&app, "Enter the IMAP server's name, e.g. imap.example.org."));
    assert!(shows(&app, "Enter the password (it is kept in the system keyring), or a password command."));

    let typed = [
        Field::Email("erika@example.org".into()),
        Field::Host("imap.example.org".into()),
        Field::Port("99999".into()),
        Field::Security(satchel::gui::setup::SecurityChoice::Plain),
        Field::PasswordCommand("printf secret".into()),
        Field::SmtpHost("smtp.example.org".into()),
        Field::SmtpPort("submission".into()),
    ];
    deliver(&mut app, typed.into_iter().map(Message::Setup).collect()).await;
    let clicked = click(&app, "Save");
    deliver(&mut app, clicked).await;
    assert!(shows(&app, "The port must be a number from 1 to 65535."));
    assert!(shows(&app, "The outgoing server's port must be a number from 1 to 65535."));
    assert!(!shows(&app, "Enter an email address like name@example.org."), "fixed fields stop complaining");
    assert!(
        shows(&app, "Without encryption the password travels readable; tick \"Allow unencrypted\" to accept that."),
        "no plaintext login without consent"
    );

    let fixes = [Field::Port("993".into()), Field::Security(satchel::gui::setup::SecurityChoice::Tls), Field::SmtpPort(String::new())];
    deliver(&mut app, fixes.into_iter().map(Message::Setup).collect()).await;
    let clicked = click(&app, "Save");
    deliver(&mut app, clicked).await;
    assert_eq!(app.page, Page::Main, "saved, the main window opens");
    let saved: Config = Profile::in_dir(dir.path()).load().expect("config");
    let account = saved.accounts.first().expect("the account is in the config");
    assert_eq!(account.email, "erika@example.org");
    assert_eq!(account.imap.host, "imap.example.org");
    assert_eq!(account.imap.port, 993);
    assert_eq!(account.imap.username, "erika@example.org", "user name defaults to the address");
    assert_eq!(account.password_command.as_deref(), Some("printf secret"));
    let smtp = account.smtp.as_ref().expect("the outgoing server is saved");
    assert_eq!((smtp.host.as_str(), smtp.port), ("smtp.example.org", 465), "a blank port takes the usual one for TLS");
    assert_eq!(smtp.username, None, "a blank user name means the IMAP one");
    assert_eq!(app.accounts.len(), 1, "the window lists it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_offline_shows_in_the_status_bar_and_is_remembered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    assert!(shows(&app, "Demo mailbox: changes stay pending"));
    deliver(&mut app, vec![Message::Status(satchel::gui::status_bar::Message::WorkOffline(true))]).await;
    assert!(shows(&app, "Working offline"));
    assert!(Profile::in_dir(dir.path()).load().expect("config").work_offline, "kept across restarts");
    deliver(&mut app, vec![Message::Status(satchel::gui::status_bar::Message::WorkOffline(false))]).await;
    assert!(!shows(&app, "Working offline"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_lists_local_results() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    deliver(&mut app, vec![Message::SearchInput("invoice".into()), Message::SearchSubmit]).await;
    let found = app.list.len();
    assert!(found > 0 && found < 450, "some, not all, messages match: {found}");
    for id in app.list.ids() {
        let row = app.list.row(*id).expect("result rows are loaded");
        assert!(row.subject.to_lowercase().contains("invoice"), "{}", row.subject);
    }
    assert!(shows(&app, &format!("Results for \"invoice\" ({found} found)")));
    let clicked = click(&app, "Clear");
    deliver(&mut app, clicked).await;
    assert_eq!(app.list.len(), 240, "clearing goes back to the folder");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_list_shows_a_refused_change_with_retry_and_discard() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    deliver(&mut app, vec![Message::Key(iced::keyboard::Key::Character("j".into()), Default::default())]).await;
    let ops = app.backend.pending(app.accounts[0].id).expect("ops");
    let op = ops.first().expect("opening queued the read flag").id;
    app.backend.cache.fail_op(op, "NO [CANNOT] Message is gone", true).expect("fail");

    let clicked = click(&app, "1 pending change");
    deliver(&mut app, clicked).await;
    assert_eq!(app.page, Page::Pending);
    assert!(shows(&app, "mark read in INBOX"));
    assert!(shows(&app, "Server said: NO [CANNOT] Message is gone"));
    assert_eq!(app.queued, (0, 1));

    let clicked = click(&app, "Retry");
    deliver(&mut app, clicked).await;
    assert_eq!(app.queued, (1, 0), "retried: pending again");
    assert!(!shows(&app, "Server said: NO [CANNOT] Message is gone") || app.pending.ops[0].state == "pending");

    let clicked = click(&app, "Discard");
    deliver(&mut app, clicked).await;
    assert_eq!(app.queued, (0, 0));
    assert!(shows(&app, "Nothing is waiting for the server."));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn right_click_menu_archives_a_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    let third = app.list.ids()[2];
    let subject = app.list.row(third).map(|r| r.subject.clone()).expect("row");
    let messages: Vec<Message> = {
        let mut ui = iced_test::simulator(app.view());
        let target = ui.find(subject.as_str()).expect("the row shows");
        let at = target.visible_bounds().expect("visible").center();
        ui.point_at(at);
        let right = iced::mouse::Button::Right;
        let _ = ui.simulate([
            iced::Event::Mouse(iced::mouse::Event::ButtonPressed(right)),
            iced::Event::Mouse(iced::mouse::Event::ButtonReleased(right)),
        ]);
        ui.into_messages().collect()
    };
    deliver(&mut app, messages).await;
    assert_eq!(app.list.selected(), Some(third));
    assert!(app.reader.reading.is_none(), "a right click selects without opening");
    assert!(shows(&app, &format!("\"{subject}\"")), "the menu names the message");
    let archived_before = folder_total(&app, "Archive");
    // The menu's Archive button is the second one showing that word (the
    // toolbar's is first); press it through its message.
    deliver(&mut app, vec![Message::Act(satchel::gui::Action::Archive)]).await;
    assert_eq!(folder_total(&app, "Archive"), archived_before + 1);
    assert!(!app.list.ids().contains(&third));
    assert!(app.row_menu.is_none(), "the menu closes after the action");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_pressed_twice_moves_two_messages_to_trash_and_erases_none() {
    use iced::keyboard::{Key, Modifiers, key::Named};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    deliver(&mut app, vec![Message::Key(Key::Character("j".into()), Modifiers::default())]).await;
    let (first, second) = (app.list.ids()[0], app.list.ids()[1]);
    // Both presses are handled before either Task has finished.
    let press = || Message::Key(Key::Named(Named::Delete), Modifiers::default());
    let t1 = app.update(press());
    let t2 = app.update(press());
    settle(&mut app, iced::Task::batch([t1, t2])).await;
    assert_eq!(folder_total(&app, "Trash"), 2, "one press, one message to Trash");
    let kinds: Vec<_> = app.pending.ops.iter().map(|o| (o.message, o.op.kind())).collect();
    assert!(kinds.contains(&(Some(first), "move")) && kinds.contains(&(Some(second), "move")), "{kinds:?}");
    assert!(!kinds.iter().any(|(_, k)| *k == "expunge"), "nothing erased for good: {kinds:?}");
    assert_eq!(app.list.len(), 238);
}

/// A message whose sender died mid-transaction shows in the pending page
/// as "may have been sent", counted as needing attention, and goes back
/// to the queue only when the user clicks Resend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uncertain_send_waits_for_resend_in_the_pending_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    let cache = app.backend.cache.clone();
    let account = app.accounts[0].id;
    let outgoing = satchel_core::cache::Outgoing {
        message_id: "<trip@demo.example>".into(),
        subject: "Train times".into(),
        envelope_from: "me@demo.example".into(),
        recipients: vec!["ann@demo.example".into()],
        raw: b"Subject: Train times\r\n\r\nhi\r\n".to_vec(),
        original: None,
        save_copy: true,
    };
    let id = cache.queue_outgoing(account, &outgoing).expect("queued");
    let mut gone = std::process::Command::new("true").spawn().expect("spawn");
    let dead = gone.id();
    gone.wait().expect("wait");
    cache.claim_outgoing(id, dead).expect("claimed");
    cache.recover_outbox(&|_, _| false).expect("recovered");

    let task = app.update(Message::Status(satchel::gui::status_bar::Message::ShowPending));
    settle(&mut app, task).await;
    assert_eq!(app.queued.1, 1, "counted as needing attention");
    assert!(shows(&app, "\"Train times\" to ann@demo.example"));
    assert!(shows(&app, "may have been sent"));
    let clicked = click(&app, "Resend");
    deliver(&mut app, clicked).await;
    assert_eq!(cache.outbox_item(id).expect("read").map(|m| m.state), Some("queued".to_string()));
    assert!(shows(&app, "waiting to be sent"), "the page shows it queued again");
}

/// Two accounts that send: the form starts from the first, "From" switches
/// to the other, and the message waits in that account's outbox with its
/// name and address in From (working offline, nothing connects).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_choice_sends_through_the_chosen_account() {
    use satchel::gui::compose::Message as Form;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config {
        work_offline: true,
        accounts: vec![unreachable_account("Home", "ada@home.example", "Ada"), unreachable_account("Work", "ada@work.example", "Ada at Work")],
        ..Config::default()
    };
    Profile::in_dir(dir.path()).save(&config).expect("config");
    let backend = Backend::open(Profile::in_dir(dir.path()), false).expect("profile");
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;

    let clicked = click(&app, "Write");
    deliver(&mut app, clicked).await;
    assert_eq!(app.page, Page::Compose);
    let c = app.compose.as_ref().expect("form");
    assert_eq!(c.identities.iter().find(|i| i.account_id == c.account_id).map(|i| i.label.as_str()), Some("Ada <ada@home.example>"), "starts from the first account");
    let work = app.compose.as_ref().expect("form").identities.iter().find(|i| i.label.contains("work")).cloned().expect("Work listed");
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "figures attached\n").expect("file");
    let typed = [
        Form::From(work.clone()),
        Form::To("bob@example.org".into()),
        Form::Subject("Quarterly".into()),
        // What the file chooser hands back.
        Form::Chosen(vec![notes]),
    ];
    deliver(&mut app, typed.into_iter().map(Message::Compose).collect()).await;
    assert!(shows(&app, "📎 notes.txt (text/plain)"), "the chosen file is listed");
    assert_eq!(app.compose.as_ref().map(|c| c.account_id), Some(work.account_id));
    let clicked = click(&app, "Send");
    deliver(&mut app, clicked).await;
    assert_eq!(app.notice.as_deref(), Some("Queued in the outbox; it goes when you are online."));
    let cache = app.backend.cache.clone();
    assert!(cache.outbox(app.accounts.iter().find(|a| a.name == "Home").expect("Home").id).expect("outbox").is_empty());
    let queued = cache.outbox(work.account_id).expect("outbox");
    assert_eq!(queued.len(), 1, "queued in Work's outbox");
    let raw = String::from_utf8(cache.outgoing_raw(queued[0].id).expect("raw").expect("kept")).expect("utf-8");
    assert!(raw.contains("From: \"Ada at Work\" <ada@work.example>"), "{raw}");
    assert!(raw.contains("filename=\"notes.txt\""), "the file is attached: {raw}");
}

/// "Open" on an attachment that could run code asks first; Cancel leaves
/// it unopened, and nothing was saved or started.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_program_from_mail_asks_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    let newest = app.list.ids()[0];
    let subject = app.list.row(newest).map(|r| r.subject.clone()).expect("row");
    let clicked = click(&app, &subject);
    deliver(&mut app, clicked).await;
    let reading = app.reader.reading.as_mut().expect("opened");
    // As if the message carried it (the demo mailbox has no programs).
    reading.attachments = vec![satchel_core::reading::Attachment {
        section: "2".into(),
        name: "invoice.pdf.exe".into(),
        mime_type: "application/octet-stream".into(),
        size: 48_000,
    }];
    let clicked = click(&app, "Open");
    deliver(&mut app, clicked.clone()).await;
    assert!(clicked.iter().all(|m| matches!(m, Message::Reader(_))));
    assert!(shows(&app, "Open anyway"), "a program is not opened on the first click");
    assert!(app.notice.is_none(), "nothing was saved or opened: {:?}", app.notice);
    // Cancel (below the fold of the simulator's small window).
    deliver(&mut app, vec![Message::Reader(satchel::gui::reader::Message::CancelOpen)]).await;
    assert!(!shows(&app, "Open anyway"));
    assert!(app.notice.is_none());
}

/// An account whose servers are never reached (nothing listens on port 1).
fn unreachable_account(name: &str, email: &str, display: &str) -> satchel_core::config::AccountConfig {
    use satchel_core::config::{AccountConfig, ImapSettings, Security, SmtpSettings};
    AccountConfig {
        name: name.into(),
        email: email.into(),
        imap: ImapSettings {
            host: "127.0.0.1".into(),
            port: 1,
            security: Security::Tls,
            username: email.into(),
            tls_ca_file: None,
            allow_plaintext: false,
            compress: true,
        },
        password_command: Some("printf unused".into()),
        display_name: Some(display.into()),
        smtp: Some(SmtpSettings {
            host: "127.0.0.1".into(),
            port: 1,
            security: Security::Tls,
            username: None,
            tls_ca_file: None,
            allow_plaintext: false,
            server_saves_sent: false,
        }),
    }
}

/// An engine that gave up (a refused login) is offered "Retry now" and is
/// started again, by the button or after the retry delay.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_engine_is_retried() {
    use satchel::gui::status_bar::Connectivity;
    use satchel_core::watch::Event;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config { accounts: vec![unreachable_account("Home", "ada@home.example", "Ada")], ..Config::default() };
    Profile::in_dir(dir.path()).save(&config).expect("config");
    let backend = Backend::open(Profile::in_dir(dir.path()), false).expect("profile");
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;

    let refused = Event::Connectivity { state: "offline", reason: Some("login refused: [AUTHENTICATIONFAILED]".into()) };
    deliver(&mut app, vec![Message::Engine("Home".into(), refused)]).await;
    // Its retry timer (an hour here) is left unrun.
    let _timer = app.update(Message::EngineStopped("Home".into()));
    assert!(shows(&app, "Offline: login refused: [AUTHENTICATIONFAILED]"), "the reason shows, not \"no network\"");
    let clicked = click(&app, "Retry now");
    deliver(&mut app, clicked).await;
    assert_eq!(app.overall_connectivity(), Connectivity::Connecting);
    assert_eq!(app.engine_restarts.get("Home"), Some(&1), "a new engine identity");
    assert!(!shows(&app, "Retry now"));

    // By itself after the delay.
    app.engine_retry_delay = std::time::Duration::ZERO;
    deliver(&mut app, vec![Message::EngineStopped("Home".into())]).await;
    assert_eq!(app.engine_restarts.get("Home"), Some(&2));
    assert!(app.stopped_engines.is_empty());
}

/// The folder tree folds: a folder's subfolders and a whole account's
/// folders hide and come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn folder_tree_folds_open_and_shut() {
    use satchel::gui::folders::Message as Tree;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    let lists = app.folders.find_by_name("Lists").expect("the demo has Lists");
    let account = app.accounts[0].id;
    assert!(shows(&app, "rust-users"));
    deliver(&mut app, vec![Message::Folders(Tree::Toggle(lists))]).await;
    assert!(!shows(&app, "rust-users"), "Lists folded shut");
    assert!(shows(&app, "Drafts"), "other folders stay");
    deliver(&mut app, vec![Message::Folders(Tree::Toggle(lists))]).await;
    assert!(shows(&app, "rust-users"));
    deliver(&mut app, vec![Message::Folders(Tree::ToggleAccount(account))]).await;
    assert!(!shows(&app, "Drafts") && !shows(&app, "rust-users"), "the account folded shut");
    deliver(&mut app, vec![Message::Folders(Tree::ToggleAccount(account))]).await;
    assert!(shows(&app, "Drafts"));
}

/// Remote images load only on "Load remote content", for that message:
/// before the click the test web server sees no request; after it, the
/// picture is drawn where the text had its description, and the style
/// sheet is named as not a picture.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_images_load_only_when_asked() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\0\x01\0\0\x05\0\x01\r\n-\xb4\0\0\0\0IEND\xaeB`\x82";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut request = vec![0u8; 2048];
            let n = s.read(&mut request).await.unwrap_or(0);
            let (kind, body): (&str, &[u8]) =
                if String::from_utf8_lossy(&request[..n]).contains(".png") { ("image/png", PNG) } else { ("text/css", b"p { color: red }") };
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = s.write_all(head.as_bytes()).await;
            let _ = s.write_all(body).await;
        }
    });

    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    let cache = app.backend.cache.clone();
    let inbox = app.folders.find_by_name("INBOX").expect("INBOX");
    let date = chrono::Utc::now().to_rfc2822();
    let raw = format!(
        "From: Gallery <pics@demo.example>\r\nTo: you@demo.example\r\nSubject: Pictures from the hike\r\nDate: {date}\r\n\
Message-ID: <hike@demo.example>\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><head><link rel=\"stylesheet\" href=\"http://127.0.0.1:{port}/look.css\"></head><body><p>The summit:</p>\
<img src=\"http://127.0.0.1:{port}/summit.png\" width=\"300\" alt=\"summit\"></body></html>\r\n"
    );
    let local = satchel_core::local_mail::read(raw.as_bytes(), satchel_core::cache::Flags::default(), "demo.example");
    let id = cache.queue_append(inbox, &local.row, &local.raw, local.text.as_deref()).expect("added");
    // The HTML part as the body fetch caches it for a server's message.
    let html = raw.split("\r\n\r\n").nth(1).expect("body");
    cache.store_part(id, satchel_core::body::HTML_KEY, html.as_bytes(), None).expect("html part");
    let clicked = click(&app, "Inbox");
    deliver(&mut app, clicked).await;
    let clicked = click(&app, "Pictures from the hike");
    deliver(&mut app, clicked).await;
    assert!(shows(&app, "Satchel did not load 2 remote items of this message (images, styles)."));
    assert!(app.notice.is_none(), "opening mail not yet uploaded is quiet: {:?}", app.notice);
    assert_eq!(hits.load(Ordering::SeqCst), 0, "nothing fetched before the click");
    let picture = format!("http://127.0.0.1:{port}/summit.png");
    let satchel_core::reading::Body::Rich(doc) = &app.reader.reading.as_ref().expect("open").body else { panic!("rich") };
    let placeholder = doc.blocks.iter().flat_map(|b| &b.spans).find(|s| s.image.as_deref() == Some(picture.as_str()));
    assert_eq!(placeholder.map(|s| s.text.as_str()), Some("[image: summit]"), "the picture's place holds its description");

    let clicked = click(&app, "Load remote content");
    deliver(&mut app, clicked).await;
    assert_eq!(hits.load(Ordering::SeqCst), 2, "both items fetched once");
    let remote = app.reader.remote.as_ref().expect("loaded");
    assert_eq!(remote.images.len(), 1, "the picture is shown");
    assert!(shows(&app, "Loaded 1 remote image from the sender's servers."));
    assert_eq!(remote.images.first().map(|(u, _)| u.as_str()), Some(picture.as_str()), "drawn in the place that names it");
    assert!(remote.skipped.iter().any(|s| s.contains("look.css: not a picture (text/css)")), "{:?}", remote.skipped);
}

/// "Threads" in the list's header groups INBOX by conversation: a reply is
/// listed right under the message it answers, one level deeper, the
/// thread's root shows how many messages it holds, j walks the order on
/// screen, and the choice is kept in the profile's config (a new window
/// opens threaded). Off again, the list is by date as before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn threads_list_a_reply_under_its_parent_and_are_remembered() -> anyhow::Result<()> {
    use anyhow::Context;
    use std::collections::HashMap;
    let dir = tempfile::tempdir()?;
    let threads_saved = || -> anyhow::Result<bool> { Ok(Profile::in_dir(dir.path()).load()?.ui.threads) };
    let mut app = demo_window(dir.path()).await;
    let by_date = app.list.ids().to_vec();
    assert!(!app.list.threaded() && !threads_saved()?, "off by default");

    // What the headers say, read from the cache (not from the list): each
    // message's parent is the last message its References name that is in
    // INBOX; the reply to check is the newest one, so its thread is on screen.
    let cache = app.backend.cache.clone();
    let details = by_date.iter().map(|id| cache.message_detail(*id)).collect::<Result<Vec<_>, _>>()?;
    let by_message_id: HashMap<&str, i64> = details.iter().filter_map(|d| Some((d.message_id.as_deref()?, d.id))).collect();
    let parent: HashMap<i64, i64> = details
        .iter()
        .filter_map(|d| Some((d.id, d.references.as_deref()?.split_whitespace().rev().find_map(|r| by_message_id.get(r).copied())?)))
        .collect();
    let (reply, replied_to) =
        by_date.iter().find_map(|id| Some((*id, *parent.get(id)?))).context("the demo INBOX has a reply to a message in it")?;
    let root_of = |mut id: i64| {
        while let Some(p) = parent.get(&id) {
            id = *p;
        }
        id
    };
    let root = root_of(reply);
    let thread_size = by_date.iter().filter(|id| root_of(**id) == root).count();
    // Replies are listed oldest first.
    let first_reply = by_date.iter().rev().copied().find(|id| parent.get(id) == Some(&replied_to)).context("replies")?;

    let clicked = click(&app, "Threads");
    deliver(&mut app, clicked).await;
    assert!(app.config.ui.threads && app.list.threaded());
    assert!(threads_saved()?, "kept in the profile's config");
    let threaded = app.list.ids().to_vec();
    assert_eq!(threaded.len(), by_date.len(), "every message still listed once");
    assert_ne!(threaded, by_date, "a new order");
    let at = |id: i64| threaded.iter().position(|x| *x == id);
    assert_eq!(at(first_reply), at(replied_to).map(|i| i + 1), "the first reply comes right under the message it answers");
    assert_eq!(app.list.depth(first_reply), app.list.depth(replied_to) + 1, "one level deeper");
    assert_eq!(app.list.depth(root), 0);
    let (root_at, reply_at) = (at(root).context("root listed")?, at(reply).context("reply listed")?);
    assert!(reply_at > root_at && reply_at < root_at + thread_size, "the thread's messages are together");
    assert_eq!(app.list.thread_size(root), Some(thread_size));
    assert!(shows(&app, &format!("({thread_size})")), "the root row shows the thread's size");

    use iced::keyboard::{Key, Modifiers};
    let j = || Message::Key(Key::Character("j".into()), Modifiers::default());
    deliver(&mut app, vec![j(), j()]).await;
    assert_eq!(app.list.selected(), threaded.get(1).copied(), "j walks the threaded order");

    drop(app);
    let mut app = demo_window(dir.path()).await;
    assert!(app.list.threaded(), "a new window opens threaded");
    let at = |id: i64| app.list.ids().iter().position(|x| *x == id);
    assert_eq!(at(first_reply), at(replied_to).map(|i| i + 1));

    let clicked = click(&app, "Threads");
    deliver(&mut app, clicked).await;
    assert!(!app.list.threaded() && !threads_saved()?);
    assert_eq!(app.list.ids(), by_date.as_slice(), "off: by date, as before");
    assert!(!shows(&app, &format!("({thread_size})")));
    Ok(())
}

/// Settings says what folders kept offline hold: marking a folder in its
/// menu uses those limits, changing them applies to the folders kept
/// offline and is remembered, and a folder can be let go from there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_limits_in_settings_apply_to_folders_kept_offline() {
    use satchel::gui::folders::Message as Tree;
    use satchel::gui::settings::{Days, Message as Set};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = demo_window(dir.path()).await;
    let account = app.accounts[0].id;
    let inbox = app.folders.find_by_name("INBOX").expect("INBOX");
    deliver(&mut app, vec![Message::ShowPage(Page::Settings)]).await;
    assert!(shows(&app, "Folders kept offline hold"));
    let kept_before = app.backend.cache.offline_folders(account).expect("read").len();

    deliver(&mut app, vec![Message::Folders(Tree::OpenMenu(inbox)), Message::Folders(Tree::Offline(true))]).await;
    let policy = |app: &App| app.backend.cache.offline_folders(account).expect("read").into_iter().find(|(id, _, _)| *id == inbox).map(|(_, _, p)| p);
    assert_eq!(policy(&app).map(|p| p.days), Some(90), "the default: the last 90 days");
    deliver(&mut app, vec![Message::ShowPage(Page::Settings)]).await;
    assert!(shows(&app, "demo: Inbox"), "listed as kept offline");

    deliver(&mut app, vec![Message::Settings(Set::OfflineDays(Days(30)))]).await;
    assert_eq!(policy(&app).map(|p| p.days), Some(30), "the folder follows the new limit");
    assert_eq!(Profile::in_dir(dir.path()).load().expect("config").offline.days, 30, "remembered");

    let clicked = click(&app, "Stop keeping offline");
    deliver(&mut app, clicked).await;
    assert_eq!(policy(&app), None);
    assert_eq!(app.backend.cache.offline_folders(account).expect("read").len(), kept_before);
}
