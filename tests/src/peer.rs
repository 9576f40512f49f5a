//! "Another machine": an independent IMAP session, built straight on
//! async-imap (not on Satchel's code), used to seed mail and to change the
//! server behind Satchel's back, and to read the server's truth.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use async_imap::Session;
use futures::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

use crate::Dovecot;

pub struct Peer {
    session: Session<TlsStream<TcpStream>>,
}

/// One message as the server has it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerMessage {
    pub uid: u32,
    /// Flags in IMAP spelling, sorted, without `\Recent`.
    pub flags: Vec<String>,
    pub size: u32,
}

impl Peer {
    pub async fn connect(dovecot: &Dovecot, user: &str) -> Result<Peer> {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&dovecot.ca_file)? {
            roots.add(cert?)?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(("127.0.0.1", dovecot.imaps_port)).await?;
        tcp.set_nodelay(true)?;
        let tls = TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("127.0.0.1")?.to_owned(), tcp)
            .await?;
        let mut client = async_imap::Client::new(tls);
        client.read_response().await?.context("no greeting")?;
        let session = client
            .login(user, dovecot.password(user))
            .await
            .map_err(|(e, _)| anyhow::anyhow!("peer login: {e}"))?;
        Ok(Peer { session })
    }

    fn drain(&mut self) {
        while self.session.unsolicited_responses.try_recv().is_ok() {}
    }

    pub async fn append(&mut self, mailbox: &str, flags: Option<&str>, message: &[u8]) -> Result<()> {
        self.session.append(mailbox, flags, None, message).await.context("peer APPEND")?;
        self.drain();
        Ok(())
    }

    pub async fn create(&mut self, mailbox: &str) -> Result<()> {
        self.session.create(mailbox).await.context("peer CREATE")?;
        Ok(())
    }

    pub async fn delete(&mut self, mailbox: &str) -> Result<()> {
        self.session.delete(mailbox).await.context("peer DELETE")?;
        Ok(())
    }

    pub async fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        self.session.rename(from, to).await.context("peer RENAME")?;
        Ok(())
    }

    /// SELECTs `mailbox`; returns its UIDVALIDITY.
    pub async fn select(&mut self, mailbox: &str) -> Result<u32> {
        let m = self.session.select(mailbox).await.context("peer SELECT")?;
        self.drain();
        m.uid_validity.context("no UIDVALIDITY")
    }

    /// `UID STORE uids what`, e.g. `+FLAGS (\Flagged)`.
    pub async fn store(&mut self, mailbox: &str, uids: &str, what: &str) -> Result<()> {
        self.select(mailbox).await?;
        let stream = self.session.uid_store(uids, what).await.context("peer STORE")?;
        let _: Vec<_> = stream.try_collect().await.context("peer STORE answer")?;
        self.drain();
        Ok(())
    }

    /// Marks `uids` \Deleted and removes exactly them (UID EXPUNGE).
    pub async fn expunge(&mut self, mailbox: &str, uids: &str) -> Result<()> {
        self.store(mailbox, uids, "+FLAGS.SILENT (\\Deleted)").await?;
        let stream = self.session.uid_expunge(uids).await.context("peer UID EXPUNGE")?;
        let _: Vec<_> = stream.try_collect().await.context("peer UID EXPUNGE answer")?;
        self.drain();
        Ok(())
    }

    /// Moves `uids` of `mailbox` to `to` (UID MOVE).
    pub async fn move_uids(&mut self, mailbox: &str, uids: &str, to: &str) -> Result<()> {
        self.select(mailbox).await?;
        self.session.uid_mv(uids, to).await.context("peer UID MOVE")?;
        self.drain();
        Ok(())
    }

    /// UID, flags and size of every message in `mailbox`, by UID.
    /// UID COPY from `mailbox` to `to`.
    pub async fn copy_uids(&mut self, mailbox: &str, uids: &str, to: &str) -> Result<()> {
        self.select(mailbox).await?;
        self.session.uid_copy(uids, to).await.context("peer UID COPY")?;
        self.drain();
        Ok(())
    }

    pub async fn snapshot(&mut self, mailbox: &str) -> Result<Vec<ServerMessage>> {
        self.select(mailbox).await?;
        let mut out = Vec::new();
        {
            let mut stream = self.session.uid_fetch("1:*", "(UID FLAGS RFC822.SIZE)").await?;
            while let Some(f) = stream.try_next().await? {
                let Some(uid) = f.uid else { bail!("FETCH without UID") };
                let mut flags: Vec<String> = f
                    .flags()
                    .filter_map(|fl| match fl {
                        async_imap::types::Flag::Seen => Some("\\Seen".to_string()),
                        async_imap::types::Flag::Answered => Some("\\Answered".to_string()),
                        async_imap::types::Flag::Flagged => Some("\\Flagged".to_string()),
                        async_imap::types::Flag::Deleted => Some("\\Deleted".to_string()),
                        async_imap::types::Flag::Draft => Some("\\Draft".to_string()),
                        async_imap::types::Flag::Recent => None,
                        async_imap::types::Flag::MayCreate => None,
                        async_imap::types::Flag::Custom(c) => Some(c.to_string()),
                    })
                    .collect();
                flags.sort();
                out.push(ServerMessage { uid, flags, size: f.size.unwrap_or(0) });
            }
        }
        self.drain();
        // An empty mailbox answers `1:*` with nothing, which is right.
        out.sort();
        Ok(out)
    }

    /// `UID SEARCH query` in `mailbox` (e.g. `HEADER Message-ID <x@y>`),
    /// sorted: finds a message by its content, not only count and size.
    pub async fn uid_search(&mut self, mailbox: &str, query: &str) -> Result<Vec<u32>> {
        self.select(mailbox).await?;
        let mut uids: Vec<u32> = self.session.uid_search(query).await.context("peer UID SEARCH")?.into_iter().collect();
        self.drain();
        uids.sort();
        Ok(uids)
    }

    pub async fn logout(mut self) -> Result<()> {
        self.session.logout().await?;
        Ok(())
    }
}
