//! Dovecot on loopback: a real IMAP, POP3, LMTP and ManageSieve server (Debian's
//! `dovecot-imapd`, `dovecot-pop3d`, `dovecot-lmtpd`, `dovecot-managesieved`), STARTTLS on each,
//! serving the testpki `valid` chain. Against it, per dialect:
//!
//! - the `streamsocket` CLI trusting the testpki root must upgrade (TLS 1.2 or 1.3) and read
//!   the capabilities again inside TLS, without STARTTLS among them;
//! - the same CLI trusting another root (the RSA testpki's) must refuse the chain;
//! - `streamsocket-audit server` must find STARTTLS offered and answered, both injection
//!   probes unanswered, the session reset, TLS 1.2 and 1.3 accepted and SSL 3.0, TLS 1.0 and
//!   1.1 refused (the configuration says `ssl_min_protocol = TLSv1.2`), and nothing failed.
//!
//! Dovecot starts only as root (its login processes drop to `dovenull`); elsewhere the cases
//! are skipped with the reason.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use super::{free_port, last_lines, level_status, run_peer};

/// The dialects Dovecot serves here, each with its `service` and listener name.
const SERVICES: [(&str, &str, &str); 4] = [
    ("imap", "imap-login", "imap"),
    ("pop3", "pop3-login", "pop3"),
    ("lmtp", "lmtp", "lmtp"),
    ("sieve", "managesieve-login", "sieve"),
];

/// A running `dovecot -F` with its own configuration, state and sockets in a fresh directory.
struct Dovecot {
    child: Child,
    dir: PathBuf,
    ports: Vec<(&'static str, u16)>,
}

impl Dovecot {
    fn start(pem: &Path) -> anyhow::Result<Self> {
        // Outside the target directory: unix socket paths are limited to 108 bytes.
        let dir = std::env::temp_dir().join(format!("streamsocket-dovecot-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut ports = Vec::new();
        let mut services = String::new();
        for (dialect, service, listener) in SERVICES {
            let port = free_port()?;
            ports.push((dialect, port));
            services.push_str(&format!(
                "service {service} {{\n  inet_listener {listener} {{\n    address = 127.0.0.1\n    \
                 port = {port}\n  }}\n}}\n"
            ));
        }
        let d = dir.display();
        let chain = pem.join("chain.pem");
        let key = pem.join("key.pem");
        let config = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap pop3 lmtp sieve\nlisten = 127.0.0.1\n\
             ssl = yes\nssl_cert = <{}\nssl_key = <{}\nssl_min_protocol = TLSv1.2\n\
             disable_plaintext_auth = yes\nauth_mechanisms = plain\n\
             passdb {{\n  driver = static\n  args = password=unused\n}}\n\
             userdb {{\n  driver = static\n  args = uid=dovecot gid=dovecot home={d}/home/%u\n}}\n\
             mail_location = maildir:~/Maildir\n\
             default_internal_user = dovecot\ndefault_login_user = dovenull\n\
             service imap-login {{\n  inet_listener imaps {{\n    port = 0\n  }}\n}}\n\
             service pop3-login {{\n  inet_listener pop3s {{\n    port = 0\n  }}\n}}\n\
             {services}\
             protocol lmtp {{\n  postmaster_address = postmaster@example.test\n}}\n",
            chain.display(),
            key.display(),
        );
        let conf = dir.join("dovecot.conf");
        std::fs::write(&conf, config)?;
        let mut child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start dovecot")?;
        let started = Instant::now();
        for &(dialect, port) in &ports {
            while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
                if child.try_wait()?.is_some() || started.elapsed() > Duration::from_secs(15) {
                    let _ = child.kill();
                    let _ = child.wait();
                    let log = std::fs::read_to_string(dir.join("dovecot.log")).unwrap_or_default();
                    bail!(
                        "dovecot did not listen for {dialect} on port {port}{}",
                        last_lines(&log)
                    );
                }
                thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(Self { child, dir, ports })
    }

    fn stop(mut self) {
        // SIGTERM lets the master stop its login and service processes; SIGKILL would orphan
        // them until they notice.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let started = Instant::now();
        while matches!(self.child.try_wait(), Ok(None))
            && started.elapsed() < Duration::from_secs(5)
        {
            thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.trim_ascii() == b"0")
}

/// The cases against Dovecot, as `(name, passed, detail)`; empty (with the reason printed) when
/// Dovecot is missing or cannot start here.
pub(super) fn cases(bin_dir: &Path, pem_root: &Path, work: &Path) -> Vec<(String, bool, String)> {
    if !super::have("dovecot") {
        eprintln!(
            "interop: dovecot is missing (Debian packages dovecot-imapd dovecot-pop3d \
             dovecot-lmtpd dovecot-managesieved); its cases are skipped"
        );
        return Vec::new();
    }
    if !is_root() {
        eprintln!("interop: dovecot starts only as root here; its cases are skipped");
        return Vec::new();
    }
    let valid = pem_root.join("ecdsa-p256/valid");
    let server = match Dovecot::start(&valid) {
        Ok(server) => server,
        Err(e) => return vec![("dovecot starts".to_owned(), false, format!("{e:#}"))],
    };
    let foreign = work.join("pem-rsa");
    let foreign_ok = super::sh(
        Command::new(bin_dir.join("examples/write_pem"))
            .arg(&foreign)
            .arg("rsa2048"),
    );
    let mut results = Vec::new();
    for &(dialect, port) in &server.ports {
        let name = format!("streamsocket -> dovecot {dialect} (valid)");
        let outcome = client(bin_dir, port, dialect, &valid.join("ca.pem"), true);
        results.push(finish(name, outcome));
        if foreign_ok.is_ok() {
            let name = format!("streamsocket -> dovecot {dialect} (another root)");
            let ca = foreign.join("rsa2048/valid/ca.pem");
            results.push(finish(name, client(bin_dir, port, dialect, &ca, false)));
        }
        let name = format!("streamsocket-audit server -> dovecot {dialect}");
        let report = work.join(format!("dovecot-audit-{dialect}"));
        let outcome = audit(bin_dir, port, dialect, &valid.join("ca.pem"), &report);
        results.push(finish(name, outcome));
    }
    server.stop();
    results
}

fn finish(name: String, outcome: anyhow::Result<(bool, String)>) -> (String, bool, String) {
    let (pass, detail) = outcome.unwrap_or_else(|e| (false, format!("{e:#}")));
    eprintln!("interop: {} {name}", if pass { "ok  " } else { "FAIL" });
    (name, pass, detail)
}

/// `streamsocket connect --starttls DIALECT --level Ssl --ca CA --json`: with the right root it
/// must report TLS and fresh capabilities without STARTTLS; with another it must fail on the
/// chain.
fn client(
    bin_dir: &Path,
    port: u16,
    dialect: &str,
    ca: &Path,
    trusted: bool,
) -> anyhow::Result<(bool, String)> {
    let (success, output) = run_peer(
        Command::new(bin_dir.join("streamsocket"))
            .args(["connect", "127.0.0.1", &port.to_string()])
            .args(["--starttls", dialect, "--level", "Ssl", "--json", "--ca"])
            .arg(ca),
        b"",
    )?;
    let line = output.lines().find(|l| l.starts_with('{')).unwrap_or("{}");
    let json: serde_json::Value = serde_json::from_str(line)
        .with_context(|| format!("no JSON line{}", last_lines(&output)))?;
    let level = json["protection_level"].as_str().unwrap_or("missing");
    if !trusted {
        let error = json["error"].as_str().unwrap_or("none");
        let refused = !success && level == "PlainSocket" && error.starts_with("Certificate");
        return Ok((
            refused,
            format!("exit {success}, level {level}, error {error}"),
        ));
    }
    let capabilities: Vec<&str> = json["capabilities"]
        .as_array()
        .map(|caps| caps.iter().filter_map(|c| c.as_str()).collect())
        .unwrap_or_default();
    let starttls_left = capabilities
        .iter()
        .any(|c| c.eq_ignore_ascii_case("STARTTLS") || c.eq_ignore_ascii_case("STLS"));
    let pass =
        success && matches!(level, "Tls12" | "Tls13") && !capabilities.is_empty() && !starttls_left;
    Ok((
        pass,
        format!("exit {success}, level {level}, capabilities inside TLS {capabilities:?}"),
    ))
}

/// `streamsocket-audit server 127.0.0.1 PORT --starttls DIALECT`, judged from its JSON report.
fn audit(
    bin_dir: &Path,
    port: u16,
    dialect: &str,
    ca: &Path,
    report: &Path,
) -> anyhow::Result<(bool, String)> {
    let (_, output) = run_peer(
        Command::new(bin_dir.join("streamsocket-audit"))
            .args(["server", "127.0.0.1", &port.to_string()])
            .args([
                "--starttls",
                dialect,
                "--name",
                "localhost",
                "--timeout",
                "5",
            ])
            .arg("--ca")
            .arg(ca)
            .arg("--report-dir")
            .arg(report),
        b"",
    )?;
    let text = std::fs::read_to_string(report.join("server-audit.json"))
        .with_context(|| format!("no server-audit.json{}", last_lines(&output)))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let mut wrong = Vec::new();
    for (level, want) in [
        ("Tls12", "accepted"),
        ("Tls13", "accepted"),
        ("Ssl3AllowWeakEncryption", "refused"),
        ("Tls10", "refused"),
        ("Tls11", "refused"),
    ] {
        let got = level_status(&json, level);
        if got != want {
            wrong.push(format!("{level} {got}, expected {want}"));
        }
    }
    let obs = &json["observations"];
    if obs["starttls"]["answer"] != "go-ahead" {
        wrong.push(format!("STARTTLS answered {}", obs["starttls"]));
    }
    for probe in ["injection_same_write", "injection_later_write"] {
        let result = obs[probe]["result"].as_str().unwrap_or("missing");
        if !matches!(result, "not-answered" | "refused") {
            wrong.push(format!("{probe}: {result}"));
        }
    }
    if obs["second_starttls"] != false {
        wrong.push(format!(
            "second STARTTLS inside TLS: {}",
            obs["second_starttls"]
        ));
    }
    let failed: Vec<String> = json["findings"]
        .as_array()
        .map(|findings| {
            findings
                .iter()
                .filter(|f| f["severity"] == "fail")
                .map(|f| f["kind"].to_string())
                .collect()
        })
        .unwrap_or_default();
    if !failed.is_empty() {
        wrong.push(format!("failed: {}", failed.join(", ")));
    }
    let detail = if wrong.is_empty() {
        "TLS 1.2 and 1.3 accepted, older refused, injection unanswered, session reset".to_owned()
    } else {
        wrong.join("; ")
    };
    Ok((wrong.is_empty(), detail))
}
