//! Writes every scenario's PEM files for command-line peers.
//!
//! `cargo run -p testpki --example write_pem -- DIR [KEY_KIND]` creates `DIR/KEY_KIND/SCENARIO/`
//! with `chain.pem`, `key.pem`, `ca.pem` and (for `revoked` and `stale-crl`) `crl.pem`, plus
//! `DIR/KEY_KIND/client-trusted/` and `client-untrusted/` with `client-chain.pem` and
//! `client-key.pem`. Without KEY_KIND, all three key kinds are written. Certificates come from
//! `Pki::shared`, so they are the ones tests use.

use std::path::PathBuf;
use std::process::ExitCode;
use std::{env, fs};

use testpki::{KeyKind, Pki, Scenario};

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("write_pem: {err}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: write_pem DIR [KEY_KIND]")?);
    let kinds = match args.next() {
        Some(kind) => vec![kind.parse::<KeyKind>()?],
        None => KeyKind::ALL.to_vec(),
    };
    for key_kind in kinds {
        let pki = Pki::shared(key_kind);
        for scenario in Scenario::ALL {
            let out = dir.join(key_kind.name()).join(scenario.name());
            fs::create_dir_all(&out)?;
            pki.server(scenario)?.write_pem(&out)?;
        }
        for (trusted, name) in [(true, "client-trusted"), (false, "client-untrusted")] {
            let out = dir.join(key_kind.name()).join(name);
            fs::create_dir_all(&out)?;
            pki.client(trusted)?.write_pem(&out)?;
        }
        eprintln!("wrote {}", dir.join(key_kind.name()).display());
    }
    Ok(())
}
