//! `cargo xtask interop`: the mock server and the client against programs no one here wrote.
//!
//! - `openssl s_client -starttls smtp|lmtp|imap|pop3|nntp|sieve|ftp|irc|postgres|mysql`, `curl --ssl-reqd`
//!   (smtp, imap, pop3, ftp), `gnutls-cli --starttls-proto=smtp|lmtp|imap|pop3|nntp|sieve|ftp|postgres`
//!   and Python's standard library (`smtplib`'s SMTP and LMTP, `imaplib`, `poplib`, `nntplib`,
//!   `ftplib`'s FTP_TLS, whole sessions) against the `mockserver`
//!   binary: they must succeed on the valid scenario and fail on expired, wrong-host and
//!   untrusted-root. `DIALECTS` says which peer speaks which dialect.
//! - The `streamsocket` CLI against `openssl s_server -tls1_2 | -tls1_3` (and `-Verify` for
//!   mutual TLS), and with `--starttls ftp` against a real FTP server, pyftpdlib's TLS handler
//!   (`fixtures/peers/pyftpdlib_server.py`; skipped, with the reason, without pyftpdlib and
//!   pyOpenSSL): the valid chain accepted, the expired one refused on its certificate.
//! - `streamsocket-audit server` against `openssl s_server -tls1_2 | -tls1_3`, against
//!   `-tls1 | -tls1_1` at `@SECLEVEL=0` (skipped, with the reason, when this openssl refuses
//!   to start so), against a Python `ssl` server limited to TLS 1.2 and against `gnutls-serv`
//!   with the priority string `NORMAL:-VERS-ALL:+VERS-TLS1.2`: the levels the audit reports
//!   accepted and refused must be the ones the peer was configured with.
//! - A real Dovecot (IMAP, POP3, LMTP, ManageSieve, each with STARTTLS) on loopback, against
//!   the `streamsocket` CLI and `streamsocket-audit server` (see `interop/dovecot.rs`).
//! - The conformance report page (`report.html`) rendered by headless `chromium`: the counts in
//!   its DOM must equal `report.json`'s, and a screenshot is saved beside it.
//!
//! It installs nothing: each missing peer is named, with the Debian package that provides it,
//! and its cases are skipped. Every process is bounded by a timeout and killed after it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util::{cargo, have, project_root, run as sh};

mod dovecot;
mod report_page;

/// Programs this task drives, with the Debian package that provides each.
const PEERS: [(&str, &str); 5] = [
    ("openssl", "openssl"),
    ("curl", "curl"),
    ("gnutls-cli", "gnutls-bin"),
    ("gnutls-serv", "gnutls-bin"),
    ("python3", "python3"),
];

/// Scenarios every peer meets, and whether a correct peer accepts them.
const SCENARIOS: [(&str, bool); 4] = [
    ("valid", true),
    ("expired", false),
    ("wrong-host", false),
    ("untrusted-root", false),
];

/// The mock server's dialects and the peers that speak each (curl has no LMTP, and its NNTP
/// has no STARTTLS; Python's standard library has no ManageSieve, IRC, PostgreSQL or MySQL
/// client, gnutls-cli and curl no IRC STARTTLS, and of these only openssl speaks MySQL's SSL
/// request).
const DIALECTS: [(&str, &[&str]); 10] = [
    ("ftp", &["openssl", "curl", "gnutls-cli", "python3"]),
    ("irc", &["openssl"]),
    ("smtp", &["openssl", "curl", "gnutls-cli", "python3"]),
    ("lmtp", &["openssl", "gnutls-cli", "python3"]),
    ("imap", &["openssl", "curl", "gnutls-cli", "python3"]),
    ("pop3", &["openssl", "curl", "gnutls-cli", "python3"]),
    ("nntp", &["openssl", "gnutls-cli", "python3"]),
    ("sieve", &["openssl", "gnutls-cli"]),
    ("postgres", &["openssl", "gnutls-cli"]),
    ("mysql", &["openssl"]),
];

/// Longest any one peer process may run.
const PEER_TIMEOUT: Duration = Duration::from_secs(20);

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("interop takes no arguments (got {arg:?})");
    }
    let mut present = Vec::new();
    for (program, package) in PEERS {
        if have(program) {
            present.push(program);
        } else {
            eprintln!(
                "interop: {program} is missing (Debian package {package}); its cases are skipped"
            );
        }
    }
    // Build exactly what `cargo test --workspace` builds (binaries and examples included), so
    // that after the tests this is a no-op instead of a second build with other features.
    sh(cargo().args(["test", "--workspace", "--locked", "--no-run", "--quiet"]))?;
    let bin_dir = target_dir().join("debug");
    let work = project_root().join("target/interop");
    std::fs::create_dir_all(&work)?;

    let mut results: Vec<(String, bool, String)> = Vec::new();
    for (scenario, accept) in SCENARIOS {
        for (dialect, peers) in DIALECTS {
            let server = MockServer::start(&bin_dir, &work, dialect, scenario)?;
            for peer in present.iter().filter(|peer| peers.contains(peer)) {
                let name = format!("{peer} {dialect} {scenario}");
                let outcome = match *peer {
                    "openssl" => openssl_client(&server, dialect),
                    "curl" => curl(&server, dialect, &work),
                    "gnutls-cli" => gnutls(&server, dialect),
                    "python3" => python(&server, dialect),
                    _ => continue,
                };
                record(&mut results, name, accept, outcome);
            }
            server.stop();
        }
    }
    let pem_root = work.join("pem");
    sh(Command::new(bin_dir.join("examples/write_pem"))
        .current_dir(project_root())
        .arg(&pem_root)
        .arg("ecdsa-p256"))?;
    if present.contains(&"openssl") {
        for version in ["-tls1_2", "-tls1_3"] {
            for mutual in [false, true] {
                let name = format!(
                    "streamsocket -> openssl s_server {version}{}",
                    if mutual { " -Verify" } else { "" }
                );
                let outcome = client_against_s_server(&bin_dir, &pem_root, version, mutual);
                record(&mut results, name, true, outcome);
            }
        }
    }
    if have_pyftpdlib() {
        for (scenario, accept) in [("valid", true), ("expired", false)] {
            let name = format!("streamsocket --starttls ftp -> pyftpdlib {scenario}");
            let outcome = client_against_pyftpdlib(&bin_dir, &pem_root, scenario);
            record(&mut results, name, accept, outcome);
        }
    } else {
        eprintln!(
            "interop: pyftpdlib is missing (pip install pyftpdlib pyopenssl); the real FTP \
             server's cases are skipped"
        );
    }

    for case in server_audit_cases(&present) {
        let name = format!("streamsocket-audit server -> {}", case.name);
        match server_audit(&bin_dir, &pem_root, &case) {
            Ok(Some((pass, detail))) => {
                eprintln!("interop: {} {name}", if pass { "ok  " } else { "FAIL" });
                results.push((name, pass, detail));
            }
            // Not a case: the peer cannot be configured so here (printed, not counted).
            Ok(None) => {}
            Err(e) => {
                eprintln!("interop: FAIL {name}");
                results.push((name, false, format!("{e:#}")));
            }
        }
    }

    results.extend(dovecot::cases(&bin_dir, &pem_root, &work));

    if have("chromium") {
        let pages = [
            (
                "chromium renders report.html",
                report_page::check(&bin_dir, &work),
            ),
            (
                "chromium renders audit.html",
                report_page::check_audit(&bin_dir, &work),
            ),
        ];
        for (name, outcome) in pages {
            let (pass, detail) = match outcome {
                Ok(agreed) => agreed,
                Err(e) => (false, format!("{e:#}")),
            };
            eprintln!(
                "interop: {} {name}: {detail}",
                if pass { "ok  " } else { "FAIL" }
            );
            results.push((name.to_owned(), pass, detail));
        }
    } else {
        eprintln!(
            "interop: chromium is missing (Debian package chromium); the report page checks are skipped"
        );
    }

    let failed: Vec<&(String, bool, String)> = results.iter().filter(|r| !r.1).collect();
    eprintln!(
        "\ninterop: {} cases, {} passed, {} failed",
        results.len(),
        results.len() - failed.len(),
        failed.len()
    );
    for (name, _, detail) in &failed {
        eprintln!("FAIL {name}: {detail}");
    }
    if !failed.is_empty() {
        bail!("{} interop case(s) failed", failed.len());
    }
    Ok(())
}

/// Records a case: `outcome` is whether the peer accepted, with its output for the log.
fn record(
    results: &mut Vec<(String, bool, String)>,
    name: String,
    accept: bool,
    outcome: anyhow::Result<(bool, String)>,
) {
    let (pass, detail) = match outcome {
        Ok((accepted, output)) => (
            accepted == accept,
            format!(
                "{} (expected {})",
                if accepted { "accepted" } else { "refused" },
                if accept { "accept" } else { "refuse" }
            ) + &last_lines(&output),
        ),
        Err(e) => (false, format!("{e:#}")),
    };
    eprintln!("interop: {} {name}", if pass { "ok  " } else { "FAIL" });
    results.push((name, pass, detail));
}

fn last_lines(output: &str) -> String {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = &lines[lines.len().saturating_sub(3)..];
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last output: {}", tail.join(" | "))
    }
}

/// A running `mockserver serve` process.
struct MockServer {
    child: Child,
    port: u16,
    ca: PathBuf,
}

impl MockServer {
    fn start(bin_dir: &Path, work: &Path, dialect: &str, scenario: &str) -> anyhow::Result<Self> {
        let ca = work.join(format!("ca-{dialect}-{scenario}.pem"));
        let mut child = Command::new(bin_dir.join("mockserver"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--dialect",
                dialect,
                "--scenario",
                scenario,
            ])
            .arg("--ca-out")
            .arg(&ca)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .current_dir(project_root())
            .spawn()
            .context("cannot start the mockserver binary")?;
        let stdout = child.stdout.take().context("no stdout from mockserver")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let port = line
            .trim()
            .strip_prefix("listening on ")
            .and_then(|addr| addr.rsplit(':').next())
            .and_then(|p| p.parse().ok())
            .with_context(|| {
                format!("mockserver printed {line:?} instead of `listening on IP:PORT`")
            })?;
        Ok(Self { child, port, ca })
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` with `input` on stdin, bounded by `PEER_TIMEOUT`; returns (exit success, output).
fn run_peer(cmd: &mut Command, input: &[u8]) -> anyhow::Result<(bool, String)> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .current_dir(project_root())
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let mut stdout = child.stdout.take().context("no stdout")?;
    let mut stderr = child.stderr.take().context("no stderr")?;
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > PEER_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            bail!(
                "{:?} did not finish within {PEER_TIMEOUT:?}",
                cmd.get_program()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let output = out.join().unwrap_or_default() + &err.join().unwrap_or_default();
    Ok((status.success(), output))
}

/// What openssl's stdin holds for `-starttls mysql`: inside TLS, a HandshakeResponse41 at
/// sequence 2 (user "u", an empty auth response), then COM_QUIT at sequence 0.
const MYSQL_LOGIN_AND_QUIT: &[u8] = b"\x23\x00\x00\x02\x85\xae\x7f\x00\x00\x00\x00\x01\x21\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\
    u\x00\x00\x01\x00\x00\x00\x01";

fn openssl_client(server: &MockServer, dialect: &str) -> anyhow::Result<(bool, String)> {
    let quit = goodbye(dialect);
    run_peer(
        Command::new("openssl")
            .args(["s_client", "-starttls", dialect, "-connect"])
            .arg(format!("127.0.0.1:{}", server.port))
            .args([
                "-servername",
                "localhost",
                "-verify_hostname",
                "localhost",
                "-verify_return_error",
                "-brief",
                "-CAfile",
            ])
            .arg(&server.ca),
        quit,
    )
}

fn curl(server: &MockServer, dialect: &str, work: &Path) -> anyhow::Result<(bool, String)> {
    let mut cmd = Command::new("curl");
    cmd.args([
        "--silent",
        "--show-error",
        "--ssl-reqd",
        "--max-time",
        "15",
        "--cacert",
    ])
    .arg(&server.ca);
    let url = format!("{dialect}://localhost:{}/", server.port);
    match dialect {
        "smtp" => {
            let mail = work.join("mail.txt");
            std::fs::write(
                &mail,
                "From: a@localhost\r\nTo: b@localhost\r\nSubject: interop\r\n\r\nhello\r\n",
            )?;
            cmd.args([
                "--mail-from",
                "a@localhost",
                "--mail-rcpt",
                "b@localhost",
                "--upload-file",
            ])
            .arg(mail);
        }
        "imap" => {
            cmd.args(["--user", "user:pass", "--request", "NOOP"]);
        }
        // AUTH TLS, PBSZ, PROT, USER/PASS and PWD inside TLS; --head transfers nothing, since
        // the mock server opens no data connection.
        "ftp" => {
            cmd.args(["--user", "user:pass", "--head"]);
        }
        _ => {
            // LIST of the (empty) mailbox, after USER/PASS inside TLS.
            cmd.args(["--user", "user:pass"]);
        }
    }
    cmd.arg(url);
    run_peer(&mut cmd, b"")
}

/// What a peer writes inside TLS to end the session.
fn goodbye(dialect: &str) -> &'static [u8] {
    match dialect {
        "imap" => b"Q1 LOGOUT\r\n",
        // PostgreSQL's Terminate: type X, Int32 length 4.
        "postgres" => b"X\x00\x00\x00\x04",
        "mysql" => MYSQL_LOGIN_AND_QUIT,
        _ => b"QUIT\r\n",
    }
}

fn gnutls(server: &MockServer, dialect: &str) -> anyhow::Result<(bool, String)> {
    let quit = goodbye(dialect);
    run_peer(
        Command::new("gnutls-cli")
            .arg(format!("--starttls-proto={dialect}"))
            .arg("--x509cafile")
            .arg(&server.ca)
            .args(["--port", &server.port.to_string(), "localhost"]),
        quit,
    )
}

/// A whole session with Python's standard library: STARTTLS with certificate and host name
/// checks (`ssl.create_default_context`), the capabilities again inside TLS, a log-in or a
/// mail, and a clean end. Exit status 0 only if all of it worked.
const PYTHON_SESSION: &str = r#"
import ftplib, imaplib, poplib, smtplib, ssl, sys, warnings
dialect, port, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl.create_default_context(cafile=ca)
def refused(kind, value, trace):
    if kind is ssl.SSLCertVerificationError:
        print("CERTIFICATE REFUSED:", value)
        sys.exit(3)
    sys.__excepthook__(kind, value, trace)
sys.excepthook = refused
if dialect in ("smtp", "lmtp"):
    # smtplib's LMTP is its SMTP with LHLO for EHLO.
    kind = smtplib.SMTP if dialect == "smtp" else smtplib.LMTP
    s = kind("localhost", port, local_hostname="client.example.org", timeout=10)
    s.starttls(context=context)
    s.ehlo()
    assert not s.has_extn("starttls"), "STARTTLS offered again inside TLS"
    s.sendmail("a@example.org", ["b@example.org"], "Subject: interop\r\n\r\nhello\r\n")
    s.quit()
elif dialect == "imap":
    m = imaplib.IMAP4("localhost", port, timeout=10)
    m.starttls(ssl_context=context)
    assert "STARTTLS" not in m.capabilities, m.capabilities
    m.login("user", "pass")
    m.select("INBOX")
    m.logout()
elif dialect == "ftp":
    # FTP_TLS.auth sends AUTH TLS and wraps the socket for `host`; FEAT is asked again here.
    f = ftplib.FTP_TLS(context=context, timeout=10)
    f.connect("localhost", port)
    f.auth()
    feat = f.sendcmd("FEAT")
    assert "AUTH TLS" not in feat, "AUTH TLS offered again inside TLS: " + feat
    f.login("user", "pass")
    f.prot_p()
    f.quit()
elif dialect == "nntp":
    # nntplib is deprecated (and gone in Python 3.13): without it the case fails, not passes.
    warnings.simplefilter("ignore", DeprecationWarning)
    import nntplib
    n = nntplib.NNTP("localhost", port, timeout=10)
    assert "STARTTLS" in n.getcapabilities(), "STARTTLS not offered"
    n.starttls(context=context)
    assert "STARTTLS" not in n.getcapabilities(), "STARTTLS offered again inside TLS"
    n.login("user", "pass")
    n.quit()
else:
    p = poplib.POP3("localhost", port, timeout=10)
    p.stls(context=context)
    p.user("user")
    p.pass_("pass")
    p.stat()
    p.quit()
print(dialect, "session complete")
"#;

fn python(server: &MockServer, dialect: &str) -> anyhow::Result<(bool, String)> {
    let (accepted, output) = run_peer(
        Command::new("python3")
            .args(["-c", PYTHON_SESSION, dialect, &server.port.to_string()])
            .arg(&server.ca),
        b"",
    )?;
    // A refusal counts only when it is the certificate check that refused: a script or
    // protocol error must not pass for a correct refusal.
    if !accepted && !output.contains("CERTIFICATE REFUSED") {
        bail!(
            "python3 failed for another reason than the certificate:{}",
            last_lines(&output)
        );
    }
    Ok((accepted, output))
}

/// The project's client CLI against `openssl s_server` with certificates from testpki.
fn client_against_s_server(
    bin_dir: &Path,
    pem_root: &Path,
    version: &str,
    mutual: bool,
) -> anyhow::Result<(bool, String)> {
    let dir = pem_root.join("ecdsa-p256");
    let port = free_port()?;
    let mut server = Command::new("openssl");
    server
        .args(["s_server", version, "-quiet", "-accept"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-cert")
        .arg(dir.join("valid/chain.pem"))
        .arg("-key")
        .arg(dir.join("valid/key.pem"))
        // `-cert` loads only the first certificate of the file; the intermediate goes here.
        .arg("-cert_chain")
        .arg(dir.join("valid/chain.pem"));
    if mutual {
        server
            .args(["-Verify", "3", "-verify_return_error", "-CAfile"])
            .arg(dir.join("valid/ca.pem"));
    }
    let mut server = server
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .current_dir(project_root())
        .spawn()
        .context("cannot start openssl s_server")?;
    // Readiness: poll the port (bounded), not a fixed sleep. s_server serves connections one
    // after another, so the probe costs nothing but a failed handshake it shrugs off.
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) || server.try_wait()?.is_some() {
            let _ = server.kill();
            let _ = server.wait();
            bail!("openssl s_server did not listen on port {port}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let level = if version == "-tls1_2" {
        "Tls12"
    } else {
        "Tls13"
    };
    let mut client = Command::new(bin_dir.join("streamsocket"));
    client
        .args([
            "connect",
            "localhost",
            &port.to_string(),
            "--level",
            level,
            "--json",
            "--ca",
        ])
        .arg(dir.join("valid/ca.pem"));
    if mutual {
        client
            .arg("--client-cert")
            .arg(dir.join("client-trusted/client-chain.pem"))
            .arg("--client-key")
            .arg(dir.join("client-trusted/client-key.pem"));
    }
    let result = run_peer(&mut client, b"");
    let _ = server.kill();
    let _ = server.wait();
    let (ok, output) = result?;
    // Success means the CLI says so and reports the version s_server was limited to.
    let expected = format!("\"protection_level\":\"{level}\"");
    Ok((ok && output.replace(' ', "").contains(&expected), output))
}

/// A TLS server no one here wrote, as the server audit meets it, and the levels it must report.
struct ServerAuditCase {
    name: String,
    /// The peer's program and arguments; `{port}`, `{chain}`, `{key}` are substituted.
    command: Vec<String>,
    /// Whether the program prints `port N` itself (the Python fixture binds port 0).
    prints_port: bool,
    accepted: Vec<&'static str>,
    refused: Vec<&'static str>,
    /// Whether the peer may fail to start with these options (an openssl built without them):
    /// then the case is skipped with the reason, not failed.
    may_refuse_options: bool,
}

/// The server audit's cases whose peers are installed.
fn server_audit_cases(present: &[&str]) -> Vec<ServerAuditCase> {
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let s_server = |flags: &[&str]| {
        let mut command = args(&[
            "openssl",
            "s_server",
            "-quiet",
            "-accept",
            "127.0.0.1:{port}",
            "-cert",
            "{chain}",
            "-cert_chain",
            "{chain}",
            "-key",
            "{key}",
        ]);
        command.extend(args(flags));
        command
    };
    let mut cases = Vec::new();
    if present.contains(&"openssl") {
        cases.push(ServerAuditCase {
            name: "openssl s_server -tls1_2".into(),
            command: s_server(&["-tls1_2"]),
            prints_port: false,
            accepted: vec!["Tls12"],
            refused: vec!["Tls13", "Tls11", "Tls10", "Ssl3AllowWeakEncryption"],
            may_refuse_options: false,
        });
        cases.push(ServerAuditCase {
            name: "openssl s_server -tls1_3".into(),
            command: s_server(&["-tls1_3"]),
            prints_port: false,
            accepted: vec!["Tls13"],
            refused: vec!["Tls12", "Tls11", "Tls10", "Ssl3AllowWeakEncryption"],
            may_refuse_options: false,
        });
        for (flag, accepted, refused) in
            [("-tls1", "Tls10", "Tls11"), ("-tls1_1", "Tls11", "Tls10")]
        {
            cases.push(ServerAuditCase {
                name: format!("openssl s_server {flag} -cipher DEFAULT:@SECLEVEL=0"),
                command: s_server(&[flag, "-cipher", "DEFAULT:@SECLEVEL=0"]),
                prints_port: false,
                accepted: vec![accepted],
                refused: vec![refused, "Tls12", "Tls13"],
                may_refuse_options: true,
            });
        }
    }
    if present.contains(&"python3") {
        let script = project_root().join("crates/audit/tests/fixtures/tls_server.py");
        cases.push(ServerAuditCase {
            name: "python3 ssl server --tls 1.2".into(),
            command: vec![
                "python3".into(),
                script.display().to_string(),
                "{chain}".into(),
                "{key}".into(),
                "--tls".into(),
                "1.2".into(),
            ],
            prints_port: true,
            accepted: vec!["Tls12"],
            refused: vec!["Tls13", "Tls11", "Tls10"],
            may_refuse_options: false,
        });
    }
    if present.contains(&"gnutls-serv") {
        // gnutls-serv has no option to bind one address: it listens on every interface of an
        // ephemeral port while the case runs; the audit connects to loopback only.
        cases.push(ServerAuditCase {
            name: "gnutls-serv --priority NORMAL:-VERS-ALL:+VERS-TLS1.2".into(),
            command: args(&[
                "gnutls-serv",
                "--echo",
                "--port",
                "{port}",
                "--priority",
                "NORMAL:-VERS-ALL:+VERS-TLS1.2",
                "--x509certfile",
                "{chain}",
                "--x509keyfile",
                "{key}",
            ]),
            prints_port: false,
            accepted: vec!["Tls12"],
            refused: vec!["Tls13", "Tls11", "Tls10"],
            may_refuse_options: false,
        });
    }
    cases
}

/// Starts the case's peer, audits it with `streamsocket-audit server --json` and compares the
/// level table with what the peer was configured with. `Ok(None)`: skipped, reason printed.
fn server_audit(
    bin_dir: &Path,
    pem_root: &Path,
    case: &ServerAuditCase,
) -> anyhow::Result<Option<(bool, String)>> {
    let dir = pem_root.join("ecdsa-p256/valid");
    let port = free_port()?;
    let argv: Vec<String> = case
        .command
        .iter()
        .map(|arg| {
            arg.replace("{port}", &port.to_string())
                .replace("{chain}", &dir.join("chain.pem").display().to_string())
                .replace("{key}", &dir.join("key.pem").display().to_string())
        })
        .collect();
    let (program, rest) = argv.split_first().context("an empty peer command")?;
    let mut peer = Command::new(program)
        .args(rest)
        // A pipe that stays open: s_server ends a session at its stdin's EOF, the Python
        // fixture stops at it.
        .stdin(Stdio::piped())
        .stdout(if case.prints_port {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::null())
        .current_dir(project_root())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let port = if case.prints_port {
        let stdout = peer.stdout.take().context("no stdout from the peer")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        match line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
        {
            Some(port) => port,
            None => {
                let _ = peer.kill();
                let _ = peer.wait();
                bail!("{program} printed {line:?} instead of `port N`");
            }
        }
    } else {
        port
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let exited = peer.try_wait()?.is_some();
        if exited && case.may_refuse_options {
            eprintln!(
                "interop: skip streamsocket-audit server -> {}: this {program} does not start                  with these options",
                case.name
            );
            return Ok(None);
        }
        if exited || started.elapsed() > Duration::from_secs(10) {
            let _ = peer.kill();
            let _ = peer.wait();
            bail!("{program} did not listen on port {port}");
        }
        thread::sleep(Duration::from_millis(20));
    }
    let result = run_peer(
        Command::new(bin_dir.join("streamsocket-audit"))
            .args(["server", "127.0.0.1", &port.to_string()])
            .args([
                "--starttls",
                "implicit",
                "--name",
                "localhost",
                "--timeout",
                "5",
            ])
            .args(["--json", "--ca"])
            .arg(dir.join("ca.pem")),
        b"",
    );
    let _ = peer.kill();
    let _ = peer.wait();
    let (_, output) = result?;
    // With --json stdout is one document; stderr (appended by run_peer) holds only logs.
    let document = output
        .split_once("\n}\n")
        .map_or(output.as_str(), |(head, _)| head);
    let json: serde_json::Value = serde_json::from_str(&format!("{document}\n}}"))
        .with_context(|| format!("the audit printed no JSON document:{}", last_lines(&output)))?;
    let mut wrong = Vec::new();
    for (levels, want) in [(&case.accepted, "accepted"), (&case.refused, "refused")] {
        for level in levels {
            let got = level_status(&json, level);
            if got != want {
                wrong.push(format!("{level} {got}, expected {want}"));
            }
        }
    }
    let detail = if wrong.is_empty() {
        format!(
            "accepted {}; refused {}",
            case.accepted.join(", "),
            case.refused.join(", ")
        )
    } else {
        wrong.join("; ")
    };
    Ok(Some((wrong.is_empty(), detail)))
}

/// The status a server audit's JSON report gives `level` (`accepted`, `refused`, ...), or
/// `missing`.
fn level_status(report: &serde_json::Value, level: &str) -> String {
    report["levels"]
        .as_array()
        .and_then(|rows| rows.iter().find(|row| row["level"] == level))
        .and_then(|row| row["status"].as_str())
        .unwrap_or("missing")
        .to_owned()
}

/// Whether Python has pyftpdlib and the pyOpenSSL its TLS handler needs.
fn have_pyftpdlib() -> bool {
    Command::new("python3")
        .args(["-c", "import pyftpdlib, OpenSSL"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// The project's client CLI (`--starttls ftp`) against a real FTP server, pyftpdlib's
/// `TLS_FTPHandler` (`fixtures/peers/pyftpdlib_server.py`) presenting `scenario`'s chain;
/// accepted means the CLI succeeded with a negotiated TLS level.
fn client_against_pyftpdlib(
    bin_dir: &Path,
    pem_root: &Path,
    scenario: &str,
) -> anyhow::Result<(bool, String)> {
    let dir = pem_root.join("ecdsa-p256");
    let mut server = Command::new("python3")
        .arg(project_root().join("fixtures/peers/pyftpdlib_server.py"))
        .arg(dir.join(scenario).join("chain.pem"))
        .arg(dir.join(scenario).join("key.pem"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .current_dir(project_root())
        .spawn()
        .context("cannot start the pyftpdlib server")?;
    let mut line = String::new();
    if let Some(stdout) = server.stdout.take() {
        BufReader::new(stdout).read_line(&mut line)?;
    }
    let Some(port) = line
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse::<u16>().ok())
    else {
        let _ = server.kill();
        let _ = server.wait();
        bail!("pyftpdlib printed {line:?} instead of `listening on PORT`");
    };
    let result = run_peer(
        Command::new(bin_dir.join("streamsocket"))
            .args([
                "connect",
                "localhost",
                &port.to_string(),
                "--level",
                "Ssl",
                "--starttls",
                "ftp",
                "--json",
                "--ca",
            ])
            .arg(dir.join("valid/ca.pem")),
        b"",
    );
    let _ = server.kill();
    let _ = server.wait();
    let (ok, output) = result?;
    // A refusal counts only when the certificate refused, not a server that never spoke.
    if !ok && !output.contains("Expired") {
        bail!(
            "the client failed for another reason than the certificate:{}",
            last_lines(&output)
        );
    }
    let compact = output.replace(' ', "");
    let negotiated = ["Tls12", "Tls13"]
        .iter()
        .any(|level| compact.contains(&format!("\"protection_level\":\"{level}\"")));
    Ok((ok && negotiated, output))
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| project_root().join("target"), PathBuf::from)
}
