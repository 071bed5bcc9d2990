//! Fixed serials, names and dates; byte-stable certificates with pinned Ed25519 and RSA keys.

use testpki::{KeyKind, Pki, Scenario, clock};
use x509_parser::prelude::{FromDer, X509Certificate};

#[test]
fn pinned_ed25519_and_rsa_certificates_are_byte_identical_across_pkis() {
    for key_kind in [KeyKind::Ed25519, KeyKind::Rsa2048] {
        let (first, second) = (
            Pki::pinned(key_kind).unwrap(),
            Pki::pinned(key_kind).unwrap(),
        );
        assert_eq!(first.root_der(), second.root_der());
        for scenario in Scenario::ALL {
            let (a, b) = (
                first.server(scenario).unwrap(),
                second.server(scenario).unwrap(),
            );
            assert_eq!(a.chain, b.chain, "{key_kind} {scenario}");
            assert_eq!(a.crls, b.crls, "{key_kind} {scenario}");
            assert_eq!(a.key, b.key);
        }
        assert_eq!(
            first.client(true).unwrap().chain,
            second.client(true).unwrap().chain
        );
    }
}

#[test]
fn pinned_ecdsa_certificates_differ_only_in_their_signatures() {
    let (first, second) = (
        Pki::pinned(KeyKind::EcdsaP256).unwrap(),
        Pki::pinned(KeyKind::EcdsaP256).unwrap(),
    );
    for scenario in Scenario::ALL {
        let (a, b) = (
            first.server(scenario).unwrap(),
            second.server(scenario).unwrap(),
        );
        for (x, y) in a.chain.iter().zip(&b.chain) {
            let (_, x) = X509Certificate::from_der(x).unwrap();
            let (_, y) = X509Certificate::from_der(y).unwrap();
            assert_eq!(
                x.tbs_certificate.as_ref(),
                y.tbs_certificate.as_ref(),
                "{scenario}"
            );
        }
    }
}

#[test]
fn certificates_carry_fixed_serials_and_validity() {
    let pki = Pki::shared(KeyKind::Ed25519);
    let mut serials = Vec::new();
    for scenario in Scenario::ALL {
        let identity = pki.server(scenario).unwrap();
        let (_, leaf) = X509Certificate::from_der(&identity.chain[0]).unwrap();
        serials.push(leaf.tbs_certificate.raw_serial().to_vec());
        let window = match scenario {
            Scenario::Expired => clock::expired(),
            Scenario::NotYetValid => clock::not_yet_valid(),
            _ => clock::valid(),
        };
        let validity = leaf.validity();
        assert_eq!(
            validity.not_before.timestamp(),
            window.not_before.unix_timestamp()
        );
        assert_eq!(
            validity.not_after.timestamp(),
            window.not_after.unix_timestamp()
        );
    }
    let count = serials.len();
    serials.sort();
    serials.dedup();
    assert_eq!(
        serials.len(),
        count,
        "every scenario has its own leaf serial"
    );
    let root = pki.root_der();
    let (_, root) = X509Certificate::from_der(&root).unwrap();
    assert_eq!(root.tbs_certificate.raw_serial(), [0x01, 0x01]);
    assert_eq!(
        root.subject().to_string(),
        "O=streamsocket testpki, CN=streamsocket testpki root (ed25519)"
    );
}

#[test]
fn shared_pki_is_made_once_per_key_kind() {
    for key_kind in KeyKind::ALL {
        assert!(std::ptr::eq(Pki::shared(key_kind), Pki::shared(key_kind)));
        assert_eq!(Pki::shared(key_kind).key_kind(), key_kind);
    }
}
