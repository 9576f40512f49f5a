//! A private Dovecot with a few generated messages and a Satchel profile
//! pointing at it, for `scripts/screenshots.sh`.
//!
//!   screenshot_server PROFILE_DIR
//!
//! Prints `ready` once the server listens and the profile is written, then
//! serves until its standard input closes; then it stops Dovecot and removes
//! the server's folder (a kill would leave Dovecot running).

use std::io::{Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use satchel_core::config::{Config, Profile};
use satchel_tests::{Dovecot, DovecotOptions, mail};

fn main() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).context("usage: screenshot_server PROFILE_DIR")?);
    let dovecot = Dovecot::start(DovecotOptions::default())?;
    // 40 messages over ten threads, every third one read; a few sent ones.
    let inbox = (0..40u64).map(|n| (mail::message(n, 11), n % 3 == 0));
    dovecot.deliver("alice", "INBOX", inbox)?;
    dovecot.deliver("alice", "Sent", (100..105u64).map(|n| (mail::message(n, 11), true)))?;
    let mut account = dovecot.account("alice");
    account.name = "work".into();
    Profile::in_dir(&dir).save(&Config { accounts: vec![account], ..Config::default() })?;
    let mut out = std::io::stdout();
    writeln!(out, "ready")?;
    out.flush()?;
    // Serve until the script closes our stdin (or exits).
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(dovecot);
    Ok(())
}
