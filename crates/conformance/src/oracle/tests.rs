//! The oracle's own rows, spelled out: these are the README's table and DESIGN.md's contract.

use super::*;
use crate::case::Key;

use ProtectionLevel as L;

fn case(level: L, mode: Mode, server: ServerTls) -> Case {
    Case::core(level, mode, server)
}

/// The expectation is an `InvalidArgument` failure with nothing sent.
fn assert_refused_as_invalid_before_sending(e: &Expected) {
    assert!(e.silent);
    assert!(matches!(
        e.any_of[0],
        Outcome::Failed {
            failure: Failure::InvalidArgument,
            ..
        }
    ));
}

fn secured(version: Version) -> Outcome {
    Outcome::Secured {
        version,
        cert_errors: vec![],
    }
}

#[test]
fn tls_levels_negotiate_the_newest_common_version() {
    for level in [L::Ssl, L::SslAllowNullEncryption, L::Unspecified] {
        let e = expect(&case(level, Mode::Connect, ServerTls::Both));
        assert_eq!(e.any_of, vec![secured(Version::Tls13)]);
        let e = expect(&case(level, Mode::Smtp, ServerTls::Tls12Only));
        assert_eq!(e.any_of, vec![secured(Version::Tls12)]);
    }
    let e = expect(&case(L::Tls12, Mode::Imap, ServerTls::Both));
    assert_eq!(e.any_of, vec![secured(Version::Tls12)]);
}

#[test]
fn single_version_levels_fail_against_the_other_version() {
    let e = expect(&case(L::Tls12, Mode::Connect, ServerTls::Tls13Only));
    assert!(e.accepts(&Outcome::Failed {
        failure: Failure::VersionMismatch,
        cert_errors: vec![]
    }));
    let e = expect(&case(L::Tls13, Mode::Pop3, ServerTls::Tls12Only));
    assert!(e.accepts(&Outcome::Failed {
        failure: Failure::VersionMismatch,
        cert_errors: vec![]
    }));
}

#[test]
fn legacy_and_bluetooth_levels_fail_silently() {
    for level in [L::Ssl3AllowWeakEncryption, L::Tls10, L::Tls11] {
        let e = expect(&case(level, Mode::Smtp, ServerTls::LegacyTls10));
        assert!(e.silent);
        assert_eq!(e.any_of.len(), 1);
        assert!(matches!(
            e.any_of[0],
            Outcome::Failed {
                failure: Failure::UnsupportedLevel,
                ..
            }
        ));
    }
    let e = expect(&case(
        L::BluetoothEncryptionWithAuthentication,
        Mode::Connect,
        ServerTls::Both,
    ));
    assert_refused_as_invalid_before_sending(&e);
}

#[test]
fn plain_socket_is_plaintext_in_connect_and_invalid_in_upgrade() {
    assert_eq!(
        expect(&case(
            L::PlainSocket,
            Mode::Connect,
            ServerTls::PlaintextOnly
        ))
        .any_of,
        vec![Outcome::Plaintext]
    );
    let e = expect(&case(L::PlainSocket, Mode::Framed, ServerTls::Both));
    assert_refused_as_invalid_before_sending(&e);
}

#[test]
fn the_minimum_governs_the_upgrade_not_the_plaintext_connect() {
    for minimum in std::iter::once(None).chain(L::ALL.map(Some)) {
        assert_eq!(
            level_verdict(L::PlainSocket, minimum, false),
            LevelVerdict::Plaintext,
            "{minimum:?}"
        );
        assert_eq!(
            level_verdict(L::PlainSocket, minimum, true),
            LevelVerdict::Refuse(Failure::InvalidArgument),
            "{minimum:?}"
        );
    }
    assert_eq!(
        level_verdict(L::Ssl, Some(L::Tls13), true),
        LevelVerdict::Offer(vec![Version::Tls13])
    );
    let mut c = case(L::PlainSocket, Mode::Connect, ServerTls::Both);
    c.control = Control::MinimumTls13;
    assert_eq!(expect(&c).any_of, vec![Outcome::Plaintext]);
}

#[test]
fn only_bluetooth_levels_cannot_be_a_minimum() {
    for minimum in L::ALL {
        let bluetooth = matches!(
            minimum,
            L::BluetoothEncryptionAllowNullAuthentication
                | L::BluetoothEncryptionWithAuthentication
        );
        assert_eq!(minimum_verdict(minimum).is_err(), bluetooth, "{minimum}");
    }
}

#[test]
fn a_tls_level_never_ends_in_plaintext() {
    for level in L::ALL {
        if level == L::PlainSocket {
            continue;
        }
        for mode in Mode::ALL {
            for server in ServerTls::ALL {
                let e = expect(&case(level, mode, server));
                assert!(
                    !e.accepts(&Outcome::Plaintext),
                    "{level} {mode:?} {server:?}"
                );
            }
        }
    }
}

#[test]
fn certificate_errors_are_fatal_unless_ignorable_and_ignored() {
    let mut c = case(L::Ssl, Mode::Connect, ServerTls::Both);
    c.scenario = Scenario::Expired;
    assert_eq!(
        expect(&c).any_of,
        vec![Outcome::Failed {
            failure: Failure::CertificateRejected,
            cert_errors: vec![CertError::Expired]
        }]
    );
    c.control = Control::IgnoreScenarioErrors;
    assert_eq!(
        expect(&c).any_of,
        vec![Outcome::Secured {
            version: Version::Tls13,
            cert_errors: vec![CertError::Expired]
        }]
    );
    c.scenario = Scenario::Revoked;
    c.key = Key::Ed25519;
    assert!(matches!(
        expect(&c).any_of[0],
        Outcome::Failed {
            failure: Failure::CertificateRejected,
            ..
        }
    ));
}

#[test]
fn an_expired_untrusted_root_is_secured_only_with_both_errors_ignored() {
    let mut c = case(L::Ssl, Mode::Connect, ServerTls::Both);
    c.scenario = Scenario::AttackerRootExpired;
    let both = vec![CertError::Expired, CertError::Untrusted];
    assert_eq!(
        expect(&c).any_of,
        vec![Outcome::Failed {
            failure: Failure::CertificateRejected,
            cert_errors: both.clone()
        }]
    );
    c.control = Control::IgnoreScenarioErrors;
    assert_eq!(
        expect(&c).any_of,
        vec![Outcome::Secured {
            version: Version::Tls13,
            cert_errors: both
        }]
    );
}

#[test]
fn a_stale_crl_is_ignorable_but_a_forged_signature_or_a_ca_leaf_is_not() {
    let mut c = case(L::Tls12, Mode::Connect, ServerTls::Both);
    c.control = Control::IgnoreScenarioErrors;
    c.scenario = Scenario::StaleCrl;
    assert_eq!(
        expect(&c).any_of,
        vec![Outcome::Secured {
            version: Version::Tls12,
            cert_errors: vec![CertError::RevocationFailure]
        }]
    );
    for (scenario, error) in [
        (Scenario::ForgedSignature, CertError::InvalidSignature),
        (Scenario::CaLeaf, CertError::BasicConstraintsError),
    ] {
        c.scenario = scenario;
        assert_eq!(
            expect(&c).any_of,
            vec![Outcome::Failed {
                failure: Failure::CertificateRejected,
                cert_errors: vec![error]
            }],
            "{scenario}"
        );
    }
}

#[test]
fn scenario_errors_are_sorted_and_empty_only_for_the_valid_chain() {
    for scenario in Scenario::ALL {
        let errors = scenario_errors(scenario);
        let mut sorted = errors.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(errors, sorted, "{scenario}");
        assert_eq!(errors.is_empty(), scenario == Scenario::Valid, "{scenario}");
    }
}

#[test]
fn stripping_and_injection_fail_the_upgrade() {
    let mut c = case(L::Ssl, Mode::Smtp, ServerTls::Both);
    c.behaviour = Behaviour::StartTlsNotAdvertised;
    assert!(matches!(
        expect(&c).any_of[0],
        Outcome::Failed {
            failure: Failure::StartTlsNotOffered,
            ..
        }
    ));
    c.behaviour = Behaviour::ResponseInjection;
    assert!(matches!(
        expect(&c).any_of[0],
        Outcome::Failed {
            failure: Failure::PlaintextAfterGoAhead,
            ..
        }
    ));
    c.mode = Mode::Imap;
    c.behaviour = Behaviour::Preauth;
    assert!(matches!(
        expect(&c).any_of[0],
        Outcome::Failed {
            failure: Failure::StartTlsNotOffered,
            ..
        }
    ));
    c.behaviour = Behaviour::TlsRequired;
    assert_eq!(expect(&c).any_of, vec![secured(Version::Tls13)]);
}

#[test]
fn a_minimum_above_the_request_is_invalid() {
    let mut c = case(L::Tls12, Mode::Connect, ServerTls::Both);
    c.control = Control::MinimumTls13;
    assert!(expect(&c).silent);
    c.level = L::Unspecified;
    c.server = ServerTls::Tls12Only;
    assert!(matches!(
        expect(&c).any_of[0],
        Outcome::Failed {
            failure: Failure::VersionMismatch,
            ..
        }
    ));
}

#[test]
fn the_wrong_port_is_named_each_way() {
    for behaviour in [
        Behaviour::SmtpPort,
        Behaviour::ImapPort,
        Behaviour::Pop3Port,
    ] {
        let mut c = case(L::Tls13, Mode::Connect, ServerTls::Both);
        c.behaviour = behaviour;
        assert_eq!(
            expect(&c).any_of,
            vec![Outcome::Failed {
                failure: Failure::PlaintextInsteadOfTls,
                cert_errors: vec![],
            }],
            "{behaviour:?}"
        );
        // A plaintext connect to a STARTTLS port is what STARTTLS starts with.
        c.level = L::PlainSocket;
        assert_eq!(expect(&c).any_of, vec![Outcome::Plaintext], "{behaviour:?}");
    }
    for mode in [Mode::Smtp, Mode::Imap, Mode::Pop3] {
        let mut c = case(L::Ssl, mode, ServerTls::Both);
        c.behaviour = Behaviour::ImplicitPort;
        let e = expect(&c);
        assert!(!e.silent, "{mode:?}: the connect happened");
        assert!(matches!(
            e.any_of.as_slice(),
            [Outcome::Failed {
                failure: Failure::HandshakeTimedOut,
                ..
            }]
        ));
    }
}
