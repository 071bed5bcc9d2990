//! The TLS policy: versions, suites, groups, ALPN, client authentication, resumption.

use std::sync::Arc;

use mockserver::{ClientAuth, HandshakeFailure, MockConfig, VersionSet, testing};
use proto::starttls::Dialect;
use rustls::{CipherSuite, HandshakeKind, NamedGroup, ProtocolVersion};
use testpki::{KeyKind, Pki, Scenario};
use tokio::io::AsyncWriteExt;

use crate::support::{
    client_config, client_config_versions, connect, frame, read_frame, send, tls, tls_arc, within,
};

fn implicit() -> MockConfig {
    testing::config(Dialect::Implicit, Scenario::Valid, KeyKind::EcdsaP256)
}

#[tokio::test]
async fn tls12_only_server_negotiates_tls12_and_refuses_a_tls13_only_client() {
    let mut config = implicit();
    config.tls.versions = VersionSet::TLS12_ONLY;
    let server = testing::spawn(config).await;
    let identity = &server.config().identity;

    let stream = tls(connect(server.addr()).await, client_config(identity))
        .await
        .unwrap();
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(ProtocolVersion::TLSv1_2)
    );

    let only13 = client_config_versions(identity, &[&rustls::version::TLS13]);
    assert!(tls(connect(server.addr()).await, only13).await.is_err());
    drop(stream);
    server.wait_closed(2).await;
    let stats = server.snapshot();
    assert_eq!(stats.handshakes_ok, 1);
    assert_eq!(
        stats.handshake_failures.values().sum::<u64>(),
        1,
        "{stats:?}"
    );
}

#[tokio::test]
async fn tls13_only_server_refuses_a_tls12_only_client() {
    let mut config = implicit();
    config.tls.versions = VersionSet::TLS13_ONLY;
    let server = testing::spawn(config).await;
    let identity = &server.config().identity;
    let only12 = client_config_versions(identity, &[&rustls::version::TLS12]);
    assert!(tls(connect(server.addr()).await, only12).await.is_err());
    let stream = tls(connect(server.addr()).await, client_config(identity))
        .await
        .unwrap();
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(ProtocolVersion::TLSv1_3)
    );
}

#[tokio::test]
async fn cipher_suites_and_groups_are_restricted() {
    let mut config = implicit();
    config.tls.cipher_suites = Some(vec![CipherSuite::TLS13_CHACHA20_POLY1305_SHA256]);
    config.tls.kx_groups = Some(vec![NamedGroup::secp384r1]);
    let server = testing::spawn(config).await;
    let stream = tls(
        connect(server.addr()).await,
        client_config(&server.config().identity),
    )
    .await
    .unwrap();
    let conn = stream.get_ref().1;
    assert_eq!(
        conn.negotiated_cipher_suite().map(|s| s.suite()),
        Some(CipherSuite::TLS13_CHACHA20_POLY1305_SHA256)
    );
    assert_eq!(
        conn.negotiated_key_exchange_group().map(|g| g.name()),
        Some(NamedGroup::secp384r1)
    );
}

#[tokio::test]
async fn a_policy_with_no_known_suite_is_an_error() {
    let mut config = implicit();
    config.tls.cipher_suites = Some(vec![CipherSuite::TLS_NULL_WITH_NULL_NULL]);
    let addr = "127.0.0.1:0".parse().unwrap();
    let err = testing::try_spawn_on(addr, config).await.unwrap_err();
    assert!(
        matches!(err, mockserver::Error::InvalidPolicy(_)),
        "{err:?}"
    );
}

#[tokio::test]
async fn alpn_is_negotiated() {
    let mut config = implicit();
    config.tls.alpn = vec![b"smtp".to_vec(), b"h2".to_vec()];
    let server = testing::spawn(config).await;
    let mut client = client_config(&server.config().identity);
    client.alpn_protocols = vec![b"h2".to_vec()];
    let stream = tls(connect(server.addr()).await, client).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
}

fn with_client_cert(
    identity: &testpki::ServerIdentity,
    client: &testpki::ClientIdentity,
) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for ca in &identity.trust_anchors {
        roots.add(ca.clone()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(crate::support::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(client.chain.clone(), client.key.clone_key())
        .unwrap()
}

/// The handshake outcome as the client sees it after one round trip (a TLS 1.3 client learns
/// about a rejected certificate only when it next reads).
async fn round_trip(
    addr: std::net::SocketAddr,
    config: rustls::ClientConfig,
) -> Result<(), std::io::Error> {
    let mut stream = tls(connect(addr).await, config).await?;
    send(&mut stream, &frame("hi")).await;
    let mut len = [0u8; 4];
    within(tokio::io::AsyncReadExt::read_exact(&mut stream, &mut len)).await?;
    Ok(())
}

#[tokio::test]
async fn required_client_auth_accepts_only_a_trusted_certificate() {
    let mut config = implicit();
    config.tls.client_auth = ClientAuth::Required;
    let server = testing::spawn(config).await;
    let identity = server.config().identity.clone();
    let pki = Pki::shared(KeyKind::EcdsaP256);

    assert!(
        round_trip(server.addr(), client_config(&identity))
            .await
            .is_err()
    );
    let trusted = pki.client(true).unwrap();
    round_trip(server.addr(), with_client_cert(&identity, &trusted))
        .await
        .unwrap();
    let untrusted = pki.client(false).unwrap();
    assert!(
        round_trip(server.addr(), with_client_cert(&identity, &untrusted))
            .await
            .is_err()
    );

    server.wait_closed(3).await;
    let stats = server.snapshot();
    assert_eq!(stats.handshakes_ok, 1);
    assert_eq!(
        stats
            .handshake_failures
            .get(&HandshakeFailure::NoClientCertificate),
        Some(&1)
    );
    assert_eq!(
        stats
            .handshake_failures
            .get(&HandshakeFailure::InvalidClientCertificate),
        Some(&1)
    );
}

#[tokio::test]
async fn optional_client_auth_accepts_a_client_without_certificate() {
    let mut config = implicit();
    config.tls.client_auth = ClientAuth::Optional;
    let server = testing::spawn(config).await;
    let identity = server.config().identity.clone();
    round_trip(server.addr(), client_config(&identity))
        .await
        .unwrap();
    let untrusted = Pki::shared(KeyKind::EcdsaP256).client(false).unwrap();
    assert!(
        round_trip(server.addr(), with_client_cert(&identity, &untrusted))
            .await
            .is_err()
    );
}

async fn second_handshake_kind(resumption: bool, versions: VersionSet) -> Option<HandshakeKind> {
    let mut config = implicit();
    config.tls.resumption = resumption;
    config.tls.versions = versions;
    let server = testing::spawn(config).await;
    let client = Arc::new(client_config(&server.config().identity));
    let mut kinds = Vec::new();
    for _ in 0..2 {
        let mut stream = tls_arc(connect(server.addr()).await, client.clone())
            .await
            .unwrap();
        // A round trip, so that TLS 1.3 tickets have arrived before the next connection.
        send(&mut stream, &frame("t")).await;
        assert_eq!(read_frame(&mut stream).await, "t");
        kinds.push(stream.get_ref().1.handshake_kind());
        within(stream.shutdown()).await.unwrap();
    }
    assert_eq!(kinds[0], Some(HandshakeKind::Full));
    kinds[1]
}

#[tokio::test]
async fn resumption_can_be_switched_on_and_off() {
    for versions in [VersionSet::TLS12_ONLY, VersionSet::TLS13_ONLY] {
        assert_eq!(
            second_handshake_kind(true, versions).await,
            Some(HandshakeKind::Resumed)
        );
        assert_eq!(
            second_handshake_kind(false, versions).await,
            Some(HandshakeKind::Full)
        );
    }
}
