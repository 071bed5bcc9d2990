//! Python's `smtplib`, audited: a careful script (a default SSL context with `{ca}`, STARTTLS
//! required) and a careless one (an unverified context). `.ci/run` installs python3; without
//! it the tests say so and check nothing.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::Verdict;

use crate::{audit, ids, installed, strings};

/// Connects to `{host}`, validates `{name}`, requires STARTTLS (smtplib raises when it is not
/// offered), asks again inside TLS and sends one mail; `-` as the CA means no verification.
const SCRIPT: &str = r#"
import smtplib, ssl, sys
host, port, name, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca) if ca != "-" else ssl._create_unverified_context()
s = smtplib.SMTP(timeout=3)
s._host = name
s.connect(host, port)
s.ehlo("python.test")
s.starttls(context=ctx)
s.ehlo("python.test")
s.sendmail("a@example.test", ["b@example.test"], "Subject: x\r\n\r\nhi\r\n")
s.quit()
"#;

fn python(ca: &str) -> Vec<String> {
    strings(&["python3", "-c", SCRIPT, "{host}", "{port}", "{name}", ca])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_careful_smtplib_script_fails_nothing_but_what_openssl_allows() {
    if !installed("python3", "--version") {
        return;
    }
    let careful = audit(
        python("{ca}"),
        &[Dialect::Smtp],
        None,
        Duration::from_secs(8),
    )
    .await;
    // OpenSSL takes a leaf certificate that is a CA (the project's strict reading refuses
    // it); every other case is as a correct client's.
    assert_eq!(
        ids(&careful, Verdict::Fail),
        ["smtp-ca-leaf-honest-ecdsa-p256"],
        "{}",
        careful.table()
    );
    assert_eq!(
        careful.with(Verdict::Inconclusive).count(),
        0,
        "{}",
        careful.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_context_is_failed_on_every_broken_chain() {
    if !installed("python3", "--version") {
        return;
    }
    let careless = audit(
        python("-"),
        &[Dialect::Smtp],
        Some("bad-certificate"),
        Duration::from_secs(8),
    )
    .await;
    // Revocation is judged only for a client given the CRLs: informational here.
    assert_eq!(
        careless.with(Verdict::Fail).count(),
        12,
        "{}",
        careless.table()
    );
    assert_eq!(
        careless.with(Verdict::Info).count(),
        2,
        "{}",
        careless.table()
    );
}
