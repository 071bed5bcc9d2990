//! What the context of each certificate error must say, written from testpki's scenario
//! definitions (the names, dates, serials and key types the scenarios set), never read back from
//! the verifier: the certificate concerned and the fields of its `ErrorDetail` as they serialise.

use serde::Serialize;
use serde_json::{Value, json};
use testpki::clock;
use time::OffsetDateTime;

use super::CertError;
use crate::case::{Key, Scenario};

/// One reported class and what its detail must hold.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct ExpectedContext {
    /// The class.
    pub class: CertError,
    /// The position in the presented chain of the certificate concerned (the leaf at 0).
    pub position: usize,
    /// JSON pointers into the serialised detail, and the value each must have.
    pub fields: Vec<(&'static str, Value)>,
}

/// The expected context of every error of `scenario` with keys of `key`, connecting to
/// `localhost` with the project's root and the scenario's CRLs, in the order of
/// `scenario_errors`.
pub fn scenario_contexts(scenario: Scenario, key: Key) -> Vec<ExpectedContext> {
    let kind = key.name();
    let name =
        |common: &str| format!("O=streamsocket testpki, CN=streamsocket testpki {common} ({kind})");
    let one = |class, position, fields: Vec<(&'static str, Value)>| ExpectedContext {
        class,
        position,
        fields,
    };
    let validity = |window: clock::Validity, not_yet_valid: bool| {
        vec![
            ("/context/kind", json!("validity")),
            ("/context/not_before", json!(rfc3339(window.not_before))),
            ("/context/not_after", json!(rfc3339(window.not_after))),
            ("/context/not_yet_valid", json!(not_yet_valid)),
        ]
    };
    let issuer = |missing: String, self_signed: bool| {
        vec![
            ("/context/kind", json!("issuer")),
            ("/context/missing_issuer", json!(missing)),
            ("/context/ends_self_signed", json!(self_signed)),
        ]
    };
    let signature = |issuer: String| {
        vec![
            ("/context/kind", json!("signature")),
            ("/context/algorithm", json!(signature_algorithm(key))),
            ("/context/issuer", json!(issuer)),
        ]
    };
    let leaf_subject = json!("O=streamsocket testpki, CN=mock.streamsocket.test");
    match scenario {
        Scenario::Valid => vec![],
        Scenario::Expired => {
            let mut fields = validity(clock::expired(), false);
            fields.push(("/certificate/subject", leaf_subject));
            vec![one(CertError::Expired, 0, fields)]
        }
        Scenario::NotYetValid => vec![one(
            CertError::Expired,
            0,
            validity(clock::not_yet_valid(), true),
        )],
        Scenario::WrongHost => vec![one(
            CertError::InvalidName,
            0,
            vec![
                ("/context/kind", json!("name")),
                ("/context/asked", json!("localhost")),
                ("/context/asked_ip", json!(false)),
                ("/context/dns_names", json!([testpki::WRONG_HOST])),
                ("/context/ip_addresses", json!([])),
            ],
        )],
        // The self-signed leaf is its own issuer.
        Scenario::SelfSigned => {
            let mut fields = issuer(
                "O=streamsocket testpki, CN=mock.streamsocket.test".into(),
                true,
            );
            fields.push(("/certificate/role", json!("leaf")));
            vec![one(CertError::Untrusted, 0, fields)]
        }
        // Leaf, untrusted intermediate, untrusted root: the chain ends in that root.
        Scenario::UntrustedRoot => {
            let mut fields = issuer(name("untrusted root"), true);
            fields.push(("/certificate/role", json!("root")));
            vec![one(CertError::Untrusted, 2, fields)]
        }
        // Only the leaf was sent: its issuer, the intermediate, is missing.
        Scenario::MissingIntermediate => {
            let mut fields = issuer(name("intermediate"), false);
            fields.push(("/context/subject_sent_unchained", json!(false)));
            vec![one(CertError::IncompleteChain, 0, fields)]
        }
        Scenario::WrongEku => vec![one(
            CertError::WrongUsage,
            0,
            vec![
                ("/context/kind", json!("usage")),
                ("/context/eku_present", json!(true)),
                ("/context/purposes", json!(["clientAuth"])),
            ],
        )],
        Scenario::IntermediateNotCa => vec![one(
            CertError::BasicConstraintsError,
            1,
            vec![
                ("/context/kind", json!("basic-constraints")),
                ("/context/ca", json!(false)),
                ("/context/needs_ca", json!(true)),
                (
                    "/certificate/subject",
                    json!(name("intermediate without ca")),
                ),
            ],
        )],
        Scenario::CaLeaf => vec![one(
            CertError::BasicConstraintsError,
            0,
            vec![
                ("/context/kind", json!("basic-constraints")),
                ("/context/ca", json!(true)),
                ("/context/needs_ca", json!(false)),
            ],
        )],
        // testpki's serials are 0x20 then the scenario's index (revoked: 9).
        Scenario::Revoked => vec![one(
            CertError::Revoked,
            0,
            vec![
                ("/context/kind", json!("revoked")),
                ("/context/serial", json!("2009")),
                (
                    "/context/revoked_at",
                    json!(rfc3339(clock::revocation_time())),
                ),
                ("/context/reason", json!("keyCompromise")),
            ],
        )],
        Scenario::BadSignature => vec![one(
            CertError::InvalidSignature,
            0,
            signature(name("intermediate")),
        )],
        // The forger names the real intermediate as its issuer.
        Scenario::ForgedSignature => vec![one(
            CertError::InvalidSignature,
            0,
            signature(name("intermediate")),
        )],
        // The untrusted root re-issued with the expired window: both errors are about it.
        Scenario::AttackerRootExpired => vec![
            one(CertError::Expired, 2, validity(clock::expired(), false)),
            one(
                CertError::Untrusted,
                2,
                issuer(name("untrusted root"), true),
            ),
        ],
        // The intermediate's CRL (the leaf's issuer's) is stale, its nextUpdate the expired
        // window's end.
        Scenario::StaleCrl => vec![one(
            CertError::RevocationFailure,
            0,
            vec![
                ("/context/kind", json!("stale-crl")),
                ("/context/crl_issuer", json!(name("intermediate"))),
                (
                    "/context/next_update",
                    json!(rfc3339(clock::expired().not_after)),
                ),
            ],
        )],
    }
}

/// Checks the serialised `details` of a case against the expected contexts; one sentence per
/// disagreement.
pub fn check_contexts(expected: &[ExpectedContext], details: Option<&Value>) -> Vec<String> {
    let details = details
        .and_then(Value::as_array)
        .map_or(&[][..], Vec::as_slice);
    let mut problems = Vec::new();
    if details.len() != expected.len() {
        problems.push(format!(
            "{} certificate error details, expected {}",
            details.len(),
            expected.len()
        ));
    }
    for want in expected {
        let Some(detail) = details
            .iter()
            .find(|d| d.pointer("/class") == Some(&json!(want.class.name())))
        else {
            problems.push(format!("no detail for {}", want.class.name()));
            continue;
        };
        let position = detail.pointer("/certificate/position");
        if position != Some(&json!(want.position)) {
            problems.push(format!(
                "{}: about the certificate at {position:?}, expected {}",
                want.class.name(),
                want.position
            ));
        }
        for (pointer, value) in &want.fields {
            let got = detail.pointer(pointer);
            if got != Some(value) {
                problems.push(format!(
                    "{}: {pointer} is {got:?}, expected {value}",
                    want.class.name()
                ));
            }
        }
    }
    problems
}

/// The short name of the signature algorithm testpki signs with for `key` (the OID registry's:
/// ECDSA with SHA-256, Ed25519, RSA PKCS#1 v1.5 with SHA-256).
fn signature_algorithm(key: Key) -> &'static str {
    match key {
        Key::EcdsaP256 => "ecdsa-with-SHA256",
        Key::Ed25519 => "ed25519",
        Key::Rsa2048 => "sha256WithRSAEncryption",
    }
}

/// RFC 3339 in UTC, to the second.
fn rfc3339(at: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::scenario_errors;

    #[test]
    fn every_scenario_has_one_context_per_error_in_the_same_order() {
        for key in Key::ALL {
            for scenario in Scenario::ALL {
                let classes: Vec<CertError> = scenario_contexts(scenario, key)
                    .iter()
                    .map(|c| c.class)
                    .collect();
                assert_eq!(classes, scenario_errors(scenario), "{scenario} {key}");
            }
        }
    }

    #[test]
    fn a_wrong_detail_is_named_and_a_right_one_passes() {
        let expected = scenario_contexts(Scenario::Expired, Key::Ed25519);
        let right = json!([{
            "class": "Expired",
            "certificate": {"position": 0, "role": "leaf",
                "subject": "O=streamsocket testpki, CN=mock.streamsocket.test"},
            "context": {"kind": "validity", "not_before": "2019-01-01T00:00:00Z",
                "not_after": "2021-01-01T00:00:00Z", "checked_at": "2026-01-01T00:00:00Z",
                "outside_by_secs": 1, "not_yet_valid": false}
        }]);
        assert_eq!(
            check_contexts(&expected, Some(&right)),
            Vec::<String>::new()
        );
        let mut wrong = right;
        wrong[0]["context"]["not_after"] = json!("2022-01-01T00:00:00Z");
        wrong[0]["certificate"]["position"] = json!(1);
        let problems = check_contexts(&expected, Some(&wrong));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[1].contains("/context/not_after"), "{problems:?}");
        assert_eq!(check_contexts(&expected, None).len(), 2);
        assert!(check_contexts(&[], Some(&json!([]))).is_empty());
    }
}
