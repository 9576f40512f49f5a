//! HTML mail bodies as a small, safe rich-text model the GUI renders as
//! spans: blocks of styled text, nothing executable, nothing fetched.
//! Remote references (images, stylesheets, backgrounds) are only collected
//! so the GUI can say "this message has N remote items" and offer to load
//! them. The tokenizer is hand-written and tolerant rather than html5ever:
//! mail HTML is often broken, we need no DOM, and one forward pass with
//! bounded look-ups stays linear in the input and cannot panic.

use std::borrow::Cow;
use std::collections::HashSet;

/// A message body ready for display.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Document {
    pub blocks: Vec<Block>,
    /// URLs a browser would fetch (images, CSS, backgrounds) in order of
    /// first occurrence, without duplicates. Never fetched here.
    pub remote_content: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockKind {
    Paragraph,
    Heading(u8),
    /// Nesting depth, 1 for one `<blockquote>` or `>`.
    Quote(u8),
    /// `depth` is 1 for a top-level list. A block continuing a list item
    /// (a second `<p>` in one `<li>`) has an empty marker.
    ListItem { depth: u8, marker: String },
    Preformatted,
    Rule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub kind: BlockKind,
    /// Text may contain '\n' (from `<br>` or preformatted text).
    pub spans: Vec<Span>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Span {
    pub text: String,
    pub bold: bool,
    pub italic: bool,
    pub monospace: bool,
    /// Only http(s) and mailto targets; anything else is dropped.
    pub link: Option<String>,
    /// The text stands for this remote image (`[image: alt]`): once the
    /// user loads remote content, the picture is drawn in its place.
    pub image: Option<String>,
}

/// Appends styled text, merging into the last span when the style is the
/// same, so the GUI gets as few spans as possible.
fn push_span(spans: &mut Vec<Span>, text: &str, style: &Span) {
    match spans.last_mut() {
        _ if text.is_empty() => {}
        Some(l) if (l.bold, l.italic, l.monospace, &l.link, &l.image) == (style.bold, style.italic, style.monospace, &style.link, &style.image) => {
            l.text.push_str(text)
        }
        _ => spans.push(Span { text: text.to_owned(), ..style.clone() }),
    }
}

/// Trims `chars` off the end of a block (and its start when asked),
/// dropping the spans that end up empty.
fn trim(spans: &mut Vec<Span>, chars: &[char], start: bool) {
    while let Some(last) = spans.last_mut() {
        last.text.truncate(last.text.trim_end_matches(chars).len());
        if !last.text.is_empty() {
            break;
        }
        spans.pop();
    }
    while let Some(first) = spans.first_mut().filter(|_| start) {
        first.text = first.text.trim_start_matches(chars).to_owned();
        if !first.text.is_empty() {
            break;
        }
        spans.remove(0);
    }
}

/// No visible text on their own: a block of only these (newsletter spacer
/// cells, preheader padding) is dropped.
fn invisible(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}' | '\u{34f}')
}

fn starts_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes().get(..prefix.len()).is_some_and(|b| b.eq_ignore_ascii_case(prefix.as_bytes()))
}

/// A URL a browser would fetch; protocol-relative ones count too (they
/// would go over https).
fn remote_url(u: &str) -> Option<String> {
    let u = u.trim();
    match () {
        _ if starts_ci(u, "http://") || starts_ci(u, "https://") => Some(u.to_owned()),
        _ if u.len() > 2 && u.starts_with("//") => Some(format!("https:{u}")),
        _ => None,
    }
}

/// Link targets the user may click: web and mail only. Browsers ignore
/// tabs and newlines inside URLs ("java\tscript:"), so we remove them too.
fn safe_href(h: &str) -> Option<String> {
    let h: String = h.trim().chars().filter(|c| !matches!(c, '\t' | '\n' | '\r')).collect();
    if starts_ci(&h, "mailto:") { Some(h) } else { remote_url(&h) }
}

const BLOCK: &[&str] = &[
    "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "menu", "dir", "dl", "dt", "dd", "blockquote", "pre", "listing",
    "hr", "tr", "table", "caption", "section", "article", "aside", "header", "footer", "nav", "main", "center", "address", "figure",
    "figcaption", "form", "fieldset", "details", "summary", "body", "html", "head",
];
/// Elements without content: never on the open-element stack.
const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr", "basefont", "frame"];
/// Raw text up to their end tag, all dropped (style still read for url()).
const RAW: &[&str] = &["script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes"];

/// Windows-1252 for `&#128;`..`&#159;`, which mail (like browsers) uses for
/// curly quotes and dashes.
const CP1252: &str = "€\u{81}‚ƒ„…†‡ˆ‰Š‹Œ\u{8d}Ž\u{8f}\u{90}‘’“”•–—˜™š›œ\u{9d}žŸ";
/// The named references mail actually uses, not HTML's 2,000.
const NAMED: &[(&str, char)] = &[
    ("amp", '&'), ("lt", '<'), ("gt", '>'), ("quot", '"'), ("apos", '\''), ("nbsp", '\u{a0}'), ("copy", '©'), ("reg", '®'),
    ("trade", '™'), ("hellip", '…'), ("mdash", '—'), ("ndash", '–'), ("lsquo", '‘'), ("rsquo", '’'), ("ldquo", '“'), ("rdquo", '”'),
    ("sbquo", '‚'), ("bdquo", '„'), ("laquo", '«'), ("raquo", '»'), ("bull", '•'), ("middot", '·'), ("euro", '€'), ("pound", '£'),
    ("yen", '¥'), ("cent", '¢'), ("sect", '§'), ("deg", '°'), ("times", '×'), ("divide", '÷'), ("para", '¶'), ("plusmn", '±'),
    ("frac12", '½'), ("iexcl", '¡'), ("iquest", '¿'), ("shy", '\u{ad}'), ("zwnj", '\u{200c}'), ("zwj", '\u{200d}'),
    ("ensp", '\u{2002}'), ("emsp", '\u{2003}'), ("thinsp", '\u{2009}'), ("auml", 'ä'), ("ouml", 'ö'), ("uuml", 'ü'), ("Auml", 'Ä'),
    ("Ouml", 'Ö'), ("Uuml", 'Ü'), ("szlig", 'ß'), ("eacute", 'é'), ("Eacute", 'É'), ("egrave", 'è'), ("ecirc", 'ê'), ("aacute", 'á'),
    ("agrave", 'à'), ("iacute", 'í'), ("oacute", 'ó'), ("uacute", 'ú'), ("ntilde", 'ñ'), ("ccedil", 'ç'), ("rarr", '→'), ("larr", '←'),
];

/// The character reference at the start of `s` (which begins with '&'):
/// the character and the bytes it used.
fn entity(s: &str) -> Option<(char, usize)> {
    let b = s.as_bytes();
    if b.get(1) == Some(&b'#') {
        let hex = matches!(b.get(2), Some(b'x' | b'X'));
        let start = if hex { 3 } else { 2 };
        let digits = b.get(start..)?.iter().take_while(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() }).count();
        let end = start + digits;
        let n = u32::from_str_radix(s.get(start..end).filter(|d| !d.is_empty())?, if hex { 16 } else { 10 }).unwrap_or(u32::MAX);
        let c = match n {
            0x80..=0x9f => CP1252.chars().nth((n - 0x80) as usize),
            _ => char::from_u32(n).filter(|&c| c != '\0'),
        };
        return Some((c.unwrap_or('\u{fffd}'), end + usize::from(b.get(end) == Some(&b';'))));
    }
    let len = b.get(1..)?.iter().take(8).take_while(|c| c.is_ascii_alphanumeric()).count();
    let name = s.get(1..1 + len)?;
    let semi = b.get(1 + len) == Some(&b';');
    // Without ';' only the few that sloppy senders write bare, and not in
    // a URL's "&lt=1" (browsers leave that alone too).
    if !semi && (!matches!(name, "amp" | "lt" | "gt" | "quot" | "nbsp") || b.get(1 + len) == Some(&b'=')) {
        return None;
    }
    let c = NAMED.iter().find(|(n, _)| *n == name)?.1;
    Some((c, 1 + len + usize::from(semi)))
}

/// Decodes character references; unknown ones stay as written.
fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('&') {
        return Cow::Borrowed(s);
    }
    let (mut out, mut rest) = (String::with_capacity(s.len()), s);
    while let Some(p) = rest.find('&') {
        out.push_str(rest.get(..p).unwrap_or(""));
        let (c, used) = rest.get(p..).and_then(entity).unwrap_or(('&', 1));
        out.push(c);
        rest = rest.get(p + used..).unwrap_or("");
    }
    out.push_str(rest);
    Cow::Owned(out)
}

enum Tag {
    Start(String, Vec<(String, String)>),
    End(String),
    Skip,
}

/// The lowercased tag name at `from` (empty unless it starts with a letter)
/// and where it ends.
fn tag_name(b: &[u8], from: usize) -> (String, usize) {
    let rest = b.get(from..).unwrap_or(&[]);
    if !rest.first().is_some_and(u8::is_ascii_alphabetic) {
        return (String::new(), from);
    }
    let len = rest.iter().take_while(|c| !c.is_ascii_whitespace() && !matches!(c, b'/' | b'>')).count();
    (String::from_utf8_lossy(rest.get(..len).unwrap_or(&[])).to_ascii_lowercase(), from + len)
}

/// Attributes from `p` to the tag's '>' (or the end of input, as browsers
/// do): entity-decoded, the first of duplicates kept, at most 64.
fn attributes(s: &str, mut p: usize) -> (Vec<(String, String)>, usize) {
    let b = s.as_bytes();
    let upto = |from: usize, stop: &dyn Fn(u8) -> bool| from + b.get(from..).unwrap_or(&[]).iter().take_while(|&&c| !stop(c)).count();
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        p = upto(p, &|c| !c.is_ascii_whitespace() && c != b'/');
        match b.get(p) {
            None => return (out, b.len()),
            Some(b'>') => return (out, p + 1),
            _ => {}
        }
        // The first character always belongs to the name, even '='.
        let name_end = upto(p + 1, &|c| c.is_ascii_whitespace() || matches!(c, b'/' | b'>' | b'='));
        let name = s.get(p..name_end).unwrap_or("").to_ascii_lowercase();
        p = upto(name_end, &|c| !c.is_ascii_whitespace());
        let mut value = "";
        if b.get(p) == Some(&b'=') {
            p = upto(p + 1, &|c| !c.is_ascii_whitespace());
            if let Some(&q @ (b'"' | b'\'')) = b.get(p) {
                let e = upto(p + 1, &|c| c == q);
                (value, p) = (s.get(p + 1..e).unwrap_or(""), (e + 1).min(b.len()));
            } else {
                let e = upto(p, &|c| c.is_ascii_whitespace() || c == b'>');
                (value, p) = (s.get(p..e).unwrap_or(""), e);
            }
        }
        if out.len() < 64 && !out.iter().any(|(n, _)| *n == name) {
            out.push((name, decode(value).into_owned()));
        }
    }
}

/// The markup starting at `lt` (a '<') and where it ends, or None when
/// that '<' is text.
fn markup(s: &str, lt: usize) -> Option<(Tag, usize)> {
    let b = s.as_bytes();
    let find = |from: usize, pat: &str| s.get(from..).and_then(|r| r.find(pat)).map_or(s.len(), |i| from + i + pat.len());
    match *b.get(lt + 1)? {
        b'!' if s.get(lt..)?.starts_with("<!--") => Some((Tag::Skip, find(lt + 4, "-->"))),
        b'!' | b'?' => Some((Tag::Skip, find(lt + 2, ">"))),
        b'/' => {
            let (name, p) = tag_name(b, lt + 2);
            Some((if name.is_empty() { Tag::Skip } else { Tag::End(name) }, find(p, ">")))
        }
        c if c.is_ascii_alphabetic() => {
            let (name, p) = tag_name(b, lt + 1);
            let (attrs, end) = attributes(s, p);
            Some((Tag::Start(name, attrs), end))
        }
        _ => None,
    }
}

/// For a raw-text element: where its content ends and where its end tag
/// ends (both the end of input when it is never closed, as in browsers).
fn raw_end(s: &str, from: usize, name: &str) -> (usize, usize) {
    let (b, mut p) = (s.as_bytes(), from);
    while let Some(at) = s.get(p..).and_then(|r| r.find("</")).map(|i| p + i) {
        let after = at + 2 + name.len();
        if b.get(at + 2..after).is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes())) && !b.get(after).is_some_and(u8::is_ascii_alphanumeric) {
            return (at, s.get(after..).and_then(|r| r.find('>')).map_or(s.len(), |j| after + j + 1));
        }
        p = at + 2;
    }
    (s.len(), s.len())
}

/// Indexes of the Builder's nesting counters.
const BOLD: usize = 0;
const ITALIC: usize = 1;
const MONO: usize = 2;
const HIDDEN: usize = 3;
const QUOTE: usize = 4;
const PRE: usize = 5;
const LI: usize = 6;

/// What an open element changed, undone when it closes.
#[derive(Default)]
struct Undo {
    counts: [bool; 7],
    list: bool,
    heading: Option<Option<u8>>,
    link: Option<Option<String>>,
}

/// Counters instead of a DOM: each open element records what it changed,
/// so unclosed and misnested tags cost no more than a stack entry.
#[derive(Default)]
struct Builder {
    doc: Document,
    seen: HashSet<String>,
    cur: Option<Block>,
    open: Vec<(String, Undo)>,
    /// Open lists: ordered?, next number.
    lists: Vec<(bool, i64)>,
    n: [u32; 7],
    heading: Option<u8>,
    link: Option<String>,
    /// The remote image the text being written stands for.
    image: Option<String>,
    /// The marker of a list item whose first block has not started yet.
    marker: Option<String>,
    /// A collapsible space was written last (or is not wanted).
    space: bool,
    /// A new table cell started: separate it from the row so far.
    sep: bool,
    /// Just after `<pre>`, whose first newline is not content.
    skip_nl: bool,
}

impl Builder {
    fn remote(&mut self, url: &str) {
        if let Some(u) = remote_url(url)
            && self.seen.insert(u.clone())
        {
            self.doc.remote_content.push(u);
        }
    }

    /// `url(...)` and `@import "..."` in a style sheet or attribute.
    fn css(&mut self, css: &str) {
        fn value(s: &str) -> &str {
            let s = s.trim_start();
            match s.chars().next() {
                Some(q @ ('"' | '\'')) => s.get(1..).and_then(|r| r.split(q).next()).unwrap_or(""),
                _ => s.split(')').next().unwrap_or(""),
            }
        }
        let lower = css.to_ascii_lowercase(); // same byte offsets as css
        for (i, pat) in lower.match_indices("url(").chain(lower.match_indices("@import")) {
            self.remote(value(css.get(i + pat.len()..).unwrap_or("")));
        }
    }

    fn style(&self) -> Span {
        let on = |i: usize| self.n[i] > 0;
        Span {
            text: String::new(),
            bold: on(BOLD),
            italic: on(ITALIC),
            monospace: on(MONO) || on(PRE),
            link: self.link.clone(),
            image: self.image.clone(),
        }
    }

    /// At the start of a line: no collapsible space or cell separator yet.
    fn fresh(&self) -> bool {
        self.cur.as_ref().and_then(|b| b.spans.last()).is_none_or(|s| s.text.ends_with('\n'))
    }

    /// The kind of a block starting now; a list marker is used only once.
    /// Thunderbird quotes plain-text mail as `<blockquote><pre>`: keep the
    /// depth (the spans are still monospace).
    fn kind(&mut self) -> BlockKind {
        let clamp = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
        match self.heading {
            _ if self.n[QUOTE] > 0 && (self.n[PRE] > 0 || self.n[LI] == 0) => BlockKind::Quote(clamp(self.n[QUOTE] as usize)),
            _ if self.n[PRE] > 0 => BlockKind::Preformatted,
            Some(h) => BlockKind::Heading(h),
            None if self.n[LI] > 0 => {
                BlockKind::ListItem { depth: clamp(self.lists.len().max(1)), marker: self.marker.take().unwrap_or_default() }
            }
            None => BlockKind::Paragraph,
        }
    }

    fn emit(&mut self, text: &str, style: &Span) {
        if self.cur.is_none() {
            self.cur = Some(Block { kind: self.kind(), spans: Vec::new() });
        }
        if let Some(b) = self.cur.as_mut() {
            // &nbsp; is not collapsed, but the GUI wants an ordinary space.
            push_span(&mut b.spans, &text.replace('\u{a0}', " "), style);
        }
    }

    fn flush(&mut self) {
        self.sep = false;
        let Some(mut b) = self.cur.take() else { return };
        if self.n[PRE] > 0 {
            trim(&mut b.spans, &['\n'], false);
        } else {
            trim(&mut b.spans, &[' ', '\n'], true);
        }
        if !b.spans.iter().all(|s| s.text.chars().all(invisible)) {
            self.doc.blocks.push(b);
        }
    }

    /// Text laid out as a browser does: a run of whitespace is one space,
    /// none at the start of a line (trailing ones go at flush or `<br>`).
    fn text(&mut self, s: &str) {
        if self.n[HIDDEN] > 0 || s.is_empty() {
            return;
        }
        let style = self.style();
        if self.n[PRE] > 0 {
            let mut t = s;
            if std::mem::take(&mut self.skip_nl) {
                t = t.strip_prefix("\r\n").or_else(|| t.strip_prefix('\n')).unwrap_or(t);
            }
            return self.emit(&t.replace('\r', ""), &style);
        }
        let mut buf = String::new();
        for c in s.chars() {
            if c.is_ascii_whitespace() {
                if !self.space && (!buf.is_empty() || !self.fresh()) {
                    buf.push(' ');
                }
                self.space = true;
                continue;
            }
            if std::mem::take(&mut self.sep) && !self.fresh() {
                buf.clear();
                if let Some(b) = self.cur.as_mut() {
                    trim(&mut b.spans, &[' '], false);
                }
                self.emit(" | ", &Span::default());
            }
            self.space = false;
            buf.push(c);
        }
        self.emit(&buf, &style);
    }

    fn br(&mut self) {
        if self.n[HIDDEN] == 0 {
            if let Some(b) = self.cur.as_mut().filter(|_| self.n[PRE] == 0) {
                trim(&mut b.spans, &[' '], false);
            }
            self.emit("\n", &self.style());
        }
    }

    fn start(&mut self, name: &str, attrs: &[(String, String)]) {
        let attr = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        for (k, v) in attrs.iter().filter(|_| name != "script") {
            match k.as_str() {
                "src" | "background" | "poster" => self.remote(v),
                "srcset" => v.split(',').filter_map(|c| c.split_whitespace().next()).for_each(|u| self.remote(u)),
                "href" if name == "link" && !attr("rel").is_some_and(|r| r.contains("alternate") || r.contains("canonical")) => self.remote(v),
                "style" => self.css(v),
                _ => {}
            }
        }
        let style = attr("style").unwrap_or("").to_ascii_lowercase().replace(|c: char| c.is_ascii_whitespace(), "");
        let shown = !style.contains("display:none") && attr("hidden").is_none();
        if BLOCK.contains(&name) {
            self.flush();
        }
        match name {
            "br" => self.br(),
            "hr" if self.n[HIDDEN] == 0 => self.doc.blocks.push(Block { kind: BlockKind::Rule, spans: Vec::new() }),
            "img" => {
                // Tracking pixels and decorative images (alt="") show nothing.
                let px = |k: &str| attr(k).and_then(|v| v.trim().trim_end_matches("px").parse::<u32>().ok());
                let tiny = px("width").is_some_and(|n| n <= 2) || px("height").is_some_and(|n| n <= 2) || !shown;
                self.image = attr("src").and_then(remote_url).filter(|_| !tiny);
                match attr("alt").map(str::trim) {
                    _ if tiny => {}
                    Some("") => {}
                    Some(alt) => self.text(&format!("[image: {alt}]")),
                    None => self.text("[image]"),
                }
                self.image = None;
            }
            "td" | "th" if !self.fresh() => self.sep = true,
            "body" => self.close("head"), // a missing </head> must not hide the body
            _ => {}
        }
        if VOID.contains(&name) || RAW.contains(&name) {
            return;
        }
        let mut u = Undo { list: matches!(name, "ul" | "ol" | "menu" | "dir"), ..Undo::default() };
        let weight = ["font-weight:bold", "font-weight:700", "font-weight:800", "font-weight:900"].iter().any(|w| style.contains(w));
        u.counts[BOLD] = matches!(name, "b" | "strong" | "th") || weight;
        u.counts[ITALIC] = matches!(name, "i" | "em" | "cite" | "dfn" | "var" | "address") || style.contains("font-style:italic");
        u.counts[MONO] = matches!(name, "code" | "tt" | "kbd" | "samp");
        u.counts[HIDDEN] = matches!(name, "head" | "template" | "noscript") || !shown;
        u.counts[QUOTE] = name == "blockquote";
        u.counts[PRE] = matches!(name, "pre" | "listing");
        u.counts[LI] = name == "li";
        if u.list {
            self.lists.push((name == "ol", attr("start").and_then(|s| s.trim().parse().ok()).unwrap_or(1)));
        }
        if u.counts[LI] {
            let value = attr("value").and_then(|s| s.trim().parse::<i64>().ok());
            self.marker = Some(match self.lists.last_mut() {
                Some((true, next)) => {
                    let n = value.unwrap_or(*next);
                    *next = n.saturating_add(1);
                    format!("{n}.")
                }
                _ => "•".to_owned(),
            });
        }
        if let [b'h', d @ b'1'..=b'6'] = *name.as_bytes() {
            u.heading = Some(self.heading.replace(d - b'0'));
        }
        if let Some(href) = attr("href").filter(|_| name == "a") {
            u.link = Some(std::mem::replace(&mut self.link, safe_href(href)));
        }
        self.skip_nl |= u.counts[PRE];
        for (n, on) in self.n.iter_mut().zip(u.counts) {
            *n += u32::from(on);
        }
        self.open.push((name.to_owned(), u));
    }

    /// Closes the nearest open `name` and everything opened after it. The
    /// search is bounded so stray end tags under deep nesting stay cheap.
    fn close(&mut self, name: &str) {
        let from = self.open.len().saturating_sub(256);
        let Some(i) = self.open.get(from..).and_then(|o| o.iter().rposition(|(n, _)| n == name)) else { return };
        for (_, u) in self.open.split_off(from + i).into_iter().rev() {
            for (n, on) in self.n.iter_mut().zip(u.counts) {
                *n = n.saturating_sub(u32::from(on));
            }
            if u.list {
                self.lists.pop();
            }
            if u.counts[LI] {
                self.marker = None;
            }
            if let Some(h) = u.heading {
                self.heading = h;
            }
            if let Some(l) = u.link {
                self.link = l;
            }
        }
    }

    fn end(&mut self, name: &str) {
        if name == "br" {
            return self.br(); // browsers read </br> as <br>
        }
        if BLOCK.contains(&name) {
            self.flush();
        }
        self.close(name);
    }
}

/// Parses an HTML body. Never panics; linear in the input.
pub fn from_html(html: &str) -> Document {
    let (mut b, bytes) = (Builder::default(), html.as_bytes());
    let (mut pos, mut text_from) = (0, 0);
    while let Some(lt) = bytes.get(pos..).and_then(|r| r.iter().position(|&c| c == b'<')).map(|i| pos + i) {
        let Some((tag, end)) = markup(html, lt) else {
            pos = lt + 1;
            continue;
        };
        b.text(&decode(html.get(text_from..lt).unwrap_or("")));
        pos = end;
        match tag {
            Tag::Skip => {}
            Tag::End(name) => b.end(&name),
            Tag::Start(name, attrs) => {
                b.start(&name, &attrs);
                if RAW.contains(&name.as_str()) {
                    let (content_end, after) = raw_end(html, end, &name);
                    if name == "style" {
                        b.css(html.get(end..content_end).unwrap_or(""));
                    }
                    pos = after;
                }
            }
        }
        text_from = pos;
    }
    b.text(&decode(html.get(text_from..).unwrap_or("")));
    b.flush();
    b.doc
}

/// Plain and link spans for http(s) URLs in `text`. Trailing punctuation is
/// not part of a URL, nor is an unbalanced ')'.
fn linkify(text: &str) -> Vec<Span> {
    let (mut spans, lower) = (Vec::new(), text.to_ascii_lowercase());
    let (mut done, mut from) = (0, 0);
    while let Some(i) = lower.get(from..).and_then(|r| r.find("http")).map(|i| from + i) {
        let rest = text.get(i..).unwrap_or("");
        let len = rest.find(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')).unwrap_or(rest.len());
        // Past this token whatever happens: each byte is scanned a bounded
        // number of times, so "httphttphttp..." cannot make this quadratic.
        from = i + len.max(4);
        if len > 4096 {
            continue;
        }
        let mut url = rest.get(..len).unwrap_or("");
        while let Some(c) = url.chars().last().filter(|&c| ".,;:!?'".contains(c) || (c == ')' && url.matches('(').count() < url.matches(')').count())) {
            url = url.get(..url.len() - c.len_utf8()).unwrap_or("");
        }
        if !(starts_ci(url, "http://") || starts_ci(url, "https://")) || url.ends_with("//") {
            continue;
        }
        push_span(&mut spans, text.get(done..i).unwrap_or(""), &Span::default());
        push_span(&mut spans, url, &Span { link: Some(url.to_owned()), ..Span::default() });
        (done, from) = (i + url.len(), i + url.len());
    }
    push_span(&mut spans, text.get(done..).unwrap_or(""), &Span::default());
    spans
}

/// The quote depth of a plain-text line ("> > x" and ">>x" are 2) and the
/// line without its markers.
fn quote_prefix(line: &str) -> (u8, &str) {
    let (mut depth, mut rest) = (0u8, line);
    while let Some(r) = (if depth == 0 { rest } else { rest.trim_start_matches(' ') }).strip_prefix('>') {
        (depth, rest) = (depth.saturating_add(1), r);
    }
    (depth, if depth > 0 { rest.strip_prefix(' ').unwrap_or(rest) } else { rest })
}

/// Parses a plain-text body: a block per run of non-blank lines at one
/// quote depth, line breaks kept inside a block.
pub fn from_plain(text: &str) -> Document {
    fn finish(doc: &mut Document, depth: u8, text: &mut String) {
        if !text.is_empty() {
            let kind = if depth == 0 { BlockKind::Paragraph } else { BlockKind::Quote(depth) };
            doc.blocks.push(Block { kind, spans: linkify(text) });
            text.clear();
        }
    }
    let (mut doc, mut depth, mut buf) = (Document::default(), 0u8, String::new());
    for line in text.lines() {
        let (d, body) = quote_prefix(line);
        let body = body.trim_end();
        if d != depth || body.is_empty() {
            finish(&mut doc, depth, &mut buf);
            depth = d;
        }
        if !buf.is_empty() && !body.is_empty() {
            buf.push('\n');
        }
        buf.push_str(body);
    }
    finish(&mut doc, depth, &mut buf);
    doc
}

/// Plain text for search and for quoting in replies: quotes get '>'
/// prefixes, list items their markers, links their target in <> unless
/// the text shows it.
pub fn to_plain(doc: &Document) -> String {
    let mut out = String::new();
    for (i, b) in doc.blocks.iter().enumerate() {
        let list = |k: &BlockKind| matches!(k, BlockKind::ListItem { .. });
        if i > 0 {
            out.push_str(if list(&b.kind) && doc.blocks.get(i - 1).is_some_and(|p| list(&p.kind)) { "\n" } else { "\n\n" });
        }
        let mut text = String::new();
        for s in &b.spans {
            text.push_str(&s.text);
            match &s.link {
                Some(l) if !s.text.contains(l.strip_prefix("mailto:").unwrap_or(l)) => text.push_str(&format!(" <{l}>")),
                _ => {}
            }
        }
        let (first, rest) = match &b.kind {
            BlockKind::Quote(d) => (format!("{} ", ">".repeat(usize::from(*d))), format!("{} ", ">".repeat(usize::from(*d)))),
            BlockKind::ListItem { depth, marker } => {
                let indent = "  ".repeat(usize::from(depth.saturating_sub(1)));
                let rest = format!("{indent}{}", " ".repeat(marker.chars().count().max(1) + 1));
                (if marker.is_empty() { rest.clone() } else { format!("{indent}{marker} ") }, rest)
            }
            BlockKind::Rule => ("---".to_owned(), String::new()),
            _ => (String::new(), String::new()),
        };
        for (j, line) in text.split('\n').enumerate() {
            if j > 0 {
                out.push('\n');
            }
            out.push_str(if j == 0 { &first } else { &rest });
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests;
