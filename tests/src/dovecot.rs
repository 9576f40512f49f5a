//! A private Dovecot instance per test: its own folder, config, users, CA
//! and random loopback ports. Stopped (and its folder removed) on drop.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use satchel_core::config::{AccountConfig, ImapSettings, Security};

/// Where Debian (and others) put Dovecot's LMTP server.
const LMTP_BINARIES: [&str; 2] = ["/usr/lib/dovecot/lmtp", "/usr/libexec/dovecot/lmtp"];

const HOW_TO_INSTALL: &str = "Dovecot is needed for Satchel's end-to-end tests: run `scripts/test.sh` \
(it installs what is missing as root), or `sudo apt-get install dovecot-imapd`";

#[derive(Debug, Clone)]
pub struct DovecotOptions {
    pub capabilities: ServerKind,
    pub users: Vec<(String, String)>,
    /// Also serve what a private Postfix needs (tests/src/postfix.rs): an
    /// LMTP listener for delivery and an auth listener for SMTP AUTH.
    pub smtp: bool,
}

/// Which resync extensions the server advertises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    /// Dovecot's defaults: CONDSTORE, QRESYNC, COMPRESS=DEFLATE, ...
    Full,
    /// CONDSTORE but not QRESYNC, and no MOVE (nor COMPRESS). Client
    /// traffic is logged.
    CondStoreOnly,
    /// Neither CONDSTORE nor QRESYNC (nor COMPRESS, nor IDLE). Every
    /// session's client traffic is logged so tests can check what the
    /// client sent.
    Plain,
}

impl Default for DovecotOptions {
    fn default() -> Self {
        DovecotOptions {
            capabilities: ServerKind::Full,
            users: vec![("alice".into(), "alice-pw".into()), ("bob".into(), "bob-pw".into())],
            smtp: false,
        }
    }
}

pub struct Dovecot {
    dir: tempfile::TempDir,
    child: Option<Child>,
    config: PathBuf,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// LMTP (plain, loopback) for Postfix's deliveries; with `smtp` only.
    pub lmtp_port: Option<u16>,
    /// Dovecot's auth protocol for Postfix's SASL; with `smtp` only.
    pub auth_port: Option<u16>,
    pub ca_file: PathBuf,
    pub options: DovecotOptions,
}

fn find_binary(name: &str) -> Option<PathBuf> {
    ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn user_ids(user: &str) -> Option<(String, String)> {
    let id = |flag: &str| {
        let out = Command::new("id").arg(flag).arg(user).output().ok()?;
        if !out.status.success() {
            return None;
        }
        Some(String::from_utf8(out.stdout).ok()?.trim().to_string())
    };
    Some((id("-u")?, id("-g")?))
}

fn current_ids() -> (String, String) {
    let id = |flag: &str| {
        Command::new("id")
            .arg(flag)
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "0".into())
    };
    (id("-u"), id("-g"))
}

impl Dovecot {
    pub fn start(options: DovecotOptions) -> Result<Dovecot> {
        let binary = find_binary("dovecot").with_context(|| HOW_TO_INSTALL.to_string())?;
        if options.smtp && !LMTP_BINARIES.iter().any(|p| Path::new(p).exists()) {
            bail!(
                "Dovecot's LMTP server (Debian package dovecot-lmtpd) is needed for the SMTP tests: run \
                 `scripts/test.sh` as root (it installs what is missing), or `sudo apt-get install dovecot-lmtpd`"
            );
        }
        let dir = tempfile::Builder::new().prefix("satchel-dovecot-").tempdir()?;
        let root = dir.path();
        for sub in ["run", "state", "mail", "home", "rawlog"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        let ca_file = write_certificates(root)?;
        let mut users = String::new();
        for (u, p) in &options.users {
            users.push_str(&format!("{u}:{{PLAIN}}{p}\n"));
            std::fs::create_dir_all(root.join("rawlog").join(u))?;
        }
        std::fs::write(root.join("users"), users)?;

        let (mut uid, mut gid) = current_ids();
        let (login_user, internal_user) = if uid == "0" {
            // Dovecot refuses to access mail as root: mail belongs to its
            // own `dovecot` user, which needs to reach our folder.
            let (u, g) = user_ids("dovecot").context("Debian's dovecot-core creates a `dovecot` user; it is missing")?;
            uid = u;
            gid = g;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
            for sub in ["mail", "home", "rawlog"] {
                let status = Command::new("chown").arg("-R").arg(format!("{uid}:{gid}")).arg(root.join(sub)).status()?;
                if !status.success() {
                    bail!("chown of the test mail folder failed");
                }
            }
            ("dovenull".to_string(), "dovecot".to_string())
        } else {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            (me.clone(), me)
        };
        let imap_port = free_port()?;
        let imaps_port = free_port()?;
        const BASE: &str = "IMAP4rev1 LITERAL+ SASL-IR ID ENABLE NAMESPACE UIDPLUS MOVE SPECIAL-USE LIST-EXTENDED CHILDREN UNSELECT";
        let capability = match options.capabilities {
            ServerKind::Full => String::new(),
            // No MOVE either: moves take the COPY + \\Deleted + UID EXPUNGE path.
            ServerKind::CondStoreOnly => {
                format!("  imap_capability = {} IDLE CONDSTORE\n  rawlog_dir = @ROOT@/rawlog/%u\n", BASE.replace(" MOVE", ""))
            }
            ServerKind::Plain => format!("  imap_capability = {BASE}\n  rawlog_dir = @ROOT@/rawlog/%u\n"),
        };
        let (lmtp_port, auth_port) = if options.smtp { (Some(free_port()?), Some(free_port()?)) } else { (None, None) };
        let smtp_config = match (lmtp_port, auth_port) {
            (Some(lmtp), Some(auth)) => smtp_config(lmtp, auth),
            _ => String::new(),
        };
        // The auth penalty delays logins from an address after a failure
        // (2 s, doubling): SMTP AUTH from Postfix always comes from
        // 127.0.0.1, so one wrong-password test would slow every later login.
        let anvil = if options.smtp { "  unix_listener anvil-auth-penalty {\n    mode = 0\n  }\n" } else { "" };
        let protocols = if options.smtp { "imap lmtp" } else { "imap" };
        let zlib = if options.capabilities == ServerKind::Plain { "" } else { "imap_zlib" };
        let config = format!(
            r#"# Written by the Satchel test harness.
protocols = {protocols}
listen = 127.0.0.1
base_dir = @ROOT@/run
state_dir = @ROOT@/state
log_path = @ROOT@/dovecot.log
info_log_path = @ROOT@/dovecot.log
ssl = yes
ssl_cert = <@ROOT@/server.pem
ssl_key = <@ROOT@/server.key
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 0
first_valid_gid = 0
mail_location = maildir:@ROOT@/mail/%u
mail_fsync = never
mail_plugins = $mail_plugins zlib
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u @ROOT@/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home=@ROOT@/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
{anvil}}}
{smtp_config}
protocol imap {{
  mail_plugins = $mail_plugins {zlib}
{capability}}}
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Drafts {{
    special_use = \Drafts
    auto = subscribe
  }}
  mailbox Sent {{
    special_use = \Sent
    auto = subscribe
  }}
  mailbox Trash {{
    special_use = \Trash
    auto = subscribe
  }}
  mailbox Archive {{
    special_use = \Archive
    auto = subscribe
  }}
}}
"#
        )
        .replace("@ROOT@", &root.display().to_string());
        let config_path = root.join("dovecot.conf");
        std::fs::write(&config_path, config)?;

        let child = Command::new(&binary)
            .arg("-F")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let mut dovecot = Dovecot {
            dir,
            child: Some(child),
            config: config_path,
            imap_port,
            imaps_port,
            lmtp_port,
            auth_port,
            ca_file,
            options,
        };
        dovecot.wait_until_listening()?;
        Ok(dovecot)
    }

    fn wait_until_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ports = [Some(self.imaps_port), Some(self.imap_port), self.lmtp_port, self.auth_port];
            if ports.into_iter().flatten().all(|p| std::net::TcpStream::connect(("127.0.0.1", p)).is_ok()) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let mut stderr = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut stderr);
                }
                bail!("Dovecot exited ({status}): {stderr}\nlog: {}", self.log());
            }
            if Instant::now() > deadline {
                bail!("Dovecot did not listen within 20 s; log: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default()
    }

    pub fn password(&self, user: &str) -> String {
        self.options.users.iter().find(|(u, _)| u == user).map(|(_, p)| p.clone()).unwrap_or_default()
    }

    /// An account for `user` over implicit TLS, trusting the test CA, with
    /// the password given by a command (no keyring needed).
    pub fn account(&self, user: &str) -> AccountConfig {
        AccountConfig {
            name: format!("{user}-test"),
            email: format!("{user}@example.test"),
            imap: ImapSettings {
                host: "127.0.0.1".into(),
                port: self.imaps_port,
                security: Security::Tls,
                username: user.into(),
                tls_ca_file: Some(self.ca_file.clone()),
                allow_plaintext: false,
                compress: true,
            },
            password_command: Some(format!("printf '%s\\n' '{}'", self.password(user))),
            display_name: None,
            smtp: None,
        }
    }

    /// Everything the client sent in `user`'s sessions (not on `Full`).
    pub fn client_transcript(&self, user: &str) -> String {
        let mut out = String::new();
        if let Ok(entries) = std::fs::read_dir(self.dir.path().join("rawlog").join(user)) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "in")) {
                out.push_str(&String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()));
            }
        }
        out
    }

    /// Runs `doveadm` against this instance.
    pub fn doveadm(&self, args: &[&str]) -> Result<String> {
        let binary = find_binary("doveadm").with_context(|| HOW_TO_INSTALL.to_string())?;
        let out = Command::new(binary).arg("-c").arg(&self.config).args(args).output()?;
        if !out.status.success() {
            bail!("doveadm {:?} failed: {}", args, String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The Maildir of `user`'s `mailbox`.
    pub fn maildir(&self, user: &str, mailbox: &str) -> PathBuf {
        let base = self.dir.path().join("mail").join(user);
        if mailbox.eq_ignore_ascii_case("INBOX") { base } else { base.join(format!(".{}", mailbox.replace('/', "."))) }
    }

    /// Delivers messages straight into `user`'s Maildir, as a local delivery
    /// agent would: much faster than APPEND for thousands of messages.
    /// Dovecot assigns UIDs in file-name order when the mailbox is next
    /// opened, so message k gets the k-th new UID. `seen(k)` sets \Seen.
    /// Do not call while a client has the mailbox selected.
    pub fn deliver(
        &self,
        user: &str,
        mailbox: &str,
        messages: impl Iterator<Item = (Vec<u8>, bool)>,
    ) -> Result<usize> {
        let dir = self.maildir(user, mailbox);
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(dir.join(sub))?;
        }
        let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
        let mut count = 0;
        for (i, (body, seen)) in messages.enumerate() {
            let flags = if seen { "S" } else { "" };
            let name = format!("{stamp}.M{:09}P{}.satchel-test,S={}:2,{flags}", i, std::process::id(), body.len());
            std::fs::write(dir.join("cur").join(name), body)?;
            count += 1;
        }
        let (uid, gid) = current_ids();
        if uid == "0"
            && let Some((u, g)) = user_ids("dovecot")
        {
            let _ = (uid, gid);
            let status = Command::new("chown")
                .arg("-R")
                .arg(format!("{u}:{g}"))
                .arg(self.dir.path().join("mail").join(user))
                .status()?;
            if !status.success() {
                bail!("chown of delivered mail failed");
            }
        }
        Ok(count)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        if let Some(bin) = find_binary("doveadm") {
            let _ = Command::new(bin)
                .arg("-c")
                .arg(&self.config)
                .arg("stop")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The listeners a private Postfix uses: LMTP to deliver into the users'
/// INBOXes, and the auth service to check SMTP AUTH passwords.
fn smtp_config(lmtp_port: u16, auth_port: u16) -> String {
    format!(
        r#"service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service auth {{
  inet_listener auth {{
    address = 127.0.0.1
    port = {auth_port}
  }}
}}
# Postfix hands over RCPT TO:<bob@example.test>; the users here are
# bare names ("bob"), so LMTP looks up the local part only.
protocol lmtp {{
  auth_username_format = %Ln
}}
"#
    )
}

/// A CA and a server certificate for 127.0.0.1 and localhost signed by it.
fn write_certificates(root: &Path) -> Result<PathBuf> {
    let ca_key = KeyPair::generate()?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "Satchel test CA");
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server_params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])?;
    server_params.distinguished_name.push(DnType::CommonName, "localhost");
    let server_cert = server_params.signed_by(&server_key, &issuer)?;

    std::fs::write(root.join("server.pem"), server_cert.pem())?;
    std::fs::write(root.join("server.key"), server_key.serialize_pem())?;
    let ca_path = root.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem())?;
    // A second, unrelated CA: trusting it must not make the server trusted.
    let other_key = KeyPair::generate()?;
    let mut other = CertificateParams::new(Vec::<String>::new())?;
    other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other.distinguished_name.push(DnType::CommonName, "Some other CA");
    std::fs::write(root.join("other-ca.pem"), other.self_signed(&other_key)?.pem())?;
    Ok(ca_path)
}
