//! The setup screen's "Test connection" against the real Dovecot: each
//! failure comes back as its own kind, with words that point the user at
//! the field to fix.

use satchel_core::config::{AccountConfig, ImapSettings, Security};
use satchel_core::setup::{ConnectionProblem, test_connection};
use satchel_tests::{Dovecot, DovecotOptions};

async fn problem(account: &AccountConfig, password: &str) -> anyhow::Result<ConnectionProblem> {
    match test_connection(account, password).await {
        Ok(summary) => anyhow::bail!("expected a failure, got {summary}"),
        Err(p) => Ok(p),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn success_reports_capabilities_and_folders() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let summary = test_connection(&dovecot.account("alice"), "alice-pw").await?;
    assert_eq!(summary.features, ["IDLE", "CONDSTORE", "QRESYNC", "MOVE"]);
    assert!(summary.has("IMAP4rev1"), "{:?}", summary.capabilities);
    assert!(summary.folder_count.is_some_and(|n| n >= 1), "{summary:?}");
    let text = summary.to_string();
    assert!(text.starts_with("Connected and logged in") && text.contains("QRESYNC"), "{text}");

    // The same over STARTTLS.
    let mut account = dovecot.account("alice");
    account.imap.security = Security::Starttls;
    account.imap.port = dovecot.imap_port;
    assert!(test_connection(&account, "alice-pw").await.is_ok());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_login_failure() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let p = problem(&dovecot.account("alice"), "not-the-password").await?;
    assert!(matches!(p, ConnectionProblem::LoginFailed { .. }), "{p:?}");
    let text = p.to_string();
    assert!(text.contains("rejected the user name or password"), "{text}");
    assert!(text.contains("Authentication failed"), "the server's own words: {text}");
    assert!(!text.contains("not-the-password"), "the password never appears: {text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_refused() -> anyhow::Result<()> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut account = offline_account("127.0.0.1");
    account.imap.port = closed;
    let p = problem(&account, "pw").await?;
    assert_eq!(p, ConnectionProblem::Refused { host: "127.0.0.1".into(), port: closed });
    let text = p.to_string();
    assert!(text.contains("refused the connection") && text.contains(&format!("port {closed}")), "{text}");
    assert!(text.contains("Check the port and security settings"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_host_is_not_found() -> anyhow::Result<()> {
    // .invalid never resolves (RFC 6761), so nothing leaves the machine
    // except, at most, a query to the local resolver.
    let p = problem(&offline_account("nonexistent.invalid"), "pw").await?;
    assert_eq!(p, ConnectionProblem::HostNotFound { host: "nonexistent.invalid".into() });
    let text = p.to_string();
    assert!(text.contains("nonexistent.invalid could not be found") && text.contains("spelling"), "{text}");

    let p = problem(&offline_account("  "), "pw").await?;
    assert_eq!(p.to_string(), "Enter the server name.");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_a_tls_problem() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    account.imap.tls_ca_file = None;
    let p = problem(&account, "alice-pw").await?;
    assert!(matches!(&p, ConnectionProblem::Tls { host, .. } if host == "127.0.0.1"), "{p:?}");
    let text = p.to_string();
    assert!(text.contains("certificate could not be verified"), "{text}");
    assert!(text.contains("not issued by an authority this computer trusts"), "{text}");
    assert!(!text.contains("--tls-ca-file"), "no command-line advice on the setup screen: {text}");

    // TLS to the plain port: not a certificate problem, a port/security mix-up.
    account.imap.port = dovecot.imap_port;
    let text = problem(&account, "alice-pw").await?.to_string();
    assert!(text.contains("secure connection to 127.0.0.1 could not be set up"), "{text}");
    assert!(text.contains("port matches the security setting"), "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_security_is_refused_before_the_password_is_sent() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    account.imap.security = Security::Plain;
    account.imap.port = dovecot.imap_port;
    let p = problem(&account, "alice-pw").await?;
    assert_eq!(p, ConnectionProblem::PlaintextRefused);
    assert!(p.to_string().contains("Choose SSL/TLS or STARTTLS"), "{p}");
    Ok(())
}

/// An account for tests that need no server.
fn offline_account(host: &str) -> AccountConfig {
    AccountConfig {
        name: "setup".into(),
        email: "me@example.test".into(),
        imap: ImapSettings {
            host: host.into(),
            port: 993,
            security: Security::Tls,
            username: "me".into(),
            tls_ca_file: None,
            allow_plaintext: false,
            compress: true,
        },
        password_command: None,
        display_name: None,
        smtp: None,
    }
}
