//! Each limit: answered with the dialect's error (where it has one) and a close, counted.

use std::time::Duration;

use mockserver::{HandshakeFailure, Limit, MockConfig, SessionEnd, testing};
use proto::starttls::{CloseReason, Dialect};
use testpki::{KeyKind, Scenario};
use tokio::io::AsyncWriteExt;

use crate::dialect::{LINE_DIALECTS, capability_command, command, greeting, upgrade};
use crate::support::{client_config, connect, frame, read_frame, read_to_eof, send, tls, within};

fn config(dialect: Dialect) -> MockConfig {
    testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256)
}

/// Waits for the one connection to end; returns its close reason and the limit hits.
async fn ended(server: &testing::RunningServer) -> (Option<SessionEnd>, Vec<Limit>) {
    server.wait_closed(1).await;
    let reason = server.transcripts()[0].end;
    (reason, server.snapshot().limit_hits.into_keys().collect())
}

#[tokio::test]
async fn an_over_long_line_is_answered_and_closed() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(config(d)).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        let mut line = vec![b'A'; 3000];
        line.extend_from_slice(b"\r\n");
        send(&mut tcp, &line).await;
        let answer = String::from_utf8(read_to_eof(&mut tcp).await).unwrap();
        let error = match d {
            Dialect::Smtp | Dialect::Lmtp => "5",
            Dialect::Imap => "* B",
            Dialect::Nntp => "400 ",
            Dialect::Ftp => "421 ",
            Dialect::Irc => "ERROR ",
            _ => "-ERR",
        };
        assert!(answer.starts_with(error), "{d}: {answer:?}");
        let (reason, limits) = ended(&server).await;
        assert_eq!(
            reason,
            Some(SessionEnd::Machine(CloseReason::LineTooLong)),
            "{d}"
        );
        assert_eq!(limits, [Limit::LineLen], "{d}");
    }
}

#[tokio::test]
async fn a_flood_without_line_end_is_cut_at_the_limit() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(config(d)).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        // Far more than the limit, and no line end: the server must stop at the limit and
        // close rather than buffer it (the close may come as a reset, so only the server's
        // record is checked).
        let flood = vec![b'A'; 4 << 20];
        let (mut rd, mut wr) = tcp.into_split();
        let writer = tokio::spawn(async move {
            let _ = wr.write_all(&flood).await;
        });
        read_to_eof(&mut rd).await;
        let (reason, limits) = ended(&server).await;
        assert_eq!(
            reason,
            Some(SessionEnd::Machine(CloseReason::LineTooLong)),
            "{d}"
        );
        assert_eq!(limits, [Limit::LineLen], "{d}");
        assert!(
            server.transcripts()[0]
                .bytes(mockserver::Phase::Plaintext)
                .len()
                < 64 * 1024
        );
        writer.abort();
    }
}

#[tokio::test]
async fn an_over_long_frame_is_refused_before_and_inside_tls() {
    // Framed, in plaintext: the declared length alone is enough.
    let server = testing::spawn(config(Dialect::Framed)).await;
    let mut tcp = connect(server.addr()).await;
    send(&mut tcp, &(2u32 << 20).to_be_bytes()).await;
    assert_eq!(read_to_eof(&mut tcp).await, b"");
    let (reason, limits) = ended(&server).await;
    assert_eq!(reason, Some(SessionEnd::Machine(CloseReason::FrameTooLong)));
    assert_eq!(limits, [Limit::FrameLen]);

    // Implicit, inside TLS, with a lowered limit.
    let mut cfg = config(Dialect::Implicit);
    cfg.limits.frame_len = 16;
    let server = testing::spawn(cfg).await;
    let mut stream = tls(
        connect(server.addr()).await,
        client_config(&server.config().identity),
    )
    .await
    .unwrap();
    send(&mut stream, &frame("seventeen bytes!!")).await;
    assert_eq!(read_to_eof(&mut stream).await, b"");
    assert_eq!(ended(&server).await.1, [Limit::FrameLen]);
}

#[tokio::test]
async fn too_many_errors_close_the_session() {
    for d in LINE_DIALECTS {
        let mut cfg = config(d);
        cfg.limits.max_errors = 3;
        let server = testing::spawn(cfg).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        send(
            &mut tcp,
            b"X1 BOGUS\r\nX2 BOGUS\r\nX3 BOGUS\r\nX4 BOGUS\r\nX5 BOGUS\r\n",
        )
        .await;
        read_to_eof(&mut tcp).await;
        let (reason, limits) = ended(&server).await;
        assert_eq!(
            reason,
            Some(SessionEnd::Machine(CloseReason::TooManyErrors)),
            "{d}"
        );
        assert_eq!(limits, [Limit::MaxErrors], "{d}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_plaintext_session_gets_the_goodbye_at_the_idle_timeout() {
    for (d, goodbye) in [
        (Dialect::Smtp, "421 "),
        (Dialect::Imap, "* BYE"),
        (Dialect::Pop3, "-ERR"),
    ] {
        let mut cfg = config(d);
        cfg.limits.idle_timeout = Duration::from_secs(5);
        let server = testing::spawn(cfg).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        let started = tokio::time::Instant::now();
        let answer = String::from_utf8(read_to_eof(&mut tcp).await).unwrap();
        assert!(answer.starts_with(goodbye), "{d}: {answer:?}");
        assert!(started.elapsed() >= Duration::from_secs(5));
        let (reason, limits) = ended(&server).await;
        assert_eq!(reason, Some(SessionEnd::IdleTimeout), "{d}");
        assert_eq!(limits, [Limit::IdleTimeout], "{d}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_idle_session_inside_tls_gets_the_goodbye_and_close_notify() {
    let d = Dialect::Imap;
    let mut cfg = config(d);
    cfg.limits.idle_timeout = Duration::from_secs(5);
    let server = testing::spawn(cfg).await;
    let mut stream = upgrade(d, connect(server.addr()).await, &server.config().identity).await;
    // read_to_eof would also accept a reset; this insists on a clean close_notify.
    let mut answer = Vec::new();
    within(tokio::io::AsyncReadExt::read_to_end(
        &mut stream,
        &mut answer,
    ))
    .await
    .unwrap();
    assert!(
        answer.starts_with(b"* BYE"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(ended(&server).await.0, Some(SessionEnd::IdleTimeout));
}

#[tokio::test(start_paused = true)]
async fn a_trickled_line_must_arrive_whole_within_the_request_timeout() {
    let d = Dialect::Smtp;
    let mut cfg = config(d);
    cfg.limits.idle_timeout = Duration::from_secs(10);
    cfg.limits.request_timeout = Duration::from_secs(5);
    let server = testing::spawn(cfg).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    let (mut rd, mut wr) = tcp.into_split();
    // One byte every 2 s: never idle for 10 s, but the line never ends.
    let writer = tokio::spawn(async move {
        for byte in b"EHLO slowly.example\r\n".iter().cycle() {
            if wr.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    });
    let answer = String::from_utf8(read_to_eof(&mut rd).await).unwrap();
    assert!(answer.starts_with("421 "), "{answer:?}");
    let (reason, limits) = ended(&server).await;
    assert_eq!(reason, Some(SessionEnd::RequestTimeout));
    assert_eq!(limits, [Limit::RequestTimeout]);
    writer.abort();
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_starts_the_handshake_hits_the_handshake_timeout() {
    let d = Dialect::Pop3;
    let server = testing::spawn(config(d)).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    command(d, &mut tcp, "STLS").await;
    assert_eq!(read_to_eof(&mut tcp).await, b"");
    let (reason, limits) = ended(&server).await;
    assert_eq!(reason, Some(SessionEnd::HandshakeTimeout));
    assert_eq!(limits, [Limit::HandshakeTimeout]);
    assert_eq!(
        server
            .snapshot()
            .handshake_failures
            .get(&HandshakeFailure::Timeout),
        Some(&1)
    );
}

#[tokio::test]
async fn the_connection_cap_refuses_with_the_dialects_goodbye() {
    for (d, refusal) in [
        (Dialect::Smtp, "421 "),
        (Dialect::Imap, "* BYE"),
        (Dialect::Pop3, "-ERR"),
        (Dialect::Framed, ""),
    ] {
        let mut cfg = config(d);
        cfg.limits.max_connections = 1;
        let server = testing::spawn(cfg).await;
        let mut first = connect(server.addr()).await;
        if d != Dialect::Framed {
            greeting(d, &mut first).await;
        } else {
            // Make sure the first session has begun before the second connects.
            send(&mut first, &frame("first")).await;
        }
        let mut second = connect(server.addr()).await;
        let answer = String::from_utf8(read_to_eof(&mut second).await).unwrap();
        assert!(answer.starts_with(refusal), "{d}: {answer:?}");
        if refusal.is_empty() {
            assert_eq!(answer, "");
        }
        server.wait_closed(1).await;
        let stats = server.snapshot();
        assert_eq!(stats.refused_connections, 1, "{d}");
        assert_eq!(
            stats.limit_hits.get(&Limit::MaxConnections),
            Some(&1),
            "{d}"
        );

        // Once the first session has ended, there is room again.
        drop(first);
        server.wait_closed(2).await;
        let mut third = connect(server.addr()).await;
        if d == Dialect::Framed {
            let mut stream = tls(third, client_config(&server.config().identity))
                .await
                .unwrap();
            send(&mut stream, &frame("third")).await;
            assert_eq!(read_frame(&mut stream).await, "third");
        } else {
            let hello = greeting(d, &mut third).await;
            assert!(!hello[0].starts_with(refusal), "{d}: {hello:?}");
        }
        assert_eq!(server.snapshot().refused_connections, 1, "{d}");
    }
}
