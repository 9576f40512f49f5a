//! Writing a message: To/Cc/Bcc with completion from addresses in the
//! cache, Subject, plain-text body, attachments. The form is saved as a
//! local draft after each change; "Save draft" also files it in Drafts.
//! Sending puts it in the outbox (the core builds the MIME form).

use iced::widget::{Column, button, container, pick_list, row, scrollable, text, text_editor, text_input};
use iced::{Element, Fill};
use satchel_core::send::{self, Attachment, Source};

/// An account that can send, as the From line shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account_id: i64,
    pub label: String,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label)
    }
}

#[derive(Debug)]
pub struct Compose {
    /// The account the message goes out from (its SMTP server, its Sent).
    pub account_id: i64,
    /// Every account that can send, for the From choice.
    pub identities: Vec<Identity>,
    pub form: send::Compose,
    body: text_editor::Content,
    attach_path: String,
    /// The local draft this form is saved as, once it exists.
    pub draft: Option<i64>,
    /// A change not yet saved (the draft row is still being created).
    pub dirty: bool,
    pub saving: bool,
    /// Changes made so far, and how many of them the copy in the server's
    /// Drafts folder holds; a filing is due while they differ.
    pub changes: u64,
    pub filed_changes: u64,
    /// A timer to file the draft is running.
    pub filing_due: bool,
    /// What happened to the copy in Drafts, shown beside the buttons.
    pub filed_note: Option<String>,
    /// Completions for the address field being typed in.
    pub suggestions: Vec<String>,
    field: Field,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    To,
    Cc,
    Bcc,
}

#[derive(Debug, Clone)]
pub enum Message {
    From(Identity),
    To(String),
    Cc(String),
    Bcc(String),
    Subject(String),
    Body(text_editor::Action),
    AttachPath(String),
    Attach,
    /// Open the system's file chooser.
    ChooseFiles,
    /// Files picked there (none when it was cancelled).
    Chosen(Vec<std::path::PathBuf>),
    Remove(usize),
    Suggestion(String),
    Send,
    SaveDraft,
    Discard,
}

pub enum Event {
    /// The form changed: save the local draft.
    Changed,
    /// Show the file chooser.
    ChooseFiles,
    /// Look up completions for this text.
    Suggest(String),
    Send,
    SaveDraft,
    Discard,
}

impl Compose {
    pub fn new(account_id: i64, identities: Vec<Identity>, form: send::Compose) -> Compose {
        let body = text_editor::Content::with_text(&form.body);
        Compose {
            account_id,
            identities,
            form,
            body,
            attach_path: String::new(),
            draft: None,
            dirty: false,
            saving: false,
            changes: 0,
            filed_changes: 0,
            filing_due: false,
            filed_note: None,
            suggestions: Vec::new(),
            field: Field::To,
            error: None,
        }
    }

    /// The last address being typed in a field ("a@x, bo" -> "bo").
    fn typing(value: &str) -> String {
        value.rsplit(',').next().unwrap_or("").trim().to_string()
    }

    fn field_mut(&mut self) -> &mut String {
        match self.field {
            Field::To => &mut self.form.to,
            Field::Cc => &mut self.form.cc,
            Field::Bcc => &mut self.form.bcc,
        }
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        self.error = None;
        let suggest = |field: &String| Some(Event::Suggest(Self::typing(field)));
        match message {
            Message::From(identity) => {
                self.account_id = identity.account_id;
                self.suggestions.clear();
            }
            Message::To(v) => {
                self.form.to = v;
                self.field = Field::To;
                return suggest(&self.form.to);
            }
            Message::Cc(v) => {
                self.form.cc = v;
                self.field = Field::Cc;
                return suggest(&self.form.cc);
            }
            Message::Bcc(v) => {
                self.form.bcc = v;
                self.field = Field::Bcc;
                return suggest(&self.form.bcc);
            }
            Message::Subject(v) => self.form.subject = v,
            Message::Body(action) => {
                let edit = action.is_edit();
                self.body.perform(action);
                if !edit {
                    return None;
                }
                self.form.body = self.body.text();
            }
            Message::AttachPath(v) => {
                self.attach_path = v;
                return None;
            }
            Message::Attach => {
                let path = std::path::PathBuf::from(self.attach_path.trim());
                if !path.is_file() {
                    self.error = Some(format!("No file at {}", path.display()));
                    return None;
                }
                self.attach(path);
                self.attach_path.clear();
            }
            Message::ChooseFiles => return Some(Event::ChooseFiles),
            Message::Chosen(paths) => {
                if paths.is_empty() {
                    return None;
                }
                for path in paths {
                    self.attach(path);
                }
            }
            Message::Remove(i) => {
                if i < self.form.attachments.len() {
                    self.form.attachments.remove(i);
                }
            }
            Message::Suggestion(address) => {
                let field = self.field_mut();
                let kept: Vec<&str> = field.rsplit_once(',').map(|(before, _)| before.split(',').collect()).unwrap_or_default();
                let mut all: Vec<String> = kept.iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
                all.push(address);
                *field = format!("{}, ", all.join(", "));
                self.suggestions.clear();
            }
            Message::Send => return Some(Event::Send),
            Message::SaveDraft => return Some(Event::SaveDraft),
            Message::Discard => return Some(Event::Discard),
        }
        Some(Event::Changed)
    }

    fn attach(&mut self, path: std::path::PathBuf) {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "attachment".into());
        self.form.attachments.push(Attachment { mime_type: send::compose::mime_for(&name), name, source: Source::File(path) });
    }

    pub fn view(&self) -> Element<'_, Message> {
        let label = |s: &'static str| text(s).width(70);
        let mut page = Column::new().spacing(8).padding(12).width(Fill);
        let from = self.identities.iter().find(|i| i.account_id == self.account_id).cloned();
        page = page.push(row![label("From"), pick_list(self.identities.as_slice(), from, Message::From)].spacing(6).align_y(iced::Center));
        page = page.push(row![label("To"), text_input("name@example.org, …", &self.form.to).on_input(Message::To)].spacing(6));
        page = page.push(row![label("Cc"), text_input("", &self.form.cc).on_input(Message::Cc)].spacing(6));
        page = page.push(row![label("Bcc"), text_input("", &self.form.bcc).on_input(Message::Bcc)].spacing(6));
        if !self.suggestions.is_empty() {
            let mut list = row![text("Suggestions:").size(13)].spacing(6);
            for s in &self.suggestions {
                list = list.push(button(text(s.as_str()).size(13)).on_press(Message::Suggestion(s.clone())).style(button::secondary));
            }
            page = page.push(scrollable(list).direction(scrollable::Direction::Horizontal(scrollable::Scrollbar::default())));
        }
        page = page.push(row![label("Subject"), text_input("", &self.form.subject).on_input(Message::Subject)].spacing(6));
        page = page.push(text_editor(&self.body).on_action(Message::Body).height(Fill));
        for (i, a) in self.form.attachments.iter().enumerate() {
            page = page.push(
                row![text(format!("📎 {} ({})", a.name, a.mime_type)).width(Fill), button("Remove").on_press(Message::Remove(i)).style(button::text)]
                    .spacing(6),
            );
        }
        page = page.push(
            row![
                button("Attach files…").on_press(Message::ChooseFiles).style(button::secondary),
                text_input("or type a file's path", &self.attach_path).on_input(Message::AttachPath).on_submit(Message::Attach),
                button("Attach").on_press(Message::Attach).style(button::secondary),
            ]
            .spacing(6),
        );
        if let Some(e) = &self.error {
            page = page.push(text(e.as_str()).style(text::danger));
        }
        let saved = match (self.draft, self.saving || self.dirty) {
            (Some(_), false) => self.filed_note.as_deref().unwrap_or("Draft saved on this computer"),
            (_, true) => "Saving…",
            (None, false) => "",
        };
        page = page.push(
            row![
                button("Send").on_press(Message::Send).style(button::primary),
                button("Save draft").on_press(Message::SaveDraft).style(button::secondary),
                button("Discard").on_press(Message::Discard).style(button::danger),
                text(saved).size(13),
            ]
            .spacing(8)
            .align_y(iced::Center),
        );
        container(page).height(Fill).into()
    }
}
