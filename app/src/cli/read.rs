//! `satchel show` and `satchel search`: reading mail, from the cache first.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use satchel_core::body::{self, Text};
use satchel_core::sync::decode::format_date;
use serde::Serialize;

use super::{Context, print_json};

#[derive(Serialize)]
struct Shown {
    #[serde(flatten)]
    detail: satchel_cache::MessageDetail,
    /// The readable text, or null when it is not available offline.
    text: Option<String>,
    available_offline: bool,
    attachments: Vec<AttachmentView>,
}

#[derive(Serialize)]
struct AttachmentView {
    section: String,
    filename: Option<String>,
    mime_type: String,
    size: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_to: Option<PathBuf>,
}

pub async fn show(cx: &Context, id: i64, part: Option<String>, save_to: Option<PathBuf>) -> Result<()> {
    let config = cx.profile.load()?;
    let cache = Arc::new(cx.profile.open_cache()?);
    let detail = cache.message_detail(id)?;
    // Mail of an account with no server (the demo mailbox) is read from the
    // cache only: nothing connects.
    let account =
        config.accounts.iter().find(|a| cache.account_by_name(&a.name).map(|r| r.id == detail.account_id).unwrap_or(false)).cloned();
    let account = account.as_ref();
    let offline = config.work_offline;
    if let Some(section) = part {
        match body::part_bytes(&cache, account, id, &section, offline).await? {
            Some(bytes) => {
                use std::io::Write;
                std::io::stdout().write_all(&bytes)?;
                return Ok(());
            }
            None => bail!("part {section} is not available offline"),
        }
    }
    let text = body::message_text(&cache, account, id, offline).await?;
    let mut attachments = Vec::new();
    if let Some(structure) = &detail.structure {
        for (i, a) in body::attachments(structure).into_iter().enumerate() {
            let mut saved_to = None;
            if let Some(dir) = &save_to {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                let Some(bytes) = body::part_bytes(&cache, account, id, &a.section, offline).await? else {
                    bail!("attachment {} is not available offline", a.section);
                };
                let path = body::safe_path(dir, a.filename.as_deref(), &format!("attachment-{}", i + 1));
                std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
                saved_to = Some(path);
            }
            attachments.push(AttachmentView {
                section: a.section.clone(),
                filename: a.filename.clone(),
                mime_type: a.mime_type.clone(),
                size: a.size,
                saved_to,
            });
        }
    }
    let (text, available) = match text {
        Text::Available(t) => (Some(t), true),
        Text::NotAvailableOffline => (None, false),
    };
    let shown = Shown { detail, text, available_offline: available, attachments };
    if cx.json {
        return print_json(&shown);
    }
    let d = &shown.detail;
    println!("From:    {}\nTo:      {}", d.from, d.to);
    if !d.cc.is_empty() {
        println!("Cc:      {}", d.cc);
    }
    println!("Date:    {}\nSubject: {}\nFolder:  {} (uid {:?})\n", format_date(d.date), d.subject, d.mailbox, d.uid);
    match &shown.text {
        Some(t) => println!("{t}"),
        None => println!("(not available offline)"),
    }
    for a in &shown.attachments {
        let saved = a.saved_to.as_ref().map(|p| format!(" -> {}", p.display())).unwrap_or_default();
        println!("[attachment {}] {} ({}, {} bytes){saved}", a.section, a.filename.as_deref().unwrap_or("unnamed"), a.mime_type, a.size);
    }
    Ok(())
}

pub async fn search(cx: &Context, query: &str, limit: u32, local_only: bool) -> Result<()> {
    let config = cx.profile.load()?;
    let account = config.pick_account(None)?.clone();
    let cache = Arc::new(cx.profile.open_cache()?);
    let row = cache.ensure_account(&account.name, &account.email)?;
    // Local results at once; the server's added when online, marked as such.
    let local = cache.reader()?.search(row.id, query, limit)?;
    let mut hits: Vec<(satchel_cache::MessageListItem, &'static str)> = local.into_iter().map(|m| (m, "local")).collect();
    let mut note = None;
    if !local_only && !config.work_offline {
        match satchel_core::search::server_search(&cache, &account, query).await {
            Ok(ids) => {
                let known: std::collections::HashSet<i64> = hits.iter().map(|(m, _)| m.id).collect();
                let extra: Vec<i64> = ids.into_iter().filter(|id| !known.contains(id)).collect();
                hits.extend(cache.list_items(&extra)?.into_iter().map(|m| (m, "server")));
            }
            Err(e) => note = Some(format!("server search unavailable ({e}); local results only")),
        }
    }
    hits.truncate(limit as usize);
    if cx.json {
        #[derive(Serialize)]
        struct Hit<'a> {
            id: i64,
            uid: Option<u32>,
            date: String,
            from: &'a str,
            subject: &'a str,
            source: &'static str,
        }
        let rows: Vec<Hit<'_>> = hits
            .iter()
            .map(|(m, source)| Hit { id: m.id, uid: m.uid, date: format_date(m.date), from: &m.from, subject: &m.subject, source })
            .collect();
        return print_json(&rows);
    }
    for (m, source) in &hits {
        println!("{:>7} {} {:<6} {:<30.30} {}", m.id, &format_date(m.date)[..10], source, m.from, m.subject);
    }
    if hits.is_empty() {
        println!("no matches");
    }
    if let Some(n) = note {
        eprintln!("{n}");
    }
    Ok(())
}

pub async fn prefetch(cx: &Context, folder: Option<String>) -> Result<()> {
    use std::io::IsTerminal;
    let config = cx.profile.load()?;
    if config.work_offline {
        bail!("working offline; `satchel offline off` to prefetch");
    }
    let account = config.pick_account(None)?.clone();
    let cache = Arc::new(cx.profile.open_cache()?);
    let bar = if std::io::stderr().is_terminal() { indicatif::ProgressBar::new(0) } else { indicatif::ProgressBar::hidden() };
    let mut progress = |f: &str, done: u64, total: u64| {
        bar.set_message(f.to_string());
        bar.set_length(total);
        bar.set_position(done);
    };
    let done = body::prefetch(&cache, &account, folder.as_deref(), &mut progress).await?;
    bar.finish_and_clear();
    if cx.json {
        return print_json(&done);
    }
    println!("{} bodies and {} attachments cached ({} bytes)", done.messages, done.attachments, done.bytes);
    Ok(())
}

pub fn policy(cx: &Context, folder: &str, days: u32, max_attachment_kb: u64, off: bool) -> Result<()> {
    let config = cx.profile.load()?;
    let account = config.pick_account(None)?;
    let cache = cx.profile.open_cache()?;
    let row = cache.ensure_account(&account.name, &account.email)?;
    let mailbox = cache.mailbox_by_name(row.id, folder).map_err(|_| satchel_core::CoreError::NoSuchFolder(folder.into()))?;
    let policy = (!off).then_some(satchel_cache::OfflinePolicy { days, max_attachment: max_attachment_kb * 1024 });
    cache.set_offline_policy(mailbox.id, policy)?;
    match policy {
        Some(p) => println!("{folder}: available offline, last {} days, attachments up to {} KB", p.days, max_attachment_kb),
        None => println!("{folder}: not kept offline"),
    }
    Ok(())
}

pub fn space(cx: &Context, purge: bool) -> Result<()> {
    let config = cx.profile.load()?;
    let account = config.pick_account(None)?;
    let cache = cx.profile.open_cache()?;
    let row = cache.ensure_account(&account.name, &account.email)?;
    let freed = if purge {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        Some(cache.purge_outside_policy(row.id, now)?)
    } else {
        None
    };
    let folders = cache.space(row.id)?;
    if cx.json {
        return print_json(&serde_json::json!({ "folders": folders, "purged_bytes": freed }));
    }
    for f in &folders {
        let policy = f.policy.map(|p| format!("offline {} days", p.days)).unwrap_or_default();
        println!("{:<30} {:>7} messages {:>6} bodies {:>10} bytes  {policy}", f.folder, f.messages, f.bodies_cached, f.bytes);
    }
    if let Some(n) = freed {
        println!("purged {n} bytes outside the offline policy");
    }
    Ok(())
}
