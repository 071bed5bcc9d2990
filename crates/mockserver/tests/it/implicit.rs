//! Implicit TLS: TLS from the first byte, frames echoed inside.

use std::net::{Ipv6Addr, SocketAddr};

use mockserver::{Phase, testing};
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};
use tokio::io::AsyncWriteExt;

use crate::support::{client_config, connect, frame, read_frame, send, tls, within};

#[tokio::test]
async fn implicit_tls_echoes_frames_with_every_key_kind() {
    for key in KeyKind::ALL {
        let server = testing::spawn(testing::config(Dialect::Implicit, Scenario::Valid, key)).await;
        let config = client_config(&server.config().identity);
        let mut stream = tls(connect(server.addr()).await, config).await.unwrap();
        send(&mut stream, &frame("ping")).await;
        assert_eq!(read_frame(&mut stream).await, "ping", "{key}");
        within(stream.shutdown()).await.unwrap();
        server.wait_closed(1).await;

        let stats = server.snapshot();
        assert_eq!(
            (stats.connections, stats.upgrades, stats.handshakes_ok),
            (1, 1, 1),
            "{key}"
        );
        assert_eq!(stats.frames, 1);
        let transcripts = server.transcripts();
        assert_eq!(transcripts.len(), 1);
        assert_eq!(transcripts[0].bytes(Phase::Plaintext), b"", "{key}");
        assert_eq!(transcripts[0].bytes(Phase::Tls), frame("ping"), "{key}");
        assert!(transcripts[0].end.is_some());
        server.shutdown().await;
    }
}

#[tokio::test]
async fn implicit_tls_is_served_on_ipv6_loopback() {
    let config = testing::config(Dialect::Implicit, Scenario::Valid, KeyKind::EcdsaP256);
    let server = testing::spawn_on(SocketAddr::from((Ipv6Addr::LOCALHOST, 0)), config).await;
    assert!(server.addr().is_ipv6());
    let mut stream = tls(
        connect(server.addr()).await,
        client_config(&server.config().identity),
    )
    .await
    .unwrap();
    send(&mut stream, &frame("over ::1")).await;
    assert_eq!(read_frame(&mut stream).await, "over ::1");
    server.shutdown().await;
}
