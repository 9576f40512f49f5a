//! The reader pane: headers, the body as rich text, attachments. A link
//! shows where it goes before it opens; remote content is never fetched.

use iced::widget::{Column, button, column, container, rich_text, row, rule, scrollable, span, text};
use iced::{Color, Element, Fill, Font, font};
use satchel_core::html::{Block, BlockKind, Span};
use satchel_core::reading::{Attachment, Body, Reading};

use super::style;

#[derive(Debug, Default)]
pub struct Reader {
    pub reading: Option<Reading>,
    pub loading: Option<i64>,
    pub error: Option<String>,
    /// A link the user clicked: shown with its target before opening.
    reveal: Option<String>,
    show_remote: bool,
    pub notice: Option<String>,
    /// An attachment that could run code, waiting for "Open anyway".
    confirm_open: Option<usize>,
}

#[derive(Debug, Clone)]
pub enum Message {
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
    Save(i64, Attachment),
    Open(i64, Attachment),
}

impl Reader {
    pub fn loading(&mut self, id: i64) {
        self.loading = Some(id);
        self.error = None;
        self.reveal = None;
        self.show_remote = false;
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
                    page = page.push(remote_bar(&doc.remote_content, self.show_remote));
                }
                page = page.push(rule::horizontal(1));
                let mut body = Column::new().spacing(8);
                for b in &doc.blocks {
                    body = body.push(block(b));
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

fn remote_bar(urls: &[String], shown: bool) -> Element<'_, Message> {
    let mut bar = column![
        row![
            text(format!(
                "Satchel did not load {} of this message (images, styles).",
                style::count(urls.len() as u64, "remote item", "remote items")
            )).width(Fill),
            button("Load remote content").on_press(Message::ShowRemote),
        ]
        .spacing(8)
        .align_y(iced::Center)
    ]
    .spacing(4);
    if shown {
        // Pictures are not drawn inline yet; each item opens in the browser
        // after its address is shown, like any other link.
        for u in urls.iter().take(20) {
            bar = bar.push(
                rich_text([span(u.as_str()).link(u.clone()).underline(true)]).on_link_click(Message::LinkClicked).size(13),
            );
        }
    }
    container(bar).padding(8).style(container::rounded_box).into()
}

fn block(b: &Block) -> Element<'_, Message> {
    let size = match b.kind {
        BlockKind::Heading(1) => 22.0,
        BlockKind::Heading(2) => 19.0,
        BlockKind::Heading(_) => 17.0,
        _ => 15.0,
    };
    let mut spans: Vec<iced::widget::text::Span<'_, String>> = Vec::with_capacity(b.spans.len() + 1);
    if let BlockKind::ListItem { marker, .. } = &b.kind {
        spans.push(span(format!("{marker} ")));
    }
    let heading = matches!(b.kind, BlockKind::Heading(_));
    spans.extend(b.spans.iter().map(|s| styled(s, heading)));
    let body = rich_text(spans).on_link_click(Message::LinkClicked).size(size);
    match &b.kind {
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
