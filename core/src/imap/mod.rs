//! IMAP plumbing on top of async-imap: connecting securely, counting
//! traffic, and running commands whose responses we read ourselves.

mod command;
mod connect;
mod stream;
pub mod uidset;
pub mod utf7;

pub use command::{Command, Completion, CompletionCode, Event, Pipeline, idle, quote, uid_search};
pub(crate) use command::completion_code;
pub use connect::{Capabilities, Connection, SyncMode, connect};
pub(crate) use connect::drain_unsolicited as drain;
pub use stream::{ImapIo, Traffic};

/// The session type used everywhere in the engine.
pub type Session = async_imap::Session<Box<dyn ImapIo>>;
