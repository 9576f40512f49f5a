//! Satchel's engine: accounts and their settings, credentials, IMAP
//! connections and the header sync that keeps the cache equal to the server.
//! No GUI code lives here; the app drives it and re-reads the cache.

pub mod autoconfig;
pub mod accounts;
pub mod actions;
pub mod config;
pub mod body;
pub mod credentials;
pub mod demo;
pub mod html;
mod http;
pub mod remote;
mod error;
pub mod events;
pub mod imap;
pub mod local_mail;
pub mod reading;
pub mod replay;
pub mod search;
pub mod send;
pub mod setup;
pub mod sync;
pub mod watch;

pub use error::{CoreError, Result};
pub use satchel_cache as cache;

/// Seconds since 1970 (0 if the clock is before it).
pub(crate) fn now_unix() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}
