//! The ratio harness: interleaved rounds of [M, R, P] (in-memory rustls, tokio-rustls over
//! loopback, the project), then every figure's median and spread and every ratio against its
//! target, written to `summary.json` and `summary.md`. `cargo xtask bench [--quick]` runs it.
//!
//! Within a round, every handshake figure is measured in `--slices` short slices, one pass over
//! all of them after another (M, plain TCP, R, P, ... M, plain TCP, R, P, ...), and summed: a
//! neighbour's load that comes and goes over a few seconds then weighs on every party alike,
//! instead of on whichever party was running at the time.
//!
//! ```text
//! ratios [--quick] [--out DIR] [--rounds N] [--seconds S] [--slices N] [--no-callgrind]
//!        [--no-openssl]
//! ratios worker --party P --n N         (what callgrind and strace run: N handshake units of
//!                                        m, r, p, m-resumed, r-resumed, p-resumed, p-smtp,
//!                                        p-framed, p-ignore, r-2w or p-2w)
//! ratios hold --addr IP:PORT --n N      (a client process holding N idle TLS connections)
//! ```
//!
//! A figure that cannot be measured (a missing program, a missing feature) is `null` with the
//! reason; nothing is ever filled in by hand.
//!
//! One module per job: `figures` (what every figure means), `measures` (how each is sampled in
//! a round), `ratio` (the ratio tables and their targets), `run` (warm-up, rounds and the
//! counts), `results` (the samples and the models derived from them), `heap` (allocation and
//! heap counting), `workers` (the child processes that callgrind, strace and the idle-heap
//! figure run), `report` (`summary.json` and `summary.md`).

#![allow(clippy::print_stdout, reason = "a command-line report")]

mod figures;
mod heap;
mod measures;
mod ratio;
mod report;
mod results;
mod run;
mod workers;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("worker") => workers::worker(&args[1..]),
        Some("hold") => workers::hold(&args[1..]),
        _ => Options::parse(&args).and_then(run::run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ratios: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Command-line options of a harness run.
#[derive(Clone, Debug)]
struct Options {
    quick: bool,
    out: PathBuf,
    rounds: usize,
    seconds: f64,
    slices: u32,
    bulk_bytes: u64,
    callgrind: bool,
    openssl: bool,
    idle_connections: usize,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut options = Self {
            quick,
            out: PathBuf::from("target/bench"),
            rounds: if quick { 5 } else { 7 },
            seconds: if quick { 1.0 } else { 3.0 },
            slices: if quick { 10 } else { 15 },
            bulk_bytes: if quick { 256 << 20 } else { 1 << 30 },
            callgrind: true,
            openssl: true,
            idle_connections: 1000,
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--quick" => {}
                // `cargo bench` passes this to every bench target.
                "--bench" => {}
                "--no-callgrind" => options.callgrind = false,
                "--no-openssl" => options.openssl = false,
                "--out" => options.out = PathBuf::from(value(&mut iter, arg)?),
                "--rounds" => options.rounds = value(&mut iter, arg)?.parse()?,
                "--seconds" => options.seconds = value(&mut iter, arg)?.parse()?,
                "--slices" => options.slices = value(&mut iter, arg)?.parse()?,
                "--bulk-mib" => options.bulk_bytes = value(&mut iter, arg)?.parse::<u64>()? << 20,
                "--idle" => options.idle_connections = value(&mut iter, arg)?.parse()?,
                other => bail!("unknown argument {other:?}"),
            }
        }
        if options.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        if options.slices == 0 {
            bail!("--slices must be at least 1");
        }
        Ok(options)
    }
}

fn value<'a>(iter: &mut impl Iterator<Item = &'a String>, flag: &str) -> anyhow::Result<&'a str> {
    iter.next()
        .map(String::as_str)
        .with_context(|| format!("{flag} needs a value"))
}
