//! Modified UTF-7 mailbox names (RFC 3501 section 5.1.3): servers send
//! `Entw&APw-rfe`, users read `Entwürfe`.

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// Decodes a modified UTF-7 name; a malformed name is returned unchanged, so
/// a strange server name still shows and round-trips.
pub fn decode(name: &str) -> String {
    try_decode(name).unwrap_or_else(|| name.to_string())
}

fn try_decode(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        let end = after.find('-')?;
        let chunk = &after[..end];
        if chunk.is_empty() {
            out.push('&');
        } else {
            let mut bits: u32 = 0;
            let mut nbits = 0;
            let mut units = Vec::new();
            for c in chunk.bytes() {
                let v = B64.iter().position(|&b| b == c)? as u32;
                bits = (bits << 6) | v;
                nbits += 6;
                if nbits >= 16 {
                    nbits -= 16;
                    units.push(((bits >> nbits) & 0xFFFF) as u16);
                }
            }
            out.push_str(&String::from_utf16(&units).ok()?);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// Encodes a name for the wire.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let mut bits: u32 = 0;
        let mut nbits = 0;
        for unit in pending.drain(..) {
            bits = (bits << 16) | unit as u32;
            nbits += 16;
            while nbits >= 6 {
                nbits -= 6;
                out.push(B64[((bits >> nbits) & 0x3F) as usize] as char);
            }
        }
        if nbits > 0 {
            out.push(B64[((bits << (6 - nbits)) & 0x3F) as usize] as char);
        }
        out.push('-');
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut buf = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut buf));
        }
    }
    flush(&mut pending, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_names() {
        assert_eq!(decode("Entw&APw-rfe"), "Entwürfe");
        assert_eq!(encode("Entwürfe"), "Entw&APw-rfe");
        assert_eq!(decode("&ZeVnLIqe-"), "日本語");
        assert_eq!(encode("日本語"), "&ZeVnLIqe-");
        assert_eq!(decode("A&-B"), "A&B");
        assert_eq!(encode("A&B"), "A&-B");
        for s in ["Отправленные", "a😀b", "plain", "x & y/ü"] {
            assert_eq!(decode(&encode(s)), s);
        }
    }

    #[test]
    fn malformed_names_pass_through() {
        assert_eq!(decode("bad&AAA"), "bad&AAA");
        assert_eq!(decode("bad&*-"), "bad&*-");
    }
}
