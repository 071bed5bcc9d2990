//! `cargo xtask audit [OPTIONS] -- COMMAND [ARGS...]`: runs `streamsocket-audit client` (the
//! `streamsocket-audit` crate holds the cases, the rules and the reports) and passes its exit
//! status on: 0 clean, 1 findings, 2 bad command line, 3 the command never connected.

use anyhow::Context;

use crate::util::cargo_run;

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut cmd = cargo_run("streamsocket-audit", "streamsocket-audit");
    cmd.args(["--", "client"]);
    cmd.args(args);
    let status = cmd.status().context("cannot start cargo run")?;
    match status.code() {
        Some(0) => Ok(()),
        // The audit's own statuses say what happened; keep them for scripts and CI.
        Some(code) => std::process::exit(code),
        None => anyhow::bail!("streamsocket-audit was killed by a signal"),
    }
}
