//! insta snapshots of `SocketInformation` for representative cases. Every redaction checks the
//! shape of what it hides first.

use insta::internals::Content;
use streamsocket::{ChainValidationResult as C, ProtectionLevel, SocketInformation, write_string};
use testpki::{KeyKind, Scenario};

use crate::server::{Mode, Options, TestServer};
use crate::socket_for;

/// The one settings object of the snapshots; `fingerprints` says whether certificate
/// fingerprints vary from run to run (ECDSA signatures are randomised).
fn settings(fingerprints_vary: bool) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_sort_maps(false);
    settings.set_prepend_module_to_snapshot(false);
    for field in [".local_address", ".remote_address"] {
        settings.add_dynamic_redaction(field, |value, _| {
            let text = value.as_str().expect("an address is a string");
            let port = text
                .strip_prefix("127.0.0.1:")
                .expect("a loopback IPv4 address");
            assert!(port.parse::<u16>().is_ok_and(|p| p > 0), "a port: {text}");
            "127.0.0.1:[port]"
        });
    }
    settings.add_dynamic_redaction(".handshake_duration_ms", |value, _| match value {
        Content::F64(ms) => {
            assert!(ms > 0.0, "a handshake takes time");
            Content::from("[duration]")
        }
        Content::None | Content::Unit => value,
        other => panic!("a duration in milliseconds: {other:?}"),
    });
    for field in [".bytes_sent_after_upgrade", ".bytes_received_after_upgrade"] {
        settings.add_dynamic_redaction(field, |value, _| {
            let bytes = value.as_u64().expect("a byte count");
            assert!(
                (100..=20_000).contains(&bytes),
                "a handshake's worth of bytes: {bytes}"
            );
            "[bytes]"
        });
    }
    // The real clock: a check time after testpki's reference instant, and a distance from the
    // window that grows with it.
    settings.add_dynamic_redaction(
        ".server_certificate_error_details[].context.checked_at",
        |value, _| {
            let text = value.as_str().expect("a time is a string");
            assert!(
                text.len() == 20 && text.ends_with('Z') && text.as_bytes()[10] == b'T',
                "RFC 3339 in UTC: {text}"
            );
            assert!(text > "2025-06-01T00:00:00Z", "a real time: {text}");
            "[now]"
        },
    );
    settings.add_dynamic_redaction(
        ".server_certificate_error_details[].context.outside_by_secs",
        |value, _| {
            let secs = value.as_u64().expect("seconds");
            // testpki's expired leaf ended on 2021-01-01, more than four years before any run.
            assert!(secs > 4 * 365 * 86_400, "outside its window by {secs} s");
            "[secs]"
        },
    );
    if fingerprints_vary {
        settings.add_dynamic_redaction(".server_certificates[].sha256_fingerprint", |value, _| {
            let text = value.as_str().expect("a fingerprint is a string");
            assert_eq!(text.len(), 64, "{text}");
            assert!(
                text.bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
            "[sha256]"
        });
    }
    settings
}

fn check(name: &str, info: &SocketInformation, fingerprints_vary: bool) {
    settings(fingerprints_vary).bind(|| insta::assert_yaml_snapshot!(name, info));
}

#[tokio::test]
async fn snapshot_implicit_tls13_ecdsa() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    check("implicit_tls13_ecdsa", socket.information(), true);
}

#[tokio::test]
async fn snapshot_implicit_tls12_ed25519() {
    let options = Options {
        key_kind: KeyKind::Ed25519,
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls12)
        .await
        .unwrap();
    check("implicit_tls12_ed25519", socket.information(), false);
}

#[tokio::test]
async fn snapshot_raw_upgrade_after_a_frame() {
    let options = Options {
        key_kind: KeyKind::Ed25519,
        mode: Mode::PlainThenTls(20),
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    write_string(&mut socket, "Hello World ☺ ").await.unwrap();
    socket
        .upgrade_to_ssl(ProtectionLevel::Tls13, "localhost")
        .await
        .unwrap();
    check("raw_upgrade_tls13_ed25519", socket.information(), false);
}

#[tokio::test]
async fn snapshot_failed_handshake_expired_for_the_wrong_host() {
    let options = Options {
        key_kind: KeyKind::Ed25519,
        scenario: Scenario::Expired,
        mode: Mode::PlainThenTls(0),
        ..Options::default()
    };
    let server = TestServer::start(options).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_ignorable_server_certificate_errors([C::Expired])
        .unwrap();
    socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    socket
        .upgrade_to_ssl(ProtectionLevel::Ssl, "wrong.example.test")
        .await
        .unwrap_err();
    check(
        "failed_expired_wrong_host_ed25519",
        socket.information(),
        false,
    );
}

#[tokio::test]
async fn snapshot_smtp_starttls_against_the_mock_server() {
    use mockserver::testing;
    use streamsocket::Dialect;

    let config = testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::Ed25519);
    let server = testing::spawn(config).await;
    let mut socket = socket_for(&server.config().identity);
    let port = server.addr().port().to_string();
    socket
        .connect("127.0.0.1", &port, ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    socket
        .upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost")
        .await
        .unwrap();
    check("smtp_starttls_tls13_ed25519", socket.information(), false);
    settings(false).bind(|| {
        insta::assert_yaml_snapshot!("smtp_starttls_capabilities", socket.capabilities());
    });
    server.shutdown().await;
}
