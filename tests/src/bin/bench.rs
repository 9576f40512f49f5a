//! Satchel's sync benchmark against a private Dovecot on loopback.
//!
//!   cargo run --release -p satchel-tests --bin bench -- [--messages N] [--runs R (5)]
//!
//! Reports medians of: initial header sync (time, bytes received, peak RSS
//! of the syncing process), resync with no change, resync after 100 flag
//! changes and 10 expunges by another client, and the same FETCH drained by
//! a minimal raw pipelined client as the reference.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use satchel_core::config::{Config, Profile};
use satchel_core::sync::{SyncOptions, SyncSummary, sync_account};
use satchel_tests::{Dovecot, DovecotOptions, Peer, mail};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore};

const ITEMS: &str =
    "(UID FLAGS MODSEQ INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (REFERENCES)])";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    if args.get(1).map(String::as_str) == Some("child-sync") {
        let profile = PathBuf::from(args.get(2).context("child-sync PROFILE")?);
        return rt.block_on(child_sync(&profile));
    }
    let flag = |name: &str, default: u64| -> u64 {
        args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
    };
    let messages = flag("--messages", 10_000);
    let runs = flag("--runs", 5).max(1) as usize;
    rt.block_on(bench(messages, runs))
}

/// One sync in a process of its own, so its peak RSS is its own.
async fn child_sync(profile: &Path) -> Result<()> {
    if std::env::var_os("SATCHEL_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("SATCHEL_LOG"))
            .with_writer(std::io::stderr)
            .init();
    }
    let profile = Profile::in_dir(profile);
    let config: Config = profile.load()?;
    let account = config.pick_account(None)?.clone();
    let cache = Arc::new(profile.open_cache()?);
    let password = satchel_core::credentials::password(&account).await?;
    let summary = sync_account(&cache, &account, &password, &SyncOptions::default(), &mut |_| {}).await?;
    let mut v = serde_json::to_value(&summary)?;
    v["peak_rss_kib"] = own_peak_rss_kib().into();
    println!("{v}");
    Ok(())
}

struct Run {
    summary: SyncSummary,
    wall: Duration,
    peak_rss_kib: u64,
}

fn run_child(profile: &Path) -> Result<Run> {
    let started = Instant::now();
    let out = Command::new(std::env::current_exe()?).arg("child-sync").arg(profile).output()?;
    let wall = started.elapsed();
    if !out.status.success() {
        bail!("sync failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    if std::env::var_os("SATCHEL_LOG").is_some() {
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let n = |k: &str| v[k].as_u64().unwrap_or(0);
    Ok(Run {
        summary: SyncSummary {
            folders: n("folders"),
            new: n("new"),
            changed: n("changed"),
            vanished: n("vanished"),
            bytes_in: n("bytes_in"),
            bytes_out: n("bytes_out"),
            seconds: v["seconds"].as_f64().unwrap_or(0.0),
            header_only: 0,
            replayed: n("replayed"),
            conflicts: n("conflicts"),
            failed_ops: n("failed_ops"),
            errors: Vec::new(),
        },
        wall,
        peak_rss_kib: n("peak_rss_kib"),
    })
}

/// This process's peak RSS in KiB (Linux: VmHWM).
fn own_peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn write_profile(dir: &Path, dovecot: &Dovecot, compress: bool) -> Result<()> {
    let profile = Profile::in_dir(dir);
    let mut account = dovecot.account("alice");
    account.imap.compress = compress;
    profile.save(&Config { work_offline: false, accounts: vec![account], ..Config::default() })?;
    Ok(())
}

async fn bench(messages: u64, runs: usize) -> Result<()> {
    eprintln!("== starting Dovecot and delivering {messages} messages");
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    let t = Instant::now();
    dovecot.deliver("alice", "INBOX", (0..messages).map(|n| (mail::message(n, 7), n % 3 != 0)))?;
    let mailbox_bytes: u64 = std::fs::read_dir(dovecot.maildir("alice", "INBOX").join("cur"))?
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum();
    eprintln!("   delivered in {:.1?} ({:.0} MiB of mail)", t.elapsed(), mailbox_bytes as f64 / 1048576.0);
    // Let Dovecot index and cache the mailbox, outside any measurement.
    raw_fetch(&dovecot).await?;
    raw_fetch(&dovecot).await?;

    let work = tempfile::tempdir()?;
    // `--hold SECS`: leave the server up with a ready profile, for profiling
    // a sync by hand (`bench child-sync DIR` under perf).
    if let Some(secs) = std::env::args().position(|a| a == "--hold").and_then(|i| std::env::args().nth(i + 1)) {
        let dir = work.path().join("held");
        write_profile(&dir, &dovecot, true)?;
        println!("profile ready: {}", dir.display());
        tokio::time::sleep(Duration::from_secs(secs.parse().unwrap_or(600))).await;
        return Ok(());
    }
    let mut raw = Vec::new();
    let mut initial = Vec::new();
    let mut initial_bytes = 0;
    let mut peaks = Vec::new();
    let mut plain = Vec::new();
    let mut plain_bytes = 0;
    for r in 0..runs {
        let (secs, _) = raw_fetch(&dovecot).await?;
        raw.push(secs);
        let dir = work.path().join(format!("initial-{r}"));
        write_profile(&dir, &dovecot, true)?;
        let run = run_child(&dir)?;
        if run.summary.new != messages {
            bail!("initial sync cached {} of {messages}", run.summary.new);
        }
        eprintln!("   run {r}: raw {secs:.2} s, satchel {:.2} s (wall {:.2?})", run.summary.seconds, run.wall);
        initial.push(run.summary.seconds);
        initial_bytes = run.summary.bytes_in;
        peaks.push(run.peak_rss_kib as f64 / 1024.0);
        let dir = work.path().join(format!("uncompressed-{r}"));
        write_profile(&dir, &dovecot, false)?;
        let run = run_child(&dir)?;
        eprintln!("          satchel without COMPRESS {:.2} s", run.summary.seconds);
        plain.push(run.summary.seconds);
        plain_bytes = run.summary.bytes_in;
        peaks.push(run.peak_rss_kib as f64 / 1024.0);
    }
    let peak = median(peaks);
    let synced = work.path().join("initial-0");

    let mut nochange = Vec::new();
    let mut nochange_bytes = 0;
    for _ in 0..runs {
        let run = run_child(&synced)?;
        nochange.push(run.summary.seconds);
        nochange_bytes = run.summary.bytes_in;
    }

    let mut peer = Peer::connect(&dovecot, "alice").await?;
    let mut changed = Vec::new();
    let mut raw_select = Vec::new();
    let mut changed_bytes = Vec::new();
    let mut rng = mail::Rng::new(99);
    for r in 0..runs {
        let live = peer.snapshot("INBOX").await?;
        let mut flag_uids: Vec<u32> = (0..100).map(|_| live[rng.below(live.len() as u64) as usize].uid).collect();
        flag_uids.sort_unstable();
        flag_uids.dedup();
        let set = satchel_core::imap::uidset::format(&flag_uids);
        let verb = if r % 2 == 0 { "+FLAGS.SILENT (\\Flagged)" } else { "-FLAGS.SILENT (\\Seen)" };
        peer.store("INBOX", &set, verb).await?;
        let gone: Vec<u32> = (0..10).map(|i| live[(i * 97 + r * 13) % live.len()].uid).collect();
        peer.expunge("INBOX", &satchel_core::imap::uidset::format(&gone)).await?;
        // Reference: the same QRESYNC SELECT by the raw client, to tell the
        // server's share of the resync time from ours.
        let cache = satchel_cache::Cache::open(&synced.join("cache.sqlite"))?;
        let account = cache.ensure_account("alice-test", "alice@example.test")?;
        let state = cache.mailbox_by_name(account.id, "INBOX")?.sync;
        drop(cache);
        if let (Some(uv), Some(m)) = (state.uidvalidity, state.modseq) {
            let select = format!(
                "a2 ENABLE QRESYNC\r\na3 SELECT INBOX (QRESYNC ({uv} {m} 1:{}))\r\n",
                state.uidnext.saturating_sub(1)
            );
            raw_select.push(raw_session(&dovecot, &select).await?.0);
        }
        let run = run_child(&synced)?;
        eprintln!(
            "   after changes {r}: {} changed, {} vanished, {:.3} s, {} bytes",
            run.summary.changed, run.summary.vanished, run.summary.seconds, run.summary.bytes_in
        );
        changed.push(run.summary.seconds);
        changed_bytes.push(run.summary.bytes_in as f64);
    }

    // "After a trip": 500 offline changes on A while B makes 100 flag changes
    // and 10 expunges; A reconnects and converges (replay + resync).
    let mut trip = Vec::new();
    let mut trip_bytes = Vec::new();
    for r in 0..runs {
        let cache = satchel_cache::Cache::open(&synced.join("cache.sqlite"))?;
        let account = cache.ensure_account("alice-test", "alice@example.test")?;
        let inbox = cache.mailbox_by_name(account.id, "INBOX")?;
        let archive = cache.mailbox_by_name(account.id, "Archive")?;
        let headers = cache.message_headers(inbox.id)?;
        let mut picked: Vec<i64> = (0..500).map(|_| headers[rng.below(headers.len() as u64) as usize].id).collect();
        picked.sort_unstable();
        picked.dedup();
        for (i, id) in picked.iter().enumerate() {
            match i % 50 {
                0..=2 => cache.queue_move(*id, archive.id)?,
                3 => cache.queue_expunge(*id)?,
                _ => {
                    let flag = if i % 2 == 0 { "\\Flagged" } else { "$Trip" };
                    cache.queue_flags(*id, &[flag.to_string()], &[])?;
                }
            }
        }
        let queued = cache.ops(account.id)?.len();
        drop(cache);
        let live = peer.snapshot("INBOX").await?;
        let mut flag_uids: Vec<u32> = (0..100).map(|_| live[rng.below(live.len() as u64) as usize].uid).collect();
        flag_uids.sort_unstable();
        flag_uids.dedup();
        peer.store("INBOX", &satchel_core::imap::uidset::format(&flag_uids), "+FLAGS.SILENT (\\Answered)").await?;
        let gone: Vec<u32> = (0..10).map(|i| live[(i * 89 + r * 7 + 5) % live.len()].uid).collect();
        peer.expunge("INBOX", &satchel_core::imap::uidset::format(&gone)).await?;
        let run = run_child(&synced)?;
        eprintln!(
            "   after a trip {r}: {queued} queued, {} sent, {} conflicts, {} changed, {} vanished, {:.3} s, {} bytes in",
            run.summary.replayed, run.summary.conflicts, run.summary.changed, run.summary.vanished, run.summary.seconds, run.summary.bytes_in
        );
        if run.summary.failed_ops > 0 {
            bail!("{} queued actions failed", run.summary.failed_ops);
        }
        trip.push(run.summary.seconds);
        trip_bytes.push(run.summary.bytes_in as f64);
    }

    let raw_m = median(raw);
    let init_m = median(initial);
    println!("| measure ({messages} messages, median of {runs}) | value |");
    println!("|---|---|");
    println!("| initial header sync | {init_m:.2} s |");
    println!("| raw pipelined UID FETCH of the same items (reference) | {raw_m:.2} s |");
    println!("| ratio satchel / raw (target <= 1.5) | {:.2} |", init_m / raw_m);
    let plain_m = median(plain);
    println!("| initial header sync without COMPRESS | {plain_m:.2} s (ratio {:.2}) |", plain_m / raw_m);
    println!("| bytes received without COMPRESS | {:.1} MiB |", plain_bytes as f64 / 1048576.0);
    println!("| bytes received, initial sync (COMPRESS=DEFLATE) | {:.1} MiB |", initial_bytes as f64 / 1048576.0);
    println!("| peak RSS of a syncing process (median) | {peak:.0} MiB |");
    println!("| resync, no change | {:.0} ms, {} bytes |", median(nochange) * 1000.0, nochange_bytes);
    println!(
        "| resync after 100 flag changes + 10 expunges (QRESYNC) | {:.0} ms, {:.0} bytes |",
        median(changed) * 1000.0,
        median(changed_bytes)
    );
    println!(
        "| after a trip: 500 offline changes on A, 100 flag changes + 10 expunges by B, A reconnects | {:.2} s, {:.0} KB in |",
        median(trip),
        median(trip_bytes) / 1000.0
    );
    if !raw_select.is_empty() {
        println!(
            "| of which the server: the same SELECT (QRESYNC) by the raw client, incl. TLS + LOGIN | {:.0} ms |",
            median(raw_select) * 1000.0
        );
    }
    Ok(())
}

/// The reference: LOGIN, SELECT, one `UID FETCH 1:*` of the same items,
/// read to the tagged OK without parsing. Returns (seconds, bytes).
async fn raw_fetch(dovecot: &Dovecot) -> Result<(f64, u64)> {
    raw_session(dovecot, &format!("a3 UID FETCH 1:* {ITEMS}\r\n")).await
}

/// LOGIN, then `commands` (whose last tag must be `a3`), pipelined, read to
/// a3's completion without parsing. Returns (seconds, bytes).
async fn raw_session(dovecot: &Dovecot, commands: &str) -> Result<(f64, u64)> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&dovecot.ca_file)? {
        roots.add(cert?)?;
    }
    let config = ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let started = Instant::now();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", dovecot.imaps_port)).await?;
    tcp.set_nodelay(true)?;
    let mut tls = TlsConnector::from(Arc::new(config)).connect(ServerName::try_from("127.0.0.1")?.to_owned(), tcp).await?;
    // Pipelined: all three commands go out at once.
    let commands = if commands.contains("a2 ") {
        format!("a1 LOGIN alice {}\r\n{commands}", dovecot.password("alice"))
    } else {
        format!("a1 LOGIN alice {}\r\na2 SELECT INBOX\r\n{commands}", dovecot.password("alice"))
    };
    tls.write_all(commands.as_bytes()).await?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut tail: Vec<u8> = Vec::new();
    let mut total = 0u64;
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            bail!("server closed before the FETCH completed");
        }
        total += n as u64;
        tail.extend_from_slice(&buf[..n]);
        if tail.windows(7).any(|w| w == b"\na3 OK " || w == b"\na3 NO " || w == b"\na3 BAD") {
            break;
        }
        let keep = tail.len().saturating_sub(16);
        tail.drain(..keep);
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = tls.write_all(b"a4 LOGOUT\r\n").await;
    Ok((secs, total))
}
