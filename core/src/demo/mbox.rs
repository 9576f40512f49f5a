//! The demo's files are mbox (the mboxrd variant): messages one after
//! another, each opened by a `From ` line, body lines that begin with
//! `>*From ` given one more `>`, flags in `Status:` (R = read) and
//! `X-Status:` (F = flagged, A = answered) as mutt and Thunderbird write
//! them. Lines end in LF on disk, the mbox custom; messages are handed out
//! with CRLF, as RFC 5322 and every server send them.

use satchel_cache::Flags;

/// The flags an mbox keeps for a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MboxFlags {
    pub seen: bool,
    pub flagged: bool,
    pub answered: bool,
}

impl MboxFlags {
    pub fn to_flags(self) -> Flags {
        let mut names = Vec::new();
        for (on, name) in [(self.seen, "\\Seen"), (self.flagged, "\\Flagged"), (self.answered, "\\Answered")] {
            if on {
                names.push(name);
            }
        }
        Flags::from_imap(names)
    }
}

/// Appends `message` (CRLF or LF lines) to `out`: the `From ` line with
/// `date` (unix seconds, UTC), the flag headers, the escaped message, and
/// the blank line that ends it.
pub fn append(out: &mut Vec<u8>, message: &[u8], date: i64, flags: MboxFlags) {
    let stamp = chrono::DateTime::from_timestamp(date, 0).unwrap_or_default().format("%a %b %e %H:%M:%S %Y");
    out.extend_from_slice(format!("From demo@demo.example {stamp}\n").as_bytes());
    if flags.seen {
        out.extend_from_slice(b"Status: RO\n");
    }
    let x_status: String = [(flags.answered, 'A'), (flags.flagged, 'F')].iter().filter(|(on, _)| *on).map(|(_, c)| *c).collect();
    if !x_status.is_empty() {
        out.extend_from_slice(format!("X-Status: {x_status}\n").as_bytes());
    }
    let text = message.strip_suffix(b"\n").unwrap_or(message);
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        if line[quotes..].starts_with(b"From ") {
            out.push(b'>');
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// One message read back from an mbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The message as RFC 5322 (CRLF lines). The flag headers are the
    /// mbox's, not the message's, and are left out (as Dovecot does).
    pub raw: Vec<u8>,
    pub flags: MboxFlags,
}

/// Splits an mbox into its messages, undoing the `>From ` escaping. Text
/// before the first `From ` line is not a message and is skipped.
pub fn split(mbox: &[u8]) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut current: Option<Vec<&[u8]>> = None;
    let text = mbox.strip_suffix(b"\n").unwrap_or(mbox);
    for line in text.split(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            entries.extend(current.take().map(|lines| entry(&lines)));
            current = Some(Vec::new());
        } else if let Some(lines) = current.as_mut() {
            lines.push(line);
        }
    }
    entries.extend(current.map(|lines| entry(&lines)));
    entries
}

fn entry(lines: &[&[u8]]) -> Entry {
    // The blank line before the next `From ` belongs to the mbox, not the
    // message.
    let lines = match lines.split_last() {
        Some((last, rest)) if last.is_empty() || *last == b"\r" => rest,
        _ => lines,
    };
    let mut raw = Vec::with_capacity(lines.iter().map(|l| l.len() + 2).sum());
    let mut flags = MboxFlags::default();
    let mut in_header = true;
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let quotes = line.iter().take_while(|&&b| b == b'>').count();
        let line = if quotes > 0 && line[quotes..].starts_with(b"From ") { &line[1..] } else { line };
        if in_header {
            if line.is_empty() {
                in_header = false;
            } else if let Some(value) = header_value(line, b"status:") {
                flags.seen |= value.contains(&b'R');
                continue;
            } else if let Some(value) = header_value(line, b"x-status:") {
                flags.flagged |= value.contains(&b'F');
                flags.answered |= value.contains(&b'A');
                continue;
            }
        }
        raw.extend_from_slice(line);
        raw.extend_from_slice(b"\r\n");
    }
    Entry { raw, flags }
}

/// The value of a header line named `name` (lower case, with the colon).
fn header_value<'a>(line: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    let head = line.get(..name.len())?;
    head.eq_ignore_ascii_case(name).then(|| &line[name.len()..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_lines_in_bodies_survive_the_round_trip() {
        let one = b"Subject: one\r\n\r\nFrom here on\r\n>From there\r\nplain\r\n";
        let two = b"Subject: two\r\n\r\nlast line without newline";
        let mut mbox = Vec::new();
        append(&mut mbox, one, 0, MboxFlags { seen: true, flagged: true, answered: false });
        append(&mut mbox, two, 86_400, MboxFlags::default());
        let text = String::from_utf8_lossy(&mbox);
        assert!(text.starts_with("From demo@demo.example Thu Jan  1 00:00:00 1970\nStatus: RO\nX-Status: F\n"), "{text}");
        assert!(text.contains("\n>From here on\n>>From there\n"), "{text}");
        assert!(!text.contains('\r'));

        let entries = split(&mbox);
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].raw, b"Subject: one\r\n\r\nFrom here on\r\n>From there\r\nplain\r\n");
        assert_eq!(entries[0].flags, MboxFlags { seen: true, flagged: true, answered: false });
        assert_eq!(entries[1].raw, b"Subject: two\r\n\r\nlast line without newline\r\n");
        assert_eq!(entries[1].flags, MboxFlags::default());
    }

    #[test]
    fn flags_are_read_from_the_header_only() {
        let mbox = b"preamble\nFrom x Thu Jan  1 00:00:00 1970\nSubject: s\nX-Status: AF\n\nStatus: RO\n";
        let entries = split(mbox);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].flags, MboxFlags { seen: false, flagged: true, answered: true });
        assert_eq!(entries[0].raw, b"Subject: s\r\n\r\nStatus: RO\r\n", "a body line is not a flag");
        assert!(entries[0].flags.to_flags().has(satchel_cache::SystemFlag::Flagged));
        assert!(split(b"").is_empty());
    }
}
