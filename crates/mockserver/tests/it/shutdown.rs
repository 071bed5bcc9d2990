//! Graceful shutdown: every session gets the dialect's goodbye (inside TLS if upgraded, then
//! close_notify) and `run` returns once they have ended.

use mockserver::{Behaviour, SessionEnd, testing};
use proto::starttls::{CloseReason, Dialect};
use testpki::{KeyKind, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::dialect::{LINE_DIALECTS, capability_command, command, greeting, upgrade};
use crate::support::{client_config, connect, frame, read_frame, read_to_eof, send, tls, within};

fn goodbye(d: Dialect) -> &'static str {
    match d {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp => "421 ",
        Dialect::Irc => "ERROR ",
        Dialect::Imap => "* BYE",
        Dialect::Nntp => "400 ",
        _ => "-ERR",
    }
}

#[tokio::test]
async fn plaintext_sessions_get_the_goodbye() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(testing::config(d, Scenario::Valid, KeyKind::EcdsaP256)).await;
        let addr = server.addr();
        let mut tcp = connect(addr).await;
        greeting(d, &mut tcp).await;
        command(d, &mut tcp, capability_command(d)).await;
        let stats = server.stats().clone();
        let stopping = tokio::spawn(server.shutdown());
        let answer = String::from_utf8(read_to_eof(&mut tcp).await).unwrap();
        assert!(answer.starts_with(goodbye(d)), "{d}: {answer:?}");
        within(stopping).await.unwrap();
        assert_eq!(stats.transcripts()[0].end, Some(SessionEnd::Shutdown));
        // The listener is gone.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}

#[tokio::test]
async fn upgraded_sessions_get_the_goodbye_inside_tls_then_close_notify() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(testing::config(d, Scenario::Valid, KeyKind::Ed25519)).await;
        let mut stream = upgrade(d, connect(server.addr()).await, &server.config().identity).await;
        command(d, &mut stream, capability_command(d)).await;
        let stopping = tokio::spawn(server.shutdown());
        // read_to_end fails on a missing close_notify, so this checks it was sent.
        let mut answer = Vec::new();
        within(stream.read_to_end(&mut answer)).await.unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(answer.starts_with(goodbye(d)), "{d}: {answer:?}");
        within(stopping).await.unwrap();
    }
}

#[tokio::test]
async fn framed_sessions_inside_tls_get_close_notify() {
    for d in [Dialect::Framed, Dialect::Implicit] {
        let server = testing::spawn(testing::config(d, Scenario::Valid, KeyKind::EcdsaP256)).await;
        let mut stream = tls(
            connect(server.addr()).await,
            client_config(&server.config().identity),
        )
        .await
        .unwrap();
        send(&mut stream, &frame("before shutdown")).await;
        assert_eq!(read_frame(&mut stream).await, "before shutdown");
        let stopping = tokio::spawn(server.shutdown());
        let mut rest = Vec::new();
        within(stream.read_to_end(&mut rest)).await.unwrap();
        assert_eq!(rest, b"", "{d}");
        within(stopping).await.unwrap();
    }
}

#[tokio::test]
async fn shutdown_ends_sessions_in_every_phase() {
    // Mid-handshake (stalled), waiting for a greeting reply, and idle: all end.
    let mut config = testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::EcdsaP256);
    config.behaviour = Behaviour::StallAfterGoAhead;
    let server = testing::spawn(config).await;
    let mut stalled = connect(server.addr()).await;
    greeting(Dialect::Smtp, &mut stalled).await;
    command(Dialect::Smtp, &mut stalled, "EHLO client.test").await;
    let go = command(Dialect::Smtp, &mut stalled, "STARTTLS").await;
    assert!(go[0].starts_with("220 "), "{go:?}");
    let mut idle = connect(server.addr()).await;
    greeting(Dialect::Smtp, &mut idle).await;
    let stats = server.stats().clone();
    within(server.shutdown()).await;
    assert_eq!(read_to_eof(&mut stalled).await, b"");
    assert!(read_to_eof(&mut idle).await.starts_with(b"421 "));
    let reasons: Vec<_> = stats.transcripts().into_iter().map(|t| t.end).collect();
    assert_eq!(
        reasons,
        [Some(SessionEnd::Shutdown), Some(SessionEnd::Shutdown)]
    );
    assert_eq!(stats.snapshot().active, 0);
}

/// A client's close_notify is answered with the server's; a client that closes TCP under TLS
/// without one (truncation) gets only the FIN: its connection is broken, not closed.
#[tokio::test]
async fn close_notify_is_answered_but_a_truncation_is_not() {
    for truncate in [false, true] {
        let server = testing::spawn(testing::config(
            Dialect::Implicit,
            Scenario::Valid,
            KeyKind::EcdsaP256,
        ))
        .await;
        let mut stream = tls(
            connect(server.addr()).await,
            client_config(&server.config().identity),
        )
        .await
        .unwrap();
        send(&mut stream, &frame("ping")).await;
        assert_eq!(read_frame(&mut stream).await, "ping");
        if truncate {
            // The TCP write half only: no close_notify.
            within(stream.get_mut().0.shutdown()).await.unwrap();
        } else {
            within(stream.shutdown()).await.unwrap();
        }
        let mut rest = Vec::new();
        let read = within(stream.read_to_end(&mut rest)).await;
        within(server.wait_closed(1)).await;
        let reason = server.transcripts()[0].end;
        if truncate {
            let err = read.unwrap_err();
            assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof, "{err}");
            assert_eq!(reason, Some(SessionEnd::Truncated));
        } else {
            read.unwrap();
            assert_eq!(reason, Some(SessionEnd::Machine(CloseReason::Eof)));
        }
        assert_eq!(rest, b"", "truncate: {truncate}");
        server.shutdown().await;
    }
}
