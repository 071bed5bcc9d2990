//! psql (libpq), a PostgreSQL client no one here wrote, against `mockserver --dialect
//! postgres --behaviour tls-required`: with `sslmode=verify-full` it sends the SSLRequest,
//! verifies the chain after the `S`, and its StartupMessage and query arrive inside TLS (a
//! plaintext StartupMessage would get FATAL 28000 from this server, not the query's ERROR);
//! it refuses an untrusted root. Skipped, saying so, when psql is not installed.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mockserver");

/// Longest psql may take; it is killed after that.
const PSQL_TIMEOUT: Duration = Duration::from_secs(20);

fn have_psql() -> bool {
    Command::new("psql")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The binary serving `scenario` on an ephemeral loopback port, its port, and the CA file.
fn serve(scenario: &str, ca: &Path) -> (Child, u16) {
    let mut child = Command::new(BIN)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dialect",
            "postgres",
            "--behaviour",
            "tls-required",
            "--scenario",
            scenario,
            "--ca-out",
        ])
        .arg(ca)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{line:?}"));
    (child, port)
}

/// Runs psql with `sslmode=verify-full` against `port`: its exit code and stderr.
fn psql(port: u16, ca: &Path) -> (Option<i32>, String) {
    let conninfo = format!(
        "host=localhost port={port} user=alice dbname=db sslmode=verify-full sslrootcert={} \
         gssencmode=disable connect_timeout=10",
        ca.display()
    );
    let mut child = Command::new("psql")
        .args(["-X", "-w", "-c", "SELECT 1"])
        .arg(conninfo)
        .env_remove("PGSSLMODE")
        .env_remove("PGHOST")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > PSQL_TIMEOUT {
            let _ = child.kill();
            panic!("psql ran for more than {PSQL_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (status.code(), stderr)
}

fn ca_path(scenario: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "streamsocket-psql-{}-{scenario}.pem",
        std::process::id()
    ))
}

#[test]
fn psql_verifies_the_chain_and_logs_in_inside_tls_and_refuses_an_untrusted_root() {
    if !have_psql() {
        eprintln!("psql is not installed (Debian package postgresql-client): test skipped");
        return;
    }
    let ca = ca_path("valid");
    let (mut server, port) = serve("valid", &ca);
    let (code, stderr) = psql(port, &ca);
    let _ = server.kill();
    let _ = server.wait();
    // psql exits 1 when the connection worked and the query failed (its documentation).
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the streamsocket mock runs no queries"),
        "{stderr}"
    );
    let _ = std::fs::remove_file(&ca);

    let trusted = ca_path("valid-for-untrusted");
    let (mut valid, _) = serve("valid", &trusted);
    let _ = valid.kill();
    let _ = valid.wait();
    let untrusted = ca_path("untrusted-root");
    let (mut server, port) = serve("untrusted-root", &untrusted);
    // psql trusts testpki's usual root; this server's chain ends at another.
    let (code, stderr) = psql(port, &trusted);
    let _ = server.kill();
    let _ = server.wait();
    // Exit 2: the connection failed.
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("certificate verify failed"), "{stderr}");
    assert!(!stderr.contains("no queries"), "{stderr}");
    let _ = std::fs::remove_file(&trusted);
    let _ = std::fs::remove_file(&untrusted);
}
