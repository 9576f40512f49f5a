//! The folder pane: each account's folders as a tree, with special-use
//! marks and unread counts; a right click opens the folder's menu
//! (new subfolder, rename, delete, available offline). A folder with
//! subfolders, and each account, folds open and shut.

use iced::widget::{Column, button, column, container, mouse_area, row, scrollable, text, text_input, toggler};
use iced::{Element, Fill, Font, font};
use satchel_core::cache::FolderSummary;

use super::backend::AccountEntry;
use super::style;

#[derive(Debug, Default)]
pub struct Folders {
    pub accounts: Vec<(AccountEntry, Vec<FolderSummary>)>,
    pub selected: Option<i64>,
    menu: Option<Menu>,
    /// Folders whose subfolders are hidden.
    collapsed: std::collections::HashSet<i64>,
    /// Accounts whose folders are hidden.
    collapsed_accounts: std::collections::HashSet<i64>,
}

#[derive(Debug, Clone)]
struct Menu {
    folder: FolderSummary,
    /// The name being typed for "new subfolder" or "rename".
    editing: Option<(Edit, String)>,
    /// "Delete folder" was pressed once; it needs a second, explicit yes.
    confirm_delete: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    Create,
    Rename,
}

#[derive(Debug, Clone)]
pub enum Message {
    Select(i64),
    /// Fold a folder's subfolders open or shut.
    Toggle(i64),
    ToggleAccount(i64),
    OpenMenu(i64),
    CloseMenu,
    StartEdit(Edit),
    EditName(String),
    SubmitEdit,
    Delete,
    ConfirmDelete,
    Offline(bool),
}

/// Folder changes the window carries out (as queued ops).
#[derive(Debug, Clone)]
pub enum Event {
    Selected(FolderSummary),
    Create { account: i64, name: String },
    Rename { account: i64, from: String, to: String },
    Delete { account: i64, name: String },
    SetOffline { folder: i64, on: bool },
}

impl Folders {
    pub fn find(&self, id: i64) -> Option<&FolderSummary> {
        self.accounts.iter().flat_map(|(_, f)| f).find(|f| f.id == id)
    }

    /// The folders kept available offline, as ("account: folder").
    pub fn kept_offline(&self) -> Vec<(i64, String)> {
        self.accounts
            .iter()
            .flat_map(|(a, fs)| fs.iter().filter(|f| f.offline).map(move |f| (f.id, format!("{}: {}", a.name, style::folder_label(&f.name)))))
            .collect()
    }

    /// The id of the first folder called `name` (any account).
    pub fn find_by_name(&self, name: &str) -> Option<i64> {
        self.accounts.iter().flat_map(|(_, f)| f).find(|f| f.name == name).map(|f| f.id)
    }

    /// Every selectable folder of the account holding `folder`, for
    /// "Move to" and "Copy to".
    pub fn siblings(&self, folder: i64) -> Vec<FolderSummary> {
        self.accounts
            .iter()
            .find(|(_, fs)| fs.iter().any(|f| f.id == folder))
            .map(|(_, fs)| fs.iter().filter(|f| f.selectable && f.id != folder).cloned().collect())
            .unwrap_or_default()
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Select(id) => {
                self.menu = None;
                let folder = self.find(id)?.clone();
                if !folder.selectable {
                    return None;
                }
                self.selected = Some(id);
                Some(Event::Selected(folder))
            }
            Message::Toggle(id) => {
                if !self.collapsed.remove(&id) {
                    self.collapsed.insert(id);
                }
                None
            }
            Message::ToggleAccount(id) => {
                if !self.collapsed_accounts.remove(&id) {
                    self.collapsed_accounts.insert(id);
                }
                None
            }
            Message::OpenMenu(id) => {
                self.menu = self.find(id).cloned().map(|folder| Menu { folder, editing: None, confirm_delete: false });
                None
            }
            Message::CloseMenu => {
                self.menu = None;
                None
            }
            Message::StartEdit(edit) => {
                if let Some(menu) = &mut self.menu {
                    let start = if edit == Edit::Rename { menu.folder.name.clone() } else { String::new() };
                    menu.editing = Some((edit, start));
                }
                None
            }
            Message::EditName(name) => {
                if let Some((_, typed)) = self.menu.as_mut().and_then(|m| m.editing.as_mut()) {
                    *typed = name;
                }
                None
            }
            Message::SubmitEdit => {
                let menu = self.menu.take()?;
                let (edit, typed) = menu.editing?;
                let typed = typed.trim().to_string();
                if typed.is_empty() {
                    return None;
                }
                let f = menu.folder;
                Some(match edit {
                    Edit::Create => {
                        let sep = f.delimiter.clone().unwrap_or_else(|| "/".into());
                        Event::Create { account: f.account_id, name: format!("{}{sep}{typed}", f.name) }
                    }
                    Edit::Rename => Event::Rename { account: f.account_id, from: f.name, to: typed },
                })
            }
            Message::Delete => {
                if let Some(menu) = &mut self.menu {
                    menu.confirm_delete = true;
                }
                None
            }
            Message::ConfirmDelete => {
                let menu = self.menu.take()?;
                Some(Event::Delete { account: menu.folder.account_id, name: menu.folder.name })
            }
            Message::Offline(on) => {
                let menu = self.menu.as_mut()?;
                menu.folder.offline = on;
                Some(Event::SetOffline { folder: menu.folder.id, on })
            }
        }
    }

    pub fn view(&self) -> Element<'_, Message> {
        let mut list = Column::new().spacing(2);
        for (account, folders) in &self.accounts {
            let shut = self.collapsed_accounts.contains(&account.id);
            let head = row![text(if shut { "▸" } else { "▾" }).size(13).width(14), text(&account.name).size(13)].spacing(2);
            list = list.push(button(head).on_press(Message::ToggleAccount(account.id)).style(button::text).padding([2, 4]));
            if shut {
                continue;
            }
            // Prefixes of folded folders ("Projects/"): what starts with one is hidden.
            let folded: Vec<String> = folders
                .iter()
                .filter(|f| self.collapsed.contains(&f.id))
                .map(|f| format!("{}{}", f.name, f.delimiter.as_deref().unwrap_or("/")))
                .collect();
            for f in folders {
                if folded.iter().any(|p| f.name.starts_with(p.as_str())) {
                    continue;
                }
                let parent = f.delimiter.as_deref().is_some_and(|d| {
                    let prefix = format!("{}{d}", f.name);
                    folders.iter().any(|g| g.name.starts_with(&prefix))
                });
                list = list.push(self.folder_row(f, parent));
            }
        }
        let mut pane = column![scrollable(list.padding([8, 6])).height(Fill)];
        if let Some(menu) = &self.menu {
            pane = pane.push(menu_view(menu));
        }
        pane.into()
    }

    fn folder_row<'a>(&self, f: &'a FolderSummary, parent: bool) -> Element<'a, Message> {
        let depth = f.delimiter.as_deref().map_or(0, |d| f.name.matches(d).count());
        let leaf = f.delimiter.as_deref().and_then(|d| f.name.rsplit(d).next()).unwrap_or(&f.name);
        let bold = Font { weight: font::Weight::Bold, ..Font::DEFAULT };
        let mut line = row![
            text(style::folder_mark(f.special_use.as_deref(), &f.name)).width(18),
            text(style::folder_label(leaf)).font(if f.unread > 0 { bold } else { Font::DEFAULT }).width(Fill),
        ]
        .spacing(4);
        if f.unread > 0 {
            line = line.push(text(f.unread.to_string()).font(bold));
        }
        let selected = self.selected == Some(f.id);
        let item = button(line)
            .on_press(Message::Select(f.id))
            .width(Fill)
            .padding([3, 6])
            .style(move |theme, status| style::row_button(theme, status, selected));
        // The fold mark sits left of the row, at its depth.
        let fold: Element<'a, Message> = if parent {
            let mark = if self.collapsed.contains(&f.id) { "▸" } else { "▾" };
            button(text(mark).size(12)).on_press(Message::Toggle(f.id)).style(button::text).padding([3, 2]).width(16).into()
        } else {
            iced::widget::Space::new().width(16).into()
        };
        row![fold, mouse_area(item).on_right_press(Message::OpenMenu(f.id))]
            .align_y(iced::Center)
            .padding(iced::Padding { left: 12.0 * depth as f32, ..iced::Padding::ZERO })
            .into()
    }
}

/// INBOX and the special-use folders (Sent, Trash, ...) are not offered
/// for deletion: clients and servers rely on them.
fn deletable(f: &FolderSummary) -> bool {
    f.special_use.is_none() && !f.name.eq_ignore_ascii_case("INBOX")
}

fn menu_view(menu: &Menu) -> Element<'_, Message> {
    let f = &menu.folder;
    let mut body = column![text(style::folder_label(&f.name)).size(14)].spacing(6);
    match &menu.editing {
        Some((edit, typed)) => {
            let placeholder = if *edit == Edit::Create { "New folder name" } else { "New name" };
            body = body.push(
                text_input(placeholder, typed).on_input(Message::EditName).on_submit(Message::SubmitEdit).padding(4),
            );
            body = body.push(row![button("OK").on_press(Message::SubmitEdit), button("Cancel").on_press(Message::CloseMenu)].spacing(6));
        }
        None => {
            body = body
                .push(button("New subfolder").on_press(Message::StartEdit(Edit::Create)).width(Fill))
                .push(button("Rename").on_press(Message::StartEdit(Edit::Rename)).width(Fill))
                .push(if deletable(f) {
                    if menu.confirm_delete {
                        Element::from(column![
                            text("Delete this folder and all its mail on the server?"),
                            row![
                                button("Delete").on_press(Message::ConfirmDelete).style(button::danger),
                                button("Keep").on_press(Message::CloseMenu),
                            ]
                            .spacing(6),
                        ]
                        .spacing(4))
                    } else {
                        button("Delete folder").on_press(Message::Delete).style(button::danger).width(Fill).into()
                    }
                } else {
                    iced::widget::Space::new().into()
                })
                .push(toggler(f.offline).label("Available offline").on_toggle(Message::Offline))
                .push(button("Close").on_press(Message::CloseMenu).style(button::text));
        }
    }
    container(body).padding(8).style(container::rounded_box).into()
}
