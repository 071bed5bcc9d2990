//! Every transcript keeps the ClientHello the handshake began with, whole and bounded, on the
//! honest path (read through tokio-rustls) and on the byte-level behaviours alike.

use mockserver::{Behaviour, LegacyVersion, MAX_CLIENT_HELLO_BYTES, MockConfig, testing};
use proto::hello;
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};

use crate::dialect::{capability_command, command, greeting, is_ok, starttls_command, upgrade};
use crate::support::{client_config_versions, connect, read_to_eof, send, tls};

fn config(dialect: Dialect, behaviour: Behaviour) -> MockConfig {
    let mut config = testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256);
    config.behaviour = behaviour;
    config
}

#[tokio::test]
async fn an_honest_upgrade_keeps_the_client_hello_that_began_it() {
    let d = Dialect::Smtp;
    let server = testing::spawn(config(d, Behaviour::Honest)).await;
    drop(upgrade(d, connect(server.addr()).await, &server.config().identity).await);
    server.wait_closed(1).await;
    let transcript = &server.transcripts()[0];
    assert!(transcript.handshake_completed, "{transcript:?}");
    let bytes = transcript.client_hello.as_deref().expect("a client hello");
    assert!(bytes.len() <= MAX_CLIENT_HELLO_BYTES);
    let hello = hello::parse(bytes).expect("the client hello parses");
    assert_eq!(hello.server_name_str(), Some("localhost"));
    assert_eq!(hello.supported_versions, Some(vec![0x0304, 0x0303]));
    // What came after the ClientHello (the client's Finished) is not the plaintext transcript's.
    assert!(
        !transcript
            .bytes(mockserver::Phase::Plaintext)
            .contains(&0x16)
    );
}

#[tokio::test]
async fn an_implicit_tls12_only_client_is_seen_offering_only_tls12() {
    let server = testing::spawn(config(Dialect::Implicit, Behaviour::Honest)).await;
    let identity = &server.config().identity;
    let versions = [&rustls::version::TLS12];
    let tcp = connect(server.addr()).await;
    drop(
        tls(tcp, client_config_versions(identity, &versions))
            .await
            .unwrap(),
    );
    server.wait_closed(1).await;
    let transcript = &server.transcripts()[0];
    let hello = hello::parse(transcript.client_hello.as_deref().unwrap()).unwrap();
    assert_eq!(hello.offered_versions().collect::<Vec<_>>(), [0x0303]);
}

#[tokio::test]
async fn a_legacy_only_server_keeps_exactly_the_client_hello_it_refused() {
    for d in [Dialect::Smtp, Dialect::Implicit] {
        let server = testing::spawn(config(d, Behaviour::LegacyOnly(LegacyVersion::Tls10))).await;
        let mut tcp = connect(server.addr()).await;
        if d != Dialect::Implicit {
            greeting(d, &mut tcp).await;
            command(d, &mut tcp, capability_command(d)).await;
            assert!(is_ok(d, &command(d, &mut tcp, starttls_command(d)).await));
        }
        let sent = crate::support::client_hello(&server.config().identity);
        send(&mut tcp, &sent).await;
        let _ = read_to_eof(&mut tcp).await;
        server.wait_closed(1).await;
        let transcript = &server.transcripts()[0];
        assert_eq!(transcript.client_hello.as_deref(), Some(&sent[..]), "{d}");
    }
}

#[tokio::test]
async fn plaintext_only_sessions_keep_no_client_hello() {
    let d = Dialect::Smtp;
    let server = testing::spawn(config(d, Behaviour::Honest)).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    command(d, &mut tcp, "QUIT").await;
    drop(tcp);
    server.wait_closed(1).await;
    assert_eq!(server.transcripts()[0].client_hello, None);
}
