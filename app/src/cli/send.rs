//! `satchel send` and `satchel outbox`: sending from the command line. A
//! message always goes into the outbox first; when not working offline it
//! is sent at once, and its copy filed in Sent.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use satchel_core::send::{self, Attachment, Compose, Source, reply};

use super::{Context, open_account, print_json};

#[derive(Debug, clap::Args)]
pub struct SendArgs {
    #[arg(long)]
    account: Option<String>,
    #[arg(long, value_name = "ADDR")]
    to: Vec<String>,
    #[arg(long, value_name = "ADDR")]
    cc: Vec<String>,
    #[arg(long, value_name = "ADDR")]
    bcc: Vec<String>,
    /// Required unless answering or forwarding (then "Re:"/"Fwd:" + theirs).
    #[arg(long)]
    subject: Option<String>,
    #[arg(long, value_name = "FILE", conflicts_with = "body_stdin")]
    body_file: Option<PathBuf>,
    #[arg(long)]
    body_stdin: bool,
    #[arg(long, value_name = "FILE")]
    attach: Vec<PathBuf>,
    /// Answer the cached message with this id (threading headers, quote).
    #[arg(long, value_name = "ID", conflicts_with_all = ["reply_all", "forward"])]
    reply: Option<i64>,
    /// Answer the sender and every recipient of this message.
    #[arg(long, value_name = "ID", conflicts_with = "forward")]
    reply_all: Option<i64>,
    /// Forward this message with its attachments.
    #[arg(long, value_name = "ID")]
    forward: Option<i64>,
}

pub async fn send(cx: &Context, a: SendArgs) -> Result<()> {
    if cx.demo {
        bail!("the demo mailbox has no outgoing server; add an account to send mail");
    }
    let config = cx.profile.load()?;
    let account = config.pick_account(a.account.as_deref())?.clone();
    let cache = Arc::new(cx.profile.open_cache()?);
    let offline = config.work_offline;
    let body = if a.body_stdin {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).context("reading the body from standard input")?;
        s
    } else if let Some(f) = &a.body_file {
        std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
    } else {
        bail!("give the text with --body-file FILE or --body-stdin");
    };
    let answering = match (a.reply, a.reply_all, a.forward) {
        (Some(id), _, _) => Some((id, reply::Kind::Reply)),
        (_, Some(id), _) => Some((id, reply::Kind::ReplyAll)),
        (_, _, Some(id)) => Some((id, reply::Kind::Forward)),
        _ => None,
    };
    let mut compose = match answering {
        Some((id, kind)) => {
            let mut c = reply::start(&cache, Some(&account), &account.email, id, kind, offline).await?;
            c.body = format!("{}{}", body.trim_end(), c.body);
            c
        }
        None => Compose { body, ..Compose::default() },
    };
    let join = |list: &[String], before: &str| {
        let mut all: Vec<String> = before.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect();
        all.extend(list.iter().cloned());
        all.join(", ")
    };
    compose.to = join(&a.to, &compose.to);
    compose.cc = join(&a.cc, &compose.cc);
    compose.bcc = join(&a.bcc, &compose.bcc);
    match (a.subject, answering) {
        (Some(s), _) => compose.subject = s,
        (None, Some(_)) => {}
        (None, None) => bail!("give --subject"),
    }
    for path in a.attach {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "attachment".into());
        compose.attachments.push(Attachment { mime_type: send::compose::mime_for(&name), name, source: Source::File(path) });
    }
    let id = send::queue(&cache, &account, &compose, None, offline).await?;
    if offline {
        return report(cx, id, "queued", "working offline: it goes when you are online (`satchel offline off`)", None);
    }
    let flushed = send::outbox::flush(&cache, &account).await?;
    let state = cache.outbox_item(id)?.map(|i| i.state).unwrap_or_else(|| "sent".into());
    if state == "sent" {
        // File the Sent copy (and the \Answered mark) now rather than at
        // the next sync.
        let password = satchel_core::credentials::password(&account).await?;
        let options = satchel_core::sync::SyncOptions { folder: Some("INBOX".into()), retries: 1 };
        if let Err(e) = satchel_core::sync::sync_account(&cache, &account, &password, &options, &mut |_| {}).await {
            eprintln!("sent; filing the copy in Sent waits for the next sync ({e})");
        }
    }
    let note = match state.as_str() {
        "sent" => "sent",
        "queued" => "could not reach the outgoing server; it goes at the next sync or `satchel outbox retry`",
        "uncertain" => "may have been sent: check the recipient's copy, then `satchel outbox retry` or `discard`",
        _ => "refused by the server: fix it, then `satchel outbox retry`, or `discard`",
    };
    report(cx, id, &state, note, flushed.last_error.as_deref())
}

fn report(cx: &Context, id: i64, state: &str, note: &str, error: Option<&str>) -> Result<()> {
    if cx.json {
        return print_json(&serde_json::json!({ "outbox_id": id, "state": state, "error": error }));
    }
    println!("outbox #{id}: {note}");
    if let Some(e) = error.filter(|_| state != "sent") {
        println!("  the server said: {e}");
    }
    if state == "failed" {
        bail!("message #{id} was not sent");
    }
    Ok(())
}

pub async fn outbox(cx: &Context, what: &str, id: Option<i64>) -> Result<()> {
    let (cache, account_id) = open_account(cx, None)?;
    if what != "list" {
        let Some(id) = id else { bail!("give --id N (see `satchel outbox`)") };
        let found = if what == "retry" { cache.retry_outgoing(id)? } else { cache.discard_outgoing(id)? };
        if !found {
            bail!("no message #{id} in the outbox that can be changed now");
        }
        if what == "discard" {
            println!("discarded #{id}");
            return Ok(());
        }
        let config = cx.profile.load()?;
        if config.work_offline {
            println!("#{id} queued again; it goes when you are online");
            return Ok(());
        }
        let account = config.pick_account(None)?.clone();
        let cache = Arc::new(cache);
        let report = send::outbox::flush(&cache, &account).await?;
        let state = cache.outbox_item(id)?.map(|i| i.state).unwrap_or_else(|| "sent".into());
        println!("#{id}: {state}");
        if let Some(e) = report.last_error.filter(|_| state != "sent") {
            println!("  the server said: {e}");
        }
        return Ok(());
    }
    let cache = Arc::new(cache);
    send::outbox::recover(&cache).await?;
    let items = cache.outbox(account_id)?;
    if cx.json {
        return print_json(&items);
    }
    if items.is_empty() {
        println!("the outbox is empty");
    }
    for i in items {
        let state = match i.state.as_str() {
            "uncertain" => "may have been sent",
            other => other,
        };
        let error = i.last_error.as_deref().map(|e| format!(" — {e}")).unwrap_or_default();
        println!("#{} {state}: {:?} to {}{error}", i.id, i.subject, i.recipients.join(", "));
    }
    Ok(())
}
