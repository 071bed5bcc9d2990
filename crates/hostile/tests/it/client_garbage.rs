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
    /// A valid greeting, then these bytes instead of the capability reply (ManageSieve: one
    /// capability line, then these bytes).
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
            // ManageSieve's greeting is its capability list: one capability line, then these.
            Garbage::Capabilities(bytes) if dialect == Dialect::Sieve => {
                peer.send(b"\"IMPLEMENTATION\" \"scripted\"\r\n").await?;
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
            if case == "tls alert" {
                // A TLS record where the greeting was due: the port speaks TLS at once, and the
                // client says so without a word of plaintext, not even its goodbye.
                assert_eq!(
                    err.kind(),
                    ErrorKind::TlsInsteadOfPlaintext,
                    "{dialect}: {err}"
                );
                assert!(err.to_string().contains("speaks TLS at once"), "{err}");
                assert!(after.is_empty(), "{dialect}: sent {after:?}");
            } else {
                let expected = [ErrorKind::Protocol, ErrorKind::StartTlsRefused];
                assert!(expected.contains(&err.kind()), "{dialect}, {case}: {err}");
                only_goodbye(dialect, &after);
            }
            assert!(read <= 64 << 10, "{dialect}, {case}: read {read}");
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
        // Its garbage is an HTTP error response, named as such.
        assert_eq!(
            err.kind(),
            ErrorKind::PlaintextInsteadOfTls,
            "{dialect}: {err}"
        );
        assert!(err.to_string().contains("HTTP response"), "{err}");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn implicit_tls_against_a_starttls_port_names_the_mistake() {
    // The client's ClientHello reaches a plaintext protocol; the greeting that comes back is
    // never taken for a ServerHello, and the error says what the port speaks and what to do.
    // (A framed port accepts a ClientHello as its first bytes by design, so implicit TLS works
    // there.)
    let expected = [
        (Dialect::Smtp, "SMTP greeting", "--starttls smtp", "465"),
        (Dialect::Imap, "IMAP greeting", "--starttls imap", "993"),
        (Dialect::Pop3, "POP3 greeting", "--starttls pop3", "995"),
    ];
    for (dialect, what, flag, port) in expected {
        let server = testing::spawn(mock(dialect)).await;
        let mut socket = streamsocket::StreamSocket::with_control(control_for(&valid_identity()));
        let err = within(socket.connect("localhost", server.addr().port(), ProtectionLevel::Ssl))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::PlaintextInsteadOfTls,
            "{dialect}: {err}"
        );
        let message = err.to_string();
        for needle in [what, flag, port, "mock.streamsocket.test"] {
            assert!(
                message.contains(needle),
                "{dialect}: {needle:?} not in {message}"
            );
        }
        assert_eq!(socket.information().protocol_version, None, "{dialect}");
        let mut buf = [0u8; 8];
        assert!(
            within(socket.read(&mut buf)).await.unwrap().is_err(),
            "{dialect}: sticky"
        );
        server.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn starttls_against_an_implicit_tls_port_ends_at_the_clients_timeout() {
    // Each side waits for the other to speak first; the client's limit ends it, it sends
    // nothing itself, and the error says that the port may expect TLS at once.
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(Dialect::Implicit)).await;
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
        assert!(
            matches!(err, streamsocket::Error::NoGreeting { dialect: d, .. } if d == dialect),
            "{dialect}: {err}"
        );
        assert!(err.to_string().contains("implicit TLS"), "{err}");
        drop(socket);
        server.wait_closed(1).await;
        assert!(
            server.transcripts()[0].chunks.is_empty(),
            "{dialect}: the client spoke first: {:?}",
            server.transcripts()[0].chunks
        );
        server.shutdown().await;
    }
}

/// Connects with implicit TLS to a scripted peer; returns the error and what the peer read.
async fn implicit_tls_against(
    script: impl FnOnce(
        RawPeer,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<u8>>> + Send>>
    + Send
    + 'static,
) -> (streamsocket::Error, Vec<u8>) {
    let server = ScriptedServer::start(script).await.unwrap();
    let mut socket = streamsocket::StreamSocket::with_control(control_for(&valid_identity()));
    let err = within(socket.connect("localhost", server.addr().port(), ProtectionLevel::Ssl))
        .await
        .unwrap()
        .unwrap_err();
    let mut buf = [0u8; 8];
    assert!(
        within(socket.read(&mut buf)).await.unwrap().is_err(),
        "sticky"
    );
    drop(socket);
    (err, server.finish().await.unwrap_or_default())
}

#[tokio::test]
async fn an_http_server_on_the_port_is_named_and_its_reply_is_never_data() {
    let (err, read) = implicit_tls_against(|mut peer| {
        Box::pin(async move {
            // An HTTP server reads the ClientHello as a bad request and says so.
            peer.until(&[0x16]).await?;
            peer.send(b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 0\r\n\r\n")
                .await?;
            peer.drain().await?;
            Ok(peer.received().to_vec())
        })
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::PlaintextInsteadOfTls, "{err}");
    let message = err.to_string();
    assert!(
        message.contains("HTTP response (`HTTP/1.1 400 Bad Request`)") && message.contains("443"),
        "{message}"
    );
    // The client wrote TLS records only: its ClientHello, perhaps an alert.
    assert!(
        hostile_tests::handshake_records_only(&read).is_ok(),
        "{read:?}"
    );
}

#[tokio::test]
async fn a_plaintext_echo_server_is_recognised_by_its_echo() {
    let (err, _) = implicit_tls_against(|mut peer| {
        Box::pin(async move {
            peer.until(&[0x16]).await?;
            // Echo what came, as an echo service does, once the whole hello is likely in.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let mut rest = vec![0u8; 4096];
            let n = peer.io_mut().read(&mut rest).await?;
            let mut echo = vec![0x16];
            echo.extend_from_slice(rest.get(..n).unwrap_or_default());
            peer.send(&echo).await?;
            peer.drain().await
        })
    })
    .await;
    assert_eq!(err.kind(), ErrorKind::PlaintextInsteadOfTls, "{err}");
    assert!(
        matches!(err, streamsocket::Error::EchoedClientHello),
        "{err}"
    );
    assert!(err.to_string().contains("echo"), "{err}");
}

#[tokio::test]
async fn a_tls_alert_where_the_greeting_was_due_says_the_port_speaks_tls() {
    for dialect in LINE_DIALECTS {
        let (err, _, after) = run(dialect, Garbage::Greeting(vec![0x15, 3, 3, 0, 2, 2, 80])).await;
        assert!(
            matches!(err, streamsocket::Error::TlsInsteadOfPlaintext { dialect: d } if d == dialect),
            "{dialect}: {err}"
        );
        assert!(after.is_empty(), "{dialect}: sent {after:?} to a TLS port");
    }
}
