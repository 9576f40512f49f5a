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
    let account = config
        .accounts
        .iter()
        .find(|a| cache.account_by_name(&a.name).map(|r| r.id == detail.account_id).unwrap_or(false))
        .context("the message's account is not configured")?
        .clone();
    let offline = config.work_offline;
    if let Some(section) = part {
        match body::part_bytes(&cache, &account, id, &section, offline).await? {
            Some(bytes) => {
                use std::io::Write;
                std::io::stdout().write_all(&bytes)?;
                return Ok(());
            }
            None => bail!("part {section} is not available offline"),
        }
    }
    let text = body::message_text(&cache, &account, id, offline).await?;
    let mut attachments = Vec::new();
    if let Some(structure) = &detail.structure {
        for (i, a) in body::attachments(structure).into_iter().enumerate() {
            let mut saved_to = None;
            if let Some(dir) = &save_to {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                let Some(bytes) = body::part_bytes(&cache, &account, id, &a.section, offline).await? else {
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

pub fn search(cx: &Context, query: &str, limit: u32) -> Result<()> {
    let config = cx.profile.load()?;
    let account = config.pick_account(None)?;
    let cache = cx.profile.open_cache()?;
    let row = cache.ensure_account(&account.name, &account.email)?;
    let hits = cache.reader()?.search(row.id, query, limit)?;
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
            .map(|m| Hit { id: m.id, uid: m.uid, date: format_date(m.date), from: &m.from, subject: &m.subject, source: "local" })
            .collect();
        return print_json(&rows);
    }
    for m in &hits {
        println!("{:>7} {} {:<30.30} {}", m.id, &format_date(m.date)[..10], m.from, m.subject);
    }
    if hits.is_empty() {
        println!("no matches in the cache");
    }
    Ok(())
}
