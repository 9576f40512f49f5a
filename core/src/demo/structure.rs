//! A parsed message's part tree, numbered the way IMAP numbers sections,
//! so a message read from a file looks to the reader (attachments, the
//! text part, HTML) exactly like one whose BODYSTRUCTURE came from a
//! server.

use mail_parser::{Message, MessagePart, MimeHeaders};
use satchel_cache::Part;

/// The part tree, and each leaf part by its section for caching contents.
pub struct Structure<'a> {
    pub tree: Part,
    pub leaves: Vec<(String, &'a MessagePart<'a>)>,
}

/// The tree of `message`: a multipart message is section "" with children
/// "1", "2", "2.1"...; a single-part message is section "1". An attached
/// message (message/rfc822) is one leaf; its inside is not numbered.
pub fn of<'a>(message: &'a Message<'a>) -> Structure<'a> {
    let root_is_multipart = message.parts.first().is_some_and(|p| p.sub_parts().is_some());
    let section = if root_is_multipart { String::new() } else { "1".to_string() };
    let mut leaves = Vec::new();
    let tree = convert(message, 0, section, &mut leaves);
    Structure { tree, leaves }
}

fn convert<'a>(message: &'a Message<'a>, id: usize, section: String, leaves: &mut Vec<(String, &'a MessagePart<'a>)>) -> Part {
    let Some(p) = message.parts.get(id) else {
        return Part { section, mime_type: "text/plain".into(), ..Part::default() };
    };
    let content_type = p.content_type();
    let mime_type = content_type
        .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("plain")))
        .unwrap_or_else(|| "text/plain".into())
        .to_ascii_lowercase();
    let mut part = Part {
        section,
        mime_type,
        charset: content_type.and_then(|c| c.attribute("charset")).map(str::to_ascii_lowercase),
        encoding: None,
        size: 0,
        disposition: p.content_disposition().map(|d| d.ctype().to_ascii_lowercase()),
        filename: p.attachment_name().map(str::to_string).filter(|n| !n.trim().is_empty()),
        children: Vec::new(),
    };
    match p.sub_parts() {
        Some(children) => {
            // Part ids only ever point forward in mail-parser's list, so
            // this recursion ends.
            part.children = children
                .iter()
                .enumerate()
                .filter(|(_, child)| **child as usize > id)
                .map(|(i, child)| {
                    let section = if part.section.is_empty() { (i + 1).to_string() } else { format!("{}.{}", part.section, i + 1) };
                    convert(message, *child as usize, section, leaves)
                })
                .collect();
        }
        None => {
            // As in BODYSTRUCTURE: the encoding as declared (7bit when
            // none is), the size as encoded.
            part.encoding = Some(p.content_transfer_encoding().unwrap_or("7bit").to_ascii_lowercase());
            part.size = p.offset_end.saturating_sub(p.offset_body);
            leaves.push((part.section.clone(), p));
        }
    }
    part
}

#[cfg(test)]
mod tests {
    use mail_parser::MessageParser;

    #[test]
    fn sections_are_numbered_as_imap_numbers_them() {
        let raw = b"Content-Type: multipart/mixed; boundary=\"a\"\r\n\r\n--a\r\n\
            Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n--b\r\n\
            Content-Type: text/plain; charset=UTF-8\r\n\r\nplain\r\n--b\r\n\
            Content-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n--a\r\n\
            Content-Type: text/csv\r\nContent-Disposition: attachment; filename*=utf-8''donn%C3%A9es.csv\r\n\
            Content-Transfer-Encoding: base64\r\n\r\nYSxiCg==\r\n--a--\r\n";
        let parsed = MessageParser::new().parse(raw);
        let Some(message) = parsed.as_ref() else { panic!("parses") };
        let s = super::of(message);
        assert_eq!(s.tree.section, "");
        assert_eq!(s.tree.mime_type, "multipart/mixed");
        let sections: Vec<&str> = s.leaves.iter().map(|(section, _)| section.as_str()).collect();
        assert_eq!(sections, ["1.1", "1.2", "2"]);
        let csv = &s.tree.children[1];
        assert_eq!((csv.mime_type.as_str(), csv.encoding.as_deref()), ("text/csv", Some("base64")));
        assert_eq!((csv.disposition.as_deref(), csv.filename.as_deref()), (Some("attachment"), Some("données.csv")));
        assert_eq!(s.tree.children[0].children[0].charset.as_deref(), Some("utf-8"));
        assert_eq!(s.leaves[2].1.contents(), b"a,b\n");

        let single = MessageParser::new().parse(b"Subject: x\r\n\r\nbody\r\n");
        let Some(single) = single.as_ref() else { panic!("parses") };
        let s = super::of(single);
        assert_eq!((s.tree.section.as_str(), s.tree.mime_type.as_str()), ("1", "text/plain"));
        assert_eq!(s.leaves.len(), 1);
    }
}
