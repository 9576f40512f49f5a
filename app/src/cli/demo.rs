//! `satchel --demo`: a demo cache filled with generated mail (no account,
//! no network), kept in its own profile so it never mixes with real mail.

use anyhow::Result;

use super::Context;

/// Fills the demo profile's cache unless it is filled already.
pub fn fill(cx: &Context) -> Result<()> {
    let cache = cx.profile.open_cache()?;
    satchel_core::demo::fill(&cache)?;
    Ok(())
}
