//! curl's SMTP client, audited: `--ssl-reqd` passes the stripping cases, `--ssl`
//! (opportunistic) is failed where STARTTLS is stripped because it sends the mail in
//! plaintext, and `-k` is failed on the broken chains it accepts. The verdicts come from what
//! the mock server saw, as for any client. `.ci/run` installs curl; without it the tests say
//! so and check nothing.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::Verdict;

use crate::{audit, ids, installed, strings};

/// `curl` sending an empty mail over SMTP, to the certificate's name resolved to the server.
fn curl(tls: &[&str]) -> Vec<String> {
    let mut args = strings(&["curl", "-sS", "--max-time", "8"]);
    args.extend(strings(tls));
    args.extend(strings(&[
        "--cacert",
        "{ca}",
        "--resolve",
        "{name}:{port}:{host}",
        "--mail-from",
        "a@example.test",
        "--mail-rcpt",
        "b@example.test",
        "--upload-file",
        "/dev/null",
        "smtp://{name}:{port}",
    ]));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_ssl_reqd_passes_the_stripping_cases_and_opportunistic_curl_is_failed() {
    if !installed("curl", "--version") {
        return;
    }
    let strict = audit(
        curl(&["--ssl-reqd"]),
        &[Dialect::Smtp],
        Some("stripping"),
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(
        ids(&strict, Verdict::Fail),
        Vec::<String>::new(),
        "{}",
        strict.table()
    );
    // Not advertised, refused with 454, 501 and 554, and the nonsense line.
    assert_eq!(strict.with(Verdict::Pass).count(), 5, "{}", strict.table());

    let opportunistic = audit(
        curl(&["--ssl"]),
        &[Dialect::Smtp],
        Some("stripping"),
        Duration::from_secs(10),
    )
    .await;
    let failed = ids(&opportunistic, Verdict::Fail);
    assert!(
        failed.contains(&"smtp-valid-starttls-not-advertised-ecdsa-p256".to_owned()),
        "{}",
        opportunistic.table()
    );
    for r in opportunistic.with(Verdict::Fail) {
        assert!(
            r.judgement.reason.contains("sent MAIL in plaintext"),
            "{r:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn curl_with_k_is_failed_on_the_chains_it_accepts() {
    if !installed("curl", "--version") {
        return;
    }
    let insecure = audit(
        curl(&["--ssl-reqd", "-k"]),
        &[Dialect::Smtp],
        Some("bad-certificate"),
        Duration::from_secs(10),
    )
    .await;
    let failed = ids(&insecure, Verdict::Fail);
    for id in [
        "smtp-expired-honest-ecdsa-p256",
        "smtp-self-signed-honest-ecdsa-p256",
        "smtp-untrusted-root-honest-ecdsa-p256",
        "smtp-wrong-host-honest-ecdsa-p256",
        "smtp-missing-intermediate-honest-ecdsa-p256",
    ] {
        assert!(
            failed.contains(&id.to_owned()),
            "{id}: {}",
            insecure.table()
        );
    }
    for r in insecure.with(Verdict::Fail) {
        assert!(r.judgement.reason.contains("it accepted the"), "{r:?}");
    }
}
