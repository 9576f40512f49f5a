//! UID sets: compact `1:5,8,10:12` strings for commands, and expansion of
//! the ranges servers send back.

use std::ops::RangeInclusive;

/// Formats ascending or unsorted UIDs as a compact IMAP sequence set.
pub fn format(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Expands ranges (as imap-proto parses VANISHED) into UIDs, ignoring any
/// beyond `limit` so a hostile `1:4294967295` cannot exhaust memory.
pub fn expand(ranges: &[RangeInclusive<u32>], limit: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for r in ranges {
        let (a, b) = if r.start() <= r.end() { (*r.start(), *r.end()) } else { (*r.end(), *r.start()) };
        let b = b.min(limit);
        if a <= b {
            out.extend(a..=b);
        }
    }
    out
}

/// Parses a sequence set like `7,9:11` (no `*`); at most `limit` UIDs.
pub fn parse(text: &str, limit: usize) -> Vec<u32> {
    let mut out = Vec::new();
    for part in text.split(',') {
        let mut ends = part.trim().splitn(2, ':');
        let a = ends.next().and_then(|v| v.parse::<u32>().ok());
        let b = ends.next().map(|v| v.parse::<u32>().ok());
        match (a, b) {
            (Some(a), None) => out.push(a),
            (Some(a), Some(Some(b))) => {
                let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
                for u in lo..=hi {
                    if out.len() >= limit {
                        return out;
                    }
                    out.push(u);
                }
            }
            _ => {}
        }
        if out.len() >= limit {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_runs() {
        assert_eq!(format(&[5, 1, 2, 3, 8, 10, 11, 12, 3]), "1:3,5,8,10:12");
        assert_eq!(format(&[]), "");
        assert_eq!(format(&[7]), "7");
    }

    #[test]
    fn parses_sets() {
        assert_eq!(parse("7,9:11,x,3:2", 100), vec![7, 9, 10, 11, 2, 3]);
        assert_eq!(parse("1:4294967295", 5).len(), 5);
    }

    #[test]
    #[allow(clippy::reversed_empty_ranges)] // a reversed range from a server must expand to nothing
    fn expands_within_limit() {
        assert_eq!(expand(&[1..=3, 9..=9, 12..=10], 11), vec![1, 2, 3, 9, 10, 11]);
        assert_eq!(expand(&[1..=u32::MAX], 4).len(), 4);
    }
}
