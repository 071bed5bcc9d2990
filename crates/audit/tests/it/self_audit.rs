//! The project's own CLI, audited: it must pass every case that is not informational.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::{Category, Outcome, Verdict};

use crate::{audit, ids, streamsocket_connect, strings};

/// `streamsocket connect` as a careful user runs it: the case's CA and CRLs, short timeouts of
/// its own (shorter than the case timeout, so the stall cases are judged on its own timeout).
fn careful(starttls: bool) -> Vec<String> {
    let mut command = streamsocket_connect(&["--connect-timeout", "3", "--handshake-timeout", "2"]);
    if starttls {
        command.extend(strings(&["--starttls", "{dialect}"]));
    }
    command
}

fn assert_passes_everything(audit: &streamsocket_audit::Audit) {
    for r in &audit.results {
        let expected = if r.category == Category::Informational {
            Verdict::Info
        } else {
            Verdict::Pass
        };
        assert_eq!(
            r.judgement.verdict, expected,
            "{}: {} ({:?})",
            r.id, r.judgement.reason, r.process
        );
    }
    assert_eq!(audit.outcome(), Outcome::Clean, "{}", audit.table());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamsocket_cli_passes_every_starttls_case() {
    let dialects = [
        Dialect::Ftp,
        Dialect::Irc,
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
        Dialect::Framed,
    ];
    let audit = audit(careful(true), &dialects, None, Duration::from_secs(10)).await;
    assert_passes_everything(&audit);
    // Every dialect and every category was exercised, and the valid chain re-asked for the
    // capabilities inside TLS in each line dialect.
    for dialect in dialects {
        for category in Category::ALL {
            let applies = !(dialect == Dialect::Framed
                && matches!(category, Category::Stripping | Category::Injection));
            let n = audit
                .results
                .iter()
                .filter(|r| r.dialect == dialect && r.category == category)
                .count();
            assert_eq!(n > 0, applies, "{dialect} {category}");
        }
    }
    let reasked = audit
        .results
        .iter()
        .filter(|r| {
            r.category == Category::ValidChain && r.judgement.reason.contains("asked again")
        })
        .count();
    assert!(reasked >= 3 * 4, "{}", audit.table());
    assert!(ids(&audit, Verdict::Fail).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamsocket_cli_passes_every_lmtp_nntp_and_sieve_case() {
    let dialects = [Dialect::Lmtp, Dialect::Nntp, Dialect::Sieve];
    let audit = audit(careful(true), &dialects, None, Duration::from_secs(10)).await;
    assert_passes_everything(&audit);
    for dialect in dialects {
        for category in Category::ALL {
            let n = audit
                .results
                .iter()
                .filter(|r| r.dialect == dialect && r.category == category)
                .count();
            assert!(n > 0, "{dialect} {category}");
        }
    }
    // LMTP and NNTP ask again inside TLS; ManageSieve's server re-sends unasked.
    for (dialect, said) in [
        (Dialect::Lmtp, "asked again inside TLS (LHLO)"),
        (Dialect::Nntp, "asked again inside TLS (CAPABILITIES)"),
        (Dialect::Sieve, "re-sent its capabilities unasked"),
    ] {
        let valid = audit
            .results
            .iter()
            .filter(|r| r.dialect == dialect && r.category == Category::ValidChain);
        for r in valid {
            assert!(
                r.judgement.reason.contains(said),
                "{}: {}",
                r.id,
                r.judgement.reason
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_streamsocket_cli_passes_every_implicit_tls_case() {
    let audit = audit(
        careful(false),
        &[Dialect::Implicit],
        None,
        Duration::from_secs(10),
    )
    .await;
    assert!(audit.results.len() > 20, "{}", audit.table());
    assert_passes_everything(&audit);
    // Its ClientHello, as the mock server kept it: TLS 1.3 and 1.2 only, no weak suite, and no
    // SNI, since it connects to an IP address.
    let profile = audit.client_profile.as_ref().expect("a client profile");
    let versions: Vec<_> = profile.versions.iter().map(|v| v.name).collect();
    assert_eq!(
        versions,
        [Some("TLS 1.3"), Some("TLS 1.2")],
        "{}",
        profile.block()
    );
    assert_eq!(profile.weak_suites().count(), 0, "{}", profile.block());
    assert_eq!(profile.sni, None);
    assert!(profile.ja4.starts_with("t13i"), "{}", profile.ja4);
    assert!(
        audit.table().starts_with("client profile"),
        "{}",
        audit.table()
    );
}
