//! Turning FETCH attributes into cache rows: envelope fields decoded to
//! UTF-8 (RFC 2047 words, odd charsets, raw 8-bit), dates to unix seconds,
//! BODYSTRUCTURE to our part tree. Nothing here panics on what a server or
//! a message sends; a field that cannot be decoded becomes its lossy text.

use std::borrow::Cow;

use async_imap::imap_proto::{Address, AttributeValue, BodyStructure, ContentEncoding, Envelope};
use mail_parser::MessageParser;
use satchel_cache::{Flags, NewMessage, Part};

/// UID, MODSEQ and FLAGS of one FETCH response, if it had a UID.
pub fn flag_update(attrs: &[AttributeValue<'_>]) -> Option<satchel_cache::FlagUpdate> {
    let mut uid = None;
    let mut modseq = None;
    let mut flags = None;
    for a in attrs {
        match a {
            AttributeValue::Uid(u) => uid = Some(*u),
            AttributeValue::ModSeq(m) => modseq = Some(*m),
            AttributeValue::Flags(f) => flags = Some(Flags::from_imap(f.iter().map(|s| s.as_ref()))),
            _ => {}
        }
    }
    // A FETCH without FLAGS (e.g. only MODSEQ) tells us nothing to apply.
    Some(satchel_cache::FlagUpdate { uid: uid?, modseq, flags: flags? })
}

/// The attributes every new-message FETCH carries; false for the others.
fn common_attribute(m: &mut NewMessage, uid: &mut Option<u32>, a: &AttributeValue<'_>) -> bool {
    match a {
        AttributeValue::Uid(u) => *uid = Some(*u),
        AttributeValue::ModSeq(v) => m.modseq = Some(*v),
        AttributeValue::Flags(f) => m.flags = Flags::from_imap(f.iter().map(|s| s.as_ref())),
        AttributeValue::InternalDate(d) => m.internal_date = parse_internal_date(d),
        AttributeValue::Rfc822Size(s) => m.size = *s,
        _ => return false,
    }
    true
}

/// A whole new message from one FETCH response; `None` without a UID.
pub fn new_message(attrs: &[AttributeValue<'_>]) -> Option<NewMessage> {
    let mut m = NewMessage::default();
    let mut uid = None;
    for a in attrs {
        match a {
            a if common_attribute(&mut m, &mut uid, a) => {}
            AttributeValue::Envelope(e) => apply_envelope(&mut m, e),
            AttributeValue::BodyStructure(b) => m.bodystructure = Some(part_tree(b)),
            AttributeValue::BodySection { data: Some(data), .. } => {
                m.references = header_value(data, "references").map(|v| normalize_ids(&v));
            }
            _ => {}
        }
    }
    m.uid = uid?;
    if m.sort_date == 0 {
        m.sort_date = m.internal_date.unwrap_or(0);
    }
    Some(m)
}

fn apply_envelope(m: &mut NewMessage, e: &Envelope<'_>) {
    let raw_subject = e.subject.as_deref().unwrap_or(b"");
    let raw_date = e.date.as_deref();
    // One mail-parser pass decodes the date and, when it needs it, the subject.
    // Raw 8-bit without encoded words is read by `lossy` (UTF-8, else Latin-1).
    let needs_decoding = contains(raw_subject, b"=?");
    let mut header = Vec::with_capacity(raw_subject.len() + 64);
    if let Some(d) = raw_date {
        header.extend_from_slice(b"Date: ");
        header.extend_from_slice(&one_line(d));
        header.extend_from_slice(b"\r\n");
    }
    if needs_decoding {
        header.extend_from_slice(b"Subject: ");
        header.extend_from_slice(&one_line(raw_subject));
        header.extend_from_slice(b"\r\n");
    }
    header.extend_from_slice(b"\r\n");
    let parsed = MessageParser::new().parse_headers(&header);
    m.subject = if needs_decoding {
        parsed
            .as_ref()
            .and_then(|p| p.subject())
            .map(str::to_string)
            .unwrap_or_else(|| lossy(raw_subject))
    } else {
        lossy(raw_subject)
    };
    m.subject = clean_text(&m.subject);
    if let Some(d) = raw_date {
        m.date_header = Some(lossy(d));
        let ts = parsed.as_ref().and_then(|p| p.date()).filter(|d| d.is_valid()).map(|d| d.to_timestamp());
        if let Some(ts) = ts {
            m.sort_date = ts;
        }
    }
    m.from = addresses(e.from.as_deref());
    m.sender = addresses(e.sender.as_deref());
    m.reply_to = addresses(e.reply_to.as_deref());
    m.to = addresses(e.to.as_deref());
    m.cc = addresses(e.cc.as_deref());
    m.bcc = addresses(e.bcc.as_deref());
    m.in_reply_to = e.in_reply_to.as_deref().map(|v| normalize_ids(&lossy(v))).filter(|v| !v.is_empty());
    m.message_id = e.message_id.as_deref().map(|v| lossy(v).trim().to_string()).filter(|v| !v.is_empty());
}

/// `Name <local@host>, other@host`; group markers are dropped.
fn addresses(list: Option<&[Address<'_>]>) -> String {
    let Some(list) = list else { return String::new() };
    let mut out: Vec<String> = Vec::new();
    for a in list {
        // In an ENVELOPE a NIL host marks the start or end of a group.
        let (Some(mailbox), Some(host)) = (a.mailbox.as_deref(), a.host.as_deref()) else { continue };
        let addr = format!("{}@{}", lossy(mailbox), lossy(host));
        let name = a.name.as_deref().map(decode_words).map(|n| clean_text(&n)).unwrap_or_default();
        if name.is_empty() || name == addr {
            out.push(addr);
        } else {
            out.push(format!("{name} <{addr}>"));
        }
    }
    out.join(", ")
}

/// Decodes RFC 2047 encoded words (and non-UTF-8 bytes) in a phrase.
pub fn decode_words(raw: &[u8]) -> String {
    if !contains(raw, b"=?") {
        return lossy(raw);
    }
    let mut header = b"Subject: ".to_vec();
    header.extend_from_slice(&one_line(raw));
    header.extend_from_slice(b"\r\n\r\n");
    MessageParser::new()
        .parse_headers(&header)
        .and_then(|p| p.subject().map(str::to_string))
        .unwrap_or_else(|| lossy(raw))
}

/// The unfolded value of header `name` in a header block.
fn header_value(block: &[u8], name: &str) -> Option<String> {
    let text = lossy(block);
    let mut value: Option<String> = None;
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if let Some(v) = value.as_mut() {
            if line.starts_with(' ') || line.starts_with('\t') {
                v.push(' ');
                v.push_str(line.trim());
                continue;
            }
            break;
        }
        if let Some((field, rest)) = line.split_once(':')
            && field.trim().eq_ignore_ascii_case(name)
        {
            value = Some(rest.trim().to_string());
        }
    }
    value.filter(|v| !v.is_empty())
}

/// Message-id lists with single spaces.
fn normalize_ids(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Control characters (a CR/LF in a subject, NULs) become spaces.
fn clean_text(s: &str) -> String {
    let cleaned: String = s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn one_line(v: &[u8]) -> Vec<u8> {
    v.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// UTF-8 when it is; otherwise Latin-1, the usual charset of raw 8-bit
/// headers, which never fails and keeps every byte readable.
fn lossy(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s) => s.to_string(),
        Err(_) => v.iter().map(|&b| b as char).collect(),
    }
}

/// `17-Jul-1996 02:44:25 -0700` to unix seconds.
pub fn parse_internal_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, rest) = s.split_once(' ')?;
    let (time, zone) = rest.trim().split_once(' ')?;
    let mut d = date.trim().split('-');
    let day: i64 = d.next()?.trim().parse().ok()?;
    let month = match d.next()?.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    let year: i64 = d.next()?.parse().ok()?;
    let mut t = time.split(':');
    let (h, m, sec): (i64, i64, i64) = (t.next()?.parse().ok()?, t.next()?.parse().ok()?, t.next()?.parse().ok()?);
    let sign = match zone.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let z: i64 = zone.get(1..5)?.parse().ok()?;
    let offset = sign * ((z / 100) * 3600 + (z % 100) * 60);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + sec - offset)
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Our part tree from BODYSTRUCTURE, with IMAP section numbers.
pub fn part_tree(b: &BodyStructure<'_>) -> Part {
    match b {
        BodyStructure::Multipart { .. } => convert(b, String::new()),
        _ => convert(b, "1".into()),
    }
}

fn child_section(parent: &str, index: usize) -> String {
    if parent.is_empty() { index.to_string() } else { format!("{parent}.{index}") }
}

fn convert(b: &BodyStructure<'_>, section: String) -> Part {
    let (common, single) = match b {
        BodyStructure::Basic { common, other, .. }
        | BodyStructure::Text { common, other, .. }
        | BodyStructure::Message { common, other, .. } => (common, Some(other)),
        BodyStructure::Multipart { common, .. } => (common, None),
    };
    let param = |params: &Option<Vec<(Cow<'_, str>, Cow<'_, str>)>>, key: &str| -> Option<String> {
        params
            .as_ref()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.to_string())
    };
    let disposition_params = common.disposition.as_ref().and_then(|d| d.params.clone());
    let filename = param(&disposition_params, "filename*")
        .and_then(|v| decode_rfc2231(&v))
        .or_else(|| param(&disposition_params, "filename").map(|v| decode_words(v.as_bytes())))
        .or_else(|| param(&common.ty.params, "name*").and_then(|v| decode_rfc2231(&v)))
        .or_else(|| param(&common.ty.params, "name").map(|v| decode_words(v.as_bytes())))
        .map(|v| clean_text(&v))
        .filter(|v| !v.is_empty());
    let mut part = Part {
        section: section.clone(),
        mime_type: format!("{}/{}", common.ty.ty, common.ty.subtype).to_ascii_lowercase(),
        charset: param(&common.ty.params, "charset").map(|c| c.to_ascii_lowercase()),
        encoding: single.map(|s| encoding_name(&s.transfer_encoding)),
        size: single.map_or(0, |s| s.octets),
        disposition: common.disposition.as_ref().map(|d| d.ty.to_ascii_lowercase()),
        filename,
        children: Vec::new(),
    };
    match b {
        BodyStructure::Multipart { bodies, .. } => {
            part.children =
                bodies.iter().enumerate().map(|(i, c)| convert(c, child_section(&section, i + 1))).collect();
        }
        BodyStructure::Message { body, .. } => {
            // The parts of an attached message are numbered below its own
            // section (3 -> 3.1, 3.2); a single-part body is 3.1.
            let inner = match body.as_ref() {
                BodyStructure::Multipart { .. } => convert(body, section.clone()),
                _ => convert(body, child_section(&section, 1)),
            };
            part.children = vec![inner];
        }
        _ => {}
    }
    part
}

fn encoding_name(e: &ContentEncoding<'_>) -> String {
    match e {
        ContentEncoding::SevenBit => "7bit".into(),
        ContentEncoding::EightBit => "8bit".into(),
        ContentEncoding::Binary => "binary".into(),
        ContentEncoding::Base64 => "base64".into(),
        ContentEncoding::QuotedPrintable => "quoted-printable".into(),
        ContentEncoding::Other(o) => o.to_ascii_lowercase(),
    }
}

/// `utf-8''na%C3%AFve.txt` (RFC 2231) to `naïve.txt`; other charsets are
/// read as Latin-1, which keeps every byte.
fn decode_rfc2231(v: &str) -> Option<String> {
    let mut pieces = v.splitn(3, '\'');
    let charset = pieces.next()?.to_ascii_lowercase();
    let _language = pieces.next()?;
    let encoded = pieces.next()?;
    let mut bytes = Vec::with_capacity(encoded.len());
    let raw = encoded.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%'
            && let Some(h) = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok())
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            bytes.push(b);
            i += 3;
            continue;
        }
        bytes.push(raw[i]);
        i += 1;
    }
    Some(if charset == "utf-8" || charset == "us-ascii" || charset.is_empty() {
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        lossy(&bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_dates() {
        assert_eq!(parse_internal_date("01-Jan-1970 00:00:00 +0000"), Some(0));
        assert_eq!(parse_internal_date("17-Jul-1996 02:44:25 -0700"), Some(837596665));
        assert_eq!(parse_internal_date(" 5-Mar-2024 10:00:00 +0100"), Some(1709629200));
        assert_eq!(parse_internal_date("garbage"), None);
        assert_eq!(parse_internal_date("32-Jan-2020 00:00:00 +0000"), None);
    }

    #[test]
    fn encoded_words_and_raw_bytes() {
        assert_eq!(decode_words(b"=?UTF-8?B?SGFsbMO2?="), "Hallö");
        assert_eq!(decode_words(b"=?iso-8859-1?Q?caf=E9?= ok"), "café ok");
        assert_eq!(decode_words(b"plain"), "plain");
        assert_eq!(decode_words(b"caf\xe9"), "café");
    }

    #[test]
    fn header_values_unfold() {
        let block = b"References: <a@x>\r\n\t<b@y>\r\nOther: z\r\n\r\n";
        assert_eq!(header_value(block, "REFERENCES").map(|v| normalize_ids(&v)), Some("<a@x> <b@y>".into()));
        assert_eq!(header_value(b"\r\n", "references"), None);
    }

    #[test]
    fn rfc2231_names() {
        assert_eq!(decode_rfc2231("utf-8''na%C3%AFve%20file.txt").as_deref(), Some("naïve file.txt"));
        assert_eq!(decode_rfc2231("iso-8859-1'en'caf%E9").as_deref(), Some("café"));
        assert_eq!(decode_rfc2231("noquotes"), None);
    }

    #[test]
    fn control_characters_do_not_survive() {
        assert_eq!(clean_text("a\r\n\tb\0c"), "a b c");
    }
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ` (UTC), for listings and JSON.
pub fn format_date(ts: i64) -> String {
    let days = ts.div_euclid(86400);
    let secs = ts.rem_euclid(86400);
    // Inverse of days_from_civil (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs % 3600 / 60, secs % 60)
}

#[cfg(test)]
mod format_tests {
    #[test]
    fn formats_dates() {
        assert_eq!(super::format_date(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::format_date(837596665), "1996-07-17T09:44:25Z");
        assert_eq!(super::format_date(1709629200), "2024-03-05T09:00:00Z");
    }
}

/// A new message from a FETCH of `UID FLAGS INTERNALDATE RFC822.SIZE
/// BODY.PEEK[HEADER]`: the fallback when the server's ENVELOPE or
/// BODYSTRUCTURE of a message cannot be read. The header is a literal, which
/// always parses; mail-parser reads the fields. No part tree: bodies are
/// then fetched whole when opened.
pub fn from_header(attrs: &[AttributeValue<'_>]) -> Option<NewMessage> {
    let mut m = NewMessage::default();
    let mut uid = None;
    let mut header: Option<&[u8]> = None;
    for a in attrs {
        match a {
            a if common_attribute(&mut m, &mut uid, a) => {}
            AttributeValue::BodySection { data: Some(data), .. } => header = Some(data.as_ref()),
            _ => {}
        }
    }
    m.uid = uid?;
    if let Some(parsed) = header.and_then(|h| MessageParser::new().parse_headers(h)) {
        m.subject = clean_text(parsed.subject().unwrap_or(""));
        if let Some(d) = parsed.date().filter(|d| d.is_valid()) {
            m.sort_date = d.to_timestamp();
        }
        let list = |a: Option<&mail_parser::Address<'_>>| -> String {
            let Some(a) = a else { return String::new() };
            a.iter()
                .filter_map(|x| {
                    let addr = x.address()?;
                    Some(match x.name().map(clean_text).filter(|n| !n.is_empty() && n != addr) {
                        Some(name) => format!("{name} <{addr}>"),
                        None => addr.to_string(),
                    })
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        m.from = list(parsed.from());
        m.sender = list(parsed.sender());
        m.reply_to = list(parsed.reply_to());
        m.to = list(parsed.to());
        m.cc = list(parsed.cc());
        m.bcc = list(parsed.bcc());
        m.message_id = parsed.message_id().map(|id| format!("<{id}>"));
        let ids = |v: &mail_parser::HeaderValue<'_>| -> Option<String> {
            let list: Vec<String> = match v {
                mail_parser::HeaderValue::Text(t) => vec![format!("<{t}>")],
                mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| format!("<{t}>")).collect(),
                _ => Vec::new(),
            };
            (!list.is_empty()).then(|| list.join(" "))
        };
        m.in_reply_to = ids(parsed.in_reply_to());
        m.references = ids(parsed.references());
    } else if let Some(h) = header {
        m.subject = clean_text(&header_value(h, "subject").unwrap_or_default());
    }
    if m.sort_date == 0 {
        m.sort_date = m.internal_date.unwrap_or(0);
    }
    Some(m)
}

#[cfg(test)]
mod header_tests {
    use async_imap::imap_proto::AttributeValue;
    use std::borrow::Cow;

    #[test]
    fn decodes_a_message_from_its_header_alone() {
        let header = b"From: =?utf-8?q?K=C3=A4the?= <k@example.test>\r\nTo: a@example.test, B <b@example.test>\r\nSubject: =?utf-8?B?SGFsbMO2?=\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <x@y>\r\nReferences: <a@b> <c@d>\r\n\r\n";
        let attrs = vec![
            AttributeValue::Uid(7),
            AttributeValue::Flags(vec![Cow::Borrowed("\\Seen")]),
            AttributeValue::Rfc822Size(1234),
            AttributeValue::BodySection { section: None, index: None, data: Some(Cow::Borrowed(&header[..])) },
        ];
        let m = super::from_header(&attrs).unwrap_or_default();
        assert_eq!(m.uid, 7);
        assert_eq!(m.subject, "Hallö");
        assert_eq!(m.from, "Käthe <k@example.test>");
        assert_eq!(m.to, "a@example.test, B <b@example.test>");
        assert_eq!(m.sort_date, 1704103200);
        assert_eq!(m.message_id.as_deref(), Some("<x@y>"));
        assert_eq!(m.references.as_deref(), Some("<a@b> <c@d>"));
        assert!(m.flags.has(satchel_cache::SystemFlag::Seen));
    }
}
