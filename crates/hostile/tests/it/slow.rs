//! Slow peers, on tokio's paused clock (the runtime jumps to the next timer whenever every task
//! waits): each side gives up at its configured timeout with a timeout error, however the peer
//! stalls. Configured limits are short (seconds) and below the tests' own bound.

use std::time::Duration;

use mockserver::testing::{self, RunningServer};
use mockserver::{Behaviour, Limits, MockConfig};
use mockserver::{HandshakeFailure, SessionEnd};
use streamsocket::{Dialect, ErrorKind, ProtectionLevel, StreamSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hostile_tests::{
    LINE_DIALECTS, RawPeer, STARTTLS_DIALECTS, ScriptedServer, client_hello, control_for, frame,
    go_ahead, mock, offer, plain_socket, read_greeting, read_reply, starttls_command, tls_client,
    valid_identity, within,
};

/// Limits with short timeouts: handshake and request 5 s, idle 10 s.
fn short(dialect: Dialect) -> MockConfig {
    MockConfig {
        limits: Limits {
            handshake_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(5),
            ..Limits::default()
        },
        ..mock(dialect)
    }
}

/// The close reason of the only session, once recorded.
async fn closed_as(server: &RunningServer) -> SessionEnd {
    within(server.wait_closed(1)).await.unwrap();
    server.transcripts()[0].end.unwrap()
}

fn goodbye_prefix(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Smtp => "421 ",
        Dialect::Imap => "* BYE",
        Dialect::Pop3 => "-ERR",
        _ => "",
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_sends_nothing_is_closed_at_its_timeout() {
    for dialect in [
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
        Dialect::Framed,
        Dialect::Implicit,
    ] {
        let server = testing::spawn(short(dialect)).await;
        let mut peer = RawPeer::connect(server.addr()).await.unwrap();
        if dialect.is_line_based() {
            read_greeting(&mut peer, dialect).await.unwrap();
        }
        let answer = String::from_utf8(peer.drain().await.unwrap()).unwrap();
        assert!(
            answer.starts_with(goodbye_prefix(dialect)),
            "{dialect}: {answer:?}"
        );
        let expected = if dialect == Dialect::Implicit {
            // TLS from the first byte: the handshake timeout applies.
            SessionEnd::HandshakeTimeout
        } else {
            SessionEnd::IdleTimeout
        };
        assert_eq!(closed_as(&server).await, expected, "{dialect}");
        server.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_stalls_after_the_go_ahead_hits_the_handshake_timeout() {
    let identity = valid_identity();
    let hello = client_hello(&identity);
    for dialect in [
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
        Dialect::Framed,
        Dialect::Implicit,
    ] {
        let server = testing::spawn(short(dialect)).await;
        let mut peer = RawPeer::connect(server.addr()).await.unwrap();
        match dialect {
            // Framed: the first byte of a ClientHello is the go-ahead.
            Dialect::Framed => peer.send(&hello[..1]).await.unwrap(),
            Dialect::Implicit => peer.send(&hello[..10]).await.unwrap(),
            _ => {
                read_greeting(&mut peer, dialect).await.unwrap();
                if dialect == Dialect::Smtp {
                    peer.send(b"EHLO raw.test\r\n").await.unwrap();
                    read_reply(&mut peer, dialect, false).await.unwrap();
                }
                peer.send(starttls_command(dialect)).await.unwrap();
                assert_eq!(peer.line().await.unwrap().as_bytes(), go_ahead(dialect));
            }
        }
        // Nothing is answered; the server closes at its handshake timeout.
        assert_eq!(peer.drain().await.unwrap(), b"", "{dialect}");
        assert_eq!(
            closed_as(&server).await,
            SessionEnd::HandshakeTimeout,
            "{dialect}"
        );
        assert_eq!(
            server
                .snapshot()
                .handshake_failures
                .get(&HandshakeFailure::Timeout),
            Some(&1),
            "{dialect}"
        );
        server.shutdown().await;
    }
}

/// A request that never ends if written one byte per period: a line with no end in sight for
/// the line dialects, a frame of 100 bytes for the framed ones.
fn endless_request(dialect: Dialect) -> Vec<u8> {
    match dialect {
        Dialect::Smtp => b"EHLO slowly.example.test and more\r\n".to_vec(),
        Dialect::Imap => b"A1 CAPABILITY and more and more\r\n".to_vec(),
        Dialect::Pop3 => b"CAPA and more and more and more\r\n".to_vec(),
        _ => frame(&[b'x'; 100]),
    }
}

/// Writes `request` one byte every 2 s (never idle for the 10 s idle timeout), until the
/// server closes.
async fn trickle<W: AsyncWriteExt + Unpin>(writer: &mut W, request: &[u8]) {
    for byte in request {
        if writer.write_all(&[*byte]).await.is_err() || writer.flush().await.is_err() {
            return;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_request_trickled_one_byte_at_a_time_is_ended_by_the_request_deadline() {
    for dialect in STARTTLS_DIALECTS {
        let server = testing::spawn(short(dialect)).await;
        let mut peer = RawPeer::connect(server.addr()).await.unwrap();
        if dialect.is_line_based() {
            read_greeting(&mut peer, dialect).await.unwrap();
        }
        let (mut rd, mut wr) = peer.into_inner().into_split();
        let request = endless_request(dialect);
        let writer = tokio::spawn(async move { trickle(&mut wr, &request).await });
        let mut answer = Vec::new();
        let _ = within(rd.read_to_end(&mut answer)).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer.starts_with(goodbye_prefix(dialect)),
            "{dialect}: {answer:?}"
        );
        assert_eq!(
            closed_as(&server).await,
            SessionEnd::RequestTimeout,
            "{dialect}"
        );
        writer.abort();
        server.shutdown().await;
    }

    // Inside TLS too (each byte its own record): the deadline is per request, not per read.
    let identity = valid_identity();
    let server = testing::spawn(short(Dialect::Implicit)).await;
    let tcp = RawPeer::connect(server.addr()).await.unwrap().into_inner();
    let tls = tls_client(tcp, &identity).await.unwrap();
    let (mut rd, mut wr) = tokio::io::split(tls);
    let writer = tokio::spawn(async move { trickle(&mut wr, &frame(&[b'x'; 100])).await });
    let mut answer = Vec::new();
    let _ = within(rd.read_to_end(&mut answer)).await.unwrap();
    assert_eq!(answer, b"");
    assert_eq!(closed_as(&server).await, SessionEnd::RequestTimeout);
    writer.abort();
    server.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_answers_the_client_hello_hits_the_clients_handshake_timeout() {
    for dialect in [
        Dialect::Framed,
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
        Dialect::Implicit,
    ] {
        // The server would wait a minute; the client gives up after 5 s.
        let mut config = mock(dialect);
        config.behaviour = Behaviour::StallAfterGoAhead;
        config.limits.handshake_timeout = Duration::from_secs(60);
        let server = testing::spawn(config).await;
        let mut control = control_for(&valid_identity());
        control
            .set_handshake_timeout(Duration::from_secs(5))
            .unwrap();
        let err = if dialect == Dialect::Implicit {
            let mut socket = StreamSocket::with_control(control);
            let port = server.addr().port().to_string();
            within(socket.connect("localhost", &port, ProtectionLevel::Ssl))
                .await
                .unwrap()
                .unwrap_err()
        } else {
            let mut socket = plain_socket(server.addr(), control).await.unwrap();
            within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
                .await
                .unwrap()
                .unwrap_err()
        };
        assert_eq!(err.kind(), ErrorKind::HandshakeTimedOut, "{dialect}: {err}");
        assert!(err.to_string().contains("5s"), "{dialect}: {err}");
        server.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_server_that_never_greets_or_never_answers_starttls_hits_the_clients_timeout() {
    for dialect in LINE_DIALECTS {
        for answer_greeting in [false, true] {
            let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
                // Either says nothing at all, or leaves STARTTLS unanswered.
                if answer_greeting {
                    offer(&mut peer, dialect, true).await?;
                }
                peer.drain().await
            })
            .await
            .unwrap();
            let mut control = control_for(&valid_identity());
            control
                .set_handshake_timeout(Duration::from_secs(5))
                .unwrap();
            let mut socket = plain_socket(server.addr(), control).await.unwrap();
            let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::HandshakeTimedOut,
                "{dialect}, greeted {answer_greeting}: {err}"
            );
            drop(socket);
            server.finish().await.unwrap();
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_reads_its_replies_is_closed_at_the_idle_timeout() {
    // Commands that each get a reply, far more than the socket buffers hold, and no read: the
    // server's writes block, and its write deadline (the idle timeout) ends the session. Its
    // own queue stays bounded by what one read produces.
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(short(dialect)).await;
        let peer = RawPeer::connect(server.addr()).await.unwrap();
        let command = hostile_tests::harmless(dialect);
        let (rd, wr) = peer.into_inner().into_split();
        let writer = hostile_tests::spawn_flood(wr, command.repeat(2_000_000));
        assert_eq!(
            closed_as(&server).await,
            SessionEnd::IdleTimeout,
            "{dialect}"
        );
        assert!(
            server.snapshot().peak_buffered_bytes <= server.config().limits.line_len as u64,
            "{dialect}"
        );
        writer.abort();
        drop(rd);
        server.shutdown().await;
    }

    // The echoing dialects inside TLS: frames in, echoes blocked (33 MB, beyond what the
    // kernel buffers of both sockets hold).
    let identity = valid_identity();
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let server = testing::spawn(short(dialect)).await;
        let tcp = RawPeer::connect(server.addr()).await.unwrap().into_inner();
        let tls = tls_client(tcp, &identity).await.unwrap();
        let (rd, wr) = tokio::io::split(tls);
        let writer = hostile_tests::spawn_flood(wr, frame(b"echo me").repeat(3_000_000));
        assert_eq!(
            closed_as(&server).await,
            SessionEnd::IdleTimeout,
            "{dialect}"
        );
        writer.abort();
        drop(rd);
        server.shutdown().await;
    }
}
