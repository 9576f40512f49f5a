//! Realistic generated messages: threads, plain and HTML bodies,
//! attachments, non-ASCII subjects and names. Deterministic for a seed.

/// A tiny deterministic PRNG (xorshift*), so runs are repeatable.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

const NAMES: &[(&str, &str)] = &[
    ("Alice Martin", "alice@example.test"),
    ("Bjørn Østergaard", "bjorn@example.test"),
    ("Chloé Dubois", "chloe@example.test"),
    ("Dmitri Ivanov", "dmitri@example.test"),
    ("Erika Müller", "erika@example.test"),
    ("Fumiko Tanaka", "fumiko@example.test"),
    ("Greg Olsen", "greg@example.test"),
    ("", "noreply@lists.example.test"),
];

const TOPICS: &[&str] = &[
    "Quarterly report draft",
    "Trip to Lisbon — itinerary",
    "Build failure on main",
    "Lunch on Friday?",
    "Invoice 2024-113",
    "Réunion de lundi",
    "Ключевые вопросы",
    "会議の議事録",
    "Release notes for 2.3",
    "Photos from the weekend",
];

const WORDS: &[&str] = &[
    "the", "offline", "cache", "server", "message", "meeting", "please", "review", "attached", "thanks",
    "tomorrow", "budget", "schedule", "draft", "update", "question", "answer", "travel", "train", "hotel",
];

fn encode_word(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    format!("=?UTF-8?B?{}?=", base64(s.as_bytes()))
}

pub fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(T[(n >> 18) as usize & 63] as char);
        out.push(T[(n >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 { T[(n >> 6) as usize & 63] as char } else { '=' });
        out.push(if chunk.len() > 2 { T[n as usize & 63] as char } else { '=' });
    }
    out
}

fn paragraph(rng: &mut Rng, words: usize) -> String {
    let mut s = String::new();
    for i in 0..words {
        if i > 0 {
            s.push(if i % 12 == 0 { '\n' } else { ' ' });
        }
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
    }
    s
}

fn mailbox_header(name: &str, addr: &str) -> String {
    if name.is_empty() { addr.to_string() } else { format!("{} <{addr}>", encode_word(name)) }
}

/// Message number `n` of a generated mailbox. About one in four is a reply
/// in a thread, one in ten has an attachment (20-200 KB), one in six is
/// HTML with a plain alternative.
pub fn message(n: u64, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed ^ n.wrapping_mul(0x1000_0001));
    let (from_name, from_addr) = NAMES[rng.below(NAMES.len() as u64) as usize];
    let (to_name, to_addr) = NAMES[rng.below(NAMES.len() as u64) as usize];
    let thread = n / 4;
    let topic = TOPICS[(thread % TOPICS.len() as u64) as usize];
    let is_reply = n % 4 != 0;
    let subject = if is_reply { format!("Re: {topic} #{thread}") } else { format!("{topic} #{thread}") };
    // Dates go forward by about an hour per message from 2024-01-01.
    let date = 1_704_067_200 + n as i64 * 3600 + rng.below(600) as i64;
    let mut h = String::new();
    h.push_str(&format!("Date: {}\r\n", rfc2822_date(date)));
    h.push_str(&format!("From: {}\r\n", mailbox_header(from_name, from_addr)));
    h.push_str(&format!("To: {}\r\n", mailbox_header(to_name, to_addr)));
    h.push_str(&format!("Subject: {}\r\n", encode_word(&subject)));
    h.push_str(&format!("Message-ID: <gen-{seed}-{n}@example.test>\r\n"));
    if is_reply {
        let root = thread * 4;
        let parent = n - 1;
        h.push_str(&format!("In-Reply-To: <gen-{seed}-{parent}@example.test>\r\n"));
        let refs: Vec<String> = (root..n).map(|k| format!("<gen-{seed}-{k}@example.test>")).collect();
        h.push_str(&format!("References: {}\r\n", refs.join("\r\n ")));
    }
    h.push_str("MIME-Version: 1.0\r\n");
    let words = 80 + rng.below(600) as usize;
    let text = paragraph(&mut rng, words);
    let body = if n % 10 == 7 {
        let size = 20_000 + rng.below(180_000) as usize;
        let blob: Vec<u8> = (0..size).map(|_| rng.next() as u8).collect();
        let encoded = base64(&blob);
        let lines: Vec<&str> = encoded.as_bytes().chunks(76).filter_map(|c| std::str::from_utf8(c).ok()).collect();
        h.push_str("Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n");
        format!(
            "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--b1\r\nContent-Type: application/pdf; name=\"report-{n}.pdf\"\r\nContent-Disposition: attachment; filename=\"report-{n}.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
            lines.join("\r\n")
        )
    } else if n % 6 == 5 {
        h.push_str("Content-Type: multipart/alternative; boundary=\"a1\"\r\n\r\n");
        format!(
            "--a1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--a1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>{}</p><img src=\"https://tracker.example.test/p.gif\"></body></html>\r\n--a1--\r\n",
            text.replace('\n', "</p><p>")
        )
    } else {
        h.push_str("Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        format!("{text}\r\n")
    };
    let mut out = h.into_bytes();
    out.extend_from_slice(body.replace("\r\n", "\n").replace('\n', "\r\n").as_bytes());
    out
}

/// The subject [`message`] gives message `n` (decoded).
pub fn subject(n: u64) -> String {
    let thread = n / 4;
    let topic = TOPICS[(thread % TOPICS.len() as u64) as usize];
    if n % 4 != 0 { format!("Re: {topic} #{thread}") } else { format!("{topic} #{thread}") }
}

pub fn rfc2822_date(ts: i64) -> String {
    let iso = satchel_core::sync::decode::format_date(ts);
    // 2024-01-01T10:00:00Z -> Mon, 01 Jan 2024 10:00:00 +0000
    let days = ts.div_euclid(86400);
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][days.rem_euclid(7) as usize];
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let month: usize = iso[5..7].parse().unwrap_or(1);
    format!("{weekday}, {} {} {} {} +0000", &iso[8..10], months[month - 1], &iso[0..4], &iso[11..19])
}
