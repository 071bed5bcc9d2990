//! The audit against real processes on loopback: the project's own `streamsocket connect`
//! passes every case that is not informational, deliberately careless clients are failed where
//! they must be, and the binary's command line and exit statuses.

mod binary;
mod careless;
mod conventions;
mod curl;
mod gnutls;
mod openssl;
mod python;
mod self_audit;
mod server;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::{Audit, AuditConfig, Verdict, run};

/// The `streamsocket` CLI, built once per test run next to this test binary (the package's
/// binary is not built for another package's tests) with the workspace's features, or
/// `STREAMSOCKET_BIN` when it is set.
pub(crate) fn streamsocket_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("STREAMSOCKET_BIN") {
            return bin.into();
        }
        let exe = std::env::current_exe().expect("the test binary's path");
        // target/<profile>/deps/it-<hash>
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("the profile directory");
        let target_dir = profile_dir.parent().expect("the target directory");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut build = Command::new(cargo);
        build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            // What `cargo test --workspace` builds, so that under it this is a no-op: a build
            // of this one package would resolve features without the rest of the workspace
            // and compile the client and its dependencies a second time (about a minute on a
            // fresh CI machine).
            .args(["test", "--workspace", "--no-run", "--quiet"])
            .arg("--target-dir")
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        let status = build.status().expect("cargo runs");
        assert!(status.success(), "building the streamsocket CLI failed");
        profile_dir.join("streamsocket")
    })
    .clone()
}

/// Audits `command` over `dialects`, `filter`ed, with a short case timeout.
pub(crate) async fn audit(
    command: Vec<String>,
    dialects: &[Dialect],
    filter: Option<&str>,
    case_timeout: Duration,
) -> Audit {
    run(AuditConfig {
        command,
        dialects: dialects.to_vec(),
        filter: filter.map(str::to_owned),
        jobs: 4,
        case_timeout,
        env: Vec::new(),
        ipv6: false,
    })
    .await
    .expect("the audit runs")
}

/// The ids with `verdict`, sorted.
pub(crate) fn ids(audit: &Audit, verdict: Verdict) -> Vec<String> {
    let mut ids: Vec<String> = audit.with(verdict).map(|r| r.id.clone()).collect();
    ids.sort();
    ids
}

/// Whether `program` runs (`program ARG` exits 0); says so when it does not, for the tests of
/// real clients that `.ci/run` installs but a developer's machine may lack.
pub(crate) fn installed(program: &str, arg: &str) -> bool {
    let found = Command::new(program)
        .arg(arg)
        .output()
        .is_ok_and(|out| out.status.success());
    if !found {
        eprintln!("{program} is not installed: its audit is not run");
    }
    found
}

/// `streamsocket connect {host} {port} --level Ssl --ca {ca} --crl {crl}` followed by `rest`:
/// the project's CLI pointed at the case, as every test of it starts.
pub(crate) fn streamsocket_connect(rest: &[&str]) -> Vec<String> {
    let mut command = vec![streamsocket_bin().display().to_string()];
    command.extend(strings(&[
        "connect", "{host}", "{port}", "--level", "Ssl", "--ca", "{ca}", "--crl", "{crl}",
    ]));
    command.extend(strings(rest));
    command
}

pub(crate) fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}
