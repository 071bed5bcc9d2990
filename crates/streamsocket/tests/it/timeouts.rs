//! Handshake and connect timeouts.

use std::time::Duration;

use streamsocket::{Dialect, ErrorKind, ProtectionLevel};

use crate::server::{Mode, Options, TestServer};
use crate::socket_for;

#[tokio::test]
async fn a_silent_server_hits_the_handshake_timeout_on_a_paused_clock() {
    let options = Options {
        mode: Mode::Silent,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_handshake_timeout(Duration::from_secs(45))
        .unwrap();
    socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    // The clock is paused only now: while the handshake waits for a server that never answers,
    // tokio advances it to the timeout.
    tokio::time::pause();
    let err = socket
        .upgrade_to_ssl(ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{err}");
    assert!(err.to_string().contains("45s"), "{err}");
    assert!(socket.information().handshake_duration >= Some(Duration::from_secs(45)));
    drop(socket);
    let records = server.records().await;
    assert_eq!(
        records[0].plaintext.first(),
        Some(&0x16),
        "a ClientHello was sent"
    );
}

#[tokio::test]
async fn one_handshake_timeout_covers_the_whole_starttls_upgrade() {
    // The server waits before each of its three replies (EHLO, STARTTLS, EHLO inside TLS):
    // 400 ms each fits a 1 s timeout phase by phase but not all together; 100 ms each fits
    // with room to spare. Real time: tokio's paused clock would jump over the loopback I/O.
    for (delay, fits) in [(400, false), (100, true)] {
        let options = Options {
            mode: Mode::SlowSmtp(Duration::from_millis(delay)),
            ..Options::default()
        };
        let server = TestServer::start(options).await;
        let mut socket = socket_for(&server.identity);
        socket
            .control_mut()
            .set_handshake_timeout(Duration::from_secs(1))
            .unwrap();
        socket
            .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
            .await
            .unwrap();
        let started = tokio::time::Instant::now();
        let result = socket
            .upgrade_with(Dialect::Smtp, ProtectionLevel::Tls13, "localhost")
            .await;
        if fits {
            result.unwrap_or_else(|err| panic!("a {delay} ms server fits: {err}"));
        } else {
            let err = result.expect_err("the upgrade as a whole takes longer than the timeout");
            assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{err}");
            assert!(started.elapsed() >= Duration::from_secs(1));
        }
    }
}

#[tokio::test]
async fn the_handshake_timeout_applies_to_connect_too() {
    let options = Options {
        mode: Mode::Silent,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_handshake_timeout(Duration::from_millis(200))
        .unwrap();
    let err = socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{err}");
    assert_eq!(err.status(), None);
}

#[tokio::test]
async fn a_connect_that_never_completes_hits_the_connect_timeout_on_a_paused_clock() {
    // A listener that never accepts, with its accept queue filled: the kernel drops further
    // SYNs, so a new connection attempt hangs (on loopback, without leaving the machine).
    let listener = tokio::net::TcpSocket::new_v4().unwrap();
    listener.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => fillers.push(stream),
            Err(_) => break,
        }
        assert!(fillers.len() < 64, "the accept queue never filled");
    }

    let mut socket = streamsocket::StreamSocket::new();
    socket
        .control_mut()
        .set_connect_timeout(Duration::from_secs(20))
        .unwrap();
    tokio::time::pause();
    let err = socket
        .connect(
            "127.0.0.1",
            &addr.port().to_string(),
            ProtectionLevel::PlainSocket,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionTimedOut, "{err}");
    assert_eq!(err.status(), Some(3));
    assert_eq!(socket.information().remote_address, None);
    drop(listener);
}
