//! A loopback TCP proxy that forwards to the test server and cuts every
//! connection after a given number of server-to-client bytes: a network
//! that drops in the middle of a response.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CuttingProxy {
    pub port: u16,
    /// Rewrites done so far (see [`CuttingProxy::rewriting`]).
    pub rewrites: Arc<AtomicU64>,
    /// Connections cut so far.
    pub cuts: Arc<AtomicU64>,
    /// Server bytes swallowed by [`CuttingProxy::muting_after_upload`].
    pub muted: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    /// Forwards 127.0.0.1:`port` to 127.0.0.1:`target`; each connection is
    /// closed once `cut_after` bytes came from the server.
    pub async fn start(target: u16, cut_after: u64) -> Result<CuttingProxy> {
        Self::spawn(target, cut_after, None).await
    }

    /// Forwards everything, but replaces `from` with `to` in what the server
    /// sends (plaintext connections only): a server that sends something
    /// our parser cannot read.
    pub async fn rewriting(target: u16, from: &[u8], to: &[u8]) -> Result<CuttingProxy> {
        Self::spawn(target, u64::MAX, Some((from.to_vec(), to.to_vec()))).await
    }

    /// Forwards everything until the client has sent more than `upload`
    /// bytes; from then on the server's answers are swallowed while both
    /// connections stay open. Works through TLS, as it only counts bytes:
    /// a server that took a large message and whose "250 OK" never
    /// reaches the client.
    pub async fn muting_after_upload(target: u16, upload: u64) -> Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let muted = Arc::new(AtomicU64::new(0));
        let muted2 = muted.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let muted = muted2.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = mute(client, server, upload, muted).await;
                    }
                });
            }
        });
        Ok(CuttingProxy { port, rewrites: Arc::default(), cuts: Arc::default(), muted, task })
    }

    async fn spawn(target: u16, cut_after: u64, rewrite: Option<(Vec<u8>, Vec<u8>)>) -> Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cuts = Arc::new(AtomicU64::new(0));
        let rewrites = Arc::new(AtomicU64::new(0));
        let (cuts2, rewrites2) = (cuts.clone(), rewrites.clone());
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (cuts, rewrites, rewrite) = (cuts2.clone(), rewrites2.clone(), rewrite.clone());
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = forward(client, server, cut_after, cuts, rewrite, rewrites).await;
                    }
                });
            }
        });
        Ok(CuttingProxy { port, rewrites, cuts, muted: Arc::default(), task })
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn mute(client: TcpStream, server: TcpStream, upload: u64, muted: Arc<AtomicU64>) -> Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let sent = Arc::new(AtomicU64::new(0));
    let sent2 = sent.clone();
    let up = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        while let Ok(n) = cr.read(&mut buf).await {
            if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
            sent2.fetch_add(n as u64, Ordering::SeqCst);
        }
    });
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = sr.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if sent.load(Ordering::SeqCst) > upload {
            muted.fetch_add(n as u64, Ordering::SeqCst);
        } else {
            cw.write_all(&buf[..n]).await?;
        }
    }
    up.abort();
    Ok(())
}

async fn forward(
    client: TcpStream,
    server: TcpStream,
    cut_after: u64,
    cuts: Arc<AtomicU64>,
    rewrite: Option<(Vec<u8>, Vec<u8>)>,
    rewrites: Arc<AtomicU64>,
) -> Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
    });
    let mut passed: u64 = 0;
    let mut buf = vec![0u8; 16 * 1024];
    // Bytes held back because they may be the start of `from`.
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = sr.read(&mut buf).await?;
        if n == 0 {
            cw.write_all(&carry).await?;
            break;
        }
        let chunk: Vec<u8> = match &rewrite {
            None => buf[..n].to_vec(),
            Some((from, to)) => {
                carry.extend_from_slice(&buf[..n]);
                let mut out = Vec::with_capacity(carry.len());
                let mut i = 0;
                while i + from.len() <= carry.len() {
                    if carry[i..].starts_with(from) {
                        out.extend_from_slice(to);
                        rewrites.fetch_add(1, Ordering::Relaxed);
                        i += from.len();
                    } else {
                        out.push(carry[i]);
                        i += 1;
                    }
                }
                // Hold back only a tail that could begin `from`; send the rest
                // now (a greeting must not wait for more bytes).
                let tail = &carry[i..];
                let keep = (1..=tail.len().min(from.len().saturating_sub(1)))
                    .rev()
                    .find(|k| from.starts_with(&tail[tail.len() - k..]))
                    .unwrap_or(0);
                out.extend_from_slice(&tail[..tail.len() - keep]);
                carry.drain(..carry.len() - keep);
                out
            }
        };
        let n = chunk.len();
        let allowed = (cut_after.saturating_sub(passed) as usize).min(n);
        cw.write_all(&chunk[..allowed]).await?;
        passed += allowed as u64;
        if passed >= cut_after {
            cuts.fetch_add(1, Ordering::Relaxed);
            break;
        }
    }
    up.abort();
    let _ = cw.shutdown().await;
    Ok(())
}
