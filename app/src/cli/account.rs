//! `satchel account add|list`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use satchel_core::config::{AccountConfig, ImapSettings, Security};
use serde::Serialize;

use super::{Context, print_json};

#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an account. The password goes to the OS keyring, or is read from
    /// a command each time; it is never written to the profile.
    Add(AddArgs),
    /// List the configured accounts.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SecurityArg {
    Tls,
    Starttls,
    Plain,
}

impl From<SecurityArg> for Security {
    fn from(a: SecurityArg) -> Security {
        match a {
            SecurityArg::Tls => Security::Tls,
            SecurityArg::Starttls => Security::Starttls,
            SecurityArg::Plain => Security::Plain,
        }
    }
}

#[derive(Debug, ClapArgs)]
pub struct AddArgs {
    #[arg(long)]
    name: String,
    #[arg(long)]
    email: String,
    #[arg(long)]
    imap_host: String,
    /// Defaults to 993 for tls, 143 otherwise.
    #[arg(long)]
    imap_port: Option<u16>,
    #[arg(long, value_enum, default_value = "tls")]
    security: SecurityArg,
    #[arg(long)]
    username: String,
    /// Read the password from standard input and store it in the OS keyring.
    #[arg(long, conflicts_with = "password_command")]
    password_stdin: bool,
    /// A command that prints the password (e.g. `pass show mail`).
    #[arg(long)]
    password_command: Option<String>,
    /// A PEM file of CA certificates to trust for this server.
    #[arg(long)]
    tls_ca_file: Option<PathBuf>,
    /// Allow sending the password without TLS.
    #[arg(long)]
    allow_plaintext: bool,
    /// The name shown beside your address in From:.
    #[arg(long)]
    display_name: Option<String>,
    /// The outgoing (SMTP submission) server; without it the account cannot send.
    #[arg(long)]
    smtp_host: Option<String>,
    /// Defaults to 465 for tls, 587 for starttls.
    #[arg(long)]
    smtp_port: Option<u16>,
    #[arg(long, value_enum, default_value = "starttls")]
    smtp_security: SecurityArg,
    /// The SMTP login, when it is not the IMAP user name.
    #[arg(long)]
    smtp_username: Option<String>,
    /// The server files sent mail in Sent itself: no copy is uploaded.
    #[arg(long)]
    server_saves_sent: bool,
}

pub async fn run(cx: &Context, command: AccountCommand) -> Result<()> {
    match command {
        AccountCommand::Add(a) => add(cx, a),
        AccountCommand::List => list(cx),
    }
}

fn add(cx: &Context, a: AddArgs) -> Result<()> {
    if !a.password_stdin && a.password_command.is_none() {
        bail!("give --password-stdin or --password-command");
    }
    let security = Security::from(a.security);
    if security == Security::Plain && !a.allow_plaintext {
        bail!("--security plain sends the password unencrypted; add --allow-plaintext if you mean it");
    }
    let tls_ca_file = match a.tls_ca_file {
        Some(p) => Some(std::fs::canonicalize(&p).with_context(|| format!("CA file {}", p.display()))?),
        None => None,
    };
    let config = cx.profile.load()?;
    if config.accounts.iter().any(|x| x.name == a.name) {
        return Err(satchel_core::CoreError::AccountExists(a.name).into());
    }
    let account = AccountConfig {
        name: a.name,
        email: a.email,
        imap: ImapSettings {
            host: a.imap_host,
            port: a.imap_port.unwrap_or(security.default_port()),
            security,
            username: a.username,
            tls_ca_file,
            allow_plaintext: a.allow_plaintext,
            compress: true,
        },
        password_command: a.password_command,
        display_name: a.display_name,
        smtp: a.smtp_host.map(|host| {
            let security = Security::from(a.smtp_security);
            satchel_core::config::SmtpSettings {
                host,
                port: a.smtp_port.unwrap_or(security.default_smtp_port()),
                security,
                username: a.smtp_username,
                tls_ca_file: None,
                allow_plaintext: a.allow_plaintext,
                server_saves_sent: a.server_saves_sent,
            }
        }),
    };
    if a.password_stdin {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).context("reading the password from standard input")?;
        let password = text.lines().next().unwrap_or("");
        if password.is_empty() {
            bail!("no password on standard input");
        }
        satchel_core::credentials::store_password(&account, password)?;
    }
    let added = account.clone();
    cx.profile.update(move |config| {
        if config.accounts.iter().any(|a| a.name == added.name) {
            return Err(satchel_core::CoreError::AccountExists(added.name));
        }
        config.accounts.push(added);
        Ok(())
    })?;
    if cx.json {
        print_json(&AccountView::from(&account))
    } else {
        println!("added account {} ({})", account.name, account.email);
        Ok(())
    }
}

#[derive(Serialize)]
struct AccountView {
    name: String,
    email: String,
    imap_host: String,
    imap_port: u16,
    security: Security,
    username: String,
    password: &'static str,
}

impl From<&AccountConfig> for AccountView {
    fn from(a: &AccountConfig) -> Self {
        AccountView {
            name: a.name.clone(),
            email: a.email.clone(),
            imap_host: a.imap.host.clone(),
            imap_port: a.imap.port,
            security: a.imap.security,
            username: a.imap.username.clone(),
            password: if a.password_command.is_some() { "command" } else { "keyring" },
        }
    }
}

fn list(cx: &Context) -> Result<()> {
    let config = cx.profile.load()?;
    let views: Vec<AccountView> = config.accounts.iter().map(AccountView::from).collect();
    if cx.json {
        return print_json(&views);
    }
    if views.is_empty() {
        println!("no accounts; add one with `satchel account add`");
    }
    for v in views {
        println!("{}  {}  {}:{} ({:?})  user {}", v.name, v.email, v.imap_host, v.imap_port, v.security, v.username);
    }
    Ok(())
}
