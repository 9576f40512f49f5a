//! Sending through the outbox: queue first (durable), then hand queued
//! messages to the SMTP server, then file the Sent copy and mark the
//! original, all recorded in the cache. A message is never sent twice on
//! its own: once its bytes went on the wire without a verdict, it waits for
//! the user (Resend / Discard).

use std::sync::Arc;

use satchel_cache::{Cache, Claimed, Flags, Outgoing, SendFailure, SentCopy};

use super::compose::{Built, Compose};
use super::smtp::{self, Failure};
use crate::config::AccountConfig;
use crate::sync::mailbox::db;
use crate::{CoreError, Result};

/// What one pass over the outbox did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FlushReport {
    pub sent: u64,
    pub failed: u64,
    pub uncertain: u64,
    /// Still queued (the server could not be reached, or a 4xx).
    pub waiting: u64,
    /// Why the last attempt did not go through, if one did not.
    pub last_error: Option<String>,
}

/// Puts a built message in the outbox; returns the outbox id.
pub async fn queue(cache: &Arc<Cache>, account: &AccountConfig, compose: &Compose, built: Built) -> Result<i64> {
    if account.smtp.is_none() {
        return Err(CoreError::Compose(format!(
            "the account {:?} has no outgoing (SMTP) server; add one in its settings",
            account.name
        )));
    }
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_id = db(cache, move |c| c.ensure_account(&name, &email)).await?.id;
    let outgoing = Outgoing {
        message_id: built.message_id,
        subject: built.subject,
        envelope_from: built.envelope_from,
        recipients: built.recipients,
        raw: built.raw,
        original: compose.original.map(|(id, marks)| (id, marks.flag().to_string())),
        save_copy: account.smtp.as_ref().is_some_and(|s| !s.server_saves_sent),
    };
    db(cache, move |c| c.queue_outgoing(account_id, &outgoing)).await
}

/// Whether a sender that claimed a row may still be at work: this
/// process's own sends are guarded (see [`InFlight`]); another process is
/// alive while its pid runs (Linux), or for ten minutes (elsewhere; SMTP
/// gives up well before).
fn holder_alive(pid: u32, since: i64) -> bool {
    let age = crate::now_unix() - since;
    if pid == std::process::id() {
        return age < 600;
    }
    #[cfg(target_os = "linux")]
    {
        std::path::Path::new("/proc").join(pid.to_string()).exists() && age < 3600
    }
    #[cfg(not(target_os = "linux"))]
    {
        age < 600
    }
}

/// Marks the row when a send stops half way (the future dropped: the app
/// went offline or quit). Before the message went out it is queued again;
/// after, it may have been sent.
struct InFlight {
    cache: Arc<Cache>,
    id: i64,
    transmitting: bool,
    done: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            let (kind, why) = if self.transmitting {
                (SendFailure::Uncertain, "sending was interrupted after the message went out; it may have been sent")
            } else {
                (SendFailure::Temporary, "sending was interrupted before the message went out")
            };
            if let Err(e) = self.cache.outgoing_failed(self.id, kind, why) {
                tracing::warn!("recording an interrupted send: {e}");
            }
        }
    }
}

/// Marks rows whose sender died mid-send as "may have been sent", so a
/// listing tells the truth before the next pass.
pub async fn recover(cache: &Arc<Cache>) -> Result<()> {
    db(cache, |c| c.recover_outbox(&holder_alive)).await?;
    Ok(())
}

/// Sends what is queued for `account`. Returns what happened; errors are
/// only the cache's (SMTP trouble is recorded on the rows).
pub async fn flush(cache: &Arc<Cache>, account: &AccountConfig) -> Result<FlushReport> {
    let (name, email) = (account.name.clone(), account.email.clone());
    let account_id = db(cache, move |c| c.ensure_account(&name, &email)).await?.id;
    db(cache, |c| c.recover_outbox(&holder_alive)).await?;
    let mut report = FlushReport::default();
    let queued = db(cache, move |c| c.outbox_queued(account_id)).await?;
    if queued.is_empty() {
        return Ok(report);
    }
    let password = match crate::credentials::smtp_password(account).await {
        Ok(p) => p,
        Err(e) => {
            note_waiting(cache, &queued, &e.to_string(), &mut report).await?;
            return Ok(report);
        }
    };
    let mut session: Option<smtp::Session> = None;
    for (i, id) in queued.iter().copied().enumerate() {
        if session.is_none() {
            match smtp::connect(account, &password).await {
                Ok(s) => session = Some(s),
                Err(f) => {
                    // Nothing was sent: every message still queued waits,
                    // with the reason shown beside it.
                    note_waiting(cache, &queued[i..], &f.message, &mut report).await?;
                    return Ok(report);
                }
            }
        }
        let Some(mut s) = session.take() else { continue };
        let pid = std::process::id();
        let Some(claimed) = db(cache, move |c| c.claim_outgoing(id, pid)).await? else { continue };
        let mut guard = InFlight { cache: cache.clone(), id, transmitting: false, done: false };
        match send_one(&mut s, &claimed, &mut guard).await {
            Ok(()) => {
                file_sent(cache, account, account_id, &claimed).await?;
                guard.done = true;
                report.sent += 1;
                session = Some(s);
            }
            Err(f) => {
                let (kind, message) = (f.kind, f.message.clone());
                db(cache, move |c| c.outgoing_failed(id, kind, &message)).await?;
                guard.done = true;
                match f.kind {
                    SendFailure::Temporary => report.waiting += 1,
                    SendFailure::Refused => report.failed += 1,
                    SendFailure::Uncertain => report.uncertain += 1,
                }
                report.last_error = Some(f.message);
                // The connection is not trusted after a failure: a new one
                // for the next message.
            }
        }
    }
    if let Some(s) = session {
        s.quit().await;
    }
    Ok(report)
}

async fn note_waiting(cache: &Arc<Cache>, ids: &[i64], why: &str, report: &mut FlushReport) -> Result<()> {
    for id in ids.iter().copied() {
        let why = why.to_string();
        db(cache, move |c| c.note_outgoing_error(id, &why)).await?;
    }
    report.waiting += ids.len() as u64;
    report.last_error = Some(why.to_string());
    Ok(())
}

async fn send_one(s: &mut smtp::Session, m: &Claimed, guard: &mut InFlight) -> std::result::Result<(), Failure> {
    s.prepare(&m.envelope_from, &m.recipients, &m.raw).await?;
    guard.transmitting = true;
    s.transmit(&m.raw).await
}

/// After the server accepted: the Sent copy (unless the server files it
/// itself), the original's mark, and the row leaves the outbox.
async fn file_sent(cache: &Arc<Cache>, account: &AccountConfig, account_id: i64, m: &Claimed) -> Result<()> {
    let id = m.id;
    let sent = if m.save_copy { Some(super::folders::find_or_create(cache, account_id, "\\Sent").await?) } else { None };
    let domain = account.email.rsplit_once('@').map(|(_, d)| d.to_string()).unwrap_or_default();
    let local = crate::local_mail::read(&m.raw, Flags::seen(), &domain);
    db(cache, move |c| {
        let copy = sent.map(|mailbox_id| SentCopy { mailbox_id, row: &local.row, text: local.text.as_deref() });
        c.outgoing_sent(id, copy)
    })
    .await
}
