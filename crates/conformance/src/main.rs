//! The conformance runner's command line (`cargo xtask conformance` runs it).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use conformance::matrix;

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
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.jobs.clamp(1, 8))
        .enable_all()
        .build()?;
    let interactive = std::io::stderr().is_terminal();
    let report = runtime.block_on(conformance::run(cases, args.jobs, |done, total| {
        if interactive {
            let width = 40;
            let filled = done * width / total.max(1);
            eprint!(
                "\r[{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                eprintln!();
            }
        } else if done % 100 == 0 || done == total {
            eprintln!("conformance: {done}/{total} cases");
        }
    }));
    print!("{}", report.tables());
    report.write(&args.out)?;
    eprintln!("reports written to {}", args.out.display());
    Ok(report.failures() == 0)
}
