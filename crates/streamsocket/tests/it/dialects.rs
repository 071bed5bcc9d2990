//! `upgrade_with`: every dialect's STARTTLS against the mock server, and every way a server can
//! refuse, strip or poison the upgrade.

use mockserver::VersionSet;
use std::time::Duration;

use mockserver::config::{Behaviour, LegacyVersion, MockConfig};
use mockserver::stats::Phase;
use mockserver::testing::{self, RunningServer};
use streamsocket::{
    AlpnProtocol, Dialect, Error, ErrorKind, ProtectionLevel, StreamSocket, read_string,
    write_string,
};
use testpki::{KeyKind, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::socket_for;

const STARTTLS_DIALECTS: [Dialect; 9] = [
    Dialect::Ftp,
    Dialect::Irc,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
    Dialect::Sieve,
    Dialect::Framed,
];
const LINE_DIALECTS: [Dialect; 8] = [
    Dialect::Ftp,
    Dialect::Irc,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
    Dialect::Sieve,
];

fn mock(dialect: Dialect, behaviour: Behaviour) -> MockConfig {
    MockConfig {
        behaviour,
        ..testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256)
    }
}

/// A plaintext connection to the mock server, ready for `upgrade_with`.
async fn plain_socket(server: &RunningServer) -> StreamSocket {
    plain_socket_with(server, |_| {}).await
}

/// As [`plain_socket`], with `adjust` applied to the options first.
async fn plain_socket_with(
    server: &RunningServer,
    adjust: impl FnOnce(&mut streamsocket::SocketControl),
) -> StreamSocket {
    let mut socket = socket_for(&server.config().identity);
    adjust(socket.control_mut());
    socket
        .connect(
            "127.0.0.1",
            &server.addr().port().to_string(),
            ProtectionLevel::PlainSocket,
        )
        .await
        .unwrap();
    socket
}

/// The plaintext the server received on its only connection, once that connection ended.
async fn plaintext_received(server: &RunningServer) -> Vec<u8> {
    server.wait_closed(1).await;
    let transcripts = server.transcripts();
    assert_eq!(transcripts.len(), 1, "one connection");
    transcripts[0].bytes(Phase::Plaintext)
}

/// The command a dialect's machine may still send after a failure.
fn goodbye(dialect: Dialect) -> &'static [u8] {
    match dialect {
        // IMAP tags it ("A4 LOGOUT"); the suffix is what matters.
        Dialect::Ftp
        | Dialect::Irc
        | Dialect::Smtp
        | Dialect::Lmtp
        | Dialect::Pop3
        | Dialect::Nntp => b"QUIT\r\n",
        // ManageSieve's LOGOUT is untagged.
        Dialect::Sieve => b"LOGOUT\r\n",
        _ => b" LOGOUT\r\n",
    }
}

#[tokio::test]
async fn every_dialect_upgrades_at_every_tls_level() {
    let levels = [
        (ProtectionLevel::Ssl, ProtectionLevel::Tls13),
        (ProtectionLevel::Unspecified, ProtectionLevel::Tls13),
        (ProtectionLevel::Tls12, ProtectionLevel::Tls12),
        (ProtectionLevel::Tls13, ProtectionLevel::Tls13),
    ];
    for dialect in STARTTLS_DIALECTS {
        for (requested, negotiated) in levels {
            let server = testing::spawn(mock(dialect, Behaviour::Honest)).await;
            let mut socket = plain_socket(&server).await;
            socket
                .upgrade_with(dialect, requested, "localhost")
                .await
                .unwrap_or_else(|err| panic!("{dialect} at {requested}: {err}"));
            let info = socket.information();
            assert_eq!(info.dialect, Some(dialect));
            assert_eq!(
                info.protection_level, negotiated,
                "{dialect} at {requested}"
            );
            assert!(info.server_certificate_errors.is_empty());
            if dialect == Dialect::Framed {
                assert_eq!(
                    info.bytes_sent_before_upgrade, 0,
                    "framed sends nothing of its own"
                );
                assert!(socket.capabilities().is_empty());
                write_string(&mut socket, "inside").await.unwrap();
                assert_eq!(read_string(&mut socket).await.unwrap(), "inside");
            } else {
                assert!(
                    info.bytes_sent_before_upgrade > 0 && info.bytes_received_before_upgrade > 0
                );
                assert!(
                    !socket.capabilities().is_empty(),
                    "{dialect}: fresh capabilities"
                );
                let caps = socket.capabilities().join(" ").to_ascii_uppercase();
                assert!(
                    !caps.contains("STARTTLS")
                        && !caps.contains("STLS")
                        && !caps.contains("AUTH TLS"),
                    "{dialect}: {caps}"
                );
            }
            socket.shutdown().await.unwrap();
            server.shutdown().await;
        }
    }
}

#[tokio::test]
async fn implicit_tls_against_the_mock_server() {
    let server = testing::spawn(mock(Dialect::Implicit, Behaviour::Honest)).await;
    let mut socket = socket_for(&server.config().identity);
    socket
        .connect(
            "localhost",
            &server.addr().port().to_string(),
            ProtectionLevel::Ssl,
        )
        .await
        .unwrap();
    assert_eq!(socket.information().dialect, Some(Dialect::Implicit));
    assert_eq!(
        socket.information().protection_level,
        ProtectionLevel::Tls13
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_without_starttls_gets_nothing_more_in_plaintext() {
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect, Behaviour::StartTlsNotAdvertised)).await;
        let mut socket = plain_socket(&server).await;
        let err = socket
            .upgrade_with(dialect, ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::StartTlsNotOffered,
            "{dialect}: {err}"
        );
        assert!(matches!(err, Error::StartTlsNotOffered { .. }), "{err:?}");

        // The socket is failed: a write is refused and reaches nobody.
        let write = socket
            .write_all(b"AUTH PLAIN secret\r\n")
            .await
            .unwrap_err();
        assert_eq!(
            Error::from_io(&write).map(Error::kind),
            Some(ErrorKind::StartTlsNotOffered)
        );
        drop(socket);

        let plain = plaintext_received(&server).await;
        let text = String::from_utf8_lossy(&plain).to_ascii_uppercase();
        assert!(
            !text.contains("STARTTLS") && !text.contains("STLS") && !text.contains("AUTH TLS"),
            "{dialect}: {text}"
        );
        assert!(!text.contains("SECRET"), "{dialect}: {text}");
        assert!(
            plain.ends_with(goodbye(dialect)),
            "{dialect}: only the goodbye follows: {text}"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_refused_starttls_never_continues_in_plaintext() {
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(
            dialect,
            Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
        ))
        .await;
        let mut socket = plain_socket(&server).await;
        let err = socket
            .upgrade_with(dialect, ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::StartTlsRefused, "{dialect}: {err}");
        let again = socket
            .upgrade_with(dialect, ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_err();
        assert_eq!(again.kind(), ErrorKind::StartTlsRefused, "sticky");
        drop(socket);

        let plain = plaintext_received(&server).await;
        let marker: &[u8] = match dialect {
            Dialect::Pop3 => b"STLS\r\n",
            Dialect::Ftp => b"AUTH TLS\r\n",
            _ => b"STARTTLS\r\n",
        };
        let after = server.transcripts()[0]
            .plaintext_after(marker)
            .expect("STARTTLS was sent");
        let tail = &plain[plain.len() - after..];
        assert!(
            tail.ends_with(goodbye(dialect)) && tail.iter().filter(|b| **b == b'\n').count() == 1,
            "{dialect}: only the goodbye line follows STARTTLS: {:?}",
            String::from_utf8_lossy(tail)
        );
        assert!(plain.ends_with(goodbye(dialect)));
        server.shutdown().await;
    }
}

#[tokio::test]
async fn response_injection_is_refused_before_the_handshake() {
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect, Behaviour::ResponseInjection)).await;
        let mut socket = plain_socket(&server).await;
        let err = socket
            .upgrade_with(dialect, ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::PlaintextAfterGoAhead,
            "{dialect}: {err}"
        );
        let Error::PlaintextAfterGoAhead { bytes, .. } = err else {
            unreachable!()
        };
        assert!(bytes > 0);
        let info = socket.information();
        assert_eq!(
            info.bytes_sent_after_upgrade, 0,
            "{dialect}: no ClientHello was sent"
        );
        assert_eq!(info.protocol_version, None);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn an_imap_preauth_greeting_is_refused() {
    let server = testing::spawn(mock(Dialect::Imap, Behaviour::Preauth)).await;
    let mut socket = plain_socket(&server).await;
    let err = socket
        .upgrade_with(Dialect::Imap, ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Preauth { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::StartTlsNotOffered);
    drop(socket);
    let plain = plaintext_received(&server).await;
    assert!(!String::from_utf8_lossy(&plain).contains("STARTTLS"));
    server.shutdown().await;
}

#[tokio::test]
async fn the_level_is_checked_before_the_dialect_sends_anything() {
    let server = testing::spawn(mock(Dialect::Smtp, Behaviour::Honest)).await;
    let mut socket = plain_socket(&server).await;
    let err = socket
        .upgrade_with(Dialect::Smtp, ProtectionLevel::Tls11, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnsupportedProtectionLevel);
    drop(socket);
    assert!(
        plaintext_received(&server).await.is_empty(),
        "not even EHLO"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_server_that_stalls_after_the_go_ahead_hits_the_handshake_timeout() {
    let server = testing::spawn(mock(Dialect::Smtp, Behaviour::StallAfterGoAhead)).await;
    let mut control = crate::control_for(&server.config().identity);
    control
        .set_handshake_timeout(Duration::from_millis(300))
        .unwrap();
    let mut socket = StreamSocket::with_control(control);
    socket
        .connect(
            "127.0.0.1",
            &server.addr().port().to_string(),
            ProtectionLevel::PlainSocket,
        )
        .await
        .unwrap();
    let err = socket
        .upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn hostile_tls_servers_fail_the_handshake_with_their_kind() {
    let cases = [
        (
            Behaviour::LegacyOnly(LegacyVersion::Tls10),
            ErrorKind::ProtocolVersionMismatch,
        ),
        (
            Behaviour::LegacyOnly(LegacyVersion::Ssl3),
            ErrorKind::ProtocolVersionMismatch,
        ),
        (Behaviour::CloseMidHandshake, ErrorKind::HandshakeFailed),
        // The mock's garbage is an HTTP error response, and is named as one.
        (
            Behaviour::GarbageInsteadOfServerHello,
            ErrorKind::PlaintextInsteadOfTls,
        ),
    ];
    for (behaviour, kind) in cases {
        let server = testing::spawn(mock(Dialect::Implicit, behaviour)).await;
        let mut socket = socket_for(&server.config().identity);
        let err = socket
            .connect(
                "localhost",
                &server.addr().port().to_string(),
                ProtectionLevel::Ssl,
            )
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{behaviour:?}: {err}");
        let mut buf = [0u8; 1];
        assert!(
            socket.read(&mut buf).await.is_err(),
            "sticky after {behaviour:?}"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_tls12_only_mock_server_against_a_tls13_upgrade() {
    let mut config = mock(Dialect::Imap, Behaviour::Honest);
    config.tls.versions = VersionSet::TLS12_ONLY;
    let server = testing::spawn(config).await;
    let mut socket = plain_socket(&server).await;
    let err = socket
        .upgrade_with(Dialect::Imap, ProtectionLevel::Tls13, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProtocolVersionMismatch, "{err}");
    server.shutdown().await;
}

#[tokio::test]
async fn framed_injection_lands_in_the_handshake_and_fails_it() {
    // The framed client starts its handshake at once; the injected frame arrives where the
    // ServerHello should be, so rustls refuses it: it is never handed on as data.
    let server = testing::spawn(mock(Dialect::Framed, Behaviour::ResponseInjection)).await;
    let mut socket = plain_socket(&server).await;
    let err = socket
        .upgrade_with(Dialect::Framed, ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{err}");
    assert_eq!(socket.information().protocol_version, None);
    server.shutdown().await;
}

#[tokio::test]
async fn a_cancelled_upgrade_leaves_a_failed_socket_not_a_plaintext_one() {
    let server = testing::spawn(mock(Dialect::Smtp, Behaviour::StallAfterGoAhead)).await;
    let mut socket = plain_socket(&server).await;
    let upgrade = socket.upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost");
    // The caller gives up first (the handshake timeout is 30 s): the future is dropped.
    assert!(
        tokio::time::timeout(Duration::from_millis(200), upgrade)
            .await
            .is_err()
    );
    let err = socket
        .write_all(b"MAIL FROM:<a@example.com>\r\n")
        .await
        .unwrap_err();
    assert_eq!(
        Error::from_io(&err).map(Error::kind),
        Some(ErrorKind::InvalidArgument)
    );
    assert!(matches!(socket.failure(), Some(Error::Cancelled)));
    let again = socket
        .upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost")
        .await;
    assert!(matches!(again, Err(Error::Cancelled)));
    server.shutdown().await;
}

#[tokio::test]
async fn the_smtp_client_greets_with_its_ehlo_name_before_and_after_tls() {
    let server = testing::spawn(mock(Dialect::Smtp, Behaviour::Honest)).await;
    let mut socket = plain_socket_with(&server, |control| {
        control
            .set_ehlo_name("client.example.org".parse().unwrap())
            .unwrap();
    })
    .await;
    socket
        .upgrade_with(Dialect::Smtp, ProtectionLevel::Tls13, "127.0.0.1")
        .await
        .unwrap();
    socket.shutdown().await.unwrap();
    server.wait_closed(1).await;
    let transcript = &server.transcripts()[0];
    let plaintext = String::from_utf8(transcript.bytes(Phase::Plaintext)).unwrap();
    assert!(
        plaintext.starts_with("EHLO client.example.org\r\nSTARTTLS\r\n"),
        "{plaintext:?}"
    );
    let protected = String::from_utf8(transcript.bytes(Phase::Tls)).unwrap();
    assert!(
        protected.starts_with("EHLO client.example.org\r\n"),
        "{protected:?}"
    );
}

// ---- PostgreSQL: the SSLRequest ----

/// Int32 length 8, Int32 code 80877103 (PostgreSQL's "Message Formats").
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

#[tokio::test]
async fn postgres_upgrades_with_the_ssl_request_and_a_startup_works_inside_tls() {
    for behaviour in [Behaviour::Honest, Behaviour::TlsRequired] {
        let server = testing::spawn(mock(Dialect::Postgres, behaviour)).await;
        let mut socket = plain_socket(&server).await;
        socket
            .upgrade_with(Dialect::Postgres, ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_or_else(|err| panic!("{behaviour}: {err}"));
        let info = socket.information().clone();
        assert_eq!(info.protection_level, ProtectionLevel::Tls13);
        assert_eq!(info.bytes_sent_before_upgrade, 8);
        assert_eq!(info.bytes_received_before_upgrade, 1);
        assert!(socket.capabilities().is_empty());
        // A StartupMessage (protocol 3.0, user "u"): AuthenticationOk, ReadyForQuery.
        let startup = [
            0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
        ];
        socket.write_all(&startup).await.unwrap();
        let mut reply = [0u8; 15];
        socket.read_exact(&mut reply).await.unwrap();
        assert_eq!(reply, *b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I", "{behaviour}");
        socket.shutdown().await.unwrap();
        server.wait_closed(1).await;
        assert_eq!(plaintext_received(&server).await, SSL_REQUEST);
        server.shutdown().await;
    }
}

#[tokio::test]
async fn postgres_refusals_and_injection_send_nothing_after_the_ssl_request() {
    let cases = [
        (
            Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
            ErrorKind::StartTlsRefused,
        ),
        (
            Behaviour::StartTlsRefused(mockserver::Refusal::Permanent),
            ErrorKind::StartTlsRefused,
        ),
        (
            Behaviour::StartTlsRefused(mockserver::Refusal::Nonsense),
            ErrorKind::Protocol,
        ),
        (
            Behaviour::ResponseInjection,
            ErrorKind::PlaintextAfterGoAhead,
        ),
    ];
    for (behaviour, kind) in cases {
        let server = testing::spawn(mock(Dialect::Postgres, behaviour)).await;
        let mut socket = plain_socket(&server).await;
        let err = socket
            .upgrade_with(Dialect::Postgres, ProtectionLevel::Ssl, "localhost")
            .await
            .expect_err("refused");
        assert_eq!(err.kind(), kind, "{behaviour}: {err}");
        assert!(!socket.information().is_encrypted());
        // No StartupMessage in plaintext, no goodbye: the SSLRequest and nothing else.
        assert_eq!(
            plaintext_received(&server).await,
            SSL_REQUEST,
            "{behaviour}"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn postgres_17_direct_tls_is_a_connect_with_the_alpn_protocol_postgresql() {
    let server = testing::spawn(mock(Dialect::Postgres, Behaviour::Honest)).await;
    let mut socket = socket_for(&server.config().identity);
    socket
        .control_mut()
        .set_alpn_protocols(vec![b"postgresql".to_vec()])
        .unwrap();
    socket
        .connect(
            "localhost",
            &server.addr().port().to_string(),
            ProtectionLevel::Ssl,
        )
        .await
        .unwrap();
    let info = socket.information().clone();
    assert_eq!(info.protection_level, ProtectionLevel::Tls13);
    assert_eq!(
        info.alpn_protocol.as_ref().map(AlpnProtocol::as_bytes),
        Some(&b"postgresql"[..])
    );
    let startup = [
        0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
    ];
    socket.write_all(&startup).await.unwrap();
    let mut reply = [0u8; 15];
    socket.read_exact(&mut reply).await.unwrap();
    assert_eq!(reply, *b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I");
    socket.shutdown().await.unwrap();
    server.wait_closed(1).await;
    // Nothing in plaintext: TLS from the first byte.
    assert!(plaintext_received(&server).await.is_empty());
    server.shutdown().await;
}
