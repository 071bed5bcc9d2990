//! `cargo xtask ci`: exactly what `.ci/run` and the workflows run, in order, stopping at the
//! first failure.

use crate::util::cargo;
use crate::util::run as sh;

fn run_ci(skip_interop: bool) -> anyhow::Result<()> {
    sh(cargo().args(["fmt", "--all", "--", "--check"]))?;
    sh(cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    // The README's test command.
    sh(cargo().args(["test", "--workspace", "--locked"]))?;
    sh(cargo()
        .args(["doc", "--workspace", "--no-deps", "--locked"])
        .env("RUSTDOCFLAGS", "-D warnings"))?;
    sh(cargo().args(["bench", "--workspace", "--no-run", "--locked"]))?;
    crate::conformance::run(&[])?;
    if !skip_interop {
        crate::interop::run(&[])?;
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let skip_interop = args.iter().any(|a| a == "--skip-interop");
    run_ci(skip_interop)
}
