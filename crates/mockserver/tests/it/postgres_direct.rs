//! PostgreSQL 17's direct TLS on the same port, with a tokio-rustls client: the
//! ClientHello first, the ALPN protocol `postgresql` required.

use mockserver::testing;
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{client_config, connect, read_to_eof, tls, within};

const STARTUP: [u8; 16] = [
    0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
];

#[tokio::test]
async fn direct_tls_with_the_alpn_protocol_logs_in_and_without_it_is_closed() {
    let server = testing::spawn(testing::config(
        Dialect::Postgres,
        Scenario::Valid,
        KeyKind::EcdsaP256,
    ))
    .await;
    let identity = &server.config().identity;
    let mut with = client_config(identity);
    with.alpn_protocols = vec![b"postgresql".to_vec()];
    let mut stream = within(tls(connect(server.addr()).await, with))
        .await
        .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"postgresql"[..]));
    stream.write_all(&STARTUP).await.unwrap();
    let mut reply = [0u8; 15];
    within(stream.read_exact(&mut reply)).await.unwrap();
    assert_eq!(reply, *b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I");
    drop(stream);

    // No ALPN: the handshake completes, then the server closes with nothing said.
    let without = client_config(identity);
    let mut stream = within(tls(connect(server.addr()).await, without))
        .await
        .unwrap();
    stream.write_all(&STARTUP).await.unwrap();
    assert!(within(read_to_eof(&mut stream)).await.is_empty());
    drop(stream);

    // Another protocol: refused in the handshake (no_application_protocol).
    let mut other = client_config(identity);
    other.alpn_protocols = vec![b"h2".to_vec()];
    assert!(
        within(tls(connect(server.addr()).await, other))
            .await
            .is_err()
    );
    server.shutdown().await;
}
