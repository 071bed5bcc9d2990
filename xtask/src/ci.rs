//! `cargo xtask ci`: exactly what `.ci/run` and the workflows run, in order, stopping at the
//! first failure.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::util::run as sh;
use crate::util::{cargo, project_root};

/// The steps' names and how long each took, printed at the end (and when a step fails), so
/// that where CI's minutes go is on record in every run.
#[derive(Default)]
struct Steps(Vec<(&'static str, Duration)>);

impl Steps {
    fn run(
        &mut self,
        name: &'static str,
        step: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let started = Instant::now();
        let result = step();
        self.0.push((name, started.elapsed()));
        if result.is_err() {
            self.print();
        }
        result.with_context(|| format!("ci step {name:?} failed"))
    }

    fn print(&self) {
        eprintln!("\nci: step            seconds");
        for (name, took) in &self.0 {
            eprintln!("ci: {name:<16} {:>7.1}", took.as_secs_f64());
        }
        let total: Duration = self.0.iter().map(|(_, took)| *took).sum();
        eprintln!("ci: {:<16} {:>7.1}", "total", total.as_secs_f64());
    }
}

fn run_ci(skip_interop: bool, skip_fuzz: bool) -> anyhow::Result<()> {
    let mut steps = Steps::default();
    steps.run(
        "fmt",
        || sh(cargo().args(["fmt", "--all", "--", "--check"])),
    )?;
    steps.run("clippy", || {
        sh(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    // The README's test command, run the way `cargo insta test --check --unreferenced=reject`
    // runs it: snapshots are compared, never written, and every checked-in snapshot must be
    // used by some test.
    steps.run("test", || {
        let references = project_root().join("target/insta-references.txt");
        let _ = fs::remove_file(&references);
        sh(cargo()
            .args(["test", "--workspace", "--locked"])
            .env("INSTA_UPDATE", "no")
            .env("INSTA_FORCE_PASS", "0")
            .env("INSTA_SNAPSHOT_REFERENCES_FILE", &references))?;
        reject_unreferenced_snapshots(&references)
    })?;
    steps.run("doc", || {
        sh(cargo()
            .args(["doc", "--workspace", "--no-deps", "--locked"])
            .env("RUSTDOCFLAGS", "-D warnings"))
    })?;
    // The benchmarks must build; in the test profile, whose dependencies the test step has
    // built already (an optimised build of the whole workspace only to prove that it links
    // was CI's longest step; `cargo xtask bench` builds that profile when it measures).
    steps.run("bench build", || {
        sh(cargo().args(["build", "--workspace", "--benches", "--locked"]))
    })?;
    steps.run("conformance", || crate::conformance::run(&[]))?;
    if !skip_interop {
        steps.run("interop", || crate::interop::run(&[]))?;
    }
    if !skip_fuzz {
        // A few seconds per fuzz target, on the seed corpora (needs cargo-fuzz: `.ci/run`
        // installs it).
        steps.run("fuzz smoke", || crate::fuzz::run(&["--smoke".to_owned()]))?;
    }
    steps.print();
    Ok(())
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    for arg in args {
        if arg != "--skip-interop" && arg != "--skip-fuzz" {
            bail!("ci takes --skip-interop and --skip-fuzz only (got {arg:?})");
        }
    }
    let skip = |flag: &str| args.iter().any(|a| a == flag);
    run_ci(skip("--skip-interop"), skip("--skip-fuzz"))
}

/// Fails when a `.snap` file in the repository was not used by the test run that wrote
/// `references` (one snapshot path per line).
fn reject_unreferenced_snapshots(references: &Path) -> anyhow::Result<()> {
    let used: BTreeSet<PathBuf> = fs::read_to_string(references)
        .unwrap_or_default()
        .lines()
        .map(|l| fs::canonicalize(l).unwrap_or_else(|_| PathBuf::from(l)))
        .collect();
    let mut on_disk = Vec::new();
    for dir in ["crates", "xtask", "benches"] {
        find_snapshots(&project_root().join(dir), &mut on_disk)?;
    }
    let unreferenced: Vec<String> = on_disk
        .into_iter()
        .filter(|p| !used.contains(&fs::canonicalize(p).unwrap_or_else(|_| p.clone())))
        .map(|p| p.display().to_string())
        .collect();
    if !unreferenced.is_empty() {
        bail!(
            "snapshots no test uses (delete them or restore their test):\n{}",
            unreferenced.join("\n")
        );
    }
    eprintln!(
        "insta: every checked-in snapshot is referenced ({} used)",
        used.len()
    );
    Ok(())
}

fn find_snapshots(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        if path.file_name().is_some_and(|n| n == "target") {
            continue;
        }
        if path.is_dir() {
            find_snapshots(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "snap") {
            out.push(path);
        }
    }
    Ok(())
}
