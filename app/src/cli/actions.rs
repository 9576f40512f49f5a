//! Offline actions: `flag`, `move`, `delete`, and the `pending` and
//! `conflicts` lists. Actions never need the network: they change the cache
//! at once and queue an op that `satchel sync` sends.

use anyhow::{Result, bail};
use serde::Serialize;

use super::{Context, open_account, print_json};


#[derive(Serialize)]
struct Queued<'a> {
    queued: &'a str,
    id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    flags: Option<Vec<String>>,
}

fn report(cx: &Context, q: Queued<'_>) -> Result<()> {
    if cx.json {
        return print_json(&q);
    }
    println!("queued {} of message {} (sent at the next sync)", q.queued, q.id);
    Ok(())
}

pub fn flag(cx: &Context, id: i64, add: &[String], remove: &[String]) -> Result<()> {
    if add.is_empty() && remove.is_empty() {
        bail!("give --add FLAG or --remove FLAG");
    }
    let (cache, _) = open_account(cx, None)?;
    let flags = cache.queue_flags(id, add, remove)?;
    report(cx, Queued { queued: "flag change", id, flags: Some(flags.to_imap()) })
}

pub fn move_to(cx: &Context, id: i64, to: &str) -> Result<()> {
    let (cache, account) = open_account(cx, None)?;
    let target = cache.mailbox_by_name(account, to).map_err(|_| satchel_core::CoreError::NoSuchFolder(to.into()))?;
    cache.queue_move(id, target.id)?;
    report(cx, Queued { queued: "move", id, flags: None })
}

pub fn copy_to(cx: &Context, id: i64, to: &str) -> Result<()> {
    let (cache, account) = open_account(cx, None)?;
    let target = cache.mailbox_by_name(account, to).map_err(|_| satchel_core::CoreError::NoSuchFolder(to.into()))?;
    let copy = cache.queue_copy(id, target.id)?;
    report(cx, Queued { queued: "copy", id: copy, flags: None })
}

pub fn append(cx: &Context, folder: &str, file: &std::path::Path, flags: &[String]) -> Result<()> {
    let config = cx.profile.load()?;
    let account = config.pick_account(None)?;
    let cache = cx.profile.open_cache()?;
    let row = cache.ensure_account(&account.name, &account.email)?;
    let target = cache.mailbox_by_name(row.id, folder).map_err(|_| satchel_core::CoreError::NoSuchFolder(folder.into()))?;
    let raw = std::fs::read(file).map_err(|e| anyhow::anyhow!("reading {}: {e}", file.display()))?;
    let domain = account.email.rsplit('@').next().unwrap_or("localhost");
    let flags = satchel_cache::Flags::from_imap(flags.iter().map(String::as_str));
    let local = satchel_core::local_mail::read(&raw, flags, domain);
    let id = cache.queue_append(target.id, &local.row, &local.raw, local.text.as_deref())?;
    report(cx, Queued { queued: "upload", id, flags: None })
}

pub fn folder(cx: &Context, action: &str, name: &str, new_name: Option<String>) -> Result<()> {
    let (cache, account) = open_account(cx, None)?;
    let op = match action {
        "create" => satchel_cache::Op::CreateFolder { name: name.to_string() },
        "rename" => {
            let Some(to) = new_name else { bail!("give the new name: satchel folder rename OLD NEW") };
            satchel_cache::Op::RenameFolder { from: name.to_string(), to }
        }
        _ => satchel_cache::Op::DeleteFolder { name: name.to_string() },
    };
    cache.queue_folder_op(account, op)?;
    if cx.json {
        return print_json(&serde_json::json!({ "queued": format!("folder {action}"), "name": name }));
    }
    println!("queued folder {action} of {name} (sent at the next sync)");
    Ok(())
}

pub fn delete(cx: &Context, id: i64, permanent: bool) -> Result<()> {
    let (cache, account) = open_account(cx, None)?;
    if !permanent {
        // Like Thunderbird: delete moves to Trash; in Trash it deletes for good.
        let trash = cache.mailboxes(account)?.into_iter().find(|m| m.special_use.as_deref() == Some("\\Trash"));
        let current = cache.message_mailbox(id)?;
        if let Some(trash) = trash.filter(|t| t.id != current) {
            cache.queue_move(id, trash.id)?;
            return report(cx, Queued { queued: "move to Trash", id, flags: None });
        }
    }
    cache.queue_expunge(id)?;
    report(cx, Queued { queued: "permanent delete", id, flags: None })
}

pub fn offline(cx: &Context, on: bool) -> Result<()> {
    cx.profile.update(|config| {
        config.work_offline = on;
        Ok(())
    })?;
    if cx.json {
        return print_json(&serde_json::json!({ "work_offline": on }));
    }
    println!("{}", if on { "working offline: nothing connects until `satchel offline off`" } else { "online" });
    Ok(())
}

pub fn pending(cx: &Context, what: &str, id: Option<i64>) -> Result<()> {
    let (cache, account) = open_account(cx, None)?;
    if what != "list" {
        let Some(op) = id else { bail!("give --id OP (see `satchel pending`)") };
        let found = if what == "retry" { cache.retry_op(op)? } else { cache.discard_op(op)? };
        if !found {
            bail!("no queued op #{op}");
        }
        println!("{} op #{op}", if what == "retry" { "queued again" } else { "discarded" });
        return Ok(());
    }
    let ops = cache.ops(account)?;
    if cx.json {
        return print_json(&ops);
    }
    if ops.is_empty() {
        println!("nothing pending");
    }
    for o in ops {
        let error = o.last_error.as_deref().map(|e| format!(" — {e}")).unwrap_or_default();
        println!("#{} {} {} in {} (message {:?}){error}", o.id, o.state, o.op.kind(), o.mailbox_name, o.message);
    }
    Ok(())
}

pub fn conflicts(cx: &Context) -> Result<()> {
    let (cache, account) = open_account(cx, None)?;
    let list = cache.conflicts(account)?;
    if cx.json {
        return print_json(&list);
    }
    if list.is_empty() {
        println!("no conflicts");
    }
    for c in list {
        println!("{} {} uid {:?} \"{}\": {}", c.kind, c.mailbox, c.uid, c.subject, c.detail);
    }
    Ok(())
}
