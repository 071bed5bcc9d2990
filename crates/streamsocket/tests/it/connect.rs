//! `connect`: levels, versions, the minimum level, names and addresses, session resumption.

use streamsocket::{ErrorKind, HandshakeKind, NamedGroup, ProtectionLevel, StreamSocket};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::server::{Mode, Options, TestServer};
use crate::socket_for;

const TLS12_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS12];
const TLS13_ONLY: &[&rustls::SupportedProtocolVersion] = &[&rustls::version::TLS13];

/// Connects with `level` to a server offering `versions`; returns the outcome and the socket.
async fn connect_to(
    versions: &'static [&'static rustls::SupportedProtocolVersion],
    level: ProtectionLevel,
) -> (Result<(), streamsocket::Error>, StreamSocket) {
    let server = TestServer::start(Options {
        versions,
        ..Options::default()
    })
    .await;
    let mut socket = socket_for(&server.identity);
    let result = socket.connect("localhost", &server.port(), level).await;
    if result.is_ok() {
        socket.shutdown().await.expect("close_notify is sent");
    }
    (result, socket)
}

#[tokio::test]
async fn every_tls_level_connects_and_reports_what_was_negotiated() {
    let cases = [
        (ProtectionLevel::Ssl, ProtectionLevel::Tls13),
        (
            ProtectionLevel::SslAllowNullEncryption,
            ProtectionLevel::Tls13,
        ),
        (ProtectionLevel::Unspecified, ProtectionLevel::Tls13),
        (ProtectionLevel::Tls12, ProtectionLevel::Tls12),
        (ProtectionLevel::Tls13, ProtectionLevel::Tls13),
    ];
    for (requested, negotiated) in cases {
        let (result, socket) = connect_to(rustls::ALL_VERSIONS, requested).await;
        result.unwrap_or_else(|err| panic!("{requested}: {err}"));
        let info = socket.information();
        assert_eq!(info.requested_protection_level, Some(requested));
        assert_eq!(info.protection_level, negotiated, "{requested}");
        assert!(info.cipher_suite.is_some() && info.key_exchange_group.is_some());
        assert_eq!(info.handshake_kind, Some(HandshakeKind::Full));
        assert_eq!(info.server_name_indication.as_deref(), Some("localhost"));
        assert_eq!(info.server_certificates.len(), 2, "leaf and intermediate");
        assert!(info.server_certificate_errors.is_empty());
        assert_eq!(info.dialect, Some(streamsocket::Dialect::Implicit));
    }
}

#[tokio::test]
async fn tls12_only_and_tls13_only_servers_against_each_level() {
    use ProtectionLevel::{Ssl, Tls12, Tls13, Unspecified};
    let cases: [(
        &[&rustls::SupportedProtocolVersion],
        ProtectionLevel,
        Option<ProtectionLevel>,
    ); 8] = [
        (TLS12_ONLY, Tls12, Some(Tls12)),
        (TLS12_ONLY, Tls13, None),
        (TLS12_ONLY, Ssl, Some(Tls12)),
        (TLS12_ONLY, Unspecified, Some(Tls12)),
        (TLS13_ONLY, Tls12, None),
        (TLS13_ONLY, Tls13, Some(Tls13)),
        (TLS13_ONLY, Ssl, Some(Tls13)),
        (TLS13_ONLY, Unspecified, Some(Tls13)),
    ];
    for (versions, requested, expected) in cases {
        let (result, socket) = connect_to(versions, requested).await;
        match expected {
            Some(level) => {
                result.unwrap_or_else(|err| panic!("{requested}: {err}"));
                assert_eq!(socket.information().protection_level, level);
            }
            None => {
                let err = result.expect_err("no version in common");
                assert_eq!(
                    err.kind(),
                    ErrorKind::ProtocolVersionMismatch,
                    "{requested}: {err}"
                );
                assert_eq!(
                    socket.information().protection_level,
                    ProtectionLevel::PlainSocket
                );
                assert_eq!(socket.information().protocol_version, None);
            }
        }
    }
}

#[tokio::test]
async fn refused_levels_fail_before_any_connection_is_made() {
    // Nothing listens on this port: an attempt to connect would be refused, so an
    // UnsupportedProtectionLevel error proves that no attempt was made.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let cases = [
        (
            ProtectionLevel::Ssl3AllowWeakEncryption,
            ErrorKind::UnsupportedProtectionLevel,
        ),
        (
            ProtectionLevel::Tls10,
            ErrorKind::UnsupportedProtectionLevel,
        ),
        (
            ProtectionLevel::Tls11,
            ErrorKind::UnsupportedProtectionLevel,
        ),
        (
            ProtectionLevel::BluetoothEncryptionAllowNullAuthentication,
            ErrorKind::InvalidArgument,
        ),
        (
            ProtectionLevel::BluetoothEncryptionWithAuthentication,
            ErrorKind::InvalidArgument,
        ),
    ];
    for (level, kind) in cases {
        let mut socket = StreamSocket::new();
        let err = socket.connect("127.0.0.1", &port, level).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{level}: {err}");
        assert_eq!(socket.information().remote_address, None, "{level}");
        assert_eq!(socket.information().requested_protection_level, Some(level));
    }
    let mut socket = StreamSocket::new();
    let err = socket
        .connect("127.0.0.1", &port, ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::ConnectionRefused,
        "a real attempt is refused: {err}"
    );
    assert_eq!(err.status(), Some(12));
}

#[tokio::test]
async fn minimum_level_removes_versions_below_it() {
    // Ssl with a TLS 1.3 minimum offers TLS 1.3 only: a TLS 1.2 server has nothing in common.
    let server = TestServer::start(Options {
        versions: TLS12_ONLY,
        ..Options::default()
    })
    .await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_min_protection_level(Some(ProtectionLevel::Tls13))
        .unwrap();
    let err = socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ProtocolVersionMismatch, "{err}");
    assert!(err.to_string().contains("TLSv1.3"), "{err}");

    // Unspecified is raised by the minimum and still connects to a server that has it.
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_min_protection_level(Some(ProtectionLevel::Tls12))
        .unwrap();
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Unspecified)
        .await
        .unwrap();
    assert_eq!(
        socket.information().protection_level,
        ProtectionLevel::Tls13
    );

    // A minimum above the requested level is the caller's mistake, found before connecting.
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_min_protection_level(Some(ProtectionLevel::Tls13))
        .unwrap();
    let err = socket
        .connect("localhost", "1", ProtectionLevel::Tls12)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_eq!(socket.information().remote_address, None);
}

#[tokio::test]
async fn plain_socket_stays_plaintext() {
    let server = TestServer::start(Options {
        mode: Mode::Silent,
        ..Options::default()
    })
    .await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("127.0.0.1", &server.port(), ProtectionLevel::PlainSocket)
        .await
        .unwrap();
    socket.write_all(b"EHLO in the clear\r\n").await.unwrap();
    socket.shutdown().await.unwrap();
    let info = socket.information().clone();
    assert_eq!(info.protection_level, ProtectionLevel::PlainSocket);
    assert_eq!(info.protocol_version, None);
    assert_eq!(info.dialect, None);
    assert_eq!(info.bytes_sent_before_upgrade, 19);
    let records = server.records().await;
    assert_eq!(records[0].plaintext, b"EHLO in the clear\r\n");
}

#[tokio::test]
async fn every_resolved_address_is_tried_in_turn() {
    // "localhost" may resolve to ::1 first; the server listens on 127.0.0.1 only, so an
    // IPv6 attempt is refused and the IPv4 one must follow.
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    let remote = socket.information().remote_address.unwrap();
    assert_eq!(remote, server.addr);
}

#[tokio::test]
async fn unknown_service_names_are_invalid_arguments() {
    let mut socket = StreamSocket::new();
    let err = socket
        .connect("localhost", "gopher+", ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
}

#[tokio::test]
async fn a_port_number_is_a_service_and_port_zero_is_an_invalid_argument() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", server.addr.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    assert_eq!(socket.information().remote_address, Some(server.addr));

    let mut socket = StreamSocket::new();
    let err = socket
        .connect("localhost", 0, ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert!(
        socket.information().remote_address.is_none(),
        "nothing was connected"
    );
}

#[tokio::test]
async fn a_host_that_does_not_resolve_is_host_not_found() {
    let mut socket = StreamSocket::new();
    let err = socket
        .connect("no-such-host.invalid", "443", ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HostNotFound, "{err}");
    assert_eq!(err.status(), Some(6));
}

#[tokio::test]
async fn connect_endpoints_binds_the_local_address_first() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    let local = "127.0.0.1:0".parse().unwrap();
    socket
        .connect_endpoints(local, "localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    let info = socket.information();
    assert_eq!(info.local_address.unwrap().ip(), local.ip());
    assert_eq!(info.remote_address, Some(server.addr));
}

#[tokio::test]
async fn options_cannot_change_after_connecting() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    let err = socket.control_mut().set_keep_alive(true).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(!socket.control().keep_alive());
    // The failed setter is not a failure of the connection.
    assert!(socket.failure().is_none());
    socket.write_all(b"ping").await.unwrap();
    let mut echo = [0u8; 4];
    socket.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ping");
}

#[tokio::test]
async fn sni_is_sent_for_names_only_and_can_be_turned_off() {
    let server = TestServer::start(Options {
        connections: 3,
        ..Options::default()
    })
    .await;
    let mut by_name = socket_for(&server.identity);
    by_name
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    assert_eq!(
        by_name.information().server_name_indication.as_deref(),
        Some("localhost")
    );

    let mut by_ip = socket_for(&server.identity);
    by_ip
        .connect("127.0.0.1", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    assert_eq!(by_ip.information().server_name_indication, None);

    let mut no_sni = socket_for(&server.identity);
    no_sni.control_mut().set_send_sni(false).unwrap();
    no_sni
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    assert_eq!(no_sni.information().server_name_indication, None);
}

#[tokio::test]
async fn alpn_reports_the_protocol_the_server_chose() {
    let alpn = vec![b"h2".to_vec()];
    let server = TestServer::start(Options {
        alpn,
        ..Options::default()
    })
    .await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_alpn_protocols(vec![b"http/1.1".to_vec(), b"h2".to_vec()])
        .unwrap();
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    assert_eq!(
        socket
            .information()
            .alpn_protocol
            .as_ref()
            .map(|alpn| alpn.as_bytes()),
        Some(&b"h2"[..])
    );
}

#[tokio::test]
async fn a_server_without_the_clients_first_group_causes_a_hello_retry_request() {
    let groups = vec![rustls::crypto::aws_lc_rs::kx_group::SECP384R1];
    let server = TestServer::start(Options {
        kx_groups: Some(groups),
        ..Options::default()
    })
    .await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    let info = socket.information();
    assert_eq!(info.handshake_kind, Some(HandshakeKind::HelloRetryRequest));
    assert_eq!(info.key_exchange_group, Some(NamedGroup::secp384r1));
}

#[tokio::test]
async fn a_second_socket_with_a_cloned_control_resumes_the_session() {
    for level in [ProtectionLevel::Tls12, ProtectionLevel::Tls13] {
        let server = TestServer::start(Options {
            connections: 2,
            ..Options::default()
        })
        .await;
        let mut first = socket_for(&server.identity);
        first
            .connect("localhost", &server.port(), level)
            .await
            .unwrap();
        // TLS 1.3 tickets arrive after the handshake: read the echo so they are processed.
        first.write_all(b"x").await.unwrap();
        let mut echo = [0u8; 1];
        first.read_exact(&mut echo).await.unwrap();
        first.shutdown().await.unwrap();
        assert_eq!(
            first.information().handshake_kind,
            Some(HandshakeKind::Full)
        );

        let mut second = StreamSocket::with_control(first.control().clone());
        second
            .connect("localhost", &server.port(), level)
            .await
            .unwrap();
        let info = second.information();
        assert_eq!(info.handshake_kind, Some(HandshakeKind::Resumed), "{level}");
        assert!(
            !info.server_certificates.is_empty(),
            "the chain is known after resumption"
        );
        assert_eq!(
            info.server_key_pin,
            first.information().server_key_pin,
            "the server's key pin is known after resumption"
        );
        assert!(info.server_key_pin.is_some());
    }
}

#[tokio::test]
async fn session_resumption_can_be_turned_off() {
    let server = TestServer::start(Options {
        connections: 2,
        ..Options::default()
    })
    .await;
    let mut first = socket_for(&server.identity);
    first.control_mut().set_session_resumption(false).unwrap();
    first
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    first.write_all(b"x").await.unwrap();
    let mut echo = [0u8; 1];
    first.read_exact(&mut echo).await.unwrap();
    first.shutdown().await.unwrap();

    let mut second = StreamSocket::with_control(first.control().clone());
    second
        .connect("localhost", &server.port(), ProtectionLevel::Tls13)
        .await
        .unwrap();
    assert_eq!(
        second.information().handshake_kind,
        Some(HandshakeKind::Full)
    );
}

#[tokio::test]
async fn socket_options_are_applied_without_changing_the_outcome() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    let control = socket.control_mut();
    control.set_no_delay(false).unwrap();
    control.set_keep_alive(true).unwrap();
    control.set_hop_limit(Some(17)).unwrap();
    control.set_outbound_buffer_size(Some(64 * 1024)).unwrap();
    control
        .set_connect_timeout(std::time::Duration::from_secs(5))
        .unwrap();
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Ssl)
        .await
        .unwrap();
    socket.write_all(b"ok").await.unwrap();
    let mut echo = [0u8; 2];
    socket.read_exact(&mut echo).await.unwrap();
    assert_eq!(&echo, b"ok");
    assert!(control_values_survive(&socket));
}

fn control_values_survive(socket: &StreamSocket) -> bool {
    let control = socket.control();
    !control.no_delay()
        && control.keep_alive()
        && control.hop_limit() == Some(17)
        && control.outbound_buffer_size() == Some(64 * 1024)
        && control.is_locked()
}

#[tokio::test]
async fn information_prints_as_a_readable_table() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls12)
        .await
        .unwrap();
    let table = socket.information().to_string();
    for expected in [
        "protection level     Tls12",
        "requested level      Tls12",
        "protocol version     TLSv1.2",
        "SNI sent             localhost",
        "certificate errors   none",
        "certificate 0",
        "key                ECDSA P-256",
    ] {
        assert!(table.contains(expected), "{expected:?} in\n{table}");
    }
    let json = serde_json::to_value(socket.information()).unwrap();
    for key in [
        "requested_protection_level",
        "protection_level",
        "protocol_version",
        "cipher_suite",
        "key_exchange_group",
        "server_certificate_errors",
        "server_certificate_error_severity",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["protection_level"], "Tls12");
    assert_eq!(json["server_certificate_errors"], serde_json::json!([]));
}

#[tokio::test]
async fn unusable_tls_options_fail_before_any_connection_is_made() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port().to_string()
    };
    let mut socket = StreamSocket::new();
    socket
        .control_mut()
        .set_trust_anchors(streamsocket::TrustAnchors::empty())
        .unwrap();
    let err = socket
        .connect("127.0.0.1", &port, ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "no roots: {err}");

    let mut socket = StreamSocket::new();
    let err = socket
        .connect("bad name!", &port, ProtectionLevel::Ssl)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::InvalidArgument,
        "not a DNS name: {err}"
    );
}

#[tokio::test]
async fn every_key_kind_connects_in_both_versions() {
    use testpki::KeyKind;
    for (key_kind, algorithm) in [
        (KeyKind::EcdsaP256, "ECDSA P-256"),
        (KeyKind::Ed25519, "Ed25519"),
        (KeyKind::Rsa2048, "RSA 2048"),
    ] {
        for level in [ProtectionLevel::Tls12, ProtectionLevel::Tls13] {
            let server = TestServer::start(Options {
                key_kind,
                ..Options::default()
            })
            .await;
            let mut socket = socket_for(&server.identity);
            socket
                .connect("localhost", &server.port(), level)
                .await
                .unwrap();
            let info = socket.information();
            assert_eq!(info.protection_level, level, "{key_kind:?}");
            assert_eq!(info.server_certificates[0].key_algorithm(), algorithm);
            assert_eq!(info.server_certificates[0].sha256_fingerprint().len(), 64);
        }
    }
}

#[tokio::test]
async fn pinned_cipher_suites_and_groups_are_what_is_negotiated() {
    use streamsocket::{CipherSuite as S, NamedGroup as G};
    let cases = [
        (
            ProtectionLevel::Tls13,
            S::TLS13_CHACHA20_POLY1305_SHA256,
            G::secp384r1,
        ),
        (ProtectionLevel::Ssl, S::TLS13_AES_128_GCM_SHA256, G::X25519),
        (
            ProtectionLevel::Tls12,
            S::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
            G::secp256r1,
        ),
    ];
    for (level, suite, group) in cases {
        let server = TestServer::start(Options::default()).await;
        let mut socket = socket_for(&server.identity);
        socket.control_mut().set_cipher_suites([suite]).unwrap();
        socket
            .control_mut()
            .set_key_exchange_groups([group])
            .unwrap();
        socket
            .connect("localhost", &server.port(), level)
            .await
            .unwrap_or_else(|err| panic!("{level} {suite:?} {group:?}: {err}"));
        let info = socket.information();
        assert_eq!(info.cipher_suite, Some(suite));
        assert_eq!(info.key_exchange_group, Some(group));
        socket.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn suites_that_cannot_serve_the_level_fail_before_anything_is_sent() {
    let server = TestServer::start(Options::default()).await;
    let mut socket = socket_for(&server.identity);
    socket
        .control_mut()
        .set_cipher_suites([streamsocket::CipherSuite::TLS13_AES_256_GCM_SHA384])
        .unwrap();
    let err = socket
        .connect("localhost", &server.port(), ProtectionLevel::Tls12)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{err}");
    assert_eq!(socket.information().remote_address, None, "no connection");
    assert!(socket.failure().is_some(), "the error is sticky");
}
