//! `streamsocket-audit server HOST SERVICE`: what a TLS/STARTTLS server accepts, level by
//! level, and whether its STARTTLS can be attacked.
//!
//! ```text
//!   HOST SERVICE ──► Target (one address, dialect, name, timeout)
//!        │
//!        ├─ client library: Ssl (+ capabilities inside TLS, certificate), Tls12, Tls13
//!        ├─ client library + injected command: same write as STARTTLS, later write
//!        ├─ client library, twice per version with one session store: resumed or not
//!        ├─ client library offering the --alpn protocols: the server's choice
//!        └─ raw hellos from proto::probe: SSL 3.0, TLS 1.0, TLS 1.1; NULL, EXPORT, RC4, 3DES,
//!           CBC-SHA1 suites; TLS 1.3 without a key share (nothing past the ServerHello or
//!           the HelloRetryRequest)
//!                        │
//!                        ▼
//!   judge::Observations ──► judge::levels, judge::findings (pure) ──► ServerAudit (table,
//!                                                                    JSON, Markdown, JUnit)
//! ```
//!
//! Connections are made one after the other to the one address given (never a range), each
//! within the timeout. Layout: `wire` (private) moves the bytes, [`judge`] holds the rules,
//! [`expect`] compares a run with a saved one, `report` (private) writes the table, Markdown
//! and JUnit.

pub mod expect;
pub mod judge;
mod report;
mod wire;

use std::fmt::Write as _;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proto::ProtectionLevel;
use proto::hello::Weakness;
use proto::probe::{self, HelloSpec, ProbeReply, ProbeVersion};
use proto::starttls::Dialect;
use serde::Serialize;
use streamsocket::{
    ChainValidationResult, HandshakeKind, SessionStore, SocketControl, SocketInformation,
    TrustAnchors,
};

use self::judge::{
    AlpnProbe, Certificate, ChainEntry, GroupProbe, Handshake, InjectionProbe, RawProbe,
    Resumption, RetryProbe, SuiteProbe, WeakProbe,
};
pub use self::judge::{Finding, FindingKind, LevelRow, LevelStatus, Observations, Rules, Severity};
pub use self::wire::{Exchange, StartTlsAnswer};
use self::wire::{Injection, RawOutcome, Session, Target};

/// What to audit and how.
#[derive(Clone, Debug)]
pub struct ServerAuditConfig {
    /// The host (a name or an IP literal): resolved once, and only its first address is used.
    pub host: String,
    /// The port.
    pub port: u16,
    /// The dialect spoken before TLS.
    pub dialect: Dialect,
    /// The name certificates are validated for and sent as SNI (default: the host).
    pub name: Option<String>,
    /// The roots the chain is validated against.
    pub trust: TrustAnchors,
    /// The time allowed to each connection.
    pub timeout: Duration,
    /// ALPN protocols to offer in one more handshake, in preference order (`h2`, `http/1.1`);
    /// empty: no ALPN probe.
    pub alpn: Vec<Vec<u8>>,
    /// The rules' knobs.
    pub rules: Rules,
}

/// What can stop a server audit before it judges anything.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The server could not be reached (exit status 3).
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    /// The client library refused the options (trust anchors, name).
    #[error("invalid option")]
    Options(#[source] streamsocket::Error),
    /// A report could not be written.
    #[error("file system")]
    Io(#[source] std::io::Error),
    /// The JSON report could not be serialised.
    #[error("json report")]
    Json(#[source] serde_json::Error),
}

/// The audit's result.
#[derive(Clone, Debug, Serialize)]
pub struct ServerAudit {
    /// The host as given.
    pub host: String,
    /// The address audited.
    pub address: SocketAddr,
    /// The dialect.
    pub dialect: Dialect,
    /// The name validated.
    pub name: String,
    /// One row per WinRT level.
    pub levels: Vec<LevelRow>,
    /// Failures first, then warnings.
    pub findings: Vec<Finding>,
    /// What the findings were judged from.
    pub observations: Observations,
}

/// Runs every probe against the server and judges what they saw.
///
/// # Errors
///
/// [`ServerError::Unreachable`] when the host does not resolve or the first connection fails;
/// [`ServerError::Options`] for trust anchors or a name the client library refuses.
pub async fn audit_server(config: ServerAuditConfig) -> Result<ServerAudit, ServerError> {
    let addr = resolve(&config.host, config.port).await?;
    let name = config.name.clone().unwrap_or_else(|| config.host.clone());
    let target = Target {
        addr,
        name: name.clone(),
        dialect: config.dialect,
        timeout: config.timeout,
    };
    let control = control(&config)?;
    let unreachable = |e: wire::Unreachable| ServerError::Unreachable(e.0);
    let ssl = wire::secured(&target, &control, ProtectionLevel::Ssl, Injection::None)
        .await
        .map_err(unreachable)?;
    // After the first connection the server is known to listen: a later connection that fails
    // is an observation of that probe, not an unreachable server. When the first one showed
    // that the port does not speak the dialect at all, the others would only wait as long.
    let mismatch = matches!(
        ssl.exchange.answer,
        StartTlsAnswer::TlsFirst | StartTlsAnswer::NoGreeting
    );
    let (mut tls12, mut tls13) = (Handshake::NotAttempted, Handshake::NotAttempted);
    let (mut legacy, mut weak_suites) = (Vec::new(), Vec::new());
    let (mut suites, mut groups) = (Vec::new(), Vec::new());
    let ssl_handshake = handshake(&ssl);
    let mut injections = [None, None];
    let mut hello_retry = RetryProbe::not_probed("not probed: the port does not speak the dialect");
    let mut resumption = Resumption::default();
    let mut alpn = None;
    if !mismatch {
        let session = |level| wire::secured(&target, &control, level, Injection::HandshakeOnly);
        tls12 = session(ProtectionLevel::Tls12)
            .await
            .as_ref()
            .map_or_else(failed_connect, handshake);
        tls13 = session(ProtectionLevel::Tls13)
            .await
            .as_ref()
            .map_or_else(failed_connect, handshake);
        suites = suite_probes(&target, &control, &tls12, &tls13).await?;
        groups = group_probes(&target, &control, &ssl_handshake).await?;
        resumption = resumption_probes(&target, &control, &tls12, &tls13).await?;
        if !config.alpn.is_empty() && ssl_handshake.accepted() == Some(true) {
            alpn = Some(alpn_probe(&target, &control, &config.alpn).await?);
        }
        for version in ProbeVersion::LEGACY {
            legacy.push(legacy_probe(&target, version).await);
        }
        for weakness in Weakness::ALL {
            weak_suites.push(weak_probe(&target, weakness).await);
        }
        hello_retry = retry_probe(&target).await;
        if probe::injected_command(config.dialect).is_some() {
            for (slot, injection) in injections
                .iter_mut()
                .zip([Injection::SameWrite, Injection::LaterWrite])
            {
                let session =
                    wire::secured(&target, &control, ProtectionLevel::Ssl, injection).await;
                *slot = Some(injection_probe(config.dialect, session));
            }
        }
    }
    let [injection_same_write, injection_later_write] = injections;
    let greeting_host = config
        .dialect
        .is_line_based()
        .then(|| probe::greeting_host_name(&ssl.exchange.greeting_head, &name))
        .flatten();
    let observations = Observations {
        dialect: config.dialect,
        greeting: ssl.exchange.greeting,
        greeting_host,
        capabilities_before: ssl.exchange.capabilities.clone(),
        starttls: ssl.exchange.answer.clone(),
        capabilities_after: ssl.capabilities_after.clone(),
        second_starttls: ssl.second_starttls,
        ssl: ssl_handshake,
        suites,
        groups,
        tls12,
        tls13,
        legacy,
        weak_suites,
        hello_retry,
        resumption,
        alpn,
        injection_same_write,
        injection_later_write,
        certificate: certificate(&ssl.info, &name, SystemTime::now()),
    };
    let levels = judge::levels(&observations);
    let findings = judge::findings(&observations, &levels, config.rules);
    Ok(ServerAudit {
        host: config.host,
        address: addr,
        dialect: config.dialect,
        name,
        levels,
        findings,
        observations,
    })
}

/// The one address audited: an IP literal as it is (bracketed or not), or a name's first
/// address.
async fn resolve(host: &str, port: u16) -> Result<SocketAddr, ServerError> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Some(ip) = proto::service::parse_ip(bare) {
        return Ok(SocketAddr::new(ip, port));
    }
    let name = bare.to_owned();
    let found = tokio::task::spawn_blocking(move || {
        (name.as_str(), port)
            .to_socket_addrs()
            .map(|mut addrs| addrs.next())
            .map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| ServerError::Unreachable(e.to_string()))?;
    match found {
        Ok(Some(addr)) => Ok(addr),
        Ok(None) => Err(ServerError::Unreachable(format!("{host} has no address"))),
        Err(e) => Err(ServerError::Unreachable(format!(
            "{host} does not resolve: {e}"
        ))),
    }
}

/// The client library's options: the trust, the timeouts, and every certificate class that
/// can be ignored ignored, so that a version is judged even behind a broken chain (the
/// information still reports every problem).
fn control(config: &ServerAuditConfig) -> Result<SocketControl, ServerError> {
    let mut control = SocketControl::default();
    let options = |r: Result<(), streamsocket::Error>| r.map_err(ServerError::Options);
    // Every probe a full handshake: a resumed one would show no certificate and could carry
    // a suite over from an earlier probe.
    options(control.set_session_resumption(false))?;
    options(control.set_trust_anchors(config.trust.clone()))?;
    options(control.set_connect_timeout(config.timeout))?;
    options(control.set_handshake_timeout(config.timeout))?;
    options(control.set_ignorable_server_certificate_errors(vec![
        ChainValidationResult::Untrusted,
        ChainValidationResult::IncompleteChain,
        ChainValidationResult::Expired,
        ChainValidationResult::WrongUsage,
        ChainValidationResult::InvalidName,
        ChainValidationResult::RevocationInformationMissing,
        ChainValidationResult::RevocationFailure,
    ]))?;
    Ok(control)
}

/// Every suite the client library implements, one connection each, at the level of its
/// version; a version the server refused is not probed again suite by suite.
async fn suite_probes(
    target: &Target,
    control: &SocketControl,
    tls12: &Handshake,
    tls13: &Handshake,
) -> Result<Vec<SuiteProbe>, ServerError> {
    let mut probes = Vec::new();
    for suite in rustls::crypto::aws_lc_rs::ALL_CIPHER_SUITES {
        let (level, version, of_version) = match suite.version().version {
            rustls::ProtocolVersion::TLSv1_3 => (ProtectionLevel::Tls13, "TLS 1.3", tls13),
            _ => (ProtectionLevel::Tls12, "TLS 1.2", tls12),
        };
        let accepted = if matches!(of_version, Handshake::Completed { .. }) {
            let mut control = control.clone();
            control
                .set_cipher_suites([suite.suite()])
                .map_err(ServerError::Options)?;
            let session = wire::secured(target, &control, level, Injection::HandshakeOnly).await;
            session
                .as_ref()
                .map_or_else(failed_connect, handshake)
                .accepted()
        } else {
            None
        };
        probes.push(SuiteProbe {
            version: version.to_owned(),
            suite: format!("{:?}", suite.suite()),
            accepted,
        });
    }
    Ok(probes)
}

/// Every key-exchange group the client library implements, one connection each with `Ssl`
/// offering only that group (and its key share).
async fn group_probes(
    target: &Target,
    control: &SocketControl,
    ssl: &Handshake,
) -> Result<Vec<GroupProbe>, ServerError> {
    let mut probes = Vec::new();
    for group in SocketControl::supported_key_exchange_groups() {
        let accepted = if matches!(ssl, Handshake::Completed { .. }) {
            let mut control = control.clone();
            control
                .set_key_exchange_groups([group])
                .map_err(ServerError::Options)?;
            let level = ProtectionLevel::Ssl;
            let session = wire::secured(target, &control, level, Injection::HandshakeOnly).await;
            session
                .as_ref()
                .map_or_else(failed_connect, handshake)
                .accepted()
        } else {
            None
        };
        probes.push(GroupProbe {
            group: format!("{group:?}"),
            accepted,
        });
    }
    Ok(probes)
}

/// Session resumption: the TLS 1.2 ServerHello of a raw hello (a session id, a promised
/// ticket), then for each version the server accepted two handshakes of the client library
/// sharing one session store, the second of which says whether it resumed.
async fn resumption_probes(
    target: &Target,
    control: &SocketControl,
    tls12: &Handshake,
    tls13: &Handshake,
) -> Result<Resumption, ServerError> {
    let mut found = Resumption::default();
    if tls12.accepted() == Some(true) {
        let spec = HelloSpec {
            server_name: sni(&target.name),
            ..HelloSpec::new(ProbeVersion::Tls12, probe::LEGACY_SUITES)
        };
        if let Ok(ProbeReply::ServerHello(hello)) = raw(target, spec).await
            && hello.version == ProbeVersion::Tls12.wire()
        {
            found.tls12_session_id = Some(hello.session_id);
            found.tls12_ticket = Some(hello.ticket);
        }
        found.tls12_resumed = resumed(target, control, ProtectionLevel::Tls12).await?;
    }
    if tls13.accepted() == Some(true) {
        found.tls13_resumed = resumed(target, control, ProtectionLevel::Tls13).await?;
    }
    Ok(found)
}

/// One handshake with `Ssl` offering `offer` by ALPN: what the server chose, or why it refused.
async fn alpn_probe(
    target: &Target,
    control: &SocketControl,
    offer: &[Vec<u8>],
) -> Result<AlpnProbe, ServerError> {
    let mut control = control.clone();
    control
        .set_alpn_protocols(offer.to_vec())
        .map_err(ServerError::Options)?;
    let session = wire::secured(
        target,
        &control,
        ProtectionLevel::Ssl,
        Injection::HandshakeOnly,
    )
    .await;
    let offered = offer
        .iter()
        .map(|p| streamsocket::AlpnProtocol::new(p.clone()).to_string())
        .collect();
    let (chosen, refused) = match &session {
        Ok(session) => match handshake(session) {
            Handshake::Completed { .. } | Handshake::CertificateRefused { .. } => (
                session.info.alpn_protocol.as_ref().map(ToString::to_string),
                None,
            ),
            other => (None, Some(other.detail())),
        },
        Err(e) => (None, Some(e.0.clone())),
    };
    Ok(AlpnProbe {
        offered,
        chosen,
        refused,
    })
}

/// Whether a second handshake at `level` resumed the first one's session (`None`: one of them
/// did not complete).
async fn resumed(
    target: &Target,
    control: &SocketControl,
    level: ProtectionLevel,
) -> Result<Option<bool>, ServerError> {
    let mut control = control.clone();
    control
        .set_session_resumption(true)
        .map_err(ServerError::Options)?;
    control
        .set_session_store(SessionStore::in_memory(4))
        .map_err(ServerError::Options)?;
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let session = wire::secured(target, &control, level, Injection::Resumption).await;
        match session {
            Ok(session) if matches!(session.handshake, Some(wire::Handshake::Completed)) => {
                kinds.push(session.info.handshake_kind);
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(
        kinds.get(1).copied().flatten() == Some(HandshakeKind::Resumed),
    ))
}

fn failed_connect(e: &wire::Unreachable) -> Handshake {
    Handshake::Failed {
        kind: None,
        error: e.0.clone(),
    }
}

fn handshake(session: &Session) -> Handshake {
    let version = || session.info.protocol_version.map(|v| v.to_string());
    match &session.handshake {
        None => Handshake::NotAttempted,
        Some(wire::Handshake::Completed) => Handshake::Completed {
            version: version().unwrap_or_default(),
            suite: session
                .info
                .cipher_suite
                .map(|s| format!("{s:?}"))
                .unwrap_or_default(),
        },
        Some(wire::Handshake::Failed(e @ streamsocket::Error::Certificate { .. })) => {
            Handshake::CertificateRefused {
                version: version(),
                error: e.full_message(),
            }
        }
        Some(wire::Handshake::Failed(e)) => Handshake::Failed {
            kind: Some(e.kind()),
            error: e.full_message(),
        },
        Some(wire::Handshake::TimedOut) => Handshake::Failed {
            kind: Some(streamsocket::ErrorKind::HandshakeTimedOut),
            error: "the handshake did not complete within the timeout".to_owned(),
        },
    }
}

async fn legacy_probe(target: &Target, version: ProbeVersion) -> RawProbe {
    let spec = HelloSpec {
        server_name: sni(&target.name),
        ..HelloSpec::new(version, probe::LEGACY_SUITES)
    };
    let (reply, accepted) = match raw(target, spec).await {
        Ok(reply) => {
            let accepted = reply.accepts(version);
            (reply.to_string(), Some(accepted))
        }
        Err(why) => (why, None),
    };
    RawProbe {
        version,
        accepted,
        reply,
    }
}

async fn weak_probe(target: &Target, weakness: Weakness) -> WeakProbe {
    let suites = probe::weak_suites(weakness);
    let spec = HelloSpec {
        server_name: sni(&target.name),
        ..HelloSpec::new(ProbeVersion::Tls12, &suites)
    };
    match raw(target, spec).await {
        Ok(reply) => {
            let chosen = match &reply {
                ProbeReply::ServerHello(hello) if reply.weaknesses().contains(&weakness) => {
                    Some(hello.cipher_suite)
                }
                _ => None,
            };
            WeakProbe {
                weakness,
                chosen,
                probed: true,
                reply: reply.to_string(),
            }
        }
        Err(why) => WeakProbe {
            weakness,
            chosen: None,
            probed: false,
            reply: why,
        },
    }
}

/// One raw probe; `Err` says why it could not run.
async fn raw(target: &Target, spec: HelloSpec<'_>) -> Result<ProbeReply, String> {
    raw_hello(target, wire::hello_bytes(spec)).await
}

/// One raw probe of a hello already built (or not); `Err` says why it could not run.
async fn raw_hello(
    target: &Target,
    hello: Result<Vec<u8>, probe::BuildError>,
) -> Result<ProbeReply, String> {
    let hello = hello.map_err(|e| e.to_string())?;
    match wire::raw_probe(target, &hello).await {
        Ok(RawOutcome::Reply(reply)) => Ok(reply),
        Ok(RawOutcome::NoGoAhead(exchange)) => Err(format!(
            "not probed: no go-ahead for TLS ({:?})",
            exchange.answer
        )),
        Err(e) => Err(format!("not probed: {}", e.0)),
    }
}

/// The TLS 1.3 hello without a key share: answered with a HelloRetryRequest or not.
async fn retry_probe(target: &Target) -> RetryProbe {
    let hello = probe::retry_hello(sni(&target.name), wire::random());
    match raw_hello(target, hello).await {
        Ok(reply) => {
            let (retried, group) = match &reply {
                ProbeReply::HelloRetryRequest { group } => (
                    true,
                    group.map(|g| format!("{:?}", rustls::NamedGroup::from(g))),
                ),
                _ => (false, None),
            };
            RetryProbe {
                retried: Some(retried),
                group,
                reply: reply.to_string(),
            }
        }
        Err(why) => RetryProbe::not_probed(why),
    }
}

/// The name for SNI in a raw hello: a DNS name, never an IP literal.
fn sni(name: &str) -> Option<&str> {
    proto::service::parse_ip(name).is_none().then_some(name)
}

fn injection_probe(
    dialect: Dialect,
    session: Result<Session, wire::Unreachable>,
) -> InjectionProbe {
    let session = match session {
        Ok(session) => session,
        Err(e) => return InjectionProbe::NotTested(e.0),
    };
    match (
        &session.exchange.answer,
        &session.handshake,
        &session.unsolicited,
    ) {
        (StartTlsAnswer::GoAhead, Some(wire::Handshake::Completed), Some(bytes))
            if probe::answers_injected(dialect, bytes) =>
        {
            InjectionProbe::Answered(escape(bytes))
        }
        (StartTlsAnswer::GoAhead, Some(wire::Handshake::Completed), _) => {
            InjectionProbe::NotAnswered
        }
        (StartTlsAnswer::GoAhead, Some(wire::Handshake::Failed(e)), _) => {
            InjectionProbe::Refused(e.full_message())
        }
        (StartTlsAnswer::GoAhead, Some(wire::Handshake::TimedOut), _) => {
            InjectionProbe::Refused("the handshake timed out".to_owned())
        }
        (StartTlsAnswer::GoAhead, None, _) => {
            InjectionProbe::Refused("the connection failed before the handshake".to_owned())
        }
        (answer, ..) => InjectionProbe::NotTested(format!("no go-ahead for TLS ({answer:?})")),
    }
}

/// The chain from the `Ssl` handshake, with the days left to the leaf at `now`.
fn certificate(info: &SocketInformation, name: &str, now: SystemTime) -> Option<Certificate> {
    let leaf = info.server_certificates.first()?;
    let chain = info
        .server_certificates
        .iter()
        .map(|c| ChainEntry {
            subject: c.subject().to_owned(),
            issuer: c.issuer().to_owned(),
            subject_alt_names: c.subject_alt_names().to_vec(),
            not_after: c.not_after().to_owned(),
        })
        .collect();
    let now = now
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let days_until_expiry = x509_parser::parse_x509_certificate(leaf.der().as_ref())
        .ok()
        .map(|(_, cert)| cert.validity().not_after.timestamp().saturating_sub(now) / 86_400);
    Some(Certificate {
        chain,
        errors: info.server_certificate_errors.clone(),
        name: name.to_owned(),
        days_until_expiry,
    })
}

/// Printable ASCII as it is, CR and LF as `\r` `\n`, anything else as `\xNN`; at most 200
/// bytes.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(200) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
