//! Command-line interface: argument definitions and dispatch.

mod account;
mod actions;
mod demo;
mod folders;
mod read;
mod send;
mod sync;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};
use satchel_core::config::Profile;

#[derive(Debug, Parser)]
#[command(name = "satchel", version, about = "An IMAP mail client that works offline")]
pub struct Args {
    /// Keep config and cache in this folder instead of the platform's usual ones.
    #[arg(long, global = true, value_name = "DIR")]
    profile: Option<PathBuf>,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Open a generated demo mailbox (no account, no network). With a
    /// subcommand, that subcommand works on the demo mailbox.
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add or list accounts.
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Fetch the folder list and new headers and flags from the server.
    Sync {
        #[arg(long)]
        account: Option<String>,
        #[arg(long)]
        folder: Option<String>,
    },
    /// Folders with their message and unread counts (from the cache).
    Folders {
        #[arg(long)]
        account: Option<String>,
    },
    /// Add or remove flags of a message (queued; sent at the next sync).
    Flag {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        add: Vec<String>,
        #[arg(long)]
        remove: Vec<String>,
    },
    /// Move a message to another folder (queued).
    Move {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        to: String,
    },
    /// Delete a message: to Trash, or for good with --permanent (queued).
    Delete {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        permanent: bool,
    },
    /// Copy a message to another folder (queued).
    Copy {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        to: String,
    },
    /// Add a message file (.eml) to a folder (queued upload).
    Append {
        folder: String,
        file: PathBuf,
        /// Flags to give it, e.g. --flag '\Seen'.
        #[arg(long)]
        flag: Vec<String>,
    },
    /// Create, rename or delete a folder (queued).
    Folder {
        #[arg(value_parser = ["create", "rename", "delete"])]
        action: String,
        name: String,
        /// The new name, for rename.
        new_name: Option<String>,
    },
    /// Queued actions, with the server's words for failed ones; `retry` or
    /// `discard` one by its op id.
    Pending {
        #[arg(value_parser = ["list", "retry", "discard"], default_value = "list")]
        what: String,
        #[arg(long)]
        id: Option<i64>,
    },
    /// Headers and text of a message (fetched and cached when needed).
    Show {
        #[arg(long)]
        id: i64,
        /// Print one MIME part (e.g. 2 or 1.2), decoded.
        #[arg(long)]
        part: Option<String>,
        /// Save the attachments into this folder (names made safe).
        #[arg(long, value_name = "DIR")]
        save_attachments: Option<PathBuf>,
    },
    /// Search: the cache (subject, addresses, cached bodies) at once, plus
    /// the server when online; each hit says where it came from.
    Search {
        query: String,
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Only the cache.
        #[arg(long)]
        local: bool,
    },
    /// Keep a folder available offline: bodies of the last DAYS days and
    /// attachments up to a size are prefetched.
    OfflinePolicy {
        folder: String,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 0)]
        max_attachment_kb: u64,
        /// Stop keeping it offline.
        #[arg(long)]
        off: bool,
    },
    /// Fetch bodies for the folders kept offline.
    Prefetch {
        #[arg(long)]
        folder: Option<String>,
    },
    /// Space the cached bodies take per folder; --purge drops those outside
    /// the offline policy.
    Space {
        #[arg(long)]
        purge: bool,
    },
    /// Stay online: push new mail (IDLE), send queued actions at once, and
    /// print every event as one JSON line until interrupted.
    Watch {
        #[arg(long)]
        account: Option<String>,
        /// Seconds between checks of the folders other than INBOX.
        #[arg(long, default_value_t = 300)]
        poll: u64,
    },
    /// Work offline (nothing connects) or go back online; remembered.
    Offline {
        #[arg(value_parser = ["on", "off"])]
        state: String,
    },
    /// Conflicts found while sending queued actions.
    Conflicts,
    /// Write a message: it goes into the outbox, and out at once when online.
    Send(send::SendArgs),
    /// Messages waiting to be sent, refused, or that may have been sent;
    /// `retry` (Resend) or `discard` one by its id.
    Outbox {
        #[arg(value_parser = ["list", "retry", "discard"], default_value = "list")]
        what: String,
        #[arg(long)]
        id: Option<i64>,
    },
    /// Messages of a folder, newest first (from the cache only).
    List {
        folder: String,
        #[arg(long)]
        account: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

pub struct Context {
    pub profile: Profile,
    pub json: bool,
    /// Working on the demo mailbox: its one account has no server.
    pub demo: bool,
}

impl Args {
    /// No subcommand: the desktop window (with `--demo`, on the demo mailbox).
    pub fn wants_window(&self) -> bool {
        self.command.is_none()
    }

    pub fn demo(&self) -> bool {
        self.demo
    }

    /// The profile these arguments name: `--profile DIR`, the demo's own
    /// folder with `--demo`, else the platform's usual one.
    pub fn profile(&self) -> Result<Profile> {
        Ok(match (&self.profile, self.demo) {
            (Some(dir), _) => Profile::in_dir(dir),
            // The demo keeps its own cache, apart from real accounts.
            (None, true) => {
                let base = Profile::platform_default()?;
                let dir = base.cache_file.parent().map(|d| d.join("demo")).unwrap_or_else(|| "satchel-demo".into());
                Profile::in_dir(&dir)
            }
            (None, false) => Profile::platform_default()?,
        })
    }
}

pub async fn run(args: Args) -> Result<()> {
    let profile = args.profile()?;
    let cx = Context { profile, json: args.json, demo: args.demo };
    if args.demo {
        // Subcommands work on the demo mailbox too (`satchel --demo folders`).
        demo::fill(&cx)?;
    }
    match args.command {
        Some(Command::Account(c)) => account::run(&cx, c).await,
        Some(Command::Sync { account, folder }) => sync::run(&cx, account, folder).await,
        Some(Command::Folders { account }) => folders::folders(&cx, account),
        Some(Command::List { folder, account, limit }) => folders::list(&cx, account, &folder, limit),
        Some(Command::Flag { id, add, remove }) => actions::flag(&cx, id, &add, &remove),
        Some(Command::Move { id, to }) => actions::move_to(&cx, id, &to),
        Some(Command::Delete { id, permanent }) => actions::delete(&cx, id, permanent),
        Some(Command::Copy { id, to }) => actions::copy_to(&cx, id, &to),
        Some(Command::Append { folder, file, flag }) => actions::append(&cx, &folder, &file, &flag),
        Some(Command::Folder { action, name, new_name }) => actions::folder(&cx, &action, &name, new_name),
        Some(Command::Pending { what, id }) => actions::pending(&cx, &what, id),
        Some(Command::Watch { account, poll }) => sync::watch(&cx, account, poll).await,
        Some(Command::Show { id, part, save_attachments }) => read::show(&cx, id, part, save_attachments).await,
        Some(Command::Search { query, limit, local }) => read::search(&cx, &query, limit, local).await,
        Some(Command::OfflinePolicy { folder, days, max_attachment_kb, off }) => {
            read::policy(&cx, &folder, days, max_attachment_kb, off)
        }
        Some(Command::Prefetch { folder }) => read::prefetch(&cx, folder).await,
        Some(Command::Space { purge }) => read::space(&cx, purge),
        Some(Command::Offline { state }) => actions::offline(&cx, state == "on"),
        Some(Command::Conflicts) => actions::conflicts(&cx),
        Some(Command::Send(a)) => send::send(&cx, a).await,
        Some(Command::Outbox { what, id }) => send::outbox(&cx, &what, id).await,
        None => anyhow::bail!("no subcommand given (see `satchel --help`)"),
    }
}

/// The profile's cache and the cache id of the named (or first) account.
pub fn open_account(cx: &Context, account: Option<&str>) -> Result<(satchel_cache::Cache, i64)> {
    if cx.demo {
        let cache = cx.profile.open_cache()?;
        let id = cache.account_by_name(satchel_core::demo::ACCOUNT)?.id;
        return Ok((cache, id));
    }
    let config = cx.profile.load()?;
    let account = config.pick_account(account)?;
    let cache = cx.profile.open_cache()?;
    let row = cache.ensure_account(&account.name, &account.email)?;
    Ok((cache, row.id))
}

/// Prints `value` as JSON (one document on stdout).
pub fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
