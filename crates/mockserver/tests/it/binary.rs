//! The `mockserver` binary: `serve`, `catalogue`, `--help`, bad values.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, Stdio};

use mockserver::catalogue::{Expect, Manifest};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::support::{connect, frame, provider, read_frame, send, tls};

const BIN: &str = env!("CARGO_BIN_EXE_mockserver");

/// Starts the binary and reads its `listening on ...` line.
fn start(args: &[&str]) -> (Child, String, BufReader<ChildStdout>) {
    let mut child = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let rest = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("{line:?}"));
    (child, rest.to_owned(), stdout)
}

/// SIGTERM, then the exit status must be success (graceful shutdown).
fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
}

fn client_trusting(ca_pem: &std::path::Path) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

#[tokio::test]
async fn serve_prints_its_address_writes_the_ca_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let ca_arg = ca.to_str().unwrap().to_owned();
    let (child, addr, _stdout) = tokio::task::spawn_blocking(move || {
        start(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dialect",
            "implicit",
            "--scenario",
            "valid",
            "--key-type",
            "ed25519",
            "--tls",
            "1.3",
            "--ca-out",
            &ca_arg,
        ])
    })
    .await
    .unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    assert_ne!(addr.port(), 0);
    let mut stream = tls(connect(addr).await, client_trusting(&ca))
        .await
        .unwrap();
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    send(&mut stream, &frame("from the binary")).await;
    assert_eq!(read_frame(&mut stream).await, "from the binary");
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();
}

#[test]
fn bad_values_are_refused_with_a_clear_error() {
    for (flag, value) in [
        ("--dialect", "gopher"),
        ("--scenario", "fine"),
        ("--behaviour", "nice"),
        ("--tls", "1.1"),
    ] {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        for (f, default) in [("--dialect", "smtp"), ("--scenario", "valid")] {
            if f != flag {
                args.extend([f, default]);
            }
        }
        args.extend([flag, value]);
        let out = Command::new(BIN).args(&args).output().unwrap();
        assert!(!out.status.success(), "{flag} {value}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(value), "{flag} {value}: {stderr}");
    }
}

#[test]
fn help_documents_every_option() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for option in [
        "--listen",
        "--dialect",
        "--scenario",
        "--key-type",
        "--tls",
        "--behaviour",
        "--client-auth",
        "--injection",
        "--ca-out",
        "--alpn",
        "--sessions",
    ] {
        assert!(help.contains(option), "{option} missing from:\n{help}");
    }
    let out = Command::new(BIN)
        .args(["catalogue", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(
        help.contains("--listen") && help.contains("--manifest"),
        "{help}"
    );
}

#[tokio::test]
async fn catalogue_serves_every_entry_and_describes_it() {
    // On IPv4 and IPv6 loopback: every entry listens on the address given.
    for listen in ["127.0.0.1", "::1"] {
        let ip: std::net::IpAddr = listen.parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let manifest_path = dir.path().join("manifest.json");
        let arg = manifest_path.to_str().unwrap().to_owned();
        let (child, _, _stdout) = tokio::task::spawn_blocking(move || {
            start(&["catalogue", "--listen", listen, "--manifest", &arg])
        })
        .await
        .unwrap();
        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
        assert_eq!(
            manifest.entries.len(),
            mockserver::catalogue::entries().len()
        );
        for name in [
            "implicit-valid-honest-ecdsa-p256",
            "implicit-expired-honest-ecdsa-p256",
        ] {
            let served = manifest
                .entries
                .iter()
                .find(|e| e.entry.name == name)
                .unwrap();
            let addr = SocketAddr::new(ip, served.port);
            let ca = std::path::PathBuf::from(served.ca_file.clone().unwrap());
            let result = tls(connect(addr).await, client_trusting(&ca)).await;
            assert_eq!(
                result.is_ok(),
                served.entry.expect == Expect::Succeed,
                "{name} on {listen}"
            );
        }
        tokio::task::spawn_blocking(move || terminate(child))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn serve_writes_a_session_log_line_as_each_session_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, log) = (dir.path().join("ca.pem"), dir.path().join("sessions.jsonl"));
    let (ca_arg, log_arg) = (
        ca.to_str().unwrap().to_owned(),
        log.to_str().unwrap().to_owned(),
    );
    let (child, addr, _stdout) = tokio::task::spawn_blocking(move || {
        start(&[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--dialect",
            "implicit",
            "--scenario",
            "valid",
            "--ca-out",
            &ca_arg,
            "--sessions",
            &log_arg,
        ])
    })
    .await
    .unwrap();
    let addr: SocketAddr = addr.parse().unwrap();
    let read_log = || {
        let file = std::fs::File::open(&log).unwrap();
        mockserver::session_log::read(BufReader::new(file)).unwrap()
    };
    assert!(read_log().is_empty());
    for n in 1..=2 {
        let mut stream = tls(connect(addr).await, client_trusting(&ca))
            .await
            .unwrap();
        send(&mut stream, &frame("logged")).await;
        assert_eq!(read_frame(&mut stream).await, "logged");
        tokio::io::AsyncWriteExt::shutdown(&mut stream)
            .await
            .unwrap();
        crate::support::read_to_eof(&mut stream).await;
        // The line is flushed before the server closes: the client's EOF means it is there.
        let records = read_log();
        assert_eq!(records.len(), n);
        let last = &records[n - 1];
        assert_eq!(last.id, n as u64 - 1);
        assert_eq!(last.local, addr);
        assert!(last.handshake, "{last:?}");
        assert_eq!(
            last.end,
            mockserver::SessionEnd::Machine(proto::starttls::CloseReason::Eof)
        );
    }
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();
}
