//! Running a command and reading its responses ourselves.
//!
//! async-imap sends untagged responses it does not expect to a 100-slot
//! channel that drops the overflow. For everything whose responses matter
//! (SELECT with QRESYNC, FETCH of thousands of messages, LIST, STATUS) we
//! read the responses one by one here instead, so nothing is lost and
//! nothing is buffered beyond the current response.

use std::time::Duration;

use async_imap::imap_proto::{RequestId, Response, ResponseCode, Status};

use super::Session;
use crate::{CoreError, Result};

/// How long the server may stay silent in the middle of a command.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(120);

/// A command in flight. Call [`Command::next`] until it returns `None`, then
/// [`Command::finish`] for the tagged result.
pub struct Command<'a> {
    session: &'a mut Session,
    tag: RequestId,
    /// The command's name, for error messages (never its arguments, which
    /// might hold a password).
    name: String,
    done: Option<Completion>,
}

/// The tagged completion of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    pub ok: bool,
    pub status: String,
    pub code: Option<CompletionCode>,
    pub text: String,
}

/// The response codes of a tagged completion that the engine uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionCode {
    /// APPENDUID (RFC 4315): UIDVALIDITY and the new UIDs.
    AppendUid(u32, Vec<u32>),
    /// COPYUID (RFC 4315): UIDVALIDITY, source UIDs, destination UIDs.
    CopyUid(u32, Vec<u32>, Vec<u32>),
    HighestModSeq(u64),
    ReadOnly,
    Other,
}

pub(crate) fn completion_code(code: &ResponseCode<'_>) -> CompletionCode {
    use async_imap::imap_proto::rfc4315::UidSetMember;
    let uids = |set: &[UidSetMember]| -> Vec<u32> {
        let mut out = Vec::new();
        for m in set {
            match m {
                UidSetMember::Uid(u) => out.push(*u),
                // Bounded: a server cannot make us allocate for 4 billion UIDs.
                UidSetMember::UidRange(r) => {
                    out.extend(super::uidset::expand(std::slice::from_ref(r), r.start().saturating_add(1_000_000)))
                }
            }
        }
        out
    };
    match code {
        ResponseCode::AppendUid(v, set) => CompletionCode::AppendUid(*v, uids(set)),
        ResponseCode::CopyUid(v, from, to) => CompletionCode::CopyUid(*v, uids(from), uids(to)),
        ResponseCode::HighestModSeq(m) => CompletionCode::HighestModSeq(*m),
        ResponseCode::ReadOnly => CompletionCode::ReadOnly,
        _ => CompletionCode::Other,
    }
}

impl<'a> Command<'a> {
    /// Sends `command` (without a tag).
    pub async fn start(session: &'a mut Session, command: &str) -> Result<Command<'a>> {
        let name = command_name(command);
        let tag = session
            .run_command(command)
            .await
            .map_err(|e| map_send_error(&name, e))?;
        Ok(Command { session, tag, name, done: None })
    }

    /// Reads the next untagged response and hands it to `read`, which copies
    /// out what it needs; returns `None` once the tagged completion arrived.
    /// The response buffer is dropped right after, so memory does not grow
    /// with the number of responses.
    pub async fn next<T>(&mut self, read: impl FnOnce(&Response<'_>) -> T) -> Result<Option<T>> {
        if self.done.is_some() {
            return Ok(None);
        }
        loop {
            let received = tokio::time::timeout(RESPONSE_TIMEOUT, self.session.read_response()).await;
            let response = match received {
                Err(_) => {
                    return Err(CoreError::ConnectionLost(format!(
                        "waiting {} s for the answer to {}",
                        RESPONSE_TIMEOUT.as_secs(),
                        self.name
                    )));
                }
                Ok(Err(e)) => return Err(self.read_error(e)),
                Ok(Ok(None)) => {
                    return Err(CoreError::ConnectionLost(format!("reading the answer to {}", self.name)));
                }
                Ok(Ok(Some(r))) => r,
            };
            match response.parsed() {
                Response::Done { tag, status, outcome } if *tag == self.tag => {
                    self.done = Some(Completion {
                        ok: *status == Status::Ok,
                        status: format!("{status:?}").to_uppercase(),
                        code: outcome.code.as_ref().map(completion_code),
                        text: outcome.information.as_deref().unwrap_or("").to_string(),
                    });
                    return Ok(None);
                }
                // A completion for some other tag cannot happen while we run
                // one command at a time; skip it rather than misattribute it.
                Response::Done { .. } => continue,
                Response::Data { status: Status::Bye, outcome } => {
                    let text = outcome.information.as_deref().unwrap_or("").to_string();
                    return Err(CoreError::ConnectionLost(format!(
                        "running {} (server said BYE: {text})",
                        self.name
                    )));
                }
                other => return Ok(Some(read(other))),
            }
        }
    }

    /// Reads any remaining responses (ignoring them) and returns the
    /// completion, or an error if the server answered NO or BAD.
    pub async fn finish(mut self) -> Result<Completion> {
        while self.next(|_| ()).await?.is_some() {}
        let done = self
            .done
            .take()
            .ok_or_else(|| CoreError::ConnectionLost(format!("waiting for {}", self.name)))?;
        if done.ok {
            Ok(done)
        } else {
            Err(CoreError::Command { command: self.name.clone(), status: done.status, text: done.text })
        }
    }

    fn read_error(&self, e: std::io::Error) -> CoreError {
        read_error(&self.name, e)
    }
}

/// Several commands in flight at once, answered in order (as IMAP servers
/// answer commands that are not run concurrently). Used to keep the server
/// busy across FETCH batches instead of waiting a round trip between them.
pub struct Pipeline<'a> {
    session: &'a mut Session,
    in_flight: std::collections::VecDeque<(RequestId, String)>,
}

/// What [`Pipeline::next`] read.
pub enum Event<T> {
    /// An untagged response, passed through the caller's reader.
    Untagged(T),
    /// The oldest command in flight completed (OK or not: check `ok`).
    Done(Completion),
}

impl<'a> Pipeline<'a> {
    pub fn new(session: &'a mut Session) -> Pipeline<'a> {
        Pipeline { session, in_flight: std::collections::VecDeque::new() }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    pub async fn send(&mut self, command: &str) -> Result<()> {
        let name = command_name(command);
        let tag = self.session.run_command(command).await.map_err(|e| map_send_error(&name, e))?;
        self.in_flight.push_back((tag, name));
        Ok(())
    }

    pub async fn next<T>(&mut self, read: impl FnOnce(&Response<'_>) -> T) -> Result<Event<T>> {
        let Some((oldest, name)) = self.in_flight.front().cloned() else {
            return Err(CoreError::protocol("pipeline", "read with no command in flight"));
        };
        let received = tokio::time::timeout(RESPONSE_TIMEOUT, self.session.read_response()).await;
        let response = match received {
            Err(_) => {
                return Err(CoreError::ConnectionLost(format!(
                    "waiting {} s for the answer to {name}",
                    RESPONSE_TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) => return Err(read_error(&name, e)),
            Ok(Ok(None)) => return Err(CoreError::ConnectionLost(format!("reading the answer to {name}"))),
            Ok(Ok(Some(r))) => r,
        };
        match response.parsed() {
            Response::Done { tag, status, outcome } if *tag == oldest => {
                self.in_flight.pop_front();
                Ok(Event::Done(Completion {
                    ok: *status == Status::Ok,
                    status: format!("{status:?}").to_uppercase(),
                    code: outcome.code.as_ref().map(completion_code),
                    text: outcome.information.as_deref().unwrap_or("").to_string(),
                }))
            }
            Response::Done { .. } => Err(CoreError::protocol(
                format!("reading the answer to {name}"),
                "the server completed commands out of order",
            )),
            Response::Data { status: Status::Bye, outcome } => {
                let text = outcome.information.as_deref().unwrap_or("").to_string();
                Err(CoreError::ConnectionLost(format!("running {name} (server said BYE: {text})")))
            }
            other => Ok(Event::Untagged(read(other))),
        }
    }
}

fn read_error(name: &str, e: std::io::Error) -> CoreError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::ConnectionAborted
        | std::io::ErrorKind::BrokenPipe => CoreError::ConnectionLost(format!("reading the answer to {name}")),
        _ => {
            let text = e.to_string();
            // async-imap reports a parser failure as "<nom error> during
            // parsing of <the whole buffer>": keep the error short (the buffer
            // may hold someone's mail) and say what it was.
            if let Some(at) = text.find(" during parsing of ") {
                let start = &text[at + " during parsing of ".len()..];
                let detail: String = start.chars().take(120).collect();
                CoreError::Unparsable { context: format!("reading the answer to {name}"), detail, batch: None }
            } else {
                CoreError::protocol(format!("reading the answer to {name}"), text)
            }
        }
    }
}

/// `UID SEARCH <criteria>` in the selected mailbox: the UIDs, ascending.
pub async fn uid_search(session: &mut Session, criteria: &str) -> Result<Vec<u32>> {
    let mut found: Vec<u32> = Vec::new();
    let mut cmd = Command::start(session, &format!("UID SEARCH {criteria}")).await?;
    while let Some(uids) = cmd
        .next(|r| match r {
            Response::MailboxData(async_imap::imap_proto::MailboxDatum::Search(u)) => u.clone(),
            _ => Vec::new(),
        })
        .await?
    {
        found.extend(uids);
    }
    cmd.finish().await?;
    found.sort_unstable();
    found.dedup();
    Ok(found)
}

/// IDLE (RFC 2177) for up to `wait`: returns true when the server reported
/// a change to the selected mailbox (EXISTS, EXPUNGE, FETCH, VANISHED), false
/// on timeout. Keep-alives do not count. Always ends with DONE and the
/// tagged answer read, so the session is ready for the next command.
pub async fn idle(session: &mut Session, wait: std::time::Duration) -> Result<bool> {
    let tag = session.run_command("IDLE").await.map_err(|e| map_send_error("IDLE", e))?;
    // Wait for the continuation before listening.
    loop {
        let r = read_one(session, "IDLE", RESPONSE_TIMEOUT).await?;
        match r {
            Received::Continue => break,
            Received::Done(t, ok, text) if t == tag => {
                return Err(CoreError::Command { command: "IDLE".into(), status: if ok { "OK".into() } else { "NO".into() }, text });
            }
            _ => {}
        }
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut changed = false;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            break;
        }
        match read_one(session, "IDLE", left).await {
            Ok(Received::Change) => {
                changed = true;
                break;
            }
            Ok(_) => {}
            Err(CoreError::ConnectionLost(m)) if m.starts_with("timeout") => break,
            Err(e) => return Err(e),
        }
    }
    session.run_command_untagged("DONE").await.map_err(|e| map_send_error("DONE", e))?;
    loop {
        match read_one(session, "IDLE", RESPONSE_TIMEOUT).await? {
            Received::Done(t, _, _) if t == tag => return Ok(changed),
            Received::Change => changed = true,
            _ => {}
        }
    }
}

enum Received {
    Continue,
    Change,
    Done(RequestId, bool, String),
    Other,
}

async fn read_one(session: &mut Session, name: &str, wait: std::time::Duration) -> Result<Received> {
    let response = match tokio::time::timeout(wait, session.read_response()).await {
        Err(_) => return Err(CoreError::ConnectionLost("timeout".into())),
        Ok(Err(e)) => return Err(read_error(name, e)),
        Ok(Ok(None)) => return Err(CoreError::ConnectionLost(format!("in {name}"))),
        Ok(Ok(Some(r))) => r,
    };
    Ok(match response.parsed() {
        Response::Continue(_) => Received::Continue,
        Response::Done { tag, status, outcome } => Received::Done(
            tag.clone(),
            *status == Status::Ok,
            outcome.information.as_deref().unwrap_or("").to_string(),
        ),
        Response::Data { status: Status::Bye, .. } => return Err(CoreError::ConnectionLost(format!("in {name} (BYE)"))),
        Response::MailboxData(async_imap::imap_proto::MailboxDatum::Exists(_))
        | Response::Expunge(_)
        | Response::Fetch(..)
        | Response::Vanished { .. } => Received::Change,
        _ => Received::Other,
    })
}

/// `UID FETCH 1:* (FLAGS)` -> `UID FETCH`; `SELECT "x"` -> `SELECT`.
fn command_name(command: &str) -> String {
    let mut words = command.split(' ');
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    if first == "UID" {
        format!("UID {}", words.next().unwrap_or("").to_ascii_uppercase())
    } else {
        first
    }
}

fn map_send_error(name: &str, e: async_imap::error::Error) -> CoreError {
    match e {
        async_imap::error::Error::Io(_) | async_imap::error::Error::ConnectionLost => {
            CoreError::ConnectionLost(format!("sending {name}"))
        }
        other => CoreError::protocol(format!("sending {name}"), other.to_string()),
    }
}

/// An IMAP quoted string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_quotes() {
        assert_eq!(command_name("uid fetch 1:* (FLAGS)"), "UID FETCH");
        assert_eq!(command_name("SELECT \"INBOX\" (QRESYNC (1 2))"), "SELECT");
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
