//! Python's `smtplib`, `imaplib`, `poplib`, `nntplib` and `ftplib`, and a ManageSieve client on
//! its `ssl`, audited: a careful script per library (a default SSL context with `{ca}`, STARTTLS
//! required, the capabilities asked again inside TLS) and the same script with an unverified
//! context, or with its plaintext buffer read after TLS. `.ci/run` installs python3; without it
//! the tests say so and check nothing.

use std::time::Duration;

use proto::starttls::Dialect;
use streamsocket_audit::Verdict;

use crate::{audit, ids, installed, strings};

/// What every script starts with: the arguments, and the context (`-` as the CA: none).
const PRELUDE: &str = r#"
import smtplib, imaplib, poplib, ssl, sys
host, port, name, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca) if ca != "-" else ssl._create_unverified_context()
"#;

/// Validates `{name}` (each library checks the name it holds as its host, so that is set to
/// `{name}` after connecting to `{host}`), requires STARTTLS (each library raises when it is
/// not offered or not granted), then uses the session inside TLS.
fn script(dialect: Dialect) -> String {
    let smtp;
    let body = match dialect {
        // smtplib's starttls raises on anything but 220; sendmail asks EHLO again by itself.
        // Its LMTP class is its SMTP with LHLO for EHLO (`ehlo_msg`), starttls included.
        Dialect::Smtp | Dialect::Lmtp => {
            let class = if dialect == Dialect::Lmtp {
                "LMTP"
            } else {
                "SMTP"
            };
            smtp = format!(
                r#"
s = smtplib.{class}(timeout=3)
s._host = name
s.connect(host, port)
s.ehlo("python.test")
s.starttls(context=ctx)
s.ehlo("python.test")
s.sendmail("a@example.test", ["b@example.test"], "Subject: x\r\n\r\nhi\r\n")
s.quit()
"#
            );
            &smtp
        }
        Dialect::Imap => {
            r#"
m = imaplib.IMAP4(host, port, timeout=3)
m.host = name
m.starttls(ssl_context=ctx)
m.login("user", "secret")
m.logout()
"#
        }
        // poplib's stls raises unless STLS is in CAPA and answered +OK; it does not ask CAPA
        // again, so the careful script does.
        Dialect::Pop3 => {
            r#"
p = poplib.POP3(host, port, timeout=3)
p.host = name
p.stls(context=ctx)
p.capa()
p.user("user")
p.pass_("secret")
p.quit()
"#
        }
        // nntplib's starttls sends STARTTLS whether or not it is listed, so the careful script
        // checks the list itself; starttls raises unless answered 382 and asks CAPABILITIES
        // again inside TLS.
        Dialect::Nntp => {
            r#"
import warnings
warnings.simplefilter("ignore", DeprecationWarning)
import nntplib
n = nntplib.NNTP(host, port, timeout=3)
n.host = name
if "STARTTLS" not in n.getcapabilities():
    sys.exit("STARTTLS not offered")
n.starttls(context=ctx)
n.login("user", "secret")
n.quit()
"#
        }
        // ftplib's FTP_TLS.auth sends AUTH TLS whether or not FEAT lists it and raises unless
        // the answer is a 2xx; it validates `host` (set to `{name}` after connecting) and does
        // not ask FEAT again, so the careful script does, then logs in and protects the data
        // channel inside TLS.
        Dialect::Ftp => {
            r#"
import ftplib
f = ftplib.FTP_TLS(context=ctx, timeout=3)
f.connect(host, port)
f.host = name
f.auth()
f.sendcmd("FEAT")
f.login("user", "secret")
f.prot_p()
f.quit()
"#
        }
        // The standard library has no ManageSieve, IRC, PostgreSQL or MySQL client.
        Dialect::Sieve
        | Dialect::Irc
        | Dialect::Postgres
        | Dialect::Mysql
        | Dialect::Framed
        | Dialect::Implicit => {
            unreachable!("no python library speaks {dialect}")
        }
    };
    format!("{PRELUDE}{body}")
}

fn python(dialect: Dialect, ca: &str) -> Vec<String> {
    strings(&[
        "python3",
        "-c",
        &script(dialect),
        "{host}",
        "{port}",
        "{name}",
        ca,
    ])
}

const DIALECTS: [Dialect; 6] = [
    Dialect::Ftp,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn careful_scripts_fail_nothing_but_what_openssl_allows() {
    if !installed("python3", "--version") {
        return;
    }
    for dialect in DIALECTS {
        let careful = audit(
            python(dialect, "{ca}"),
            &[dialect],
            None,
            Duration::from_secs(8),
        )
        .await;
        let table = careful.table();
        // OpenSSL takes a leaf certificate that is a CA (the project's strict reading refuses
        // it); every other case is as a correct client's, stripping and injection included.
        assert_eq!(
            ids(&careful, Verdict::Fail),
            [format!("{dialect}-ca-leaf-honest-ecdsa-p256")],
            "{table}"
        );
        assert_eq!(careful.with(Verdict::Inconclusive).count(), 0, "{table}");
        // It asks for the capabilities again inside TLS: the valid chain passes, no warning.
        let valid = careful
            .results
            .iter()
            .find(|r| r.id == format!("{dialect}-valid-honest-ecdsa-p256"))
            .expect("the valid case ran");
        assert_eq!(valid.judgement.verdict, Verdict::Pass, "{table}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unverified_context_is_failed_on_every_broken_chain() {
    if !installed("python3", "--version") {
        return;
    }
    for dialect in DIALECTS {
        let careless = audit(
            python(dialect, "-"),
            &[dialect],
            Some("bad-certificate"),
            Duration::from_secs(8),
        )
        .await;
        // Revocation is judged only for a client given the CRLs: informational here.
        assert_eq!(
            careless.with(Verdict::Fail).count(),
            12,
            "{dialect}: {}",
            careless.table()
        );
        assert_eq!(
            careless.with(Verdict::Info).count(),
            2,
            "{dialect}: {}",
            careless.table()
        );
    }
}

/// A ManageSieve client written on Python's `ssl` (the standard library has no ManageSieve
/// module): it reads the capability lines up to `OK`, requires `"STARTTLS"`, upgrades, reads the
/// capabilities the server re-sends unasked (RFC 5804 section 2.2), then says LOGOUT. With
/// `shared-buffer` it makes the classic mistake of reading those from the plaintext reader's
/// buffer, where a man in the middle's planted lines sit, instead of from the TLS socket.
const SIEVE_SCRIPT: &str = r#"
import socket, ssl, sys
host, port, name, ca, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
ctx = ssl.create_default_context(cafile=ca)
raw = socket.create_connection((host, port), timeout=3)
plain = raw.makefile("rb")
def capabilities(reader):
    names = []
    while True:
        line = reader.readline(4096)
        if not line:
            sys.exit("closed")
        if line.startswith(b'"'):
            names.append(line.split(b'"')[1].upper())
        elif line.startswith(b"OK"):
            return names
        else:
            sys.exit("refused: %r" % line)
if b"STARTTLS" not in capabilities(plain):
    raw.sendall(b"LOGOUT\r\n")
    sys.exit("STARTTLS not offered")
raw.sendall(b"STARTTLS\r\n")
if not plain.readline(4096).startswith(b"OK"):
    raw.sendall(b"LOGOUT\r\n")
    sys.exit("STARTTLS refused")
tls = ctx.wrap_socket(raw, server_hostname=name)
capabilities(plain if mode == "shared-buffer" else tls.makefile("rb"))
tls.sendall(b"LOGOUT\r\n")
tls.makefile("rb").readline(4096)
"#;

fn sieve_python(mode: &str) -> Vec<String> {
    strings(&[
        "python3",
        "-c",
        SIEVE_SCRIPT,
        "{host}",
        "{port}",
        "{name}",
        "{ca}",
        mode,
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sieve_client_reading_its_plaintext_buffer_after_tls_fails_only_the_injection() {
    if !installed("python3", "--version") {
        return;
    }
    let careful = audit(
        sieve_python("careful"),
        &[Dialect::Sieve],
        None,
        Duration::from_secs(8),
    )
    .await;
    let table = careful.table();
    // As for the standard library's clients: OpenSSL takes a CA leaf, nothing else fails.
    assert_eq!(
        ids(&careful, Verdict::Fail),
        ["sieve-ca-leaf-honest-ecdsa-p256"],
        "{table}"
    );
    assert_eq!(careful.with(Verdict::Inconclusive).count(), 0, "{table}");
    let careless = audit(
        sieve_python("shared-buffer"),
        &[Dialect::Sieve],
        Some("injection"),
        Duration::from_secs(8),
    )
    .await;
    let table = careless.table();
    let failed: Vec<_> = careless.with(Verdict::Fail).collect();
    assert!(!failed.is_empty(), "{table}");
    for r in failed {
        assert!(
            r.judgement
                .reason
                .contains("took the injected capabilities"),
            "{}: {}",
            r.id,
            r.judgement.reason
        );
    }
    assert_eq!(careless.with(Verdict::Pass).count(), 0, "{table}");
}
