//! Complete in-memory rustls handshakes (TLS 1.2 and 1.3) with every identity, at the reference
//! time: what a rustls client really reports when a server presents each scenario.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::time_provider::TimeProvider;
use rustls::{
    ClientConfig, ClientConnection, ServerConfig, ServerConnection, SupportedProtocolVersion,
};
use rustls_pki_types::{ServerName, UnixTime};
use testpki::{ClientIdentity, KeyKind, Pki, Scenario, ServerIdentity, TEST_HOST, clock};

use crate::{classify, provider, roots, server_verifier};

#[derive(Debug)]
struct ReferenceTime;

impl TimeProvider for ReferenceTime {
    fn current_time(&self) -> Option<UnixTime> {
        Some(clock::reference_now())
    }
}

const VERSIONS: [&SupportedProtocolVersion; 2] = [&rustls::version::TLS12, &rustls::version::TLS13];

#[derive(Debug, Eq, PartialEq)]
enum Side {
    Client,
    Server,
}

fn server_config(
    identity: &ServerIdentity,
    version: &'static SupportedProtocolVersion,
    client_ca: Option<&Pki>,
) -> Arc<ServerConfig> {
    let builder = ServerConfig::builder_with_details(provider(), Arc::new(ReferenceTime))
        .with_protocol_versions(&[version])
        .unwrap();
    let builder = match client_ca {
        Some(pki) => builder.with_client_cert_verifier(
            WebPkiClientVerifier::builder_with_provider(roots(&[pki.client_ca_der()]), provider())
                .build()
                .unwrap(),
        ),
        None => builder.with_no_client_auth(),
    };
    Arc::new(
        builder
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .unwrap(),
    )
}

fn client_config(
    identity: &ServerIdentity,
    version: &'static SupportedProtocolVersion,
    client: Option<&ClientIdentity>,
) -> Arc<ClientConfig> {
    let verifier = server_verifier(identity);
    let builder = ClientConfig::builder_with_details(provider(), Arc::new(ReferenceTime))
        .with_protocol_versions(&[version])
        .unwrap()
        .with_webpki_verifier(verifier);
    Arc::new(match client {
        Some(client) => builder
            .with_client_auth_cert(client.chain.clone(), client.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// Moves bytes between the two sides until both finish the handshake or one fails.
fn handshake(
    client: &mut ClientConnection,
    server: &mut ServerConnection,
) -> Result<(), (Side, rustls::Error)> {
    // A TLS handshake takes a handful of flights; a bound keeps a bug from looping forever.
    for _ in 0..20 {
        let mut flight = Vec::new();
        while client.wants_write() {
            client.write_tls(&mut flight).unwrap();
        }
        let mut rest = &flight[..];
        while !rest.is_empty() {
            server.read_tls(&mut rest).unwrap();
            server
                .process_new_packets()
                .map_err(|err| (Side::Server, err))?;
        }
        let mut flight = Vec::new();
        while server.wants_write() {
            server.write_tls(&mut flight).unwrap();
        }
        let mut rest = &flight[..];
        while !rest.is_empty() {
            client.read_tls(&mut rest).unwrap();
            client
                .process_new_packets()
                .map_err(|err| (Side::Client, err))?;
        }
        if !client.is_handshaking() && !server.is_handshaking() {
            return Ok(());
        }
    }
    panic!("handshake did not finish");
}

#[test]
fn rustls_client_reports_each_scenarios_class_over_tls12_and_tls13() {
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        for scenario in Scenario::ALL {
            let identity = pki.server(scenario).unwrap();
            for version in VERSIONS {
                let mut client = ClientConnection::new(
                    client_config(&identity, version, None),
                    ServerName::try_from(TEST_HOST).unwrap(),
                )
                .unwrap();
                let mut server =
                    ServerConnection::new(server_config(&identity, version, None)).unwrap();
                let context = format!("{key_kind} {scenario} {:?}", version.version);
                match handshake(&mut client, &mut server) {
                    Ok(()) => {
                        assert_eq!(scenario, Scenario::Valid, "{context}");
                        assert_eq!(client.protocol_version(), Some(version.version));
                        let presented = client.peer_certificates().unwrap();
                        assert_eq!(presented, &identity.chain[..], "{context}");
                    }
                    Err((side, err)) => {
                        assert_eq!(side, Side::Client, "{context}: {err}");
                        assert_eq!(
                            classify(&identity, &err),
                            identity.expected_error,
                            "{context}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn mutual_tls_accepts_the_trusted_client_and_rejects_the_untrusted_one() {
    for key_kind in KeyKind::ALL {
        let pki = Pki::shared(key_kind);
        let identity = pki.server(Scenario::Valid).unwrap();
        for version in VERSIONS {
            for trusted in [true, false] {
                let client_identity = pki.client(trusted).unwrap();
                let mut client = ClientConnection::new(
                    client_config(&identity, version, Some(&client_identity)),
                    ServerName::try_from("localhost").unwrap(),
                )
                .unwrap();
                let mut server =
                    ServerConnection::new(server_config(&identity, version, Some(pki))).unwrap();
                let context = format!("{key_kind} trusted={trusted} {:?}", version.version);
                match handshake(&mut client, &mut server) {
                    Ok(()) => {
                        assert!(trusted, "{context}");
                        let presented = server.peer_certificates().unwrap();
                        assert_eq!(presented, &client_identity.chain[..], "{context}");
                    }
                    Err((side, err)) => {
                        assert!(!trusted, "{context}: {err}");
                        assert_eq!(side, Side::Server, "{context}");
                        assert_eq!(
                            err,
                            rustls::Error::InvalidCertificate(
                                rustls::CertificateError::UnknownIssuer
                            ),
                            "{context}"
                        );
                    }
                }
            }
        }
    }
}
