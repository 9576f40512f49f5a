//! `satchel sync`: a progress bar on a terminal, then a summary.

use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use satchel_core::sync::{Progress, SyncOptions, sync_account};

use super::{Context, print_json};

pub async fn run(cx: &Context, account: Option<String>, folder: Option<String>) -> Result<()> {
    let config = cx.profile.load()?;
    if config.work_offline {
        anyhow::bail!("working offline; `satchel offline off` to connect again (queued actions wait until then)");
    }
    let account = config.pick_account(account.as_deref())?.clone();
    let cache = Arc::new(cx.profile.open_cache()?);
    let password = satchel_core::credentials::password(&account).await?;

    let bar = if std::io::stderr().is_terminal() { ProgressBar::new(0) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{msg:30!} [{bar:40}] {pos}/{len} UIDs")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut on_progress = |p: Progress| match p {
        Progress::Folder { name, .. } => {
            bar.set_message(name);
            bar.set_length(0);
            bar.set_position(0);
        }
        Progress::Fetched { done, total, .. } => {
            bar.set_length(total);
            bar.set_position(done);
        }
        Progress::Retrying { attempt, error } => bar.println(format!("connection lost ({error}); retry {attempt}")),
        _ => {}
    };
    let options = SyncOptions { folder, retries: 2 };
    let summary = sync_account(&cache, &account, &password, &options, &mut on_progress).await;
    bar.finish_and_clear();
    let summary = summary?;
    if cx.json {
        return print_json(&summary);
    }
    println!(
        "{} folders, {} new, {} changed, {} vanished; {} received, {} sent; {:.2} s",
        summary.folders,
        summary.new,
        summary.changed,
        summary.vanished,
        human_bytes(summary.bytes_in),
        human_bytes(summary.bytes_out),
        summary.seconds
    );
    if summary.replayed + summary.failed_ops > 0 {
        println!("{} queued actions sent, {} conflicts, {} refused", summary.replayed, summary.conflicts, summary.failed_ops);
    }
    for e in &summary.errors {
        println!("skipped {e}");
    }
    Ok(())
}

fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} B"),
    }
}

/// `satchel watch`: events as JSON lines on stdout.
pub async fn watch(cx: &Context, account: Option<String>, poll: u64) -> Result<()> {
    use std::io::Write;
    let config = cx.profile.load()?;
    if config.work_offline {
        anyhow::bail!("working offline; `satchel offline off` to connect again");
    }
    let account = config.pick_account(account.as_deref())?.clone();
    let cache = Arc::new(cx.profile.open_cache()?);
    let options = satchel_core::watch::WatchOptions {
        poll_interval: std::time::Duration::from_secs(poll.max(1)),
        ..Default::default()
    };
    let mut emit = |e: satchel_core::watch::Event| {
        if let Ok(line) = serde_json::to_string(&e) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    };
    satchel_core::watch::watch(&cache, &account, &options, &mut emit).await?;
    Ok(())
}
