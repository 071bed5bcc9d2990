//! Per-session and server-wide limits seen from real clients: the error limit ends one session
//! and no other; the connection cap refuses connection N+1 with the dialect's goodbye and
//! serves again once others have closed.
//!
//! Error-limit semantics (checked): with `max_errors = N`, the N-th error reply is followed by
//! the goodbye and the close (N-1 errors are tolerated). The framed dialects have no commands,
//! hence no error count: a bad frame closes at once.

use mockserver::SessionEnd;
use mockserver::testing;
use mockserver::{Limits, MockConfig};
use streamsocket::proto::starttls::CloseReason;
use streamsocket::{Dialect, ErrorKind, ProtectionLevel};

use hostile_tests::{
    LINE_DIALECTS, RawPeer, STARTTLS_DIALECTS, closing, control_for, frame, full_session, mock,
    negative, plain_socket, read_greeting, read_reply, valid_identity, within,
};

fn bad_command(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Imap => b"X1 BOGUS\r\n",
        _ => b"BOGUS\r\n",
    }
}

fn good_command(dialect: Dialect) -> &'static [u8] {
    hostile_tests::harmless(dialect)
}

#[tokio::test]
async fn the_error_limit_ends_one_session_and_no_other() {
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        let config = MockConfig {
            limits: Limits {
                max_errors: 3,
                ..Limits::default()
            },
            ..mock(dialect)
        };
        let server = testing::spawn(config).await;
        // Neighbours: one waiting in plaintext, one already inside TLS.
        let mut waiting = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        let mut upgraded = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        within(upgraded.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap();

        let mut bad = RawPeer::connect(server.addr()).await.unwrap();
        read_greeting(&mut bad, dialect).await.unwrap();
        for _ in 0..2 {
            bad.send(bad_command(dialect)).await.unwrap();
            let line = bad.line().await.unwrap();
            assert!(negative(dialect, &line), "{dialect}: {line:?}");
        }
        // Two errors tolerated: the session still works.
        bad.send(good_command(dialect)).await.unwrap();
        read_reply(&mut bad, dialect, true).await.unwrap();
        // The third ends it: its error, the goodbye, the close.
        bad.send(bad_command(dialect)).await.unwrap();
        let rest = String::from_utf8(bad.drain().await.unwrap()).unwrap();
        let goodbye = rest.lines().last().unwrap_or_default();
        assert!(
            goodbye.starts_with(closing(dialect)) && goodbye.contains("too many errors"),
            "{dialect}: {rest:?}"
        );

        // The neighbours carry on.
        within(waiting.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap();
        let mut inside = RawPeer::new(upgraded);
        inside.send(good_command(dialect)).await.unwrap();
        read_reply(&mut inside, dialect, true).await.unwrap();
        full_session(server.addr(), dialect, control_for(&identity))
            .await
            .unwrap();
        let closed = server
            .transcripts()
            .into_iter()
            .filter_map(|t| t.end)
            .filter(|r| *r == SessionEnd::Machine(CloseReason::TooManyErrors))
            .count();
        assert_eq!(closed, 1, "{dialect}");
        drop((waiting, inside));
        server.shutdown().await;
    }
}

/// The start of what a refused connection reads; nothing for the framed dialect.
fn refusal(dialect: Dialect) -> &'static str {
    closing(dialect)
}

#[tokio::test]
async fn connection_n_plus_1_is_refused_with_the_dialects_goodbye_and_room_comes_back() {
    const CAP: usize = 3;
    let identity = valid_identity();
    for dialect in STARTTLS_DIALECTS {
        let config = MockConfig {
            limits: Limits {
                max_connections: CAP,
                ..Limits::default()
            },
            ..mock(dialect)
        };
        let server = testing::spawn(config).await;
        let mut held = Vec::new();
        for _ in 0..CAP {
            let mut peer = RawPeer::connect(server.addr()).await.unwrap();
            if dialect.is_line_based() {
                read_greeting(&mut peer, dialect).await.unwrap();
            } else {
                peer.send(&frame(b"hold")).await.unwrap();
            }
            held.push(peer);
        }

        // N+1, raw: the refusal, then the close.
        let mut extra = RawPeer::connect(server.addr()).await.unwrap();
        let answer = String::from_utf8(extra.drain().await.unwrap()).unwrap();
        assert!(
            answer.starts_with(refusal(dialect)),
            "{dialect}: {answer:?}"
        );
        if dialect == Dialect::Framed {
            assert_eq!(answer, "", "{dialect}");
        }

        // N+2, the real client: a typed error, no TLS.
        let mut socket = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        let expected: &[ErrorKind] = match dialect {
            Dialect::Framed => &[ErrorKind::HandshakeFailed, ErrorKind::ConnectionResetByPeer],
            _ => &[ErrorKind::StartTlsRefused, ErrorKind::Protocol],
        };
        assert!(expected.contains(&err.kind()), "{dialect}: {err}");
        if dialect.is_line_based() {
            assert!(
                err.to_string().contains(refusal(dialect).trim_end()),
                "{dialect}: {err}"
            );
        }
        drop(socket);
        let stats = server.snapshot();
        assert_eq!(stats.refused_connections, 2, "{dialect}");
        assert_eq!(stats.active, CAP as u64, "{dialect}");

        // Room again once the held sessions are gone.
        drop(held);
        within(server.wait_closed(CAP as u64 + 2)).await.unwrap();
        full_session(server.addr(), dialect, control_for(&identity))
            .await
            .unwrap();
        assert_eq!(server.snapshot().refused_connections, 2, "{dialect}");
        server.shutdown().await;
    }
}
