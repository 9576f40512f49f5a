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
    /// Connections cut so far.
    pub cuts: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    /// Forwards 127.0.0.1:`port` to 127.0.0.1:`target`; each connection is
    /// closed once `cut_after` bytes came from the server.
    pub async fn start(target: u16, cut_after: u64) -> Result<CuttingProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let cuts = Arc::new(AtomicU64::new(0));
        let cuts2 = cuts.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let cuts = cuts2.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(("127.0.0.1", target)).await {
                        let _ = forward(client, server, cut_after, cuts).await;
                    }
                });
            }
        });
        Ok(CuttingProxy { port, cuts, task })
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(client: TcpStream, server: TcpStream, cut_after: u64, cuts: Arc<AtomicU64>) -> Result<()> {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut cr, &mut sw).await;
    });
    let mut passed: u64 = 0;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = sr.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        let allowed = (cut_after.saturating_sub(passed) as usize).min(n);
        cw.write_all(&buf[..allowed]).await?;
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
