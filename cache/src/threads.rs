//! Conversation threads for the message list: a pure function that orders
//! one folder's messages by thread, in one pass over what the cache keeps
//! of each (id, date, Message-ID, In-Reply-To, References).
//!
//! A simplified JWZ threading (<https://www.jwz.org/doc/threading.html>):
//! a message's parent is the last message named in its References that is
//! in the folder, else the one its In-Reply-To names. So a reply whose
//! direct parent is missing hangs under the nearest ancestor that is there,
//! and one with no ancestor in the folder starts its own thread. Subjects
//! are never compared: two messages called "Re: lunch" are not a thread
//! unless their headers say so. No placeholder rows are made for missing
//! messages, so every row the list shows is a real message.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

/// What threading needs of one message (header values as cached).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadInput {
    pub id: i64,
    /// The list's sort date (Date header, else INTERNALDATE), unix seconds.
    pub date: i64,
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    /// The References header: message ids, oldest ancestor first.
    pub references: Option<String>,
}

/// One row of a threaded list: a message and how deep it sits under its
/// thread's root (0 for the root itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadedId {
    pub id: i64,
    pub depth: u32,
}

/// Orders `messages` by thread: threads newest first (by the newest
/// message in them), each thread's messages together, in conversation
/// order: a message, then its replies (oldest reply first), depth first.
/// Ties in date fall back to the id, as the flat list does.
pub fn thread_order(messages: &[ThreadInput]) -> Vec<ThreadedId> {
    let mut headers = Headers::with_capacity(messages.len());
    for m in messages {
        headers.push(m.id, m.date, m.message_id.as_deref(), m.in_reply_to.as_deref(), m.references.as_deref());
    }
    headers.order()
}

/// A folder's threading headers in compact form, filled one message at a
/// time (straight from SQLite rows, without copying their strings): each
/// message id is kept as a 64-bit hash, so 100,000 messages are a few flat
/// arrays instead of half a million small strings. Two different ids with
/// the same hash would thread one message wrongly in the list, at odds of
/// about 1 in 30 million for a million ids; a sender who wants their mail
/// in a thread can name it in References anyway.
#[derive(Debug, Default)]
pub(crate) struct Headers {
    ids: Vec<i64>,
    dates: Vec<i64>,
    /// The hash of each message's own Message-ID.
    keys: Vec<Option<u64>>,
    /// Message i's possible parents are `candidates[starts[i]..starts[i + 1]]`,
    /// best first: its References from the last back, then its In-Reply-To.
    starts: Vec<usize>,
    candidates: Vec<u64>,
}

/// The keys are hashes already: the map uses them as they are.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

fn key(message_id: &str) -> u64 {
    let mut h = DefaultHasher::new();
    message_id.hash(&mut h);
    h.finish()
}

impl Headers {
    pub(crate) fn with_capacity(n: usize) -> Headers {
        Headers {
            ids: Vec::with_capacity(n),
            dates: Vec::with_capacity(n),
            keys: Vec::with_capacity(n),
            starts: Vec::with_capacity(n + 1),
            candidates: Vec::with_capacity(n * 2),
        }
    }

    pub(crate) fn push(
        &mut self,
        id: i64,
        date: i64,
        message_id: Option<&str>,
        in_reply_to: Option<&str>,
        references: Option<&str>,
    ) {
        self.ids.push(id);
        self.dates.push(date);
        self.keys.push(message_id.and_then(|v| message_ids(v).next()).map(key));
        let start = self.candidates.len();
        self.starts.push(start);
        self.candidates.extend(references.into_iter().flat_map(message_ids).map(key));
        self.candidates[start..].reverse();
        self.candidates.extend(in_reply_to.and_then(|v| message_ids(v).next()).map(key));
    }

    pub(crate) fn order(mut self) -> Vec<ThreadedId> {
        let n = self.ids.len();
        self.starts.push(self.candidates.len());
        let age = |i: usize| (self.dates[i], self.ids[i]);
        // Positions in (date, id) order, oldest first: duplicate
        // Message-IDs resolve to the oldest copy, and replies are listed
        // oldest first.
        let mut by_age: Vec<usize> = (0..n).collect();
        by_age.sort_unstable_by_key(|&i| age(i));

        let mut by_key: HashMap<u64, usize, BuildHasherDefault<KeyHasher>> =
            HashMap::with_capacity_and_hasher(n, BuildHasherDefault::default());
        for &i in &by_age {
            if let Some(k) = self.keys[i] {
                by_key.entry(k).or_insert(i);
            }
        }
        let mut parent: Vec<Option<usize>> = (0..n)
            .map(|i| {
                let candidates = &self.candidates[self.starts[i]..self.starts[i + 1]];
                candidates.iter().find_map(|k| by_key.get(k).copied().filter(|&p| p != i))
            })
            .collect();
        break_cycles(&age, &mut parent);

        // Children as linked lists (first child, next sibling), built from
        // the newest message back so each list comes out oldest first.
        let mut first_child: Vec<Option<usize>> = vec![None; n];
        let mut next_sibling: Vec<Option<usize>> = vec![None; n];
        for &i in by_age.iter().rev() {
            if let Some(p) = parent[i] {
                next_sibling[i] = first_child[p];
                first_child[p] = Some(i);
            }
        }

        // Each thread's rows in depth-first order, into one buffer; a
        // thread is a range of it, sorted by its newest message.
        let mut rows: Vec<ThreadedId> = Vec::with_capacity(n);
        let mut threads: Vec<((i64, i64), usize, usize)> = Vec::new();
        let mut stack: Vec<(usize, u32)> = Vec::new();
        for root in (0..n).filter(|&i| parent[i].is_none()) {
            let start = rows.len();
            let mut newest = age(root);
            stack.push((root, 0));
            while let Some((i, depth)) = stack.pop() {
                rows.push(ThreadedId { id: self.ids[i], depth });
                newest = newest.max(age(i));
                // The sibling waits below the child, so the child's whole
                // subtree is listed before it.
                if let Some(s) = next_sibling[i].filter(|_| i != root) {
                    stack.push((s, depth));
                }
                if let Some(c) = first_child[i] {
                    stack.push((c, depth + 1));
                }
            }
            threads.push((newest, start, rows.len()));
        }
        threads.sort_unstable_by_key(|&(newest, _, _)| Reverse(newest));
        threads.into_iter().flat_map(|(_, start, end)| rows[start..end].iter().copied()).collect()
    }
}

/// Parent links form a forest only if no message is its own ancestor;
/// headers can claim that (forged or broken References, or two messages
/// naming each other). Each loop is cut at its oldest message, which
/// becomes a root: the newer messages in it then hang under it. Linear:
/// every message is walked once.
fn break_cycles(age: &impl Fn(usize) -> (i64, i64), parent: &mut [Option<usize>]) {
    const NEW: u32 = u32::MAX;
    const DONE: u32 = u32::MAX - 1;
    // NEW, DONE, or the number of the walk that is visiting it.
    let mut state = vec![NEW; parent.len()];
    let mut path = Vec::new();
    for (walk, start) in (0..parent.len()).enumerate() {
        let walk = walk as u32;
        let mut at = Some(start);
        while let Some(i) = at.filter(|&i| state[i] == NEW) {
            state[i] = walk;
            path.push(i);
            at = parent[i];
        }
        if let Some(i) = at.filter(|&i| state[i] == walk) {
            // `i` was reached twice in this walk: the path from it on is a loop.
            let from = path.iter().position(|&p| p == i).unwrap_or(0);
            let oldest = path[from..].iter().copied().min_by_key(|&p| age(p));
            if let Some(oldest) = oldest {
                parent[oldest] = None;
            }
        }
        for p in path.drain(..) {
            state[p] = DONE;
        }
    }
}

/// The message ids in a Message-ID, In-Reply-To or References value:
/// each `<...>`, so comments and phrases around them (old mailers write
/// "<id> (Ann's message of Monday)") are skipped. A value without angle
/// brackets is taken as space-separated bare ids.
fn message_ids(value: &str) -> impl Iterator<Item = &str> {
    let bracketed = value.contains('<');
    let bare = (!bracketed).then(|| value.split_whitespace()).into_iter().flatten();
    let angled = bracketed
        .then(|| value.split('<').skip(1).filter_map(|part| part.split_once('>').map(|(id, _)| id.trim())))
        .into_iter()
        .flatten();
    angled.chain(bare).filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(id: i64, date: i64, message_id: &str, in_reply_to: Option<&str>, references: Option<&str>) -> ThreadInput {
        ThreadInput {
            id,
            date,
            message_id: (!message_id.is_empty()).then(|| message_id.to_string()),
            in_reply_to: in_reply_to.map(String::from),
            references: references.map(String::from),
        }
    }

    fn order(messages: &[ThreadInput]) -> Vec<(i64, u32)> {
        thread_order(messages).into_iter().map(|t| (t.id, t.depth)).collect()
    }

    #[test]
    fn without_references_the_list_is_flat_newest_first() {
        let messages = [msg(1, 100, "<a@x>", None, None), msg(2, 300, "<b@x>", None, None), msg(3, 200, "", None, None)];
        assert_eq!(order(&messages), [(2, 0), (3, 0), (1, 0)]);
    }

    #[test]
    fn a_chain_is_listed_under_its_root_and_sorted_by_its_newest_message() {
        let messages = [
            msg(1, 100, "<root@x>", None, None),
            msg(2, 150, "<other@x>", None, None),
            msg(3, 200, "<r1@x>", Some("<root@x>"), Some("<root@x>")),
            msg(4, 300, "<r2@x>", Some("<r1@x>"), Some("<root@x> <r1@x>")),
            // A second answer to the root, older than r2: still listed
            // after r1's whole subtree (depth first).
            msg(5, 250, "<r3@x>", Some("<root@x>"), Some("<root@x>")),
        ];
        assert_eq!(order(&messages), [(1, 0), (3, 1), (4, 2), (5, 1), (2, 0)]);
    }

    #[test]
    fn in_reply_to_alone_threads_and_comments_around_ids_are_ignored() {
        let messages = [
            msg(1, 100, "<root@x>", None, None),
            msg(2, 200, "<r1@x>", Some("<root@x> (Ann's message of Monday)"), None),
        ];
        assert_eq!(order(&messages), [(1, 0), (2, 1)]);
    }

    #[test]
    fn a_missing_middle_message_hangs_the_reply_under_the_nearest_ancestor() {
        // r1 (id 2's parent) is not in the folder.
        let messages = [
            msg(1, 100, "<root@x>", None, None),
            msg(2, 300, "<r2@x>", Some("<r1@x>"), Some("<root@x> <r1@x>")),
            msg(3, 200, "<unrelated@x>", None, None),
        ];
        assert_eq!(order(&messages), [(1, 0), (2, 1), (3, 0)]);
    }

    #[test]
    fn a_reply_whose_ancestors_are_all_missing_starts_a_thread() {
        let messages = [msg(1, 100, "<a@x>", None, None), msg(2, 200, "<r@x>", Some("<gone@x>"), Some("<older@x> <gone@x>"))];
        assert_eq!(order(&messages), [(2, 0), (1, 0)]);
    }

    #[test]
    fn a_cycle_is_cut_at_its_oldest_message() {
        // a names c, b names a, c names b: a loop of three, plus a self reference.
        let messages = [
            msg(1, 100, "<a@x>", None, Some("<c@x>")),
            msg(2, 200, "<b@x>", None, Some("<a@x>")),
            msg(3, 300, "<c@x>", None, Some("<b@x>")),
            msg(4, 50, "<self@x>", Some("<self@x>"), Some("<self@x>")),
        ];
        assert_eq!(order(&messages), [(1, 0), (2, 1), (3, 2), (4, 0)]);
    }

    #[test]
    fn duplicate_message_ids_keep_both_copies_and_replies_go_under_the_oldest() {
        let messages = [
            msg(1, 100, "<dup@x>", None, None),
            msg(2, 110, "<dup@x>", None, None),
            msg(3, 200, "<reply@x>", Some("<dup@x>"), Some("<dup@x>")),
        ];
        assert_eq!(order(&messages), [(1, 0), (3, 1), (2, 0)]);
    }

    #[test]
    fn same_subject_without_references_is_not_a_thread() {
        // Subjects are not even an input: equal ones change nothing.
        let messages = [msg(1, 100, "<a@x>", None, None), msg(2, 200, "<b@x>", None, None)];
        assert_eq!(order(&messages), [(2, 0), (1, 0)]);
    }

    #[test]
    fn bare_ids_without_angle_brackets_still_match() {
        let messages = [msg(1, 100, "root@x", None, None), msg(2, 200, "<r@x>", None, Some("root@x"))];
        assert_eq!(order(&messages), [(1, 0), (2, 1)]);
        assert_eq!(message_ids("<a@x> <b@x>").collect::<Vec<_>>(), ["a@x", "b@x"]);
        assert_eq!(message_ids(" a@x  b@x ").collect::<Vec<_>>(), ["a@x", "b@x"]);
        assert_eq!(message_ids("<> junk <c@x").count(), 0);
    }

    #[test]
    fn every_message_is_listed_once() {
        let messages: Vec<ThreadInput> = (0..500)
            .map(|i| {
                let parent = format!("<m{}@x>", (i * 7919) % 500);
                msg(i, i % 13, &format!("<m{i}@x>"), Some(&parent), Some(&parent))
            })
            .collect();
        let mut ids: Vec<i64> = thread_order(&messages).into_iter().map(|t| t.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, (0..500).collect::<Vec<_>>());
    }
}
