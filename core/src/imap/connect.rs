//! Opening an authenticated IMAP session: TCP, TLS (implicit or STARTTLS,
//! certificates always verified), LOGIN, CAPABILITY, ENABLE, COMPRESS.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_imap::imap_proto::Response;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use super::stream::{Counted, ImapIo, Traffic};
use super::{Command, Session};
use crate::config::{AccountConfig, Security};
use crate::{CoreError, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Which resync method the server allows (RFC 7162), best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// QRESYNC enabled: SELECT reports changed flags and VANISHED UIDs.
    QResync,
    /// CONDSTORE only: CHANGEDSINCE for flags, UID SEARCH for expunges.
    CondStore,
    /// Neither: full flag fetch.
    Plain,
}

/// The server's capabilities, upper-cased.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities(BTreeSet<String>);

impl Capabilities {
    pub fn has(&self, name: &str) -> bool {
        self.0.contains(&name.to_ascii_uppercase())
    }
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

/// A logged-in session plus what we learned while opening it.
pub struct Connection {
    pub session: Session,
    pub capabilities: Capabilities,
    pub mode: SyncMode,
    pub traffic: Arc<Traffic>,
    pub compressed: bool,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("mode", &self.mode).finish_non_exhaustive()
    }
}

/// Connects and logs in to `account`'s IMAP server.
pub async fn connect(account: &AccountConfig, password: &str) -> Result<Connection> {
    let imap = &account.imap;
    let host = imap.host.as_str();
    let traffic = Arc::new(Traffic::default());
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect((host, imap.port)))
        .await
        .map_err(|_| CoreError::Connect {
            host: host.to_string(),
            port: imap.port,
            source: std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"),
        })?
        .map_err(|source| CoreError::Connect { host: host.to_string(), port: imap.port, source })?;
    let _ = tcp.set_nodelay(true);
    let counted = Counted::new(tcp, traffic.clone());

    let stream: Box<dyn ImapIo> = match imap.security {
        Security::Tls => Box::new(tls_handshake(account, counted).await?),
        Security::Starttls => {
            let mut client = async_imap::Client::new(counted);
            read_greeting(&mut client, host).await?;
            client
                .run_command_and_check_ok("STARTTLS", None)
                .await
                .map_err(|e| CoreError::Tls {
                    host: host.to_string(),
                    message: format!("STARTTLS refused ({e}); not falling back to plaintext"),
                })?;
            // Anything the server sent after its STARTTLS answer is dropped
            // with the plaintext client (RFC 3207-style injection defence).
            Box::new(tls_handshake(account, client.into_inner()).await?)
        }
        Security::Plain => {
            if !imap.allow_plaintext {
                return Err(CoreError::PlaintextRefused { account: account.name.clone() });
            }
            Box::new(counted)
        }
    };

    let mut client = async_imap::Client::new(stream);
    if imap.security != Security::Starttls {
        read_greeting(&mut client, host).await?;
    }
    let mut session = client.login(&imap.username, password).await.map_err(|(e, _)| match e {
        async_imap::error::Error::No(text) | async_imap::error::Error::Bad(text) => CoreError::Login {
            host: host.to_string(),
            username: imap.username.clone(),
            server: server_words(&text),
        },
        async_imap::error::Error::Io(_) | async_imap::error::Error::ConnectionLost => {
            CoreError::ConnectionLost("logging in".into())
        }
        other => CoreError::protocol("LOGIN", other.to_string()),
    })?;

    let capabilities = capabilities(&mut session).await?;
    let mode = if capabilities.has("QRESYNC") {
        Command::start(&mut session, "ENABLE QRESYNC").await?.finish().await?;
        SyncMode::QResync
    } else if capabilities.has("CONDSTORE") {
        Command::start(&mut session, "ENABLE CONDSTORE").await?.finish().await?;
        SyncMode::CondStore
    } else {
        SyncMode::Plain
    };
    let compressed = imap.compress && capabilities.has("COMPRESS=DEFLATE");
    if compressed {
        session = session
            .compress(|s| Box::new(s) as Box<dyn ImapIo>)
            .await
            .map_err(|e| CoreError::protocol("COMPRESS DEFLATE", e.to_string()))?;
    }
    drain_unsolicited(&session);
    Ok(Connection { session, capabilities, mode, traffic, compressed })
}

/// async-imap formats a NO as `code: None, info: Some("...")`: keep the
/// server's words.
fn server_words(text: &str) -> String {
    match text.split_once("info: Some(\"") {
        Some((_, rest)) => rest.rsplit_once("\")").map_or(rest, |(w, _)| w).to_string(),
        None => text.trim().to_string(),
    }
}

async fn capabilities(session: &mut Session) -> Result<Capabilities> {
    let mut caps = BTreeSet::new();
    let mut cmd = Command::start(session, "CAPABILITY").await?;
    while let Some(names) = cmd.next(capability_names).await? {
        caps.extend(names);
    }
    cmd.finish().await?;
    Ok(Capabilities(caps))
}

fn capability_names(response: &Response<'_>) -> Vec<String> {
    use async_imap::imap_proto::Capability;
    let Response::Capabilities(list) = response else { return Vec::new() };
    list.iter()
        .map(|c| match c {
            Capability::Imap4rev1 => "IMAP4REV1".to_string(),
            Capability::Auth(a) => format!("AUTH={}", a.to_ascii_uppercase()),
            Capability::Atom(a) => a.to_ascii_uppercase(),
        })
        .collect()
}

/// Discards what async-imap's own commands queued on the unsolicited
/// channel (it holds 100 and silently drops the rest; we re-read the state
/// we need with our own commands).
pub(crate) fn drain_unsolicited(session: &Session) {
    while session.unsolicited_responses.try_recv().is_ok() {}
}

async fn read_greeting<S: ImapIo>(client: &mut async_imap::Client<S>, host: &str) -> Result<()> {
    let greeting = tokio::time::timeout(CONNECT_TIMEOUT, client.read_response())
        .await
        .map_err(|_| CoreError::ConnectionLost(format!("waiting for {host}'s greeting")))?
        .map_err(|e| CoreError::protocol(format!("{host}'s greeting"), e.to_string()))?
        .ok_or_else(|| CoreError::ConnectionLost(format!("waiting for {host}'s greeting")))?;
    match greeting.parsed() {
        Response::Data { status: async_imap::imap_proto::Status::Ok, .. } => Ok(()),
        Response::Data { status, outcome } => Err(CoreError::protocol(
            format!("{host}'s greeting"),
            format!("{status:?} {}", outcome.information.as_deref().unwrap_or("")),
        )),
        other => Err(CoreError::protocol(format!("{host}'s greeting"), format!("unexpected {other:?}"))),
    }
}

async fn tls_handshake<S>(account: &AccountConfig, stream: S) -> Result<tokio_rustls::client::TlsStream<S>>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let host = account.imap.host.as_str();
    let tls_error = |message: String| CoreError::Tls { host: host.to_string(), message };
    let config = tls_config(account)?;
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| tls_error(format!("not a valid server name: {e}")))?;
    tokio::time::timeout(CONNECT_TIMEOUT, TlsConnector::from(Arc::new(config)).connect(name, stream))
        .await
        .map_err(|_| tls_error("handshake timed out".into()))?
        .map_err(|e| tls_error(describe_tls_error(&e)))
}

fn describe_tls_error(e: &std::io::Error) -> String {
    let inner = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>());
    match inner {
        Some(rustls::Error::InvalidCertificate(c)) => {
            format!("the server's certificate is not trusted ({c:?}); add its CA with --tls-ca-file if you trust it")
        }
        Some(other) => other.to_string(),
        None => e.to_string(),
    }
}

fn tls_config(account: &AccountConfig) -> Result<ClientConfig> {
    let host = account.imap.host.as_str();
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = &account.imap.tls_ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| CoreError::Tls {
                host: host.to_string(),
                message: format!("cannot read CA file {}: {e}", path.display()),
            })?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| CoreError::Tls {
                host: host.to_string(),
                message: format!("bad PEM in CA file {}: {e}", path.display()),
            })?;
        if certs.is_empty() {
            return Err(CoreError::Tls {
                host: host.to_string(),
                message: format!("no certificate in CA file {}", path.display()),
            });
        }
        for cert in certs {
            roots.add(cert).map_err(|e| CoreError::Tls {
                host: host.to_string(),
                message: format!("unusable CA certificate in {}: {e}", path.display()),
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CoreError::Tls { host: host.to_string(), message: e.to_string() })?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
