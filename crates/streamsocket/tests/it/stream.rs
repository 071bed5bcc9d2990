//! Reading and writing: echo through TLS, framing helpers, close_notify, truncation, sticky
//! errors.

use streamsocket::{Error, ErrorKind, ProtectionLevel, read_string, write_string};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::{Mode, Options, TestServer};
use crate::socket_for;

#[tokio::test]
async fn data_round_trips_through_tls_and_is_counted() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    let after_handshake = socket.information().bytes_sent_after_upgrade;
    assert!(after_handshake > 0);
    write_string(&mut socket, "Hello World ☺ ").await.unwrap();
    assert_eq!(read_string(&mut socket).await.unwrap(), "Hello World ☺ ");
    let info = socket.information();
    // A TLS 1.3 record adds 22 bytes (header, content type, tag) to the 20-byte frame.
    assert!(
        info.bytes_sent_after_upgrade >= after_handshake + 20 + 22,
        "{info:?}"
    );
    assert_eq!(
        info.bytes_sent_before_upgrade, 0,
        "implicit TLS has no plaintext phase"
    );
    socket.shutdown().await.unwrap();
    let records = server.records().await;
    assert!(
        records[0].clean_close,
        "the server saw close_notify, not a bare TCP close"
    );
}

#[tokio::test]
async fn vectored_writes_reach_the_server_whole_and_are_counted() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    assert!(
        tokio::io::AsyncWrite::is_write_vectored(&socket),
        "TLS takes vectored writes"
    );
    let before = socket.information().bytes_sent_after_upgrade;
    // One frame in two slices: its header, then its payload.
    let payload = b"vectored";
    let header = (payload.len() as u32).to_be_bytes();
    let slices = [
        std::io::IoSlice::new(&header),
        std::io::IoSlice::new(payload),
    ];
    // Both slices are taken by one call (a non-vectored fallback takes only the first).
    let written = socket.write_vectored(&slices).await.unwrap();
    assert_eq!(written, header.len() + payload.len());
    socket.flush().await.unwrap();
    assert_eq!(read_string(&mut socket).await.unwrap(), "vectored");
    assert!(socket.information().bytes_sent_after_upgrade > before + 12);
}

#[tokio::test]
async fn dropping_without_shutdown_is_a_truncation_for_the_server() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    write_string(&mut socket, "x").await.unwrap();
    assert_eq!(read_string(&mut socket).await.unwrap(), "x");
    drop(socket);
    let records = server.records().await;
    assert!(!records[0].clean_close, "no close_notify was sent");
}

#[tokio::test]
async fn a_clean_close_notify_ends_the_stream() {
    let options = Options {
        mode: Mode::SendThenClose(b"bye".to_vec()),
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    let mut received = Vec::new();
    socket.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"bye");
    socket.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_end_without_close_notify_is_truncation_and_sticky() {
    for level in [ProtectionLevel::Tls12, ProtectionLevel::Tls13] {
        let options = Options {
            mode: Mode::Truncate(b"partial".to_vec()),
            ..Options::default()
        };
        let server = TestServer::start(options).await;
        let mut socket = socket_for(&server.identity);
        socket
            .connect("localhost", &server.port(), level)
            .await
            .unwrap();
        let mut received = Vec::new();
        let err = socket.read_to_end(&mut received).await.unwrap_err();
        assert_eq!(received, b"partial", "data before the cut is delivered");
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        let inner = Error::from_io(&err).expect("the crate's error is inside");
        assert_eq!(inner.kind(), ErrorKind::Truncated);

        // Sticky: every later call returns the same error.
        let err = socket.write_all(b"more").await.unwrap_err();
        assert_eq!(
            Error::from_io(&err).map(Error::kind),
            Some(ErrorKind::Truncated)
        );
        let err = socket
            .upgrade_to_ssl(ProtectionLevel::Ssl, "localhost")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Truncated);
        assert_eq!(
            socket.failure().map(Error::kind),
            Some(ErrorKind::Truncated)
        );
        // The information survives.
        assert_eq!(
            socket.information().protection_level,
            ProtectionLevel::from_version(socket.information().protocol_version.unwrap())
        );
    }
}

#[tokio::test]
async fn a_failed_connect_is_sticky_and_nothing_falls_back_to_plaintext() {
    let options = Options {
        scenario: testpki::Scenario::Expired,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    let first = socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(first.kind(), ErrorKind::CertificateExpired);

    let again = socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(
        again.kind(),
        ErrorKind::CertificateExpired,
        "the same error, not a new attempt"
    );
    let err = socket.write_all(b"secret").await.unwrap_err();
    assert_eq!(
        Error::from_io(&err).map(Error::kind),
        Some(ErrorKind::CertificateExpired)
    );
    let mut buf = [0u8; 8];
    let err = socket.read(&mut buf).await.unwrap_err();
    assert_eq!(
        Error::from_io(&err).map(Error::kind),
        Some(ErrorKind::CertificateExpired)
    );

    let records = server.records().await;
    assert_eq!(records.len(), 1, "one connection only");
    assert!(!records[0].tls_established);
    assert!(records[0].plaintext.is_empty());
}

#[tokio::test]
async fn a_frame_above_the_maximum_is_refused_before_allocation() {
    let options = Options {
        mode: Mode::SendThenClose(vec![0x7f, 0xff, 0xff, 0xff]),
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    let err = read_string(&mut socket).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Protocol, "{err}");
    assert!(matches!(err, Error::Frame(_)), "{err:?}");
}

#[tokio::test]
async fn the_string_codec_frames_for_tokio_util() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_util::codec::Framed;

    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    let mut framed = Framed::new(socket, streamsocket::StringCodec::default());
    framed.send("one").await.unwrap();
    framed.send("two ☺").await.unwrap();
    assert_eq!(framed.next().await.unwrap().unwrap(), "one");
    assert_eq!(framed.next().await.unwrap().unwrap(), "two ☺");
}
