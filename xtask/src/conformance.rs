//! `cargo xtask conformance`: builds and runs the `conformance` crate's runner, which holds the
//! matrix, the oracle and the reports (kept out of xtask so that xtask stays small).

use crate::util::cargo_run;
use crate::util::run as sh;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let release = args.iter().any(|a| a == "--release");
    let mut cmd = cargo_run("conformance", "conformance");
    if release {
        cmd.arg("--release");
    }
    cmd.arg("--");
    // `cargo xtask conformance -- --list` and `cargo xtask conformance --list` mean the same.
    cmd.args(args.iter().filter(|a| *a != "--release" && *a != "--"));
    sh(&mut cmd)
}
