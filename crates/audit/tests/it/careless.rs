//! Deliberately careless clients, each failed exactly where it must be: an audit that cannot
//! fail proves nothing.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::{Outcome, Verdict};

use crate::{audit, ids, streamsocket_connect, strings};

/// The project's CLI told to tolerate every certificate problem it can tolerate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cli_that_ignores_certificate_errors_is_failed_on_those_it_ignores() {
    let command = streamsocket_connect(&[
        "--starttls",
        "{dialect}",
        "--handshake-timeout",
        "2",
        // With `--crl`, a chain under a foreign root has no CRL to check: ignoring
        // `revocationinformationmissing` too is what lets the untrusted chains through.
        "--ignore",
        "untrusted,expired,incompletechain,wrongusage,invalidname,revocationfailure,\
         revocationinformationmissing",
    ]);
    let audit = audit(
        command,
        &[Dialect::Smtp],
        Some("bad-certificate"),
        Duration::from_secs(10),
    )
    .await;
    // What the ignore-list lets through: the audit sees those handshakes complete.
    let accepted = [
        "smtp-attacker-root-expired-honest-ecdsa-p256",
        "smtp-expired-honest-ecdsa-p256",
        "smtp-missing-intermediate-honest-ecdsa-p256",
        "smtp-not-yet-valid-honest-ecdsa-p256",
        "smtp-self-signed-honest-ecdsa-p256",
        "smtp-stale-crl-honest-ecdsa-p256",
        "smtp-untrusted-root-honest-ecdsa-p256",
        "smtp-wrong-eku-honest-ecdsa-p256",
        "smtp-wrong-host-honest-ecdsa-p256",
    ];
    assert_eq!(ids(&audit, Verdict::Fail), accepted, "{}", audit.table());
    // What no ignore-list can excuse is still refused.
    assert_eq!(
        ids(&audit, Verdict::Pass),
        [
            "smtp-bad-signature-honest-ecdsa-p256",
            "smtp-ca-leaf-honest-ecdsa-p256",
            "smtp-forged-signature-honest-ecdsa-p256",
            "smtp-intermediate-not-ca-honest-ecdsa-p256",
            "smtp-revoked-honest-ecdsa-p256",
        ],
        "{}",
        audit.table()
    );
    for r in audit.with(Verdict::Fail) {
        assert!(r.judgement.reason.contains("inside TLS"), "{r:?}");
    }
    assert_eq!(audit.outcome(), Outcome::Findings);
}

/// A bash SMTP client (no TLS at all) that upgrades when it can and otherwise sends `then` in
/// plaintext: opportunistic STARTTLS.
fn opportunistic(then: &str) -> Vec<String> {
    let script = format!(
        r#"exec 3<>"/dev/tcp/$0/$1" || exit 1
reply() {{ r=""; while IFS= read -r -t 5 line <&3; do r="$r$line"; case "$line" in [0-9][0-9][0-9]-*) ;; *) return 0;; esac; done; }}
reply
printf 'EHLO careless.test\r\n' >&3; reply
case "$r" in *STARTTLS*) printf 'STARTTLS\r\n' >&3; reply; case "$r" in 220*) exit 0;; esac;; esac
printf '{then}\r\n' >&3; reply
printf 'QUIT\r\n' >&3; reply"#
    );
    strings(&["bash", "-c", &script, "{host}", "{port}"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opportunistic_client_that_mails_in_plaintext_is_failed_on_stripping() {
    let mails = audit(
        opportunistic("MAIL FROM:<a@careless.test>"),
        &[Dialect::Smtp],
        Some("stripping"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        ids(&mails, Verdict::Fail),
        // Each refusal code, and the nonsense line: anything but 220 sends it on in plaintext.
        [
            "smtp-valid-starttls-nonsense-ecdsa-p256",
            "smtp-valid-starttls-not-advertised-ecdsa-p256",
            "smtp-valid-starttls-refused-ecdsa-p256",
            "smtp-valid-starttls-refused-permanent-ecdsa-p256",
            "smtp-valid-starttls-refused-syntax-ecdsa-p256",
        ],
        "{}",
        mails.table()
    );
    for r in mails.with(Verdict::Fail) {
        assert!(
            r.judgement.reason.contains("sent MAIL in plaintext"),
            "{r:?}"
        );
        assert!(!r.judgement.critical, "{r:?}");
    }

    let auths = audit(
        opportunistic("AUTH PLAIN AHVzZXIAc2VjcmV0"),
        &[Dialect::Smtp],
        Some("starttls-not-advertised"),
        Duration::from_secs(10),
    )
    .await;
    let [r] = auths.results.as_slice() else {
        panic!("one case: {}", auths.table());
    };
    assert_eq!(r.judgement.verdict, Verdict::Fail, "{r:?}");
    assert!(
        r.judgement.critical && r.judgement.reason.contains("credentials (AUTH)"),
        "{r:?}"
    );
}

/// A client that asks for STARTTLS and then waits forever for a handshake it never starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_hangs_after_the_go_ahead_is_failed_on_the_stall() {
    let script = r#"exec 3<>"/dev/tcp/$0/$1" || exit 1
read -r -t 5 line <&3
printf 'EHLO hang.test\r\n' >&3
while IFS= read -r -t 5 line <&3; do case "$line" in 250-*) ;; *) break;; esac; done
printf 'STARTTLS\r\n' >&3; read -r -t 5 line <&3
sleep 30"#;
    let hangs = audit(
        strings(&["bash", "-c", script, "{host}", "{port}"]),
        &[Dialect::Smtp],
        Some("stall"),
        Duration::from_secs(2),
    )
    .await;
    let [r] = hangs.results.as_slice() else {
        panic!("one case: {}", hangs.table());
    };
    assert_eq!(r.judgement.verdict, Verdict::Fail, "{r:?}");
    assert!(r.judgement.reason.contains("it hangs"), "{r:?}");
    assert!(r.process.duration < Duration::from_secs(8), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_is_reported_after_every_case_with_the_failures_so_far() {
    let mut seen = Vec::new();
    let audit = streamsocket_audit::run_with_progress(
        streamsocket_audit::AuditConfig {
            command: opportunistic("MAIL FROM:<a@careless.test>"),
            dialects: vec![Dialect::Smtp],
            filter: Some("stripping".to_owned()),
            jobs: 2,
            case_timeout: Duration::from_secs(10),
            env: Vec::new(),
            ipv6: false,
        },
        |p| seen.push(p),
    )
    .await
    .expect("the audit runs");
    let total = audit.results.len();
    assert_eq!(seen.len(), total);
    for (i, p) in seen.iter().enumerate() {
        assert_eq!((p.done, p.total), (i + 1, total));
    }
    // Every stripping case fails this client, so the count rises by one a case.
    assert_eq!(seen.last().map(|p| p.failed), Some(total));
    assert!(seen.windows(2).all(|w| w[1].failed == w[0].failed + 1));
}
