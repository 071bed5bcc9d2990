//! PEM files round-trip through rustls-pki-types's PEM parser.

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use testpki::{KeyKind, Pki, Scenario};

#[test]
fn server_pem_files_round_trip_for_every_scenario() {
    let dir = tempfile::tempdir().unwrap();
    for key_kind in KeyKind::ALL {
        for scenario in Scenario::ALL {
            let identity = Pki::shared(key_kind).server(scenario).unwrap();
            let files = identity.write_pem(dir.path()).unwrap();
            assert_eq!(files.chain, dir.path().join("chain.pem"));
            let chain: Vec<_> = CertificateDer::pem_file_iter(&files.chain)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(chain, identity.chain, "{key_kind} {scenario}");
            let ca: Vec<_> = CertificateDer::pem_file_iter(&files.ca)
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert_eq!(ca, identity.trust_anchors);
            let key = PrivateKeyDer::from_pem_file(&files.key).unwrap();
            assert_eq!(key, identity.key);
            assert!(matches!(key, PrivateKeyDer::Pkcs8(_)));
            match &files.crl {
                Some(path) => {
                    let crls: Vec<_> = CertificateRevocationListDer::pem_file_iter(path)
                        .unwrap()
                        .collect::<Result<_, _>>()
                        .unwrap();
                    assert_eq!(crls, identity.crls);
                    assert!(
                        matches!(scenario, Scenario::Revoked | Scenario::StaleCrl),
                        "{scenario}"
                    );
                }
                None => assert!(identity.crls.is_empty()),
            }
        }
    }
}

#[test]
fn root_pem_is_the_root_der() {
    let pki = Pki::shared(KeyKind::Rsa2048);
    let parsed = CertificateDer::from_pem_slice(pki.root_pem().as_bytes()).unwrap();
    assert_eq!(parsed, pki.root_der());
}

#[test]
fn client_pem_files_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let identity = Pki::shared(KeyKind::EcdsaP256).client(true).unwrap();
    let files = identity.write_pem(dir.path()).unwrap();
    let chain: Vec<_> = CertificateDer::pem_file_iter(&files.chain)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(chain, identity.chain);
    assert_eq!(
        PrivateKeyDer::from_pem_file(&files.key).unwrap(),
        identity.key
    );
}

#[test]
fn writing_into_a_missing_directory_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let identity = Pki::shared(KeyKind::Ed25519)
        .server(Scenario::Valid)
        .unwrap();
    let err = identity.write_pem(&missing).unwrap_err();
    assert!(
        matches!(err, testpki::Error::Write { ref path, .. } if path.starts_with(&missing)),
        "{err:?}"
    );
}
