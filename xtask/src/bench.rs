//! `cargo xtask bench [--quick] [--criterion] [RATIO ARGS]`: the ratio harness of the
//! `streamsocket-benches` crate (interleaved rounds of in-memory rustls, tokio-rustls and the
//! project, openssl where installed, callgrind where installed), which writes
//! `target/bench/summary.json` and `summary.md`; with `--criterion`, the criterion suites too
//! (their reports stay under `target/criterion`).
//!
//! The measuring lives in the benches crate so that xtask stays small; this only builds and runs
//! it with the optimised `bench` profile.

use crate::util::{cargo, cargo_run, project_root, run as sh};

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let criterion = args.iter().any(|a| a == "--criterion");
    let quick = args.iter().any(|a| a == "--quick");
    let out = project_root().join("target").join("bench");

    let mut cmd = cargo_run("streamsocket-benches", "ratios");
    cmd.args(["--profile", "bench", "--", "--out"]);
    cmd.arg(&out);
    cmd.args(args.iter().filter(|a| *a != "--criterion" && *a != "--"));
    sh(&mut cmd)?;

    if criterion {
        let mut cmd = cargo();
        cmd.args([
            "bench",
            "--locked",
            "--package",
            "streamsocket-benches",
            "--benches",
            "--",
        ]);
        if quick {
            cmd.args(["--warm-up-time", "0.5", "--measurement-time", "1"]);
        }
        sh(&mut cmd)?;
    }
    eprintln!(
        "xtask: wrote {} and summary.md",
        crate::util::shown(&out.join("summary.json"))
    );
    Ok(())
}
