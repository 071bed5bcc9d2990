//! `gnutls-cli --starttls-proto=smtp`, audited: its verdicts as observed, each written down
//! with the observation that justifies it. `.ci/run` installs gnutls-bin; without it the test
//! says so and checks nothing.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::Verdict;

use crate::{audit, ids, installed, strings};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gnutls_cli_verdicts_as_observed() {
    if !installed("gnutls-cli", "--version") {
        return;
    }
    let command = strings(&[
        "gnutls-cli",
        "--starttls-proto=smtp",
        "--x509cafile",
        "{ca}",
        "--verify-hostname",
        "{name}",
        "--port",
        "{port}",
        "{host}",
    ]);
    let gnutls = audit(command, &[Dialect::Smtp], None, Duration::from_secs(5)).await;
    let table = gnutls.table();
    // It refuses every broken chain in the handshake but the CA-as-leaf one, which GnuTLS
    // accepts; its default priorities offer TLS 1.0 and 1.1 (RFC 8996 says not to), so each
    // legacy-only server fails it, and when a server answers with a TLS 1.0 or 1.1 ServerHello
    // it goes on with that handshake (its ClientKeyExchange); and after a server that never
    // answers its ClientHello it waits past the case timeout (killed).
    assert_eq!(
        ids(&gnutls, Verdict::Fail),
        [
            "smtp-ca-leaf-honest-ecdsa-p256",
            "smtp-valid-legacy-only-ssl3-ecdsa-p256",
            "smtp-valid-legacy-only-tls10-ecdsa-p256",
            "smtp-valid-legacy-only-tls11-ecdsa-p256",
            "smtp-valid-legacy-server-hello-ssl3-rsa2048",
            "smtp-valid-legacy-server-hello-tls10-rsa2048",
            "smtp-valid-legacy-server-hello-tls11-rsa2048",
            "smtp-valid-stall-after-go-ahead-ecdsa-p256"
        ],
        "{table}"
    );
    for r in gnutls
        .results
        .iter()
        .filter(|r| r.id.contains("legacy-only") || r.id.contains("server-hello-ssl3"))
    {
        assert!(
            r.judgement.reason.contains("offered TLS 1.1 and TLS 1.0"),
            "{r:?}"
        );
    }
    for r in gnutls
        .results
        .iter()
        .filter(|r| r.id.contains("server-hello-tls1"))
    {
        assert!(
            r.judgement
                .reason
                .contains("answered with its client-key-exchange"),
            "{r:?}"
        );
    }
    // Where STARTTLS is stripped or refused it sends nothing but EHLO and STARTTLS in
    // plaintext, then waits until it is killed: a warning, not a leak.
    for r in gnutls.results.iter().filter(|r| r.id.contains("starttls-")) {
        assert_eq!(r.judgement.verdict, Verdict::Warn, "{table}");
        assert!(r.judgement.reason.contains("never ended"), "{r:?}");
    }
    // With its stdin closed it sends nothing after the handshake: the valid chain is a
    // warning (no EHLO again), never inconclusive.
    assert_eq!(gnutls.with(Verdict::Inconclusive).count(), 0, "{table}");
}
