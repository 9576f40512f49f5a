//! The reader pane: headers, the body as rich text, attachments. A link
//! shows where it goes before it opens; remote content (images) is fetched
//! only when the user presses "Load remote content" for this message.

use iced::widget::{Column, button, column, container, image, rich_text, row, rule, scrollable, span, text};
use iced::{Color, Element, Fill, Font, font};
use satchel_core::html::{Block, BlockKind, Span};
use satchel_core::reading::{Attachment, Body, Reading};
use satchel_core::remote::Fetched;

use super::style;

#[derive(Debug, Default)]
pub struct Reader {
    pub reading: Option<Reading>,
    pub loading: Option<i64>,
    pub error: Option<String>,
    /// A link the user clicked: shown with its target before opening.
    reveal: Option<String>,
    show_remote: bool,
    /// What "Load remote content" brought for the message shown.
    pub remote: Option<Remote>,
    pub notice: Option<String>,
    /// An attachment that could run code, waiting for "Open anyway".
    confirm_open: Option<usize>,
}

/// The remote items of the message shown, once asked for.
#[derive(Debug, Default)]
pub struct Remote {
    pub loading: bool,
    /// The pictures by address, in the message's order.
    pub images: Vec<(String, image::Handle)>,
    /// Items that could not be shown, with why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Message {
    /// The answer to a LoadRemote for this message.
    RemoteLoaded(i64, Vec<(String, Fetched)>),
    LinkClicked(String),
    OpenLink,
    CancelLink,
    ShowRemote,
    Save(usize),
    Open(usize),
    OpenAnyway(usize),
    CancelOpen,
}

pub enum Event {
    OpenUrl(String),
    /// Fetch these remote items of this message.
    LoadRemote(i64, Vec<String>),
    Save(i64, Attachment),
    Open(i64, Attachment),
}

impl Reader {
    pub fn loading(&mut self, id: i64) {
        self.loading = Some(id);
        self.error = None;
        self.reveal = None;
        self.show_remote = false;
        self.remote = None;
        self.notice = None;
        self.confirm_open = None;
    }

    pub fn loaded(&mut self, id: i64, result: Result<Reading, String>) {
        if self.loading != Some(id) {
            return; // the user moved on
        }
        self.loading = None;
        match result {
            Ok(r) => {
                self.reading = Some(r);
                self.error = None;
            }
            Err(e) => {
                self.reading = None;
                self.error = Some(e);
            }
        }
    }

    pub fn clear(&mut self) {
        *self = Reader::default();
    }

    pub fn shown(&self) -> Option<i64> {
        self.reading.as_ref().map(|r| r.detail.id)
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::LinkClicked(url) => {
                self.reveal = Some(url);
                None
            }
            Message::CancelLink => {
                self.reveal = None;
                None
            }
            Message::OpenLink => self.reveal.take().map(Event::OpenUrl),
            Message::ShowRemote => {
                self.show_remote = true;
                let r = self.reading.as_ref()?;
                let Body::Rich(doc) = &r.body else { return None };
                if self.remote.is_some() || doc.remote_content.is_empty() {
                    return None;
                }
                self.remote = Some(Remote { loading: true, ..Remote::default() });
                Some(Event::LoadRemote(r.detail.id, doc.remote_content.clone()))
            }
            Message::RemoteLoaded(id, items) => {
                if self.shown() != Some(id) {
                    return None; // the user moved on
                }
                let mut remote = Remote::default();
                for (url, fetched) in items {
                    match fetched {
                        Fetched::Image(bytes) => remote.images.push((url, image::Handle::from_bytes(bytes))),
                        Fetched::NotAnImage(kind) => remote.skipped.push(format!("{url}: not a picture ({kind})")),
                        Fetched::Failed(why) => remote.skipped.push(format!("{url}: {why}")),
                    }
                }
                self.remote = Some(remote);
                None
            }
            Message::Save(i) => {
                self.confirm_open = None;
                let r = self.reading.as_ref()?;
                Some(Event::Save(r.detail.id, r.attachments.get(i)?.clone()))
            }
            Message::Open(i) => {
                let r = self.reading.as_ref()?;
                let a = r.attachments.get(i)?;
                if satchel_core::reading::may_run_code(a) {
                    self.confirm_open = Some(i);
                    return None;
                }
                Some(Event::Open(r.detail.id, a.clone()))
            }
            Message::OpenAnyway(i) => {
                self.confirm_open = None;
                let r = self.reading.as_ref()?;
                Some(Event::Open(r.detail.id, r.attachments.get(i)?.clone()))
            }
            Message::CancelOpen => {
                self.confirm_open = None;
                None
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        if let Some(e) = &self.error {
            return container(text(format!("Cannot open this message: {e}"))).padding(16).into();
        }
        let Some(r) = &self.reading else {
            let hint = if self.loading.is_some() { "Opening…" } else { "Select a message to read it." };
            return container(text(hint).style(text::secondary)).center(Fill).into();
        };
        let d = &r.detail;
        let mut head = column![text(if d.subject.is_empty() { "(no subject)" } else { &d.subject }).size(20)].spacing(2);
        head = head.push(header_line("From", &d.from));
        head = head.push(header_line("To", &d.to));
        if !d.cc.is_empty() {
            head = head.push(header_line("Cc", &d.cc));
        }
        head = head.push(
            row![text("Date").width(44).style(text::secondary), text(style::long_date(d.date))].spacing(6),
        );
        let mut page = column![head].spacing(10).padding(16);
        if let Some(url) = &self.reveal {
            page = page.push(
                container(
                    column![
                        text("This link goes to:"),
                        text(url.as_str()).font(Font::MONOSPACE),
                        row![button("Open in browser").on_press(Message::OpenLink), button("Cancel").on_press(Message::CancelLink)]
                            .spacing(8),
                    ]
                    .spacing(6),
                )
                .padding(8)
                .style(container::rounded_box),
            );
        }
        if let Some(n) = &self.notice {
            page = page.push(text(n.as_str()).style(text::success));
        }
        match &r.body {
            Body::NotAvailableOffline => {
                page = page.push(text("This message is not available offline. It will be fetched when you are online.").style(text::secondary));
            }
            Body::Rich(doc) => {
                if !doc.remote_content.is_empty() {
                    page = page.push(remote_bar(doc, self.show_remote, self.remote.as_ref()));
                }
                page = page.push(rule::horizontal(1));
                let mut body = Column::new().spacing(8);
                for b in &doc.blocks {
                    body = body.push(block(b, self.remote.as_ref().filter(|_| self.show_remote)));
                }
                page = page.push(body);
            }
        }
        if !r.attachments.is_empty() {
            page = page.push(rule::horizontal(1));
            for (i, a) in r.attachments.iter().enumerate() {
                page = page.push(
                    row![
                        text(style::ATTACHMENT),
                        text(a.name.as_str()).width(Fill),
                        text(style::human_size(a.size)).style(text::secondary),
                        button("Save").on_press(Message::Save(i)),
                        button("Open").on_press(Message::Open(i)),
                    ]
                    .spacing(8)
                    .align_y(iced::Center),
                );
                if self.confirm_open == Some(i) {
                    page = page.push(
                        row![
                            text(format!(
                                "\u{201c}{}\u{201d} is a program or script: opening it can run code on this computer. \
                                 Open it only if you trust the sender and expected this file.",
                                a.name
                            ))
                            .style(text::danger)
                            .width(Fill),
                            button("Open anyway").on_press(Message::OpenAnyway(i)).style(button::danger),
                            button("Save instead").on_press(Message::Save(i)).style(button::secondary),
                            button("Cancel").on_press(Message::CancelOpen).style(button::text),
                        ]
                        .spacing(8)
                        .align_y(iced::Center),
                    );
                }
            }
        }
        scrollable(page).height(Fill).into()
    }
}

fn header_line<'a>(label: &'a str, value: &'a str) -> Element<'a, Message> {
    row![text(label).width(44).style(text::secondary), text(value)].spacing(6).into()
}

/// The remote pictures that have a place in the text.
fn placed_images(doc: &satchel_core::html::Document) -> std::collections::HashSet<&str> {
    doc.blocks.iter().flat_map(|b| &b.spans).filter_map(|s| s.image.as_deref()).collect()
}

fn remote_bar<'a>(doc: &'a satchel_core::html::Document, shown: bool, remote: Option<&'a Remote>) -> Element<'a, Message> {
    let urls = &doc.remote_content;
    let mut bar = Column::new().spacing(6);
    match remote.filter(|_| shown) {
        None => {
            bar = bar.push(
                row![
                    text(format!(
                        "Satchel did not load {} of this message (images, styles).",
                        style::count(urls.len() as u64, "remote item", "remote items")
                    ))
                    .width(Fill),
                    button("Load remote content").on_press(Message::ShowRemote),
                ]
                .spacing(8)
                .align_y(iced::Center),
            );
        }
        Some(r) if r.loading => bar = bar.push(text("Loading remote content…")),
        Some(r) => {
            bar = bar.push(text(format!("Loaded {} from the sender's servers.", style::count(r.images.len() as u64, "remote image", "remote images"))));
            // Pictures the text names are drawn in their place; the rest
            // (backgrounds, pictures without a place) here, in order.
            let placed = placed_images(doc);
            for (_, h) in r.images.iter().filter(|(u, _)| !placed.contains(u.as_str())) {
                bar = bar.push(image(h.clone()).content_fit(iced::ContentFit::ScaleDown));
            }
            for s in &r.skipped {
                bar = bar.push(text(s.as_str()).size(12).style(text::secondary));
            }
            // Each address still opens in the browser, after it is shown.
            for u in urls.iter().take(20) {
                bar = bar.push(
                    rich_text([span(u.as_str()).link(u.clone()).underline(true)]).on_link_click(Message::LinkClicked).size(12),
                );
            }
        }
    }
    container(bar).padding(8).style(container::rounded_box).into()
}

/// A block of text; with remote content loaded, the pictures its
/// `[image: …]` spans stand for are drawn in their place, splitting it.
fn block<'a>(b: &'a Block, remote: Option<&'a Remote>) -> Element<'a, Message> {
    let picture = |s: &Span| {
        let url = s.image.as_deref()?;
        remote?.images.iter().find(|(u, _)| u == url).map(|(_, h)| h.clone())
    };
    if b.spans.iter().any(|s| picture(s).is_some()) {
        let mut parts = Column::new().spacing(6);
        let mut run: Vec<&Span> = Vec::new();
        for s in &b.spans {
            match picture(s) {
                Some(h) => {
                    if !run.is_empty() {
                        parts = parts.push(text_block(&b.kind, std::mem::take(&mut run)));
                    }
                    parts = parts.push(image(h).content_fit(iced::ContentFit::ScaleDown));
                }
                None => run.push(s),
            }
        }
        if !run.is_empty() {
            parts = parts.push(text_block(&b.kind, run));
        }
        return parts.into();
    }
    text_block(&b.kind, b.spans.iter().collect())
}

/// Text spans of one block, styled by the block's kind.
fn text_block<'a>(kind: &'a BlockKind, parts: Vec<&'a Span>) -> Element<'a, Message> {
    let size = match kind {
        BlockKind::Heading(1) => 22.0,
        BlockKind::Heading(2) => 19.0,
        BlockKind::Heading(_) => 17.0,
        _ => 15.0,
    };
    let mut spans: Vec<iced::widget::text::Span<'_, String>> = Vec::with_capacity(parts.len() + 1);
    if let BlockKind::ListItem { marker, .. } = kind {
        spans.push(span(format!("{marker} ")));
    }
    let heading = matches!(kind, BlockKind::Heading(_));
    spans.extend(parts.into_iter().map(|s| styled(s, heading)));
    let body = rich_text(spans).on_link_click(Message::LinkClicked).size(size);
    match kind {
        BlockKind::Rule => rule::horizontal(1).into(),
        BlockKind::Quote(depth) => container(body)
            .padding(iced::Padding { left: 10.0 * f32::from(*depth), ..iced::Padding::ZERO })
            .style(|theme: &iced::Theme| container::Style {
                text_color: Some(theme.extended_palette().background.strong.text),
                ..container::Style::default()
            })
            .into(),
        BlockKind::ListItem { depth, .. } => {
            container(body).padding(iced::Padding { left: 16.0 * f32::from(*depth), ..iced::Padding::ZERO }).into()
        }
        BlockKind::Preformatted => container(body).padding(6).style(container::rounded_box).into(),
        _ => body.into(),
    }
}

fn styled(s: &Span, heading: bool) -> iced::widget::text::Span<'_, String> {
    let font = Font {
        weight: if s.bold || heading { font::Weight::Bold } else { font::Weight::Normal },
        style: if s.italic { font::Style::Italic } else { font::Style::Normal },
        family: if s.monospace { font::Family::Monospace } else { font::Family::SansSerif },
        ..Font::DEFAULT
    };
    let mut out = span(s.text.as_str()).font(font);
    if let Some(link) = &s.link {
        out = out.link(link.clone()).underline(true).color(Color::from_rgb8(0x2a, 0x6f, 0xdb));
    }
    out
}
