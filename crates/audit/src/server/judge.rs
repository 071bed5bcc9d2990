//! The server audit's rules: what was observed in, the protection-level table and the
//! findings out. Pure: no socket, no clock (the days left are observed, not computed here).

use std::fmt;

use proto::ProtectionLevel;
use proto::cert::ChainValidationResult;
use proto::hello::Weakness;
use proto::probe::{self, ProbeVersion};
use proto::starttls::Dialect;
use serde::{Deserialize, Serialize};

/// Days before expiry under which a valid certificate is a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

/// Everything the probes saw, as typed values.
#[derive(Clone, Debug, Serialize)]
pub struct Observations {
    /// The dialect spoken before TLS.
    pub dialect: Dialect,
    /// Whether a plaintext greeting arrived (line dialects).
    pub greeting: bool,
    /// The host name the plaintext greeting gave away (line dialects).
    pub greeting_host: Option<String>,
    /// The capabilities announced before TLS.
    pub capabilities_before: Vec<String>,
    /// The answer to STARTTLS (always `go-ahead` for `Framed` and `Implicit`).
    pub starttls: crate::server::StartTlsAnswer,
    /// The capabilities announced again inside TLS; `None` when they were not.
    pub capabilities_after: Option<Vec<String>>,
    /// Whether STARTTLS sent again inside TLS got the go-ahead (`None`: not tried or not
    /// answered).
    pub second_starttls: Option<bool>,
    /// The client library's handshake with `Ssl` (TLS 1.3 or 1.2).
    pub ssl: Handshake,
    /// With `Tls12` (TLS 1.2 only).
    pub tls12: Handshake,
    /// With `Tls13` (TLS 1.3 only).
    pub tls13: Handshake,
    /// Each suite the client library implements, offered alone at its version's level.
    pub suites: Vec<SuiteProbe>,
    /// Each key-exchange group the client library implements, offered alone with `Ssl`.
    pub groups: Vec<GroupProbe>,
    /// The raw probes of SSL 3.0, TLS 1.0 and TLS 1.1, in that order.
    pub legacy: Vec<RawProbe>,
    /// The raw TLS 1.2 probes offering only the suites of one weakness each.
    pub weak_suites: Vec<WeakProbe>,
    /// The raw TLS 1.3 hello with an empty key share.
    pub hello_retry: RetryProbe,
    /// Session ids, tickets and whether a session is resumed.
    pub resumption: Resumption,
    /// What the server chose from the ALPN protocols offered; `None` when none were.
    pub alpn: Option<AlpnProbe>,
    /// A command pipelined after STARTTLS in the same write; `None` for dialects without one.
    pub injection_same_write: Option<InjectionProbe>,
    /// A command in its own write after the go-ahead, before the ClientHello.
    pub injection_later_write: Option<InjectionProbe>,
    /// The certificate chain, from the `Ssl` handshake; `None` when none was received.
    pub certificate: Option<Certificate>,
}

/// How a handshake of the client library went.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result")]
pub enum Handshake {
    /// It completed with this version and suite.
    Completed {
        /// The negotiated version (`TLS 1.3`, ...).
        version: String,
        /// The negotiated suite's registered name.
        suite: String,
    },
    /// The server sent a certificate the client library refused: the version was accepted.
    CertificateRefused {
        /// The negotiated version, when it was recorded.
        version: Option<String>,
        /// The error.
        error: String,
    },
    /// It failed before a certificate was judged.
    Failed {
        /// The client library's error kind (`ProtocolVersionMismatch`, ...); `None` when the
        /// connection itself failed.
        kind: Option<streamsocket::ErrorKind>,
        /// The error.
        error: String,
    },
    /// Not attempted: the exchange before TLS gave no go-ahead.
    NotAttempted,
}

impl Handshake {
    /// Whether the version (or the suite, or the group) was accepted; `None` when not tried.
    pub fn accepted(&self) -> Option<bool> {
        match self {
            Self::Completed { .. } | Self::CertificateRefused { .. } => Some(true),
            Self::Failed { .. } => Some(false),
            Self::NotAttempted => None,
        }
    }

    /// What it was, in words.
    pub fn detail(&self) -> String {
        match self {
            Self::Completed { version, suite } => format!("negotiated {version}, {suite}"),
            Self::CertificateRefused {
                version: Some(version),
                error,
            } => format!("negotiated {version}; {error}"),
            Self::CertificateRefused {
                version: None,
                error,
            } => format!("version accepted; {error}"),
            Self::Failed { error, .. } => error.clone(),
            Self::NotAttempted => "not tried: no go-ahead for TLS".to_owned(),
        }
    }
}

/// Whether one suite of the client library was accepted.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct SuiteProbe {
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: String,
    /// The suite's registered name.
    pub suite: String,
    /// Accepted, refused, or `None`: not tried (the version itself was refused).
    pub accepted: Option<bool>,
}

/// Whether one key-exchange group of the client library was accepted.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct GroupProbe {
    /// The group's registered name.
    pub group: String,
    /// Accepted, refused, or `None`: not tried (no TLS at all was accepted).
    pub accepted: Option<bool>,
}

/// What a raw probe found.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct RawProbe {
    /// The version the hello offered.
    #[serde(serialize_with = "display")]
    pub version: ProbeVersion,
    /// Whether the server chose exactly that version (`None`: not probed).
    pub accepted: Option<bool>,
    /// The answer, as layer 1 names it.
    pub reply: String,
}

/// What a weak-suite probe found.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct WeakProbe {
    /// The weakness every offered suite has.
    #[serde(serialize_with = "display")]
    pub weakness: Weakness,
    /// The suite chosen, when the server chose one with that weakness (`None` otherwise).
    pub chosen: Option<u16>,
    /// Whether the probe ran (the exchange before TLS gave the go-ahead).
    pub probed: bool,
    /// The answer, as layer 1 names it.
    pub reply: String,
}

/// What the TLS 1.3 hello with an empty `key_share` (and X25519, P-256, P-384 among its
/// `supported_groups`) was answered with.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct RetryProbe {
    /// Whether the answer was a HelloRetryRequest (`None`: the probe could not run).
    pub retried: Option<bool>,
    /// The group the HelloRetryRequest asked for a key share of.
    pub group: Option<String>,
    /// The answer, as layer 1 names it.
    pub reply: String,
}

impl RetryProbe {
    /// A probe that could not run, and why.
    pub fn not_probed(why: impl Into<String>) -> Self {
        Self {
            retried: None,
            group: None,
            reply: why.into(),
        }
    }
}

/// Session resumption, version by version; `None` wherever it was not probed (the version was
/// refused, or a handshake did not complete).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Resumption {
    /// TLS 1.2: the ServerHello to a raw hello carried a session id (resumable by id).
    pub tls12_session_id: Option<bool>,
    /// TLS 1.2: the ServerHello answered the `session_ticket` extension (a NewSessionTicket
    /// follows, RFC 5077).
    pub tls12_ticket: Option<bool>,
    /// TLS 1.2: a second handshake of the client library resumed the first one's session.
    pub tls12_resumed: Option<bool>,
    /// TLS 1.3: a second handshake resumed the first one's with a ticket (a PSK): the server
    /// sent a NewSessionTicket and accepted it.
    pub tls13_resumed: Option<bool>,
}

/// What the server chose from an ALPN offer.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct AlpnProbe {
    /// The protocols offered, in preference order (escaped as the client library prints them).
    pub offered: Vec<String>,
    /// The protocol the server chose; `None` when it chose none (or the handshake failed).
    pub chosen: Option<String>,
    /// Why the handshake failed (a `no_application_protocol` alert, RFC 7301 section 3.2);
    /// `None` when it completed.
    pub refused: Option<String>,
}

/// What an injection probe found.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "result", content = "detail")]
pub enum InjectionProbe {
    /// The injected command was answered inside TLS: the answer (escaped).
    Answered(String),
    /// The handshake completed and nothing came unasked.
    NotAnswered,
    /// The server would not go on (closed, refused the handshake): safe, and said why.
    Refused(String),
    /// The probe could not run (no go-ahead): why.
    NotTested(String),
}

/// The chain the server presented, and its problems under the audit's trust.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Certificate {
    /// Leaf first: subject, issuer, SANs, validity.
    pub chain: Vec<ChainEntry>,
    /// Every problem the client library found (all of them).
    pub errors: Vec<ChainValidationResult>,
    /// The name the chain was validated for.
    pub name: String,
    /// Whole days from the audit's run to the leaf's `notAfter` (negative: expired).
    pub days_until_expiry: Option<i64>,
}

/// One certificate of the chain.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct ChainEntry {
    /// The subject DN.
    pub subject: String,
    /// The issuer DN.
    pub issuer: String,
    /// The subject alternative names.
    pub subject_alt_names: Vec<String>,
    /// `notAfter`, RFC 3339.
    pub not_after: String,
}

/// What the audit concluded about one protection level.
#[derive(Clone, Copy, Debug, Deserialize, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LevelStatus {
    /// The server accepted a connection at this level.
    Accepted,
    /// It refused it.
    Refused,
    /// The level means nothing for this server (Bluetooth, or plaintext on a TLS port).
    NotApplicable,
    /// The probe could not run.
    NotTested,
}

impl fmt::Display for LevelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::NotApplicable => "not applicable",
            Self::NotTested => "not tested",
        })
    }
}

/// One row of the level table.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct LevelRow {
    /// The WinRT level.
    pub level: ProtectionLevel,
    /// Accepted, refused, not applicable, not tested.
    pub status: LevelStatus,
    /// What it was judged from.
    pub detail: String,
}

/// How bad a finding is.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Fails the audit (exit status 1).
    Fail,
    /// Reported, does not fail the audit.
    Warn,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fail => "FAIL",
            Self::Warn => "WARN",
        })
    }
}

/// Every kind of finding, by a stable kebab-case id.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// Authentication offered before TLS (RFC 8314).
    AuthBeforeTls,
    /// The capabilities were not announced again inside TLS.
    CapabilitiesNotReannounced,
    /// The chain has problems under the given trust.
    CertificateErrors,
    /// The leaf expires within [`EXPIRY_WARNING_DAYS`].
    CertificateExpiresSoon,
    /// The plaintext greeting, sent before TLS, names a host.
    GreetingHostName,
    /// A command pipelined in the same write as STARTTLS was answered inside TLS.
    InjectionSameWrite,
    /// A command written after the go-ahead, before the ClientHello, was answered inside TLS.
    InjectionLaterWrite,
    /// A legacy version (SSL 3.0, TLS 1.0, TLS 1.1) was accepted.
    LegacyVersion,
    /// TLS 1.3 was accepted, but a hello without a key share for a group the server supports
    /// was not answered with a HelloRetryRequest (RFC 8446, section 4.1.1).
    NoHelloRetryRequest,
    /// A level below `--require-min-level` was accepted.
    BelowMinimumLevel,
    /// The port speaks TLS at once where a STARTTLS dialect was spoken, or plaintext where TLS
    /// was.
    ModeMismatch,
    /// Neither TLS 1.2 nor TLS 1.3 was accepted.
    NoModernTls,
    /// STARTTLS was advertised again inside TLS (the session state was not reset).
    #[serde(rename = "starttls-after-upgrade")]
    StartTlsAfterUpgrade,
    /// STARTTLS sent again inside TLS got the go-ahead.
    #[serde(rename = "starttls-accepted-twice")]
    StartTlsAcceptedTwice,
    /// The STARTTLS exchange failed otherwise.
    #[serde(rename = "starttls-failed")]
    StartTlsFailed,
    /// STARTTLS was not advertised.
    #[serde(rename = "starttls-not-advertised")]
    StartTlsNotAdvertised,
    /// STARTTLS was refused.
    #[serde(rename = "starttls-refused")]
    StartTlsRefused,
    /// A suite with a weakness was chosen from a hello offering only such suites.
    WeakSuite,
}

impl FindingKind {
    /// The kebab-case id.
    pub fn id(self) -> &'static str {
        match self {
            Self::AuthBeforeTls => "auth-before-tls",
            Self::BelowMinimumLevel => "below-minimum-level",
            Self::CapabilitiesNotReannounced => "capabilities-not-reannounced",
            Self::CertificateErrors => "certificate-errors",
            Self::CertificateExpiresSoon => "certificate-expires-soon",
            Self::GreetingHostName => "greeting-host-name",
            Self::InjectionLaterWrite => "injection-later-write",
            Self::InjectionSameWrite => "injection-same-write",
            Self::LegacyVersion => "legacy-version",
            Self::ModeMismatch => "mode-mismatch",
            Self::NoHelloRetryRequest => "no-hello-retry-request",
            Self::NoModernTls => "no-modern-tls",
            Self::StartTlsAcceptedTwice => "starttls-accepted-twice",
            Self::StartTlsAfterUpgrade => "starttls-after-upgrade",
            Self::StartTlsFailed => "starttls-failed",
            Self::StartTlsNotAdvertised => "starttls-not-advertised",
            Self::StartTlsRefused => "starttls-refused",
            Self::WeakSuite => "weak-suite",
        }
    }
}

impl fmt::Display for FindingKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One finding.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Finding {
    /// What kind.
    pub kind: FindingKind,
    /// Fail or warn.
    pub severity: Severity,
    /// What was seen, in words.
    pub message: String,
}

/// The rules' knobs.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct Rules {
    /// An accepted level below this one fails (one of `Ssl3AllowWeakEncryption`, `Tls10`,
    /// `Tls11`, `Tls12`, `Tls13`).
    pub require_min_level: Option<ProtectionLevel>,
}

/// The levels a minimum can name, oldest first.
pub const VERSION_LEVELS: [ProtectionLevel; 5] = [
    ProtectionLevel::Ssl3AllowWeakEncryption,
    ProtectionLevel::Tls10,
    ProtectionLevel::Tls11,
    ProtectionLevel::Tls12,
    ProtectionLevel::Tls13,
];

fn rank(level: ProtectionLevel) -> Option<usize> {
    VERSION_LEVELS.iter().position(|&l| l == level)
}

fn legacy_level(version: ProbeVersion) -> ProtectionLevel {
    match version {
        ProbeVersion::Ssl3 => ProtectionLevel::Ssl3AllowWeakEncryption,
        ProbeVersion::Tls10 => ProtectionLevel::Tls10,
        ProbeVersion::Tls11 => ProtectionLevel::Tls11,
        ProbeVersion::Tls12 => ProtectionLevel::Tls12,
    }
}

/// The level table, in the WinRT numeric order.
pub fn levels(obs: &Observations) -> Vec<LevelRow> {
    ProtectionLevel::ALL
        .into_iter()
        .map(|level| {
            let (status, detail) = level_status(obs, level);
            LevelRow {
                level,
                status,
                detail,
            }
        })
        .collect()
}

fn level_status(obs: &Observations, level: ProtectionLevel) -> (LevelStatus, String) {
    let handshake = |h: &Handshake| match h.accepted() {
        Some(true) => (LevelStatus::Accepted, h.detail()),
        Some(false) => (LevelStatus::Refused, h.detail()),
        None => (LevelStatus::NotTested, h.detail()),
    };
    match level {
        ProtectionLevel::PlainSocket => match obs.dialect {
            d if d.is_line_based() && obs.greeting => (
                LevelStatus::Accepted,
                "plaintext greeting before STARTTLS".to_owned(),
            ),
            d if d.is_line_based() => (LevelStatus::Refused, "no plaintext greeting".to_owned()),
            Dialect::Mysql if obs.greeting => (
                LevelStatus::Accepted,
                "plaintext greeting before the SSLRequest".to_owned(),
            ),
            Dialect::Mysql => (LevelStatus::Refused, "no plaintext greeting".to_owned()),
            _ => (
                LevelStatus::NotApplicable,
                format!("{}: no plaintext exchange", obs.dialect),
            ),
        },
        ProtectionLevel::Ssl => handshake(&obs.ssl),
        ProtectionLevel::Unspecified => {
            let (status, detail) = handshake(&obs.ssl);
            (status, format!("as Ssl: {detail}"))
        }
        ProtectionLevel::SslAllowNullEncryption => {
            match obs
                .weak_suites
                .iter()
                .find(|p| p.weakness == Weakness::Null)
            {
                Some(WeakProbe {
                    chosen: Some(suite),
                    ..
                }) => (
                    LevelStatus::Accepted,
                    format!("chose the NULL suite {suite:#06x}"),
                ),
                Some(WeakProbe {
                    probed: true,
                    reply,
                    ..
                }) => (
                    LevelStatus::Refused,
                    format!("no NULL suite accepted ({reply})"),
                ),
                _ => (LevelStatus::NotTested, "no NULL probe ran".to_owned()),
            }
        }
        ProtectionLevel::BluetoothEncryptionAllowNullAuthentication
        | ProtectionLevel::BluetoothEncryptionWithAuthentication => {
            (LevelStatus::NotApplicable, "not a TCP level".to_owned())
        }
        ProtectionLevel::Ssl3AllowWeakEncryption
        | ProtectionLevel::Tls10
        | ProtectionLevel::Tls11 => {
            let probe = obs.legacy.iter().find(|p| legacy_level(p.version) == level);
            match probe {
                Some(RawProbe {
                    accepted: Some(true),
                    reply,
                    ..
                }) => (LevelStatus::Accepted, reply.clone()),
                Some(RawProbe {
                    accepted: Some(false),
                    reply,
                    ..
                }) => (LevelStatus::Refused, reply.clone()),
                Some(RawProbe { reply, .. }) => (LevelStatus::NotTested, reply.clone()),
                None => (LevelStatus::NotTested, "no probe ran".to_owned()),
            }
        }
        ProtectionLevel::Tls12 => handshake(&obs.tls12),
        ProtectionLevel::Tls13 => handshake(&obs.tls13),
    }
}

/// Every finding, failures first, each kind in the order of [`FindingKind`].
pub fn findings(obs: &Observations, levels: &[LevelRow], rules: Rules) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |kind, severity, message: String| {
        out.push(Finding {
            kind,
            severity,
            message,
        });
    };
    let minimum = rules.require_min_level.and_then(rank);
    let accepted = |level| {
        levels
            .iter()
            .any(|row| row.level == level && row.status == LevelStatus::Accepted)
    };
    for probe in &obs.legacy {
        if probe.accepted != Some(true) {
            continue;
        }
        let level = legacy_level(probe.version);
        let below = minimum.zip(rank(level)).is_some_and(|(min, r)| r < min);
        let severity = if probe.version == ProbeVersion::Ssl3 || below {
            Severity::Fail
        } else {
            Severity::Warn
        };
        let rfc = if probe.version == ProbeVersion::Ssl3 {
            "RFC 7568 prohibits it"
        } else {
            "RFC 8996 deprecates it"
        };
        add(
            FindingKind::LegacyVersion,
            severity,
            format!(
                "{} ({level}) accepted: {}; {rfc}",
                probe.version, probe.reply
            ),
        );
    }
    // The legacy levels are judged above; of the modern ones only TLS 1.2 can be below a
    // minimum (Tls13).
    let tls12 = ProtectionLevel::Tls12;
    if let Some(min) = minimum
        && rank(tls12).is_some_and(|r| r < min)
        && accepted(tls12)
    {
        let required = VERSION_LEVELS.get(min).copied().unwrap_or(tls12);
        add(
            FindingKind::BelowMinimumLevel,
            Severity::Fail,
            format!("{tls12} accepted, below the required {required}"),
        );
    }
    if obs.tls12.accepted() == Some(false) && obs.tls13.accepted() == Some(false) {
        add(
            FindingKind::NoModernTls,
            Severity::Fail,
            format!(
                "neither TLS 1.2 nor TLS 1.3 accepted (TLS 1.2: {}; TLS 1.3: {})",
                obs.tls12.detail(),
                obs.tls13.detail()
            ),
        );
    }
    if obs.tls13.accepted() == Some(true) && obs.hello_retry.retried == Some(false) {
        add(
            FindingKind::NoHelloRetryRequest,
            Severity::Warn,
            format!(
                "TLS 1.3 accepted, but a hello offering X25519, P-256 and P-384 with no key share \
                 got {} instead of a HelloRetryRequest: a client whose first key share guesses \
                 wrong cannot connect (RFC 8446, section 4.1.1)",
                obs.hello_retry.reply
            ),
        );
    }
    for probe in &obs.weak_suites {
        let Some(suite) = probe.chosen else { continue };
        let severity = match probe.weakness {
            Weakness::Null | Weakness::Export | Weakness::Rc4 => Severity::Fail,
            Weakness::TripleDes | Weakness::CbcSha1 => Severity::Warn,
        };
        add(
            FindingKind::WeakSuite,
            severity,
            format!(
                "a {} suite accepted: {suite:#06x} from a hello offering only {} suites",
                probe.weakness, probe.weakness
            ),
        );
    }
    if let Handshake::Failed {
        kind: Some(streamsocket::ErrorKind::PlaintextInsteadOfTls),
        error,
    } = &obs.ssl
        && !obs.dialect.is_line_based()
    {
        add(
            FindingKind::ModeMismatch,
            Severity::Fail,
            format!("{}: {error}", obs.dialect),
        );
    }
    if obs.dialect.is_line_based() || obs.dialect == Dialect::Mysql {
        starttls_findings(obs, &mut add);
    }
    if let Some(cert) = &obs.certificate {
        if !cert.errors.is_empty() {
            let names: Vec<String> = cert.errors.iter().map(ToString::to_string).collect();
            add(
                FindingKind::CertificateErrors,
                Severity::Fail,
                format!(
                    "the chain for {} has problems: {}",
                    cert.name,
                    names.join(", ")
                ),
            );
        }
        if let Some(days) = cert.days_until_expiry
            && (0..EXPIRY_WARNING_DAYS).contains(&days)
        {
            add(
                FindingKind::CertificateExpiresSoon,
                Severity::Warn,
                format!("the leaf certificate expires in {days} days"),
            );
        }
    }
    out.sort_by_key(|f| (f.severity, f.kind));
    out
}

fn starttls_findings(obs: &Observations, add: &mut impl FnMut(FindingKind, Severity, String)) {
    use crate::server::StartTlsAnswer;
    let d = obs.dialect;
    match &obs.starttls {
        StartTlsAnswer::GoAhead => {}
        StartTlsAnswer::NotOffered => add(
            FindingKind::StartTlsNotAdvertised,
            Severity::Fail,
            format!(
                "{d}: STARTTLS is not advertised (capabilities: {})",
                obs.capabilities_before.join(", ")
            ),
        ),
        StartTlsAnswer::Refused(reply) => add(
            FindingKind::StartTlsRefused,
            Severity::Fail,
            format!("{d}: STARTTLS refused: {reply}"),
        ),
        StartTlsAnswer::Failed(why) => add(
            FindingKind::StartTlsFailed,
            Severity::Fail,
            format!("{d}: the STARTTLS exchange failed: {why}"),
        ),
        StartTlsAnswer::TlsFirst => add(
            FindingKind::ModeMismatch,
            Severity::Fail,
            format!(
                "{d} spoken to a port of implicit TLS: the server sent a TLS record where the \
                 greeting was due; audit it without --starttls"
            ),
        ),
        StartTlsAnswer::NoGreeting => add(
            FindingKind::ModeMismatch,
            Severity::Fail,
            format!(
                "{d} spoken to a port that sent no greeting: it waits for the client to speak \
                 first, as a port of implicit TLS does; audit it without --starttls"
            ),
        ),
    }
    // MySQL: no command to inject, no capabilities inside TLS (its greeting's flags are all it
    // announces, once), no second SSLRequest: the answer to the upgrade is all there is.
    if d == Dialect::Mysql {
        return;
    }
    for (probe, kind, how) in [
        (
            &obs.injection_same_write,
            FindingKind::InjectionSameWrite,
            "pipelined in the same write as STARTTLS",
        ),
        (
            &obs.injection_later_write,
            FindingKind::InjectionLaterWrite,
            "written after the go-ahead, before the ClientHello",
        ),
    ] {
        if let Some(InjectionProbe::Answered(answer)) = probe {
            add(
                kind,
                Severity::Fail,
                format!(
                    "{d}: a command {how} was answered inside TLS (`{answer}`): plaintext \
                     processed as if protected (CVE-2011-0411 class)"
                ),
            );
        }
    }
    let completed = matches!(obs.ssl, Handshake::Completed { .. });
    match &obs.capabilities_after {
        Some(after) if probe::offers_starttls(d, after) => add(
            FindingKind::StartTlsAfterUpgrade,
            Severity::Fail,
            format!(
                "{d}: STARTTLS still advertised inside TLS: the session was not reset \
                 (capabilities: {})",
                after.join(", ")
            ),
        ),
        Some(_) => {}
        None if completed => add(
            FindingKind::CapabilitiesNotReannounced,
            Severity::Fail,
            format!("{d}: the capabilities were not announced again inside TLS"),
        ),
        None => {}
    }
    if obs.second_starttls == Some(true) {
        add(
            FindingKind::StartTlsAcceptedTwice,
            Severity::Fail,
            format!("{d}: STARTTLS sent again inside TLS got the go-ahead"),
        );
    }
    if let Some(host) = &obs.greeting_host {
        add(
            FindingKind::GreetingHostName,
            Severity::Warn,
            format!(
                "{d}: the plaintext greeting, sent before TLS, names the host {host}: anyone on \
                 the path learns it"
            ),
        );
    }
    if obs.greeting && probe::auth_offered(d, &obs.capabilities_before) {
        add(
            FindingKind::AuthBeforeTls,
            Severity::Warn,
            format!(
                "{d}: authentication offered before TLS (capabilities: {}); RFC 8314 wants \
                 credentials only over TLS",
                obs.capabilities_before.join(", ")
            ),
        );
    }
}

/// Serialises a vocabulary type of layer 1 by its name.
fn display<S: serde::Serializer>(value: &impl fmt::Display, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

#[cfg(test)]
pub(crate) mod tests;
