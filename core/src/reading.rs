//! What the reader pane shows for one message: its headers, its body as
//! rich text (HTML converted without scripts or remote content), and its
//! attachments. Cached parts answer offline; the rest is fetched when the
//! account is online, else the body says "not available offline".

use std::path::{Path, PathBuf};
use std::sync::Arc;

use satchel_cache::{Cache, MessageDetail};

use crate::body::{self, HTML_KEY, Text};
use crate::config::AccountConfig;
use crate::html::{self, Document};
use crate::sync::mailbox::db;
use crate::{CoreError, Result};

#[derive(Debug, Clone)]
pub struct Reading {
    pub detail: MessageDetail,
    pub body: Body,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone)]
pub enum Body {
    Rich(Document),
    NotAvailableOffline,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub section: String,
    /// The name the sender gave, for display; [`save_attachment`] cleans it.
    pub name: String,
    pub mime_type: String,
    pub size: u32,
}

/// Whether opening this attachment with the system's handler could run
/// code (a program, a script, an installer, a shortcut): the window asks
/// before opening such a file. Judged by the name's extension and the
/// declared type, as the sender controls both.
pub fn may_run_code(attachment: &Attachment) -> bool {
    const EXTENSIONS: &[&str] = &[
        "exe", "com", "bat", "cmd", "scr", "pif", "msi", "msp", "cpl", "hta", "jar", "js", "jse", "vbs", "vbe", "wsf",
        "wsh", "ps1", "psm1", "reg", "lnk", "url", "scf", "inf", "sh", "bash", "zsh", "csh", "run", "bin", "py", "pl",
        "rb", "php", "desktop", "appimage", "deb", "rpm", "app", "pkg", "dmg", "command", "tool", "workflow", "apk",
        "iso", "img", "vhd", "docm", "xlsm", "pptm",
    ];
    const TYPES: &[&str] = &[
        "application/x-msdownload", "application/x-msdos-program", "application/x-executable", "application/x-sh",
        "application/x-shellscript", "application/javascript", "text/javascript", "application/java-archive",
        "application/x-ms-installer", "application/x-msi", "application/vnd.microsoft.portable-executable",
    ];
    let name = attachment.name.trim().trim_end_matches(['.', ' ']).to_ascii_lowercase();
    let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let mime = attachment.mime_type.trim().to_ascii_lowercase();
    EXTENSIONS.contains(&extension) || TYPES.contains(&mime.as_str())
}

/// Reads a message for display. `account` is None for mail with no server
/// (the demo), which never connects; so does `offline`.
pub async fn open(cache: &Arc<Cache>, account: Option<&AccountConfig>, message: i64, offline: bool) -> Result<Reading> {
    let detail = db(cache, move |c| c.message_detail(message)).await?;
    let attachments = detail
        .structure
        .as_ref()
        .map(|s| {
            body::attachments(s)
                .into_iter()
                .map(|p| Attachment {
                    section: p.section.clone(),
                    name: p.filename.clone().unwrap_or_else(|| format!("part-{}", p.section)),
                    mime_type: p.mime_type.clone(),
                    size: p.size,
                })
                .collect()
        })
        .unwrap_or_default();
    let body = match body::message_text(cache, account, message, offline).await? {
        Text::NotAvailableOffline => Body::NotAvailableOffline,
        Text::Available(text) => match db(cache, move |c| c.cached_part(message, HTML_KEY)).await? {
            Some(source) => Body::Rich(html::from_html(&String::from_utf8_lossy(&source))),
            None => Body::Rich(html::from_plain(&text)),
        },
    };
    Ok(Reading { detail, body, attachments })
}

/// Saves an attachment into `dir` under a cleaned name that overwrites
/// nothing; returns the path written.
pub async fn save_attachment(
    cache: &Arc<Cache>,
    account: Option<&AccountConfig>,
    message: i64,
    attachment: &Attachment,
    dir: &Path,
    offline: bool,
) -> Result<PathBuf> {
    let section = attachment.section.clone();
    let bytes = body::part_bytes(cache, account, message, &section, offline).await?;
    let bytes = bytes.ok_or_else(|| CoreError::protocol("saving an attachment", "not available offline"))?;
    std::fs::create_dir_all(dir).map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
    let path = body::safe_path(dir, Some(&attachment.name), &format!("part-{}", attachment.section));
    std::fs::write(&path, bytes).map_err(|e| CoreError::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(name: &str, mime: &str) -> Attachment {
        Attachment { section: "2".into(), name: name.into(), mime_type: mime.into(), size: 1 }
    }

    #[test]
    fn programs_and_scripts_need_a_second_click() {
        assert!(may_run_code(&a("invoice.pdf.exe", "application/pdf")), "the real extension counts");
        assert!(may_run_code(&a("SETUP.MSI", "application/octet-stream")));
        assert!(may_run_code(&a("run-me.sh. ", "text/plain")), "trailing dots and spaces do not hide it");
        assert!(may_run_code(&a("update", "application/x-msdownload")), "the declared type counts too");
        assert!(may_run_code(&a("Launcher.desktop", "text/plain")));
    }

    #[test]
    fn documents_and_pictures_open_directly() {
        for (name, mime) in [("report.pdf", "application/pdf"), ("photo.JPG", "image/jpeg"), ("notes.txt", "text/plain"), ("README", "")] {
            assert!(!may_run_code(&a(name, mime)), "{name}");
        }
    }
}
