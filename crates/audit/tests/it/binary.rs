//! The `streamsocket-audit` binary: `--list`, exit statuses 2 and 3, and the report file.

use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_streamsocket-audit");

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

#[test]
fn list_prints_the_cases_of_the_chosen_dialects() {
    let out = run(&["client", "--dialect", "imap", "--list"]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("imap-valid-preauth-ecdsa-p256"), "{text}");
    assert!(text.lines().all(|l| l.contains("imap-")), "{text}");
}

#[test]
fn a_bad_command_line_exits_with_2() {
    for args in [
        &["client", "--jobs", "0", "--", "true"][..],
        &["client", "--dialect", "gopher", "--", "true"],
        &["client"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
    }
}

#[test]
fn a_command_that_never_connects_exits_with_3_and_says_so() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let report_dir = dir.path().display().to_string();
    let out = run(&[
        "client",
        "--dialect",
        "smtp",
        "--filter",
        "expired",
        "--report-dir",
        &report_dir,
        "--",
        "true",
        "{host}",
        "{port}",
    ]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("never connected to the mock server in any case"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(dir.path().join("audit.json")).expect("audit.json is written"),
    )
    .expect("audit.json is JSON");
    let results = json["results"].as_array().expect("results");
    assert!(!results.is_empty());
    assert!(
        results.iter().all(|r| r["verdict"] == "inconclusive"),
        "{json}"
    );
}
