//! Runs one case: a mock server on its own loopback listener, the client against it, then the
//! observation in the oracle's vocabulary plus the contract checks the outcome alone cannot
//! show (silence before a refused level, no plaintext after a failure).
//!
//! The runner sets a case up (the server's dialect, behaviour, TLS policy and certificate; the
//! client's trust anchors and controls) and reports what happened. It decides nothing about
//! what should happen: that is the oracle's job.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mockserver::testing::{RunningServer, spawn};
use mockserver::{Behaviour as MockBehaviour, ClientAuth, LegacyVersion, MockConfig, VersionSet};
use proto::ProtectionLevel;
use proto::cert::ChainValidationResult;
use proto::starttls::Dialect;
use streamsocket::{
    Error, ErrorKind, SocketControl, StreamSocket, TrustAnchors, read_string, write_string,
};
use testpki::Pki;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::case::{Behaviour, Case, Control, Mode, ServerTls};
use crate::oracle::{self, CertError, Failure, Outcome, Version};
use crate::report::CaseResult;

/// The host name the client validates: every testpki leaf (but wrong-host) names it.
const HOST: &str = "localhost";

/// The frame the framed client sends in plaintext before upgrading, as in the seed.
const HELLO: &str = "Hello World \u{263a} ";

/// The client's handshake timeout for cases where the server stalls on purpose.
const STALL_TIMEOUT: Duration = Duration::from_millis(600);

/// The client's handshake timeout otherwise: generous, since a case that hits it fails.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the runner waits for the server to see the connection end.
const CLOSE_WAIT: Duration = Duration::from_secs(5);

/// Runs `case` and compares it with the oracle.
pub async fn run_case(case: Case) -> CaseResult {
    let started = Instant::now();
    let expected = oracle::expect(&case);
    let run = match execute(&case, &expected).await {
        Ok(run) => run,
        Err(setup) => Run {
            outcome: Outcome::Failed {
                failure: Failure::Closed,
                cert_errors: vec![],
            },
            violations: vec![format!("case setup failed: {setup:#}")],
            information: None,
            certificate_errors: Vec::new(),
            error_kind: None,
            error: None,
        },
    };
    let Run {
        outcome: observed,
        violations,
        information,
        certificate_errors,
        error_kind,
        error,
    } = run;
    let pass = expected.accepts(&observed) && violations.is_empty();
    CaseResult {
        id: case.id(),
        case,
        expected,
        observed,
        violations,
        pass,
        information,
        certificate_errors,
        error_kind,
        error,
        duration: started.elapsed(),
    }
}

struct Run {
    outcome: Outcome,
    violations: Vec<String>,
    information: Option<serde_json::Value>,
    certificate_errors: Vec<String>,
    error_kind: Option<String>,
    error: Option<String>,
}

async fn execute(case: &Case, expected: &oracle::Expected) -> anyhow::Result<Run> {
    let silent = expected.silent;
    let pki = Pki::shared(case.key);
    let config = server_config(case, pki)?;
    let identity = Arc::clone(&config.identity);
    let server = spawn(config).await;
    let port = server.addr().port().to_string();

    let mut control = SocketControl::default();
    control.set_trust_anchors(TrustAnchors::from_der(
        identity.trust_anchors.iter().cloned(),
    ))?;
    control.set_crls(identity.crls.clone())?;
    // A case that only waits for the client's limit gets a short one.
    control.set_handshake_timeout(if case.behaviour.waits_for_the_client_timeout() {
        STALL_TIMEOUT
    } else {
        HANDSHAKE_TIMEOUT
    })?;
    match case.control {
        Control::Defaults | Control::MutualTlsWithoutCertificate => {}
        Control::IgnoreScenarioErrors => {
            let ignorable = oracle::scenario_errors(case.scenario)
                .into_iter()
                .map(|e| {
                    e.name().parse::<ChainValidationResult>().map_err(|_| {
                        anyhow::anyhow!("no ChainValidationResult is named {}", e.name())
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            // A control may refuse fatal classes outright (an invalid argument); the case then
            // goes on without ignoring anything, and the oracle's verdict is the same.
            if let Err(e) = control.set_ignorable_server_certificate_errors(ignorable) {
                anyhow::ensure!(
                    e.kind() == ErrorKind::InvalidArgument,
                    "setting ignorable errors failed: {e}"
                );
            }
        }
        Control::MinimumTls13 => control.set_min_protection_level(Some(ProtectionLevel::Tls13))?,
        Control::MutualTls => {
            let client = pki.client(true)?;
            control.set_client_identity(Some(streamsocket::ClientIdentity::new(
                client.chain.clone(),
                client.key.clone_key(),
            )?))?;
        }
    }
    let mut socket = StreamSocket::with_control(control);

    // The runner's own plaintext, written before the upgrade starts (the seed's hello frame).
    let mut runner_plaintext: Vec<u8> = Vec::new();
    let mut echo: Option<String> = None;
    let mut pg_reply: Option<[u8; PG_READY.len()]> = None;
    let result: Result<(), Error> = async {
        match case.mode {
            Mode::Connect => socket.connect(HOST, &port, case.level).await?,
            Mode::Framed => {
                socket
                    .connect(HOST, &port, ProtectionLevel::PlainSocket)
                    .await?;
                write_string(&mut socket, HELLO).await?;
                runner_plaintext = frame(HELLO);
                socket.upgrade_to_ssl(case.level, HOST).await?;
            }
            Mode::Ftp
            | Mode::Smtp
            | Mode::Lmtp
            | Mode::Imap
            | Mode::Irc
            | Mode::Pop3
            | Mode::Nntp
            | Mode::Sieve
            | Mode::Postgres
            | Mode::Mysql => {
                socket
                    .connect(HOST, &port, ProtectionLevel::PlainSocket)
                    .await?;
                socket
                    .upgrade_with(dialect(case.mode), case.level, HOST)
                    .await?;
            }
        }
        // One exchange inside TLS proves the server finished too (TLS 1.3 client-certificate
        // failures surface only here). Line dialects did theirs: the post-TLS capabilities.
        if socket.information().is_encrypted() && matches!(case.mode, Mode::Connect | Mode::Framed)
        {
            write_string(&mut socket, "ping").await?;
            echo = Some(read_string(&mut socket).await?);
        }
        // PostgreSQL asked nothing inside TLS: a StartupMessage is its exchange there.
        if socket.information().is_encrypted() && case.mode == Mode::Postgres {
            socket.write_all(&PG_STARTUP).await?;
            let mut reply = [0u8; PG_READY.len()];
            socket.read_exact(&mut reply).await?;
            pg_reply = Some(reply);
        }
        Ok(())
    }
    .await;

    let info = socket.information().clone();
    let information = serde_json::to_value(&info).ok();
    let cert_errors = cert_errors(&info.server_certificate_errors);
    let mut violations = Vec::new();
    // A class outside the oracle's vocabulary would drop out of `cert_errors` unseen.
    for class in &info.server_certificate_errors {
        if !CertError::ALL.iter().any(|c| c.name() == class.name()) {
            violations.push(format!(
                "the client reported {class}, a class the oracle has no name for"
            ));
        }
    }
    // Every certificate error explains itself as testpki's scenario definition says.
    let details = information
        .as_ref()
        .and_then(|i| i.get("server_certificate_error_details"));
    for problem in oracle::check_contexts(&expected.contexts, details) {
        violations.push(format!("certificate error context: {problem}"));
    }
    let certificate_errors: Vec<String> = info
        .server_certificate_error_details
        .iter()
        .map(ToString::to_string)
        .collect();
    if let Some(reply) = pg_reply.filter(|r| r != PG_READY) {
        violations.push(format!(
            "the server answered the StartupMessage with {reply:?}"
        ));
    }
    if let Some(echo) = echo.filter(|e| e != "ping") {
        violations.push(format!("the server echoed {echo:?} for \"ping\""));
    }
    let (outcome, error) = match &result {
        Ok(()) => match info.protocol_version {
            None => (Outcome::Plaintext, None),
            Some(v) => {
                let version = match v {
                    proto::TlsVersion::Tls12 => Version::Tls12,
                    proto::TlsVersion::Tls13 => Version::Tls13,
                };
                if info.protection_level != ProtectionLevel::from_version(v) {
                    violations.push(format!(
                        "reported level {} is not the negotiated one ({v})",
                        info.protection_level
                    ));
                }
                (
                    Outcome::Secured {
                        version,
                        cert_errors: cert_errors.clone(),
                    },
                    None,
                )
            }
        },
        Err(err) => {
            if info.is_encrypted() && classify(err) != Failure::ClientCertificateRejected {
                violations.push("the socket still reports TLS after a failure".to_owned());
            }
            if info.protection_level != ProtectionLevel::PlainSocket && !info.is_encrypted() {
                violations.push(format!(
                    "failed socket reports level {}",
                    info.protection_level
                ));
            }
            (
                Outcome::Failed {
                    failure: classify(err),
                    cert_errors: cert_errors.clone(),
                },
                Some(format!(
                    "{} ({}): {}",
                    err.kind().name(),
                    kind_status(err),
                    chain(err)
                )),
            )
        }
    };
    if result.is_err() {
        // Sticky errors: the next call returns the same error and sends nothing.
        let again = write_string(&mut socket, "after failure").await;
        match again {
            Err(e) if e.kind() == result.as_ref().err().map_or(ErrorKind::Io, Error::kind) => {}
            Err(e) => violations.push(format!("the error is not sticky: then {}", e.kind().name())),
            Ok(()) => violations.push("a write after a failure succeeded".to_owned()),
        }
    }
    drop(socket);
    violations.extend(check_transcript(case, silent, &server, &runner_plaintext, &outcome).await);
    server.shutdown().await;
    let error_kind = result.as_ref().err().map(|e| e.kind().name().to_owned());
    Ok(Run {
        outcome,
        violations,
        information,
        certificate_errors,
        error_kind,
        error,
    })
}

/// What the server saw, checked against the contract: nothing sent by a silent failure, and
/// no plaintext beyond the dialect's own commands from a client that demanded TLS.
async fn check_transcript(
    case: &Case,
    silent: bool,
    server: &RunningServer,
    runner_plaintext: &[u8],
    outcome: &Outcome,
) -> Vec<String> {
    let mut violations = Vec::new();
    let stats = server.snapshot();
    if silent && case.mode == Mode::Connect {
        if stats.connections != 0 {
            violations.push("a refused level still opened a connection".to_owned());
        }
        return violations;
    }
    if stats.connections == 0 {
        return violations;
    }
    if tokio::time::timeout(CLOSE_WAIT, server.wait_closed(1))
        .await
        .is_err()
    {
        violations.push("the server did not see the connection end".to_owned());
        return violations;
    }
    let transcripts = server.transcripts();
    let Some(transcript) = transcripts.first() else {
        violations.push("the server kept no transcript".to_owned());
        return violations;
    };
    let plaintext = transcript.bytes(mockserver::Phase::Plaintext);
    if silent {
        // The upgrade call failed before sending anything: the server saw only what the
        // runner wrote itself.
        if plaintext != runner_plaintext {
            violations.push(format!(
                "a refused level still sent {} plaintext byte(s)",
                plaintext.len().saturating_sub(runner_plaintext.len())
            ));
        }
        return violations;
    }
    if case.level != ProtectionLevel::PlainSocket && case.mode.is_line_dialect() {
        for line in String::from_utf8_lossy(&plaintext)
            .split("\r\n")
            .filter(|l| !l.is_empty())
        {
            if !allowed_plaintext_command(case.mode, line) {
                violations.push(format!(
                    "plaintext command from a TLS-demanding client: {line:?}"
                ));
            }
        }
    }
    // A TLS-demanding PostgreSQL client sends its SSLRequest and nothing else in plaintext: no
    // StartupMessage after a refusal ("Message Flow: SSL Session Encryption").
    if case.level != ProtectionLevel::PlainSocket
        && case.mode == Mode::Postgres
        && plaintext != PG_SSL_REQUEST
    {
        violations.push(format!(
            "plaintext other than the SSLRequest from a TLS-demanding client: {plaintext:?}"
        ));
    }
    // MySQL: nothing, or the SSLRequest alone (32 bytes at sequence 1 with CLIENT_SSL, 0x800),
    // then only the handshake (0x16).
    if case.level != ProtectionLevel::PlainSocket && case.mode == Mode::Mysql {
        let rest = match plaintext.split_at_checked(36) {
            Some((request, rest)) if request[..4] == [32, 0, 0, 1] && request[5] & 0x08 != 0 => {
                rest
            }
            _ => &plaintext[..],
        };
        if !rest.is_empty() && rest[0] != 0x16 {
            violations.push(format!(
                "plaintext other than one SSLRequest from a TLS-demanding client: {} byte(s)",
                rest.len()
            ));
        }
    }
    if matches!(outcome, Outcome::Failed { .. }) && case.mode == Mode::Framed {
        let extra = plaintext
            .strip_prefix(runner_plaintext)
            .unwrap_or(&plaintext);
        if extra.iter().any(|&b| b != 0x16) && extra.first() != Some(&0x16) {
            violations.push("plaintext other than a ClientHello after the hello frame".to_owned());
        }
    }
    violations
}

/// The plaintext commands a TLS-demanding client may send in each dialect: the capability
/// query, the upgrade itself, and the farewell after a failure.
fn allowed_plaintext_command(mode: Mode, line: &str) -> bool {
    let upper = line.to_ascii_uppercase();
    let words: Vec<&str> = upper.split_whitespace().collect();
    match mode {
        Mode::Smtp => matches!(
            words.first(),
            Some(&("EHLO" | "HELO" | "STARTTLS" | "QUIT"))
        ),
        // RFC 2033 section 4.1: LHLO is LMTP's only greeting.
        Mode::Lmtp => matches!(words.first(), Some(&("LHLO" | "STARTTLS" | "QUIT"))),
        // Skip the tag.
        Mode::Imap => matches!(words.get(1), Some(&("CAPABILITY" | "STARTTLS" | "LOGOUT"))),
        Mode::Pop3 => matches!(words.first(), Some(&("CAPA" | "STLS" | "QUIT"))),
        // RFC 4642 section 2.1: STARTTLS is learnt from CAPABILITIES.
        Mode::Nntp => matches!(words.first(), Some(&("CAPABILITIES" | "STARTTLS" | "QUIT"))),
        // RFC 5804 section 2.2: the greeting lists the capabilities; CAPABILITY asks again.
        Mode::Sieve => matches!(words.first(), Some(&("CAPABILITY" | "STARTTLS" | "LOGOUT"))),
        // RFC 4217 section 6 (FEAT lists AUTH TLS), section 4.1 (AUTH TLS), RFC 959 (QUIT).
        Mode::Ftp => matches!(words.first(), Some(&("FEAT" | "QUIT"))) || words == ["AUTH", "TLS"],
        // IRCv3: CAP LS learns `tls`; STARTTLS; QUIT after a failure.
        Mode::Irc => matches!(words.first(), Some(&("CAP" | "STARTTLS" | "QUIT"))),
        Mode::Connect | Mode::Framed | Mode::Postgres | Mode::Mysql => false,
    }
}

/// The failure class of a client error, in the oracle's vocabulary.
fn classify(err: &Error) -> Failure {
    match err.kind() {
        ErrorKind::InvalidArgument => Failure::InvalidArgument,
        ErrorKind::UnsupportedProtectionLevel => Failure::UnsupportedLevel,
        ErrorKind::StartTlsNotOffered => Failure::StartTlsNotOffered,
        ErrorKind::StartTlsRefused => Failure::StartTlsRefused,
        ErrorKind::PlaintextAfterGoAhead => Failure::PlaintextAfterGoAhead,
        ErrorKind::PlaintextInsteadOfTls => Failure::PlaintextInsteadOfTls,
        ErrorKind::TlsInsteadOfPlaintext => Failure::TlsInsteadOfPlaintext,
        ErrorKind::ProtocolVersionMismatch => Failure::VersionMismatch,
        ErrorKind::HandshakeTimedOut => Failure::HandshakeTimedOut,
        ErrorKind::Truncated | ErrorKind::ConnectionResetByPeer => Failure::Closed,
        ErrorKind::CertificateExpired
        | ErrorKind::CertificateIsInvalid
        | ErrorKind::CertificateCommonNameIsIncorrect
        | ErrorKind::CertificateRevoked
        | ErrorKind::CertificateUntrustedRoot
        | ErrorKind::CertificateWrongUsage => Failure::CertificateRejected,
        _ => match rustls_error(err) {
            Some(rustls::Error::AlertReceived(alert)) => match alert {
                rustls::AlertDescription::CertificateRequired
                | rustls::AlertDescription::BadCertificate
                | rustls::AlertDescription::CertificateUnknown
                | rustls::AlertDescription::UnknownCA
                | rustls::AlertDescription::HandshakeFailure => Failure::ClientCertificateRejected,
                rustls::AlertDescription::ProtocolVersion => Failure::VersionMismatch,
                _ => Failure::NotTls,
            },
            Some(rustls::Error::InvalidMessage(_) | rustls::Error::InappropriateMessage { .. }) => {
                Failure::NotTls
            }
            Some(_) => Failure::NotTls,
            None if err.kind() == ErrorKind::Protocol => Failure::NotTls,
            None => Failure::Closed,
        },
    }
}

/// The rustls error somewhere in the source chain of `err`, if any.
fn rustls_error(err: &Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        let io = e
            .downcast_ref::<std::io::Error>()
            .or_else(|| e.downcast_ref::<Arc<std::io::Error>>().map(|a| &**a));
        if let Some(found) = io
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref())
        {
            return Some(found);
        }
        current = e.source();
    }
    None
}

fn chain(err: &Error) -> String {
    let mut out = err.to_string();
    let mut current = std::error::Error::source(err);
    while let Some(e) = current {
        out.push_str(": ");
        out.push_str(&e.to_string());
        current = e.source();
    }
    out
}

fn kind_status(err: &Error) -> String {
    err.status()
        .map_or_else(|| "no WinRT status".to_owned(), |s| format!("status {s}"))
}

fn cert_errors(errors: &[ChainValidationResult]) -> Vec<CertError> {
    let mut out: Vec<CertError> = errors
        .iter()
        .filter_map(|e| {
            let name = e.to_string();
            CertError::ALL.into_iter().find(|c| c.name() == name)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

fn frame(text: &str) -> Vec<u8> {
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out
}

fn dialect(mode: Mode) -> Dialect {
    match mode {
        Mode::Connect => Dialect::Implicit,
        Mode::Framed => Dialect::Framed,
        Mode::Ftp => Dialect::Ftp,
        Mode::Smtp => Dialect::Smtp,
        Mode::Lmtp => Dialect::Lmtp,
        Mode::Imap => Dialect::Imap,
        Mode::Irc => Dialect::Irc,
        Mode::Pop3 => Dialect::Pop3,
        Mode::Nntp => Dialect::Nntp,
        Mode::Sieve => Dialect::Sieve,
        Mode::Postgres => Dialect::Postgres,
        Mode::Mysql => Dialect::Mysql,
    }
}

/// PostgreSQL's SSLRequest: Int32 8, Int32 80877103 ("Message Formats").
const PG_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

/// A StartupMessage of protocol 3.0 for user `u`.
const PG_STARTUP: [u8; 16] = [
    0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
];

/// AuthenticationOk, then ReadyForQuery (idle): what the mock answers a StartupMessage with.
const PG_READY: &[u8; 15] = b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I";

/// The mock server for a case.
fn server_config(case: &Case, pki: &Pki) -> anyhow::Result<MockConfig> {
    let served = match case.behaviour {
        Behaviour::SmtpPort => Dialect::Smtp,
        Behaviour::ImapPort => Dialect::Imap,
        Behaviour::Pop3Port => Dialect::Pop3,
        Behaviour::ImplicitPort => Dialect::Implicit,
        _ => dialect(case.mode),
    };
    let mut config = mockserver::testing::config(served, case.scenario, case.key);
    config.identity = Arc::new(pki.server(case.scenario)?);
    if case.behaviour == Behaviour::StallAfterGoAhead {
        // The stalling server answers nothing and ends when the client closes; its own
        // timeout outlasts the client's, so that the client's is the one observed, and bounds
        // the case if the client never gives up.
        config.limits.handshake_timeout = STALL_TIMEOUT * 2;
    }
    config.behaviour = match case.behaviour {
        Behaviour::Honest => MockBehaviour::Honest,
        Behaviour::StartTlsNotAdvertised => MockBehaviour::StartTlsNotAdvertised,
        Behaviour::StartTlsRefused => {
            MockBehaviour::StartTlsRefused(mockserver::Refusal::Temporary)
        }
        Behaviour::TlsRequired => MockBehaviour::TlsRequired,
        Behaviour::ResponseInjection => MockBehaviour::ResponseInjection,
        Behaviour::Preauth => MockBehaviour::Preauth,
        Behaviour::StallAfterGoAhead => MockBehaviour::StallAfterGoAhead,
        Behaviour::GarbageInsteadOfServerHello => MockBehaviour::GarbageInsteadOfServerHello,
        Behaviour::CloseMidHandshake => MockBehaviour::CloseMidHandshake,
        Behaviour::SmtpPort
        | Behaviour::ImapPort
        | Behaviour::Pop3Port
        | Behaviour::ImplicitPort => MockBehaviour::Honest,
    };
    match case.server {
        ServerTls::Both => config.tls.versions = VersionSet::BOTH,
        ServerTls::Tls12Only => config.tls.versions = VersionSet::TLS12_ONLY,
        ServerTls::Tls13Only => config.tls.versions = VersionSet::TLS13_ONLY,
        ServerTls::LegacyTls11 => {
            config.behaviour = MockBehaviour::LegacyOnly(LegacyVersion::Tls11)
        }
        ServerTls::LegacyTls10 => {
            config.behaviour = MockBehaviour::LegacyOnly(LegacyVersion::Tls10)
        }
        ServerTls::LegacySsl3 => config.behaviour = MockBehaviour::LegacyOnly(LegacyVersion::Ssl3),
        ServerTls::PlaintextOnly => {
            // A server without TLS: an SMTP server that never offers STARTTLS (for the framed
            // and connect modes too, where its greeting is what the client meets), or the
            // dialect's own server without STARTTLS (PostgreSQL's answers `N`).
            if !case.mode.can_refuse_tls() && case.mode != Mode::Postgres {
                config.dialect = Dialect::Smtp;
            }
            config.behaviour = MockBehaviour::StartTlsNotAdvertised;
        }
    }
    if matches!(
        case.control,
        Control::MutualTls | Control::MutualTlsWithoutCertificate
    ) {
        config.tls.client_auth = ClientAuth::Required;
        config.tls.client_ca = vec![pki.client_ca_der()];
    }
    Ok(config)
}
