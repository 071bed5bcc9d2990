//! Server certificate validation: every scenario's error, all errors at once, ignorable classes
//! one at a time, and fatal classes that cannot be ignored.

use streamsocket::{
    ChainValidationResult as C, ErrorKind, ProtectionLevel, SocketSslErrorSeverity, StreamSocket,
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
        ExpectedError::InvalidSignature => C::InvalidSignature,
    }
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
async fn every_broken_scenario_fails_with_its_class_in_both_versions() {
    for level in [ProtectionLevel::Tls12, ProtectionLevel::Tls13] {
        for scenario in Scenario::ALL {
            let (result, socket) = connect_scenario(scenario, level, &[]).await;
            let info = socket.information();
            let Some(expected) = scenario.expected_error() else {
                result.unwrap_or_else(|err| panic!("{scenario:?}: {err}"));
                assert!(info.server_certificate_errors.is_empty());
                assert_eq!(
                    info.server_certificate_error_severity,
                    SocketSslErrorSeverity::None
                );
                continue;
            };
            let class = class_of(expected);
            let err = result.expect_err("a broken chain fails");
            assert_eq!(err.kind(), kind_of(class), "{scenario:?} at {level}: {err}");
            assert!(
                err.status().is_some(),
                "certificate errors carry a WinRT status"
            );
            assert_eq!(
                info.server_certificate_errors,
                vec![class],
                "{scenario:?} at {level}"
            );
            assert_eq!(info.server_certificate_error_severity, class.severity());
            assert!(
                !info.server_certificates.is_empty(),
                "the chain is kept after a failure"
            );
            assert_eq!(info.protection_level, ProtectionLevel::PlainSocket);
        }
    }
}

#[tokio::test]
async fn each_ignorable_class_is_ignored_alone_and_still_reported() {
    for scenario in Scenario::ALL {
        let Some(expected) = scenario.expected_error() else {
            continue;
        };
        let class = class_of(expected);
        if class.severity() == SocketSslErrorSeverity::Fatal {
            continue;
        }
        let (result, socket) = connect_scenario(scenario, ProtectionLevel::Ssl, &[class]).await;
        result.unwrap_or_else(|err| panic!("{scenario:?} with {class} ignored: {err}"));
        let info = socket.information();
        assert_eq!(info.server_certificate_errors, vec![class], "{scenario:?}");
        assert_eq!(
            info.server_certificate_error_severity,
            SocketSslErrorSeverity::Ignorable
        );
        assert_eq!(info.protection_level, ProtectionLevel::Tls13);

        // Ignoring any other class does not excuse this one.
        let other = if class == C::InvalidName {
            C::Expired
        } else {
            C::InvalidName
        };
        let (result, _) = connect_scenario(scenario, ProtectionLevel::Ssl, &[other]).await;
        let err = result.expect_err("only the listed class is ignored");
        assert_eq!(
            err.kind(),
            kind_of(class),
            "{scenario:?} with {other} ignored: {err}"
        );
    }
}

#[tokio::test]
async fn fatal_classes_cannot_be_ignored() {
    let mut socket = StreamSocket::new();
    for class in [C::Revoked, C::InvalidSignature] {
        let err = socket
            .control_mut()
            .set_ignorable_server_certificate_errors([class])
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
    // Ignoring every ignorable class still fails a revoked or badly signed chain.
    let all_ignorable: Vec<C> = C::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect();
    for (scenario, kind) in [
        (Scenario::Revoked, ErrorKind::CertificateRevoked),
        (Scenario::BadSignature, ErrorKind::CertificateIsInvalid),
    ] {
        let (result, socket) =
            connect_scenario(scenario, ProtectionLevel::Ssl, &all_ignorable).await;
        let err = result.expect_err("fatal errors are never ignored");
        assert_eq!(err.kind(), kind, "{scenario:?}: {err}");
        let info = socket.information();
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
    assert!(err.to_string().contains("Expired, InvalidName"), "{err}");

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

    let mut with_cert = socket_for(&server.identity);
    let identity =
        streamsocket::ClientIdentity::new(client.chain.clone(), client.key.clone_key()).unwrap();
    with_cert
        .control_mut()
        .set_client_identity(Some(identity))
        .unwrap();
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
    let mut socket = socket_for(&server.identity);
    let identity = streamsocket::ClientIdentity::new(untrusted.chain, untrusted.key).unwrap();
    socket
        .control_mut()
        .set_client_identity(Some(identity))
        .unwrap();
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
        let mut socket = socket_for(&server.identity);
        let identity = streamsocket::ClientIdentity::new(identity.chain, identity.key).unwrap();
        socket
            .control_mut()
            .set_client_identity(Some(identity))
            .unwrap();
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
