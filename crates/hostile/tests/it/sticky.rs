//! After any fatal error every further call returns the same error, and nothing falls back to
//! plaintext: the servers never receive what the application tries to send afterwards.

use std::time::Duration;

use mockserver::stats::Phase;
use mockserver::testing::{self, RunningServer};
use mockserver::{Behaviour, MockConfig, VersionSet};
use streamsocket::{Dialect, Error, ErrorKind, ProtectionLevel, StreamSocket, read_string};
use testpki::{KeyKind, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hostile_tests::{
    RawPeer, ScriptedServer, control_for, frame, mock, plain_socket, tls_acceptor, valid_identity,
    within,
};

/// What the application tries to send after the failure.
const LEAK: &[u8] = b"MAIL FROM:<leak@example.test>\r\n";

/// The error an I/O call returned, as the socket's error.
fn unwrap_io(err: &std::io::Error) -> Error {
    Error::from_io(err)
        .cloned()
        .unwrap_or_else(|| panic!("not a socket error: {err:?}"))
}

/// Calls everything a socket offers, twice, and checks each returns `expected` again (same
/// kind, same message).
async fn assert_sticky(socket: &mut StreamSocket, expected: &Error, case: &str) {
    let same = |err: &Error, call: &str| {
        assert_eq!(err.kind(), expected.kind(), "{case}, {call}: {err}");
        assert_eq!(err.to_string(), expected.to_string(), "{case}, {call}");
    };
    for _ in 0..2 {
        let mut buf = [0u8; 64];
        same(
            &unwrap_io(&socket.read(&mut buf).await.unwrap_err()),
            "read",
        );
        same(
            &unwrap_io(&socket.write_all(LEAK).await.unwrap_err()),
            "write",
        );
        same(&unwrap_io(&socket.flush().await.unwrap_err()), "flush");
        same(
            &unwrap_io(&socket.shutdown().await.unwrap_err()),
            "shutdown",
        );
        same(
            &socket
                .upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost")
                .await
                .unwrap_err(),
            "upgrade_with",
        );
        same(
            &socket
                .upgrade_to_ssl(ProtectionLevel::Ssl, "localhost")
                .await
                .unwrap_err(),
            "upgrade_to_ssl",
        );
        same(
            &socket
                .connect("localhost", "1", ProtectionLevel::PlainSocket)
                .await
                .unwrap_err(),
            "connect",
        );
        same(&read_string(socket).await.unwrap_err(), "read_string");
        same(socket.failure().expect("failed"), "failure");
    }
}

/// The mock server never saw the leaked bytes, in plaintext or inside TLS.
async fn nothing_leaked(server: &RunningServer, case: &str) {
    within(server.wait_closed(1)).await.unwrap();
    for t in server.transcripts() {
        for phase in [Phase::Plaintext, Phase::Tls] {
            let bytes = t.bytes(phase);
            assert!(
                !bytes.windows(LEAK.len()).any(|w| w == LEAK),
                "{case}: leaked in {phase:?}"
            );
        }
    }
}

#[tokio::test]
async fn every_upgrade_failure_is_sticky_and_nothing_reaches_the_server() {
    let cases: Vec<(&str, Dialect, MockConfig, ProtectionLevel, ErrorKind)> = vec![
        (
            "response injection",
            Dialect::Smtp,
            MockConfig {
                behaviour: Behaviour::ResponseInjection,
                ..mock(Dialect::Smtp)
            },
            ProtectionLevel::Ssl,
            ErrorKind::PlaintextAfterGoAhead,
        ),
        (
            "refused",
            Dialect::Imap,
            MockConfig {
                behaviour: Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
                ..mock(Dialect::Imap)
            },
            ProtectionLevel::Ssl,
            ErrorKind::StartTlsRefused,
        ),
        (
            "not offered",
            Dialect::Pop3,
            MockConfig {
                behaviour: Behaviour::StartTlsNotAdvertised,
                ..mock(Dialect::Pop3)
            },
            ProtectionLevel::Ssl,
            ErrorKind::StartTlsNotOffered,
        ),
        (
            "preauth",
            Dialect::Imap,
            MockConfig {
                behaviour: Behaviour::Preauth,
                ..mock(Dialect::Imap)
            },
            ProtectionLevel::Ssl,
            ErrorKind::StartTlsNotOffered,
        ),
        (
            "garbage server hello",
            Dialect::Framed,
            MockConfig {
                behaviour: Behaviour::GarbageInsteadOfServerHello,
                ..mock(Dialect::Framed)
            },
            ProtectionLevel::Ssl,
            ErrorKind::PlaintextInsteadOfTls,
        ),
        (
            "expired certificate",
            Dialect::Smtp,
            testing::config(Dialect::Smtp, Scenario::Expired, KeyKind::EcdsaP256),
            ProtectionLevel::Ssl,
            ErrorKind::CertificateExpired,
        ),
        (
            "no common version",
            Dialect::Pop3,
            MockConfig {
                tls: mockserver::TlsPolicy {
                    versions: VersionSet::TLS12_ONLY,
                    ..mockserver::TlsPolicy::default()
                },
                ..mock(Dialect::Pop3)
            },
            ProtectionLevel::Tls13,
            ErrorKind::ProtocolVersionMismatch,
        ),
        (
            "handshake timeout",
            Dialect::Smtp,
            MockConfig {
                behaviour: Behaviour::StallAfterGoAhead,
                // The stalling server does not watch the socket; end it soon after the client.
                limits: mockserver::Limits {
                    handshake_timeout: Duration::from_secs(1),
                    ..mockserver::Limits::default()
                },
                ..mock(Dialect::Smtp)
            },
            ProtectionLevel::Ssl,
            ErrorKind::HandshakeTimedOut,
        ),
        (
            "client certificate required (tls 1.3, alert after the handshake)",
            Dialect::Smtp,
            MockConfig {
                tls: mockserver::TlsPolicy {
                    versions: VersionSet::TLS13_ONLY,
                    client_auth: mockserver::ClientAuth::Required,
                    ..mock(Dialect::Smtp).tls
                },
                ..mock(Dialect::Smtp)
            },
            ProtectionLevel::Ssl,
            ErrorKind::HandshakeFailed,
        ),
        (
            "unsupported level",
            Dialect::Smtp,
            mock(Dialect::Smtp),
            ProtectionLevel::Tls10,
            ErrorKind::UnsupportedProtectionLevel,
        ),
    ];
    for (case, dialect, config, level, kind) in cases {
        let server = testing::spawn(config).await;
        let identity = server.config().identity.clone();
        let mut control = control_for(&identity);
        control
            .set_handshake_timeout(Duration::from_millis(500))
            .unwrap();
        let mut socket = plain_socket(server.addr(), control).await.unwrap();
        let err = within(socket.upgrade_with(dialect, level, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{case}: {err}");
        assert_sticky(&mut socket, &err, case).await;
        drop(socket);
        nothing_leaked(&server, case).await;
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_cancelled_upgrade_is_sticky() {
    let server = testing::spawn(MockConfig {
        behaviour: Behaviour::StallAfterGoAhead,
        limits: mockserver::Limits {
            handshake_timeout: Duration::from_secs(1),
            ..mockserver::Limits::default()
        },
        ..mock(Dialect::Imap)
    })
    .await;
    let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
        .await
        .unwrap();
    let upgrade = socket.upgrade_with(Dialect::Imap, ProtectionLevel::Ssl, "localhost");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), upgrade)
            .await
            .is_err()
    );
    let first = unwrap_io(&socket.write_all(LEAK).await.unwrap_err());
    assert_eq!(first.kind(), ErrorKind::InvalidArgument, "{first}");
    assert!(matches!(first, Error::Cancelled));
    assert_sticky(&mut socket, &first, "cancelled").await;
    drop(socket);
    nothing_leaked(&server, "cancelled").await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_truncated_session_is_sticky() {
    let acceptor = tls_acceptor(&valid_identity());
    let server = ScriptedServer::start(move |peer: RawPeer| async move {
        let mut tls = within(acceptor.accept(peer.into_inner())).await??;
        within(tls.write_all(&frame(b"bye"))).await??;
        within(tls.flush()).await??;
        let (tcp, _) = tls.into_inner();
        let mut peer = RawPeer::new(tcp);
        peer.io_mut().shutdown().await?;
        // Everything the client sends after the cut (it must send nothing).
        peer.drain().await
    })
    .await
    .unwrap();
    let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
        .await
        .unwrap();
    within(socket.upgrade_with(Dialect::Framed, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read_string(&mut socket).await.unwrap(), "bye");
    let mut buf = [0u8; 8];
    let err = unwrap_io(&socket.read(&mut buf).await.unwrap_err());
    assert_eq!(err.kind(), ErrorKind::Truncated);
    assert_sticky(&mut socket, &err, "truncated").await;
    drop(socket);
    let after = server.finish().await.unwrap();
    assert!(
        !after.windows(LEAK.len()).any(|w| w == LEAK),
        "the leak reached the server in plaintext"
    );
}

#[tokio::test]
async fn a_fatal_alert_after_the_handshake_is_sticky() {
    // Framed: the upgrade completes (TLS 1.3 sends the client's empty certificate after the
    // server's Finished), then the server's alert fails the first read.
    let server = testing::spawn(MockConfig {
        tls: mockserver::TlsPolicy {
            versions: VersionSet::TLS13_ONLY,
            client_auth: mockserver::ClientAuth::Required,
            ..mock(Dialect::Framed).tls
        },
        ..mock(Dialect::Framed)
    })
    .await;
    let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
        .await
        .unwrap();
    within(socket.upgrade_with(Dialect::Framed, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap();
    let mut buf = [0u8; 8];
    let err = unwrap_io(&within(socket.read(&mut buf)).await.unwrap().unwrap_err());
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    assert_sticky(&mut socket, &err, "alert after the handshake").await;
    drop(socket);
    nothing_leaked(&server, "alert after the handshake").await;
    server.shutdown().await;
}
