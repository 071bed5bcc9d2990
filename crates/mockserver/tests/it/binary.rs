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
    start_with_env(args, &[])
}

/// As [`start`], with these environment variables (and no other `MOCKSERVER_*` one).
fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> (Child, String, BufReader<ChildStdout>) {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("MOCKSERVER_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied());
    let mut child = command
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
        let sessions = dir.path().join("sessions.jsonl");
        let sessions_arg = sessions.to_str().unwrap().to_owned();
        let (child, _, _stdout) = tokio::task::spawn_blocking(move || {
            start(&[
                "catalogue",
                "--listen",
                listen,
                "--manifest",
                &arg,
                "--sessions",
                &sessions_arg,
            ])
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
            drop(result);
            // Every server of the catalogue writes into the one log; `local` tells them apart.
            // Tailed: the server writes the line as the session ends, after the client's part.
            let logged = crate::support::within(async {
                loop {
                    let file = std::fs::File::open(&sessions).unwrap();
                    let records = mockserver::session_log::read(BufReader::new(file)).unwrap();
                    if let Some(r) = records.into_iter().find(|r| r.local == addr) {
                        break r;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            })
            .await;
            assert_eq!(logged.scenario, served.entry.scenario, "{name}");
            assert_eq!(
                logged.handshake,
                served.entry.expect == Expect::Succeed,
                "{name}"
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

/// Runs `serve` (implicit TLS) with `extra` arguments and environment, serves one TLS session,
/// stops it with SIGTERM and returns what it wrote to stdout and to stderr (both piped).
async fn serve_one_session(extra: &[&str], env: &[(&str, &str)]) -> (String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    let mut args: Vec<String> = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--dialect",
        "implicit",
        "--scenario",
        "valid",
        "--ca-out",
    ]
    .map(str::to_owned)
    .to_vec();
    args.push(ca.to_str().unwrap().to_owned());
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let mut command = Command::new(BIN);
    command
        .args(&args)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    // Read on a thread, so that a chatty server never blocks on a full pipe.
    let stderr = std::thread::spawn(move || {
        let mut all = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut all).unwrap();
        all
    });
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (addr, stdout) = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (line, stdout)
    })
    .await
    .unwrap();
    let bound: SocketAddr = addr
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let mut stream = tls(connect(bound).await, client_trusting(&ca))
        .await
        .unwrap();
    send(&mut stream, &frame("log me")).await;
    assert_eq!(read_frame(&mut stream).await, "log me");
    drop(stream);
    let rest = tokio::task::spawn_blocking(move || {
        terminate(child);
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout.into_inner(), &mut rest).unwrap();
        rest
    })
    .await
    .unwrap();
    (addr + &rest, stderr.join().unwrap())
}

#[tokio::test]
async fn logs_to_a_pipe_have_no_colour_and_stdout_has_only_the_address() {
    let (stdout, stderr) = serve_one_session(&[], &[]).await;
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.starts_with("listening on 127.0.0.1:"), "{stdout}");
    let text = String::from_utf8(stderr).unwrap();
    assert!(
        !text.contains('\x1b'),
        "escape bytes in piped logs:\n{text}"
    );
    assert!(
        text.contains("serving") && text.contains("tls established"),
        "{text}"
    );
    assert!(text.contains("version=TLSv1.3"), "{text}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line() {
    let (stdout, stderr) = serve_one_session(&["--log-format", "json"], &[]).await;
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let text = String::from_utf8(stderr).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    let established = lines
        .iter()
        .find(|l| l["fields"]["message"] == "tls established")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(established["level"], "INFO");
    assert_eq!(established["fields"]["version"], "TLSv1.3");
    assert!(
        lines.iter().any(|l| l["fields"]["message"] == "stopped"),
        "{text}"
    );
}

#[tokio::test]
async fn rust_log_chooses_what_is_logged() {
    let (_, quiet) = serve_one_session(&[], &[("RUST_LOG", "warn")]).await;
    assert_eq!(String::from_utf8(quiet).unwrap(), "");
    let (_, chatty) = serve_one_session(&[], &[("RUST_LOG", "mockserver=debug")]).await;
    let text = String::from_utf8(chatty).unwrap();
    assert!(
        text.contains("connection accepted") && text.contains("DEBUG"),
        "{text}"
    );
}

/// Under a pseudo-terminal (util-linux `script`) the text logs are coloured, unless NO_COLOR is
/// set.
#[test]
fn a_terminal_gets_colour_unless_no_color_is_set() {
    let Ok(status) = Command::new("script").arg("--version").output() else {
        // No `script` on this machine: the piped tests above still hold.
        return;
    };
    assert!(status.status.success());
    for (no_color, coloured) in [(None, true), (Some("1"), false)] {
        let mut command = Command::new("script");
        // Serves for a second (logging `serving`), then coreutils' timeout stops it.
        let serve = format!(
            "timeout -s TERM 1 {BIN} serve --listen 127.0.0.1:0 --dialect smtp --scenario valid"
        );
        command
            .args(["-qec", &serve, "/dev/null"])
            .env("RUST_LOG", "info")
            .env_remove("NO_COLOR")
            .stdin(Stdio::null());
        if let Some(value) = no_color {
            command.env("NO_COLOR", value);
        }
        let out = command.output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("serving"), "{text:?}");
        assert_eq!(
            text.contains('\x1b'),
            coloured,
            "NO_COLOR={no_color:?}: {text:?}"
        );
    }
}

#[tokio::test]
async fn serve_options_come_from_the_environment_and_a_flag_wins() {
    let env = [
        ("MOCKSERVER_LISTEN", "127.0.0.1:0"),
        ("MOCKSERVER_DIALECT", "smtp"),
        ("MOCKSERVER_SCENARIO", "valid"),
        ("MOCKSERVER_HOSTNAME", "env.example"),
    ];
    // Nothing on the command line but the subcommand.
    let (child, addr, _stdout) =
        tokio::task::spawn_blocking(move || start_with_env(&["serve"], &env))
            .await
            .unwrap();
    let mut tcp = connect(addr.parse().unwrap()).await;
    let greeting = crate::support::read_line(&mut tcp).await;
    assert!(greeting.starts_with("220 env.example"), "{greeting:?}");
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();

    // The flags win: POP3 and another host name, whatever the environment says.
    let (child, addr, _stdout) = tokio::task::spawn_blocking(move || {
        start_with_env(
            &["serve", "--dialect", "pop3", "--hostname", "flag.example"],
            &env,
        )
    })
    .await
    .unwrap();
    let mut tcp = connect(addr.parse().unwrap()).await;
    let greeting = crate::support::read_line(&mut tcp).await;
    assert!(
        greeting.starts_with("+OK") && greeting.contains("flag.example"),
        "{greeting:?}"
    );
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .unwrap();

    // A bad value from the environment is refused as a bad flag is, naming the variable's value.
    let out = Command::new(BIN)
        .arg("serve")
        .envs(env)
        .env("MOCKSERVER_BEHAVIOUR", "nice")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nice"));
}

#[test]
fn help_names_the_environment_variable_of_every_serve_option() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let options: Vec<&str> = help
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("--"))
        .filter_map(|l| l.split([' ', '<']).next())
        .filter(|o| !["help", "version"].contains(o))
        .collect();
    assert!(options.len() >= 19, "{options:?}");
    for option in options {
        let var = format!("MOCKSERVER_{}", option.to_uppercase().replace('-', "_"));
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing from:\n{help}"
        );
    }
}

/// `--version`, `completions bash|zsh|fish` and `man` (the tool's page and a subcommand's).
#[test]
fn version_completions_and_man_pages_are_printed() {
    let run = |args: &[&str]| {
        let out = Command::new(BIN).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        run(&["--version"]),
        format!("mockserver {}\n", env!("CARGO_PKG_VERSION"))
    );
    for (shell, marker) in [
        ("bash", "complete -F _mockserver"),
        ("zsh", "#compdef mockserver"),
        ("fish", "complete -c mockserver"),
    ] {
        let script = run(&["completions", shell]);
        assert!(script.contains(marker), "{shell}: {script}");
        assert!(
            script.contains("serve") && script.contains("completions"),
            "{shell}"
        );
    }
    let page = run(&["man"]);
    assert!(page.contains(".TH mockserver 1"), "{page}");
    assert!(page.contains("mockserver\\-serve(1)"), "{page}");
    let sub = run(&["man", "serve"]);
    assert!(sub.contains(".TH mockserver-serve 1"), "{sub}");
    assert!(sub.contains("\\-\\-sessions"), "{sub}");
    let out = Command::new(BIN).args(["man", "nope"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
