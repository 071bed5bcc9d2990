//! The `streamsocket` command-line tool, run as a process against the mock server on loopback:
//! its JSON and table reports, every STARTTLS dialect, `--send`, the certificate and level
//! options, failures with their error names and exit statuses, and clap's refusals.

use mockserver::VersionSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use mockserver::config::{Behaviour, ClientAuth, MockConfig};
use mockserver::stats::Phase;
use mockserver::testing::{self, RunningServer};
use serde_json::Value;
use streamsocket::Dialect;
use testpki::{KeyKind, Pki, Scenario};

/// Longest any one run of the tool may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// One finished run of the tool.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    /// The one JSON object on stdout (the whole of stdout must be that object).
    pub(crate) fn json(&self) -> Value {
        let mut objects = serde_json::Deserializer::from_str(&self.stdout).into_iter::<Value>();
        let first = match objects.next() {
            Some(Ok(value)) => value,
            other => panic!("stdout is not JSON ({other:?}): {self:?}"),
        };
        assert!(
            objects.next().is_none(),
            "more than one JSON value: {self:?}"
        );
        assert!(first.is_object(), "not an object: {self:?}");
        first
    }
}

/// Runs the tool with `args` (blocking; call it through `cli`), killing it after `RUN_LIMIT`.
pub(crate) fn run_blocking(args: &[String]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_streamsocket"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the streamsocket binary starts");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for streamsocket") {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("streamsocket {args:?} ran longer than {RUN_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    Run {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Runs the tool off the async runtime, so the in-process mock server keeps serving.
async fn cli(args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || run_blocking(&args))
        .await
        .expect("the runner thread")
}

/// `connect 127.0.0.1 PORT` followed by `rest`, with bounded timeouts.
fn connect_args(server: &RunningServer, rest: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = ["connect", "127.0.0.1"].map(str::to_owned).to_vec();
    args.push(server.addr().port().to_string());
    args.extend(
        ["--connect-timeout", "10", "--handshake-timeout", "10"]
            .iter()
            .chain(rest)
            .map(|s| (*s).to_owned()),
    );
    args
}

/// A temporary directory holding the PEM files of a server identity (`ca.pem`, ...).
struct Pem {
    dir: tempfile::TempDir,
}

impl Pem {
    fn for_server(server: &RunningServer) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        server
            .config()
            .identity
            .write_pem(dir.path())
            .expect("PEM files are written");
        Self { dir }
    }

    fn ca(&self) -> String {
        self.path("ca.pem")
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Writes the trusted (or untrusted) client identity; returns (chain, key) paths.
    fn client(&self, trusted: bool) -> (String, String) {
        let files = Pki::shared(KeyKind::EcdsaP256)
            .client(trusted)
            .expect("testpki issues a client identity")
            .write_pem(self.dir.path())
            .expect("client PEM files are written");
        (display(&files.chain), display(&files.key))
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn mock(dialect: Dialect, scenario: Scenario) -> MockConfig {
    testing::config(dialect, scenario, KeyKind::EcdsaP256)
}

fn assert_success(run: &Run) {
    assert!(run.status.success(), "expected success: {run:#?}");
}

/// A failed run: exit status 1, and with `--json` the error kind's name.
fn assert_failure(run: &Run, error: &str) -> Value {
    assert_eq!(run.status.code(), Some(1), "expected failure 1: {run:#?}");
    let json = run.json();
    assert_eq!(json["error"], error, "{json:#}");
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{json:#}"
    );
    json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_reports_the_negotiated_parameters() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    let pem = Pem::for_server(&server);
    for (level, negotiated, version) in [
        ("Ssl", "Tls13", "TLSv1.3"),
        ("tls12", "Tls12", "TLSv1.2"),
        ("Tls13", "Tls13", "TLSv1.3"),
    ] {
        let run = cli(connect_args(
            &server,
            &["--level", level, "--ca", &pem.ca(), "--json"],
        ))
        .await;
        assert_success(&run);
        assert_eq!(run.stdout.lines().count(), 1, "one line: {run:?}");
        let json = run.json();
        let requested = level.parse::<streamsocket::ProtectionLevel>().unwrap();
        assert_eq!(json["requested_protection_level"], requested.name());
        assert_eq!(json["protection_level"], negotiated, "{json:#}");
        assert_eq!(json["protocol_version"], version);
        let suite = json["cipher_suite"].as_str().expect("a cipher suite");
        let prefix = if negotiated == "Tls13" {
            "TLS13_"
        } else {
            "TLS_ECDHE_"
        };
        assert!(suite.starts_with(prefix), "{suite}");
        assert!(json["key_exchange_group"].is_string(), "{json:#}");
        assert_eq!(json["server_certificate_errors"], serde_json::json!([]));
        assert_eq!(json["server_certificate_error_severity"], "None");
        assert_eq!(json["dialect"], "implicit");
        assert_eq!(
            json["server_name_indication"],
            Value::Null,
            "no SNI for an IP"
        );
        assert!(json.get("error").is_none(), "{json:#}");
        assert!(json.get("received").is_none(), "{json:#}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_names_the_negotiated_level_and_the_certificate() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    let pem = Pem::for_server(&server);
    let mut args = connect_args(&server, &["--level", "Tls12", "--ca", &pem.ca()]);
    args[1] = "localhost".to_owned();
    let run = cli(args).await;
    assert_success(&run);
    assert!(
        run.stdout.contains("protection level     Tls12"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("SNI sent             localhost"));
    assert!(run.stdout.contains("certificate errors   none"));
    assert!(run.stdout.contains("certificate 0"));
    assert!(run.stdout.contains("CN=mock.streamsocket.test"));
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_starttls_dialect_upgrades() {
    for (dialect, name) in [
        (Dialect::Smtp, "smtp"),
        (Dialect::Lmtp, "lmtp"),
        (Dialect::Imap, "imap"),
        (Dialect::Pop3, "pop3"),
        (Dialect::Nntp, "nntp"),
        (Dialect::Sieve, "sieve"),
        (Dialect::Postgres, "postgres"),
        (Dialect::Ftp, "ftp"),
        (Dialect::Irc, "irc"),
        (Dialect::Mysql, "mysql"),
        (Dialect::Framed, "framed"),
    ] {
        let server = testing::spawn(mock(dialect, Scenario::Valid)).await;
        let pem = Pem::for_server(&server);
        let run = cli(connect_args(
            &server,
            &[
                "--level",
                "Ssl",
                "--starttls",
                name,
                "--ca",
                &pem.ca(),
                "--json",
            ],
        ))
        .await;
        assert_success(&run);
        let json = run.json();
        assert_eq!(json["dialect"], name, "{json:#}");
        assert_eq!(json["protection_level"], "Tls13");
        assert_eq!(json["requested_protection_level"], "Ssl");
        let capabilities = json["capabilities"].as_array().expect("capabilities");
        if dialect.is_line_based() {
            assert!(json["bytes_received_before_upgrade"].as_u64() > Some(0));
            assert!(!capabilities.is_empty(), "{name}: fresh capabilities");
        } else if dialect == Dialect::Postgres {
            // The 8-byte SSLRequest out, the one-byte `S` back; nothing asked inside TLS.
            assert_eq!(json["bytes_sent_before_upgrade"], 8, "{json:#}");
            assert_eq!(json["bytes_received_before_upgrade"], 1, "{json:#}");
        } else if dialect == Dialect::Mysql {
            // The SSLRequest: a 4-byte header and 32 bytes; no capabilities inside TLS.
            assert_eq!(json["bytes_sent_before_upgrade"], 36, "{json:#}");
            assert!(capabilities.is_empty(), "{json:#}");
        } else {
            assert_eq!(
                json["bytes_sent_before_upgrade"], 0,
                "framed: nothing in plaintext"
            );
        }
        server.wait_closed(1).await;
        assert_eq!(server.snapshot().handshakes_ok, 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_writes_a_line_and_prints_the_reply() {
    let server = testing::spawn(mock(Dialect::Smtp, Scenario::Valid)).await;
    let pem = Pem::for_server(&server);
    let run = cli(connect_args(
        &server,
        &[
            "--level",
            "Tls12",
            "--starttls",
            "smtp",
            "--ca",
            &pem.ca(),
            "--send",
            "NOOP",
            "--read-timeout",
            "1",
            "--json",
        ],
    ))
    .await;
    assert_success(&run);
    let json = run.json();
    assert_eq!(json["protection_level"], "Tls12");
    let received = json["received"].as_str().expect("received text");
    assert!(received.starts_with("250"), "{received:?}");
    assert!(received.ends_with("\r\n"), "{received:?}");
    // The SMTP server keeps the session open, so reading ends at the deadline.
    assert_eq!(json["read_end"], "timeout");
    server.wait_closed(1).await;
    let inside = server.transcripts()[0].bytes(Phase::Tls);
    assert!(
        inside.windows(6).any(|w| w == b"NOOP\r\n"),
        "the line was sent inside TLS, CRLF-terminated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_writes_a_frame_in_framed_mode_and_the_hello_goes_first_in_plaintext() {
    let server = testing::spawn(mock(Dialect::Framed, Scenario::Valid)).await;
    let pem = Pem::for_server(&server);
    let run = cli(connect_args(
        &server,
        &[
            "--level",
            "Tls13",
            "--starttls",
            "framed",
            "--hello",
            "Hello World ☺ ",
            "--ca",
            &pem.ca(),
            "--send",
            "now encrypted",
            "--read-timeout",
            "1",
            "--json",
        ],
    ))
    .await;
    assert_success(&run);
    let json = run.json();
    assert_eq!(
        json["received_frames"],
        serde_json::json!(["now encrypted"])
    );
    assert_eq!(json["received"], "now encrypted");
    assert_eq!(json["bytes_sent_before_upgrade"], 4 + 16, "the hello frame");
    server.wait_closed(1).await;
    let transcript = &server.transcripts()[0];
    let plain = transcript.bytes(Phase::Plaintext);
    assert!(plain.starts_with(&[0, 0, 0, 16]), "{plain:?}");
    assert!(
        !plain.windows(13).any(|w| w == b"now encrypted"),
        "--send never goes out in plaintext"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_in_the_table_prints_the_reply() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    let pem = Pem::for_server(&server);
    let run = cli(connect_args(
        &server,
        &[
            "--level",
            "Ssl",
            "--ca",
            &pem.ca(),
            "--send",
            "ping",
            "--send-format",
            "frame",
            "--read-timeout",
            "1",
        ],
    ))
    .await;
    assert_success(&run);
    assert!(
        run.stdout.contains("received             8 bytes"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.trim_end().ends_with("ping"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ignore_lets_an_expired_certificate_pass_and_still_reports_it() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Expired)).await;
    let pem = Pem::for_server(&server);
    let base = ["--level", "Ssl", "--ca", &pem.ca(), "--json"];

    let refused = cli(connect_args(&server, &base)).await;
    let json = assert_failure(&refused, "CertificateExpired");
    assert_eq!(
        json["server_certificate_errors"],
        serde_json::json!(["Expired"])
    );
    assert_eq!(json["protection_level"], "PlainSocket");

    // Another class listed does not excuse this one.
    let other = cli(connect_args(
        &server,
        &[&base[..], &["--ignore", "invalidname,untrusted"]].concat(),
    ))
    .await;
    assert_failure(&other, "CertificateExpired");

    let ignored = cli(connect_args(
        &server,
        &[&base[..], &["--ignore", "EXPIRED,invalidname"]].concat(),
    ))
    .await;
    assert_success(&ignored);
    let json = ignored.json();
    assert_eq!(json["protection_level"], "Tls13");
    assert_eq!(
        json["server_certificate_errors"],
        serde_json::json!(["Expired"])
    );
    assert_eq!(json["server_certificate_error_severity"], "Ignorable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_host_certificate_fails_with_its_error_name() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::WrongHost)).await;
    let pem = Pem::for_server(&server);
    let run = cli(connect_args(
        &server,
        &["--level", "Ssl", "--ca", &pem.ca(), "--json"],
    ))
    .await;
    let json = assert_failure(&run, "CertificateCommonNameIsIncorrect");
    assert_eq!(
        json["server_certificate_errors"],
        serde_json::json!(["InvalidName"])
    );
    assert_eq!(json["server_certificate_error_severity"], "Ignorable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_ca_the_test_root_is_untrusted() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    let run = cli(connect_args(&server, &["--level", "Ssl", "--json"])).await;
    let json = assert_failure(&run, "CertificateUntrustedRoot");
    // Mozilla's roots know neither the test root nor the intermediate: webpki cannot tell an
    // untrusted root from a missing link, and the library reports what it can tell.
    let errors = json["server_certificate_errors"]
        .as_array()
        .expect("a list");
    assert!(
        errors
            .iter()
            .any(|e| e == "Untrusted" || e == "IncompleteChain"),
        "{json:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_level_removes_versions_below_it() {
    let mut config = mock(Dialect::Implicit, Scenario::Valid);
    config.tls.versions = VersionSet::TLS12_ONLY;
    let server = testing::spawn(config).await;
    let pem = Pem::for_server(&server);

    let allowed = cli(connect_args(
        &server,
        &[
            "--level",
            "Ssl",
            "--min-level",
            "Tls12",
            "--ca",
            &pem.ca(),
            "--json",
        ],
    ))
    .await;
    assert_success(&allowed);
    assert_eq!(allowed.json()["protection_level"], "Tls12");

    let raised = cli(connect_args(
        &server,
        &[
            "--level",
            "Ssl",
            "--min-level",
            "tls1.3",
            "--ca",
            &pem.ca(),
            "--json",
        ],
    ))
    .await;
    let json = assert_failure(&raised, "ProtocolVersionMismatch");
    assert_eq!(json["protection_level"], "PlainSocket");

    // A minimum above the requested level leaves nothing to offer: refused before connecting.
    let before = server.snapshot().connections;
    let invalid = cli(connect_args(
        &server,
        &[
            "--level",
            "Tls12",
            "--min-level",
            "Tls13",
            "--ca",
            &pem.ca(),
            "--json",
        ],
    ))
    .await;
    assert_failure(&invalid, "InvalidArgument");
    assert_eq!(
        server.snapshot().connections,
        before,
        "no connection was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn min_level_governs_the_upgrade_not_the_plaintext_connect() {
    let mut config = mock(Dialect::Smtp, Scenario::Valid);
    config.tls.versions = VersionSet::TLS12_ONLY;
    let server = testing::spawn(config).await;
    let pem = Pem::for_server(&server);
    let ca = pem.ca();

    // A plaintext connect is the first half of a STARTTLS connection: the minimum lets it be.
    let plain = cli(connect_args(
        &server,
        &["--level", "PlainSocket", "--min-level", "Tls13", "--json"],
    ))
    .await;
    assert_success(&plain);
    assert_eq!(plain.json()["protection_level"], "PlainSocket");

    // The upgrade that follows obeys it: TLS 1.3 only, which this server does not speak.
    let upgrade = cli(connect_args(
        &server,
        &[
            "--level",
            "Ssl",
            "--min-level",
            "Tls13",
            "--starttls",
            "smtp",
            "--ca",
            &ca,
            "--json",
        ],
    ))
    .await;
    assert_failure(&upgrade, "ProtocolVersionMismatch");

    // Upgrading to PlainSocket is refused whatever the minimum, before anything is connected.
    let before = server.snapshot().connections;
    let invalid = cli(connect_args(
        &server,
        &[
            "--level",
            "PlainSocket",
            "--min-level",
            "Tls13",
            "--starttls",
            "smtp",
            "--json",
        ],
    ))
    .await;
    let json = assert_failure(&invalid, "InvalidArgument");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("needs a TLS level"),
        "{json:#}"
    );
    assert_eq!(
        server.snapshot().connections,
        before,
        "no connection was made"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_levels_fail_before_any_connection() {
    let server = testing::spawn(mock(Dialect::Smtp, Scenario::Valid)).await;
    let pem = Pem::for_server(&server);
    let ca = pem.ca();
    for (level, starttls) in [
        ("Tls10", false),
        ("Tls11", true),
        ("Ssl3AllowWeakEncryption", false),
        ("tls1.0", true),
    ] {
        let mut rest = vec!["--level", level, "--ca", &ca, "--json"];
        if starttls {
            rest.extend(["--starttls", "smtp"]);
        }
        let run = cli(connect_args(&server, &rest)).await;
        let json = assert_failure(&run, "UnsupportedProtectionLevel");
        assert_eq!(json["remote_address"], Value::Null, "{level}");
        assert_eq!(json["protection_level"], "PlainSocket");
    }
    for level in ["BluetoothEncryptionWithAuthentication", "PlainSocket"] {
        let run = cli(connect_args(
            &server,
            &["--level", level, "--starttls", "smtp", "--json"],
        ))
        .await;
        assert_failure(&run, "InvalidArgument");
    }
    assert_eq!(server.snapshot().connections, 0, "nothing was connected");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_or_missing_starttls_fails_with_its_name() {
    for (behaviour, error) in [
        (
            Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
            "StartTlsRefused",
        ),
        (Behaviour::StartTlsNotAdvertised, "StartTlsNotOffered"),
    ] {
        for (dialect, name) in [(Dialect::Smtp, "smtp"), (Dialect::Imap, "imap")] {
            let server = testing::spawn(MockConfig {
                behaviour,
                ..mock(dialect, Scenario::Valid)
            })
            .await;
            let pem = Pem::for_server(&server);
            let run = cli(connect_args(
                &server,
                &[
                    "--level",
                    "Ssl",
                    "--starttls",
                    name,
                    "--ca",
                    &pem.ca(),
                    "--send",
                    "NOOP",
                    "--json",
                ],
            ))
            .await;
            let json = assert_failure(&run, error);
            assert_eq!(json["protection_level"], "PlainSocket");
            assert!(json.get("received").is_none(), "nothing was sent: {json:#}");
            server.wait_closed(1).await;
            assert_eq!(server.snapshot().handshakes_ok, 0);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_is_connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let run = cli([
        "connect",
        "127.0.0.1",
        &port,
        "--level",
        "Ssl",
        "--connect-timeout",
        "10",
        "--json",
    ]
    .map(str::to_owned)
    .to_vec())
    .await;
    assert_failure(&run, "ConnectionRefused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_the_client_certificate() {
    for versions in [VersionSet::TLS12_ONLY, VersionSet::TLS13_ONLY] {
        let mut config = mock(Dialect::Implicit, Scenario::Valid);
        config.tls.client_auth = ClientAuth::Required;
        config.tls.versions = versions;
        let server = testing::spawn(config).await;
        let pem = Pem::for_server(&server);
        let (chain, key) = pem.client(true);

        let with = cli(connect_args(
            &server,
            &[
                "--level",
                "Ssl",
                "--ca",
                &pem.ca(),
                "--client-cert",
                &chain,
                "--client-key",
                &key,
                "--json",
            ],
        ))
        .await;
        assert_success(&with);

        // In TLS 1.3 the server rejects the missing certificate after the client's handshake
        // is done: the tool's close (close_notify, then waiting for the server) sees the alert.
        let without = cli(connect_args(
            &server,
            &["--level", "Ssl", "--ca", &pem.ca(), "--json"],
        ))
        .await;
        assert_failure(&without, "HandshakeFailed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_ca_file_is_an_invalid_argument() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    let missing: PathBuf = tempfile::tempdir().unwrap().path().join("missing.pem");
    let run = cli(connect_args(
        &server,
        &["--level", "Ssl", "--ca", &display(&missing), "--json"],
    ))
    .await;
    let json = assert_failure(&run, "InvalidArgument");
    assert!(
        json["message"].as_str().unwrap().contains("--ca"),
        "{json:#}"
    );
    assert_eq!(server.snapshot().connections, 0);
}

#[test]
fn bad_option_values_are_usage_errors() {
    let cases: [(&[&str], &str); 9] = [
        (&["--level", "bogus"], "unknown protection level"),
        (&["--level", "Ssl", "--starttls", "xmpp"], "xmpp"),
        (&["--level", "Ssl", "--ignore", "expired,revoked"], "fatal"),
        (&["--level", "Ssl", "--ignore", "nonsense"], "nonsense"),
        (&["--level", "Ssl", "--read-timeout", "0"], "out of range"),
        (&["--level", "Ssl", "--min-level", "tls9"], "tls9"),
        (
            &["--level", "Ssl", "--client-cert", "c.pem"],
            "--client-key",
        ),
        (&["--level", "Ssl", "--hello", "hi"], "--starttls framed"),
        (&[], "--level"),
    ];
    for (rest, needle) in cases {
        let mut args: Vec<String> = ["connect", "127.0.0.1", "9"].map(str::to_owned).to_vec();
        args.extend(rest.iter().map(|s| (*s).to_owned()));
        let run = run_blocking(&args);
        assert_eq!(run.status.code(), Some(2), "{rest:?}: {run:#?}");
        assert!(run.stdout.is_empty(), "{rest:?}: {run:#?}");
        assert!(run.stderr.contains(needle), "{rest:?}: {}", run.stderr);
    }
}

#[test]
fn help_describes_the_command_and_its_choices() {
    let top = run_blocking(&["--help".to_owned()]);
    assert!(top.status.success(), "{top:#?}");
    assert!(top.stdout.contains("connect"), "{}", top.stdout);

    let connect = run_blocking(&["connect".to_owned(), "--help".to_owned()]);
    assert!(connect.status.success(), "{connect:#?}");
    for needle in [
        "--level",
        "--starttls",
        "--ignore",
        "--min-level",
        "--client-cert",
        "--read-timeout",
        "Mozilla",
        "--system-roots",
        "[default: 2]",
    ] {
        assert!(
            connect.stdout.contains(needle),
            "{needle}: {}",
            connect.stdout
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crl_reports_a_revoked_certificate_as_fatal() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Revoked)).await;
    let pem = Pem::for_server(&server);
    let run = cli(connect_args(
        &server,
        &[
            "--level",
            "Ssl",
            "--ca",
            &pem.ca(),
            "--crl",
            &pem.path("crl.pem"),
            "--json",
        ],
    ))
    .await;
    let json = assert_failure(&run, "CertificateRevoked");
    assert_eq!(
        json["server_certificate_errors"],
        serde_json::json!(["Revoked"])
    );
    assert_eq!(json["server_certificate_error_severity"], "Fatal");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alpn_and_sni_options_reach_the_handshake() {
    let mut config = mock(Dialect::Implicit, Scenario::Valid);
    config.tls.alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let server = testing::spawn(config).await;
    let pem = Pem::for_server(&server);
    let port = server.addr().port().to_string();
    let ca = pem.ca();
    let base = [
        "connect",
        "localhost",
        &port,
        "--level",
        "Ssl",
        "--ca",
        &ca,
        "--json",
    ];
    let with_options = |extra: &[&str]| -> Vec<String> {
        base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };

    let run = cli(with_options(&["--alpn", "http/1.1", "--alpn", "h2"])).await;
    assert_success(&run);
    let json = run.json();
    assert_eq!(
        json["alpn_protocol"], "h2",
        "the server's preference: {json:#}"
    );
    assert_eq!(json["server_name_indication"], "localhost");

    let run = cli(with_options(&["--no-sni"])).await;
    assert_success(&run);
    let json = run.json();
    assert_eq!(json["server_name_indication"], Value::Null, "{json:#}");
    assert_eq!(json["alpn_protocol"], Value::Null);

    let run = cli(with_options(&[
        "--cipher-suites",
        "tls13_chacha20_poly1305_sha256",
        "--groups",
        "secp384r1,X25519",
    ]))
    .await;
    assert_success(&run);
    let json = run.json();
    assert_eq!(json["cipher_suite"], "TLS13_CHACHA20_POLY1305_SHA256");
    assert_eq!(json["key_exchange_group"], "secp384r1", "{json:#}");

    // An EHLO name that could smuggle a command is a bad command line.
    let run = cli(with_options(&["--ehlo", "x\r\nRCPT TO:<a@b>"])).await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);

    // An unknown name is a bad command line (exit 2), listing what is supported.
    let run = cli(with_options(&[
        "--cipher-suites",
        "TLS_RSA_WITH_RC4_128_MD5",
    ]))
    .await;
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("TLS13_AES_128_GCM_SHA256"),
        "{}",
        run.stderr
    );
}

/// The wrong port, each way: the tool prints the library's plain-words message as it is, and
/// `--json` keeps the error kind and the message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wrong_port_is_said_plainly() {
    let smtp = testing::spawn(mock(Dialect::Smtp, Scenario::Valid)).await;
    let pem = Pem::for_server(&smtp);
    let run = cli(connect_args(
        &smtp,
        &["--level", "tls13", "--ca", &pem.ca()],
    ))
    .await;
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert!(
        run.stderr.contains("SMTP greeting") && run.stderr.contains("--starttls smtp"),
        "{run:#?}"
    );
    let run = cli(connect_args(
        &smtp,
        &["--level", "tls13", "--ca", &pem.ca(), "--json"],
    ))
    .await;
    let json = assert_failure(&run, "PlaintextInsteadOfTls");
    assert!(
        json["message"].as_str().unwrap().contains("port 465"),
        "{json:#}"
    );

    let implicit = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    let pem = Pem::for_server(&implicit);
    let mut args = connect_args(
        &implicit,
        &[
            "--level",
            "tls13",
            "--starttls",
            "smtp",
            "--ca",
            &pem.ca(),
            "--json",
        ],
    );
    // A short budget: the case is the client giving up on a greeting that never comes.
    let at = args
        .iter()
        .position(|a| a == "--handshake-timeout")
        .unwrap();
    args[at + 1] = "1".to_owned();
    let run = cli(args).await;
    let json = assert_failure(&run, "HandshakeTimedOut");
    assert!(
        json["message"]
            .as_str()
            .unwrap()
            .contains("no smtp greeting came"),
        "{json:#}"
    );
    smtp.shutdown().await;
    implicit.shutdown().await;
}

/// `--version`, `completions bash|zsh|fish` and `man` (the tool's page and a subcommand's).
#[test]
fn version_completions_and_man_pages_are_printed() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_streamsocket"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        run(&["--version"]),
        format!("streamsocket {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (shell, marker) in [
        ("bash", "complete -F _streamsocket"),
        ("zsh", "#compdef streamsocket"),
        ("fish", "complete -c streamsocket"),
    ] {
        let script = run(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("connect") && script.contains("completions"),
            "{shell}"
        );
    }
    let page = run(&["man"]);
    assert!(page.contains(".TH streamsocket 1"), "{page}");
    assert!(page.contains("streamsocket\\-connect(1)"), "{page}");
    let sub = run(&["man", "connect"]);
    assert!(sub.contains(".TH streamsocket-connect 1"), "{sub}");
    assert!(sub.contains("\\-\\-starttls"), "{sub}");
    let out = Command::new(env!("CARGO_BIN_EXE_streamsocket"))
        .args(["man", "nope"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// The pin of the leaf a mock server presents, as `--pin-sha256` takes it.
fn pin_of(server: &RunningServer) -> String {
    let leaf = &server.config().identity.chain[0];
    let pin = streamsocket::SpkiPin::of_certificate(leaf.as_ref()).expect("a leaf");
    format!("sha256/{pin}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_sha256_lets_a_self_signed_server_through_only_with_its_key_for_every_key_type() {
    let other = format!("sha256/{}", streamsocket::SpkiPin::from_bytes([9; 32]));
    for key in KeyKind::ALL {
        let server = testing::spawn(testing::config(
            Dialect::Implicit,
            Scenario::SelfSigned,
            key,
        ))
        .await;
        let pem = Pem::for_server(&server);
        let pin = pin_of(&server);
        let base = [
            "--level",
            "Ssl",
            "--ca",
            &pem.ca(),
            "--json",
            "--ignore",
            "untrusted",
        ];

        let accepted = cli(connect_args(
            &server,
            &[&base[..], &["--pin-sha256", &other, "--pin-sha256", &pin]].concat(),
        ))
        .await;
        assert_success(&accepted);
        let json = accepted.json();
        assert_eq!(
            json["server_certificate_errors"],
            serde_json::json!(["Untrusted"])
        );
        assert_eq!(
            format!(
                "sha256/{}",
                json["server_key_pin"].as_str().unwrap_or_default()
            ),
            pin,
            "{key}"
        );
        let line = json["certificate_error_lines"][0]
            .as_str()
            .unwrap_or_default();
        assert!(
            line.starts_with("Untrusted: chain ends in self-signed leaf"),
            "{key}: {line}"
        );

        let refused = cli(connect_args(
            &server,
            &[&base[..], &["--pin-sha256", &other]].concat(),
        ))
        .await;
        let json = assert_failure(&refused, "CertificatePinMismatch");
        let message = json["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(&pin) && message.contains(&other),
            "{message}"
        );
        assert_eq!(json["pin_mismatch"], true);
        assert_eq!(json["protection_level"], "PlainSocket");

        // A pin is no trust anchor: without --ignore the chain is still untrusted.
        let untrusted = cli(connect_args(
            &server,
            &[
                "--level",
                "Ssl",
                "--ca",
                &pem.ca(),
                "--json",
                "--pin-sha256",
                &pin,
            ],
        ))
        .await;
        assert_failure(&untrusted, "CertificateUntrustedRoot");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_table_prints_one_line_per_error_in_the_words_of_its_context() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Expired)).await;
    let pem = Pem::for_server(&server);
    let run = cli(connect_args(
        &server,
        &["--level", "Ssl", "--ca", &pem.ca()],
    ))
    .await;
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    // testpki's expired leaf: not after 2021-01-01.
    let line = run
        .stdout
        .lines()
        .find(|line| line.starts_with("certificate errors"))
        .unwrap_or_default();
    assert!(
        line.contains("Expired: leaf expired ")
            && line.ends_with(" days ago (not after 2021-01-01T00:00:00Z)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("server key pin       sha256/"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("(Expired: leaf expired ")
            && run.stderr.contains("2021-01-01T00:00:00Z)"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_pin_is_refused_before_connecting() {
    let server = testing::spawn(mock(Dialect::Implicit, Scenario::Valid)).await;
    for (pin, reason) in [
        ("abc", "44 characters"),
        (
            "sha1/47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "44 characters",
        ),
        (
            "47DEQpj8HBSa-_TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "standard base64",
        ),
    ] {
        let run = cli(connect_args(
            &server,
            &["--level", "Ssl", "--pin-sha256", pin],
        ))
        .await;
        assert_eq!(run.status.code(), Some(2), "{pin}: {run:#?}");
        assert!(run.stderr.contains(reason), "{pin}: {}", run.stderr);
    }
    assert_eq!(server.snapshot().connections, 0, "nothing was connected");
}
