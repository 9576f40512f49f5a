//! Looks shared by the screens: marks, dates, sizes and a few styles.

use iced::widget::{button, text};
use iced::{Background, Border, Theme};

/// Marks drawn with characters DejaVu Sans and the usual system fonts have.
pub const FLAGGED: &str = "⚑";
pub const ATTACHMENT: &str = "⚭";

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
        _ => "▸",
    }
}

pub fn folder_label(name: &str) -> String {
    if name.eq_ignore_ascii_case("INBOX") { "Inbox".to_string() } else { name.to_string() }
}

/// "14:05" within the last day, "Nov 02" this year, else "2025-11-02".
pub fn short_date(unix: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let full = satchel_core::sync::decode::format_date(unix);
    let age = now - unix;
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let this_year = satchel_core::sync::decode::format_date(now).get(..4) == full.get(..4);
    if (0..20 * 3600).contains(&age) {
        full.get(11..16).unwrap_or(&full).to_string()
    } else if this_year && (0..300 * 86_400).contains(&age) {
        let month = full.get(5..7).and_then(|m| m.parse::<usize>().ok()).and_then(|m| MONTHS.get(m.wrapping_sub(1)));
        match (month, full.get(8..10)) {
            (Some(m), Some(d)) => format!("{m} {d}"),
            _ => full.get(..10).unwrap_or(&full).to_string(),
        }
    } else {
        full.get(..10).unwrap_or(&full).to_string()
    }
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
