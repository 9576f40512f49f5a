//! Account setup: name, address and password; server settings filled in by
//! autoconfig where the provider publishes them, always editable; "Test
//! connection" says what is wrong in words a user can act on. The password
//! goes to the OS keyring (or a password command is used instead).

use iced::widget::{button, checkbox, column, container, pick_list, row, scrollable, text, text_input};
use iced::{Element, Fill};
use satchel_core::autoconfig::SmtpGuess;
use satchel_core::config::{AccountConfig, ImapSettings, Security, SmtpSettings};

#[derive(Debug, Clone, Default)]
pub struct Setup {
    pub name: String,
    pub email: String,
    pub password: String,
    pub password_command: String,
    pub host: String,
    pub port: String,
    pub security: SecurityChoice,
    pub username: String,
    pub allow_plaintext: bool,
    /// A PEM file of a private certificate authority (self-hosted servers).
    pub ca_file: String,
    /// The name recipients see beside the address.
    pub display_name: String,
    /// Outgoing mail; an empty server means the account does not send.
    pub smtp_host: String,
    pub smtp_port: String,
    pub smtp_security: SmtpChoice,
    pub smtp_username: String,
    /// The provider files sent mail in Sent itself (Gmail): no copy uploaded.
    pub server_saves_sent: bool,
    /// The SMTP settings when editing began, so fields the form does not
    /// show (a separate CA file) survive a save.
    original_smtp: Option<SmtpSettings>,
    /// Problems found by the last Save or Test, one per line.
    pub errors: Vec<String>,
    /// What the last autoconfig lookup or connection test said.
    pub status: Option<String>,
    pub busy: bool,
    /// Settings of an existing account are being edited.
    pub editing: bool,
    /// The server and user name when editing began: the keyring entry is
    /// filed under them, so changing either needs the password again.
    pub original_login: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecurityChoice {
    #[default]
    Tls,
    Starttls,
    Plain,
}

impl SecurityChoice {
    const ALL: [SecurityChoice; 3] = [SecurityChoice::Tls, SecurityChoice::Starttls, SecurityChoice::Plain];
    fn security(self) -> Security {
        match self {
            SecurityChoice::Tls => Security::Tls,
            SecurityChoice::Starttls => Security::Starttls,
            SecurityChoice::Plain => Security::Plain,
        }
    }
    fn from_security(s: Security) -> Self {
        match s {
            Security::Tls => SecurityChoice::Tls,
            Security::Starttls => SecurityChoice::Starttls,
            Security::Plain => SecurityChoice::Plain,
        }
    }
}

/// The same choices for the outgoing server, labelled with its ports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmtpChoice(pub SecurityChoice);

impl SmtpChoice {
    const ALL: [SmtpChoice; 3] =
        [SmtpChoice(SecurityChoice::Tls), SmtpChoice(SecurityChoice::Starttls), SmtpChoice(SecurityChoice::Plain)];
}

impl std::fmt::Display for SmtpChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            SecurityChoice::Tls => "TLS (port 465)",
            SecurityChoice::Starttls => "STARTTLS (port 587)",
            SecurityChoice::Plain => "None (unencrypted)",
        })
    }
}

impl std::fmt::Display for SecurityChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SecurityChoice::Tls => "TLS (port 993)",
            SecurityChoice::Starttls => "STARTTLS (port 143)",
            SecurityChoice::Plain => "None (unencrypted)",
        })
    }
}

#[derive(Debug, Clone)]
pub enum Message {
    Name(String),
    Email(String),
    Password(String),
    PasswordCommand(String),
    Host(String),
    Port(String),
    Security(SecurityChoice),
    Username(String),
    AllowPlaintext(bool),
    CaFile(String),
    DisplayName(String),
    SmtpHost(String),
    SmtpPort(String),
    SmtpSecurity(SmtpChoice),
    SmtpUsername(String),
    ServerSavesSent(bool),
    FindSettings,
    Found(Result<Option<(ImapSettings, Option<SmtpGuess>)>, String>),
    Test,
    Tested(Result<String, String>),
    Save,
    Saved(Result<String, String>),
    Cancel,
}

pub enum Event {
    /// Look up autoconfig for this address.
    Discover(String),
    /// Try these settings with this password (None: the command's).
    Test(AccountConfig, Option<String>),
    /// Store the account (password into the keyring).
    Save(AccountConfig, Option<String>, bool),
    /// Saved under this name.
    Done(String),
    Cancel,
}

impl Setup {
    pub fn edit(account: &AccountConfig) -> Setup {
        Setup {
            name: account.name.clone(),
            email: account.email.clone(),
            password_command: account.password_command.clone().unwrap_or_default(),
            host: account.imap.host.clone(),
            port: account.imap.port.to_string(),
            security: SecurityChoice::from_security(account.imap.security),
            username: account.imap.username.clone(),
            allow_plaintext: account.imap.allow_plaintext,
            ca_file: account.imap.tls_ca_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            display_name: account.display_name.clone().unwrap_or_default(),
            smtp_host: account.smtp.as_ref().map(|s| s.host.clone()).unwrap_or_default(),
            smtp_port: account.smtp.as_ref().map(|s| s.port.to_string()).unwrap_or_default(),
            smtp_security: SmtpChoice(SecurityChoice::from_security(account.smtp.as_ref().map(|s| s.security).unwrap_or_default())),
            smtp_username: account.smtp.as_ref().and_then(|s| s.username.clone()).unwrap_or_default(),
            server_saves_sent: account.smtp.as_ref().is_some_and(|s| s.server_saves_sent),
            original_smtp: account.smtp.clone(),
            editing: true,
            original_login: Some((account.imap.host.clone(), account.imap.username.clone())),
            ..Setup::default()
        }
    }

    /// The account these fields describe, or every problem with them.
    pub fn validate(&self) -> Result<(AccountConfig, Option<String>), Vec<String>> {
        let mut errors = Vec::new();
        let email = self.email.trim();
        let domain_ok = email.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.ends_with('.'));
        if !domain_ok {
            errors.push("Enter an email address like name@example.org.".to_string());
        }
        let host = self.host.trim();
        if host.is_empty() || host.contains(char::is_whitespace) {
            errors.push("Enter the IMAP server's name, e.g. imap.example.org.".to_string());
        }
        let port = match self.port.trim() {
            "" => Some(self.security.security().default_port()),
            p => p.parse::<u16>().ok().filter(|p| *p > 0),
        };
        if port.is_none() {
            errors.push("The port must be a number from 1 to 65535.".to_string());
        }
        let command = self.password_command.trim();
        let login_changed = self.original_login.as_ref().is_some_and(|(h, u)| {
            let user = if self.username.trim().is_empty() { email } else { self.username.trim() };
            h != host || u != user
        });
        if self.password.is_empty() && command.is_empty() && (!self.editing || login_changed) {
            errors.push("Enter the password (it is kept in the system keyring), or a password command.".to_string());
        }
        let plain = self.security == SecurityChoice::Plain || self.smtp_security.0 == SecurityChoice::Plain;
        if plain && !self.allow_plaintext {
            errors.push("Without encryption the password travels readable; tick \"Allow unencrypted\" to accept that.".to_string());
        }
        let smtp_host = self.smtp_host.trim();
        if smtp_host.contains(char::is_whitespace) {
            errors.push("The outgoing server's name cannot contain spaces.".to_string());
        }
        let smtp_port = match self.smtp_port.trim() {
            "" => Some(self.smtp_security.0.security().default_smtp_port()),
            p => p.parse::<u16>().ok().filter(|p| *p > 0),
        };
        if smtp_port.is_none() {
            errors.push("The outgoing server's port must be a number from 1 to 65535.".to_string());
        }
        let ca_file = self.ca_file.trim();
        if !ca_file.is_empty() && !std::path::Path::new(ca_file).is_file() {
            errors.push(format!("The certificate file {ca_file} does not exist."));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        let name = if self.name.trim().is_empty() { email.to_string() } else { self.name.trim().to_string() };
        let username = if self.username.trim().is_empty() { email.to_string() } else { self.username.trim().to_string() };
        let account = AccountConfig {
            name,
            email: email.to_string(),
            imap: ImapSettings {
                host: host.to_string(),
                port: port.unwrap_or(993),
                security: self.security.security(),
                username,
                tls_ca_file: (!ca_file.is_empty()).then(|| std::path::PathBuf::from(ca_file)),
                allow_plaintext: self.allow_plaintext,
                compress: true,
            },
            password_command: (!command.is_empty()).then(|| command.to_string()),
            display_name: Some(self.display_name.trim().to_string()).filter(|n| !n.is_empty()),
            smtp: (!smtp_host.is_empty()).then(|| SmtpSettings {
                host: smtp_host.to_string(),
                port: smtp_port.unwrap_or(587),
                security: self.smtp_security.0.security(),
                username: Some(self.smtp_username.trim().to_string()).filter(|u| !u.is_empty()),
                tls_ca_file: self.original_smtp.as_ref().and_then(|s| s.tls_ca_file.clone()),
                allow_plaintext: self.allow_plaintext,
                server_saves_sent: self.server_saves_sent,
            }),
        };
        let password = (!self.password.is_empty() && command.is_empty()).then(|| self.password.clone());
        Ok((account, password))
    }

    pub fn update(&mut self, message: Message) -> Option<Event> {
        match message {
            Message::Name(v) => self.name = v,
            Message::Email(v) => self.email = v,
            Message::Password(v) => self.password = v,
            Message::PasswordCommand(v) => self.password_command = v,
            Message::Host(v) => self.host = v,
            Message::Port(v) => self.port = v,
            Message::Security(s) => {
                // Follow the usual port unless the user typed another one.
                if self.port.is_empty() || self.port == self.security.security().default_port().to_string() {
                    self.port = s.security().default_port().to_string();
                }
                self.security = s;
            }
            Message::Username(v) => self.username = v,
            Message::AllowPlaintext(v) => self.allow_plaintext = v,
            Message::CaFile(v) => self.ca_file = v,
            Message::DisplayName(v) => self.display_name = v,
            Message::SmtpHost(v) => self.smtp_host = v,
            Message::SmtpPort(v) => self.smtp_port = v,
            Message::SmtpSecurity(s) => {
                let usual = self.smtp_security.0.security().default_smtp_port().to_string();
                if self.smtp_port.is_empty() || self.smtp_port == usual {
                    self.smtp_port = s.0.security().default_smtp_port().to_string();
                }
                self.smtp_security = s;
            }
            Message::SmtpUsername(v) => self.smtp_username = v,
            Message::ServerSavesSent(v) => self.server_saves_sent = v,
            Message::FindSettings => {
                if !self.email.contains('@') {
                    self.errors = vec!["Enter the email address first.".into()];
                    return None;
                }
                self.busy = true;
                self.status = Some("Looking up the provider's settings…".into());
                return Some(Event::Discover(self.email.trim().to_string()));
            }
            Message::Found(found) => {
                self.busy = false;
                match found {
                    Ok(Some((imap, smtp))) => {
                        self.host = imap.host;
                        self.port = imap.port.to_string();
                        self.security = SecurityChoice::from_security(imap.security);
                        self.username = imap.username.clone();
                        if let Some(smtp) = smtp {
                            self.smtp_host = smtp.host;
                            self.smtp_port = smtp.port.to_string();
                            self.smtp_security = SmtpChoice(SecurityChoice::from_security(smtp.security));
                            // Blank means "the IMAP user name".
                            self.smtp_username = if smtp.username == imap.username { String::new() } else { smtp.username };
                        }
                        self.status = Some("Settings found; check them and press Test connection.".into());
                    }
                    Ok(None) => self.status = Some("No published settings found; enter them by hand.".into()),
                    Err(e) => self.status = Some(format!("Lookup failed: {e}")),
                }
            }
            Message::Test => match self.validate() {
                Ok((account, password)) => {
                    self.errors.clear();
                    self.busy = true;
                    self.status = Some("Connecting…".into());
                    return Some(Event::Test(account, password));
                }
                Err(e) => self.errors = e,
            },
            Message::Tested(result) => {
                self.busy = false;
                self.status = Some(match result {
                    Ok(summary) => format!("Connected: {summary}"),
                    Err(problem) => problem,
                });
            }
            Message::Save => match self.validate() {
                Ok((account, password)) => {
                    self.errors.clear();
                    self.busy = true;
                    return Some(Event::Save(account, password, self.editing));
                }
                Err(e) => self.errors = e,
            },
            Message::Saved(result) => {
                self.busy = false;
                match result {
                    Ok(name) => return Some(Event::Done(name)),
                    Err(e) => self.errors = vec![e],
                }
            }
            Message::Cancel => return Some(Event::Cancel),
        }
        None
    }

    pub fn view(&self) -> Element<'_, Message> {
        let field = |label: &'static str, input: Element<'static, Message>| -> Element<'static, Message> {
            row![text(label).width(150), input].spacing(10).align_y(iced::Center).into()
        };
        let mut form = column![
            text(if self.editing { "Account settings" } else { "Add a mail account" }).size(24),
            // An account's name is its key in the config and the cache:
            // fixed once saved.
            field(
                "Your name for it",
                text_input("e.g. Work", &self.name).on_input_maybe((!self.editing).then_some(Message::Name)).into()
            ),
            field("Email address", text_input("name@example.org", &self.email).on_input(Message::Email).into()),
            field(
                "Password",
                text_input(if self.editing { "(unchanged)" } else { "" }, &self.password)
                    .secure(true)
                    .on_input(Message::Password)
                    .into()
            ),
            row![button("Find settings").on_press_maybe((!self.busy).then_some(Message::FindSettings))],
            text("Incoming mail (IMAP)").size(17),
            field("Server", text_input("imap.example.org", &self.host).on_input(Message::Host).into()),
            field("Port", text_input("993", &self.port).on_input(Message::Port).into()),
            field("Security", pick_list(SecurityChoice::ALL, Some(self.security), Message::Security).into()),
            field("User name", text_input("(the email address)", &self.username).on_input(Message::Username).into()),
            field(
                "Password command",
                text_input("optional, e.g. pass show mail", &self.password_command).on_input(Message::PasswordCommand).into()
            ),
            field(
                "Extra CA certificate",
                text_input("optional: PEM file of a private authority", &self.ca_file).on_input(Message::CaFile).into()
            ),
        ]
        .spacing(10)
        .max_width(640);
        form = form.extend([
            text("Outgoing mail (SMTP)").size(17).into(),
            field("Server", text_input("smtp.example.org (blank: this account does not send)", &self.smtp_host).on_input(Message::SmtpHost).into()),
            field("Port", text_input("587", &self.smtp_port).on_input(Message::SmtpPort).into()),
            field("Security", pick_list(SmtpChoice::ALL, Some(self.smtp_security), Message::SmtpSecurity).into()),
            field("User name", text_input("(the IMAP user name)", &self.smtp_username).on_input(Message::SmtpUsername).into()),
            field("Your name", text_input("shown to recipients, e.g. Ada Lovelace", &self.display_name).on_input(Message::DisplayName).into()),
            checkbox(self.server_saves_sent)
                .label("The server keeps a copy of sent mail itself (do not upload one to Sent)")
                .on_toggle(Message::ServerSavesSent)
                .into(),
        ]);
        if self.security == SecurityChoice::Plain || self.smtp_security.0 == SecurityChoice::Plain {
            form = form.push(checkbox(self.allow_plaintext).label("Allow unencrypted (the password is sent readable)").on_toggle(Message::AllowPlaintext));
        }
        // The verdict and the buttons stay in view below the scrolling form.
        let mut footer = column![].spacing(8).max_width(640).width(Fill);
        for e in &self.errors {
            footer = footer.push(text(e.as_str()).style(text::danger));
        }
        if let Some(s) = &self.status {
            footer = footer.push(text(s.as_str()));
        }
        let ready = !self.busy;
        footer = footer.push(
            row![
                button("Test connection").on_press_maybe(ready.then_some(Message::Test)),
                button("Save").on_press_maybe(ready.then_some(Message::Save)).style(button::success),
                button("Cancel").on_press(Message::Cancel).style(button::secondary),
            ]
            .spacing(10),
        );
        column![
            scrollable(container(form).padding(24).center_x(Fill)).height(Fill),
            container(footer).padding([12, 24]).center_x(Fill),
        ]
        .into()
    }
}
