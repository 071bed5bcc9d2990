//! The session log: one line per finished session, written before the client sees the close,
//! read back through `SessionRecord`.

use std::path::Path;
use std::sync::Arc;

use mockserver::session_log::{self, HandshakeKind, SessionLog, SessionRecord};
use mockserver::{ClientAuth, Limits, MockConfig, SessionEnd, Stats, testing};
use proto::level::TlsVersion;
use proto::starttls::{CloseReason, Dialect};
use testpki::{KeyKind, Pki, Scenario};

use crate::dialect::{capability_command, command, greeting, is_ok, reply, starttls_command};
use crate::support::{client_config, connect, frame, read_frame, read_to_eof, send, tls};

fn records(path: &Path) -> Vec<SessionRecord> {
    let file = std::fs::File::open(path).unwrap();
    session_log::read(std::io::BufReader::new(file)).unwrap()
}

async fn spawn_logged(config: MockConfig, path: &Path) -> testing::RunningServer {
    let log = Arc::new(SessionLog::create(path).unwrap());
    testing::spawn_with_stats(config, Stats::with_session_log(log)).await
}

#[tokio::test]
async fn a_starttls_session_with_an_injected_command_is_logged_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.jsonl");
    let d = Dialect::Smtp;
    let server = spawn_logged(testing::config(d, Scenario::Valid, KeyKind::Ed25519), &path).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    send(&mut tcp, b"STARTTLS\r\nNOOP\r\n").await;
    assert!(is_ok(d, &reply(d, &mut tcp, starttls_command(d)).await));
    let mut stream = tls(tcp, client_config(&server.config().identity))
        .await
        .unwrap();
    command(d, &mut stream, capability_command(d)).await;
    send(&mut stream, b"QUIT\r\n").await;
    read_to_eof(&mut stream).await;

    // Written before the close, so it is there once the client has seen EOF.
    let [record] = records(&path).try_into().unwrap();
    assert_eq!(record.id, 0);
    assert_eq!(record.local, server.addr());
    assert_eq!(record.peer.ip(), server.addr().ip());
    assert_eq!(
        (record.dialect, record.scenario, record.key_type),
        (d, Scenario::Valid, KeyKind::Ed25519)
    );
    assert_eq!(record.behaviour.name(), "honest");
    assert_eq!(
        record.plaintext.commands,
        ["EHLO client.test", "STARTTLS", "NOOP"]
    );
    assert_eq!(record.plaintext.bytes, 34);
    assert_eq!(record.injected_bytes_discarded, 6);
    assert!(record.starttls && record.handshake);
    let (starttls, handshake) = (record.starttls_ms.unwrap(), record.handshake_ms.unwrap());
    assert!(0.0 < starttls && starttls <= handshake && handshake <= record.duration_ms);
    let tls = record.tls.as_ref().unwrap();
    assert_eq!(tls.version, Some(TlsVersion::Tls13));
    assert_eq!(
        tls.cipher_suite.as_deref(),
        Some("TLS13_AES_256_GCM_SHA384")
    );
    assert_eq!(tls.key_exchange_group.as_deref(), Some("X25519"));
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    assert_eq!(tls.handshake_kind, Some(HandshakeKind::Full));
    assert_eq!(
        (
            tls.alpn.as_deref(),
            tls.client_certificate_subject.as_deref()
        ),
        (None, None)
    );
    let hello = record.client_hello.as_ref().unwrap();
    assert_eq!(hello.versions, ["TLSv1.3", "TLSv1.2"]);
    assert_eq!(hello.sni.as_deref(), Some("localhost"));
    assert!(hello.groups.iter().any(|g| g == "X25519"), "{hello:?}");
    assert!(hello.weak_cipher_suites.is_empty(), "{hello:?}");
    assert!(hello.ja4.starts_with("t13d"), "{}", hello.ja4);
    assert_eq!(record.client_hello_error, None);
    // Both directions carry at least the plaintext and a TLS handshake.
    assert!(
        record.bytes_received > 34 + 200,
        "{}",
        record.bytes_received
    );
    assert!(record.bytes_sent > 500, "{}", record.bytes_sent);
    assert_eq!(record.end, SessionEnd::Machine(CloseReason::Quit));
}

#[tokio::test]
async fn each_session_adds_one_line_at_its_end_with_the_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.jsonl");
    let mut config = testing::config(Dialect::Implicit, Scenario::Valid, KeyKind::EcdsaP256);
    config.tls.client_auth = ClientAuth::Optional;
    config.tls.alpn = vec![b"h2".to_vec()];
    let server = spawn_logged(config, &path).await;
    let identity = server.config().identity.clone();
    let client = Pki::shared(KeyKind::EcdsaP256).client(true).unwrap();

    for (i, with_cert) in [(1, true), (2, false)] {
        let mut roots = rustls::RootCertStore::empty();
        for ca in &identity.trust_anchors {
            roots.add(ca.clone()).unwrap();
        }
        let builder = rustls::ClientConfig::builder_with_provider(crate::support::provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        let mut client_config = if with_cert {
            builder
                .with_client_auth_cert(client.chain.clone(), client.key.clone_key())
                .unwrap()
        } else {
            builder.with_no_client_auth()
        };
        client_config.alpn_protocols = vec![b"h2".to_vec()];
        let mut stream = tls(connect(server.addr()).await, client_config)
            .await
            .unwrap();
        send(&mut stream, &frame("ping")).await;
        assert_eq!(read_frame(&mut stream).await, "ping");
        // Still running: nothing more in the log than the sessions that ended.
        assert_eq!(records(&path).len(), i - 1);
        drop(stream);
        server.wait_closed(i as u64).await;
        assert_eq!(records(&path).len(), i);
    }
    let records = records(&path);
    let (with, without) = (&records[0], &records[1]);
    let (_, leaf) = x509_parser::parse_x509_certificate(&client.chain[0]).unwrap();
    let subject = leaf.subject().to_string();
    assert!(subject.contains("CN="), "{subject}");
    let tls = with.tls.as_ref().unwrap();
    assert_eq!(tls.client_certificate_subject.as_deref(), Some(&*subject));
    assert_eq!(tls.alpn.as_deref(), Some("h2"));
    assert_eq!(with.client_hello.as_ref().unwrap().alpn, ["h2"]);
    assert_eq!(
        without.tls.as_ref().unwrap().client_certificate_subject,
        None
    );
    assert_eq!(without.id, 1);
    // Implicit TLS: the go-ahead is given at once, and nothing arrives in plaintext.
    assert!(with.starttls && with.plaintext.commands.is_empty() && with.plaintext.bytes == 0);
    // Frames inside TLS are not plaintext commands; the client closed without close_notify.
    assert_eq!(with.end, SessionEnd::Truncated);
}

#[tokio::test]
async fn a_refused_connection_and_a_framed_session_are_logged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.jsonl");
    let mut config = testing::config(Dialect::Pop3, Scenario::Expired, KeyKind::EcdsaP256);
    config.limits = Limits {
        max_connections: 1,
        ..Limits::default()
    };
    let server = spawn_logged(config, &path).await;
    let mut first = connect(server.addr()).await;
    greeting(Dialect::Pop3, &mut first).await;
    let mut second = connect(server.addr()).await;
    let refusal = read_to_eof(&mut second).await;
    assert!(refusal.starts_with(b"-ERR"), "{refusal:?}");
    server.wait_closed(1).await;
    let [refused] = records(&path).try_into().unwrap();
    assert_eq!(refused.end, SessionEnd::ConnectionCap);
    assert_eq!(refused.id, 1);
    assert_eq!(refused.bytes_sent, refusal.len() as u64);
    assert_eq!(refused.scenario, Scenario::Expired);
    assert!(!refused.starttls && refused.tls.is_none() && refused.client_hello.is_none());
    drop(first);

    // The seed's frames before the upgrade are the plaintext commands of a framed session.
    let path = dir.path().join("framed.jsonl");
    let server = spawn_logged(
        testing::config(Dialect::Framed, Scenario::Valid, KeyKind::EcdsaP256),
        &path,
    )
    .await;
    let mut tcp = connect(server.addr()).await;
    send(&mut tcp, &[frame("hello"), frame("bin\u{1}")].concat()).await;
    let mut stream = tls(tcp, client_config(&server.config().identity))
        .await
        .unwrap();
    tokio::io::AsyncWriteExt::shutdown(&mut stream)
        .await
        .unwrap();
    read_to_eof(&mut stream).await;
    server.wait_closed(1).await;
    let [framed] = records(&path).try_into().unwrap();
    assert_eq!(framed.plaintext.commands, ["hello", "bin\\x01"]);
    assert!(framed.starttls && framed.handshake);
    assert_eq!(framed.end, SessionEnd::Machine(CloseReason::Eof));
}

#[tokio::test]
async fn plaintext_beyond_what_the_transcript_keeps_is_counted_and_its_commands_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sessions.jsonl");
    let d = Dialect::Smtp;
    let server = spawn_logged(
        testing::config(d, Scenario::Valid, KeyKind::EcdsaP256),
        &path,
    )
    .await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    let noops = "NOOP\r\n".repeat(4000);
    send(&mut tcp, noops.as_bytes()).await;
    send(&mut tcp, b"QUIT\r\n").await;
    read_to_eof(&mut tcp).await;
    let [record] = records(&path).try_into().unwrap();
    let sent = noops.len() as u64 + 6;
    assert!(sent > mockserver::stats::MAX_TRANSCRIPT_BYTES as u64);
    assert_eq!(
        (record.plaintext.bytes, record.bytes_received),
        (sent, sent)
    );
    assert_eq!(record.plaintext.commands.len(), session_log::MAX_COMMANDS);
    // Only what the transcript kept is split into commands.
    let kept_lines = mockserver::stats::MAX_TRANSCRIPT_BYTES.div_ceil(6) as u64;
    assert_eq!(
        record.plaintext.omitted,
        kept_lines - session_log::MAX_COMMANDS as u64
    );
    assert_eq!(record.end, SessionEnd::Machine(CloseReason::Quit));
}
