//! Integration tests: every scenario and key kind checked with rustls's own verifiers.

mod client;
mod determinism;
mod handshake;
mod pem;
mod server;

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, RootCertStore};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use testpki::{ExpectedError, ServerIdentity, clock};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

fn roots(anchors: &[CertificateDer<'static>]) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for anchor in anchors {
        roots.add(anchor.clone()).unwrap();
    }
    Arc::new(roots)
}

/// The rustls verifier a correct client builds from `identity`: its trust anchors and CRLs, and
/// CRLs past their nextUpdate refused (rustls's default policy would use them silently).
fn server_verifier(identity: &ServerIdentity) -> Arc<WebPkiServerVerifier> {
    WebPkiServerVerifier::builder_with_provider(roots(&identity.trust_anchors), provider())
        .with_crls(identity.crls.clone())
        .enforce_revocation_expiration()
        .build()
        .unwrap()
}

/// Verifies `identity` as a rustls client given its trust anchors and CRLs would, at `now`.
fn verify_at(identity: &ServerIdentity, host: &str, now: UnixTime) -> Result<(), rustls::Error> {
    let verifier = server_verifier(identity);
    let (leaf, intermediates) = identity.chain.split_first().unwrap();
    let server_name = ServerName::try_from(host.to_owned()).unwrap();
    verifier
        .verify_server_cert(leaf, intermediates, &server_name, &[], now)
        .map(|_| ())
}

/// Verifies at [`clock::reference_now`].
fn verify(identity: &ServerIdentity, host: &str) -> Result<(), rustls::Error> {
    verify_at(identity, host, clock::reference_now())
}

/// The rustls error, named without its context fields, e.g. `InvalidCertificate(ExpiredContext)`
/// or `InvalidCertificate(Other(webpki EndEntityUsedAsCa))`.
fn error_name(err: &rustls::Error) -> String {
    let rustls::Error::InvalidCertificate(cert) = err else {
        return format!("{err:?}");
    };
    let inner = match cert {
        CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(webpki) => format!("Other(webpki {webpki:?})"),
            None => format!("Other({other:?})"),
        },
        // `Debug` of the *Context variants starts with the variant name.
        other => format!("{other:?}")
            .split([' ', '(', '{'])
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    format!("InvalidCertificate({inner})")
}

/// The class a client derives from the rustls error, by the rule of `streamsocket-proto`'s
/// `cert` module: `UnknownIssuer` is `Untrusted` when the presented chain ends in a self-issued
/// certificate, otherwise `IncompleteChain`. rustls stops at the first problem, so this is the
/// scenario's primary class ([`testpki::Scenario::expected_error`]).
fn classify(identity: &ServerIdentity, err: &rustls::Error) -> Option<ExpectedError> {
    let rustls::Error::InvalidCertificate(cert) = err else {
        return None;
    };
    Some(match cert {
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            ExpectedError::Expired
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            ExpectedError::NotYetValid
        }
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            ExpectedError::InvalidName
        }
        CertificateError::UnknownIssuer => {
            let last = identity.chain.last()?;
            if self_issued(last) {
                ExpectedError::Untrusted
            } else {
                ExpectedError::IncompleteChain
            }
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            ExpectedError::WrongUsage
        }
        CertificateError::Revoked => ExpectedError::Revoked,
        CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. } => ExpectedError::RevocationFailure,
        CertificateError::BadSignature => ExpectedError::InvalidSignature,
        CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>()? {
            webpki::Error::EndEntityUsedAsCa | webpki::Error::CaUsedAsEndEntity => {
                ExpectedError::BasicConstraints
            }
            _ => return None,
        },
        _ => return None,
    })
}

fn self_issued(cert: &CertificateDer<'_>) -> bool {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).unwrap();
    parsed.issuer().as_raw() == parsed.subject().as_raw()
}
