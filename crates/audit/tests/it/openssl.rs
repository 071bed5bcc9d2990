//! `openssl s_client -starttls smtp -verify_return_error`, audited: its verdicts as observed,
//! each written down with the observation that justifies it. `.ci/run` installs openssl;
//! without it the test says so and checks nothing.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::Verdict;

use crate::{audit, ids, installed, strings};

/// `s_client` over SMTP, verifying the chain and the name, giving up on a failed verification.
fn s_client() -> Vec<String> {
    strings(&[
        "openssl",
        "s_client",
        "-starttls",
        "smtp",
        "-verify_return_error",
        "-CAfile",
        "{ca}",
        "-servername",
        "{name}",
        "-verify_hostname",
        "{name}",
        "-connect",
        "{host}:{port}",
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_verdicts_as_observed() {
    if !installed("openssl", "version") {
        return;
    }
    let verified = audit(
        s_client(),
        &[Dialect::Smtp],
        Some("honest-ecdsa-p256"),
        Duration::from_secs(8),
    )
    .await;
    let table = verified.table();
    // Against an honest server it validates: every broken chain of this key type is refused in
    // the handshake, but for the CA-as-leaf one, which OpenSSL accepts.
    let failed = ids(&verified, Verdict::Fail);
    assert!(
        failed
            .iter()
            .all(|id| id == "smtp-ca-leaf-honest-ecdsa-p256"),
        "only the CA-as-leaf chain (OpenSSL allows it) may fail: {table}"
    );
    // With its stdin closed it sends nothing after the handshake, so it never asks for the
    // capabilities again: the valid chain is a warning, not a pass.
    let valid = verified
        .results
        .iter()
        .find(|r| r.id == "smtp-valid-honest-ecdsa-p256")
        .expect("the valid case ran");
    assert_eq!(valid.judgement.verdict, Verdict::Warn, "{table}");
    assert!(
        valid.judgement.reason.contains("sent nothing inside TLS"),
        "{table}"
    );

    // Where STARTTLS is not advertised or refused (each code, or a nonsense line), it sends its
    // ClientHello anyway.
    let stripped = audit(
        s_client(),
        &[Dialect::Smtp],
        Some("stripping"),
        Duration::from_secs(8),
    )
    .await;
    assert_eq!(
        stripped.with(Verdict::Fail).count(),
        5,
        "{}",
        stripped.table()
    );
    for r in stripped.with(Verdict::Fail) {
        assert!(
            r.judgement.reason.contains("sent a ClientHello anyway"),
            "{r:?}"
        );
    }
}
