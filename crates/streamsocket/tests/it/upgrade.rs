//! `upgrade_to_ssl`: the raw upgrade after a plaintext exchange, and its misuse.

use streamsocket::{ErrorKind, ProtectionLevel, StreamSocket, read_string, write_string};

use crate::server::{Mode, Options, TestServer};
use crate::socket_for;

/// The seed's greeting: 4 length bytes and 16 UTF-8 bytes.
const HELLO: &str = "Hello World ☺ ";
const HELLO_FRAME_LEN: usize = 20;
const TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];

#[tokio::test]
async fn every_tls_level_upgrades_a_plaintext_connection() {
    let cases = [
        (ProtectionLevel::Ssl, ProtectionLevel::Tls13),
        (
            ProtectionLevel::SslAllowNullEncryption,
            ProtectionLevel::Tls13,
        ),
        (ProtectionLevel::Unspecified, ProtectionLevel::Tls13),
        (ProtectionLevel::Tls12, ProtectionLevel::Tls12),
        (ProtectionLevel::Tls13, ProtectionLevel::Tls13),
    ];
    for (requested, negotiated) in cases {
        let options = Options {
            mode: Mode::PlainThenTls(HELLO_FRAME_LEN),
            ..Options::default()
        };
        let server = TestServer::start(options).await;
        let mut socket = socket_for(&server.identity);
        socket
            .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
            .await
            .unwrap();
        write_string(&mut socket, HELLO).await.unwrap();
        socket.upgrade_to_ssl(requested, "localhost").await.unwrap();

        let info = socket.information();
        assert_eq!(info.requested_protection_level, Some(requested));
        assert_eq!(info.protection_level, negotiated, "{requested}");
        assert_eq!(info.bytes_sent_before_upgrade, HELLO_FRAME_LEN as u64);
        assert_eq!(info.bytes_received_before_upgrade, 0);
        assert!(info.bytes_sent_after_upgrade > 0 && info.bytes_received_after_upgrade > 0);
        assert_eq!(info.server_name_indication.as_deref(), Some("localhost"));

        write_string(&mut socket, "inside").await.unwrap();
        assert_eq!(read_string(&mut socket).await.unwrap(), "inside");
        tokio::io::AsyncWriteExt::shutdown(&mut socket)
            .await
            .unwrap();
        let records = server.records().await;
        assert_eq!(records[0].plaintext.len(), HELLO_FRAME_LEN);
        assert!(records[0].tls_established);
    }
}

#[tokio::test]
async fn upgrading_in_the_wrong_state_is_an_invalid_argument_that_changes_nothing() {
    let mut unconnected = StreamSocket::new();
    let err = unconnected
        .upgrade_to_ssl(ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(unconnected.failure().is_none());

    let server = TestServer::start(Options::default()).await;
    let mut tls = socket_for(&server.identity);
    tls.connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    let err = tls
        .upgrade_to_ssl(ProtectionLevel::Tls13, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        tls.failure().is_none(),
        "the TLS connection is still usable"
    );
    write_string(&mut tls, "still here").await.unwrap();
    assert_eq!(read_string(&mut tls).await.unwrap(), "still here");
}

#[tokio::test]
async fn upgrading_to_a_level_without_tls_fails_before_any_byte() {
    for (level, kind) in [
        (ProtectionLevel::PlainSocket, ErrorKind::InvalidArgument),
        (
            ProtectionLevel::Tls10,
            ErrorKind::UnsupportedProtectionLevel,
        ),
        (
            ProtectionLevel::Ssl3AllowWeakEncryption,
            ErrorKind::UnsupportedProtectionLevel,
        ),
        (
            ProtectionLevel::BluetoothEncryptionWithAuthentication,
            ErrorKind::InvalidArgument,
        ),
    ] {
        let options = Options {
            mode: Mode::Silent,
            ..Options::default()
        };
        let server = TestServer::start(options).await;
        let mut socket = socket_for(&server.identity);
        socket
            .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
            .await
            .unwrap();
        let err = socket.upgrade_to_ssl(level, "localhost").await.unwrap_err();
        assert_eq!(err.kind(), kind, "{level}: {err}");
        // The caller asked for an upgrade: the plaintext connection is not usable any more.
        let err = write_string(&mut socket, "plaintext").await.unwrap_err();
        assert_eq!(err.kind(), kind);
        drop(socket);
        let records = server.records().await;
        assert!(records[0].plaintext.is_empty(), "{level}: nothing was sent");
    }
}

#[tokio::test]
async fn the_minimum_level_applies_to_the_upgrade_not_to_the_plaintext_phase() {
    let options = Options {
        mode: Mode::PlainThenTls(0),
        versions: TLS12_ONLY,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_min_protection_level(Some(ProtectionLevel::Tls13))
        .unwrap();
    socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    let err = socket
        .upgrade_to_ssl(ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProtocolVersionMismatch, "{err}");
}
