//! Finding a provider's IMAP and SMTP settings from an email address, the
//! way Thunderbird does: its autoconfig file ("config-v1.1.xml", see
//! <https://wiki.mozilla.org/Thunderbird:Autoconfiguration:ConfigFileFormat>)
//! at the provider's autoconfig host or well-known path.
//!
//! Whatever is found is only a proposal for the setup screen: nothing here
//! connects to the mail server, and a "plain" server is returned as such,
//! with `allow_plaintext` left off, so the user has to choose it knowingly.


use crate::config::{ImapSettings, Security};
use crate::{CoreError, Result};

/// Settings found for an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovered {
    /// Username filled in, `compress` on, `allow_plaintext` off (also when
    /// `security` is `Plain`: see the module comment).
    pub imap: ImapSettings,
    pub smtp: Option<SmtpGuess>,
    /// The URL the settings came from (after redirects); empty from [`parse`].
    pub source: String,
    /// The provider's name for display ("Example Mail"), when given.
    pub provider: Option<String>,
}

impl Discovered {
    /// True when the only IMAP server offered has no TLS at all.
    pub fn is_plaintext(&self) -> bool {
        self.imap.security == Security::Plain
    }
}

/// The outgoing server the provider names; Satchel does not send mail yet,
/// but the setup screen shows and stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpGuess {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
}

/// The URLs Thunderbird tries for `email`, in its order; empty when `email`
/// is not an address.
pub fn candidate_urls(email: &str) -> Vec<String> {
    let Ok((_, domain)) = split_email(email) else { return Vec::new() };
    let query = encode_query(email);
    ["https", "http"]
        .iter()
        .flat_map(|scheme| {
            [
                format!("{scheme}://autoconfig.{domain}/mail/config-v1.1.xml?emailaddress={query}"),
                format!("{scheme}://{domain}/.well-known/autoconfig/mail/config-v1.1.xml"),
            ]
        })
        .collect()
}

/// A provider's settings file is a few KiB; anything bigger is not one.
/// Four candidate URLs take 20 s at worst.
const SETTINGS_FILE: crate::http::Limits =
    crate::http::Limits { max_body: 1 << 20, timeout: std::time::Duration::from_secs(5) };

/// Looks up settings for `email` at the provider's own URLs. `Ok(None)`
/// when none of them has a usable file (the user then types the settings).
pub async fn discover(email: &str) -> Result<Option<Discovered>> {
    split_email(email)?;
    discover_from(email, &candidate_urls(email)).await
}

/// Tries `urls` in order; the first that serves a file with a usable IMAP
/// server wins. Unreachable hosts, error statuses and bad files only move
/// on to the next URL.
pub async fn discover_from(email: &str, urls: &[String]) -> Result<Option<Discovered>> {
    split_email(email)?;
    for url in urls {
        let fetched = match crate::http::get(url, SETTINGS_FILE).await {
            Ok(f) => f,
            Err(why) => {
                tracing::debug!(%url, %why, "autoconfig: nothing here");
                continue;
            }
        };
        let body = String::from_utf8_lossy(&fetched.body);
        match parse(&body, email) {
            Ok(Some(found)) => return Ok(Some(Discovered { source: fetched.url, ..found })),
            Ok(None) => tracing::debug!(%url, "autoconfig: no usable IMAP server in the file"),
            Err(e) => tracing::debug!(%url, %e, "autoconfig: not a settings file"),
        }
    }
    Ok(None)
}

/// Reads an autoconfig file for `email`. `Ok(None)` when it is a settings
/// file without an IMAP server we can use (POP3 only, OAuth2 only, ...);
/// `Err` when it is not a settings file at all.
pub fn parse(xml: &str, email: &str) -> Result<Option<Discovered>> {
    let email = email.trim();
    let (local, domain) = split_email(email)?;
    let doc = roxmltree::Document::parse(xml)
        .map_err(|e| CoreError::Autoconfig(format!("unreadable settings file: {e}")))?;
    let root = doc.root_element();
    if !root.has_tag_name("clientConfig") {
        return Err(CoreError::Autoconfig(format!(
            "not a settings file (it starts with <{}>)",
            root.tag_name().name()
        )));
    }
    let Some(provider) = root.children().find(|n| n.has_tag_name("emailProvider")) else {
        return Ok(None);
    };
    let fill = |s: &str| {
        s.replace("%EMAILADDRESS%", email).replace("%EMAILLOCALPART%", local).replace("%EMAILDOMAIN%", &domain)
    };
    let best = |tag: &str, kind: &str| {
        provider
            .children()
            .filter(|n| n.has_tag_name(tag) && n.attribute("type").is_some_and(|t| t.eq_ignore_ascii_case(kind)))
            .filter_map(|n| server(n, &fill, email))
            // The provider lists its preference first; among those, TLS
            // from the first byte beats STARTTLS beats none (min keeps the first).
            .min_by_key(|s| match s.security {
                Security::Tls => 0,
                Security::Starttls => 1,
                Security::Plain => 2,
            })
    };
    let Some(imap) = best("incomingServer", "imap") else { return Ok(None) };
    let smtp = best("outgoingServer", "smtp").map(|s| SmtpGuess {
        port: s.port.unwrap_or(match s.security {
            Security::Tls => 465,
            Security::Starttls => 587,
            Security::Plain => 25,
        }),
        host: s.host,
        security: s.security,
        username: s.username,
    });
    let provider_name = ["displayName", "displayShortName"]
        .iter()
        .find_map(|tag| text(provider, tag))
        .map(|name| fill(&name));
    Ok(Some(Discovered {
        imap: ImapSettings {
            port: imap.port.unwrap_or(imap.security.default_port()),
            host: imap.host,
            security: imap.security,
            username: imap.username,
            tls_ca_file: None,
            allow_plaintext: false,
            compress: true,
        },
        smtp,
        source: String::new(),
        provider: provider_name,
    }))
}

struct Server {
    host: String,
    port: Option<u16>,
    security: Security,
    username: String,
}

/// One `incomingServer`/`outgoingServer`, or None when Satchel cannot use it.
fn server(node: roxmltree::Node<'_, '_>, fill: &impl Fn(&str) -> String, email: &str) -> Option<Server> {
    let host = fill(&text(node, "hostname")?);
    let security = match text(node, "socketType")?.to_ascii_uppercase().as_str() {
        "SSL" | "TLS" => Security::Tls,
        "STARTTLS" => Security::Starttls,
        "PLAIN" => Security::Plain,
        _ => return None,
    };
    // We log in with a password; a server offering only OAuth2, Kerberos or
    // client certificates would fail at login with a confusing message.
    let auth: Vec<String> = node
        .children()
        .filter(|n| n.has_tag_name("authentication"))
        .filter_map(|n| n.text())
        .map(|t| t.trim().to_ascii_lowercase())
        .collect();
    let password_ok = ["password-cleartext", "password-encrypted", "plain", "secure"];
    if !auth.is_empty() && !auth.iter().any(|a| password_ok.contains(&a.as_str())) {
        return None;
    }
    Some(Server {
        host,
        port: text(node, "port").and_then(|p| p.parse().ok()),
        security,
        username: text(node, "username").map_or_else(|| email.to_string(), |u| fill(&u)),
    })
}

/// The trimmed text of `parent`'s first `tag` child, if not empty.
fn text(parent: roxmltree::Node<'_, '_>, tag: &str) -> Option<String> {
    let t = parent.children().find(|n| n.has_tag_name(tag))?.text()?.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// (local part, lower-cased domain) of an address that can name a host.
fn split_email(email: &str) -> Result<(&str, String)> {
    let bad = || CoreError::Autoconfig(format!("{email:?} is not an email address"));
    let (local, domain) = email.trim().rsplit_once('@').ok_or_else(bad)?;
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'));
    if local.is_empty() || !domain_ok {
        return Err(bad());
    }
    Ok((local, domain.to_lowercase()))
}

/// Percent-encodes all but unreserved characters and '@' (as Thunderbird).
fn encode_query(s: &str) -> String {
    s.trim()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests;
