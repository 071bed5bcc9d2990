//! The whole default matrix on loopback, as `cargo test` runs it: every case must agree with the
//! oracle, and the negotiated parameters of every case are a reviewed snapshot, so any change
//! in what is negotiated fails CI until someone looks at it (`cargo insta review`).

use conformance::matrix::default_matrix;
use conformance::report::{CaseResult, Report};
use insta::dynamic_redaction;
use insta::internals::Content;

async fn run_matrix() -> Report {
    conformance::run(default_matrix(), 2, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_agrees_with_the_oracle_and_the_negotiated_parameters_are_reviewed() {
    let report = run_matrix().await;
    let failed: Vec<String> = report
        .cases
        .iter()
        .filter(|c| !c.pass)
        .map(|c| format!("{}: {}", c.id, c.error.clone().unwrap_or_default()))
        .chain(
            report
                .in_memory
                .iter()
                .filter(|c| !c.pass)
                .map(|c| c.name.clone()),
        )
        .collect();
    assert!(
        failed.is_empty(),
        "{} case(s) disagree with the oracle:\n{}",
        failed.len(),
        failed.join("\n")
    );
    assert!(
        report.cases.len() > 900,
        "the default matrix shrank to {}",
        report.cases.len()
    );

    let lines: Vec<String> = report.cases.iter().map(CaseResult::snapshot_line).collect();
    insta::assert_snapshot!("matrix", lines.join("\n"));

    // Every certificate scenario, with every key type, explains its errors; the oracle checked
    // each context's fields, this keeps their wording reviewed. Only the distance from today
    // moves, so the day counts are filtered after the text around them is pinned.
    let contexts = report.certificate_contexts();
    let scenarios: std::collections::BTreeSet<&str> = contexts
        .iter()
        .filter_map(|(name, _)| name.split(' ').next())
        .collect();
    assert_eq!(
        scenarios.len(),
        testpki::Scenario::ALL.len() - 1,
        "{scenarios:?}"
    );
    assert_eq!(
        contexts.len(),
        3 * scenarios.len(),
        "every key type of every scenario"
    );
    let text: Vec<String> = contexts
        .iter()
        .map(|(name, lines)| format!("{name}\n  {}", lines.join("\n  ")))
        .collect();
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"expired \d+ days ago", "expired [n] days ago");
    settings.add_filter(r"for another \d+ days", "for another [n] days");
    settings.bind(|| insta::assert_snapshot!("certificate_contexts", text.join("\n")));

    for id in REPRESENTATIVE {
        let case = report
            .cases
            .iter()
            .find(|c| c.id == *id)
            .unwrap_or_else(|| panic!("representative case {id} is not in the matrix"));
        let name = id.replace('/', "_");
        let mut settings = insta::Settings::clone_current();
        settings.add_redaction(".local_address", dynamic_redaction(loopback_address));
        settings.add_redaction(".remote_address", dynamic_redaction(loopback_address));
        settings.add_redaction(
            ".handshake_duration_ms",
            dynamic_redaction(positive_duration),
        );
        settings.add_redaction(
            ".server_certificate_error_details[].context.checked_at",
            dynamic_redaction(real_time),
        );
        settings.add_redaction(
            ".server_certificate_error_details[].context.outside_by_secs",
            dynamic_redaction(seconds_outside),
        );
        settings.add_redaction(
            ".bytes_sent_after_upgrade",
            dynamic_redaction(plausible_tls_bytes),
        );
        settings.add_redaction(
            ".bytes_received_after_upgrade",
            dynamic_redaction(plausible_tls_bytes),
        );
        // Ed25519 and RSA PKCS#1 signatures over pinned keys are deterministic, so their
        // fingerprints stay in the snapshot; ECDSA signatures are randomised.
        if case.case.key == conformance::case::Key::EcdsaP256 {
            settings.add_redaction(
                ".server_certificates[].sha256_fingerprint",
                dynamic_redaction(sha256_hex),
            );
        }
        settings.bind(|| insta::assert_yaml_snapshot!(name, case.information));
    }
}

/// A handful of cases whose full `SocketInformation` is snapshotted.
const REPRESENTATIVE: &[&str] = &[
    "Ssl/connect/tls12+13/honest/valid/ecdsa-p256/defaults",
    "Tls12/smtp/tls12+13/honest/valid/ecdsa-p256/defaults",
    "Tls13/imap/tls13/honest/valid/ecdsa-p256/defaults",
    "Ssl/connect/tls12+13/honest/expired/ecdsa-p256/ignore-errors",
    "Ssl/connect/tls12+13/honest/wrong-host/ed25519/defaults",
    "Ssl/smtp/tls12/honest/revoked/rsa2048/defaults",
    "Ssl/connect/tls13/honest/valid/ecdsa-p256/mtls",
    "Tls10/smtp/tls12+13/honest/valid/ecdsa-p256/defaults",
];

fn loopback_address(value: Content, _: insta::internals::ContentPath<'_>) -> String {
    let text = value.as_str().unwrap_or_default().to_owned();
    assert!(
        text.starts_with("127.0.0.1:") || text.starts_with("[::1]:") || text.is_empty(),
        "not a loopback address: {text:?}"
    );
    if text.is_empty() {
        "[none]".to_owned()
    } else {
        "[loopback]:[port]".to_owned()
    }
}

fn positive_duration(value: Content, _: insta::internals::ContentPath<'_>) -> String {
    match value.as_f64() {
        Some(ms) => {
            assert!(ms > 0.0, "handshake duration {ms} ms");
            "[duration]".to_owned()
        }
        None => "[none]".to_owned(),
    }
}

/// The real clock of the run: RFC 3339 in UTC, after testpki's reference instant.
fn real_time(value: Content, _: insta::internals::ContentPath<'_>) -> String {
    let text = value.as_str().unwrap_or_default();
    assert!(
        text.len() == 20 && text.ends_with('Z') && text > "2025-06-01T00:00:00Z",
        "not a time of this run: {text:?}"
    );
    "[now]".to_owned()
}

/// How far outside its window a certificate is: testpki's windows end in 2021 or start in 2080,
/// years from any run.
fn seconds_outside(value: Content, _: insta::internals::ContentPath<'_>) -> String {
    let secs = value.as_u64().unwrap_or_default();
    assert!(secs > 4 * 365 * 86_400, "outside by {secs} s");
    "[secs]".to_owned()
}

fn plausible_tls_bytes(value: Content, _: insta::internals::ContentPath<'_>) -> String {
    let bytes = value.as_u64().unwrap_or_default();
    // A TLS handshake costs a few hundred bytes at least and, with these chains, well under
    // 64 KiB; zero means no handshake happened.
    assert!(
        bytes == 0 || (100..65_536).contains(&bytes),
        "implausible TLS byte count {bytes}"
    );
    if bytes == 0 {
        "0".to_owned()
    } else {
        "[bytes]".to_owned()
    }
}

fn sha256_hex(value: Content, _: insta::internals::ContentPath<'_>) -> String {
    let text = value.as_str().unwrap_or_default();
    let hex: String = text.chars().filter(|c| *c != ':').collect();
    assert_eq!(hex.len(), 64, "not a SHA-256 fingerprint: {text:?}");
    assert!(
        hex.chars().all(|c| c.is_ascii_hexdigit()),
        "not hex: {text:?}"
    );
    "[sha256]".to_owned()
}

/// The runner's command line: plain progress lines when stderr is not a terminal, a bar when it
/// is (under util-linux `script`), and the report directory shown as the reader typed it.
#[test]
fn the_runner_shows_progress_and_where_the_reports_went() {
    let bin = env!("CARGO_BIN_EXE_conformance");
    let filter = "Tls13/connect&honest/valid/ecdsa-p256/defaults";
    let out = std::process::Command::new(bin)
        .args(["--filter", filter, "--out", "./cli-run/../cli-reports"])
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr,
        "conformance: 7/7 cases, 0 failed\nreports written to cli-reports\n"
    );
    let reports = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-reports");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(reports.join("report.json")).unwrap()).unwrap();
    let html = std::fs::read_to_string(reports.join("report.html")).unwrap();
    let cases = json["cases"].as_array().unwrap().len();
    assert_eq!(cases, 7);
    assert!(
        html.contains(&format!(
            "data-cases=\"{cases}\" data-pass=\"{cases}\" data-fail=\"0\""
        )),
        "{html}"
    );

    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        // No `script` here: the piped run above still holds.
        return;
    }
    let run = format!("{bin} --filter '{filter}' --out cli-reports");
    let tty = std::process::Command::new("script")
        .args(["-qec", &run, "/dev/null"])
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&tty.stdout);
    assert!(screen.contains("7/7 cases, 0 failed"), "{screen:?}");
    assert!(!screen.contains("conformance: 7/7"), "{screen:?}");
}

/// `--list` into a pipe whose reader is already gone (as `| head` is after its lines) ends
/// quietly instead of panicking on the broken pipe.
#[test]
fn the_list_into_a_closed_pipe_ends_quietly() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_conformance"))
        .arg("--list")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}
