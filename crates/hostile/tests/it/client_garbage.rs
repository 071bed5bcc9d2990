//! Malformed and oversized input at the client: a scripted server sends garbage, an endless
//! line, an endless reply, a 4 GiB frame header, a broken record instead of the ServerHello.
//! The client fails with a typed error, reads a bounded number of bytes, and sends nothing
//! more than its goodbye.

use std::time::Duration;

use mockserver::Behaviour;
use mockserver::testing;
use streamsocket::{Dialect, ErrorKind, ProtectionLevel, read_string};
use tokio::io::AsyncReadExt;

use hostile_tests::{
    LINE_DIALECTS, RawPeer, STARTTLS_DIALECTS, ScriptedServer, control_for, go_ahead, goodbye,
    greeting, mock, offer, plain_socket, random_bytes, tls_acceptor, valid_identity, within,
};

/// What the scripted server sends.
#[derive(Clone, Debug)]
enum Garbage {
    /// These bytes instead of a greeting.
    Greeting(Vec<u8>),
    /// A valid greeting, then these bytes instead of the capability reply.
    Capabilities(Vec<u8>),
}

/// Plays `garbage` against `upgrade_with`; returns the client's error, the bytes it read, and
/// what it sent after the point of failure.
async fn run(dialect: Dialect, garbage: Garbage) -> (streamsocket::Error, u64, Vec<u8>) {
    let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
        match garbage {
            Garbage::Greeting(bytes) => {
                // The client may close before all of it is written.
                let _ = peer.send(&bytes).await;
            }
            Garbage::Capabilities(bytes) => {
                peer.send(greeting(dialect, "scripted.test").as_bytes())
                    .await?;
                peer.line().await?;
                let _ = peer.send(&bytes).await;
            }
        }
        peer.drain().await
    })
    .await
    .unwrap();
    // A short exchange limit: a partial line with no end is only ended by the clock.
    let mut control = control_for(&valid_identity());
    control
        .set_handshake_timeout(Duration::from_secs(1))
        .unwrap();
    let mut socket = plain_socket(server.addr(), control).await.unwrap();
    let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap_err();
    let read = socket.information().bytes_received_before_upgrade;
    assert_eq!(socket.information().bytes_sent_after_upgrade, 0);
    drop(socket);
    let after = server.finish().await.unwrap_or_default();
    (err, read, after)
}

fn only_goodbye(dialect: Dialect, after: &[u8]) {
    assert!(
        after.is_empty() || after == goodbye(dialect),
        "{dialect}: {:?}",
        String::from_utf8_lossy(after)
    );
}

#[tokio::test]
async fn garbage_instead_of_a_greeting_is_a_protocol_error() {
    for dialect in LINE_DIALECTS {
        for (case, bytes) in [
            ("random", random_bytes(11, 64 << 10)),
            ("nul", b"\0\0\0\0\r\n".to_vec()),
            ("http", b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
            ("tls alert", vec![0x15, 3, 3, 0, 2, 2, 40]),
        ] {
            let (err, read, after) = run(dialect, Garbage::Greeting(bytes)).await;
            // A TLS alert has no line end: the client waits for one until its timeout.
            let expected: &[ErrorKind] = if case == "tls alert" {
                &[ErrorKind::HandshakeTimedOut]
            } else {
                &[ErrorKind::Protocol, ErrorKind::StartTlsRefused]
            };
            assert!(expected.contains(&err.kind()), "{dialect}, {case}: {err}");
            assert!(read <= 64 << 10, "{dialect}, {case}: read {read}");
            only_goodbye(dialect, &after);
        }
    }
}

#[tokio::test]
async fn an_endless_line_is_cut_at_the_clients_line_limit() {
    let endless = vec![b'2'; 10 << 20];
    for dialect in LINE_DIALECTS {
        for garbage in [
            Garbage::Greeting(endless.clone()),
            Garbage::Capabilities(endless.clone()),
        ] {
            let (err, read, after) = run(dialect, garbage).await;
            assert_eq!(err.kind(), ErrorKind::Protocol, "{dialect}: {err}");
            assert!(err.to_string().contains("longer than"), "{dialect}: {err}");
            // The client stopped reading soon after its limit (2 KiB), far from 10 MiB.
            assert!(read < 64 << 10, "{dialect}: read {read}");
            only_goodbye(dialect, &after);
        }
    }
}

#[tokio::test]
async fn an_endless_multi_line_reply_is_cut_at_the_reply_limit() {
    let smtp = "250-LINE\r\n".repeat(1000);
    let pop3 = format!("+OK\r\n{}", "CAPABILITY\r\n".repeat(1000));
    for (dialect, reply) in [(Dialect::Smtp, smtp), (Dialect::Pop3, pop3)] {
        let (err, _, after) = run(dialect, Garbage::Capabilities(reply.into_bytes())).await;
        assert_eq!(err.kind(), ErrorKind::Protocol, "{dialect}: {err}");
        assert!(err.to_string().contains("too many"), "{dialect}: {err}");
        only_goodbye(dialect, &after);
    }
}

#[tokio::test]
async fn a_flood_of_untagged_imap_data_ends_at_the_handshake_timeout() {
    // Untagged data is allowed and ignored, so only the clock ends this; memory stays bounded
    // because each line is dropped once read.
    let server = ScriptedServer::start(|mut peer: RawPeer| async move {
        peer.send(greeting(Dialect::Imap, "scripted.test").as_bytes())
            .await?;
        peer.line().await?;
        let noise = "* OK [ALERT] noise\r\n".repeat(1000).into_bytes();
        for _ in 0..4096 {
            if peer.send(&noise).await.is_err() {
                break;
            }
        }
        Ok(Vec::new())
    })
    .await
    .unwrap();
    let mut control = control_for(&valid_identity());
    control
        .set_handshake_timeout(Duration::from_millis(500))
        .unwrap();
    let mut socket = plain_socket(server.addr(), control).await.unwrap();
    let err = within(socket.upgrade_with(Dialect::Imap, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{err}");
    drop(socket);
    server.finish().await.unwrap();
}

/// A framed server that completes the handshake, then sends `bytes` inside TLS.
async fn framed_server(bytes: &'static [u8]) -> ScriptedServer {
    let acceptor = tls_acceptor(&valid_identity());
    ScriptedServer::start(move |peer: RawPeer| async move {
        let mut tls = RawPeer::new(within(acceptor.accept(peer.into_inner())).await??);
        tls.send(bytes).await?;
        tls.drain().await
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn a_4_gib_frame_header_from_the_server_is_refused_before_allocation() {
    for (bytes, case) in [
        (&[0xff, 0xff, 0xff, 0xff][..], "4 GiB"),
        (&[0x00, 0x10, 0x00, 0x01][..], "1 MiB + 1"),
        (&[0, 0, 0, 2, 0xc3, 0x28][..], "invalid utf-8"),
    ] {
        let server = framed_server(bytes).await;
        let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
            .await
            .unwrap();
        within(socket.upgrade_with(Dialect::Framed, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap();
        let err = within(read_string(&mut socket)).await.unwrap().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Protocol, "{case}: {err}");
        drop(socket);
        server.finish().await.unwrap();
    }
    // A zero-length frame is a frame.
    let server = framed_server(&[0, 0, 0, 0]).await;
    let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
        .await
        .unwrap();
    within(socket.upgrade_with(Dialect::Framed, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(within(read_string(&mut socket)).await.unwrap().unwrap(), "");
}

#[tokio::test]
async fn a_broken_record_instead_of_the_server_hello_fails_the_handshake() {
    for dialect in STARTTLS_DIALECTS {
        // An oversized record header followed by junk, where the ServerHello should be.
        let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
            if dialect != Dialect::Framed {
                offer(&mut peer, dialect, true).await?;
                peer.send(go_ahead(dialect)).await?;
            }
            peer.until(&[0x16]).await?;
            let mut record = vec![0x16, 3, 3, 0xff, 0xff];
            record.extend_from_slice(&random_bytes(3, 1 << 16));
            let _ = peer.send(&record).await;
            peer.drain().await
        })
        .await
        .unwrap();
        let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
            .await
            .unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{dialect}: {err}");
        // Sticky, and nothing falls back to plaintext.
        let mut buf = [0u8; 8];
        let again = within(socket.read(&mut buf)).await.unwrap().unwrap_err();
        assert_eq!(
            streamsocket::Error::from_io(&again).map(streamsocket::Error::kind),
            Some(ErrorKind::HandshakeFailed),
            "{dialect}"
        );
        drop(socket);
        let _ = server.finish().await;

        // The mock server's garbage behaviour, through every dialect's upgrade.
        let server = testing::spawn(mockserver::MockConfig {
            behaviour: Behaviour::GarbageInsteadOfServerHello,
            ..mock(dialect)
        })
        .await;
        let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
            .await
            .unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{dialect}: {err}");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn implicit_tls_against_a_starttls_port_fails_the_handshake() {
    // The client's ClientHello reaches a plaintext protocol; the error lines that come back
    // are never taken for a ServerHello. (A framed port accepts a ClientHello as its first
    // bytes by design, so implicit TLS works there.)
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let mut socket = streamsocket::StreamSocket::with_control(control_for(&valid_identity()));
        let port = server.addr().port().to_string();
        let err = within(socket.connect("localhost", &port, ProtectionLevel::Ssl))
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::HandshakeFailed | ErrorKind::ConnectionResetByPeer
            ),
            "{dialect}: {}",
            err.full_message()
        );
        assert_eq!(socket.information().protocol_version, None, "{dialect}");
        server.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn starttls_against_an_implicit_tls_port_ends_at_the_clients_timeout() {
    // Each side waits for the other to speak first; the client's limit ends it.
    let server = testing::spawn(mock(Dialect::Implicit)).await;
    for dialect in LINE_DIALECTS {
        let mut control = control_for(&valid_identity());
        control
            .set_handshake_timeout(Duration::from_secs(3))
            .unwrap();
        let mut socket = plain_socket(server.addr(), control).await.unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{dialect}: {err}");
    }
    server.shutdown().await;
}
