//! Client identities against rustls's `WebPkiClientVerifier`.

use rustls::CertificateError;
use rustls::server::WebPkiClientVerifier;
use testpki::{KeyKind, Pki, clock};

use crate::{provider, roots};

fn verify_client(pki: &Pki, trusted: bool) -> Result<(), rustls::Error> {
    let identity = pki.client(trusted).unwrap();
    assert_eq!(identity.trusted, trusted);
    assert_eq!(identity.key_kind, pki.key_kind());
    let verifier =
        WebPkiClientVerifier::builder_with_provider(roots(&[pki.client_ca_der()]), provider())
            .build()
            .unwrap();
    let (leaf, intermediates) = identity.chain.split_first().unwrap();
    verifier
        .verify_client_cert(leaf, intermediates, clock::reference_now())
        .map(|_| ())
}

#[test]
fn trusted_client_certificate_is_accepted_for_every_key_kind() {
    for key_kind in KeyKind::ALL {
        verify_client(Pki::shared(key_kind), true)
            .unwrap_or_else(|err| panic!("{key_kind}: {err}"));
    }
}

#[test]
fn untrusted_client_certificate_is_rejected_as_unknown_issuer() {
    for key_kind in KeyKind::ALL {
        let err = verify_client(Pki::shared(key_kind), false).unwrap_err();
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            "{key_kind}"
        );
    }
}

#[test]
fn client_certificate_is_not_a_server_certificate() {
    // The client leaf carries clientAuth only, so a server verifier must refuse it.
    let pki = Pki::shared(KeyKind::Ed25519);
    let client = pki.client(true).unwrap();
    let identity = testpki::ServerIdentity {
        chain: client.chain,
        ..pki.server(testpki::Scenario::Valid).unwrap()
    };
    let err = crate::verify(&identity, "localhost").unwrap_err();
    assert!(
        matches!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::InvalidPurposeContext { .. })
        ),
        "{err:?}"
    );
}

#[test]
fn client_keys_are_accepted_by_rustls() {
    for key_kind in KeyKind::ALL {
        for trusted in [true, false] {
            let identity = Pki::shared(key_kind).client(trusted).unwrap();
            rustls::ClientConfig::builder_with_provider(provider())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots(&[Pki::shared(key_kind).root_der()]))
                .with_client_auth_cert(identity.chain.clone(), identity.key.clone_key())
                .unwrap_or_else(|err| panic!("{key_kind} {trusted}: {err}"));
        }
    }
}
