//! The message list. iced has no virtual list, so this one keeps only the
//! folder's ids (8 bytes a message) and builds widgets for the rows on
//! screen, with spacers above and below standing in for the rest. Rows are
//! read from the cache in windows around what is visible.
//!
//! With "Threads" on, the ids come in thread order (computed by the cache)
//! with each one's depth: replies are indented under their thread's root,
//! which shows the thread's size, and j/k walk the list as displayed.

use std::collections::HashMap;

use iced::widget::{Row, Space, button, checkbox, column, container, operation, row, scrollable, text};
use iced::{Element, Fill, Font, Length, font};
use satchel_core::cache::{MessageListItem, SystemFlag, ThreadedId};

use super::style;

pub const ROW_HEIGHT: f32 = 30.0;
/// Rows read beyond the visible ones, so a scroll rarely shows blanks.
const MARGIN: usize = 60;
/// Loaded rows kept at most; far-away ones are dropped first.
const KEEP: usize = 3_000;
/// Indentation per thread level, and the deepest level indented: past it
/// a long back-and-forth would push subjects out of the row.
const INDENT: f32 = 14.0;
const MAX_INDENT_DEPTH: u32 = 8;

pub fn scroll_id() -> iced::widget::Id {
    iced::widget::Id::new("message-list")
}

/// Where a row came from, in search results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Local,
    Server,
}

/// A folder's ids as the cache gave them: by date, or by thread.
#[derive(Debug, Clone)]
pub enum Listing {
    Flat(Vec<i64>),
    Threads(Vec<ThreadedId>),
}

impl Listing {
    pub fn threaded(&self) -> bool {
        matches!(self, Listing::Threads(_))
    }
}

#[derive(Debug, Default)]
pub struct MessageList {
    ids: Vec<i64>,
    /// Each id's depth in its thread, in the order of `ids`; empty when
    /// the list is flat (by date, or search results).
    depths: Vec<u32>,
    /// The number of messages in each thread of more than one, by root id.
    thread_sizes: HashMap<i64, usize>,
    rows: HashMap<i64, MessageListItem>,
    sources: HashMap<i64, Source>,
    selected: Option<i64>,
    first_visible: usize,
    visible: usize,
    /// The window last asked for, so a scroll inside it asks for nothing.
    requested: (usize, usize),
}

#[derive(Debug, Clone)]
pub enum Message {
    Scrolled(scrollable::Viewport),
    Clicked(i64),
    /// Right click: select without opening, and show the message menu.
    Menu(i64),
    /// The header's "Threads" switch.
    Threads(bool),
}

/// What the list asks of the window.
pub enum Event {
    /// Read these rows from the cache.
    NeedRows(Vec<i64>),
    Open(i64),
    Menu(i64),
    /// Group by thread (or not): remember it and list the folder again.
    Threads(bool),
}

impl MessageList {
    /// A new folder (or search result): ids in display order. A refresh of
    /// the same list (`keep_selection`) keeps the rows already read, so it
    /// does not flicker; they are read again in the background.
    pub fn set_ids(&mut self, ids: Vec<i64>, keep_selection: bool) {
        if !keep_selection || self.selected.is_some_and(|s| !ids.contains(&s)) {
            self.selected = None;
        }
        self.ids = ids;
        self.depths.clear();
        self.thread_sizes.clear();
        if !keep_selection {
            self.rows.clear();
        }
        self.sources.clear();
        self.requested = (0, 0);
        if !keep_selection {
            self.first_visible = 0;
        }
    }

    /// A folder's ids by date or by thread (see [`MessageList::set_ids`]).
    pub fn set_listing(&mut self, listing: Listing, keep_selection: bool) {
        match listing {
            Listing::Flat(ids) => self.set_ids(ids, keep_selection),
            Listing::Threads(rows) => {
                self.set_ids(rows.iter().map(|r| r.id).collect(), keep_selection);
                self.depths = rows.iter().map(|r| r.depth).collect();
                self.thread_sizes = thread_sizes(&rows);
            }
        }
    }

    /// True when the list shows threads (depths known).
    pub fn threaded(&self) -> bool {
        !self.depths.is_empty()
    }

    /// How deep `id` sits in its thread (0: a root, or the list is flat).
    pub fn depth(&self, id: i64) -> u32 {
        self.position(id).and_then(|i| self.depths.get(i)).copied().unwrap_or(0)
    }

    /// The size of the thread `id` is the root of, when it has replies.
    pub fn thread_size(&self, id: i64) -> Option<usize> {
        self.thread_sizes.get(&id).copied()
    }

    fn position(&self, id: i64) -> Option<usize> {
        self.ids.iter().position(|x| *x == id)
    }

    pub fn mark_sources(&mut self, ids: &[i64], source: Source) {
        for id in ids {
            self.sources.insert(*id, source);
        }
    }

    /// Appends ids not shown yet (server search results after local ones).
    pub fn extend(&mut self, ids: &[i64]) -> Vec<i64> {
        let added: Vec<i64> = ids.iter().copied().filter(|id| !self.ids.contains(id)).collect();
        self.ids.extend(&added);
        if self.threaded() {
            self.depths.resize(self.ids.len(), 0);
        }
        added
    }

    pub fn ids(&self) -> &[i64] {
        &self.ids
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn selected(&self) -> Option<i64> {
        self.selected
    }

    pub fn row(&self, id: i64) -> Option<&MessageListItem> {
        self.rows.get(&id)
    }

    pub fn set_rows(&mut self, rows: Vec<MessageListItem>) {
        for r in rows {
            self.rows.insert(r.id, r);
        }
        if self.rows.len() > KEEP {
            let (lo, hi) = self.window();
            let keep: std::collections::HashSet<i64> = self.ids[lo..hi].iter().copied().collect();
            self.rows.retain(|id, _| keep.contains(id));
            // What was dropped must be asked for again.
            self.requested = (lo, hi);
        }
    }

    /// Takes a message out of the list (it was moved or deleted).
    pub fn remove(&mut self, id: i64) {
        if let Some(i) = self.position(id) {
            self.ids.remove(i);
            if i < self.depths.len() {
                self.depths.remove(i);
            }
        }
        self.rows.remove(&id);
        if self.selected == Some(id) {
            self.selected = None;
        }
    }

    /// Rows to read for the current viewport, if they are not all asked for.
    pub fn missing(&mut self) -> Option<Vec<i64>> {
        let (lo, hi) = self.window();
        if lo >= self.requested.0 && hi <= self.requested.1 {
            return None;
        }
        self.requested = (lo.saturating_sub(MARGIN), (hi + MARGIN).min(self.ids.len()));
        let want: Vec<i64> =
            self.ids[self.requested.0..self.requested.1].iter().copied().filter(|id| !self.rows.contains_key(id)).collect();
        (!want.is_empty()).then_some(want)
    }

    /// Every id around the viewport, loaded or not (to read them again
    /// after the folder changed).
    pub fn window_ids(&mut self) -> Vec<i64> {
        let (lo, hi) = self.window();
        self.requested = (lo.saturating_sub(MARGIN), (hi + MARGIN).min(self.ids.len()));
        self.ids[self.requested.0..self.requested.1].to_vec()
    }

    /// The visible index range, plus a margin.
    fn window(&self) -> (usize, usize) {
        let lo = self.first_visible.saturating_sub(MARGIN / 2).min(self.ids.len());
        let hi = (self.first_visible + self.visible.max(40) + MARGIN / 2).min(self.ids.len());
        (lo, hi)
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Scrolled(viewport) => {
                self.first_visible = (viewport.absolute_offset().y / ROW_HEIGHT).max(0.0) as usize;
                self.visible = (viewport.bounds().height / ROW_HEIGHT).ceil() as usize + 1;
                self.missing().map(Event::NeedRows)
            }
            Message::Clicked(id) => {
                self.selected = Some(id);
                Some(Event::Open(id))
            }
            Message::Menu(id) => {
                self.selected = Some(id);
                Some(Event::Menu(id))
            }
            Message::Threads(on) => Some(Event::Threads(on)),
        }
    }

    /// Moves the selection by `delta` rows (j/k, arrows); returns the
    /// newly selected id and a Task keeping it on screen.
    pub fn step(&mut self, delta: isize) -> Option<(i64, iced::Task<super::Message>)> {
        if self.ids.is_empty() {
            return None;
        }
        let current = self.selected.and_then(|s| self.ids.iter().position(|i| *i == s));
        let next = match current {
            Some(i) => (i as isize + delta).clamp(0, self.ids.len() as isize - 1) as usize,
            None => 0,
        };
        let id = self.ids[next];
        self.selected = Some(id);
        Some((id, self.scroll_to(next)))
    }

    /// Scrolls the selected message into view (after the list was
    /// reordered under it, e.g. threads switched on or off).
    pub fn reveal_selected(&self) -> iced::Task<super::Message> {
        match self.selected.and_then(|id| self.position(id)) {
            Some(i) => self.scroll_to(i),
            None => iced::Task::none(),
        }
    }

    /// A Task bringing row `index` on screen, if it is not.
    fn scroll_to(&self, index: usize) -> iced::Task<super::Message> {
        let visible = self.visible.max(1);
        if index < self.first_visible || index + 1 >= self.first_visible + visible {
            let top = if index < self.first_visible { index } else { (index + 2).saturating_sub(visible) };
            operation::scroll_to(scroll_id(), operation::AbsoluteOffset { x: None, y: Some(top as f32 * ROW_HEIGHT) })
        } else {
            iced::Task::none()
        }
    }

    /// After the selected message left this list (moved, deleted): the id
    /// that took its place, as mail clients go on to the next message.
    pub fn neighbour_of(&self, id: i64) -> Option<i64> {
        let i = self.position(id)?;
        self.ids.get(i + 1).or_else(|| i.checked_sub(1).and_then(|j| self.ids.get(j))).copied()
    }

    pub fn select(&mut self, id: Option<i64>) {
        self.selected = id;
    }

    /// The list under its header; `threads` is the saved setting (search
    /// results stay flat whatever it says).
    pub fn view(&self, threads: bool) -> Element<'_, Message> {
        let header = row![
            Space::new().width(Fill),
            checkbox(threads).label("Threads").on_toggle(Message::Threads).size(14).text_size(13),
        ]
        .padding(iced::Padding { top: 2.0, bottom: 2.0, left: 8.0, right: 16.0 });
        if self.ids.is_empty() {
            return column![header, container(text("No messages").style(text::secondary)).center(Fill)].into();
        }
        let (lo, hi) = {
            let lo = self.first_visible.min(self.ids.len());
            (lo, (lo + self.visible.max(40)).min(self.ids.len()))
        };
        let mut rows = column![Space::new().height(Length::Fixed(lo as f32 * ROW_HEIGHT))];
        for i in lo..hi {
            rows = rows.push(self.row_view(self.ids[i], self.depths.get(i).copied()));
        }
        rows = rows.push(Space::new().height(Length::Fixed((self.ids.len() - hi) as f32 * ROW_HEIGHT)));
        column![header, scrollable(rows).id(scroll_id()).on_scroll(Message::Scrolled).height(Fill)].into()
    }

    /// One row; `depth` is its place in its thread when the list is threaded.
    fn row_view(&self, id: i64, depth: Option<u32>) -> Element<'_, Message> {
        let Some(m) = self.rows.get(&id) else {
            return Space::new().height(ROW_HEIGHT).into();
        };
        let unread = !m.flags.has(SystemFlag::Seen);
        let weight = if unread { font::Weight::Bold } else { font::Weight::Normal };
        let f = Font { weight, ..Font::DEFAULT };
        let flag = if m.flags.has(SystemFlag::Flagged) { style::FLAGGED } else { " " };
        let clip = if m.has_attachments { style::ATTACHMENT } else { " " };
        let source = match self.sources.get(&id) {
            Some(Source::Server) => "server ",
            Some(Source::Local) => "",
            None => "",
        };
        // One line per cell, cut at the cell's edge: rows never grow.
        let cell = |t: iced::widget::Text<'static>, width: Length| {
            container(t.wrapping(text::Wrapping::None)).width(width).clip(true)
        };
        let subject = text(format!("{source}{}", clip_text(&m.subject, 120))).font(f).wrapping(text::Wrapping::None);
        // Threaded: replies indented under their root, which shows how
        // many messages its thread holds.
        let subject: Element<'_, Message> = match depth {
            Some(depth) => {
                let mut line = Row::new().spacing(4).push(Space::new().width(depth.min(MAX_INDENT_DEPTH) as f32 * INDENT));
                if let Some(n) = self.thread_size(id) {
                    line = line.push(text(format!("({n})")).style(text::secondary).wrapping(text::Wrapping::None));
                }
                line.push(subject).into()
            }
            None => subject.into(),
        };
        let line = row![
            cell(text(flag).style(style::flag_text), Length::Fixed(16.0)),
            cell(text(clip), Length::Fixed(16.0)),
            cell(text(clip_text(&style::display_name(&m.from), 40)).font(f), Length::FillPortion(3)),
            container(subject).width(Length::FillPortion(5)).clip(true),
            cell(text(style::short_date(m.date)), Length::Fixed(94.0)),
            cell(text(style::human_size(m.size)), Length::Fixed(56.0)),
        ]
        .spacing(6)
        .align_y(iced::Center);
        let selected = self.selected == Some(id);
        let row = button(line)
            .on_press(Message::Clicked(id))
            .height(ROW_HEIGHT)
            .width(Fill)
            // Room on the right for the scrollbar.
            .padding(iced::Padding { top: 4.0, bottom: 4.0, left: 8.0, right: 16.0 })
            .style(move |theme, status| style::row_button(theme, status, selected));
        iced::widget::mouse_area(row).on_right_press(Message::Menu(id)).into()
    }
}

/// The size of each thread of more than one message, by its root's id:
/// a thread is a root (depth 0) and the deeper rows after it.
fn thread_sizes(rows: &[ThreadedId]) -> HashMap<i64, usize> {
    let mut sizes = HashMap::new();
    let mut root: Option<(i64, usize)> = None;
    for r in rows {
        if r.depth == 0 {
            if let Some((id, n)) = root.take().filter(|(_, n)| *n > 1) {
                sizes.insert(id, n);
            }
            root = Some((r.id, 1));
        } else if let Some((_, n)) = root.as_mut() {
            *n += 1;
        }
    }
    if let Some((id, n)) = root.filter(|(_, n)| *n > 1) {
        sizes.insert(id, n);
    }
    sizes
}

/// One line of at most `max` characters (text shaping of very long
/// subjects is the costliest part of a row).
fn clip_text(s: &str, max: usize) -> String {
    let one_line = s.replace(['\r', '\n', '\t'], " ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let mut out: String = one_line.chars().take(max - 1).collect();
    out.push('…');
    out
}
