//! `satchel --demo`: fills a demo cache with generated mail (no account, no
//! network) and shows it. Until the desktop window exists (see README), it
//! shows the folders and the newest messages on the terminal.

use anyhow::Result;
use satchel_core::sync::decode::format_date;

use super::Context;

pub fn run(cx: &Context) -> Result<()> {
    let cache = cx.profile.open_cache()?;
    let account = satchel_core::demo::fill(&cache)?;
    let reader = cache.reader()?;
    println!("Satchel demo mailbox ({}):\n", cx.profile.cache_file.display());
    for c in reader.mailbox_counts(account)? {
        println!("  {:<22} {:<9} {:>4} messages {:>3} unread", c.name, c.special_use.as_deref().unwrap_or(""), c.total, c.unread);
    }
    let inbox = reader.mailbox_by_name(account, "INBOX")?;
    println!("\nINBOX, newest first:");
    for m in reader.list_messages(inbox.id, None, 15)?.items {
        let unread = if m.flags.has(satchel_cache::SystemFlag::Seen) { ' ' } else { '*' };
        let clip = if m.has_attachments { '@' } else { ' ' };
        println!("{unread}{clip} {}  {:<28.28}  {}", &format_date(m.date)[..16], m.from, m.subject);
    }
    println!("\n(* unread, @ attachment; the desktop window is not built yet)");
    Ok(())
}
