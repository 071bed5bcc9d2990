//! Server certificate validation: every scenario's errors, all errors at once, a scenario's
//! ignorable classes all ignored or one left out, and fatal classes that cannot be ignored.

use streamsocket::{
    ChainValidationResult as C, ErrorKind, ProtectionLevel, SocketSslErrorSeverity, SpkiPin,
    StreamSocket,
};
use testpki::{ExpectedError, Scenario};

use crate::server::{Mode, Options, TestServer};
use crate::socket_for;

/// The class a correct client reports for a testpki expectation.
fn class_of(expected: ExpectedError) -> C {
    match expected {
        ExpectedError::Expired | ExpectedError::NotYetValid => C::Expired,
        ExpectedError::InvalidName => C::InvalidName,
        ExpectedError::Untrusted => C::Untrusted,
        ExpectedError::IncompleteChain => C::IncompleteChain,
        ExpectedError::WrongUsage => C::WrongUsage,
        ExpectedError::BasicConstraints => C::BasicConstraintsError,
        ExpectedError::Revoked => C::Revoked,
        ExpectedError::RevocationFailure => C::RevocationFailure,
        ExpectedError::InvalidSignature => C::InvalidSignature,
    }
}

/// Every class a correct client reports for `scenario`, as it reports them: sorted by WinRT
/// value.
fn classes_of(scenario: Scenario) -> Vec<C> {
    let mut classes: Vec<C> = scenario
        .expected_errors()
        .iter()
        .copied()
        .map(class_of)
        .collect();
    classes.sort();
    classes
}

/// The most serious severity among `classes`, as `SocketInformation` reports it.
fn severity_of(classes: &[C]) -> SocketSslErrorSeverity {
    classes
        .iter()
        .map(|class| class.severity())
        .max()
        .unwrap_or_default()
}

fn kind_of(class: C) -> ErrorKind {
    match class {
        C::Expired => ErrorKind::CertificateExpired,
        C::InvalidName => ErrorKind::CertificateCommonNameIsIncorrect,
        C::Untrusted | C::IncompleteChain => ErrorKind::CertificateUntrustedRoot,
        C::WrongUsage => ErrorKind::CertificateWrongUsage,
        C::Revoked => ErrorKind::CertificateRevoked,
        _ => ErrorKind::CertificateIsInvalid,
    }
}

/// Connects to a server presenting `scenario`, with `ignorable` classes.
async fn connect_scenario(
    scenario: Scenario,
    level: ProtectionLevel,
    ignorable: &[C],
) -> (Result<(), streamsocket::Error>, StreamSocket) {
    let server = TestServer::start(Options {
        scenario,
        ..Options::default()
    })
    .await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_ignorable_server_certificate_errors(ignorable.iter().copied())
        .unwrap();
    let result = socket.connect("localhost", &server.port(), level).await;
    (result, socket)
}

#[tokio::test]
async fn every_broken_scenario_fails_with_its_classes_in_both_versions() {
    for level in [ProtectionLevel::Tls12, ProtectionLevel::Tls13] {
        for scenario in Scenario::ALL {
            let (result, socket) = connect_scenario(scenario, level, &[]).await;
            let info = socket.information();
            let classes = classes_of(scenario);
            let Some(first) = classes.first().copied() else {
                result.unwrap_or_else(|err| panic!("{scenario:?}: {err}"));
                assert!(info.server_certificate_errors.is_empty());
                assert_eq!(
                    info.server_certificate_error_severity,
                    SocketSslErrorSeverity::None
                );
                continue;
            };
            let err = result.expect_err("a broken chain fails");
            // The kind follows the first class not ignored, in WinRT order.
            assert_eq!(err.kind(), kind_of(first), "{scenario:?} at {level}: {err}");
            assert!(
                err.status().is_some(),
                "certificate errors carry a WinRT status"
            );
            assert_eq!(
                info.server_certificate_errors, classes,
                "{scenario:?} at {level}"
            );
            assert_eq!(
                info.server_certificate_error_severity,
                severity_of(&classes)
            );
            assert!(
                !info.server_certificates.is_empty(),
                "the chain is kept after a failure"
            );
            assert_eq!(info.protection_level, ProtectionLevel::PlainSocket);
        }
    }
}

#[tokio::test]
async fn a_scenario_connects_only_with_all_its_classes_ignored_and_still_reports_them() {
    for scenario in Scenario::ALL {
        let classes = classes_of(scenario);
        if classes.is_empty() || severity_of(&classes) == SocketSslErrorSeverity::Fatal {
            continue;
        }
        let (result, socket) = connect_scenario(scenario, ProtectionLevel::Ssl, &classes).await;
        result.unwrap_or_else(|err| panic!("{scenario:?} with {classes:?} ignored: {err}"));
        let info = socket.information();
        assert_eq!(info.server_certificate_errors, classes, "{scenario:?}");
        assert_eq!(
            info.server_certificate_error_severity,
            SocketSslErrorSeverity::Ignorable
        );
        assert_eq!(info.protection_level, ProtectionLevel::Tls13);

        // Leaving any one class out fails on that class, even with an unrelated class ignored
        // in its place: ignoring one class never excuses another.
        for left_out in &classes {
            let unrelated = [C::InvalidName, C::Expired, C::WrongUsage]
                .into_iter()
                .find(|c| !classes.contains(c))
                .expect("no scenario has all three");
            let mut ignored: Vec<C> = classes.iter().copied().filter(|c| c != left_out).collect();
            ignored.push(unrelated);
            let (result, socket) = connect_scenario(scenario, ProtectionLevel::Ssl, &ignored).await;
            let err = result.expect_err("only the listed classes are ignored");
            assert_eq!(
                err.kind(),
                kind_of(*left_out),
                "{scenario:?} with {ignored:?} ignored: {err}"
            );
            assert_eq!(
                socket.information().server_certificate_errors,
                classes,
                "{scenario:?} with {ignored:?} ignored"
            );
        }
    }
}

#[tokio::test]
async fn an_expired_untrusted_root_is_accepted_only_with_both_classes_ignored() {
    // The one scenario with two problems: each alone is refused, both together connect.
    let both = [C::Untrusted, C::Expired];
    assert_eq!(classes_of(Scenario::AttackerRootExpired), both);
    for (ignored, kind) in [
        (&[][..], Some(ErrorKind::CertificateUntrustedRoot)),
        (&[C::Untrusted][..], Some(ErrorKind::CertificateExpired)),
        (&[C::Expired][..], Some(ErrorKind::CertificateUntrustedRoot)),
        (&both[..], None),
    ] {
        let (result, socket) =
            connect_scenario(Scenario::AttackerRootExpired, ProtectionLevel::Ssl, ignored).await;
        assert_eq!(
            result.as_ref().err().map(streamsocket::Error::kind),
            kind,
            "{ignored:?} ignored: {result:?}"
        );
        assert_eq!(socket.information().server_certificate_errors, both);
    }
}

#[tokio::test]
async fn fatal_classes_cannot_be_ignored() {
    let mut socket = StreamSocket::new();
    let fatal: Vec<C> = C::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Fatal)
        .collect();
    assert!(fatal.contains(&C::BasicConstraintsError));
    for class in fatal {
        let err = socket
            .control_mut()
            .set_ignorable_server_certificate_errors([class])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{class}");
    }
    // Ignoring every ignorable class still fails a revoked, badly signed, forged or broken
    // chain.
    let all_ignorable: Vec<C> = C::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect();
    for (scenario, kind) in [
        (Scenario::Revoked, ErrorKind::CertificateRevoked),
        (Scenario::BadSignature, ErrorKind::CertificateIsInvalid),
        (Scenario::ForgedSignature, ErrorKind::CertificateIsInvalid),
        (Scenario::IntermediateNotCa, ErrorKind::CertificateIsInvalid),
        (Scenario::CaLeaf, ErrorKind::CertificateIsInvalid),
    ] {
        let (result, socket) =
            connect_scenario(scenario, ProtectionLevel::Ssl, &all_ignorable).await;
        let err = result.expect_err("fatal errors are never ignored");
        assert_eq!(err.kind(), kind, "{scenario:?}: {err}");
        let info = socket.information();
        assert_eq!(
            info.server_certificate_errors,
            classes_of(scenario),
            "{scenario:?}"
        );
        assert_eq!(
            info.server_certificate_error_severity,
            SocketSslErrorSeverity::Fatal
        );
    }
}

/// Connects in plaintext to 127.0.0.1, then upgrades validating for `name`.
async fn upgrade_for_name(
    scenario: Scenario,
    name: &str,
    ignorable: &[C],
) -> (Result<(), streamsocket::Error>, StreamSocket) {
    let options = Options {
        scenario,
        mode: Mode::PlainThenTls(0),
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_ignorable_server_certificate_errors(ignorable.iter().copied())
        .unwrap();
    socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    let result = socket.upgrade_to_ssl(ProtectionLevel::Ssl, name).await;
    (result, socket)
}

#[tokio::test]
async fn an_expired_certificate_for_the_wrong_host_reports_both_errors() {
    let (result, socket) = upgrade_for_name(Scenario::Expired, "wrong.example.test", &[]).await;
    let err = result.unwrap_err();
    assert_eq!(
        socket.information().server_certificate_errors,
        vec![C::Expired, C::InvalidName]
    );
    assert!(matches!(err.kind(), ErrorKind::CertificateExpired), "{err}");
    // Both errors in the message, each with what it is about (testpki's valid names).
    let message = err.to_string();
    assert!(
        message.contains("(Expired: leaf expired ")
            && message.contains(
                "; InvalidName: leaf is for DNS:mock.streamsocket.test, DNS:localhost, \
                 IP:127.0.0.1, IP:::1, not wrong.example.test)"
            ),
        "{err}"
    );

    // Expired ignored does not excuse InvalidName.
    let (result, socket) =
        upgrade_for_name(Scenario::Expired, "wrong.example.test", &[C::Expired]).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::CertificateCommonNameIsIncorrect,
        "{err}"
    );
    assert_eq!(
        socket.information().server_certificate_errors,
        vec![C::Expired, C::InvalidName]
    );

    // Both ignored: the connection succeeds and both are still reported.
    let (result, socket) = upgrade_for_name(
        Scenario::Expired,
        "wrong.example.test",
        &[C::Expired, C::InvalidName],
    )
    .await;
    result.unwrap();
    let info = socket.information();
    assert_eq!(
        info.server_certificate_errors,
        vec![C::Expired, C::InvalidName]
    );
    assert_eq!(info.protection_level, ProtectionLevel::Tls13);
}

#[tokio::test]
async fn a_self_signed_leaf_is_untrusted_not_incomplete() {
    // The chain ends in a self-issued certificate: the issuer is not missing, it is distrusted.
    let options = Options {
        scenario: Scenario::SelfSigned,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    let err = socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateUntrustedRoot, "{err}");
    assert_eq!(
        socket.information().server_certificate_errors,
        vec![C::Untrusted]
    );
}

#[tokio::test]
async fn the_validation_name_is_the_callers_not_the_peers() {
    // The valid leaf carries localhost; upgrading for another name fails on the name alone.
    let (result, socket) = upgrade_for_name(Scenario::Valid, "example.com", &[]).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::CertificateCommonNameIsIncorrect,
        "{err}"
    );
    assert_eq!(
        socket.information().server_certificate_errors,
        vec![C::InvalidName]
    );
    assert_eq!(
        socket.information().server_name_indication.as_deref(),
        Some("example.com")
    );
}

/// A socket trusting `server` that presents `client`'s certificate.
fn socket_presenting(
    server: &testpki::ServerIdentity,
    client: testpki::ClientIdentity,
) -> StreamSocket {
    let mut socket = socket_for(server);
    let identity = streamsocket::ClientIdentity::new(client.chain, client.key).unwrap();
    socket
        .control_mut()
        .set_client_identity(Some(identity))
        .unwrap();
    socket
}

#[tokio::test]
async fn mutual_tls_presents_the_client_certificate() {
    let options = Options {
        client_auth: true,
        connections: 2,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let pki = testpki::Pki::shared(testpki::KeyKind::EcdsaP256);
    let client = pki.client(true).unwrap();

    let mut with_cert = socket_presenting(&server.identity, client.clone());
    with_cert
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::shutdown(&mut with_cert)
        .await
        .unwrap();

    // Without a certificate the server refuses the handshake (TLS 1.2: during it; TLS 1.3: the
    // alert arrives with the first read).
    let mut without = socket_for(&server.identity);
    let result = without
        .connect("localhost", &server.port(), ProtectionLevel::Tls12)
        .await;
    let err = result.expect_err("the server requires a client certificate");
    assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{err}");

    let records = server.records().await;
    assert!(records[0].tls_established && records[0].client_cert_presented);
    assert!(!records[1].tls_established);
}

#[tokio::test]
async fn a_tls13_server_rejecting_the_client_certificate_fails_the_first_read() {
    // In TLS 1.3 the client's handshake completes before the server has judged its
    // certificate; the server's alert arrives with the first read.
    let options = Options {
        client_auth: true,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let pki = testpki::Pki::shared(testpki::KeyKind::EcdsaP256);
    let untrusted = pki.client(false).unwrap();
    let mut socket = socket_presenting(&server.identity, untrusted);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    let mut buf = [0u8; 16];
    let err = tokio::io::AsyncReadExt::read(&mut socket, &mut buf)
        .await
        .unwrap_err();
    let inner = streamsocket::Error::from_io(&err).expect("the crate's error is inside");
    assert!(
        matches!(inner, streamsocket::Error::Tls { .. }),
        "{inner:?}"
    );
    assert_eq!(inner.kind(), ErrorKind::HandshakeFailed, "{inner}");
    assert_eq!(
        socket.failure().map(streamsocket::Error::kind),
        Some(ErrorKind::HandshakeFailed)
    );
    let records = server.records().await;
    assert!(!records[0].tls_established);
}

#[tokio::test]
async fn close_hears_a_tls13_server_rejecting_the_client_certificate() {
    // The same server, but the client sends nothing and only closes: `close` waits for the
    // server's verdict, which a bare shutdown would never see.
    let options = Options {
        client_auth: true,
        connections: 2,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let pki = testpki::Pki::shared(testpki::KeyKind::EcdsaP256);
    let untrusted = pki.client(false).unwrap();
    let trusted = pki.client(true).unwrap();
    for (identity, rejected) in [(untrusted, true), (trusted, false)] {
        let mut socket = socket_presenting(&server.identity, identity);
        socket
            .connect("localhost", &server.port(), ProtectionLevel::Tls13)
            .await
            .unwrap();
        let result = socket.close(std::time::Duration::from_secs(10)).await;
        if rejected {
            let err = result.expect_err("the server's alert is returned");
            assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{err}");
        } else {
            result.expect("a trusted client closes cleanly");
        }
    }
}

#[tokio::test]
async fn the_windows_sample_pattern_inspect_decide_retry() {
    // As the WinRT sample: the failed socket's information says what was wrong and whether it
    // can be ignored; the caller decides, and retries on a new socket with those classes.
    let options = Options {
        scenario: Scenario::MissingIntermediate,
        connections: 2,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    let err = socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CertificateUntrustedRoot);
    let info = socket.information().clone();
    assert_eq!(
        info.server_certificate_error_severity,
        SocketSslErrorSeverity::Ignorable
    );
    assert_eq!(info.server_certificate_errors, vec![C::IncompleteChain]);

    let mut control = socket.control().clone();
    control
        .set_ignorable_server_certificate_errors(info.server_certificate_errors.iter().copied())
        .unwrap();
    let mut retry = StreamSocket::with_control(control);
    retry
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    assert_eq!(
        retry.information().server_certificate_errors,
        vec![C::IncompleteChain]
    );
    assert_eq!(retry.information().protection_level, ProtectionLevel::Tls13);
}

/// Connects to a server presenting `scenario` with keys of `key_kind`, ignoring `ignorable` and
/// pinning `pins`.
async fn connect_pinned(
    scenario: Scenario,
    key_kind: testpki::KeyKind,
    ignorable: &[C],
    pins: &[SpkiPin],
) -> (Result<(), streamsocket::Error>, StreamSocket, SpkiPin) {
    let server = TestServer::start(Options {
        scenario,
        key_kind,
        ..Options::default()
    })
    .await;
    let leaf = SpkiPin::of_certificate(server.identity.chain[0].as_ref()).expect("a leaf");
    let mut socket = socket_for(&server.identity);
    let control = socket.control_mut();
    control
        .set_ignorable_server_certificate_errors(ignorable.iter().copied())
        .unwrap();
    control
        .set_pinned_server_keys(pins.iter().copied())
        .unwrap();
    let result = socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await;
    (result, socket, leaf)
}

/// The pin of the leaf `scenario` presents with keys of `key_kind`, written as a user would
/// (the HPKP form), read back through the parser.
fn pin_text(scenario: Scenario, key_kind: testpki::KeyKind) -> SpkiPin {
    let identity = testpki::Pki::shared(key_kind)
        .server(scenario)
        .expect("an identity");
    let pin = SpkiPin::of_certificate(identity.chain[0].as_ref()).expect("a leaf");
    format!("sha256/{pin}").parse().expect("a pin parses")
}

#[tokio::test]
async fn a_self_signed_server_is_accepted_with_untrusted_ignored_only_for_its_pinned_key() {
    let other = SpkiPin::from_bytes([7; 32]);
    for key_kind in testpki::KeyKind::ALL {
        let right = pin_text(Scenario::SelfSigned, key_kind);
        // Ignored and pinned: accepted, and the problem is still reported.
        let (result, socket, leaf) = connect_pinned(
            Scenario::SelfSigned,
            key_kind,
            &[C::Untrusted],
            &[other, right],
        )
        .await;
        result.unwrap_or_else(|err| panic!("{key_kind}: {err}"));
        let info = socket.information();
        assert_eq!(info.server_certificate_errors, [C::Untrusted]);
        assert_eq!(info.server_key_pin, Some(leaf));
        assert!(!info.pin_mismatch);

        // Ignored, another key pinned: refused with both hashes, whatever is ignored.
        let (result, socket, leaf) =
            connect_pinned(Scenario::SelfSigned, key_kind, &[C::Untrusted], &[other]).await;
        let err = result.expect_err("a key that is not pinned is refused");
        assert_eq!(err.kind(), ErrorKind::CertificatePinMismatch, "{err}");
        let message = err.to_string();
        assert!(message.contains(&format!("sha256/{leaf}")), "{message}");
        assert!(message.contains(&format!("sha256/{other}")), "{message}");
        assert!(socket.information().pin_mismatch);
        assert_eq!(
            socket.information().protection_level,
            ProtectionLevel::PlainSocket
        );

        // Pinned but not ignored: the pin does not stand in for trust.
        let (result, _, _) = connect_pinned(Scenario::SelfSigned, key_kind, &[], &[right]).await;
        let err = result.expect_err("a pin is no trust anchor");
        assert_eq!(err.kind(), ErrorKind::CertificateUntrustedRoot, "{err}");
    }
}

#[tokio::test]
async fn a_pin_is_an_extra_requirement_on_a_valid_chain() {
    let key_kind = testpki::KeyKind::Ed25519;
    let right = pin_text(Scenario::Valid, key_kind);
    let (result, _, _) = connect_pinned(Scenario::Valid, key_kind, &[], &[right]).await;
    result.expect("the pinned key of a valid chain");
    let (result, _, _) = connect_pinned(
        Scenario::Valid,
        key_kind,
        &[],
        &[SpkiPin::from_bytes([1; 32])],
    )
    .await;
    let err = result.expect_err("a valid chain with another key pinned");
    assert_eq!(err.kind(), ErrorKind::CertificatePinMismatch, "{err}");
    // The same key under another scenario's chain: the pin is of the key, not the chain.
    let expired = pin_text(Scenario::Expired, key_kind);
    let (result, _, _) =
        connect_pinned(Scenario::Expired, key_kind, &[C::Expired], &[expired]).await;
    result.expect("ignored and pinned");
}

#[tokio::test]
async fn pins_cannot_change_after_connecting() {
    let (result, mut socket, leaf) =
        connect_pinned(Scenario::Valid, testpki::KeyKind::EcdsaP256, &[], &[]).await;
    result.expect("no pins");
    let err = socket
        .control_mut()
        .set_pinned_server_keys([leaf])
        .expect_err("the control is frozen");
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn a_failed_connect_explains_each_error_in_the_words_of_the_information() {
    let (result, socket) = connect_scenario(Scenario::Expired, ProtectionLevel::Ssl, &[]).await;
    let err = result.expect_err("expired");
    let info = socket.information();
    let [detail] = info.server_certificate_error_details.as_slice() else {
        panic!("one detail: {:?}", info.server_certificate_error_details);
    };
    assert_eq!(detail.class, C::Expired);
    let line = detail.to_string();
    // testpki's expired leaf ended on 2021-01-01.
    assert!(
        line.starts_with("Expired: leaf expired ")
            && line.ends_with("(not after 2021-01-01T00:00:00Z)"),
        "{line}"
    );
    assert!(err.to_string().contains(&line), "{err}");
    assert!(info.to_string().contains(&line), "{info}");
}
