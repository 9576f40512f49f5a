//! "Load remote content": the images an HTML message links to, fetched
//! only when the user asks for that one message. Nothing here runs before
//! that click; the reader shows what came back and why the rest did not.

use std::time::Duration;

use futures::StreamExt;

use crate::http::{self, Limits};

/// A message rarely shows more; past this the rest are not fetched.
pub const MAX_ITEMS: usize = 40;
/// Per image, so a hostile message cannot fill memory.
const LIMITS: Limits = Limits { max_body: 8 << 20, timeout: Duration::from_secs(15) };
/// Fetches at once: enough to be quick, few enough to be polite.
const PARALLEL: usize = 4;

/// What one remote item turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// Image bytes (PNG, JPEG, GIF, WebP, BMP, ICO), ready to decode.
    Image(Vec<u8>),
    /// Fetched but not a picture (a style sheet, a web page): not shown.
    NotAnImage(String),
    Failed(String),
}

/// Fetches `urls` (the message's remote content, in order) and returns
/// each with what came of it, in the same order.
pub async fn fetch(urls: &[String]) -> Vec<(String, Fetched)> {
    let wanted: Vec<String> = urls.iter().take(MAX_ITEMS).cloned().collect();
    futures::stream::iter(wanted)
        .map(|url| async move {
            let result = match http::get(&url, LIMITS).await {
                Ok(f) if is_image(&f.body) => Fetched::Image(f.body),
                Ok(f) => Fetched::NotAnImage(f.content_type.unwrap_or_else(|| "unknown type".into())),
                Err(why) => Fetched::Failed(why),
            };
            (url, result)
        })
        .buffered(PARALLEL)
        .collect()
        .await
}

/// By the bytes, not the declared type: servers often say
/// application/octet-stream, and a web page claiming image/png is not one.
fn is_image(bytes: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"\x00\x00\x01\x00"];
    MAGIC.iter().any(|m| bytes.starts_with(m))
        || (bytes.len() > 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pictures_are_known_by_their_bytes() {
        assert!(is_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(is_image(b"\xff\xd8\xff\xe0\0\x10JFIF"));
        assert!(is_image(b"GIF89a\x01\0\x01\0"));
        assert!(is_image(b"RIFF\x24\0\0\0WEBPVP8 "));
        assert!(!is_image(b"<html><body>not found</body></html>"));
        assert!(!is_image(b"body { color: red }"));
        assert!(!is_image(b""));
    }
}
