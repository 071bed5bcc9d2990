//! Tests of the certificate-error vocabulary.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{ServerName, UnixTime};
use rustls::{CertRevocationListError, ExtendedKeyPurpose, OtherError};

use super::*;

use ChainValidationResult as R;

#[test]
fn values_match_the_winrt_enum() {
    let expected = [
        (R::Success, 0),
        (R::Untrusted, 1),
        (R::Revoked, 2),
        (R::Expired, 3),
        (R::IncompleteChain, 4),
        (R::InvalidSignature, 5),
        (R::WrongUsage, 6),
        (R::InvalidName, 7),
        (R::InvalidCertificateAuthorityPolicy, 8),
        (R::BasicConstraintsError, 9),
        (R::UnknownCriticalExtension, 10),
        (R::RevocationInformationMissing, 11),
        (R::RevocationFailure, 12),
        (R::OtherErrors, 13),
    ];
    assert_eq!(expected.len(), R::ALL.len());
    for (result, value) in expected {
        assert_eq!(result.value(), value, "{result}");
        assert_eq!(R::from_value(value), Some(result));
    }
    assert_eq!(R::from_value(14), None);
    for (severity, value) in [
        (SocketSslErrorSeverity::None, 0),
        (SocketSslErrorSeverity::Ignorable, 1),
        (SocketSslErrorSeverity::Fatal, 2),
    ] {
        assert_eq!(severity.value(), value);
        assert_eq!(SocketSslErrorSeverity::from_value(value), Some(severity));
    }
}

#[test]
fn names_round_trip_case_insensitively() {
    for result in R::ALL {
        assert_eq!(result.to_string().parse::<R>(), Ok(result));
        assert_eq!(result.to_string().to_uppercase().parse::<R>(), Ok(result));
        assert_eq!(result.value().to_string().parse::<R>(), Ok(result));
    }
    assert_eq!("success".parse::<R>(), Ok(R::Success));
    assert_eq!("trusted".parse::<R>(), Ok(R::Success));
    assert_eq!("incomplete_chain".parse::<R>(), Ok(R::IncompleteChain));
    assert_eq!("wrong-usage".parse::<R>(), Ok(R::WrongUsage));
    assert!("expiredd".parse::<R>().is_err());
    assert!("99".parse::<R>().is_err());
    for severity in SocketSslErrorSeverity::ALL {
        assert_eq!(severity.to_string().to_lowercase().parse(), Ok(severity));
    }
    assert!("deadly".parse::<SocketSslErrorSeverity>().is_err());
}

#[test]
fn serde_uses_the_winrt_names() {
    assert_eq!(
        serde_json::to_string(&R::InvalidName).unwrap(),
        "\"InvalidName\""
    );
    assert_eq!(
        serde_json::from_str::<R>("\"Success\"").unwrap(),
        R::Success
    );
    assert_eq!(
        serde_json::to_string(&SocketSslErrorSeverity::Fatal).unwrap(),
        "\"Fatal\""
    );
}

#[test]
fn only_classes_with_a_sound_relaxation_are_ignorable() {
    for result in R::ALL {
        let expected = match result {
            R::Success => SocketSslErrorSeverity::None,
            R::Untrusted
            | R::Expired
            | R::IncompleteChain
            | R::WrongUsage
            | R::InvalidName
            | R::RevocationInformationMissing
            | R::RevocationFailure => SocketSslErrorSeverity::Ignorable,
            _ => SocketSslErrorSeverity::Fatal,
        };
        assert_eq!(result.severity(), expected, "{result}");
    }
}

#[test]
fn severity_of_a_list_is_its_most_serious_member() {
    assert_eq!(severity_of(&[]), SocketSslErrorSeverity::None);
    assert_eq!(severity_of(&[R::Success]), SocketSslErrorSeverity::None);
    assert_eq!(
        severity_of(&[R::Expired, R::InvalidName]),
        SocketSslErrorSeverity::Ignorable
    );
    assert_eq!(
        severity_of(&[R::Expired, R::Revoked, R::InvalidName]),
        SocketSslErrorSeverity::Fatal
    );
}

fn time(secs: u64) -> UnixTime {
    UnixTime::since_unix_epoch(Duration::from_secs(secs))
}

fn other(error: impl std::error::Error + Send + Sync + 'static) -> CertificateError {
    CertificateError::Other(OtherError(Arc::new(error)))
}

#[test]
#[allow(deprecated)] // The deprecated variants are classified too.
fn every_rustls_certificate_error_is_classified() {
    let cases = [
        (CertificateError::BadEncoding, R::OtherErrors),
        (CertificateError::Expired, R::Expired),
        (
            CertificateError::ExpiredContext {
                time: time(20),
                not_after: time(10),
            },
            R::Expired,
        ),
        (CertificateError::NotValidYet, R::Expired),
        (
            CertificateError::NotValidYetContext {
                time: time(10),
                not_before: time(20),
            },
            R::Expired,
        ),
        (CertificateError::Revoked, R::Revoked),
        (
            CertificateError::UnhandledCriticalExtension,
            R::UnknownCriticalExtension,
        ),
        (CertificateError::UnknownIssuer, R::Untrusted),
        (
            CertificateError::UnknownRevocationStatus,
            R::RevocationInformationMissing,
        ),
        (
            CertificateError::ExpiredRevocationList,
            R::RevocationFailure,
        ),
        (
            CertificateError::ExpiredRevocationListContext {
                time: time(20),
                next_update: time(10),
            },
            R::RevocationFailure,
        ),
        (CertificateError::BadSignature, R::InvalidSignature),
        (
            CertificateError::UnsupportedSignatureAlgorithm,
            R::OtherErrors,
        ),
        (
            CertificateError::UnsupportedSignatureAlgorithmContext {
                signature_algorithm_id: vec![1, 2],
                supported_algorithms: Vec::new(),
            },
            R::OtherErrors,
        ),
        (
            CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext {
                signature_algorithm_id: vec![1],
                public_key_algorithm_id: vec![2],
            },
            R::OtherErrors,
        ),
        (CertificateError::NotValidForName, R::InvalidName),
        (
            CertificateError::NotValidForNameContext {
                expected: ServerName::try_from("example.com").unwrap(),
                presented: vec!["other.example".to_owned()],
            },
            R::InvalidName,
        ),
        (CertificateError::InvalidPurpose, R::WrongUsage),
        (
            CertificateError::InvalidPurposeContext {
                required: ExtendedKeyPurpose::ServerAuth,
                presented: vec![ExtendedKeyPurpose::ClientAuth],
            },
            R::WrongUsage,
        ),
        (CertificateError::InvalidOcspResponse, R::RevocationFailure),
        (
            CertificateError::ApplicationVerificationFailure,
            R::OtherErrors,
        ),
        (
            other(std::io::Error::other("custom verifier")),
            R::OtherErrors,
        ),
    ];
    for (error, expected) in cases {
        assert_eq!(classify(&error), expected, "{error:?}");
    }
}

#[test]
fn webpki_errors_rustls_passes_through_other_are_told_apart() {
    // rustls has no variant for these and wraps webpki's error in `CertificateError::Other`
    // (`pki_error` in rustls/src/webpki/mod.rs).
    let cases = [
        (webpki::Error::EndEntityUsedAsCa, R::BasicConstraintsError),
        (webpki::Error::CaUsedAsEndEntity, R::BasicConstraintsError),
        (
            webpki::Error::PathLenConstraintViolated,
            R::BasicConstraintsError,
        ),
        (
            webpki::Error::NameConstraintViolation,
            R::InvalidCertificateAuthorityPolicy,
        ),
        (
            webpki::Error::MalformedNameConstraint,
            R::InvalidCertificateAuthorityPolicy,
        ),
        (webpki::Error::CertDistrusted, R::Untrusted),
        (webpki::Error::EmptyEkuExtension, R::WrongUsage),
        (
            webpki::Error::SignatureAlgorithmMismatch,
            R::InvalidSignature,
        ),
        (
            webpki::Error::UnsupportedCriticalExtension,
            R::UnknownCriticalExtension,
        ),
        (webpki::Error::UnsupportedNameType, R::InvalidName),
        (webpki::Error::MaximumPathDepthExceeded, R::OtherErrors),
        (
            webpki::Error::MaximumSignatureChecksExceeded,
            R::OtherErrors,
        ),
        (webpki::Error::UnsupportedCertVersion, R::OtherErrors),
        (webpki::Error::ExtensionValueInvalid, R::OtherErrors),
    ];
    for (error, expected) in cases {
        assert_eq!(classify_webpki(&error), expected, "{error:?}");
        assert_eq!(
            classify(&other(error.clone())),
            expected,
            "wrapped {error:?}"
        );
    }
}

#[test]
#[allow(deprecated)] // The deprecated variants are classified too.
fn webpki_errors_agree_with_the_rustls_variants_they_become() {
    // The pairs rustls's `pki_error` produces: both spellings classify the same.
    let pairs = [
        (webpki::Error::BadDer, CertificateError::BadEncoding),
        (
            webpki::Error::CertExpired {
                time: time(20),
                not_after: time(10),
            },
            CertificateError::ExpiredContext {
                time: time(20),
                not_after: time(10),
            },
        ),
        (
            webpki::Error::CertNotValidYet {
                time: time(10),
                not_before: time(20),
            },
            CertificateError::NotValidYetContext {
                time: time(10),
                not_before: time(20),
            },
        ),
        (
            webpki::Error::InvalidCertValidity,
            CertificateError::Expired,
        ),
        (
            webpki::Error::UnknownIssuer,
            CertificateError::UnknownIssuer,
        ),
        (webpki::Error::CertRevoked, CertificateError::Revoked),
        (
            webpki::Error::UnknownRevocationStatus,
            CertificateError::UnknownRevocationStatus,
        ),
        (
            webpki::Error::CrlExpired {
                time: time(20),
                next_update: time(10),
            },
            CertificateError::ExpiredRevocationListContext {
                time: time(20),
                next_update: time(10),
            },
        ),
        (
            webpki::Error::InvalidSignatureForPublicKey,
            CertificateError::BadSignature,
        ),
        (
            webpki::Error::RequiredEkuNotFound,
            CertificateError::InvalidPurpose,
        ),
        (
            webpki::Error::UnsupportedSignatureAlgorithm,
            CertificateError::UnsupportedSignatureAlgorithm,
        ),
    ];
    for (webpki_error, rustls_error) in pairs {
        assert_eq!(
            classify_webpki(&webpki_error),
            classify(&rustls_error),
            "{webpki_error:?}"
        );
    }
}

#[test]
fn crl_errors_are_revocation_failures() {
    for error in [
        webpki::Error::IssuerNotCrlSigner,
        webpki::Error::InvalidCrlSignatureForPublicKey,
        webpki::Error::InvalidCrlNumber,
        webpki::Error::UnsupportedDeltaCrl,
        webpki::Error::UnsupportedIndirectCrl,
        webpki::Error::UnsupportedCrlVersion,
        webpki::Error::UnsupportedRevocationReason,
    ] {
        assert_eq!(classify_webpki(&error), R::RevocationFailure, "{error:?}");
    }
    let error = rustls::Error::InvalidCertRevocationList(CertRevocationListError::BadSignature);
    assert_eq!(classify_error(&error), Some(R::RevocationFailure));
}

#[test]
fn classify_error_only_answers_for_certificate_errors() {
    let cert = rustls::Error::InvalidCertificate(CertificateError::Revoked);
    assert_eq!(classify_error(&cert), Some(R::Revoked));
    assert_eq!(classify_error(&rustls::Error::DecryptError), None);
    assert_eq!(
        classify_error(&rustls::Error::General("x".to_owned())),
        None
    );
}

#[test]
fn parse_error_message_is_lowercase() {
    let message = "nope".parse::<R>().unwrap_err().to_string();
    assert!(message.starts_with("unknown"), "{message}");
    assert!(!message.ends_with('.'));
}

/// A verifier over the project root of `pki` that ignores `ignored` and pins `pins`, and its
/// verdict on `scenario` at the reference time, for `localhost`.
fn pinned_verdict(
    scenario: testpki::Scenario,
    ignored: &[R],
    pins: &[SpkiPin],
) -> (Verdict, SpkiPin) {
    let pki = testpki::Pki::shared(testpki::KeyKind::Ed25519);
    let identity = pki.server(scenario).expect("a scenario identity");
    let roots = identity
        .trust_anchors
        .iter()
        .map(|der| {
            webpki::anchor_from_trusted_cert(der)
                .expect("an anchor")
                .to_owned()
        })
        .collect();
    let algorithms = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let verifier = ChainVerifier::new(roots, &identity.crls, algorithms, ignored)
        .expect("ignorable classes")
        .with_pins(pins);
    assert_eq!(verifier.pins(), pins);
    let name = ServerName::try_from("localhost").expect("a name");
    let leaf_pin = SpkiPin::of_certificate(identity.chain[0].as_ref()).expect("the leaf parses");
    let verdict = verifier.verify(
        &identity.chain[0],
        &identity.chain[1..],
        &name,
        testpki::clock::reference_now(),
    );
    (verdict, leaf_pin)
}

/// A pin that no testpki key has.
fn foreign_pin() -> SpkiPin {
    SpkiPin::from_bytes([0x5a; 32])
}

fn leaf_pin_of(scenario: testpki::Scenario) -> SpkiPin {
    pinned_verdict(scenario, &[], &[]).1
}

#[test]
fn a_self_signed_server_is_accepted_with_untrusted_ignored_and_its_key_pinned() {
    use testpki::Scenario::SelfSigned;
    let pin = leaf_pin_of(SelfSigned);
    let (verdict, _) = pinned_verdict(SelfSigned, &[R::Untrusted], &[foreign_pin(), pin]);
    assert!(verdict.accepted(), "{verdict:?}");
    assert_eq!(verdict.errors, [R::Untrusted]);
    assert_eq!(verdict.pin_mismatch, None);
}

#[test]
fn a_self_signed_server_with_another_key_is_refused_whatever_is_ignored() {
    use testpki::Scenario::SelfSigned;
    let ignorable: Vec<R> = R::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect();
    let (verdict, leaf) = pinned_verdict(SelfSigned, &ignorable, &[foreign_pin()]);
    assert!(!verdict.accepted());
    // The classes themselves were all ignored: the pin alone refuses.
    assert!(verdict.blocking.is_empty(), "{verdict:?}");
    let mismatch = verdict.pin_mismatch.expect("a pin mismatch");
    assert_eq!(mismatch.leaf, Some(leaf));
    assert_eq!(mismatch.pinned, [foreign_pin()]);
    let text = mismatch.to_string();
    assert!(text.contains(&format!("sha256/{leaf}")), "{text}");
    assert!(
        text.contains(&format!("sha256/{}", foreign_pin())),
        "{text}"
    );
}

#[test]
fn a_pin_does_not_stand_in_for_validation() {
    use testpki::Scenario::{SelfSigned, Valid};
    // The right key, nothing ignored: the self-signed chain is still untrusted.
    let pin = leaf_pin_of(SelfSigned);
    let (verdict, _) = pinned_verdict(SelfSigned, &[], &[pin]);
    assert!(!verdict.accepted());
    assert_eq!(verdict.blocking, [R::Untrusted]);
    assert_eq!(verdict.pin_mismatch, None);
    // A valid chain is accepted with its own key pinned and refused with another (HPKP).
    let pin = leaf_pin_of(Valid);
    assert!(pinned_verdict(Valid, &[], &[pin]).0.accepted());
    let (verdict, _) = pinned_verdict(Valid, &[], &[foreign_pin()]);
    assert!(!verdict.accepted());
    assert!(verdict.errors.is_empty() && verdict.blocking.is_empty());
    assert!(verdict.pin_mismatch.is_some());
    // No pins: any key that validates.
    assert!(pinned_verdict(Valid, &[], &[]).0.accepted());
}

#[test]
fn the_leaf_pin_is_the_hash_of_its_subject_public_key_info() {
    // Every testpki scenario's leaf has a key of its own kind; the pin hashes its SPKI DER, which
    // x509-parser hands out as the raw bytes of the field, checked here against a hand split.
    let pki = testpki::Pki::shared(testpki::KeyKind::Ed25519);
    let identity = pki.server(testpki::Scenario::Valid).expect("valid");
    let (_, cert) = x509_parser::parse_x509_certificate(identity.chain[0].as_ref()).unwrap();
    let spki = cert.public_key().raw;
    // An Ed25519 SPKI is 44 bytes: SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (33) }.
    assert_eq!(spki.len(), 44);
    assert_eq!(&spki[..2], [0x30, 0x2a]);
    assert_eq!(
        SpkiPin::of_certificate(identity.chain[0].as_ref()),
        Some(SpkiPin::of_spki(spki))
    );
    assert_eq!(SpkiPin::of_certificate(b"not a certificate"), None);
}

#[test]
fn with_pins_required_a_leaf_whose_key_cannot_be_read_matches_none() {
    let pki = testpki::Pki::shared(testpki::KeyKind::Ed25519);
    let identity = pki.server(testpki::Scenario::Valid).expect("valid");
    let roots = vec![
        webpki::anchor_from_trusted_cert(&identity.trust_anchors[0])
            .expect("an anchor")
            .to_owned(),
    ];
    let algorithms = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let name = ServerName::try_from("localhost").expect("a name");
    let garbage = rustls::pki_types::CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    let now = testpki::clock::reference_now();
    let pinned = ChainVerifier::new(roots.clone(), &[], algorithms, &[])
        .expect("no ignore-list")
        .with_pins(&[foreign_pin()]);
    let verdict = pinned.verify(&garbage, &[], &name, now);
    assert!(!verdict.accepted());
    let mismatch = verdict
        .pin_mismatch
        .as_ref()
        .expect("no key, so no pin matches");
    assert_eq!(mismatch.leaf, None);
    assert!(
        mismatch.to_string().contains("cannot be read"),
        "{mismatch}"
    );
    // Every reported class has its detail, even for a leaf that does not parse.
    assert_eq!(verdict.details.len(), verdict.errors.len());
    assert!(!verdict.errors.is_empty());
    // Without pins the same leaf is refused for itself, with no pin mismatch.
    let unpinned = ChainVerifier::new(roots, &[], algorithms, &[]).expect("no ignore-list");
    let verdict = unpinned.verify(&garbage, &[], &name, now);
    assert!(!verdict.accepted() && verdict.pin_mismatch.is_none());
}
