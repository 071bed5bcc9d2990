//! The seed's Framed dialect: frames in plaintext (recorded, never answered), then TLS on the
//! same connection, then frames echoed inside TLS.

use mockserver::{Phase, testing};
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};
use tokio::io::AsyncWriteExt;

use crate::support::{client_config, connect, frame, read_frame, send, tls, within};

#[tokio::test]
async fn plaintext_frames_are_recorded_unanswered_then_tls_echoes() {
    let server = testing::spawn(testing::config(
        Dialect::Framed,
        Scenario::Valid,
        KeyKind::Ed25519,
    ))
    .await;
    let mut tcp = connect(server.addr()).await;
    let mut plain = frame("hello");
    plain.extend_from_slice(&frame("world"));
    send(&mut tcp, &plain).await;
    // Any plaintext answer would land in the handshake and break it.
    let mut stream = tls(tcp, client_config(&server.config().identity))
        .await
        .unwrap();
    send(&mut stream, &frame("inside")).await;
    assert_eq!(read_frame(&mut stream).await, "inside");
    within(stream.shutdown()).await.unwrap();
    server.wait_closed(1).await;

    let transcript = &server.transcripts()[0];
    assert_eq!(transcript.bytes(Phase::Plaintext), plain);
    assert_eq!(transcript.bytes(Phase::Tls), frame("inside"));
    let stats = server.snapshot();
    assert_eq!(
        (stats.upgrades, stats.handshakes_ok, stats.frames),
        (1, 1, 3)
    );
}

#[tokio::test]
async fn a_client_hello_right_away_starts_tls() {
    let server = testing::spawn(testing::config(
        Dialect::Framed,
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
    send(&mut stream, &frame("x")).await;
    assert_eq!(read_frame(&mut stream).await, "x");
    within(stream.shutdown()).await.unwrap();
    server.wait_closed(1).await;
    assert_eq!(server.transcripts()[0].bytes(Phase::Plaintext), b"");
}

#[tokio::test]
async fn a_client_hello_in_the_same_write_as_the_frames_is_replayed_to_tls() {
    let server = testing::spawn(testing::config(
        Dialect::Framed,
        Scenario::Valid,
        KeyKind::EcdsaP256,
    ))
    .await;
    let config = std::sync::Arc::new(client_config(&server.config().identity));
    // Drive the client by hand, so the frame and the ClientHello go out in one write.
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(config, name).unwrap();
    let mut first = frame("pipelined");
    conn.write_tls(&mut first).unwrap();
    let mut tcp = connect(server.addr()).await;
    send(&mut tcp, &first).await;
    let mut tcp = tcp.into_std().unwrap();
    tcp.set_nonblocking(false).unwrap();
    tcp.set_read_timeout(Some(crate::support::LONG)).unwrap();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = rustls::Stream::new(&mut conn, &mut tcp);
        stream.write_all(&frame("after")).unwrap();
        let mut echo = vec![0u8; frame("after").len()];
        stream.read_exact(&mut echo).unwrap();
        assert_eq!(echo, frame("after"));
    })
    .await
    .unwrap();
    let transcripts = server.transcripts();
    assert_eq!(transcripts[0].bytes(Phase::Plaintext), frame("pipelined"));
}
