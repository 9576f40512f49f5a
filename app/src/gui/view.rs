//! The window's layout: toolbar, the three panes (or a full page for
//! setup, settings, pending changes, or choosing a folder), status bar.

use iced::widget::{Column, button, column, container, row, rule, scrollable, text, text_input};
use iced::{Element, Fill, Length};

use super::keys::search_id;
use super::status_bar::StatusBar;
use super::{Action, App, Message, Page, style};

impl App {
    pub fn view(&self) -> Element<'_, Message> {
        let status = StatusBar {
            connectivity: &self.overall_connectivity(),
            pending: self.queued.0,
            failed: self.queued.1,
            progress: self.progress.as_ref().map(|(f, d, t)| (f.as_str(), *d, *t)),
            work_offline: self.config.work_offline,
            stopped: !self.stopped_engines.is_empty() && !self.config.work_offline,
        }
        .view()
        .map(Message::Status);
        let body: Element<'_, Message> = match self.page {
            Page::Setup => self.setup.view().map(Message::Setup),
            Page::Settings => self.settings.view(&self.config, self.folders.kept_offline()).map(Message::Settings),
            Page::Pending => self.pending.view().map(Message::Pending),
            Page::Choose { copy } => self.chooser(copy),
            Page::Compose => match &self.compose {
                Some(c) => c.view().map(Message::Compose),
                None => self.panes(),
            },
            Page::Main => self.panes(),
        };
        column![body, status].into()
    }

    fn panes(&self) -> Element<'_, Message> {
        let mut list_pane = Column::new();
        if let Some(q) = &self.searching {
            list_pane = list_pane.push(
                row![
                    text(format!("Results for \"{q}\" ({} found)", self.list.len())).width(Fill),
                    button("Clear").on_press(Message::SearchClear).style(button::text),
                ]
                .padding([4, 8])
                .align_y(iced::Center),
            );
        }
        if let Some(id) = self.row_menu {
            list_pane = list_pane.push(self.row_menu_view(id));
        }
        list_pane = list_pane.push(self.list.view(self.config.ui.threads).map(Message::List));
        let panes = row![
            container(self.folders.view().map(Message::Folders)).width(240).height(Fill),
            rule::vertical(1),
            container(list_pane).width(Length::FillPortion(5)).height(Fill),
            rule::vertical(1),
            container(self.reader.view().map(Message::Reader)).width(Length::FillPortion(4)).height(Fill),
        ];
        let mut page = column![self.toolbar(), rule::horizontal(1)];
        if let Some(n) = &self.notice {
            if !n.is_empty() {
                page = page.push(container(text(n.as_str()).size(13)).padding([2, 10]));
            }
        }
        page.push(panes).into()
    }

    fn toolbar(&self) -> Element<'_, Message> {
        let selected = self.list.selected().is_some();
        let act = |label: &'static str, action: Action| {
            button(label).on_press_maybe(selected.then_some(Message::Act(action))).style(button::secondary)
        };
        let unread = self
            .list
            .selected()
            .and_then(|id| self.list.row(id))
            .is_some_and(|m| !m.flags.has(satchel_core::cache::SystemFlag::Seen));
        let opened = self.reader.reading.is_some();
        let answer = |label: &'static str, kind: satchel_core::send::reply::Kind| {
            button(label).on_press_maybe(opened.then_some(Message::Answer(kind))).style(button::secondary)
        };
        row![
            button(if self.compose.is_some() { "Back to message" } else { "Write" }).on_press(Message::Write),
            answer("Reply", satchel_core::send::reply::Kind::Reply),
            answer("Reply all", satchel_core::send::reply::Kind::ReplyAll),
            answer("Forward", satchel_core::send::reply::Kind::Forward),
            act(if unread { "Mark read" } else { "Mark unread" }, Action::ToggleRead),
            act("Flag", Action::ToggleFlag),
            act("Archive", Action::Archive),
            act("Delete", Action::Delete),
            button("Move…").on_press_maybe(selected.then_some(Message::ShowPage(Page::Choose { copy: false }))).style(button::secondary),
            button("Copy…").on_press_maybe(selected.then_some(Message::ShowPage(Page::Choose { copy: true }))).style(button::secondary),
            text_input("Search (/)", &self.search)
                .id(search_id())
                .on_input(Message::SearchInput)
                .on_submit(Message::SearchSubmit)
                .width(280)
                .padding(5),
            iced::widget::space::horizontal(),
            button("Settings").on_press(Message::ShowPage(Page::Settings)).style(button::secondary),
        ]
        .spacing(6)
        .padding(6)
        .align_y(iced::Center)
        .into()
    }

    /// The right-click menu of a message, above the list.
    fn row_menu_view(&self, id: i64) -> Element<'_, Message> {
        let row_of = self.list.row(id);
        let subject = row_of.map(|r| r.subject.as_str()).unwrap_or("");
        let unread = row_of.is_some_and(|m| !m.flags.has(satchel_core::cache::SystemFlag::Seen));
        let flagged = row_of.is_some_and(|m| m.flags.has(satchel_core::cache::SystemFlag::Flagged));
        let item = |label: &'static str, m: Message| button(text(label).size(13)).on_press(m).style(button::secondary).padding([2, 6]);
        container(
            column![
                text(format!("\"{subject}\"")).size(13).wrapping(text::Wrapping::None),
                row![
                    item(if unread { "Mark read" } else { "Mark unread" }, Message::Act(Action::ToggleRead)),
                    item(if flagged { "Unflag" } else { "Flag" }, Message::Act(Action::ToggleFlag)),
                    item("Archive", Message::Act(Action::Archive)),
                    item("Delete", Message::Act(Action::Delete)),
                    item("Move…", Message::ShowPage(Page::Choose { copy: false })),
                    item("Copy…", Message::ShowPage(Page::Choose { copy: true })),
                    item("Close", Message::CloseMenu),
                ]
                .spacing(4)
                .wrap(),
            ]
            .spacing(4),
        )
        .padding(6)
        .width(Fill)
        .style(container::rounded_box)
        .into()
    }

    /// "Move to" / "Copy to": the account's other folders.
    fn chooser(&self, copy: bool) -> Element<'_, Message> {
        let Some(folder) = &self.folder else { return text("No folder open.").into() };
        let mut list = Column::new().spacing(4);
        for f in self.folders.siblings(folder.id) {
            let action = if copy { Action::CopyTo(f.id) } else { Action::MoveTo(f.id) };
            list = list.push(
                button(row![text(style::folder_mark(f.special_use.as_deref(), &f.name)).width(18), text(style::folder_label(&f.name))].spacing(6))
                    .on_press(Message::Act(action))
                    .width(Fill)
                    .style(button::secondary),
            );
        }
        let title = if copy { "Copy to folder" } else { "Move to folder" };
        column![
            row![text(title).size(20).width(Fill), button("Cancel").on_press(Message::ShowPage(Page::Main))],
            scrollable(list).height(Fill),
        ]
        .spacing(10)
        .padding(16)
        .max_width(480)
        .into()
    }
}
