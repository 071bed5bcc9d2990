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

/// A bash SMTP client that sends MAIL in plaintext whatever the server offers.
const PLAINTEXT_MAILER: &str = r#"exec 3<>"/dev/tcp/$0/$1" || exit 1
read -r -t 5 line <&3
printf 'EHLO careless.test\r\nMAIL FROM:<a@careless.test>\r\nQUIT\r\n' >&3
while IFS= read -r -t 5 line <&3; do case "$line" in 221*) exit 0;; esac; done"#;

#[test]
fn a_baseline_turns_known_failures_into_a_clean_run_and_new_ones_still_fail() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let baseline = dir.path().join("expect.json").display().to_string();
    let client = ["--", "bash", "-c", PLAINTEXT_MAILER, "{host}", "{port}"];
    let audit = |extra: &[&str], filter: &str| {
        let mut args = vec!["client", "--dialect", "smtp", "--filter", filter];
        args.extend_from_slice(extra);
        args.extend_from_slice(&client);
        run(&args)
    };

    // Today's findings, written as the baseline: the run itself still fails.
    let first = audit(&["--write-expect", &baseline], "not-advertised");
    assert_eq!(first.status.code(), Some(1), "{first:?}");
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&baseline).expect("the baseline is written"))
            .expect("the baseline is JSON");
    assert_eq!(
        written["failing"],
        serde_json::json!(["smtp-valid-starttls-not-advertised-ecdsa-p256"]),
        "{written}"
    );

    // Against it, the same failure is known: exit 0.
    let again = audit(&["--expect", &baseline], "not-advertised");
    assert_eq!(again.status.code(), Some(0), "{again:?}");
    let text = String::from_utf8_lossy(&again.stdout);
    assert!(text.contains("0 new, 1 known, 0 fixed"), "{text}");

    // A failure the baseline does not list is new: exit 1.
    let wider = audit(&["--expect", &baseline], "starttls-");
    assert_eq!(wider.status.code(), Some(1), "{wider:?}");
    let text = String::from_utf8_lossy(&wider.stdout);
    assert!(
        text.contains("NEW smtp-valid-starttls-refused-ecdsa-p256"),
        "{text}"
    );

    // A baseline that cannot be read is a bad command line, before any case runs.
    std::fs::write(&baseline, "not json").expect("write");
    let bad = audit(&["--expect", &baseline], "not-advertised");
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

#[test]
fn env_templates_and_ipv6_reach_the_command() {
    // The port comes through the environment only, the server listens on ::1: the mailer
    // connects (so it is judged, and failed for its plaintext MAIL) only if both worked.
    let mailer = PLAINTEXT_MAILER.replace("$0/$1", "$0/$AUDIT_PORT");
    let out = run(&[
        "client",
        "--dialect",
        "smtp",
        "--filter",
        "not-advertised",
        "--ipv6",
        "--env",
        "AUDIT_PORT={port}",
        "--",
        "bash",
        "-c",
        &mailer,
        "{host}",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("sent MAIL in plaintext"), "{text}");

    for bad in ["NOEQUALS", "1X=y", "A-B=c"] {
        let out = run(&["client", "--env", bad, "--", "true"]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
    }
}

#[test]
fn list_into_a_closed_pipe_ends_quietly() {
    // The reader is gone before the first line is written (as `| head` is after its lines).
    let mut child = Command::new(BIN)
        .args(["client", "--list"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("it ends");
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{out:?}"
    );
}
