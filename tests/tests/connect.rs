//! Connection security against the real Dovecot: certificates verified,
//! no plaintext login unless allowed, clear errors for each failure.

use satchel_core::CoreError;
use satchel_core::config::Security;
use satchel_core::imap::{SyncMode, connect};
use satchel_tests::{Dovecot, DovecotOptions};

async fn try_connect(account: &satchel_core::config::AccountConfig, password: &str) -> Result<SyncMode, CoreError> {
    connect(account, password).await.map(|c| c.mode)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_starttls_log_in_and_enable_qresync() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    let conn = connect(&account, "alice-pw").await?;
    assert_eq!(conn.mode, SyncMode::QResync);
    assert!(conn.compressed, "COMPRESS=DEFLATE is used when offered");

    account.imap.security = Security::Starttls;
    account.imap.port = dovecot.imap_port;
    assert_eq!(try_connect(&account, "alice-pw").await?, SyncMode::QResync);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_is_refused() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    // Only the public roots: the test CA is unknown.
    account.imap.tls_ca_file = None;
    let err = try_connect(&account, "alice-pw").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("certificate is not trusted"), "{err}");
    // Trusting some other CA does not help.
    account.imap.tls_ca_file = Some(dovecot.dir().join("other-ca.pem"));
    let err = try_connect(&account, "alice-pw").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("certificate is not trusted"), "{err}");
    // Nor with STARTTLS: and it does not fall back to plaintext.
    account.imap.security = Security::Starttls;
    account.imap.port = dovecot.imap_port;
    let err = try_connect(&account, "alice-pw").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("certificate is not trusted"), "{err}");
    // Connecting by name works too: localhost is in the certificate.
    let mut by_name = dovecot.account("alice");
    by_name.imap.host = "localhost".into();
    assert!(try_connect(&by_name, "alice-pw").await.is_ok(), "localhost is in the certificate");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_login_is_refused_unless_allowed() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    account.imap.security = Security::Plain;
    account.imap.port = dovecot.imap_port;
    match try_connect(&account, "alice-pw").await {
        Err(CoreError::PlaintextRefused { .. }) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    account.imap.allow_plaintext = true;
    assert!(try_connect(&account, "alice-pw").await.is_ok(), "allowed explicitly");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_closed_port_give_clear_errors() -> anyhow::Result<()> {
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let mut account = dovecot.account("alice");
    let err = try_connect(&account, "not-the-password").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains("login to 127.0.0.1 as \"alice\" failed"), "{err}");
    assert!(!err.contains("not-the-password"), "the password never appears in errors");

    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    account.imap.port = closed;
    let err = try_connect(&account, "alice-pw").await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(err.contains(&format!("cannot reach 127.0.0.1:{closed}")), "{err}");
    Ok(())
}
