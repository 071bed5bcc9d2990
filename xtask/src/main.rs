//! Project automation, run as `cargo xtask TASK` (an alias in `.cargo/config.toml`).
//!
//! Tasks:
//!
//! - `conformance [ARGS]`: the protection-level matrix (`crates/conformance`), every case against
//!   an independent oracle; writes `target/conformance/`.
//! - `bench [--quick]`: the criterion benchmarks and their ratios; writes `target/bench/`.
//! - `interop`: the mock server and the client against programs no one here wrote (openssl,
//!   curl, gnutls-cli); names every peer that is missing and installs nothing.
//! - `fuzz [--seconds N | --smoke]`: each fuzz target for N seconds (needs cargo-fuzz; works on
//!   stable through `RUSTC_BOOTSTRAP=1`, see `fuzz/README.md`).
//! - `audit [OPTIONS] -- COMMAND [ARGS...]`: `streamsocket-audit client`, a TLS/STARTTLS client
//!   program judged against every honest and hostile mock server (exit status passed on).
//! - `ci`: what `.ci/run` and the workflows run: fmt, clippy, tests, docs, conformance, interop.
//! - `tidy`: repository checks (also a `#[test]`).

mod audit;
mod bench;
mod ci;
mod conformance;
mod fuzz;
mod interop;
mod tidy;
mod util;

use std::env;
use std::process::ExitCode;

fn main() -> ExitCode {
    match try_main() {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn try_main() -> anyhow::Result<()> {
    let mut args = env::args().skip(1);
    let task = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    match task.as_str() {
        "audit" => audit::run(&rest),
        "bench" => bench::run(&rest),
        "conformance" => conformance::run(&rest),
        "interop" => interop::run(&rest),
        "fuzz" => fuzz::run(&rest),
        "ci" => ci::run(&rest),
        "tidy" => tidy::run(),
        "" | "help" | "--help" | "-h" => {
            print_help();
            Ok(())
        }
        other => {
            print_help();
            anyhow::bail!("unknown task {other:?}")
        }
    }
}

fn print_help() {
    eprintln!(
        "usage: cargo xtask TASK [ARGS]\n\n\
         tasks:\n  \
         audit [--dialect D] [--filter T] ... -- COMMAND [ARGS]        audit a TLS/STARTTLS client program\n  \
         conformance [--filter EXPR] [--list] [--jobs N] [--release]   protection-level matrix\n  \
         bench [--quick]                                             benchmarks and ratios\n  \
         interop                                                     real peers (openssl, curl, gnutls-cli)\n  \
         fuzz [--seconds N | --smoke] [--target NAME]                fuzz targets (cargo-fuzz, stable ok)\n  \
         ci                                                          fmt, clippy, tests, docs, conformance, interop\n  \
         tidy                                                        repository checks"
    );
}
