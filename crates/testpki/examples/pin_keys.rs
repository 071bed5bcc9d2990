//! Generates the pinned keys under `fixtures/keys/` (run once; the files are checked in).
//!
//! `cargo run -p testpki --example pin_keys` refuses to overwrite existing files, since changing
//! them changes every pinned certificate fingerprint; delete them first to regenerate.

use std::fs;
use std::path::Path;
use std::process::ExitCode;

use rcgen::KeyPair;

const KINDS: [(&str, &rcgen::SignatureAlgorithm); 3] = [
    ("ecdsa-p256", &rcgen::PKCS_ECDSA_P256_SHA256),
    ("ed25519", &rcgen::PKCS_ED25519),
    ("rsa2048", &rcgen::PKCS_RSA_SHA256),
];
const ROLES: [&str; 6] = [
    "client",
    "intermediate",
    "leaf",
    "rogue-intermediate",
    "rogue-root",
    "root",
];

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("pin_keys: {err}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/keys");
    fs::create_dir_all(&dir)?;
    for (kind, alg) in KINDS {
        for role in ROLES {
            let path = dir.join(format!("{kind}-{role}.pem"));
            if path.exists() {
                return Err(format!("{} exists; delete it to regenerate", path.display()).into());
            }
            let key = KeyPair::generate_for(alg)?;
            fs::write(&path, key.serialize_pem())?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
