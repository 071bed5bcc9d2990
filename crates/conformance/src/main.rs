//! The conformance runner's command line (`cargo xtask conformance` runs it).

use std::io::{IsTerminal, Write as _};
use std::path::{Component, Path, PathBuf};
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
        out: normalise(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/conformance")),
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
        // A reader that stops early (`| head`) ends the listing, not the process with a panic.
        let mut out = std::io::stdout().lock();
        for case in &cases {
            if writeln!(out, "{case}").is_err() {
                break;
            }
        }
        return Ok(true);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.jobs.clamp(1, 8))
        .enable_all()
        .build()?;
    let report = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(cases.len() as u64);
        // The template is a constant; it parses, or the bar falls back to the default style.
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} cases, {msg}, {elapsed} elapsed, about {eta} left",
        ) {
            bar.set_style(style);
        }
        bar.set_message("0 failed");
        let report = runtime.block_on(conformance::run(cases, args.jobs, |p| {
            bar.set_position(p.done as u64);
            bar.set_message(format!("{} failed", p.failed));
        }));
        bar.finish();
        report
    } else {
        runtime.block_on(conformance::run(cases, args.jobs, |p| {
            if p.done % 100 == 0 || p.done == p.total {
                eprintln!(
                    "conformance: {}/{} cases, {} failed",
                    p.done, p.total, p.failed
                );
            }
        }))
    };
    print!("{}", report.tables());
    report.write(&args.out)?;
    eprintln!("reports written to {}", shown(&args.out));
    Ok(report.failures() == 0)
}

/// `path` as a reader would type it: `.` and `..` resolved, and relative to the working
/// directory when it is inside it (`target/conformance`).
fn shown(path: &Path) -> String {
    let Ok(cwd) = std::env::current_dir() else {
        return normalise(path).display().to_string();
    };
    let absolute = normalise(&cwd.join(path));
    match absolute.strip_prefix(normalise(&cwd)) {
        Ok(inside) if !inside.as_os_str().is_empty() => inside.display().to_string(),
        _ => absolute.display().to_string(),
    }
}

/// Resolves `.` and `..` without asking the file system (the paths shown and written here are
/// the project's own, with no symbolic link to step back over).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_shown_as_a_reader_types_them() {
        assert_eq!(
            normalise(Path::new("/w/crates/conformance/../../target/conformance")),
            Path::new("/w/target/conformance")
        );
        assert_eq!(normalise(Path::new("a/./b/../c")), Path::new("a/c"));
        assert_eq!(normalise(Path::new("../x")), Path::new("../x"));
        let cwd = std::env::current_dir().unwrap();
        let inside = cwd.join("sub/../target/conformance");
        assert_eq!(shown(&inside), "target/conformance");
        assert_eq!(
            shown(Path::new("./target/./conformance")),
            "target/conformance"
        );
        let outside = normalise(&cwd.join("../elsewhere"));
        assert_eq!(shown(&outside), outside.display().to_string());
    }
}
