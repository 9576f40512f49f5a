//! Satchel's desktop app: the iced window (`gui`), the command-line client
//! (`cli`) and desktop notifications (`notify`). The binary in main.rs
//! picks one; the tests drive the window through `gui`.

pub mod cli;
pub mod gui;
pub mod notify;
