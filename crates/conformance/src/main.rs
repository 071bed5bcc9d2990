//! The conformance runner's command line (`cargo xtask conformance` runs it).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use conformance::report::Report;
use conformance::{inmemory, matrix};

fn main() -> ExitCode {
    match try_main() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("conformance: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

struct Args {
    filter: Option<String>,
    list: bool,
    jobs: usize,
    out: PathBuf,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args {
        filter: None,
        list: false,
        jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
        out: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance"),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--filter" => {
                args.filter = Some(
                    it.next()
                        .ok_or_else(|| anyhow::anyhow!("--filter needs EXPR"))?,
                )
            }
            "--list" => args.list = true,
            "--jobs" => {
                let n = it.next().ok_or_else(|| anyhow::anyhow!("--jobs needs N"))?;
                args.jobs = n
                    .parse()
                    .map_err(|_| anyhow::anyhow!("--jobs needs a number, got {n:?}"))?;
                anyhow::ensure!(args.jobs > 0, "--jobs must be at least 1");
            }
            "--out" => {
                args.out = it
                    .next()
                    .ok_or_else(|| anyhow::anyhow!("--out needs DIR"))?
                    .into()
            }
            "-h" | "--help" => {
                eprintln!(
                    "usage: conformance [--filter EXPR] [--list] [--jobs N] [--out DIR]\n\n\
                     EXPR keeps the cases whose id contains every `&`-separated part, e.g.\n\
                     `Tls12/smtp` or `imap&preauth`. Ids read LEVEL/MODE/SERVER/BEHAVIOUR/SCENARIO/KEY/CONTROL."
                );
                std::process::exit(0);
            }
            other => anyhow::bail!("unknown argument {other:?} (see --help)"),
        }
    }
    Ok(args)
}

#[allow(
    clippy::print_stdout,
    reason = "the summary table is this binary's output"
)]
fn try_main() -> anyhow::Result<bool> {
    let args = parse_args()?;
    let mut cases = matrix::default_matrix();
    if let Some(expr) = &args.filter {
        cases = matrix::filter(cases, expr);
    }
    if args.list {
        for case in &cases {
            println!("{case}");
        }
        return Ok(true);
    }
    let _ = args.jobs;
    let started = Instant::now();
    let report = Report {
        in_memory: [inmemory::policy_table(), inmemory::dialects()].concat(),
        cases: Vec::new(),
        duration: started.elapsed(),
    };
    print!("{}", report.tables());
    report.write(&args.out)?;
    eprintln!("reports written to {}", args.out.display());
    Ok(report.failures() == 0)
}
