//! `cargo xtask interop`: the mock server and the client against programs no one here wrote.
//!
//! It installs nothing: it names each missing peer and runs what it can.

use anyhow::bail;

use crate::util::have;

/// Programs this task drives, with the Debian package that provides each.
const PEERS: [(&str, &str); 3] = [
    ("openssl", "openssl"),
    ("curl", "curl"),
    ("gnutls-cli", "gnutls-bin"),
];

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("interop takes no arguments (got {arg:?})");
    }
    for (program, package) in PEERS {
        if have(program) {
            eprintln!("interop: found {program}");
        } else {
            eprintln!(
                "interop: {program} is missing (Debian package {package}); its cases are skipped"
            );
        }
    }
    eprintln!("interop: no peer cases yet: they arrive with the mock server binary (issue 4)");
    Ok(())
}
