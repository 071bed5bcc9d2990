//! Truncation and close: an end without close_notify is `Truncated` on both sides;
//! close_notify then FIN is a clean end; close_notify during the handshake ends both sides
//! without spinning (RUSTSEC-2024-0336 class); a TLS 1.3 half-close still delivers the peer's
//! pending data.

use std::time::Duration;
use streamsocket::proto::starttls::CloseReason;

use mockserver::SessionEnd;
use mockserver::testing::{self, RunningServer};
use mockserver::{Limits, MockConfig, VersionSet};
use streamsocket::{Dialect, ErrorKind, ProtectionLevel, StreamSocket, TlsVersion};
use streamsocket::{read_string, write_string};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hostile_tests::{
    LINE_DIALECTS, RawPeer, STARTTLS_DIALECTS, ScriptedServer, client_hello, control_for, frame,
    go_ahead, mock, offer, plain_socket, quit, read_greeting, run_isolated, starttls_command,
    tls_acceptor, valid_identity, within,
};

/// A TLS `close_notify` alert record, as sent before encryption is on (during the handshake).
const CLOSE_NOTIFY: [u8; 7] = [0x15, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00];

/// A session upgraded with the real client against `server`.
async fn upgraded(server: &RunningServer, dialect: Dialect) -> StreamSocket {
    let identity = server.config().identity.clone();
    let mut socket = plain_socket(server.addr(), control_for(&identity))
        .await
        .unwrap();
    within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap();
    socket
}

/// A command the mock server answers inside TLS without ending the session.
fn harmless(dialect: Dialect) -> Vec<u8> {
    if dialect == Dialect::Framed {
        frame(b"ping")
    } else {
        hostile_tests::harmless(dialect).to_vec()
    }
}

#[tokio::test]
async fn an_end_without_close_notify_is_truncated_at_the_mock_server() {
    for dialect in STARTTLS_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let socket = upgraded(&server, dialect).await;
        // One exchange first, so that the client has read everything the server sent (its
        // session tickets too): a socket closed with unread data is reset, not closed.
        let mut peer = RawPeer::new(socket);
        peer.send(&harmless(dialect)).await.unwrap();
        if dialect == Dialect::Framed {
            assert_eq!(
                within(read_string(peer.io_mut())).await.unwrap().unwrap(),
                "ping"
            );
        } else {
            hostile_tests::read_reply(&mut peer, dialect, true)
                .await
                .unwrap();
        }
        // Half a request, then TCP closes under TLS: dropping the socket sends no
        // close_notify.
        let half = harmless(dialect);
        peer.send(&half[..half.len() / 2]).await.unwrap();
        drop(peer);
        within(server.wait_closed(1)).await.unwrap();
        assert_eq!(
            server.transcripts()[0].end,
            Some(SessionEnd::Truncated),
            "{dialect}"
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn an_end_without_close_notify_is_truncated_at_the_client_and_sticky() {
    let acceptor = tls_acceptor(&valid_identity());
    let server = ScriptedServer::start(move |peer: RawPeer| async move {
        let mut tls = within(acceptor.accept(peer.into_inner())).await??;
        within(tls.write_all(&frame(b"last words"))).await??;
        within(tls.flush()).await??;
        // Close TCP under TLS: no close_notify.
        let (mut tcp, _) = tls.into_inner();
        within(tcp.shutdown()).await??;
        Ok(Vec::new())
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
    // The data before the cut arrives, then the cut is an error, not an end of stream.
    assert_eq!(
        within(read_string(&mut socket)).await.unwrap().unwrap(),
        "last words"
    );
    let mut buf = [0u8; 16];
    for _ in 0..3 {
        let err = within(socket.read(&mut buf)).await.unwrap().unwrap_err();
        assert_eq!(
            streamsocket::Error::from_io(&err).map(streamsocket::Error::kind),
            Some(ErrorKind::Truncated),
            "{err}"
        );
    }
    assert_eq!(
        socket.failure().map(streamsocket::Error::kind),
        Some(ErrorKind::Truncated)
    );
    server.finish().await.unwrap();
}

#[tokio::test]
async fn close_notify_then_fin_is_a_clean_end_on_both_sides() {
    // The client closes: the server records a clean end of stream.
    for dialect in STARTTLS_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let mut socket = upgraded(&server, dialect).await;
        within(socket.shutdown()).await.unwrap().unwrap();
        within(server.wait_closed(1)).await.unwrap();
        assert_eq!(
            server.transcripts()[0].end,
            Some(SessionEnd::Machine(CloseReason::Eof)),
            "{dialect}"
        );
        server.shutdown().await;
    }
    // The server closes after its goodbye: the client reads it, then a clean end.
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let mut socket = upgraded(&server, dialect).await;
        let (command, answer) = quit(dialect);
        within(socket.write_all(command)).await.unwrap().unwrap();
        let mut rest = Vec::new();
        within(socket.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8(rest).unwrap();
        assert!(text.starts_with(answer), "{dialect}: {text:?}");
        assert!(socket.failure().is_none(), "{dialect}");
        server.shutdown().await;
    }
    // Framed: the server's idle timeout sends close_notify; the client sees a clean end.
    let server = testing::spawn(MockConfig {
        limits: Limits {
            idle_timeout: Duration::from_millis(200),
            ..Limits::default()
        },
        ..mock(Dialect::Framed)
    })
    .await;
    let mut socket = upgraded(&server, Dialect::Framed).await;
    let mut rest = Vec::new();
    within(socket.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest, b"");
    server.shutdown().await;
}

#[tokio::test]
async fn a_tls13_half_close_still_delivers_the_peers_pending_data() {
    // Framed: the client sends a frame and closes its half at once; the echo still arrives,
    // then the server's close_notify.
    let server = testing::spawn(mock(Dialect::Framed)).await;
    let mut socket = upgraded(&server, Dialect::Framed).await;
    assert_eq!(
        socket.information().protocol_version,
        Some(TlsVersion::Tls13)
    );
    within(write_string(&mut socket, "pending"))
        .await
        .unwrap()
        .unwrap();
    within(socket.shutdown()).await.unwrap().unwrap();
    assert_eq!(
        within(read_string(&mut socket)).await.unwrap().unwrap(),
        "pending"
    );
    let mut rest = Vec::new();
    within(socket.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rest, b"");
    server.shutdown().await;

    // Line dialects: a command, then the half-close; its answer still arrives.
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let mut socket = upgraded(&server, dialect).await;
        let (command, answer) = quit(dialect);
        within(socket.write_all(command)).await.unwrap().unwrap();
        within(socket.shutdown()).await.unwrap().unwrap();
        let mut rest = Vec::new();
        within(socket.read_to_end(&mut rest))
            .await
            .unwrap()
            .unwrap();
        let text = String::from_utf8(rest).unwrap();
        assert!(text.starts_with(answer), "{dialect}: {text:?}");
        server.shutdown().await;
    }
}

/// A scripted server that offers STARTTLS (line dialects), waits for the ClientHello's first
/// byte, sends a close_notify alert, then either closes (`fin`) or keeps the connection open
/// until the client closes it.
async fn close_notify_server(dialect: Dialect, fin: bool) -> ScriptedServer {
    ScriptedServer::start(move |mut peer: RawPeer| async move {
        if dialect != Dialect::Framed && dialect != Dialect::Implicit {
            offer(&mut peer, dialect, true).await?;
            peer.send(go_ahead(dialect)).await?;
        }
        peer.until(&[0x16]).await?;
        peer.send(&CLOSE_NOTIFY).await?;
        if fin {
            peer.into_inner().shutdown().await?;
            return Ok(Vec::new());
        }
        peer.drain().await
    })
    .await
    .unwrap()
}

#[test]
fn close_notify_during_the_handshake_ends_the_client_without_spinning() {
    // Each case runs on its own runtime, watched from outside: a client spinning in `poll`
    // would block its runtime, and only the outside watch would notice.
    for dialect in [
        Dialect::Implicit,
        Dialect::Framed,
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
    ] {
        for fin in [true, false] {
            let outcome = run_isolated(move || async move {
                let server = close_notify_server(dialect, fin).await;
                let mut control = control_for(&valid_identity());
                // With FIN, the end must come from the alert and the close, long before the
                // handshake timeout; without, the timeout ends a client that waits quietly.
                let limit = if fin { 60 } else { 1 };
                control
                    .set_handshake_timeout(Duration::from_secs(limit))
                    .unwrap();
                let err = if dialect == Dialect::Implicit {
                    let mut socket = StreamSocket::with_control(control);
                    let port = server.addr().port().to_string();
                    socket
                        .connect("localhost", &port, ProtectionLevel::Ssl)
                        .await
                        .unwrap_err()
                } else {
                    let mut socket = plain_socket(server.addr(), control).await.unwrap();
                    socket
                        .upgrade_with(dialect, ProtectionLevel::Ssl, "localhost")
                        .await
                        .unwrap_err()
                };
                let _ = server.finish().await;
                err
            });
            let err = outcome.unwrap_or_else(|| panic!("{dialect}, fin {fin}: the client spun"));
            eprintln!("client, {dialect}, fin {fin}: {}", err.full_message());
            let expected: &[ErrorKind] = if fin {
                &[ErrorKind::HandshakeFailed]
            } else {
                &[ErrorKind::HandshakeFailed, ErrorKind::HandshakeTimedOut]
            };
            assert!(
                expected.contains(&err.kind()),
                "{dialect}, fin {fin}: {err:?}"
            );
        }
    }
}

#[test]
fn close_notify_during_the_handshake_ends_the_mock_server_session_without_spinning() {
    for dialect in [
        Dialect::Implicit,
        Dialect::Framed,
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
    ] {
        for versions in [VersionSet::BOTH, VersionSet::TLS12_ONLY] {
            for fin in [true, false] {
                let outcome = run_isolated(move || async move {
                    let identity = valid_identity();
                    let mut config = mock(dialect);
                    config.tls.versions = versions;
                    // With FIN, the session must end on the alert and the close, long before
                    // this; without, the timeout may end it, but nothing may spin.
                    config.limits.handshake_timeout = Duration::from_secs(if fin { 60 } else { 1 });
                    let server = testing::spawn(config).await;
                    let mut peer = RawPeer::connect(server.addr()).await.unwrap();
                    if dialect.is_line_based() {
                        read_greeting(&mut peer, dialect).await.unwrap();
                        if dialect == Dialect::Smtp {
                            peer.send(b"EHLO raw.test\r\n").await.unwrap();
                            hostile_tests::read_reply(&mut peer, dialect, false)
                                .await
                                .unwrap();
                        }
                        peer.send(starttls_command(dialect)).await.unwrap();
                        peer.line().await.unwrap();
                    }
                    let mut hello = client_hello(&identity);
                    hello.extend_from_slice(&CLOSE_NOTIFY);
                    peer.send(&hello).await.unwrap();
                    if fin {
                        peer.io_mut().shutdown().await.unwrap();
                    }
                    server.wait_closed(1).await;
                    let reason = server.transcripts()[0].end;
                    drop(peer);
                    server.shutdown().await;
                    reason
                });
                let reason = outcome
                    .unwrap_or_else(|| panic!("{dialect}, {versions}, fin {fin}: the server spun"));
                eprintln!("mock server, {dialect}, {versions}, fin {fin}: {reason:?}");
                let ended_by_alert = matches!(reason, Some(SessionEnd::HandshakeFailed(_)));
                if fin {
                    assert!(
                        ended_by_alert,
                        "{dialect}, {versions}, fin {fin}: {reason:?}"
                    );
                } else {
                    assert!(
                        ended_by_alert || reason == Some(SessionEnd::HandshakeTimeout),
                        "{dialect}, {versions}, fin {fin}: {reason:?}"
                    );
                }
            }
        }
    }
}
