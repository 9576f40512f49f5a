//! Looks shared by the screens: marks, dates, sizes and a few styles.

use iced::widget::{button, text};
use iced::{Background, Border, Theme};

/// Marks drawn with characters DejaVu Sans and the usual system fonts have.
pub const FLAGGED: &str = "⚑";
pub const ATTACHMENT: &str = "◈";

/// A folder's mark by its special use (RFC 6154).
pub fn folder_mark(special_use: Option<&str>, name: &str) -> &'static str {
    match special_use.map(str::to_ascii_lowercase).as_deref() {
        Some("\\sent") => "➚",
        Some("\\drafts") => "✎",
        Some("\\trash") => "♻",
        Some("\\junk") => "⚠",
        Some("\\archive") => "▤",
        Some("\\flagged") => "★",
        Some("\\all") => "▦",
        _ if name.eq_ignore_ascii_case("INBOX") => "✉",
        _ => "□",
    }
}

pub fn folder_label(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") { "Inbox".to_string() } else { name.to_string() }
}

/// "14:05" today, "Nov 02" this year, else "2025-11-02", in local time.
pub fn short_date(unix: i64) -> String {
    use chrono::{Datelike, Local, TimeZone};
    let Some(when) = Local.timestamp_opt(unix, 0).single() else { return String::new() };
    let now = Local::now();
    if when.date_naive() == now.date_naive() {
        when.format("%H:%M").to_string()
    } else if when.year() == now.year() {
        when.format("%b %d").to_string()
    } else {
        when.format("%Y-%m-%d").to_string()
    }
}

/// "Mon 23 Nov 2026, 09:24" in local time, for the reader.
pub fn long_date(unix: i64) -> String {
    use chrono::{Local, TimeZone};
    Local.timestamp_opt(unix, 0).single().map(|t| t.format("%a %d %b %Y, %H:%M").to_string()).unwrap_or_default()
}

/// "Alice Martin" from "Alice Martin <alice@example.org>"; the address when
/// there is no name.
pub fn display_name(from: &str) -> String {
    let name = from.split('<').next().unwrap_or(from).trim().trim_matches('"').trim();
    if !name.is_empty() {
        return name.to_string();
    }
    from.trim().trim_start_matches('<').trim_end_matches('>').to_string()
}

/// "1 pending change", "3 pending changes".
pub fn count(n: u64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

pub fn human_size(bytes: u32) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{} kB", bytes / 1_000),
        _ => format!("{:.1} MB", f64::from(bytes) / 1e6),
    }
}

pub fn flag_text(theme: &Theme) -> text::Style {
    text::Style { color: Some(theme.extended_palette().warning.strong.color) }
}

/// A list row: flat, highlighted when selected or hovered.
pub fn row_button(theme: &Theme, status: button::Status, selected: bool) -> button::Style {
    let palette = theme.extended_palette();
    let background = if selected {
        Some(Background::Color(palette.primary.weak.color))
    } else if matches!(status, button::Status::Hovered) {
        Some(Background::Color(palette.background.weak.color))
    } else {
        None
    };
    let text_color = if selected { palette.primary.weak.text } else { palette.background.base.text };
    button::Style { background, text_color, border: Border::default(), ..button::Style::default() }
}
