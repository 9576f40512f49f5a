//! One SMTP submission session (lettre's low-level connection over tokio +
//! rustls). The transaction is split where the risk changes: MAIL, RCPT and
//! DATA deliver nothing if they fail; once the message itself is on the
//! wire, a broken connection leaves it uncertain whether it was accepted.

use std::time::Duration;

use lettre::Address;
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use satchel_cache::SendFailure;

use crate::config::{AccountConfig, Security};

const TIMEOUT: Duration = Duration::from_secs(60);

/// Why a step failed: what it means for the message, and the words to keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: SendFailure,
    pub message: String,
}

impl Failure {
    fn new(kind: SendFailure, message: impl Into<String>) -> Failure {
        Failure { kind, message: message.into() }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub struct Session {
    conn: AsyncSmtpConnection,
}

/// What a negative answer before the message went out means: 5xx is a
/// refusal the user must see; anything else (4xx, a dropped connection)
/// delivered nothing and can be tried again.
fn before_message(e: &lettre::transport::smtp::Error, what: &str) -> Failure {
    let kind = if e.is_permanent() { SendFailure::Refused } else { SendFailure::Temporary };
    Failure::new(kind, format!("{what}: {e}"))
}

/// Connects, secures and logs in. Nothing is sent yet, so every failure
/// here leaves the outbox as it was.
pub async fn connect(account: &AccountConfig, password: &str) -> Result<Session, Failure> {
    let smtp = account
        .smtp
        .as_ref()
        .ok_or_else(|| Failure::new(SendFailure::Refused, "no outgoing (SMTP) server is set for this account"))?;
    let host = smtp.host.as_str();
    if smtp.security == Security::Plain && !smtp.allow_plaintext {
        return Err(Failure::new(
            SendFailure::Refused,
            format!("refusing to send the password to {host} without TLS; allow plaintext for this account to permit it"),
        ));
    }
    let tls = tls_parameters(account, host)?;
    let hello = ClientId::default();
    let implicit = (smtp.security == Security::Tls).then(|| tls.clone());
    let mut conn = AsyncSmtpConnection::connect_tokio1((host, smtp.port), Some(TIMEOUT), &hello, implicit, None)
        .await
        .map_err(|e| Failure::new(SendFailure::Temporary, format!("cannot reach {host}:{}: {e}", smtp.port)))?;
    if smtp.security == Security::Starttls {
        if !conn.can_starttls() {
            // Never fall back to plaintext when STARTTLS was asked for.
            return Err(Failure::new(SendFailure::Refused, format!("{host} does not offer STARTTLS")));
        }
        conn.starttls(tls, &hello).await.map_err(|e| Failure::new(SendFailure::Refused, format!("TLS with {host}: {e}")))?;
    }
    let user = smtp.username.clone().unwrap_or_else(|| account.imap.username.clone());
    let credentials = Credentials::new(user.clone(), password.to_string());
    conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
        .await
        .map_err(|e| before_message(&e, &format!("login to {host} as {user:?} failed")))?;
    Ok(Session { conn })
}

/// "Test connection" for the outgoing server: log in, say goodbye.
pub async fn check_login(account: &AccountConfig, password: &str) -> Result<(), Failure> {
    connect(account, password).await?.quit().await;
    Ok(())
}

fn tls_parameters(account: &AccountConfig, host: &str) -> Result<TlsParameters, Failure> {
    let mut builder = TlsParameters::builder(host.to_string());
    let ca_file = account.smtp.as_ref().and_then(|s| s.tls_ca_file.clone()).or_else(|| account.imap.tls_ca_file.clone());
    if let Some(path) = ca_file {
        let pem = std::fs::read(&path)
            .map_err(|e| Failure::new(SendFailure::Refused, format!("reading {}: {e}", path.display())))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|e| Failure::new(SendFailure::Refused, format!("{}: {e}", path.display())))?;
        builder = builder.add_root_certificate(cert);
    }
    builder.build_rustls().map_err(|e| Failure::new(SendFailure::Refused, format!("TLS settings for {host}: {e}")))
}

impl Session {
    /// MAIL FROM, RCPT TO each, DATA. A refused recipient stops here with
    /// the server's words, before anything was delivered.
    pub async fn prepare(&mut self, from: &str, recipients: &[String], raw: &[u8]) -> Result<(), Failure> {
        let from: Address =
            from.parse().map_err(|_| Failure::new(SendFailure::Refused, format!("{from:?} is not an e-mail address")))?;
        let mut options = Vec::new();
        if !raw.is_ascii() {
            if !self.conn.server_info().supports_feature(Extension::EightBitMime) {
                return Err(Failure::new(SendFailure::Refused, "the message has 8-bit text and the server lacks 8BITMIME"));
            }
            options.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        self.conn.command(Mail::new(Some(from), options)).await.map_err(|e| before_message(&e, "sender refused"))?;
        for r in recipients {
            let to: Address =
                r.parse().map_err(|_| Failure::new(SendFailure::Refused, format!("{r:?} is not an e-mail address")))?;
            self.conn.command(Rcpt::new(to, Vec::new())).await.map_err(|e| before_message(&e, &format!("recipient {r} refused")))?;
        }
        self.conn.command(Data).await.map_err(|e| before_message(&e, "the server would not take the message"))?;
        Ok(())
    }

    /// The message and the server's verdict. A 4xx/5xx answer means it was
    /// not accepted; no answer at all means it may have been.
    pub async fn transmit(&mut self, raw: &[u8]) -> Result<(), Failure> {
        match self.conn.message(raw).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(Failure::new(SendFailure::Refused, format!("the server refused the message: {e}"))),
            Err(e) if e.is_transient() => {
                Err(Failure::new(SendFailure::Temporary, format!("the server did not take the message this time: {e}")))
            }
            Err(e) => Err(Failure::new(
                SendFailure::Uncertain,
                format!("the connection failed before the server confirmed the message ({e}); it may have been sent"),
            )),
        }
    }

    pub async fn quit(mut self) {
        let _ = self.conn.quit().await;
    }
}
