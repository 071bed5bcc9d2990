//! The names: key kinds, certificate scenarios and the error a correct client must report.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// The key type of every certificate in a [`Pki`](crate::Pki).
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum KeyKind {
    /// ECDSA on P-256 with SHA-256 (randomised signatures).
    #[serde(rename = "ecdsa-p256", alias = "p256", alias = "ecdsa")]
    EcdsaP256,
    /// Ed25519 (deterministic signatures).
    #[serde(rename = "ed25519")]
    Ed25519,
    /// RSA-2048 with PKCS#1 v1.5 SHA-256 signatures (deterministic).
    #[serde(rename = "rsa2048", alias = "rsa", alias = "rsa-2048")]
    Rsa2048,
}

impl KeyKind {
    /// Every key kind, in declaration order.
    pub const ALL: [Self; 3] = [Self::EcdsaP256, Self::Ed25519, Self::Rsa2048];

    /// The canonical name, as printed by `Display` and serde.
    pub fn name(self) -> &'static str {
        match self {
            Self::EcdsaP256 => "ecdsa-p256",
            Self::Ed25519 => "ed25519",
            Self::Rsa2048 => "rsa2048",
        }
    }

    pub(crate) fn algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            Self::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Self::Ed25519 => &rcgen::PKCS_ED25519,
            Self::Rsa2048 => &rcgen::PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ecdsa-p256" | "p256" | "p-256" | "ecdsa" => Ok(Self::EcdsaP256),
            "ed25519" => Ok(Self::Ed25519),
            "rsa2048" | "rsa-2048" | "rsa" => Ok(Self::Rsa2048),
            _ => Err(Error::UnknownName {
                what: "key kind",
                value: s.to_owned(),
                expected: "ecdsa-p256 (p256, ecdsa), ed25519, rsa2048 (rsa)",
            }),
        }
    }
}

/// A server certificate situation, honest or broken.
///
/// The order is the catalogue's order (the honest case first), not alphabetical.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// Root -> intermediate -> leaf, serverAuth, SANs `localhost`, `127.0.0.1`, `::1` and
    /// [`TEST_HOST`](crate::TEST_HOST).
    Valid,
    /// As `Valid`, but the leaf's validity ended on 2021-01-01.
    Expired,
    /// As `Valid`, but the leaf's validity starts on 2080-01-01.
    NotYetValid,
    /// As `Valid`, but the only SAN is `wrong.example.test`.
    WrongHost,
    /// A self-signed leaf; the client is given the project root, which did not sign it.
    SelfSigned,
    /// A complete chain under a different throwaway root, sent with that root (leaf,
    /// intermediate, root); the client is given the project root.
    UntrustedRoot,
    /// The server sends only the leaf, not the intermediate that signed it.
    MissingIntermediate,
    /// The leaf's extended key usage is clientAuth only.
    WrongEku,
    /// The intermediate that signed the leaf has `CA:FALSE`.
    IntermediateNotCa,
    /// The leaf is listed in a CRL, signed by the intermediate, that the client is given.
    Revoked,
    /// The leaf's signature bytes are corrupted (the certificate still parses).
    BadSignature,
    /// A forged leaf: valid names and serverAuth, issuer name and authority key identifier of the
    /// real intermediate, but signed by an unrelated key; sent with the real intermediate.
    ForgedSignature,
    /// As `UntrustedRoot`, but the untrusted root is re-issued (same name and key) with the
    /// validity of the expired leaf (2019-01-01 to 2021-01-01): two problems at once, both
    /// ignorable.
    AttackerRootExpired,
    /// The leaf has `CA:TRUE` (an unconstrained CA used as an end entity), signed by the real
    /// intermediate.
    CaLeaf,
    /// The valid chain, with the intermediate's CRL (not listing the leaf) and the root's CRL
    /// given to the client, both past their nextUpdate (2021-01-01).
    StaleCrl,
}

impl Scenario {
    /// Every scenario, in declaration order.
    pub const ALL: [Self; 15] = [
        Self::Valid,
        Self::Expired,
        Self::NotYetValid,
        Self::WrongHost,
        Self::SelfSigned,
        Self::UntrustedRoot,
        Self::MissingIntermediate,
        Self::WrongEku,
        Self::IntermediateNotCa,
        Self::Revoked,
        Self::BadSignature,
        Self::ForgedSignature,
        Self::AttackerRootExpired,
        Self::CaLeaf,
        Self::StaleCrl,
    ];

    /// The canonical kebab-case name, as printed by `Display` and serde.
    pub fn name(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::WrongHost => "wrong-host",
            Self::SelfSigned => "self-signed",
            Self::UntrustedRoot => "untrusted-root",
            Self::MissingIntermediate => "missing-intermediate",
            Self::WrongEku => "wrong-eku",
            Self::IntermediateNotCa => "intermediate-not-ca",
            Self::Revoked => "revoked",
            Self::BadSignature => "bad-signature",
            Self::ForgedSignature => "forged-signature",
            Self::AttackerRootExpired => "attacker-root-expired",
            Self::CaLeaf => "ca-leaf",
            Self::StaleCrl => "stale-crl",
        }
    }

    /// The primary class a correct client must report for this scenario (`None`: the handshake
    /// succeeds): what a verifier that stops at the first problem reports, the first of
    /// [`Scenario::expected_errors`].
    pub fn expected_error(self) -> Option<ExpectedError> {
        self.expected_errors().first().copied()
    }

    /// Every class a correct client that reports all problems must report for this scenario,
    /// the primary one first; empty exactly for [`Scenario::Valid`].
    ///
    /// Only [`Scenario::AttackerRootExpired`] has two: a certificate of the chain is expired
    /// (primary: WebPKI checks each certificate's validity while building the path, so rustls
    /// reports the expired root before it gives up looking for a trust anchor) and the chain
    /// ends in a root the client does not trust.
    pub fn expected_errors(self) -> &'static [ExpectedError] {
        match self {
            Self::Valid => &[],
            Self::Expired => &[ExpectedError::Expired],
            Self::NotYetValid => &[ExpectedError::NotYetValid],
            Self::WrongHost => &[ExpectedError::InvalidName],
            Self::SelfSigned | Self::UntrustedRoot => &[ExpectedError::Untrusted],
            Self::MissingIntermediate => &[ExpectedError::IncompleteChain],
            Self::WrongEku => &[ExpectedError::WrongUsage],
            Self::IntermediateNotCa | Self::CaLeaf => &[ExpectedError::BasicConstraints],
            Self::Revoked => &[ExpectedError::Revoked],
            Self::BadSignature | Self::ForgedSignature => &[ExpectedError::InvalidSignature],
            Self::AttackerRootExpired => &[ExpectedError::Expired, ExpectedError::Untrusted],
            Self::StaleCrl => &[ExpectedError::RevocationFailure],
        }
    }

    /// A stable small number per scenario, used in serial numbers.
    pub(crate) fn index(self) -> u8 {
        match self {
            Self::Valid => 0,
            Self::Expired => 1,
            Self::NotYetValid => 2,
            Self::WrongHost => 3,
            Self::SelfSigned => 4,
            Self::UntrustedRoot => 5,
            Self::MissingIntermediate => 6,
            Self::WrongEku => 7,
            Self::IntermediateNotCa => 8,
            Self::Revoked => 9,
            Self::BadSignature => 10,
            Self::ForgedSignature => 11,
            Self::AttackerRootExpired => 12,
            Self::CaLeaf => 13,
            Self::StaleCrl => 14,
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|scenario| scenario.name() == lower)
            .ok_or_else(|| Error::UnknownName {
                what: "scenario",
                value: s.to_owned(),
                expected: "valid, expired, not-yet-valid, wrong-host, self-signed, \
                           untrusted-root, missing-intermediate, wrong-eku, intermediate-not-ca, \
                           revoked, bad-signature, forged-signature, attacker-root-expired, \
                           ca-leaf, stale-crl",
            })
    }
}

/// The class of certificate error a correct client must report for a scenario.
///
/// The names follow the WinRT `ChainValidationResult` vocabulary (see `streamsocket-proto`'s
/// `cert` module), with `NotYetValid` kept apart from `Expired`.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExpectedError {
    /// The leaf's validity period ended.
    Expired,
    /// The leaf's validity period has not started.
    NotYetValid,
    /// The leaf is not valid for the name the client asked for.
    InvalidName,
    /// The chain does not end at a trusted root.
    Untrusted,
    /// The server did not send the intermediate needed to reach the root.
    IncompleteChain,
    /// The leaf's extended key usage does not allow server authentication.
    WrongUsage,
    /// A basic constraint is broken: a certificate that is not a CA signed the leaf, or the leaf
    /// is a CA.
    BasicConstraints,
    /// The leaf is listed in a CRL the client was given.
    Revoked,
    /// A CRL the client was given is past its nextUpdate, so the revocation status of the chain
    /// cannot be established.
    RevocationFailure,
    /// A signature in the chain does not verify.
    InvalidSignature,
}

impl ExpectedError {
    /// Every expected error, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Expired,
        Self::NotYetValid,
        Self::InvalidName,
        Self::Untrusted,
        Self::IncompleteChain,
        Self::WrongUsage,
        Self::BasicConstraints,
        Self::Revoked,
        Self::RevocationFailure,
        Self::InvalidSignature,
    ];

    /// The canonical kebab-case name, as printed by `Display` and serde.
    pub fn name(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::InvalidName => "invalid-name",
            Self::Untrusted => "untrusted",
            Self::IncompleteChain => "incomplete-chain",
            Self::WrongUsage => "wrong-usage",
            Self::BasicConstraints => "basic-constraints",
            Self::Revoked => "revoked",
            Self::RevocationFailure => "revocation-failure",
            Self::InvalidSignature => "invalid-signature",
        }
    }
}

impl fmt::Display for ExpectedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ExpectedError {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.to_ascii_lowercase().replace('_', "-");
        Self::ALL
            .into_iter()
            .find(|expected| expected.name() == lower)
            .ok_or_else(|| Error::UnknownName {
                what: "expected error",
                value: s.to_owned(),
                expected: "expired, not-yet-valid, invalid-name, untrusted, incomplete-chain, \
                           wrong-usage, basic-constraints, revoked, revocation-failure, \
                           invalid-signature",
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_str() {
        for kind in KeyKind::ALL {
            assert_eq!(kind.to_string().parse::<KeyKind>().unwrap(), kind);
        }
        for scenario in Scenario::ALL {
            assert_eq!(scenario.to_string().parse::<Scenario>().unwrap(), scenario);
        }
        for expected in ExpectedError::ALL {
            assert_eq!(
                expected.to_string().parse::<ExpectedError>().unwrap(),
                expected
            );
        }
    }

    #[test]
    fn key_kind_accepts_its_aliases() {
        for (alias, kind) in [
            ("p256", KeyKind::EcdsaP256),
            ("ECDSA", KeyKind::EcdsaP256),
            ("ed25519", KeyKind::Ed25519),
            ("rsa", KeyKind::Rsa2048),
            ("rsa2048", KeyKind::Rsa2048),
        ] {
            assert_eq!(alias.parse::<KeyKind>().unwrap(), kind);
        }
        let err = "dsa".parse::<KeyKind>().unwrap_err();
        assert!(
            err.to_string().starts_with("unknown key kind \"dsa\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_scenario_is_a_typed_error() {
        let err = "expird".parse::<Scenario>().unwrap_err();
        assert!(matches!(
            err,
            Error::UnknownName {
                what: "scenario",
                ..
            }
        ));
    }

    #[test]
    fn serde_names_match_display() {
        for scenario in Scenario::ALL {
            let json = serde_json::to_string(&scenario).unwrap();
            assert_eq!(json, format!("\"{scenario}\""));
            assert_eq!(serde_json::from_str::<Scenario>(&json).unwrap(), scenario);
        }
        for kind in KeyKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{kind}\""));
        }
        for expected in ExpectedError::ALL {
            let json = serde_json::to_string(&expected).unwrap();
            assert_eq!(json, format!("\"{expected}\""));
        }
        assert_eq!(
            serde_json::from_str::<KeyKind>("\"rsa\"").unwrap(),
            KeyKind::Rsa2048
        );
    }

    #[test]
    fn scenario_indices_are_distinct() {
        let mut seen: Vec<u8> = Scenario::ALL.iter().map(|s| s.index()).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), Scenario::ALL.len());
    }

    #[test]
    fn only_valid_expects_success() {
        for scenario in Scenario::ALL {
            assert_eq!(
                scenario.expected_error().is_none(),
                scenario == Scenario::Valid
            );
            assert_eq!(
                scenario.expected_errors().is_empty(),
                scenario == Scenario::Valid
            );
        }
    }

    #[test]
    fn the_primary_expected_error_is_the_first_of_all_expected_errors() {
        for scenario in Scenario::ALL {
            let all = scenario.expected_errors();
            assert_eq!(
                scenario.expected_error(),
                all.first().copied(),
                "{scenario}"
            );
            let mut distinct = all.to_vec();
            distinct.sort_unstable();
            distinct.dedup();
            assert_eq!(
                distinct.len(),
                all.len(),
                "{scenario}: a class listed twice"
            );
        }
        assert_eq!(
            Scenario::AttackerRootExpired.expected_errors(),
            [ExpectedError::Expired, ExpectedError::Untrusted]
        );
    }
}
