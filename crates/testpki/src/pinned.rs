//! Keys checked in under `fixtures/keys/` (PKCS#8 PEM), generated once by
//! `cargo run -p testpki --example pin_keys`.
//!
//! They are compiled in, so the crate needs no files at run time. They are public: nothing but
//! tests may trust certificates made from them.

use rcgen::KeyPair;

use crate::issue::KeyRole;
use crate::{Error, KeyKind};

macro_rules! pinned {
    ($file:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/keys/",
            $file
        ))
    };
}

/// Parses the pinned key for `key_kind` and `role`.
pub(crate) fn load(key_kind: KeyKind, role: KeyRole) -> Result<KeyPair, Error> {
    KeyPair::from_pkcs8_pem_and_sign_algo(pem(key_kind, role), key_kind.algorithm()).map_err(
        |source| Error::PinnedKey {
            name: file_name(key_kind, role),
            source,
        },
    )
}

/// The fixture's file name, `{key kind}-{role}.pem`.
pub(crate) fn file_name(key_kind: KeyKind, role: KeyRole) -> String {
    format!("{}-{}.pem", key_kind.name(), role.name())
}

fn pem(key_kind: KeyKind, role: KeyRole) -> &'static str {
    match (key_kind, role) {
        (KeyKind::EcdsaP256, KeyRole::Client) => pinned!("ecdsa-p256-client.pem"),
        (KeyKind::EcdsaP256, KeyRole::Intermediate) => pinned!("ecdsa-p256-intermediate.pem"),
        (KeyKind::EcdsaP256, KeyRole::Leaf) => pinned!("ecdsa-p256-leaf.pem"),
        (KeyKind::EcdsaP256, KeyRole::RogueIntermediate) => {
            pinned!("ecdsa-p256-rogue-intermediate.pem")
        }
        (KeyKind::EcdsaP256, KeyRole::RogueRoot) => pinned!("ecdsa-p256-rogue-root.pem"),
        (KeyKind::EcdsaP256, KeyRole::Root) => pinned!("ecdsa-p256-root.pem"),
        (KeyKind::Ed25519, KeyRole::Client) => pinned!("ed25519-client.pem"),
        (KeyKind::Ed25519, KeyRole::Intermediate) => pinned!("ed25519-intermediate.pem"),
        (KeyKind::Ed25519, KeyRole::Leaf) => pinned!("ed25519-leaf.pem"),
        (KeyKind::Ed25519, KeyRole::RogueIntermediate) => pinned!("ed25519-rogue-intermediate.pem"),
        (KeyKind::Ed25519, KeyRole::RogueRoot) => pinned!("ed25519-rogue-root.pem"),
        (KeyKind::Ed25519, KeyRole::Root) => pinned!("ed25519-root.pem"),
        (KeyKind::Rsa2048, KeyRole::Client) => pinned!("rsa2048-client.pem"),
        (KeyKind::Rsa2048, KeyRole::Intermediate) => pinned!("rsa2048-intermediate.pem"),
        (KeyKind::Rsa2048, KeyRole::Leaf) => pinned!("rsa2048-leaf.pem"),
        (KeyKind::Rsa2048, KeyRole::RogueIntermediate) => pinned!("rsa2048-rogue-intermediate.pem"),
        (KeyKind::Rsa2048, KeyRole::RogueRoot) => pinned!("rsa2048-rogue-root.pem"),
        (KeyKind::Rsa2048, KeyRole::Root) => pinned!("rsa2048-root.pem"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_keys_load() {
        for key_kind in KeyKind::ALL {
            for role in KeyRole::ALL {
                let key = load(key_kind, role).unwrap();
                assert_eq!(
                    key.algorithm(),
                    key_kind.algorithm(),
                    "{}",
                    file_name(key_kind, role)
                );
            }
        }
    }

    #[test]
    fn pinned_keys_are_all_different() {
        let mut public_keys = Vec::new();
        for key_kind in KeyKind::ALL {
            for role in KeyRole::ALL {
                public_keys.push(load(key_kind, role).unwrap().public_key_raw().to_vec());
            }
        }
        let count = public_keys.len();
        public_keys.sort();
        public_keys.dedup();
        assert_eq!(public_keys.len(), count);
    }
}
