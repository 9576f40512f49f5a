//! A private Postfix per test, in front of a test Dovecot: submission with
//! STARTTLS and with implicit TLS on random loopback ports, SMTP AUTH
//! checked by that Dovecot's auth service, and mail for `@example.test`
//! delivered over LMTP into its users' INBOXes. Own folder, config, queue
//! and log; stopped (and its folder removed) on drop.
//!
//! Postfix only starts as root (its master drops to `mail_owner` itself);
//! we are root in CI and on the developers' machines.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use satchel_core::config::{AccountConfig, Security, SmtpSettings};

use crate::Dovecot;

const HOW_TO_INSTALL: &str = "Postfix is needed for Satchel's SMTP tests (Debian packages `postfix` and \
`dovecot-lmtpd`): run `scripts/test.sh` as root (it installs what is missing), or \
`echo 'postfix postfix/main_mailer_type select No configuration' | sudo debconf-set-selections && \
sudo apt-get install -y postfix dovecot-lmtpd`";

/// The one mail domain this Postfix accepts; Dovecot's users live there.
pub const DOMAIN: &str = "example.test";

pub struct Postfix {
    dir: tempfile::TempDir,
    /// STARTTLS required before AUTH (like port 587).
    pub submission_port: u16,
    /// TLS from the first byte (like port 465).
    pub smtps_port: u16,
    stopped: bool,
}

fn postfix_binary(name: &str) -> Result<PathBuf> {
    ["/usr/sbin", "/usr/bin"]
        .iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| p.exists())
        .with_context(|| format!("`{name}` not found. {HOW_TO_INSTALL}"))
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(l.local_addr()?.port())
}

impl Postfix {
    /// Starts a Postfix that authenticates against and delivers into
    /// `dovecot`, which must have been started with `DovecotOptions { smtp:
    /// true, .. }`.
    pub fn start(dovecot: &Dovecot) -> Result<Postfix> {
        Self::start_with(dovecot, "")
    }

    /// [`Postfix::start`] with `extra` appended to main.cf (later settings
    /// win), e.g. `message_size_limit = 50000`.
    pub fn start_with(dovecot: &Dovecot, extra: &str) -> Result<Postfix> {
        let postfix = postfix_binary("postfix")?;
        let (Some(lmtp_port), Some(auth_port)) = (dovecot.lmtp_port, dovecot.auth_port) else {
            bail!("Postfix needs a Dovecot started with `DovecotOptions {{ smtp: true, .. }}` (LMTP and auth listeners)");
        };
        // The euid of this process, without a libc dependency.
        if std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(0) != 0 {
            bail!("a private Postfix can only be started as root (as `scripts/test.sh` runs in CI)");
        }
        let dir = tempfile::Builder::new().prefix("satchel-postfix-").tempdir().context("Postfix's temp folder")?;
        let root = dir.path();
        // Postfix's own processes run as `postfix` and must reach the queue.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
        // Not `data`: `postfix start` creates it, owned by `mail_owner` as the
        // master needs (its lock file is there).
        for sub in ["etc", "queue"] {
            std::fs::create_dir_all(root.join(sub))?;
        }
        // Own copies of the test certificate: smtpd reads it at each start,
        // which may be after the Dovecot (and its folder) is gone.
        for file in ["server.pem", "server.key"] {
            std::fs::copy(dovecot.dir().join(file), root.join("etc").join(file))
                .with_context(|| format!("copying Dovecot's {file}"))?;
        }
        let submission_port = free_port()?;
        let smtps_port = free_port()?;
        let users: Vec<String> = dovecot.options.users.iter().map(|(u, _)| format!("{u}@{DOMAIN}={u}")).collect();
        let main_cf = format!("{}{extra}\n", main_cf(root, lmtp_port, auth_port, &users.join(", ")));
        let main_path = root.join("etc/main.cf");
        std::fs::write(&main_path, main_cf)?;
        std::fs::write(root.join("etc/master.cf"), master_cf(submission_port, smtps_port))?;
        // Postfix waits 2 s when main.cf is younger than a second or so (it
        // might still be being written); ours is complete.
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        std::fs::File::options().write(true).open(&main_path)?.set_modified(an_hour_ago)?;

        let mut instance = Postfix { dir, submission_port, smtps_port, stopped: true };
        // `start` returns once the master is up (it runs `master -w`).
        let out = Command::new(&postfix)
            .arg("-c")
            .arg(instance.config_dir())
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} start", postfix.display()))?;
        if !out.status.success() {
            let check = Command::new(&postfix).arg("-c").arg(instance.config_dir()).arg("check").output();
            let check = check
                .map(|o| format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
                .unwrap_or_else(|e| e.to_string());
            bail!(
                "postfix start failed ({}): {}{}\npostfix check: {check}\nlog: {}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
                instance.log()
            );
        }
        instance.stopped = false;
        instance.wait_until_listening()?;
        Ok(instance)
    }

    fn wait_until_listening(&self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while ![self.submission_port, self.smtps_port]
            .iter()
            .all(|p| std::net::TcpStream::connect(("127.0.0.1", *p)).is_ok())
        {
            if Instant::now() > deadline {
                bail!("Postfix did not listen on {} and {} within 10 s; log: {}", self.submission_port, self.smtps_port, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    fn config_dir(&self) -> PathBuf {
        self.dir.path().join("etc")
    }

    /// Everything Postfix logged (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postfix.log")).unwrap_or_default()
    }

    /// The queue as `postqueue -p` lists it ("Mail queue is empty" when so).
    pub fn queue(&self) -> Result<String> {
        let out = Command::new(postfix_binary("postqueue")?)
            .arg("-c")
            .arg(self.config_dir())
            .arg("-p")
            .output()
            .context("running postqueue -p")?;
        if !out.status.success() {
            bail!("postqueue -p failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    pub fn queue_is_empty(&self) -> Result<bool> {
        Ok(self.queue()?.contains("Mail queue is empty"))
    }

    /// Waits until every accepted message has left the queue (delivered or
    /// bounced); the error shows the queue and the log.
    pub fn wait_queue_empty(&self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !self.queue_is_empty()? {
            if Instant::now() > deadline {
                bail!("Postfix's queue not empty after {timeout:?}:\n{}\nlog: {}", self.queue()?, self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// The SMTP settings of an account sending through this Postfix
    /// (STARTTLS on `submission_port`, or implicit TLS on `smtps_port`).
    pub fn smtp_settings(&self, dovecot: &Dovecot, implicit_tls: bool) -> SmtpSettings {
        let (port, security) =
            if implicit_tls { (self.smtps_port, Security::Tls) } else { (self.submission_port, Security::Starttls) };
        SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            security,
            username: None,
            tls_ca_file: Some(dovecot.ca_file.clone()),
            allow_plaintext: false,
            server_saves_sent: false,
        }
    }

    /// `dovecot.account(user)` that also sends, over STARTTLS, as
    /// `user@example.test`.
    pub fn account_with_smtp(&self, dovecot: &Dovecot, user: &str) -> AccountConfig {
        let mut account = dovecot.account(user);
        account.email = format!("{user}@{DOMAIN}");
        account.smtp = Some(self.smtp_settings(dovecot, false));
        account
    }

    /// Stops the master and its processes. `postfix stop` polls once a
    /// second; signalling the master ourselves and polling faster makes a
    /// test's teardown take milliseconds instead.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let pid_file = self.dir.path().join("queue/pid/master.pid");
        let Some(pid) = std::fs::read_to_string(&pid_file).ok().and_then(|s| s.trim().parse::<u32>().ok()) else {
            // No pid file: let Postfix find its master itself.
            if let Ok(postfix) = postfix_binary("postfix") {
                let _ = Command::new(postfix).arg("-c").arg(self.config_dir()).arg("stop").output();
            }
            return;
        };
        let signal = |sig: &str, target: String| {
            let _ = Command::new("kill").arg(sig).arg("--").arg(target).stderr(Stdio::null()).status();
        };
        // On SIGTERM the master ends its children (they share its process
        // group) and exits.
        signal("-TERM", pid.to_string());
        let deadline = Instant::now() + Duration::from_secs(5);
        while process_alive(pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // The master made itself a session (and group) leader: whatever of
        // that group is left over is this instance's.
        signal("-KILL", format!("-{pid}"));
    }
}

/// Whether `pid` runs (a zombie left for init to reap does not count).
fn process_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the command name in parentheses.
        Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.stop();
    }
}

/// main.cf: virtual domain example.test only, delivered over LMTP into
/// Dovecot; relaying for authenticated clients only; nothing ever leaves
/// this machine.
fn main_cf(root: &Path, lmtp_port: u16, auth_port: u16, users: &str) -> String {
    let root = root.display();
    format!(
        r#"# Written by the Satchel test harness.
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
# Logged to a file (via postlogd): no syslog in containers, and each test
# reads its own instance's log.
maillog_file = {root}/postfix.log
maillog_file_prefixes = {root}
myhostname = localhost
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
# Reverse DNS of 127.0.0.1 would only add delays.
smtpd_peername_lookup = no
biff = no

# Only known users of example.test are accepted (550 for others), and
# delivered into Dovecot over LMTP.
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_maps = inline:{{ {users} }}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
# Anything else bounces here: no test reaches outside the machine.
default_transport = error:5.7.1 the test Postfix delivers to {DOMAIN} only
relay_transport = error:5.7.1 the test Postfix delivers to {DOMAIN} only
# Dovecot 2.3's LMTP lacks SMTPUTF8: with it on, such mail is lost.
smtputf8_enable = no

smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:127.0.0.1:{auth_port}
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject
smtpd_recipient_restrictions = permit_sasl_authenticated, reject
smtpd_tls_auth_only = yes
smtpd_tls_security_level = may
smtpd_tls_cert_file = {root}/etc/server.pem
smtpd_tls_key_file = {root}/etc/server.key
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
"#
    )
}

/// master.cf: Debian's services less the pipes to other programs, nothing
/// chrooted (the instance lives in a temp folder), and no port 25; instead
/// the two submission ports.
fn master_cf(submission_port: u16, smtps_port: u16) -> String {
    format!(
        r#"# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:{submission_port} inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_tls_security_level=encrypt
127.0.0.1:{smtps_port} inet n - n - - smtpd
  -o syslog_name=postfix/smtps
  -o smtpd_tls_wrappermode=yes
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"#
    )
}
