//! Tests of the server audit's helpers that need no server: the address and the chain.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::*;

#[tokio::test]
async fn ip_literals_are_taken_as_they_are_bracketed_or_not() {
    let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 2525);
    assert_eq!(resolve("::1", 2525).await.ok(), Some(v6));
    assert_eq!(resolve("[::1]", 2525).await.ok(), Some(v6));
    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 25);
    assert_eq!(resolve("127.0.0.1", 25).await.ok(), Some(v4));
}

#[test]
fn only_dns_names_go_into_a_raw_hello_as_sni() {
    assert_eq!(sni("mail.example"), Some("mail.example"));
    assert_eq!(sni("127.0.0.1"), None);
    assert_eq!(sni("::1"), None);
}

#[test]
fn the_days_left_are_counted_from_the_given_time() {
    let identity = testpki::Pki::shared(testpki::KeyKind::Ed25519)
        .server(testpki::Scenario::Valid)
        .expect("a valid chain");
    let mut info = SocketInformation::default();
    info.server_certificates = identity
        .chain
        .iter()
        .map(streamsocket::CertificateSummary::from_der)
        .collect();
    // The leaf's notAfter, read independently.
    let (_, leaf) = x509_parser::parse_x509_certificate(identity.chain[0].as_ref()).expect("der");
    let not_after = leaf.validity().not_after.timestamp();
    let at = |secs: i64| UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).expect("positive"));
    let days = |now| certificate(&info, "localhost", now).and_then(|c| c.days_until_expiry);
    assert_eq!(days(at(not_after - 10 * 86_400)), Some(10));
    assert_eq!(days(at(not_after - 10 * 86_400 + 1)), Some(9));
    assert_eq!(days(at(not_after)), Some(0));
    let cert = certificate(&info, "localhost", at(not_after)).expect("a chain");
    assert_eq!(cert.chain.len(), identity.chain.len());
    assert!(
        cert.chain[0]
            .subject_alt_names
            .iter()
            .any(|n| n == "DNS:localhost")
    );
    assert_eq!(certificate(&SocketInformation::default(), "x", at(0)), None);
}
