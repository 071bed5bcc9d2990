//! Behaviours that act on the TLS bytes: legacy-only (alert or ServerHello), garbage, close,
//! stall.

use mockserver::{
    Behaviour, HandshakeFailure, IoFailure, LegacyVersion, MockConfig, Phase, SessionEnd, testing,
};
use proto::alert::Alert;
use proto::hello::legacy::Answer;
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};
use tokio::io::AsyncReadExt;

use crate::support::{client_config, client_hello, connect, read_to_eof, send, tls};

fn implicit(behaviour: Behaviour) -> MockConfig {
    let mut config = testing::config(Dialect::Implicit, Scenario::Valid, KeyKind::EcdsaP256);
    config.behaviour = behaviour;
    config
}

#[tokio::test]
async fn legacy_only_answers_a_client_hello_with_a_protocol_version_alert() {
    for (version, minor) in [
        (LegacyVersion::Ssl3, 0),
        (LegacyVersion::Tls10, 1),
        (LegacyVersion::Tls11, 2),
    ] {
        let server = testing::spawn(implicit(Behaviour::LegacyOnly(version))).await;
        let mut tcp = connect(server.addr()).await;
        send(&mut tcp, &client_hello(&server.config().identity)).await;
        assert_eq!(
            read_to_eof(&mut tcp).await,
            [0x15, 3, minor, 0, 2, 2, 70],
            "{version:?}"
        );

        // A real client refuses it.
        assert!(
            tls(
                connect(server.addr()).await,
                client_config(&server.config().identity)
            )
            .await
            .is_err()
        );
        server.wait_closed(2).await;
        let transcripts = server.transcripts();
        assert_eq!(
            transcripts[0].end,
            Some(SessionEnd::Behaviour(Behaviour::LegacyOnly(version)))
        );
    }
}

/// A ClientHello record offering `suites` and nothing else (TLS 1.2, no extensions).
fn bare_client_hello(suites: &[u16]) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0; 32]);
    body.push(0);
    body.extend_from_slice(&u16::try_from(suites.len() * 2).unwrap().to_be_bytes());
    for suite in suites {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    let mut record = vec![0x16, 3, 1, 0, u8::try_from(body.len() + 4).unwrap()];
    record.extend_from_slice(&[1, 0, 0, u8::try_from(body.len()).unwrap()]);
    record.extend_from_slice(&body);
    record
}

#[tokio::test]
async fn a_legacy_server_hello_negotiates_down_and_records_the_answer() {
    for (version, minor) in [
        (LegacyVersion::Ssl3, 0),
        (LegacyVersion::Tls10, 1),
        (LegacyVersion::Tls11, 2),
    ] {
        let server = testing::spawn(implicit(Behaviour::LegacyServerHello(version))).await;
        let identity = &server.config().identity;

        // rustls refuses the old version (with protocol_version).
        assert!(
            tls(connect(server.addr()).await, client_config(identity))
                .await
                .is_err()
        );
        server.wait_closed(1).await;

        // A client that takes it: the flight is ServerHello (of the version, with the RSA suite
        // it offered), Certificate (the server's chain), ServerHelloDone; it answers with a
        // ClientKeyExchange.
        let mut tcp = connect(server.addr()).await;
        send(&mut tcp, &bare_client_hello(&[0xc02b, 0x002f])).await;
        let mut head = [0u8; 5];
        tcp.read_exact(&mut head).await.unwrap();
        assert_eq!(head[..3], [0x16, 3, minor], "{version:?}");
        let mut record = vec![0; usize::from(u16::from_be_bytes([head[3], head[4]]))];
        tcp.read_exact(&mut record).await.unwrap();
        assert_eq!(record[0], 2, "a ServerHello first");
        assert_eq!(record[4..6], [3, minor]);
        assert_eq!(record[39..41], [0x00, 0x2f], "the RSA key exchange suite");
        let leaf = identity.chain[0].as_ref();
        assert!(
            record.windows(leaf.len()).any(|w| w == leaf),
            "the leaf is in the flight"
        );
        send(&mut tcp, &[0x16, 3, minor, 0, 6, 16, 0, 0, 2, 0, 0]).await;
        read_to_eof(&mut tcp).await;
        server.wait_closed(2).await;

        // A client that offers only TLS 1.3 suites cannot be answered down: the alert.
        let mut tcp = connect(server.addr()).await;
        send(&mut tcp, &bare_client_hello(&[0x1301, 0x1302])).await;
        assert_eq!(
            read_to_eof(&mut tcp).await,
            [0x15, 3, minor, 0, 2, 2, 70],
            "{version:?}"
        );
        server.wait_closed(3).await;

        let ends: Vec<_> = server.transcripts().iter().map(|t| t.end).collect();
        assert_eq!(
            ends,
            [
                Some(SessionEnd::LegacyAnswer(Answer::Alert(
                    Alert::PROTOCOL_VERSION
                ))),
                Some(SessionEnd::LegacyAnswer(Answer::Handshake(16))),
                Some(SessionEnd::Behaviour(Behaviour::LegacyServerHello(version))),
            ],
            "{version:?}"
        );
        assert!(server.transcripts().iter().all(|t| !t.handshake_completed));
    }
}

#[tokio::test]
async fn garbage_instead_of_server_hello_is_not_tls() {
    let server = testing::spawn(implicit(Behaviour::GarbageInsteadOfServerHello)).await;
    let mut tcp = connect(server.addr()).await;
    send(&mut tcp, &client_hello(&server.config().identity)).await;
    let answer = read_to_eof(&mut tcp).await;
    assert!(!answer.is_empty());
    assert_ne!(answer[0], 0x16);
    assert!(
        tls(
            connect(server.addr()).await,
            client_config(&server.config().identity)
        )
        .await
        .is_err()
    );
}

#[tokio::test]
async fn close_mid_handshake_reads_the_client_hello_and_closes() {
    let server = testing::spawn(implicit(Behaviour::CloseMidHandshake)).await;
    let mut tcp = connect(server.addr()).await;
    send(&mut tcp, &client_hello(&server.config().identity)).await;
    assert_eq!(read_to_eof(&mut tcp).await, b"");
    assert!(
        tls(
            connect(server.addr()).await,
            client_config(&server.config().identity)
        )
        .await
        .is_err()
    );
    server.wait_closed(2).await;
    assert_eq!(server.snapshot().handshakes_ok, 0);
}

#[tokio::test(start_paused = true)]
async fn stall_after_go_ahead_answers_nothing_until_the_handshake_timeout() {
    let server = testing::spawn(implicit(Behaviour::StallAfterGoAhead)).await;
    let mut tcp = connect(server.addr()).await;
    let started = tokio::time::Instant::now();
    send(&mut tcp, &client_hello(&server.config().identity)).await;
    assert_eq!(read_to_eof(&mut tcp).await, b"");
    // The paused clock makes this exact: the close came at the handshake timeout.
    assert!(started.elapsed() >= server.config().limits.handshake_timeout);
    server.wait_closed(1).await;
    assert_eq!(
        server.transcripts()[0].end,
        Some(SessionEnd::HandshakeTimeout)
    );
    assert_eq!(
        server
            .snapshot()
            .handshake_failures
            .get(&HandshakeFailure::Timeout),
        Some(&1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_stalled_server_still_sees_a_plaintext_fallback_on_the_same_connection() {
    for fallback in [true, false] {
        let mut config = testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::EcdsaP256);
        config.behaviour = Behaviour::StallAfterGoAhead;
        let server = testing::spawn(config).await;
        let mut tcp = connect(server.addr()).await;
        let mut greeting = [0u8; 512];
        let _ = tcp.read(&mut greeting).await.unwrap();
        send(&mut tcp, b"EHLO x\r\n").await;
        let _ = tcp.read(&mut greeting).await.unwrap();
        send(&mut tcp, b"STARTTLS\r\n").await;
        let _ = tcp.read(&mut greeting).await.unwrap();
        let hello = client_hello(&server.config().identity);
        send(&mut tcp, &hello).await;
        // A client that gives up sends an alert (TLS, not plaintext); a falling-back one then
        // speaks SMTP in the clear on the same connection.
        send(&mut tcp, &[0x15, 3, 3, 0, 2, 2, 90]).await;
        if fallback {
            send(&mut tcp, b"MAIL FROM:<a@b.test>\r\n").await;
        }
        let closed = tokio::time::Instant::now();
        drop(tcp);
        server.wait_closed(1).await;
        // The paused clock makes this exact: the session ended when the client closed, not at
        // the server's handshake timeout.
        assert!(
            closed.elapsed() < server.config().limits.handshake_timeout,
            "fallback: {fallback}"
        );
        let t = &server.transcripts()[0];
        // The recorder keeps up to the end of the read that completed the ClientHello.
        assert!(t.client_hello.as_ref().unwrap().starts_with(&hello));
        let plaintext = t.bytes(Phase::Plaintext);
        let expected: &[u8] = if fallback {
            b"EHLO x\r\nSTARTTLS\r\nMAIL FROM:<a@b.test>\r\n"
        } else {
            b"EHLO x\r\nSTARTTLS\r\n"
        };
        assert_eq!(plaintext, expected, "fallback: {fallback}");
        assert_eq!(
            t.end,
            Some(SessionEnd::HandshakeFailed(HandshakeFailure::Io(
                IoFailure::Eof
            )))
        );
    }
}
