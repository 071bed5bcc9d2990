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

/// The ids of the cases failed for going on with an old version after its ServerHello.
fn went_on(audit: &streamsocket_audit::Audit) -> Vec<String> {
    let mut out: Vec<String> = audit
        .with(Verdict::Fail)
        .filter(|r| r.judgement.reason.contains("it went on with a TLS 1."))
        .map(|r| r.id.clone())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_goes_on_with_a_server_that_negotiates_tls_1_0_down() {
    if !installed("openssl", "version") {
        return;
    }
    let expected = [
        "smtp-valid-legacy-server-hello-tls10-rsa2048",
        "smtp-valid-legacy-server-hello-tls11-rsa2048",
    ];
    // As it comes (OpenSSL 3 as Debian configures it): it offers TLS 1.0 and 1.1, and when the
    // server picks one it answers with its ClientKeyExchange.
    let stock = audit(
        s_client(),
        &[Dialect::Smtp],
        Some("legacy"),
        Duration::from_secs(8),
    )
    .await;
    assert_eq!(went_on(&stock), expected, "{}", stock.table());
    assert_eq!(stock.with(Verdict::Pass).count(), 0, "{}", stock.table());

    // With TLS 1.2 as its highest version its ClientHello names no older one (no
    // supported_versions: legacy_version 1.2 alone), so the alert-only servers see nothing
    // wrong; only the ServerHello of TLS 1.0 or 1.1 shows that it still takes them.
    let mut capped = s_client();
    capped.extend(
        [
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            "DEFAULT:@SECLEVEL=0",
        ]
        .map(String::from),
    );
    let capped = audit(
        capped,
        &[Dialect::Smtp],
        Some("legacy"),
        Duration::from_secs(8),
    )
    .await;
    let table = capped.table();
    assert_eq!(went_on(&capped), expected, "{table}");
    assert_eq!(capped.with(Verdict::Fail).count(), 2, "{table}");
    // The SSL 3.0 ServerHello it refuses with protocol_version.
    let ssl3 = capped
        .results
        .iter()
        .find(|r| r.id == "smtp-valid-legacy-server-hello-ssl3-rsa2048")
        .expect("the ssl3 case ran");
    assert_eq!(ssl3.judgement.verdict, Verdict::Pass, "{table}");
}
