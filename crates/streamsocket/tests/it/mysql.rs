//! `upgrade_with(Dialect::Mysql)` against the mock server: the SSLRequest after the greeting,
//! the handshake at once, and the ways a MySQL server can refuse or poison the upgrade. The
//! packets here are written from the protocol documentation, by hand.

use std::time::Duration;

use mockserver::config::{Behaviour, MockConfig};
use mockserver::stats::Phase;
use mockserver::testing::{self, RunningServer};
use proto::starttls::Refusal;
use streamsocket::{Dialect, ErrorKind, ProtectionLevel, StreamSocket};
use testpki::{KeyKind, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn mock(behaviour: Behaviour) -> MockConfig {
    MockConfig {
        behaviour,
        ..testing::config(Dialect::Mysql, Scenario::Valid, KeyKind::EcdsaP256)
    }
}

async fn plain_socket(server: &RunningServer) -> StreamSocket {
    let mut control = crate::control_for(&server.config().identity);
    control
        .set_handshake_timeout(Duration::from_millis(500))
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
    socket
}

/// What the client sent in plaintext on the server's only connection.
async fn plaintext_sent(server: &RunningServer) -> Vec<u8> {
    server.wait_closed(1).await;
    let transcripts = server.transcripts();
    assert_eq!(transcripts.len(), 1, "one connection");
    transcripts[0].bytes(Phase::Plaintext)
}

#[tokio::test]
async fn mysql_upgrades_with_the_ssl_request_and_the_login_follows_inside_tls() {
    for (requested, negotiated) in [
        (ProtectionLevel::Ssl, ProtectionLevel::Tls13),
        (ProtectionLevel::Tls12, ProtectionLevel::Tls12),
    ] {
        let server = testing::spawn(mock(Behaviour::Honest)).await;
        let mut socket = plain_socket(&server).await;
        socket
            .upgrade_with(Dialect::Mysql, requested, "localhost")
            .await
            .unwrap_or_else(|err| panic!("{requested}: {err}"));
        let info = socket.information();
        assert_eq!(info.protection_level, negotiated);
        assert_eq!(info.bytes_sent_before_upgrade, 36, "the SSLRequest alone");
        assert!(socket.capabilities().is_empty());
        // The HandshakeResponse41 at sequence 2 (CLIENT_SSL and CLIENT_PROTOCOL_41 among its
        // flags, user "u", an empty auth response); the mock answers OK at sequence 3.
        let mut login = vec![0x23, 0x00, 0x00, 0x02, 0x85, 0xae, 0x7f, 0x00];
        login.extend_from_slice(&[0x00, 0x00, 0x00, 0x01, 0x21]);
        login.extend_from_slice(&[0; 23]);
        login.extend_from_slice(b"u\0\0");
        socket.write_all(&login).await.unwrap();
        let mut ok = [0u8; 5];
        socket.read_exact(&mut ok).await.unwrap();
        assert_eq!((ok[3], ok[4]), (3, 0x00), "{ok:?}");
        socket.shutdown().await.unwrap();
        let sent = plaintext_sent(&server).await;
        assert_eq!(sent.len(), 36);
        assert_eq!(
            sent[..4],
            [0x20, 0x00, 0x00, 0x01],
            "32 bytes at sequence 1"
        );
        assert_ne!(sent[5] & 0x08, 0, "CLIENT_SSL");
        assert!(sent[13..].iter().all(|&b| b == 0), "23 zero bytes");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn mysql_refusals_end_the_upgrade_without_a_byte_sent() {
    let cases = [
        (
            Behaviour::StartTlsNotAdvertised,
            ErrorKind::StartTlsNotOffered,
        ),
        (
            Behaviour::StartTlsRefused(Refusal::Temporary),
            ErrorKind::StartTlsRefused,
        ),
        (
            Behaviour::ResponseInjection,
            ErrorKind::PlaintextAfterGoAhead,
        ),
    ];
    for (behaviour, kind) in cases {
        let server = testing::spawn(mock(behaviour)).await;
        let mut socket = plain_socket(&server).await;
        let err = socket
            .upgrade_with(Dialect::Mysql, ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{behaviour:?}: {err}");
        assert!(
            plaintext_sent(&server).await.is_empty(),
            "{behaviour:?}: sent something"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn mysql_nonsense_greeting_is_a_protocol_error_and_a_stall_a_timeout() {
    let server = testing::spawn(mock(Behaviour::StartTlsRefused(Refusal::Nonsense))).await;
    let mut socket = plain_socket(&server).await;
    let err = socket
        .upgrade_with(Dialect::Mysql, ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("protocol version"), "{err}");
    server.shutdown().await;

    let server = testing::spawn(mock(Behaviour::StallAfterGoAhead)).await;
    let mut socket = plain_socket(&server).await;
    let err = socket
        .upgrade_with(Dialect::Mysql, ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{err}");
    server.shutdown().await;
}
