//! Every certificate scenario is served as testpki issued it: a verifying client accepts the
//! valid chain and rejects each broken one with a certificate error of the expected class.

use std::sync::Arc;

use mockserver::testing;
use proto::cert::{ChainValidationResult, classify};
use proto::starttls::Dialect;
use rustls::client::WebPkiServerVerifier;
use testpki::{ExpectedError, KeyKind, Scenario};

use crate::dialect::upgrade;
use crate::support::{connect, provider, tls};

/// A client that trusts the scenario's anchors and knows its CRLs, and refuses a CRL past its
/// nextUpdate (rustls's default policy would use it silently).
pub(crate) fn verifying_client(identity: &testpki::ServerIdentity) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for ca in &identity.trust_anchors {
        roots.add(ca.clone()).unwrap();
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .with_crls(identity.crls.clone())
        .enforce_revocation_expiration()
        .build()
        .unwrap();
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth()
}

/// The classes a rustls client may report for a scenario's primary class (rustls stops at the
/// first problem; before any refinement by the project's client, which tells an incomplete chain
/// from an untrusted one).
pub(crate) fn acceptable(expected: ExpectedError) -> &'static [ChainValidationResult] {
    use ChainValidationResult as C;
    match expected {
        ExpectedError::Expired | ExpectedError::NotYetValid => &[C::Expired],
        ExpectedError::InvalidName => &[C::InvalidName],
        ExpectedError::Untrusted | ExpectedError::IncompleteChain => &[C::Untrusted],
        ExpectedError::WrongUsage => &[C::WrongUsage],
        ExpectedError::BasicConstraints => &[
            C::BasicConstraintsError,
            C::InvalidCertificateAuthorityPolicy,
            C::Untrusted,
        ],
        ExpectedError::Revoked => &[C::Revoked],
        ExpectedError::RevocationFailure => &[C::RevocationFailure],
        ExpectedError::InvalidSignature => &[C::InvalidSignature],
    }
}

#[tokio::test]
async fn every_scenario_is_judged_as_issued() {
    for scenario in Scenario::ALL {
        let config = testing::config(Dialect::Implicit, scenario, KeyKind::EcdsaP256);
        let server = testing::spawn(config).await;
        let identity = &server.config().identity;
        let result = tls(connect(server.addr()).await, verifying_client(identity)).await;
        match (identity.expected_error, result) {
            (None, Ok(_)) => {}
            (Some(expected), Err(err)) => {
                let Some(rustls::Error::InvalidCertificate(cert)) = err
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<rustls::Error>())
                else {
                    panic!("{scenario}: not a certificate error: {err:?}");
                };
                let class = classify(cert);
                assert!(
                    acceptable(expected).contains(&class),
                    "{scenario}: {class:?} ({cert:?})"
                );
            }
            (expected, result) => panic!("{scenario}: expected {expected:?}, got {result:?}"),
        }
    }
}

#[tokio::test]
async fn a_broken_chain_fails_after_a_starttls_upgrade_too() {
    let config = testing::config(Dialect::Smtp, Scenario::Expired, KeyKind::Ed25519);
    let server = testing::spawn(config).await;
    let mut tcp = connect(server.addr()).await;
    use crate::dialect::{capability_command, command, greeting, is_ok, starttls_command};
    let d = Dialect::Smtp;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    assert!(is_ok(d, &command(d, &mut tcp, starttls_command(d)).await));
    assert!(
        tls(tcp, verifying_client(&server.config().identity))
            .await
            .is_err()
    );
    server.wait_closed(1).await;
    let refused = &server.transcripts()[0];
    assert!(
        refused.upgraded && !refused.handshake_completed,
        "{refused:?}"
    );
    // The valid chain, same dialect, for contrast.
    let config = testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::Ed25519);
    let server = testing::spawn(config).await;
    drop(upgrade(d, connect(server.addr()).await, &server.config().identity).await);
    server.wait_closed(1).await;
    let accepted = &server.transcripts()[0];
    assert!(
        accepted.upgraded && accepted.handshake_completed,
        "{accepted:?}"
    );
}
