//! The oracle: what every case must produce, written from the contract in DESIGN.md and the
//! README's protection-level table.
//!
//! **Invariant:** this module never calls the client's or the core's policy code
//! (`streamsocket_proto::level::decide`, the dialect machines, the certificate classifier).
//! An oracle that asks the implementation what to expect checks nothing. It uses only the
//! vocabulary types (`ProtectionLevel`).

use proto::ProtectionLevel;
use serde::Serialize;

use crate::case::{Behaviour, Case, Control, Mode, Scenario, ServerTls};

mod context;

pub use context::{ExpectedContext, check_contexts, scenario_contexts};

/// A TLS version as the oracle speaks of it.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum Version {
    /// TLS 1.2.
    Tls12,
    /// TLS 1.3.
    Tls13,
}

/// A certificate error class, by its Windows Runtime `ChainValidationResult` name.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum CertError {
    /// Outside its validity period (before or after).
    Expired,
    /// The chain cannot be completed to a trust anchor.
    IncompleteChain,
    /// A signature in the chain does not verify.
    InvalidSignature,
    /// The certificate is not for server authentication.
    WrongUsage,
    /// The certificate does not name the host.
    InvalidName,
    /// A CA in the chain is not allowed to issue certificates.
    BasicConstraintsError,
    /// A certificate is revoked.
    Revoked,
    /// The revocation status cannot be established (a CRL past its nextUpdate).
    RevocationFailure,
    /// The chain ends in a root the client does not trust.
    Untrusted,
}

impl CertError {
    /// Every class, in declaration order (the order `cert_errors` lists are sorted in).
    pub const ALL: [Self; 9] = [
        Self::Expired,
        Self::IncompleteChain,
        Self::InvalidSignature,
        Self::WrongUsage,
        Self::InvalidName,
        Self::BasicConstraintsError,
        Self::Revoked,
        Self::RevocationFailure,
        Self::Untrusted,
    ];

    /// The Windows Runtime name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Expired => "Expired",
            Self::IncompleteChain => "IncompleteChain",
            Self::InvalidSignature => "InvalidSignature",
            Self::WrongUsage => "WrongUsage",
            Self::InvalidName => "InvalidName",
            Self::BasicConstraintsError => "BasicConstraintsError",
            Self::Revoked => "Revoked",
            Self::RevocationFailure => "RevocationFailure",
            Self::Untrusted => "Untrusted",
        }
    }

    /// Errors that no ignore list can excuse: revoked and bad signatures (DESIGN.md), and a
    /// broken basic constraint, which no sound relaxation of the chain check can accept (the
    /// README's certificate-errors section: a chain is accepted only when WebPKI verifies it with
    /// exactly the ignored checks relaxed, and only validity, trust, usage, name and revocation
    /// status can be relaxed). A revocation status that cannot be established
    /// (`RevocationFailure`) is ignorable: the stale CRL is then used anyway, so a revoked
    /// certificate is still refused.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Self::Revoked | Self::InvalidSignature | Self::BasicConstraintsError
        )
    }
}

/// Why a case failed, in the contract's terms.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum Failure {
    /// The caller's mistake: PlainSocket upgrade, Bluetooth level, minimum above the request.
    InvalidArgument,
    /// SSL 3.0, TLS 1.0, TLS 1.1: refused before any byte is sent.
    UnsupportedLevel,
    /// The server did not offer STARTTLS (or cannot: IMAP PREAUTH).
    StartTlsNotOffered,
    /// The server answered STARTTLS with an error.
    StartTlsRefused,
    /// Plaintext arrived after the go-ahead (response injection).
    PlaintextAfterGoAhead,
    /// No TLS version in common.
    VersionMismatch,
    /// The peer's answer to the ClientHello is not TLS.
    NotTls,
    /// The peer answered the ClientHello in plaintext (a greeting, an HTTP response): the
    /// client names what it saw instead of a bare handshake failure.
    PlaintextInsteadOfTls,
    /// The peer sent TLS where a STARTTLS dialect's greeting was due.
    TlsInsteadOfPlaintext,
    /// The handshake did not finish within the handshake timeout.
    HandshakeTimedOut,
    /// The connection closed (or was reset) before the handshake finished.
    Closed,
    /// The server's certificate was rejected; the errors say why.
    CertificateRejected,
    /// The server rejected the client (no or a bad client certificate).
    ClientCertificateRejected,
}

/// What a case produced, or must produce.
#[derive(Clone, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The socket stayed plaintext, as asked.
    Plaintext,
    /// TLS is up with this version; the certificate errors were all ignorable and ignored.
    Secured {
        /// The negotiated version.
        version: Version,
        /// Every certificate error, ignored ones included (sorted).
        cert_errors: Vec<CertError>,
    },
    /// The case failed.
    Failed {
        /// Why.
        failure: Failure,
        /// Every certificate error the client reported (sorted).
        cert_errors: Vec<CertError>,
    },
}

/// The oracle's verdict for one case.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Expected {
    /// The acceptable outcomes: one, except where the contract allows a race (documented at
    /// the place that adds a second).
    pub any_of: Vec<Outcome>,
    /// The step that failed must have sent nothing: no connection for `connect`, no STARTTLS
    /// command or ClientHello for an upgrade.
    pub silent: bool,
    /// What each certificate error's context must say, when the server's chain was judged.
    pub contexts: Vec<ExpectedContext>,
}

impl Expected {
    fn one(outcome: Outcome) -> Self {
        Self {
            any_of: vec![outcome],
            silent: false,
            contexts: Vec::new(),
        }
    }

    fn fail(failure: Failure) -> Self {
        Self::one(Outcome::Failed {
            failure,
            cert_errors: Vec::new(),
        })
    }

    fn silent_fail(failure: Failure) -> Self {
        Self {
            silent: true,
            ..Self::fail(failure)
        }
    }

    /// Whether `outcome` is acceptable.
    pub fn accepts(&self, outcome: &Outcome) -> bool {
        self.any_of.contains(outcome)
    }
}

/// The versions a level offers, per the contract's table, before any minimum.
fn offered(level: ProtectionLevel) -> &'static [Version] {
    use ProtectionLevel as L;
    match level {
        L::Ssl | L::SslAllowNullEncryption | L::Unspecified => &[Version::Tls13, Version::Tls12],
        L::Tls12 => &[Version::Tls12],
        L::Tls13 => &[Version::Tls13],
        _ => &[],
    }
}

/// The versions the server accepts.
fn accepted(server: ServerTls) -> &'static [Version] {
    match server {
        ServerTls::Both => &[Version::Tls13, Version::Tls12],
        ServerTls::Tls12Only => &[Version::Tls12],
        ServerTls::Tls13Only => &[Version::Tls13],
        ServerTls::LegacyTls11
        | ServerTls::LegacyTls10
        | ServerTls::LegacySsl3
        | ServerTls::PlaintextOnly => &[],
    }
}

/// The certificate errors a correct client reports for a scenario (connecting to `localhost`
/// with the project's root as its only trust anchor and the scenario's CRLs), sorted.
pub fn scenario_errors(scenario: Scenario) -> Vec<CertError> {
    let mut errors = match scenario {
        Scenario::Valid => vec![],
        // WinRT has one class for "not within its validity period", both directions.
        Scenario::Expired | Scenario::NotYetValid => vec![CertError::Expired],
        Scenario::WrongHost => vec![CertError::InvalidName],
        // The top of the presented chain is self-issued and not trusted.
        Scenario::SelfSigned | Scenario::UntrustedRoot => vec![CertError::Untrusted],
        // Two independent problems, both reported: the presented root is self-issued and not
        // trusted, and it is outside its validity period. Every certificate's window contains
        // 2020 (the leaf's starts then, the expired root's ends in 2021), so with both ignored
        // there is a time at which the whole chain is valid and it is accepted.
        Scenario::AttackerRootExpired => vec![CertError::Expired, CertError::Untrusted],
        // The top of the presented chain (the leaf) is not self-issued: the chain is cut.
        Scenario::MissingIntermediate => vec![CertError::IncompleteChain],
        Scenario::WrongEku => vec![CertError::WrongUsage],
        // A CA used as a CA without CA:true, and a CA:true certificate used as the end entity
        // (RFC 5280 path length counts only the intermediates above the end entity, so the
        // intermediate's pathLen 0 is no second problem).
        Scenario::IntermediateNotCa | Scenario::CaLeaf => vec![CertError::BasicConstraintsError],
        Scenario::Revoked => vec![CertError::Revoked],
        // A corrupted signature, and a well-formed one by a key that is not the issuer's.
        Scenario::BadSignature | Scenario::ForgedSignature => vec![CertError::InvalidSignature],
        // Both CRLs are past their nextUpdate: the status is unknown, not "revoked".
        Scenario::StaleCrl => vec![CertError::RevocationFailure],
    };
    errors.sort();
    errors
}

/// What a requested level (with an optional minimum) lets the client do, per the contract.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub enum LevelVerdict {
    /// Stay in plaintext.
    Plaintext,
    /// Offer these versions, newest first.
    Offer(Vec<Version>),
    /// Fail before any byte is sent.
    Refuse(Failure),
}

/// The protection-level table of the README, written out again from the contract: what a
/// connect (or, with `upgrade`, an upgrade) with `level` may do under the socket's `minimum`.
pub fn level_verdict(
    level: ProtectionLevel,
    minimum: Option<ProtectionLevel>,
    upgrade: bool,
) -> LevelVerdict {
    use ProtectionLevel as L;
    match level {
        L::BluetoothEncryptionAllowNullAuthentication
        | L::BluetoothEncryptionWithAuthentication => {
            return LevelVerdict::Refuse(Failure::InvalidArgument);
        }
        L::Ssl3AllowWeakEncryption | L::Tls10 | L::Tls11 => {
            return LevelVerdict::Refuse(Failure::UnsupportedLevel);
        }
        // Upgrading to "no protection" is the caller's mistake. A plaintext connect is the
        // first half of a STARTTLS connection: the minimum governs the upgrade that follows,
        // not the plaintext connect itself (README, "Protection levels").
        L::PlainSocket if upgrade => return LevelVerdict::Refuse(Failure::InvalidArgument),
        L::PlainSocket => return LevelVerdict::Plaintext,
        _ => {}
    }
    if matches!(
        minimum,
        Some(
            L::BluetoothEncryptionAllowNullAuthentication
                | L::BluetoothEncryptionWithAuthentication
        )
    ) {
        return LevelVerdict::Refuse(Failure::InvalidArgument);
    }
    // Only TLS 1.2 and 1.3 minimums remove anything this project offers.
    let floor = match minimum {
        Some(L::Tls13) => Some(Version::Tls13),
        Some(L::Tls12 | L::Ssl | L::SslAllowNullEncryption) => Some(Version::Tls12),
        _ => None,
    };
    let mut versions = offered(level).to_vec();
    if floor == Some(Version::Tls13) {
        versions.retain(|v| *v == Version::Tls13);
    }
    if versions.is_empty() {
        return LevelVerdict::Refuse(Failure::InvalidArgument);
    }
    LevelVerdict::Offer(versions)
}

/// Whether `minimum` may be set as the socket's minimum level, per the README: a Bluetooth
/// level cannot be a minimum (an invalid argument); every other level can.
pub fn minimum_verdict(minimum: ProtectionLevel) -> Result<(), Failure> {
    use ProtectionLevel as L;
    match minimum {
        L::BluetoothEncryptionAllowNullAuthentication
        | L::BluetoothEncryptionWithAuthentication => Err(Failure::InvalidArgument),
        _ => Ok(()),
    }
}

/// The oracle.
pub fn expect(case: &Case) -> Expected {
    // 1. The level, before any byte. In upgrade modes the plaintext connect has happened; the
    //    upgrade call itself must send nothing.
    let minimum = (case.control == Control::MinimumTls13).then_some(ProtectionLevel::Tls13);
    let versions = match level_verdict(case.level, minimum, case.mode.is_upgrade()) {
        LevelVerdict::Plaintext => return Expected::one(Outcome::Plaintext),
        LevelVerdict::Refuse(failure) => return Expected::silent_fail(failure),
        LevelVerdict::Offer(versions) => versions,
    };

    // 2. The wrong port: the client and the server disagree about TLS, and the client names
    //    the mistake (the plaintext greeting it got, or the silence of a server that waits for
    //    a ClientHello) instead of failing blindly.
    match case.behaviour {
        Behaviour::SmtpPort | Behaviour::ImapPort | Behaviour::Pop3Port => {
            return Expected::fail(Failure::PlaintextInsteadOfTls);
        }
        Behaviour::ImplicitPort => return Expected::fail(Failure::HandshakeTimedOut),
        _ => {}
    }

    // 3. The STARTTLS exchange (line dialects, and MySQL's greeting: `CLIENT_SSL` missing is
    //    not offered, an ERR packet for greeting is a refusal, bytes after the greeting are
    //    injected) or its absence.
    if case.mode.can_refuse_tls() {
        if case.server == ServerTls::PlaintextOnly {
            return Expected::fail(Failure::StartTlsNotOffered);
        }
        match case.behaviour {
            Behaviour::StartTlsNotAdvertised | Behaviour::Preauth => {
                return Expected::fail(Failure::StartTlsNotOffered);
            }
            Behaviour::StartTlsRefused => return Expected::fail(Failure::StartTlsRefused),
            Behaviour::ResponseInjection => {
                return Expected::fail(Failure::PlaintextAfterGoAhead);
            }
            _ => {}
        }
    }
    if case.mode == Mode::Postgres {
        // "Message Flow: SSL Session Encryption": a server that does not do SSL answers `N`,
        // a refusal (PostgreSQL advertises nothing, so there is no "not offered"); bytes
        // after the `S` are not the server's to send (CVE-2021-23222).
        if case.server == ServerTls::PlaintextOnly {
            return Expected::fail(Failure::StartTlsRefused);
        }
        match case.behaviour {
            Behaviour::StartTlsRefused => return Expected::fail(Failure::StartTlsRefused),
            Behaviour::ResponseInjection => {
                return Expected::fail(Failure::PlaintextAfterGoAhead);
            }
            _ => {}
        }
    }
    if case.mode == Mode::Framed && case.behaviour == Behaviour::ResponseInjection {
        // The framed dialect has no go-ahead: the server's unsolicited plaintext either is
        // already buffered when the upgrade starts (caught before the handshake) or lands in
        // the handshake (which then fails). Both end the connection; neither reads it as data.
        let mut expected = Expected::fail(Failure::PlaintextAfterGoAhead);
        expected.any_of.push(Outcome::Failed {
            failure: Failure::NotTls,
            cert_errors: vec![],
        });
        return expected;
    }

    // 4. The handshake.
    match case.server {
        ServerTls::PlaintextOnly => {
            // A plaintext server greets (or answers the ClientHello) in plaintext; the client
            // says so, naming what it saw, whatever the server does next.
            let mut expected = Expected::fail(Failure::PlaintextInsteadOfTls);
            if case.mode == Mode::Framed {
                // Its reply to the frame may already be buffered when the upgrade starts.
                expected.any_of.push(Outcome::Failed {
                    failure: Failure::PlaintextAfterGoAhead,
                    cert_errors: vec![],
                });
            }
            return expected;
        }
        ServerTls::LegacyTls11 | ServerTls::LegacyTls10 | ServerTls::LegacySsl3 => {
            return Expected::fail(Failure::VersionMismatch);
        }
        ServerTls::Both | ServerTls::Tls12Only | ServerTls::Tls13Only => {}
    }
    match case.behaviour {
        Behaviour::StallAfterGoAhead => return Expected::fail(Failure::HandshakeTimedOut),
        // The mock's garbage is an HTTP error response: plaintext, recognised as such.
        Behaviour::GarbageInsteadOfServerHello => {
            return Expected::fail(Failure::PlaintextInsteadOfTls);
        }
        Behaviour::CloseMidHandshake => return Expected::fail(Failure::Closed),
        _ => {}
    }
    let server_versions = accepted(case.server);
    // The client prefers the newest version both sides have.
    let Some(version) = versions
        .iter()
        .copied()
        .find(|v| server_versions.contains(v))
    else {
        return Expected::fail(Failure::VersionMismatch);
    };

    // 4. The server's certificate: every error is reported, ignored or not.
    let cert_errors = scenario_errors(case.scenario);
    let contexts = scenario_contexts(case.scenario, case.key);
    let ignored = case.control == Control::IgnoreScenarioErrors;
    let rejected = cert_errors.iter().any(|e| e.is_fatal() || !ignored);
    let outcome = if rejected {
        Outcome::Failed {
            failure: Failure::CertificateRejected,
            cert_errors,
        }
    } else if case.control == Control::MutualTlsWithoutCertificate {
        // 5. The client's certificate.
        Outcome::Failed {
            failure: Failure::ClientCertificateRejected,
            cert_errors,
        }
    } else {
        Outcome::Secured {
            version,
            cert_errors,
        }
    };
    Expected {
        contexts,
        ..Expected::one(outcome)
    }
}

#[cfg(test)]
mod tests;
