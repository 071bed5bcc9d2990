//! What one mock server does: dialect, behaviour, TLS policy, certificate and limits.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use proto::level::VersionSet;
use proto::starttls::{Dialect, InjectionPolicy, Refusal};
use rustls::{CipherSuite, NamedGroup};
use rustls_pki_types::CertificateDer;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Everything one mock server needs; shared by all its sessions.
#[derive(Clone, Debug)]
pub struct MockConfig {
    /// The protocol spoken before TLS (or none, for `Implicit`).
    pub dialect: Dialect,
    /// Honest, or one of the hostile situations.
    pub behaviour: Behaviour,
    /// Versions, suites, groups, ALPN, client authentication, resumption.
    pub tls: TlsPolicy,
    /// The certificate chain and key the server presents.
    pub identity: Arc<testpki::ServerIdentity>,
    /// What happens to bytes pipelined after the STARTTLS command (CVE-2011-0411 class).
    pub injection_policy: InjectionPolicy,
    /// Line, frame, time, error and connection limits.
    pub limits: Limits,
    /// The name the server gives in its greeting.
    pub hostname: String,
}

/// How the server behaves, honest or hostile.
///
/// Parses from and displays as kebab-case (`stall-after-go-ahead`, `legacy-only-tls10`); serde
/// uses the same strings.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Behaviour {
    /// Closes the connection right after reading the ClientHello.
    CloseMidHandshake,
    /// Answers the ClientHello with bytes that are not TLS.
    GarbageInsteadOfServerHello,
    /// A correct server.
    Honest,
    /// Answers a ClientHello as a server that only knows an old protocol version would: when the
    /// client offers that version, a ServerHello of it (and nothing more: the server has no
    /// key); otherwise a fatal `protocol_version` alert in a record of that version; then close.
    LegacyOnly(LegacyVersion),
    /// Answers any ClientHello as a server that knows only that old version and negotiates
    /// down to it (RFC 5246 appendix E.1): ServerHello of that version, Certificate and
    /// ServerHelloDone, built by hand. Records whether the client refused (a `protocol_version`
    /// alert) or went on (its ClientKeyExchange), then closes; nothing is negotiated further.
    LegacyServerHello(LegacyVersion),
    /// IMAP `PREAUTH` greeting (the session is authenticated in plaintext, STARTTLS is moot).
    Preauth,
    /// Plaintext appended after the go-ahead, in the same write.
    ResponseInjection,
    /// Sends the go-ahead, then reads and answers nothing until the handshake timeout.
    StallAfterGoAhead,
    /// STARTTLS is not in the capability list.
    StartTlsNotAdvertised,
    /// STARTTLS is advertised but refused with this answer: each code a real server gives
    /// (SMTP `454`, `501`, `554`; IMAP `NO`, `BAD`; POP3 `-ERR`) or a nonsense line.
    StartTlsRefused(Refusal),
    /// Every command but the session basics is refused until TLS (`530`, IMAP `LOGINDISABLED`).
    TlsRequired,
}

/// The old protocol versions a [`Behaviour::LegacyOnly`] or [`Behaviour::LegacyServerHello`]
/// server pretends to speak.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum LegacyVersion {
    /// SSL 3.0 (record version 3.0).
    Ssl3,
    /// TLS 1.0 (record version 3.1).
    Tls10,
    /// TLS 1.1 (record version 3.2).
    Tls11,
}

/// The TLS side of the server.
#[derive(Clone, Debug)]
pub struct TlsPolicy {
    /// Which protocol versions are enabled.
    pub versions: VersionSet,
    /// Cipher suites to enable (a subset of the provider's); `None` for the provider's default.
    pub cipher_suites: Option<Vec<CipherSuite>>,
    /// Key-exchange groups to enable; `None` for the provider's default.
    pub kx_groups: Option<Vec<NamedGroup>>,
    /// ALPN protocols, in preference order; empty for no ALPN.
    pub alpn: Vec<Vec<u8>>,
    /// Whether and how clients authenticate with a certificate.
    pub client_auth: ClientAuth,
    /// Trust anchors for client certificates (used unless `client_auth` is `None`).
    pub client_ca: Vec<CertificateDer<'static>>,
    /// Session resumption (session cache and TLS 1.3 tickets) on or off.
    pub resumption: bool,
}

impl Default for TlsPolicy {
    fn default() -> Self {
        Self {
            versions: VersionSet::BOTH,
            cipher_suites: None,
            kx_groups: None,
            alpn: Vec::new(),
            client_auth: ClientAuth::None,
            client_ca: Vec::new(),
            resumption: true,
        }
    }
}

/// Client authentication with certificates (mutual TLS).
#[derive(Clone, Copy, Debug, Default, Eq, Hash, PartialEq)]
pub enum ClientAuth {
    /// No certificate is requested.
    #[default]
    None,
    /// A certificate is requested; a client without one is accepted, a bad one is not.
    Optional,
    /// A valid client certificate is required.
    Required,
}

/// Limits; each violation is answered with the dialect's error and a close.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Limits {
    /// Longest accepted command line, CRLF included.
    pub line_len: usize,
    /// Longest accepted frame payload (Framed dialect).
    pub frame_len: u32,
    /// Time allowed for the TLS handshake (and, for hostile behaviours, for the ClientHello).
    pub handshake_timeout: Duration,
    /// Time allowed without any byte from the client.
    pub idle_timeout: Duration,
    /// Time allowed for one whole request (line or frame) to arrive once it has begun, so that
    /// a peer cannot hold a session by trickling one byte per idle period.
    pub request_timeout: Duration,
    /// The protocol error that closes the session: the `max_errors`-th error reply is followed
    /// by the goodbye and the close (`max_errors - 1` are tolerated).
    pub max_errors: u32,
    /// Sessions served at once; further connections get the dialect's refusal.
    pub max_connections: usize,
    /// Time `run` waits for sessions to end after shutdown was requested.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            line_len: 2048,
            frame_len: 1 << 20,
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(60),
            max_errors: 20,
            max_connections: 1024,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Behaviour {
    /// Every behaviour, each legacy version included.
    pub const ALL: [Self; 18] = [
        Self::CloseMidHandshake,
        Self::GarbageInsteadOfServerHello,
        Self::Honest,
        Self::LegacyOnly(LegacyVersion::Ssl3),
        Self::LegacyOnly(LegacyVersion::Tls10),
        Self::LegacyOnly(LegacyVersion::Tls11),
        Self::LegacyServerHello(LegacyVersion::Ssl3),
        Self::LegacyServerHello(LegacyVersion::Tls10),
        Self::LegacyServerHello(LegacyVersion::Tls11),
        Self::Preauth,
        Self::ResponseInjection,
        Self::StallAfterGoAhead,
        Self::StartTlsNotAdvertised,
        Self::StartTlsRefused(Refusal::Temporary),
        Self::StartTlsRefused(Refusal::Syntax),
        Self::StartTlsRefused(Refusal::Permanent),
        Self::StartTlsRefused(Refusal::Nonsense),
        Self::TlsRequired,
    ];

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::CloseMidHandshake => "close-mid-handshake",
            Self::GarbageInsteadOfServerHello => "garbage-instead-of-server-hello",
            Self::Honest => "honest",
            Self::LegacyOnly(LegacyVersion::Ssl3) => "legacy-only-ssl3",
            Self::LegacyOnly(LegacyVersion::Tls10) => "legacy-only-tls10",
            Self::LegacyOnly(LegacyVersion::Tls11) => "legacy-only-tls11",
            Self::LegacyServerHello(LegacyVersion::Ssl3) => "legacy-server-hello-ssl3",
            Self::LegacyServerHello(LegacyVersion::Tls10) => "legacy-server-hello-tls10",
            Self::LegacyServerHello(LegacyVersion::Tls11) => "legacy-server-hello-tls11",
            Self::Preauth => "preauth",
            Self::ResponseInjection => "response-injection",
            Self::StallAfterGoAhead => "stall-after-go-ahead",
            Self::StartTlsNotAdvertised => "starttls-not-advertised",
            Self::StartTlsRefused(Refusal::Temporary) => "starttls-refused",
            Self::StartTlsRefused(Refusal::Syntax) => "starttls-refused-syntax",
            Self::StartTlsRefused(Refusal::Permanent) => "starttls-refused-permanent",
            Self::StartTlsRefused(Refusal::Nonsense) => "starttls-nonsense",
            Self::TlsRequired => "tls-required",
        }
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Behaviour {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|b| b.name() == lower)
            .ok_or_else(|| ParseError {
                what: "behaviour",
                value: s.to_owned(),
                expected: Self::ALL
                    .iter()
                    .map(|b| b.name())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

impl Serialize for Behaviour {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Behaviour {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl LegacyVersion {
    /// The two bytes of the record-layer version this protocol uses.
    pub fn record_version(self) -> [u8; 2] {
        match self {
            Self::Ssl3 => [3, 0],
            Self::Tls10 => [3, 1],
            Self::Tls11 => [3, 2],
        }
    }
}

impl FromStr for ClientAuth {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "none" => Ok(Self::None),
            "optional" => Ok(Self::Optional),
            "required" => Ok(Self::Required),
            _ => Err(ParseError {
                what: "client auth",
                value: s.to_owned(),
                expected: "none, optional, required".to_owned(),
            }),
        }
    }
}

impl fmt::Display for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Optional => "optional",
            Self::Required => "required",
        })
    }
}

/// A name that is not one of the known values.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown {what} {value:?} (expected one of: {expected})")]
pub struct ParseError {
    what: &'static str,
    value: String,
    expected: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviour_names_round_trip() {
        for b in Behaviour::ALL {
            assert_eq!(b.to_string().parse::<Behaviour>(), Ok(b));
            let json = serde_json::to_string(&b).unwrap();
            assert_eq!(serde_json::from_str::<Behaviour>(&json).unwrap(), b);
        }
        assert!("bogus".parse::<Behaviour>().is_err());
    }
}
