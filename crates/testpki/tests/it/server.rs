//! Server scenarios against rustls's `WebPkiServerVerifier`.

use std::time::SystemTime;

use rustls_pki_types::UnixTime;
use testpki::{ExpectedError, KeyKind, Pki, Scenario, TEST_HOST, VALID_NAMES, WRONG_HOST};

use crate::{classify, error_name, verify, verify_at};

/// What rustls 0.23 (webpki 0.103, aws-lc-rs) really reports per scenario, for every key kind.
fn observed_rustls_error(scenario: Scenario) -> Option<&'static str> {
    match scenario {
        Scenario::Valid => None,
        Scenario::Expired => Some("InvalidCertificate(ExpiredContext)"),
        Scenario::NotYetValid => Some("InvalidCertificate(NotValidYetContext)"),
        Scenario::WrongHost => Some("InvalidCertificate(NotValidForNameContext)"),
        Scenario::SelfSigned => Some("InvalidCertificate(UnknownIssuer)"),
        Scenario::UntrustedRoot => Some("InvalidCertificate(UnknownIssuer)"),
        Scenario::MissingIntermediate => Some("InvalidCertificate(UnknownIssuer)"),
        Scenario::WrongEku => Some("InvalidCertificate(InvalidPurposeContext)"),
        Scenario::IntermediateNotCa => Some("InvalidCertificate(Other(webpki EndEntityUsedAsCa))"),
        Scenario::Revoked => Some("InvalidCertificate(Revoked)"),
        Scenario::BadSignature => Some("InvalidCertificate(BadSignature)"),
    }
}

#[test]
fn every_scenario_yields_its_expected_error_class_for_every_key_kind() {
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        for scenario in Scenario::ALL {
            let identity = pki.server(scenario).unwrap();
            assert_eq!(identity.scenario, scenario);
            assert_eq!(identity.key_kind, key_kind);
            assert_eq!(identity.expected_error, scenario.expected_error());
            let result = verify(&identity, TEST_HOST);
            let context = format!("{key_kind} {scenario}: {result:?}");
            match &result {
                Ok(()) => assert_eq!(identity.expected_error, None, "{context}"),
                Err(err) => {
                    assert_eq!(
                        classify(&identity, err),
                        identity.expected_error,
                        "{context}"
                    );
                    assert_eq!(
                        Some(error_name(err).as_str()),
                        observed_rustls_error(scenario),
                        "{context}"
                    );
                }
            }
            assert_eq!(result.is_ok(), scenario == Scenario::Valid, "{context}");
        }
    }
}

#[test]
fn valid_chain_verifies_for_every_name_it_carries() {
    for key_kind in KeyKind::ALL {
        let identity = Pki::shared(key_kind).server(Scenario::Valid).unwrap();
        for name in VALID_NAMES {
            verify(&identity, name).unwrap_or_else(|err| panic!("{key_kind} {name}: {err}"));
        }
        for name in ["mock2.streamsocket.test", "127.0.0.2", WRONG_HOST] {
            assert!(verify(&identity, name).is_err(), "{key_kind} {name}");
        }
    }
}

#[test]
fn wrong_host_leaf_is_valid_only_for_its_own_name() {
    let identity = Pki::shared(KeyKind::EcdsaP256)
        .server(Scenario::WrongHost)
        .unwrap();
    verify(&identity, WRONG_HOST).unwrap();
    for name in VALID_NAMES {
        let err = verify(&identity, name).unwrap_err();
        assert_eq!(
            classify(&identity, &err),
            Some(ExpectedError::InvalidName),
            "{name}"
        );
    }
}

#[test]
fn valid_chain_verifies_at_the_real_clock_too() {
    // Command-line peers use the real clock; the windows are wide enough for any run before 2099.
    let now = UnixTime::since_unix_epoch(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap(),
    );
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        verify_at(&pki.server(Scenario::Valid).unwrap(), TEST_HOST, now).unwrap();
        for scenario in [Scenario::Expired, Scenario::NotYetValid] {
            let identity = pki.server(scenario).unwrap();
            let err = verify_at(&identity, TEST_HOST, now).unwrap_err();
            assert_eq!(classify(&identity, &err), scenario.expected_error());
        }
    }
}

#[test]
fn revoked_scenario_crls_still_accept_the_valid_leaf() {
    // The root's empty CRL makes the intermediate's status known, so a client given both CRLs
    // with rustls's default (strict) revocation policy accepts unrevoked chains.
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        let mut valid = pki.server(Scenario::Valid).unwrap();
        valid.crls = pki.server(Scenario::Revoked).unwrap().crls;
        assert_eq!(valid.crls.len(), 2);
        verify(&valid, TEST_HOST).unwrap();
    }
}

#[test]
fn revoked_leaf_passes_without_its_crls() {
    // Shows that the CRL is what makes the difference, not anything else about the leaf.
    let mut identity = Pki::shared(KeyKind::Ed25519)
        .server(Scenario::Revoked)
        .unwrap();
    identity.crls.clear();
    verify(&identity, TEST_HOST).unwrap();
}

#[test]
fn untrusted_root_chain_is_otherwise_sound() {
    let pki = Pki::shared(KeyKind::Rsa2048);
    let mut identity = pki.server(Scenario::UntrustedRoot).unwrap();
    assert_ne!(pki.untrusted_root_der(), pki.root_der());
    identity.trust_anchors = vec![pki.untrusted_root_der()];
    verify(&identity, TEST_HOST).unwrap();
}

#[test]
fn missing_intermediate_passes_once_the_intermediate_is_supplied() {
    let pki = Pki::shared(KeyKind::EcdsaP256);
    let mut identity = pki.server(Scenario::MissingIntermediate).unwrap();
    assert_eq!(identity.chain.len(), 1);
    identity.chain.push(pki.intermediate_der());
    verify(&identity, TEST_HOST).unwrap();
}

#[test]
fn bad_signature_leaf_is_a_sound_leaf_with_one_flipped_bit() {
    for key_kind in KeyKind::ALL {
        let mut identity = Pki::shared(key_kind)
            .server(Scenario::BadSignature)
            .unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&identity.chain[0]).unwrap();
        assert_eq!(parsed.tbs_certificate.raw_serial(), [0x20, 10]);
        let mut repaired = identity.chain[0].to_vec();
        *repaired.last_mut().unwrap() ^= 0x01;
        identity.chain[0] = repaired.into();
        verify(&identity, TEST_HOST).unwrap_or_else(|err| panic!("{key_kind}: {err}"));
    }
}

#[test]
fn every_identity_key_is_accepted_by_rustls() {
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        for scenario in Scenario::ALL {
            let identity = pki.server(scenario).unwrap();
            rustls::ServerConfig::builder_with_provider(crate::provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(identity.chain.clone(), identity.key.clone_key())
                .unwrap_or_else(|err| panic!("{key_kind} {scenario}: {err}"));
        }
    }
}

#[test]
fn freshly_generated_pki_issues_the_same_scenarios() {
    for key_kind in KeyKind::ALL {
        let pki = Pki::new(key_kind).unwrap();
        assert_eq!(pki.key_kind(), key_kind);
        assert_ne!(pki.root_der(), Pki::shared(key_kind).root_der());
        for scenario in Scenario::ALL {
            let identity = pki.server(scenario).unwrap();
            let result = verify(&identity, TEST_HOST);
            match result {
                Ok(()) => assert_eq!(scenario, Scenario::Valid),
                Err(err) => assert_eq!(
                    classify(&identity, &err),
                    scenario.expected_error(),
                    "{key_kind} {scenario}"
                ),
            }
        }
    }
}
