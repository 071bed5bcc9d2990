//! `cargo xtask fuzz`: runs every cargo-fuzz target of `fuzz/` for a while, as many at once as
//! there are cores, and reports executions, time and crashes per target.
//!
//! It installs nothing: without `cargo-fuzz` on the PATH it says how to install it and fails.
//! It works on the stable toolchain: cargo-fuzz's `-Z` flags are accepted there with
//! `RUSTC_BOOTSTRAP=1` (see `fuzz/README.md`). Seeds are read from `fixtures/fuzz/<target>/`
//! (never written); what the fuzzer learns goes to `fuzz/corpus/<target>/` and crashes to
//! `fuzz/artifacts/<target>/` (both ignored by git). Logs and `summary.json` are written to
//! `target/fuzz/`.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use crate::util::{cargo, have, project_root};

const USAGE: &str = "usage: cargo xtask fuzz [--seconds N | --smoke] [--target NAME]... \
                     [--sanitizer none|address]";

/// Seconds per target of `--smoke` (CI).
const SMOKE_SECONDS: u64 = 5;

/// Seconds per target without `--seconds` or `--smoke`.
const DEFAULT_SECONDS: u64 = 60;

/// The protocol tokens handed to libFuzzer (relative to the project root).
const DICTIONARY: &str = "fuzz/starttls.dict";

/// The longest input libFuzzer generates; the oracles cut it into chunks and replay it three
/// times, so longer inputs only slow the search down.
const MAX_LEN: u32 = 4096;

struct Options {
    seconds: u64,
    targets: Vec<String>,
    sanitizer: String,
}

/// One target's run, as written to `target/fuzz/summary.json`.
#[derive(Debug, Serialize)]
struct Report {
    target: String,
    seconds: u64,
    executions: Option<u64>,
    crashed: bool,
    artifacts: Vec<String>,
    reproduce: String,
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let options = parse(args)?;
    if !have("cargo-fuzz") {
        bail!(
            "cargo-fuzz is not installed; install it with `cargo install cargo-fuzz --locked` \
             (this task installs nothing itself)"
        );
    }
    let root = project_root();
    let available = targets(&root)?;
    let selected: Vec<String> = if options.targets.is_empty() {
        available
    } else {
        for target in &options.targets {
            if !available.contains(target) {
                bail!(
                    "unknown fuzz target {target:?} (known: {})",
                    available.join(", ")
                );
            }
        }
        options.targets.clone()
    };
    let out_dir = root.join("target/fuzz");
    fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", crate::util::shown(&out_dir)))?;
    eprintln!(
        "fuzz: {} target(s), {} s each, sanitizer {}, toolchain {}",
        selected.len(),
        options.seconds,
        options.sanitizer,
        rustc_version()
    );
    // Build everything first, so that no target's time is spent compiling.
    crate::util::run(fuzz_command().args([
        "build",
        "--fuzz-dir",
        "fuzz",
        "-s",
        &options.sanitizer,
    ]))?;
    let reports = run_all(&root, &out_dir, &selected, &options)?;
    let summary = serde_json::to_string_pretty(&reports)?;
    fs::write(out_dir.join("summary.json"), summary + "\n")?;
    eprintln!("\nfuzz: target            seconds   executions  crashes");
    for report in &reports {
        let executions = report
            .executions
            .map_or_else(|| "?".to_owned(), |n| n.to_string());
        eprintln!(
            "fuzz: {:<18} {:>8} {:>12} {:>8}",
            report.target,
            report.seconds,
            executions,
            usize::from(report.crashed)
        );
    }
    eprintln!("fuzz: summary in target/fuzz/summary.json, logs in target/fuzz/<target>.log");
    let crashed: Vec<&Report> = reports.iter().filter(|report| report.crashed).collect();
    if crashed.is_empty() {
        return Ok(());
    }
    for report in &crashed {
        eprintln!(
            "fuzz: {} crashed: {:?}\nfuzz:   reproduce: {}\nfuzz:   keep it: copy the input to \
             fixtures/fuzz/{}/ (replayed by `cargo test -p streamsocket-proto --test hostile`)",
            report.target, report.artifacts, report.reproduce, report.target
        );
    }
    bail!("{} fuzz target(s) crashed", crashed.len())
}

fn parse(args: &[String]) -> anyhow::Result<Options> {
    let mut options = Options {
        seconds: DEFAULT_SECONDS,
        targets: Vec::new(),
        sanitizer: "none".to_owned(),
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                let value = args.next().context(USAGE)?;
                options.seconds = value
                    .parse()
                    .with_context(|| format!("--seconds takes a number, not {value:?}"))?;
                if options.seconds == 0 {
                    bail!("--seconds must be at least 1");
                }
            }
            "--smoke" => options.seconds = SMOKE_SECONDS,
            "--target" => options.targets.push(args.next().context(USAGE)?.clone()),
            "--sanitizer" => {
                let value = args.next().context(USAGE)?;
                if !matches!(value.as_str(), "none" | "address") {
                    bail!("--sanitizer is none or address, not {value:?}");
                }
                options.sanitizer.clone_from(value);
            }
            "-h" | "--help" => bail!(USAGE),
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(options)
}

/// Runs every target, as many at once as there are cores (each libFuzzer process is one
/// thread, and each target still gets its full time); the reports come back in `selected`'s
/// order.
fn run_all(
    root: &Path,
    out_dir: &Path,
    selected: &[String],
    options: &Options,
) -> anyhow::Result<Vec<Report>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(selected.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, anyhow::Result<Report>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = selected.get(index) else {
                        break;
                    };
                    let report = run_target(root, out_dir, target, options);
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((index, report));
                }
            });
        }
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, report)| report).collect()
}

/// The targets: the files of `fuzz/fuzz_targets/`.
fn targets(root: &Path) -> anyhow::Result<Vec<String>> {
    let dir = root.join("fuzz/fuzz_targets");
    let mut names = Vec::new();
    for entry in
        fs::read_dir(&dir).with_context(|| format!("cannot read {}", crate::util::shown(&dir)))?
    {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".rs") {
            names.push(stem.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// `cargo fuzz` on the current toolchain, unlocked for cargo-fuzz's `-Z` flags.
fn fuzz_command() -> Command {
    let mut cmd = cargo();
    cmd.arg("fuzz").env("RUSTC_BOOTSTRAP", "1");
    cmd
}

fn run_target(
    root: &Path,
    out_dir: &Path,
    target: &str,
    options: &Options,
) -> anyhow::Result<Report> {
    let corpus = format!("fuzz/corpus/{target}");
    let seeds = format!("fixtures/fuzz/{target}");
    let artifacts = format!("fuzz/artifacts/{target}");
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(root.join(dir))?;
    }
    let before = list(&root.join(&artifacts));
    let log_path = out_dir.join(format!("{target}.log"));
    let log = fs::File::create(&log_path)
        .with_context(|| format!("cannot create {}", crate::util::shown(&log_path)))?;
    let mut cmd = fuzz_command();
    cmd.args([
        "run",
        "--fuzz-dir",
        "fuzz",
        "-s",
        &options.sanitizer,
        target,
        &corpus,
        &seeds,
    ])
    .arg("--")
    .arg(format!("-max_total_time={}", options.seconds))
    .arg(format!("-max_len={MAX_LEN}"))
    .arg("-timeout=10")
    .arg("-rss_limit_mb=2048")
    .arg("-print_final_stats=1")
    .arg(format!("-dict={DICTIONARY}"))
    .stdout(Stdio::null())
    .stderr(log);
    eprintln!(
        "fuzz: {target} for {} s (log: target/fuzz/{target}.log)",
        options.seconds
    );
    let started = Instant::now();
    let status = cmd
        .status()
        .with_context(|| format!("cannot start cargo fuzz run {target}"))?;
    let elapsed = started.elapsed().as_secs();
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    let executions = executions(&text);
    let new_artifacts: Vec<String> = list(&root.join(&artifacts))
        .into_iter()
        .filter(|name| !before.contains(name))
        .map(|name| format!("{artifacts}/{name}"))
        .collect();
    let crashed = !status.success() || !new_artifacts.is_empty();
    if crashed {
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for line in tail.into_iter().rev() {
            eprintln!("  | {line}");
        }
    }
    let input = new_artifacts
        .first()
        .cloned()
        .unwrap_or_else(|| "INPUT".to_owned());
    Ok(Report {
        target: target.to_owned(),
        seconds: elapsed,
        executions,
        crashed,
        artifacts: new_artifacts,
        reproduce: format!(
            "RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s {} {target} {input}",
            options.sanitizer
        ),
    })
}

/// The executions libFuzzer reports at the end (`stat::number_of_executed_units`, or the last
/// `#N` status line).
fn executions(log: &str) -> Option<u64> {
    let stat = log.lines().find_map(|line| {
        line.strip_prefix("stat::number_of_executed_units:")
            .and_then(|n| n.trim().parse().ok())
    });
    stat.or_else(|| {
        log.lines().rev().find_map(|line| {
            let rest = line.strip_prefix('#')?;
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        })
    })
}

fn list(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

fn rustc_version() -> String {
    Command::new("rustc")
        .arg("-V")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map_or_else(|| "unknown".to_owned(), |v| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_parse_seconds_smoke_targets_and_sanitizer() {
        let options = parse(&args(&["--seconds", "90", "--target", "line_reader"])).unwrap();
        assert_eq!(options.seconds, 90);
        assert_eq!(options.targets, ["line_reader"]);
        assert_eq!(options.sanitizer, "none");
        let options = parse(&args(&["--smoke", "--sanitizer", "address"])).unwrap();
        assert_eq!(options.seconds, SMOKE_SECONDS);
        assert_eq!(options.sanitizer, "address");
        assert_eq!(parse(&[]).unwrap().seconds, DEFAULT_SECONDS);
        for bad in [
            &["--seconds"][..],
            &["--seconds", "x"],
            &["--seconds", "0"],
            &["--sanitizer", "memory"],
            &["--bogus"],
        ] {
            assert!(parse(&args(bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn executions_are_read_from_the_final_stats_or_the_last_status_line() {
        let log = "#2\tINITED cov: 10\n#4096\tpulse\n#123456\tDONE cov: 99\n\
                   stat::number_of_executed_units: 123457\n";
        assert_eq!(executions(log), Some(123_457));
        assert_eq!(executions("#77\tNEW cov: 3\n#78\tREDUCE\n"), Some(78));
        assert_eq!(executions("no stats"), None);
    }

    #[test]
    fn every_target_has_seeds() {
        let root = project_root();
        let names = targets(&root).unwrap();
        assert!(names.len() >= 9, "{names:?}");
        for name in names {
            assert!(
                !list(&root.join("fixtures/fuzz").join(&name)).is_empty(),
                "{name} has no seeds"
            );
        }
    }
}
