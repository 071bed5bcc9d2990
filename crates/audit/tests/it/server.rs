//! `streamsocket-audit server` against the mock server in-process, and against `openssl
//! s_server`: every finding present where the server has it and absent where it does not.

use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use mockserver::{Behaviour, LegacyVersion, MockConfig, testing};
use proto::ProtectionLevel;
use proto::level::VersionSet;
use proto::starttls::{Dialect, InjectionPolicy};
use streamsocket::{ChainValidationResult, TrustAnchors};
use streamsocket_audit::server::judge::InjectionProbe;
use streamsocket_audit::server::{
    FindingKind, LevelStatus, Rules, ServerAudit, ServerAuditConfig, ServerError, Severity,
    audit_server,
};
use testpki::{KeyKind, Pki, Scenario};

/// Every line dialect, each with its own injected command, capability list and refusals.
const LINE_DIALECTS: [Dialect; 8] = [
    Dialect::Ftp,
    Dialect::Irc,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
    Dialect::Sieve,
];

/// The mock server of `dialect` and `behaviour`, whose greeting names no qualified host
/// (`localhost`), so that only the tests of that finding see it.
fn mock(dialect: Dialect, behaviour: Behaviour) -> MockConfig {
    let mut config = testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256);
    config.behaviour = behaviour;
    config.hostname = "localhost".to_owned();
    config
}

fn settings(port: u16, dialect: Dialect, trust: TrustAnchors, rules: Rules) -> ServerAuditConfig {
    ServerAuditConfig {
        host: "127.0.0.1".to_owned(),
        port,
        dialect,
        name: Some(testpki::TEST_HOST.to_owned()),
        trust,
        timeout: Duration::from_secs(5),
        alpn: Vec::new(),
        rules,
    }
}

/// Audits a mock server serving `config`, trusting what a correct client must trust.
async fn audit_with(config: MockConfig, rules: Rules) -> ServerAudit {
    let dialect = config.dialect;
    let trust = TrustAnchors::from_der(config.identity.trust_anchors.clone());
    let server = testing::spawn(config).await;
    let config = settings(server.addr().port(), dialect, trust, rules);
    let audit = audit_server(config)
        .await
        .expect("the mock server is reachable");
    server.shutdown().await;
    audit
}

async fn audit(config: MockConfig) -> ServerAudit {
    audit_with(config, Rules::default()).await
}

/// Audits every config at once (each audit mostly waits: for its injection windows, its
/// timeouts), returning each with its label, in the order given.
async fn audits<L: Send + 'static>(configs: Vec<(L, MockConfig)>) -> Vec<(L, ServerAudit)> {
    let mut set = tokio::task::JoinSet::new();
    for (index, (label, config)) in configs.into_iter().enumerate() {
        set.spawn(async move { (index, label, audit(config).await) });
    }
    let mut done = set.join_all().await;
    done.sort_by_key(|(index, ..)| *index);
    done.into_iter()
        .map(|(_, label, audit)| (label, audit))
        .collect()
}

fn found(audit: &ServerAudit, kind: FindingKind) -> Option<Severity> {
    audit
        .findings
        .iter()
        .find(|f| f.kind == kind)
        .map(|f| f.severity)
}

fn status(audit: &ServerAudit, level: ProtectionLevel) -> LevelStatus {
    let row = audit.levels.iter().find(|row| row.level == level);
    row.map_or(LevelStatus::NotTested, |row| row.status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vulnerable_server_is_found_in_both_injection_variants_in_every_line_dialect() {
    let configs = LINE_DIALECTS.map(|dialect| {
        let mut config = mock(dialect, Behaviour::Honest);
        config.injection_policy = InjectionPolicy::Vulnerable;
        (dialect, config)
    });
    for (dialect, audit) in audits(configs.into()).await {
        let table = audit.table();
        for kind in [
            FindingKind::InjectionSameWrite,
            FindingKind::InjectionLaterWrite,
        ] {
            assert_eq!(
                found(&audit, kind),
                Some(Severity::Fail),
                "{dialect} {kind}: {table}"
            );
        }
        assert_eq!(audit.exit_code(), 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discarding_and_rejecting_servers_are_not_vulnerable() {
    let mut configs = Vec::new();
    for dialect in LINE_DIALECTS {
        for policy in [InjectionPolicy::Discard, InjectionPolicy::Reject] {
            let mut config = mock(dialect, Behaviour::Honest);
            config.injection_policy = policy;
            configs.push(((dialect, policy), config));
        }
    }
    for ((dialect, policy), audit) in audits(configs).await {
        let table = audit.table();
        for kind in [
            FindingKind::InjectionSameWrite,
            FindingKind::InjectionLaterWrite,
        ] {
            assert_eq!(
                found(&audit, kind),
                None,
                "{dialect} {policy:?} {kind}: {table}"
            );
        }
        // A discarding server drops what came with STARTTLS and answers nothing; what came
        // after the go-ahead reaches its TLS layer, which refuses it as a record or passes it
        // by (a rejecting server may refuse the same-write STARTTLS itself: the findings
        // above). Either way both probes ran past the go-ahead.
        if policy == InjectionPolicy::Discard {
            assert_eq!(
                audit.observations.injection_same_write,
                Some(InjectionProbe::NotAnswered),
                "{dialect}: {table}"
            );
            assert!(
                matches!(
                    audit.observations.injection_later_write,
                    Some(InjectionProbe::NotAnswered | InjectionProbe::Refused(_))
                ),
                "{dialect}: {table}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_honest_server_accepts_tls12_and_tls13_only() {
    let audit = audit(mock(Dialect::Smtp, Behaviour::Honest)).await;
    let table = audit.table();
    use LevelStatus::{Accepted, NotApplicable, Refused};
    use ProtectionLevel as L;
    for (level, expected) in [
        (L::PlainSocket, Accepted),
        (L::Ssl, Accepted),
        (L::SslAllowNullEncryption, Refused),
        (L::BluetoothEncryptionAllowNullAuthentication, NotApplicable),
        (L::BluetoothEncryptionWithAuthentication, NotApplicable),
        (L::Ssl3AllowWeakEncryption, Refused),
        (L::Tls10, Refused),
        (L::Tls11, Refused),
        (L::Tls12, Accepted),
        (L::Unspecified, Accepted),
        (L::Tls13, Accepted),
    ] {
        assert_eq!(status(&audit, level), expected, "{level}: {table}");
    }
    // The mock server's SMTP advertises no AUTH: nothing at all is found.
    assert!(audit.findings.is_empty(), "{table}");
    assert_eq!(audit.exit_code(), 0);
    let certificate = audit.observations.certificate.as_ref().expect("a chain");
    assert_eq!(certificate.chain.len(), 2, "leaf and intermediate");
    assert!(certificate.errors.is_empty());
    assert!(certificate.days_until_expiry.is_some_and(|days| days > 365));
    assert!(audit.observations.capabilities_after.is_some(), "{table}");
    // rustls asks for a key share of its first group when the hello carries none.
    let retry = &audit.observations.hello_retry;
    assert_eq!(retry.retried, Some(true), "{table}");
    assert_eq!(retry.group.as_deref(), Some("X25519"), "{table}");
    assert!(
        table.contains("hello retry request: yes, for X25519"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn legacy_only_servers_show_exactly_their_level_accepted() {
    let legacy = [
        (
            LegacyVersion::Ssl3,
            ProtectionLevel::Ssl3AllowWeakEncryption,
        ),
        (LegacyVersion::Tls10, ProtectionLevel::Tls10),
        (LegacyVersion::Tls11, ProtectionLevel::Tls11),
    ];
    for (version, level) in legacy {
        let audit = audit(mock(Dialect::Implicit, Behaviour::LegacyOnly(version))).await;
        let table = audit.table();
        for (_, other) in legacy {
            let expected = if other == level {
                LevelStatus::Accepted
            } else {
                LevelStatus::Refused
            };
            assert_eq!(
                status(&audit, other),
                expected,
                "{version:?} {other}: {table}"
            );
        }
        for modern in [
            ProtectionLevel::Tls12,
            ProtectionLevel::Tls13,
            ProtectionLevel::Ssl,
        ] {
            assert_eq!(
                status(&audit, modern),
                LevelStatus::Refused,
                "{modern}: {table}"
            );
        }
        let severity = if version == LegacyVersion::Ssl3 {
            Severity::Fail
        } else {
            Severity::Warn
        };
        assert_eq!(
            found(&audit, FindingKind::LegacyVersion),
            Some(severity),
            "{table}"
        );
        assert_eq!(
            found(&audit, FindingKind::NoModernTls),
            Some(Severity::Fail)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minimum_level_makes_an_accepted_legacy_version_a_failure() {
    let config = mock(Dialect::Smtp, Behaviour::LegacyOnly(LegacyVersion::Tls11));
    let rules = Rules {
        require_min_level: Some(ProtectionLevel::Tls12),
    };
    let audit = audit_with(config, rules).await;
    assert_eq!(
        found(&audit, FindingKind::LegacyVersion),
        Some(Severity::Fail)
    );
    // Without the minimum, the same server's TLS 1.1 is a warning.
    let audit = self::audit(mock(
        Dialect::Smtp,
        Behaviour::LegacyOnly(LegacyVersion::Tls11),
    ))
    .await;
    assert_eq!(
        found(&audit, FindingKind::LegacyVersion),
        Some(Severity::Warn)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_version_servers_accept_exactly_their_version() {
    for (versions, accepted, refused) in [
        (
            VersionSet::TLS12_ONLY,
            ProtectionLevel::Tls12,
            ProtectionLevel::Tls13,
        ),
        (
            VersionSet::TLS13_ONLY,
            ProtectionLevel::Tls13,
            ProtectionLevel::Tls12,
        ),
    ] {
        let mut config = mock(Dialect::Imap, Behaviour::Honest);
        config.tls.versions = versions;
        let audit = audit(config).await;
        let table = audit.table();
        assert_eq!(status(&audit, accepted), LevelStatus::Accepted, "{table}");
        assert_eq!(status(&audit, refused), LevelStatus::Refused, "{table}");
        assert_eq!(status(&audit, ProtectionLevel::Ssl), LevelStatus::Accepted);
        assert_eq!(found(&audit, FindingKind::NoModernTls), None);
        // Only a TLS 1.3 server answers a hello without a key share with a HelloRetryRequest;
        // a TLS 1.2 server refuses it, and that is no finding.
        let tls13 = accepted == ProtectionLevel::Tls13;
        assert_eq!(
            audit.observations.hello_retry.retried,
            Some(tls13),
            "{table}"
        );
        assert_eq!(
            found(&audit, FindingKind::NoHelloRetryRequest),
            None,
            "{table}"
        );
        // TLS 1.2 below a TLS 1.3 minimum fails; TLS 1.3 alone passes it.
        let rules = Rules {
            require_min_level: Some(ProtectionLevel::Tls13),
        };
        let mut config = mock(Dialect::Imap, Behaviour::Honest);
        config.tls.versions = versions;
        let strict = audit_with(config, rules).await;
        let below = found(&strict, FindingKind::BelowMinimumLevel);
        let expected = (accepted == ProtectionLevel::Tls12).then_some(Severity::Fail);
        assert_eq!(below, expected, "{}", strict.table());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_scenarios_report_their_errors() {
    let configs = [
        (Scenario::Expired, Some(ChainValidationResult::Expired)),
        (
            Scenario::WrongHost,
            Some(ChainValidationResult::InvalidName),
        ),
        (
            Scenario::UntrustedRoot,
            Some(ChainValidationResult::Untrusted),
        ),
        (Scenario::SelfSigned, Some(ChainValidationResult::Untrusted)),
        (Scenario::Valid, None),
    ]
    .map(|(scenario, error)| {
        let config = testing::config(Dialect::Implicit, scenario, KeyKind::EcdsaP256);
        ((scenario, error), config)
    });
    for ((scenario, error), audit) in audits(configs.into()).await {
        let table = audit.table();
        let certificate = audit.observations.certificate.as_ref().expect("a chain");
        match error {
            Some(error) => {
                assert!(certificate.errors.contains(&error), "{scenario:?}: {table}");
                let severity = found(&audit, FindingKind::CertificateErrors);
                assert_eq!(severity, Some(Severity::Fail), "{table}");
                // The version is judged behind the broken chain.
                assert_eq!(
                    status(&audit, ProtectionLevel::Tls13),
                    LevelStatus::Accepted
                );
            }
            None => {
                assert!(certificate.errors.is_empty(), "{table}");
                assert_eq!(found(&audit, FindingKind::CertificateErrors), None);
            }
        }
        if scenario == Scenario::Expired {
            assert!(
                certificate.days_until_expiry.is_some_and(|d| d < 0),
                "{table}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_not_advertised_or_refused_is_found() {
    let mut configs = Vec::new();
    for dialect in LINE_DIALECTS {
        for (behaviour, kind) in [
            (
                Behaviour::StartTlsNotAdvertised,
                Some(FindingKind::StartTlsNotAdvertised),
            ),
            (
                Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
                Some(FindingKind::StartTlsRefused),
            ),
            (Behaviour::Honest, None),
        ] {
            configs.push(((dialect, kind), mock(dialect, behaviour)));
        }
    }
    for ((dialect, kind), audit) in audits(configs).await {
        let table = audit.table();
        let Some(kind) = kind else {
            for kind in [
                FindingKind::StartTlsNotAdvertised,
                FindingKind::StartTlsRefused,
            ] {
                assert_eq!(found(&audit, kind), None, "{dialect}: {table}");
            }
            // An honest server announces its capabilities again, without STARTTLS.
            assert_eq!(
                found(&audit, FindingKind::StartTlsAfterUpgrade),
                None,
                "{dialect}: {table}"
            );
            assert_eq!(
                found(&audit, FindingKind::CapabilitiesNotReannounced),
                None,
                "{dialect}: {table}"
            );
            continue;
        };
        assert_eq!(
            found(&audit, kind),
            Some(Severity::Fail),
            "{dialect}: {table}"
        );
        assert_eq!(status(&audit, ProtectionLevel::Ssl), LevelStatus::NotTested);
        assert_eq!(
            status(&audit, ProtectionLevel::Tls10),
            LevelStatus::NotTested
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_starttls_refusal_is_reported_refused_and_nothing_is_probed_past_it() {
    let mut configs = Vec::new();
    for dialect in LINE_DIALECTS {
        for refusal in mockserver::Refusal::ALL {
            // The temporary refusal is the test above's.
            if refusal == mockserver::Refusal::Temporary || !refusal.applies_to(dialect) {
                continue;
            }
            let config = mock(dialect, Behaviour::StartTlsRefused(refusal));
            configs.push(((dialect, refusal), config));
        }
    }
    for ((dialect, refusal), audit) in audits(configs).await {
        let table = audit.table();
        assert_eq!(
            found(&audit, FindingKind::StartTlsRefused),
            Some(Severity::Fail),
            "{dialect} {refusal:?}: {table}"
        );
        assert!(
            matches!(
                audit.observations.starttls,
                streamsocket_audit::server::StartTlsAnswer::Refused(_)
            ),
            "{dialect} {refusal:?}: {table}"
        );
        // Not a go-ahead: no level past the plaintext one, no injection answered.
        for row in &audit.levels {
            if row.level != ProtectionLevel::PlainSocket {
                assert_ne!(
                    row.status,
                    LevelStatus::Accepted,
                    "{dialect} {refusal:?}: {table}"
                );
            }
        }
        for kind in [
            FindingKind::InjectionSameWrite,
            FindingKind::InjectionLaterWrite,
        ] {
            assert_eq!(found(&audit, kind), None, "{dialect} {refusal:?}: {table}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_before_tls_warns_unless_the_server_disables_it() {
    // POP3 offers USER in plaintext; IMAP without LOGINDISABLED allows LOGIN.
    for dialect in [Dialect::Pop3, Dialect::Imap] {
        let audit = audit(mock(dialect, Behaviour::Honest)).await;
        let severity = found(&audit, FindingKind::AuthBeforeTls);
        assert_eq!(
            severity,
            Some(Severity::Warn),
            "{dialect}: {}",
            audit.table()
        );
        assert_eq!(audit.exit_code(), 0, "a warning does not fail");
    }
    // A TLS-required IMAP server announces LOGINDISABLED before TLS.
    let audit = audit(mock(Dialect::Imap, Behaviour::TlsRequired)).await;
    assert_eq!(
        found(&audit, FindingKind::AuthBeforeTls),
        None,
        "{}",
        audit.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn implicit_and_framed_servers_have_no_plaintext_level() {
    for dialect in [Dialect::Implicit, Dialect::Framed] {
        let audit = audit(mock(dialect, Behaviour::Honest)).await;
        let table = audit.table();
        assert_eq!(
            status(&audit, ProtectionLevel::PlainSocket),
            LevelStatus::NotApplicable,
            "{table}"
        );
        assert_eq!(
            status(&audit, ProtectionLevel::Tls13),
            LevelStatus::Accepted,
            "{table}"
        );
        assert!(audit.observations.injection_same_write.is_none());
        assert!(audit.findings.is_empty(), "{table}");
    }
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = free_port();
    let config = settings(
        port,
        Dialect::Smtp,
        TrustAnchors::mozilla(),
        Rules::default(),
    );
    let result = audit_server(config).await;
    assert!(
        matches!(result, Err(ServerError::Unreachable(_))),
        "{result:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_written_and_name_every_finding() {
    let mut config = mock(Dialect::Smtp, Behaviour::Honest);
    config.injection_policy = InjectionPolicy::Vulnerable;
    let audit = audit(config).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = audit
        .write_reports(dir.path())
        .expect("reports are written");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("the json report")).expect("json");
    let kinds: Vec<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["injection-same-write", "injection-later-write"]);
    assert_eq!(json["levels"].as_array().map(Vec::len), Some(11));
    let junit = std::fs::read_to_string(dir.path().join("server-junit.xml")).expect("junit");
    assert_eq!(junit.matches("<failure").count(), 2, "{junit}");
    let markdown = std::fs::read_to_string(dir.path().join("server-audit.md")).expect("md");
    assert!(markdown.contains("`injection-later-write`"), "{markdown}");
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

/// A running `openssl s_server`; killed on drop.
struct SServer {
    child: Child,
    port: u16,
    _pem: tempfile::TempDir,
}

impl SServer {
    /// `openssl s_server` with testpki's valid ECDSA chain and `flags`; `None` (with a note)
    /// when openssl is not installed.
    fn start(flags: &[&str]) -> Option<Self> {
        let started = Self::try_start(flags)?;
        Some(started.unwrap_or_else(|| {
            panic!("openssl s_server {flags:?} did not start on a free port in 3 attempts")
        }))
    }

    /// As [`SServer::start`]; `Some(None)` when s_server does not start with these flags (an
    /// openssl built without them).
    fn try_start(flags: &[&str]) -> Option<Option<Self>> {
        if !crate::installed("openssl", "version") {
            return None;
        }
        let pem = tempfile::tempdir().expect("a temporary directory");
        Pki::shared(KeyKind::EcdsaP256)
            .server(Scenario::Valid)
            .expect("testpki issues the valid chain")
            .write_pem(pem.path())
            .expect("server PEM files are written");
        for _attempt in 0..3 {
            let port = free_port();
            let path = |name: &str| pem.path().join(name);
            let mut child = Command::new("openssl")
                .args(["s_server", "-quiet", "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                .args(flags)
                .arg("-cert")
                .arg(path("chain.pem"))
                .arg("-cert_chain")
                .arg(path("chain.pem"))
                .arg("-key")
                .arg(path("key.pem"))
                // A piped stdin that stays open: s_server would end its session at its EOF.
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl s_server starts");
            for _ in 0..100 {
                if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
                    return Some(Some(Self {
                        child,
                        port,
                        _pem: pem,
                    }));
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        Some(None)
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn audit_s_server(server: &SServer) -> ServerAudit {
    audit_port(server.port, Vec::new()).await
}

/// Audits implicit TLS on `port` of loopback, trusting testpki's ECDSA root, offering `alpn`.
async fn audit_port(port: u16, alpn: Vec<Vec<u8>>) -> ServerAudit {
    let root = Pki::shared(KeyKind::EcdsaP256).root_der();
    let mut config = settings(
        port,
        Dialect::Implicit,
        TrustAnchors::from_der([root]),
        Rules::default(),
    );
    config.alpn = alpn;
    audit_server(config).await.expect("the peer is reachable")
}

/// testpki's valid ECDSA chain and key as PEM files (`chain.pem`, `key.pem`).
fn pem_files() -> tempfile::TempDir {
    let pem = tempfile::tempdir().expect("a temporary directory");
    Pki::shared(KeyKind::EcdsaP256)
        .server(Scenario::Valid)
        .expect("testpki issues the valid chain")
        .write_pem(pem.path())
        .expect("server PEM files are written");
    pem
}

/// A TLS server process no one here wrote, serving testpki's valid chain on loopback; killed
/// on drop.
struct Peer {
    child: Child,
    port: u16,
    _pem: tempfile::TempDir,
}

impl Peer {
    /// `gnutls-serv` with `priority`; `None` (with a note) when gnutls-serv is not installed.
    /// It has no option to bind one address: it listens on every interface of an ephemeral
    /// port for the test's few seconds, and the audit connects to loopback only.
    fn gnutls(priority: &str) -> Option<Self> {
        if !crate::installed("gnutls-serv", "--version") {
            return None;
        }
        let pem = pem_files();
        for _attempt in 0..3 {
            let port = free_port();
            let mut child = Command::new("gnutls-serv")
                .args([
                    "--echo",
                    "--port",
                    &port.to_string(),
                    "--priority",
                    priority,
                ])
                .arg("--x509certfile")
                .arg(pem.path().join("chain.pem"))
                .arg("--x509keyfile")
                .arg(pem.path().join("key.pem"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("gnutls-serv starts");
            if wait_listening(&mut child, port) {
                return Some(Self {
                    child,
                    port,
                    _pem: pem,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("gnutls-serv --priority {priority} did not listen in 3 attempts");
    }

    /// Python's `ssl` module serving `fixtures/tls_server.py` with `args`; it binds
    /// 127.0.0.1:0 and prints its port. `None` (with a note) without python3.
    fn python(args: &[&str]) -> Option<Self> {
        use std::io::BufRead as _;
        if !crate::installed("python3", "--version") {
            return None;
        }
        let pem = pem_files();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg(pem.path().join("chain.pem"))
            .arg(pem.path().join("key.pem"))
            .args(args)
            .args(["--seconds", "120"])
            // It stops when this pipe closes, should the test die before its drop.
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 starts");
        let stdout = child.stdout.take().expect("a piped stdout");
        let mut line = String::new();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("tls_server.py printed {line:?}, not `port N`"));
        Some(Self {
            child,
            port,
            _pem: pem,
        })
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `child` listens on `port` within 5 s (polled, no fixed sleep).
fn wait_listening(child: &mut Child, port: u16) -> bool {
    for _ in 0..100 {
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gnutls_serv_limited_to_tls12_by_its_priority_string_accepts_only_it() {
    let Some(server) = Peer::gnutls("NORMAL:-VERS-ALL:+VERS-TLS1.2") else {
        return;
    };
    let audit = audit_port(server.port, Vec::new()).await;
    let table = audit.table();
    use ProtectionLevel as L;
    for (level, expected) in [
        (L::Tls12, LevelStatus::Accepted),
        (L::Ssl, LevelStatus::Accepted),
        (L::Tls13, LevelStatus::Refused),
        (L::Tls11, LevelStatus::Refused),
        (L::Tls10, LevelStatus::Refused),
        (L::Ssl3AllowWeakEncryption, LevelStatus::Refused),
        (L::SslAllowNullEncryption, LevelStatus::Refused),
    ] {
        assert_eq!(status(&audit, level), expected, "{level}: {table}");
    }
    let obs = &audit.observations;
    assert!(
        obs.certificate
            .as_ref()
            .is_some_and(|c| c.errors.is_empty()),
        "{table}"
    );
    // Without TLS 1.3 there is no HelloRetryRequest, and no finding for it.
    assert_eq!(obs.hello_retry.retried, Some(false), "{table}");
    // GnuTLS issues TLS 1.2 tickets by default.
    assert_eq!(obs.resumption.tls12_ticket, Some(true), "{table}");
    assert_eq!(obs.resumption.tls13_resumed, None, "{table}");
    // GnuTLS's NORMAL priorities still include CBC with SHA-1: the one finding, a warning.
    let kinds: Vec<_> = audit
        .findings
        .iter()
        .map(|f| (f.kind, f.severity))
        .collect();
    assert_eq!(kinds, [(FindingKind::WeakSuite, Severity::Warn)], "{table}");
    assert!(audit.findings[0].message.contains("CBC-SHA1"), "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_ssl_server_is_judged_by_its_version_and_alpn() {
    for (args, accepted, refused) in [
        (
            ["--tls", "1.2", "--alpn", "http/1.1"],
            ProtectionLevel::Tls12,
            ProtectionLevel::Tls13,
        ),
        (
            ["--tls", "1.3", "--alpn", "h2"],
            ProtectionLevel::Tls13,
            ProtectionLevel::Tls12,
        ),
    ] {
        let Some(server) = Peer::python(&args) else {
            return;
        };
        let offer = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let audit = audit_port(server.port, offer).await;
        let table = audit.table();
        assert_eq!(
            status(&audit, accepted),
            LevelStatus::Accepted,
            "{args:?}: {table}"
        );
        assert_eq!(
            status(&audit, refused),
            LevelStatus::Refused,
            "{args:?}: {table}"
        );
        for legacy in [ProtectionLevel::Tls10, ProtectionLevel::Tls11] {
            assert_eq!(status(&audit, legacy), LevelStatus::Refused, "{table}");
        }
        let alpn = audit.observations.alpn.as_ref().expect("an alpn probe");
        assert_eq!(alpn.chosen.as_deref(), Some(args[3]), "{table}");
        // OpenSSL under Python asks for a key share when TLS 1.3 is on.
        let tls13 = accepted == ProtectionLevel::Tls13;
        assert_eq!(
            audit.observations.hello_retry.retried,
            Some(tls13),
            "{table}"
        );
        assert_eq!(found(&audit, FindingKind::NoHelloRetryRequest), None);
        assert_eq!(
            found(&audit, FindingKind::CertificateErrors),
            None,
            "{table}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_server_limited_to_one_version_accepts_exactly_it() {
    for (flag, accepted, refused) in [
        ("-tls1_2", ProtectionLevel::Tls12, ProtectionLevel::Tls13),
        ("-tls1_3", ProtectionLevel::Tls13, ProtectionLevel::Tls12),
    ] {
        let Some(server) = SServer::start(&[flag]) else {
            return;
        };
        let audit = audit_s_server(&server).await;
        let table = audit.table();
        assert_eq!(
            status(&audit, accepted),
            LevelStatus::Accepted,
            "{flag}: {table}"
        );
        assert_eq!(
            status(&audit, refused),
            LevelStatus::Refused,
            "{flag}: {table}"
        );
        for legacy in [
            ProtectionLevel::Ssl3AllowWeakEncryption,
            ProtectionLevel::Tls10,
            ProtectionLevel::Tls11,
        ] {
            assert_eq!(
                status(&audit, legacy),
                LevelStatus::Refused,
                "{flag}: {table}"
            );
        }
        let certificate = audit.observations.certificate.as_ref().expect("a chain");
        assert!(certificate.errors.is_empty(), "{flag}: {table}");
        assert_eq!(found(&audit, FindingKind::LegacyVersion), None);
        // OpenSSL asks for a key share in TLS 1.3, issues TLS 1.2 tickets by default and
        // resumes a TLS 1.3 session from its ticket.
        let obs = &audit.observations;
        let tls13 = flag == "-tls1_3";
        assert_eq!(obs.hello_retry.retried, Some(tls13), "{flag}: {table}");
        assert_eq!(found(&audit, FindingKind::NoHelloRetryRequest), None);
        if tls13 {
            assert_eq!(obs.resumption.tls13_resumed, Some(true), "{table}");
        } else {
            assert_eq!(obs.resumption.tls12_ticket, Some(true), "{table}");
        }
    }
}

/// The binary, run to its end with stdin closed (in a blocking task: the mock server runs on
/// this test's runtime).
async fn run_bin(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_streamsocket-audit"))
            .arg("server")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("the binary runs")
    })
    .await
    .expect("the blocking task ends")
}

#[tokio::test]
async fn the_binary_refuses_a_bad_command_line_with_2_and_an_unreachable_server_with_3() {
    let port = free_port().to_string();
    for args in [
        vec!["127.0.0.1", &port, "--require-min-level", "Ssl"],
        vec!["127.0.0.1", "no-such-service"],
        vec!["127.0.0.1", &port, "--ca", "/nonexistent/ca.pem"],
        vec!["127.0.0.1", &port, "--starttls", "gopher"],
        vec!["127.0.0.1", &port, "--alpn", "h2,,http/1.1"],
    ] {
        let out = run_bin(args.iter().map(|s| (*s).to_owned()).collect()).await;
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
    let out = run_bin(vec![
        "127.0.0.1".into(),
        port,
        "--timeout".into(),
        "2".into(),
    ])
    .await;
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_one_json_document_and_exits_1_on_findings() {
    let mut config = mock(Dialect::Smtp, Behaviour::Honest);
    config.injection_policy = InjectionPolicy::Vulnerable;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, Pki::shared(KeyKind::EcdsaP256).root_pem()).expect("ca.pem");
    let server = testing::spawn(config).await;
    let port = server.addr().port().to_string();
    let args = |extra: &[&str]| {
        let mut args: Vec<String> = ["127.0.0.1", &port, "--starttls", "smtp", "--name"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        args.push(testpki::TEST_HOST.to_owned());
        args.push("--ca".to_owned());
        args.push(ca.display().to_string());
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        args
    };
    let reports = dir.path().join("reports").display().to_string();
    let out = run_bin(args(&[
        "--json",
        "--report-dir",
        &reports,
        "--alpn",
        "h2,http/1.1",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let json: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("exactly one document");
    assert_eq!(json["dialect"], "smtp");
    assert_eq!(json["findings"][0]["kind"], "injection-same-write");
    // The new probes' observations, under their JSON names.
    let obs = &json["observations"];
    assert_eq!(obs["hello_retry"]["retried"], true, "{obs}");
    assert_eq!(obs["hello_retry"]["group"], "X25519", "{obs}");
    assert_eq!(obs["resumption"]["tls13_resumed"], true, "{obs}");
    assert_eq!(
        obs["alpn"]["offered"],
        serde_json::json!(["h2", "http/1.1"])
    );
    assert!(obs["alpn"]["chosen"].is_null(), "{obs}");
    assert!(obs["greeting_host"].is_null(), "{obs}");
    assert!(dir.path().join("reports/server-audit.json").is_file());
    let table = run_bin(args(&[])).await;
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("FAIL injection-later-write"), "{text}");
    assert!(text.contains("Tls13                  "), "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exits_0_for_a_safe_server_and_defaults_the_dialect_from_the_port() {
    let server = testing::spawn(mock(Dialect::Implicit, Behaviour::Honest)).await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, Pki::shared(KeyKind::EcdsaP256).root_pem()).expect("ca.pem");
    let out = run_bin(vec![
        "127.0.0.1".into(),
        server.addr().port().to_string(),
        "--ca".into(),
        ca.display().to_string(),
    ])
    .await;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("(implicit)"), "{text}");
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_server_with_tls10_or_tls11_at_security_level_0_is_reported_accepting_it() {
    for (flag, accepted, refused) in [
        ("-tls1", ProtectionLevel::Tls10, ProtectionLevel::Tls11),
        ("-tls1_1", ProtectionLevel::Tls11, ProtectionLevel::Tls10),
    ] {
        let Some(started) = SServer::try_start(&[flag, "-cipher", "DEFAULT:@SECLEVEL=0"]) else {
            return;
        };
        let Some(server) = started else {
            eprintln!("openssl s_server {flag} at @SECLEVEL=0 does not start here: not checked");
            continue;
        };
        let audit = audit_s_server(&server).await;
        let table = audit.table();
        assert_eq!(
            status(&audit, accepted),
            LevelStatus::Accepted,
            "{flag}: {table}"
        );
        assert_eq!(
            status(&audit, refused),
            LevelStatus::Refused,
            "{flag}: {table}"
        );
        assert_eq!(
            status(&audit, ProtectionLevel::Tls12),
            LevelStatus::Refused,
            "{table}"
        );
        assert_eq!(
            found(&audit, FindingKind::LegacyVersion),
            Some(Severity::Warn),
            "{table}"
        );
        assert_eq!(
            found(&audit, FindingKind::NoModernTls),
            Some(Severity::Fail),
            "{table}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dialect_spoken_to_the_wrong_kind_of_port_is_a_mode_mismatch() {
    // Implicit TLS spoken to an SMTP port: the client library names the plaintext greeting.
    let smtp = testing::spawn(mock(Dialect::Smtp, Behaviour::Honest)).await;
    let trust = TrustAnchors::from_der([Pki::shared(KeyKind::EcdsaP256).root_der()]);
    let config = settings(
        smtp.addr().port(),
        Dialect::Implicit,
        trust.clone(),
        Rules::default(),
    );
    let audit = audit_server(config).await.expect("reachable");
    let table = audit.table();
    assert_eq!(
        found(&audit, FindingKind::ModeMismatch),
        Some(Severity::Fail),
        "{table}"
    );
    assert!(
        table.contains("--starttls smtp"),
        "the fix is named: {table}"
    );
    smtp.shutdown().await;
    // SMTP spoken to a port of implicit TLS, which waits for a ClientHello.
    let implicit = testing::spawn(mock(Dialect::Implicit, Behaviour::Honest)).await;
    let mut config = settings(
        implicit.addr().port(),
        Dialect::Smtp,
        trust,
        Rules::default(),
    );
    config.timeout = Duration::from_secs(1);
    let started = std::time::Instant::now();
    let audit = audit_server(config).await.expect("reachable");
    let table = audit.table();
    assert_eq!(
        found(&audit, FindingKind::ModeMismatch),
        Some(Severity::Fail),
        "{table}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "one timeout, not one per probe"
    );
    implicit.shutdown().await;
    // The right dialect on each: no mismatch.
    let audit = self::audit(mock(Dialect::Smtp, Behaviour::Honest)).await;
    assert_eq!(found(&audit, FindingKind::ModeMismatch), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_starttls_inside_tls_is_refused_by_the_mock_server() {
    let configs = LINE_DIALECTS.map(|dialect| (dialect, mock(dialect, Behaviour::Honest)));
    for (dialect, audit) in audits(configs.into()).await {
        // The probe ran and the answer was a refusal: no finding.
        assert_eq!(audit.observations.second_starttls, Some(false), "{dialect}");
        assert_eq!(found(&audit, FindingKind::StartTlsAcceptedTwice), None);
    }
}

/// An SMTP server written for one test, on std threads and rustls: STARTTLS, then inside TLS an
/// EHLO and a second STARTTLS. With `reset` it forgets the plaintext session as RFC 3207
/// wants (no STARTTLS in the new EHLO, `503` to a second one); without, it does neither.
/// Bytes that arrive with STARTTLS are dropped, never answered inside TLS.
struct FakeSmtp {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl FakeSmtp {
    fn start(reset: bool) -> Self {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        let identity = Pki::shared(KeyKind::EcdsaP256)
            .server(Scenario::Valid)
            .expect("the valid chain");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("tls 1.2 and 1.3")
            .with_no_client_auth()
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .expect("the valid chain and key");
        let config = Arc::new(config);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
        let port = listener.local_addr().expect("an address").port();
        listener.set_nonblocking(true).expect("non-blocking accept");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let accept = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((tcp, _)) => {
                        let config = Arc::clone(&config);
                        std::thread::spawn(move || {
                            let _ = fake_smtp_session(tcp, config, reset);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Self {
            port,
            stop,
            accept: Some(accept),
        }
    }
}

impl Drop for FakeSmtp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

fn fake_smtp_session(
    tcp: TcpStream,
    config: std::sync::Arc<rustls::ServerConfig>,
    reset: bool,
) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Write};
    tcp.set_nonblocking(false)?;
    tcp.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut out = tcp.try_clone()?;
    let mut plain = BufReader::new(tcp);
    out.write_all(b"220 localhost ESMTP fake\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if plain.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            out.write_all(b"250-localhost\r\n250 STARTTLS\r\n")?;
        } else if command == "STARTTLS" {
            out.write_all(b"220 go ahead\r\n")?;
            break;
        } else if command == "QUIT" {
            return out.write_all(b"221 bye\r\n");
        } else {
            out.write_all(b"250 ok\r\n")?;
        }
    }
    // What the reader buffered past STARTTLS is dropped with it.
    drop(plain);
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = BufReader::new(rustls::StreamOwned::new(connection, out));
    loop {
        line.clear();
        if tls.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        let answer: &[u8] = match command.as_str() {
            c if c.starts_with("EHLO") && reset => b"250-localhost\r\n250 PIPELINING\r\n",
            c if c.starts_with("EHLO") => b"250-localhost\r\n250 STARTTLS\r\n",
            "STARTTLS" if reset => b"503 5.5.1 TLS already active\r\n",
            "STARTTLS" => b"220 go ahead\r\n",
            "QUIT" => b"221 bye\r\n",
            _ => b"250 ok\r\n",
        };
        tls.get_mut().write_all(answer)?;
        tls.get_mut().flush()?;
        if command == "QUIT" || command == "STARTTLS" {
            return Ok(());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_keeps_its_plaintext_session_inside_tls_is_found_and_one_that_resets_is_not()
{
    let trust = TrustAnchors::from_der([Pki::shared(KeyKind::EcdsaP256).root_der()]);
    for reset in [false, true] {
        let fake = FakeSmtp::start(reset);
        let config = settings(fake.port, Dialect::Smtp, trust.clone(), Rules::default());
        let audit = audit_server(config).await.expect("the fake is reachable");
        drop(fake);
        let table = audit.table();
        let obs = &audit.observations;
        assert_eq!(
            status(&audit, ProtectionLevel::Tls13),
            LevelStatus::Accepted,
            "{table}"
        );
        assert!(obs.capabilities_after.is_some(), "{table}");
        assert_eq!(obs.second_starttls, Some(!reset), "reset {reset}: {table}");
        let expected = (!reset).then_some(Severity::Fail);
        for kind in [
            FindingKind::StartTlsAfterUpgrade,
            FindingKind::StartTlsAcceptedTwice,
        ] {
            assert_eq!(
                found(&audit, kind),
                expected,
                "reset {reset} {kind}: {table}"
            );
        }
        assert_eq!(
            found(&audit, FindingKind::CapabilitiesNotReannounced),
            None,
            "{table}"
        );
        if reset {
            assert!(audit.findings.is_empty(), "{table}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suites_and_groups_are_enumerated_one_by_one() {
    let mut config = mock(Dialect::Implicit, Behaviour::Honest);
    config.tls.versions = VersionSet::TLS12_ONLY;
    config.tls.cipher_suites = Some(vec![
        rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
    ]);
    config.tls.kx_groups = Some(vec![rustls::NamedGroup::secp384r1]);
    let audit = audit(config).await;
    let table = audit.table();
    let accepted = |list: Vec<(&str, Option<bool>)>| -> Vec<String> {
        list.into_iter()
            .filter(|(_, accepted)| *accepted == Some(true))
            .map(|(name, _)| name.to_owned())
            .collect()
    };
    let suites = &audit.observations.suites;
    assert_eq!(
        accepted(
            suites
                .iter()
                .map(|p| (p.suite.as_str(), p.accepted))
                .collect()
        ),
        ["TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"],
        "{table}"
    );
    // TLS 1.3 is refused as a version, so its suites are not tried one by one.
    assert!(
        suites
            .iter()
            .filter(|p| p.version == "TLS 1.3")
            .all(|p| p.accepted.is_none()),
        "{table}"
    );
    assert!(suites.iter().any(|p| p.accepted == Some(false)), "{table}");
    let groups = &audit.observations.groups;
    assert_eq!(
        accepted(
            groups
                .iter()
                .map(|p| (p.group.as_str(), p.accepted))
                .collect()
        ),
        ["secp384r1"],
        "{table}"
    );
    assert!(
        table.contains("groups: accepted secp384r1; refused"),
        "{table}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumption_is_found_where_the_server_offers_it_and_not_where_it_does_not() {
    use streamsocket_audit::server::judge::Resumption;
    // rustls caches TLS 1.2 sessions by id and sends TLS 1.3 tickets; its TLS 1.2 tickets need
    // a ticketer, which the mock server has not.
    let on = audit(mock(Dialect::Implicit, Behaviour::Honest)).await;
    assert_eq!(
        on.observations.resumption,
        Resumption {
            tls12_session_id: Some(true),
            tls12_ticket: Some(false),
            tls12_resumed: Some(true),
            tls13_resumed: Some(true),
        },
        "{}",
        on.table()
    );
    let mut config = mock(Dialect::Implicit, Behaviour::Honest);
    config.tls.resumption = false;
    let off = audit(config).await;
    assert_eq!(
        off.observations.resumption,
        Resumption {
            tls12_session_id: Some(false),
            tls12_ticket: Some(false),
            tls12_resumed: Some(false),
            tls13_resumed: Some(false),
        },
        "{}",
        off.table()
    );
    assert!(
        off.table().contains(
            "resumption: TLS 1.2 session id no, ticket no, resumed no; TLS 1.3 ticket resumed no"
        ),
        "{}",
        off.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_alpn_protocol_the_server_chose_is_reported_or_none() {
    let offer = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    for (served, chosen) in [
        // The server's choice, not the client's first preference.
        (vec![b"http/1.1".to_vec()], Some("http/1.1")),
        (Vec::new(), None),
    ] {
        let mut config = mock(Dialect::Implicit, Behaviour::Honest);
        config.tls.alpn = served.clone();
        let trust = TrustAnchors::from_der(config.identity.trust_anchors.clone());
        let server = testing::spawn(config).await;
        let mut settings = settings(
            server.addr().port(),
            Dialect::Implicit,
            trust,
            Rules::default(),
        );
        settings.alpn = offer.clone();
        let audit = audit_server(settings).await.expect("reachable");
        server.shutdown().await;
        let table = audit.table();
        let alpn = audit.observations.alpn.as_ref().expect("an alpn probe");
        assert_eq!(alpn.offered, ["h2", "http/1.1"]);
        assert_eq!(alpn.chosen.as_deref(), chosen, "{served:?}: {table}");
        assert_eq!(alpn.refused, None, "{table}");
        let line = match chosen {
            Some(chosen) => format!("alpn: offered h2,http/1.1, chose {chosen}"),
            None => "alpn: offered h2,http/1.1, chose none".to_owned(),
        };
        assert!(table.contains(&line), "{table}");
    }
}

/// Audits `config` offering `offer` and returns the Markdown report read back from the file
/// `write_reports` writes.
async fn markdown_of(config: MockConfig, offer: Vec<Vec<u8>>) -> String {
    let trust = TrustAnchors::from_der(config.identity.trust_anchors.clone());
    let server = testing::spawn(config).await;
    let mut settings = settings(
        server.addr().port(),
        Dialect::Implicit,
        trust,
        Rules::default(),
    );
    settings.alpn = offer;
    let audit = audit_server(settings).await.expect("reachable");
    server.shutdown().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    audit
        .write_reports(dir.path())
        .expect("reports are written");
    std::fs::read_to_string(dir.path().join("server-audit.md")).expect("the markdown report")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_markdown_report_shows_the_retry_resumption_and_alpn_the_server_answered() {
    // A server that wants secp384r1, resumes, and chooses http/1.1 of the two offered.
    let mut config = mock(Dialect::Implicit, Behaviour::Honest);
    config.tls.kx_groups = Some(vec![rustls::NamedGroup::secp384r1]);
    config.tls.alpn = vec![b"http/1.1".to_vec()];
    let offer = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let markdown = markdown_of(config, offer).await;
    for line in [
        "- hello retry request: yes, for secp384r1 (a hello with no key share)\n",
        "- resumption: TLS 1.2 session id yes, ticket no, resumed yes; TLS 1.3 ticket resumed yes\n",
        "- alpn: offered h2,http/1.1, chose http/1.1\n",
    ] {
        assert!(markdown.contains(line), "{line:?} in {markdown}");
    }
    // A server without resumption, offered no protocol: the report says so and has no ALPN.
    let mut config = mock(Dialect::Implicit, Behaviour::Honest);
    config.tls.resumption = false;
    let markdown = markdown_of(config, Vec::new()).await;
    assert!(
        markdown.contains(
            "- resumption: TLS 1.2 session id no, ticket no, resumed no; TLS 1.3 ticket resumed no\n"
        ),
        "{markdown}"
    );
    assert!(
        markdown.contains("- hello retry request: yes, for "),
        "{markdown}"
    );
    assert!(!markdown.contains("alpn:"), "{markdown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greeting_that_names_the_host_is_a_warning_in_every_line_dialect() {
    // ManageSieve greets with its capability list, in which the mock names no host.
    let greeting_dialects = LINE_DIALECTS.into_iter().filter(|&d| d != Dialect::Sieve);
    let configs = greeting_dialects.map(|dialect| {
        let mut config = mock(dialect, Behaviour::Honest);
        config.hostname = "mx1.example.net".to_owned();
        (dialect, config)
    });
    for (dialect, audit) in audits(configs.collect()).await {
        let table = audit.table();
        if dialect == Dialect::Irc {
            // No greeting to give the name away: the IRC client speaks first.
            assert_eq!(audit.observations.greeting_host, None, "{table}");
            assert_eq!(
                found(&audit, FindingKind::GreetingHostName),
                None,
                "{table}"
            );
            continue;
        }
        assert_eq!(
            audit.observations.greeting_host.as_deref(),
            Some("mx1.example.net"),
            "{dialect}: {table}"
        );
        assert_eq!(
            found(&audit, FindingKind::GreetingHostName),
            Some(Severity::Warn),
            "{table}"
        );
    }
    // Absent: every other test's server greets as `localhost`; an honest one has no finding
    // at all (an_honest_server_accepts_tls12_and_tls13_only).
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hello_retry_request_names_the_group_the_server_wants() {
    let mut config = mock(Dialect::Implicit, Behaviour::Honest);
    config.tls.kx_groups = Some(vec![rustls::NamedGroup::secp384r1]);
    let audit = audit(config).await;
    let retry = &audit.observations.hello_retry;
    assert_eq!(retry.retried, Some(true), "{}", audit.table());
    assert_eq!(
        retry.group.as_deref(),
        Some("secp384r1"),
        "{}",
        audit.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_run_makes_its_failures_known_and_a_new_one_fails() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, Pki::shared(KeyKind::EcdsaP256).root_pem()).expect("ca.pem");
    let expect = dir.path().join("expect.json").display().to_string();
    let run = |port: u16, extra: Vec<String>| {
        let mut args = vec![
            "127.0.0.1".to_owned(),
            port.to_string(),
            "--starttls".to_owned(),
            "smtp".to_owned(),
            "--ca".to_owned(),
            ca.display().to_string(),
            "--name".to_owned(),
            testpki::TEST_HOST.to_owned(),
        ];
        args.extend(extra);
        run_bin(args)
    };
    let mut config = mock(Dialect::Smtp, Behaviour::Honest);
    config.injection_policy = InjectionPolicy::Vulnerable;
    let vulnerable = testing::spawn(config).await;
    let port = vulnerable.addr().port();
    let written = run(port, vec!["--write-expect".into(), expect.clone()]).await;
    assert_eq!(written.status.code(), Some(1), "{written:?}");
    let known = run(port, vec!["--expect".into(), expect.clone()]).await;
    let text = String::from_utf8_lossy(&known.stdout);
    assert_eq!(known.status.code(), Some(0), "{text}");
    // In the order of the finding kinds.
    assert!(
        text.contains("expect: known injection-same-write, injection-later-write"),
        "{text}"
    );
    vulnerable.shutdown().await;
    // A server that also refuses STARTTLS: a new failure.
    let refusing = testing::spawn(mock(
        Dialect::Smtp,
        Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
    ))
    .await;
    let new = run(
        refusing.addr().port(),
        vec!["--expect".into(), expect.clone()],
    )
    .await;
    let text = String::from_utf8_lossy(&new.stdout);
    assert_eq!(new.status.code(), Some(1), "{text}");
    assert!(text.contains("expect: new starttls-refused"), "{text}");
    assert!(text.contains("expect: fixed"), "{text}");
    refusing.shutdown().await;
    // A file that is no baseline is a bad command line.
    std::fs::write(&expect, b"{}x").expect("overwritten");
    let bad = run(1, vec!["--expect".into(), expect]).await;
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}
