//! Threading benchmark: how long the threaded list of a large folder takes
//! to compute, against the flat list's ids.
//!
//!     cargo bench -p satchel-cache --bench threads -- --messages 100000 --runs 9
//!
//! The folder looks like a busy mailing list: a third of the messages
//! start a conversation, the rest answer one of the ~60 going on at the
//! time (threads of up to 40 messages, interleaved in time). A reply names
//! up to 40 earlier messages of its thread in References, ending with its
//! parent; one in 50 ends with a parent that is not in the folder. Reported: medians over the runs of the pure ordering
//! (`thread_order`), of reading the inputs and ordering them
//! (`Cache::threaded_ids`, what the window calls), and of the flat id list.

use std::time::{Duration, Instant};

use satchel_cache::{Cache, MailboxServerInfo, NewMessage, Part, ThreadInput, thread_order};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let count: u32 = value("--messages").and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let runs: usize = value("--runs").and_then(|v| v.parse().ok()).unwrap_or(9).max(1);

    let messages = generate(count);
    let dir = tempfile::tempdir()?;
    let cache = Cache::open(&dir.path().join("bench.sqlite"))?;
    let account = cache.ensure_account("bench", "bench@example.test")?;
    let inbox = MailboxServerInfo {
        name: "INBOX".into(),
        delimiter: None,
        attributes: vec![],
        special_use: None,
        subscribed: true,
    };
    cache.replace_folder_list(account.id, &[inbox])?;
    let mailbox = cache.mailbox_by_name(account.id, "INBOX")?;
    for batch in messages.chunks(5_000) {
        let next = batch.last().map(|m| m.uid + 1).unwrap_or(1);
        cache.commit_new_messages(mailbox.id, batch, next)?;
    }
    let inputs: Vec<ThreadInput> = messages
        .iter()
        .map(|m| ThreadInput {
            id: i64::from(m.uid),
            date: m.sort_date,
            message_id: m.message_id.clone(),
            in_reply_to: m.in_reply_to.clone(),
            references: m.references.clone(),
        })
        .collect();
    let ref_bytes: usize = messages.iter().filter_map(|m| m.references.as_ref()).map(String::len).sum();

    let (mut pure, mut cached, mut flat) = (Vec::new(), Vec::new(), Vec::new());
    let mut threads = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let order = thread_order(&inputs);
        pure.push(t.elapsed());
        threads = order.iter().filter(|r| r.depth == 0).count();

        let t = Instant::now();
        let order = cache.threaded_ids(mailbox.id)?;
        cached.push(t.elapsed());
        assert_eq!(order.len(), messages.len(), "every message listed once");

        let t = Instant::now();
        let ids = cache.read(|r| r.message_ids(mailbox.id))?;
        flat.push(t.elapsed());
        assert_eq!(ids.len(), messages.len());
    }
    println!("messages in the folder                 {count} ({threads} threads, References {:.1} MiB)", ref_bytes as f64 / 1048576.0);
    println!("thread_order (pure, in memory)         {}", summary(&mut pure));
    println!("Cache::threaded_ids (read + order)     {}", summary(&mut cached));
    println!("flat ids by date (for comparison)      {}", summary(&mut flat));
    Ok(())
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "median {:.1} ms (min {:.1}, max {:.1}, {} runs)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    )
}

/// `count` messages in threads, as described at the top. Deterministic
/// (a small linear congruential generator), so runs compare.
fn generate(count: u32) -> Vec<NewMessage> {
    let mut seed: u64 = 0x5eed;
    let mut next = move |below: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % below
    };
    let id = |uid: u32| format!("<bench-{uid}.{}@lists.example.org>", uid.wrapping_mul(2654435761));
    // Open threads: the message ids of each one's messages, oldest first.
    let mut open: Vec<Vec<u32>> = Vec::new();
    let mut out = Vec::with_capacity(count as usize);
    for uid in 1..=count {
        let mut m = NewMessage {
            uid,
            sort_date: 1_700_000_000 + i64::from(uid) * 60,
            subject: format!("Thread topic {} about the quarterly figures and the train timetable", uid % 977),
            // The rest of a real row, so the scan reads as many pages as
            // it would in a real folder.
            from: format!("Sender {} <sender{}@example.org>", uid % 97, uid % 97),
            to: "Rust Users <rust-users@lists.example.org>".into(),
            date_header: Some("Mon, 23 Nov 2026 10:00:00 +0100".into()),
            size: 4_000 + uid % 20_000,
            bodystructure: Some(Part {
                mime_type: "multipart/alternative".into(),
                children: vec![
                    Part { section: "1".into(), mime_type: "text/plain".into(), charset: Some("utf-8".into()), size: 1800, ..Part::default() },
                    Part { section: "2".into(), mime_type: "text/html".into(), charset: Some("utf-8".into()), size: 4200, ..Part::default() },
                ],
                ..Part::default()
            }),
            message_id: Some(id(uid)),
            ..NewMessage::default()
        };
        let answer = !open.is_empty() && next(3) != 0;
        if answer {
            let t = next(open.len() as u64) as usize;
            let thread = &mut open[t];
            // A reply to a random earlier message of the thread; its
            // References are that message's ancestry (here: the thread
            // up to it), capped at the last 40 like real mailers do.
            let parent = next(thread.len() as u64) as usize;
            let ancestry = &thread[parent.saturating_sub(39)..=parent];
            let mut refs: Vec<String> = ancestry.iter().map(|&u| id(u)).collect();
            if next(50) == 0 {
                // A parent that never reached this folder.
                refs.push(format!("<missing-{uid}@elsewhere.example>"));
            }
            m.in_reply_to = refs.last().cloned();
            m.references = Some(refs.join(" "));
            thread.push(uid);
            if thread.len() >= 2 + next(39) as usize {
                open.swap_remove(t);
            }
        } else {
            open.push(vec![uid]);
            // Keep a few dozen conversations going at once.
            if open.len() > 60 {
                open.swap_remove(next(open.len() as u64) as usize);
            }
        }
        out.push(m);
    }
    out
}
