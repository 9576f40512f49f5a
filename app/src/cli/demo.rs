//! `satchel --demo`: until the desktop window exists, shows the demo
//! mailbox on the terminal.

use anyhow::Result;

use super::Context;

pub fn run(_cx: &Context, _profile_given: bool) -> Result<()> {
    anyhow::bail!("the demo mailbox comes with the desktop window, which is not built yet")
}
