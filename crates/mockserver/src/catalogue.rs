//! Every scenario x dialect x behaviour worth serving, with what a correct client must do
//! against it: the badssl.com of STARTTLS, on loopback.
//!
//! The `mockserver catalogue` command serves each [`Entry`] on its own port and writes a
//! [`Manifest`]; the conformance runner can also use [`entries`] directly with
//! [`crate::testing`].

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use proto::level::VersionSet;
use proto::starttls::Dialect;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use testpki::{ExpectedError, KeyKind, Pki, Scenario};

use crate::config::{Behaviour, Limits, MockConfig, TlsPolicy};

/// One server of the catalogue.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Entry {
    /// Unique, stable name: `dialect-scenario-behaviour-key[-tls1x]`.
    pub name: String,
    /// The dialect spoken before TLS.
    pub dialect: Dialect,
    /// The certificate situation.
    pub scenario: Scenario,
    /// The behaviour.
    pub behaviour: Behaviour,
    /// The key type of the certificates.
    pub key_type: KeyKind,
    /// The TLS versions the server enables (`1.2,1.3`, `1.2` or `1.3`).
    pub tls: String,
    /// What a correct client (offering TLS 1.2 and 1.3, trusting `ca_file`, given `crl_file`,
    /// asking for `localhost`) must do.
    pub expect: Expect,
    /// Why it must fail (for a broken chain, its primary class, what a client that stops at the
    /// first problem reports: [`Scenario::expected_error`]); `None` when it must succeed.
    pub error_class: Option<ErrorClass>,
}

/// The outcome a correct client must reach.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expect {
    /// The client must refuse to continue.
    Fail,
    /// The upgrade (or implicit TLS) must succeed and the session continue inside TLS.
    Succeed,
}

/// Why a correct client must fail.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum ErrorClass {
    /// The certificate chain is wrong in this way (its primary class, when it is wrong in more
    /// than one).
    Certificate(ExpectedError),
    /// The server broke off or answered the ClientHello with something that is not TLS.
    HandshakeFailed,
    /// The server never answered the ClientHello.
    HandshakeTimeout,
    /// Plaintext arrived after the go-ahead (response injection).
    PlaintextAfterGoAhead,
    /// IMAP `PREAUTH`: the session is authenticated in plaintext, no STARTTLS possible.
    Preauth,
    /// The server only speaks an old protocol version (`LegacyOnly`: a ServerHello of it to a
    /// client that offers it, a fatal `protocol_version` alert to any other; `LegacyServerHello`:
    /// its ServerHello whatever the client offers, which the client must refuse).
    ProtocolVersion,
    /// STARTTLS was refused, with a code or a nonsense line: anything but the go-ahead.
    StartTlsRefused,
    /// STARTTLS is not offered.
    StartTlsNotOffered,
}

/// What `mockserver catalogue` writes.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct Manifest {
    /// The IP address every entry listens on.
    pub listen: String,
    /// The servers.
    pub entries: Vec<ServedEntry>,
}

/// An [`Entry`] as served.
#[derive(Clone, Debug, Deserialize, Eq, PartialEq, Serialize)]
pub struct ServedEntry {
    /// What is served.
    #[serde(flatten)]
    pub entry: Entry,
    /// The port it is served on.
    pub port: u16,
    /// PEM file of what a client must trust.
    pub ca_file: Option<String>,
    /// PEM file of the CRLs a client must be given (revocation scenarios: revoked, stale CRL).
    pub crl_file: Option<String>,
}

/// Every entry: each scenario with each dialect (honest); each hostile behaviour with the
/// valid chain and each dialect it applies to; the valid chain with the other key types; and
/// single-version servers.
pub fn entries() -> Vec<Entry> {
    let mut out = Vec::new();
    let key = KeyKind::EcdsaP256;
    for dialect in Dialect::ALL {
        for scenario in Scenario::ALL {
            out.push(Entry::new(
                dialect,
                scenario,
                Behaviour::Honest,
                key,
                VersionSet::BOTH,
            ));
        }
        for other in [KeyKind::Ed25519, KeyKind::Rsa2048] {
            out.push(Entry::new(
                dialect,
                Scenario::Valid,
                Behaviour::Honest,
                other,
                VersionSet::BOTH,
            ));
        }
        for versions in [VersionSet::TLS12_ONLY, VersionSet::TLS13_ONLY] {
            out.push(Entry::new(
                dialect,
                Scenario::Valid,
                Behaviour::Honest,
                key,
                versions,
            ));
        }
        for behaviour in Behaviour::ALL {
            // A legacy ServerHello picks an RSA key exchange when the client offers one, and
            // sends the server's own chain: an RSA one, so that a client that takes the old
            // version can go on with it.
            let key = if matches!(behaviour, Behaviour::LegacyServerHello(_)) {
                KeyKind::Rsa2048
            } else {
                key
            };
            if behaviour != Behaviour::Honest && applies(behaviour, dialect) {
                out.push(Entry::new(
                    dialect,
                    Scenario::Valid,
                    behaviour,
                    key,
                    VersionSet::BOTH,
                ));
            }
        }
    }
    out
}

/// Whether `behaviour` means something in `dialect`.
pub fn applies(behaviour: Behaviour, dialect: Dialect) -> bool {
    let line = dialect.is_line_based();
    match behaviour {
        Behaviour::Honest
        | Behaviour::StallAfterGoAhead
        | Behaviour::GarbageInsteadOfServerHello
        | Behaviour::CloseMidHandshake
        | Behaviour::LegacyOnly(_)
        | Behaviour::LegacyServerHello(_) => true,
        Behaviour::StartTlsRefused(refusal) => refusal.applies_to(dialect),
        // PostgreSQL advertises nothing: its refusal, `N`, is `StartTlsRefused(Temporary)`.
        // MySQL: a greeting without CLIENT_SSL, ERR 3159 to a plaintext login, and bytes
        // planted after the SSLRequest.
        Behaviour::StartTlsNotAdvertised => line || dialect == Dialect::Mysql,
        Behaviour::TlsRequired | Behaviour::ResponseInjection => {
            dialect.has_go_ahead() || dialect == Dialect::Mysql
        }
        Behaviour::Preauth => dialect == Dialect::Imap,
    }
}

impl Entry {
    /// Describes one server and derives what a correct client must do.
    pub fn new(
        dialect: Dialect,
        scenario: Scenario,
        behaviour: Behaviour,
        key_type: KeyKind,
        versions: VersionSet,
    ) -> Self {
        let mut name = format!("{dialect}-{scenario}-{behaviour}-{key_type}");
        if versions == VersionSet::TLS12_ONLY {
            name.push_str("-tls12");
        } else if versions == VersionSet::TLS13_ONLY {
            name.push_str("-tls13");
        }
        let error_class = match behaviour {
            Behaviour::Honest | Behaviour::TlsRequired => {
                scenario.expected_error().map(ErrorClass::Certificate)
            }
            Behaviour::CloseMidHandshake | Behaviour::GarbageInsteadOfServerHello => {
                Some(ErrorClass::HandshakeFailed)
            }
            Behaviour::StallAfterGoAhead => Some(ErrorClass::HandshakeTimeout),
            Behaviour::LegacyOnly(_) | Behaviour::LegacyServerHello(_) => {
                Some(ErrorClass::ProtocolVersion)
            }
            Behaviour::Preauth => Some(ErrorClass::Preauth),
            Behaviour::ResponseInjection => Some(ErrorClass::PlaintextAfterGoAhead),
            Behaviour::StartTlsNotAdvertised => Some(ErrorClass::StartTlsNotOffered),
            Behaviour::StartTlsRefused(_) => Some(ErrorClass::StartTlsRefused),
        };
        Self {
            name,
            dialect,
            scenario,
            behaviour,
            key_type,
            tls: versions.to_string(),
            expect: if error_class.is_some() {
                Expect::Fail
            } else {
                Expect::Succeed
            },
            error_class,
        }
    }

    /// The server configuration for this entry (default limits, honest machine otherwise).
    ///
    /// # Errors
    ///
    /// If testpki cannot issue the scenario.
    pub fn config(&self) -> Result<MockConfig, testpki::Error> {
        let pki = Pki::shared(self.key_type);
        let identity = pki.server(self.scenario)?;
        // `tls` is written by `new` from a VersionSet; a hand-edited manifest that names no
        // versions serves both, as a server with no version setting does.
        let versions = self.tls.parse().unwrap_or(VersionSet::BOTH);
        Ok(MockConfig {
            dialect: self.dialect,
            behaviour: self.behaviour,
            tls: TlsPolicy {
                versions,
                client_ca: vec![pki.client_ca_der()],
                ..TlsPolicy::default()
            },
            identity: Arc::new(identity),
            injection_policy: proto::starttls::InjectionPolicy::Discard,
            limits: Limits::default(),
            hostname: testpki::TEST_HOST.to_owned(),
        })
    }
}

impl ErrorClass {
    /// The kebab-case name (`certificate:expired`, `starttls-refused`, ...).
    pub fn name(self) -> String {
        match self {
            Self::Certificate(e) => format!("certificate:{e}"),
            Self::HandshakeFailed => "handshake-failed".into(),
            Self::HandshakeTimeout => "handshake-timeout".into(),
            Self::PlaintextAfterGoAhead => "plaintext-after-go-ahead".into(),
            Self::Preauth => "preauth".into(),
            Self::ProtocolVersion => "protocol-version".into(),
            Self::StartTlsRefused => "starttls-refused".into(),
            Self::StartTlsNotOffered => "starttls-not-offered".into(),
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for ErrorClass {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(cert) = s.strip_prefix("certificate:") {
            return cert
                .parse()
                .map(Self::Certificate)
                .map_err(|e| e.to_string());
        }
        Ok(match s {
            "handshake-failed" => Self::HandshakeFailed,
            "handshake-timeout" => Self::HandshakeTimeout,
            "plaintext-after-go-ahead" => Self::PlaintextAfterGoAhead,
            "preauth" => Self::Preauth,
            "protocol-version" => Self::ProtocolVersion,
            "starttls-refused" => Self::StartTlsRefused,
            "starttls-not-offered" => Self::StartTlsNotOffered,
            _ => return Err(format!("unknown error class {s:?}")),
        })
    }
}

impl Serialize for ErrorClass {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl<'de> Deserialize<'de> for ErrorClass {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::config::LegacyVersion;

    #[test]
    fn names_are_unique_and_expectations_consistent() {
        let all = entries();
        let names: HashSet<_> = all.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names.len(), all.len());
        for e in &all {
            assert_eq!(
                e.expect == Expect::Succeed,
                e.error_class.is_none(),
                "{}",
                e.name
            );
            assert!(applies(e.behaviour, e.dialect), "{}", e.name);
        }
        let valid_honest = all
            .iter()
            .filter(|e| e.scenario == Scenario::Valid && e.behaviour == Behaviour::Honest)
            .count();
        // Per dialect: three key types and two single-version servers.
        assert_eq!(valid_honest, Dialect::ALL.len() * 5);
        assert!(
            all.iter()
                .any(|e| e.behaviour == Behaviour::LegacyOnly(LegacyVersion::Ssl3))
        );
    }

    #[test]
    fn entries_round_trip_through_json() {
        for e in entries() {
            let json = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), e);
        }
    }
}
