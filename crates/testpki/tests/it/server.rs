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
        Scenario::ForgedSignature => Some("InvalidCertificate(BadSignature)"),
        // The expired root is met while building the path, before the search for a trust
        // anchor ends in `UnknownIssuer`.
        Scenario::AttackerRootExpired => Some("InvalidCertificate(ExpiredContext)"),
        Scenario::CaLeaf => Some("InvalidCertificate(Other(webpki CaUsedAsEndEntity))"),
        // Only with `enforce_revocation_expiration`: by default rustls uses stale CRLs.
        Scenario::StaleCrl => Some("InvalidCertificate(ExpiredRevocationListContext)"),
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

#[test]
fn forged_signature_leaf_names_the_real_intermediate_as_its_issuer() {
    // Name and authority key identifier both point at the real intermediate, which the server
    // sends too: only the signature gives the forgery away.
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        let identity = pki.server(Scenario::ForgedSignature).unwrap();
        assert_eq!(identity.chain[1], pki.intermediate_der());
        let (_, leaf) = x509_parser::parse_x509_certificate(&identity.chain[0]).unwrap();
        let (_, intermediate) = x509_parser::parse_x509_certificate(&identity.chain[1]).unwrap();
        assert_eq!(leaf.issuer().as_raw(), intermediate.subject().as_raw());
        let aki = leaf
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|id| id.0.to_vec())
                }
                _ => None,
            });
        let ski = intermediate
            .iter_extensions()
            .find_map(|ext| match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                    Some(id.0.to_vec())
                }
                _ => None,
            });
        assert!(ski.is_some(), "{key_kind}");
        assert_eq!(aki, ski, "{key_kind}");
    }
}

#[test]
fn attacker_root_expired_chain_is_sound_under_its_own_fresh_root() {
    // Trusting the untrusted root as issued (same name and key, valid window), the presented
    // expired copy is never needed: the chain is otherwise sound.
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        let mut identity = pki.server(Scenario::AttackerRootExpired).unwrap();
        let (_, presented) = x509_parser::parse_x509_certificate(&identity.chain[2]).unwrap();
        let untrusted = pki.untrusted_root_der();
        let (_, fresh) = x509_parser::parse_x509_certificate(&untrusted).unwrap();
        assert_eq!(presented.subject(), fresh.subject());
        assert_eq!(presented.public_key().raw, fresh.public_key().raw);
        assert_eq!(
            presented.validity().not_after.timestamp(),
            testpki::clock::expired().not_after.unix_timestamp()
        );
        identity.trust_anchors = vec![pki.untrusted_root_der()];
        verify(&identity, TEST_HOST).unwrap_or_else(|err| panic!("{key_kind}: {err}"));
    }
}

#[test]
fn ca_leaf_is_an_unconstrained_ca_under_the_real_intermediate() {
    let pki = Pki::shared(KeyKind::Ed25519);
    let identity = pki.server(Scenario::CaLeaf).unwrap();
    assert_eq!(identity.chain[1], pki.intermediate_der());
    let (_, leaf) = x509_parser::parse_x509_certificate(&identity.chain[0]).unwrap();
    let constraints = leaf.basic_constraints().unwrap().unwrap().value;
    assert!(constraints.ca);
    assert_eq!(constraints.path_len_constraint, None);
}

#[test]
fn stale_crl_chain_passes_with_fresh_crls_or_a_lenient_policy() {
    // The CRLs' age is the only fault: the leaf is not listed, so fresh CRLs accept the chain,
    // and so does rustls's default policy, which uses a CRL past its nextUpdate.
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        let identity = pki.server(Scenario::StaleCrl).unwrap();
        assert_eq!(identity.crls.len(), 2);
        for crl in &identity.crls {
            let (_, parsed) = x509_parser::parse_x509_crl(crl).unwrap();
            assert_eq!(parsed.iter_revoked_certificates().count(), 0);
            let next_update = parsed.next_update().unwrap().timestamp();
            assert!(next_update < testpki::clock::REFERENCE_UNIX_SECS as i64);
        }
        let mut fresh = identity.clone();
        fresh.crls = pki.server(Scenario::Revoked).unwrap().crls;
        verify(&fresh, TEST_HOST).unwrap_or_else(|err| panic!("{key_kind}: {err}"));

        let lenient = rustls::client::WebPkiServerVerifier::builder_with_provider(
            crate::roots(&identity.trust_anchors),
            crate::provider(),
        )
        .with_crls(identity.crls.clone())
        .build()
        .unwrap();
        let (leaf, intermediates) = identity.chain.split_first().unwrap();
        let name = rustls_pki_types::ServerName::try_from(TEST_HOST).unwrap();
        rustls::client::danger::ServerCertVerifier::verify_server_cert(
            lenient.as_ref(),
            leaf,
            intermediates,
            &name,
            &[],
            testpki::clock::reference_now(),
        )
        .unwrap_or_else(|err| panic!("{key_kind}: {err}"));
    }
}
