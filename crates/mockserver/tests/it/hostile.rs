//! Behaviours that act on the TLS bytes: legacy-only, garbage, close, stall.

use mockserver::{Behaviour, HandshakeFailure, LegacyVersion, MockConfig, SessionEnd, testing};
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};

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
