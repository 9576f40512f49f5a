//! Window benchmark: time to first frame, resident memory and scroll frame
//! times with a large folder open from the cache. Headless (iced_test with
//! the tiny-skia software renderer): a frame here is update + view + layout
//! + drawing 1200x760 pixels on the CPU, without the GPU and the window
//! system. A scroll step is two frames (the wheel event, then the frame
//! with the rows read for it).
//!
//!     cargo bench -p satchel --bench gui -- --messages 100000 [--threads]
//!
//! With `--threads` the messages come in conversations of five (each
//! answering the one before, with In-Reply-To and References) and the
//! window opens with "Threads" on, so the folder is listed by thread.
//!
//! The cache is built by a child process first, so the memory figures are
//! those of a window opening an existing cache.

// In tests a failed expect() is a failed test; the lint is for library code.
#![allow(clippy::expect_used)]

use std::time::{Duration, Instant};

use iced::advanced::renderer::Headless;
use iced::theme::Base;
use iced::{Event, Font, Pixels, Point, Size, Theme, mouse};
use iced_runtime::{UserInterface, user_interface};

#[path = "../tests/support/mod.rs"]
mod support;
use support::settle;
use satchel::gui::{App, Backend, Message};
use satchel_core::cache::{Cache, Flags, MailboxServerInfo, NewMessage};
use satchel_core::config::Profile;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let messages: u32 = value("--messages").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let threads = args.iter().any(|a| a == "--threads");
    if let Some(dir) = value("--prepare") {
        return prepare(std::path::Path::new(&dir), messages, threads);
    }
    let dir = tempfile::tempdir()?;
    let mut child = std::process::Command::new(std::env::current_exe()?);
    child.args(["--prepare", &dir.path().display().to_string(), "--messages", &messages.to_string()]);
    if threads {
        child.arg("--threads");
    }
    let status = child.status()?;
    anyhow::ensure!(status.success(), "preparing the cache failed");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(measure(dir.path(), messages))
}

/// A cache whose demo account has one INBOX of `messages` messages (in
/// threads, and the list set to show them, with `threads`).
fn prepare(dir: &std::path::Path, messages: u32, threads: bool) -> anyhow::Result<()> {
    let profile = Profile::in_dir(dir);
    if threads {
        let mut config = satchel_core::config::Config::default();
        config.ui.threads = true;
        profile.save(&config)?;
    }
    let cache = profile.open_cache()?;
    let account = cache.ensure_account(satchel_core::demo::ACCOUNT, "you@demo.example")?;
    let inbox = MailboxServerInfo {
        name: "INBOX".into(),
        delimiter: Some("/".into()),
        attributes: Vec::new(),
        special_use: None,
        subscribed: true,
    };
    cache.replace_folder_list(account.id, &[inbox])?;
    let mailbox = cache.mailbox_by_name(account.id, "INBOX")?;
    cache.reset_mailbox(mailbox.id, 1)?;
    let mut uid = 1;
    while uid <= messages {
        let batch: Vec<NewMessage> = (uid..(uid + 5_000).min(messages + 1)).map(|u| message(u, threads)).collect();
        uid += batch.len() as u32;
        cache.commit_new_messages(mailbox.id, &batch, uid)?;
    }
    drop::<Cache>(cache);
    Ok(())
}

fn message(uid: u32, threads: bool) -> NewMessage {
    let date = 1_700_000_000 + i64::from(uid) * 600;
    let id = |u: u32| format!("<bench-{u}@example.org>");
    // Conversations of five: uids 1-5, 6-10, ...; each answers the one before.
    let first = uid - (uid - 1) % 5;
    let answers = (threads && uid != first).then(|| (first..uid).map(id).collect::<Vec<_>>());
    NewMessage {
        uid,
        flags: Flags::from_imap(if uid % 3 == 0 { vec![] } else { vec!["\\Seen"] }),
        internal_date: Some(date),
        size: 2_000 + uid % 50_000,
        sort_date: date,
        subject: format!("Message number {uid} about the quarterly figures and the train timetable"),
        from: format!("Sender {} <sender{}@example.org>", uid % 97, uid % 97),
        to: "you@example.org".into(),
        message_id: Some(id(uid)),
        in_reply_to: answers.as_ref().and_then(|a| a.last().cloned()),
        references: answers.map(|a| a.join(" ")),
        ..NewMessage::default()
    }
}

/// One renderer and widget-state cache kept across frames, as a window
/// keeps them.
struct Frames {
    renderer: iced::Renderer,
    cache: Option<user_interface::Cache>,
    /// Per frame: view + layout + events + draw commands (Satchel's and
    /// iced's work), and rasterizing (tiny-skia on the CPU here; a GPU in a
    /// real window).
    own: Vec<Duration>,
    raster: Vec<Duration>,
}

const SIZE: Size = Size { width: 1200.0, height: 760.0 };

impl Frames {
    fn new() -> anyhow::Result<Frames> {
        let renderer = iced::futures::executor::block_on(<iced::Renderer as Headless>::new(
            Font::DEFAULT,
            Pixels(16.0),
            Some("tiny-skia"),
        ))
        .ok_or_else(|| anyhow::anyhow!("no headless renderer"))?;
        Ok(Frames { renderer, cache: Some(user_interface::Cache::default()), own: Vec::new(), raster: Vec::new() })
    }

    /// Delivers `events` (at the middle of the list), then lays out, draws
    /// and rasterizes the window once; returns the messages produced.
    fn frame(&mut self, app: &App, events: &[Event]) -> Vec<Message> {
        let cache = self.cache.take().unwrap_or_default();
        let t0 = Instant::now();
        let mut ui = UserInterface::build(app.view(), SIZE, cache, &mut self.renderer);
        let t1 = Instant::now();
        let cursor = mouse::Cursor::Available(Point::new(500.0, 300.0));
        let mut messages = Vec::new();
        let redraw = Event::Window(iced::window::Event::RedrawRequested(std::time::Instant::now()));
        let mut all = events.to_vec();
        all.push(redraw);
        let _ = ui.update(&all, cursor, &mut self.renderer, &mut iced::advanced::clipboard::Null, &mut messages);
        let theme = Theme::Light;
        let base = theme.base();
        ui.draw(&mut self.renderer, &theme, &iced::advanced::renderer::Style { text_color: base.text_color }, cursor);
        self.cache = Some(ui.into_cache());
        let t2 = Instant::now();
        let _pixels = self.renderer.screenshot(Size::new(1200, 760), 1.0, base.background_color);
        let _ = t1;
        self.own.push(t2 - t0);
        self.raster.push(t2.elapsed());
        messages
    }
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn measure(dir: &std::path::Path, messages: u32) -> anyhow::Result<()> {
    let rss_before = rss_kib("VmRSS:");
    let started = Instant::now();
    let backend = Backend::open(Profile::in_dir(dir), true)?;
    let (mut app, task) = App::boot(backend);
    settle(&mut app, task).await;
    let listed = started.elapsed();
    let mut frames = Frames::new()?;
    let renderer_ready = started.elapsed();
    frames.frame(&app, &[]);
    let first_frame = started.elapsed();
    anyhow::ensure!(app.list.len() == messages as usize, "listed {} of {messages}", app.list.len());

    // Scrolling: 300 wheel steps of 5 lines, then 40 jumps far down (as
    // when the scrollbar is dragged); each step is a full frame plus
    // reading the newly visible rows from the cache.
    let wheel = |lines: f32| Event::Mouse(mouse::Event::WheelScrolled { delta: mouse::ScrollDelta::Lines { x: 0.0, y: -lines } });
    let mut steps = Vec::new();
    for i in 0..340 {
        let lines = if i < 300 { 5.0 } else { messages as f32 / 60.0 };
        let t = Instant::now();
        for m in frames.frame(&app, &[wheel(lines)]) {
            let task = app.update(m);
            settle(&mut app, task).await;
        }
        frames.frame(&app, &[]);
        steps.push(t.elapsed());
    }
    let max = steps.iter().max().copied().unwrap_or_default();
    let p95 = {
        let mut s = steps.clone();
        s.sort();
        s[s.len() * 95 / 100]
    };
    let med = median(&mut steps);
    println!("messages in the folder      {messages}");
    println!("folder listed (ids + rows)  {:.1} ms", listed.as_secs_f64() * 1e3);
    println!("first frame                 {:.1} ms (of which starting the renderer: {:.1} ms)", first_frame.as_secs_f64() * 1e3, (renderer_ready - listed).as_secs_f64() * 1e3);
    println!("resident memory             {} MiB (process before opening: {} MiB; peak {} MiB)", rss_kib("VmRSS:") / 1024, rss_before / 1024, rss_kib("VmHWM:") / 1024);
    println!("scroll step (frame + rows)  median {:.1} ms, p95 {:.1} ms, max {:.1} ms over {} steps", med.as_secs_f64() * 1e3, p95.as_secs_f64() * 1e3, max.as_secs_f64() * 1e3, steps.len());
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (mut own, mut raster) = (frames.own.clone(), frames.raster.clone());
    own.sort();
    raster.sort();
    println!(
        "per frame, view+layout+draw  median {:.2} ms, p95 {:.2} ms, max {:.2} ms over {} frames",
        ms(own[own.len() / 2]),
        ms(own[own.len() * 95 / 100]),
        ms(own[own.len() - 1]),
        own.len()
    );
    println!("per frame, CPU rasterizing   median {:.1} ms (tiny-skia, 1200x760; a GPU does this in a real window)", ms(raster[raster.len() / 2]));
    Ok(())
}
