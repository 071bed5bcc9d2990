//! Interop with a peer no one here wrote: `openssl s_server` (`-tls1_2`, `-tls1_3`, and
//! `-Verify` with `-CAfile` for mutual TLS) on 127.0.0.1, with testpki's certificates written
//! as PEM files, reached through the library and through the `streamsocket` tool.
//!
//! These tests need the `openssl` program on PATH (`.ci/run` installs the Debian package
//! `openssl`). Without it they fail, naming the missing program, rather than pass silently.
//! Where it truly cannot be installed, set `STREAMSOCKET_SKIP_OPENSSL=1` to skip them; each
//! skipped test says so on stderr.

use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use streamsocket::ChainValidationResult as C;
use streamsocket::{
    ClientIdentity, Error, ErrorKind, ProtectionLevel, SocketControl, StreamSocket, TrustAnchors,
};
use testpki::{Attack, KeyKind, Pki, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::run_blocking;

/// The environment variable that skips these tests where `openssl` cannot be installed.
const SKIP_VAR: &str = "STREAMSOCKET_SKIP_OPENSSL";

/// How long s_server may take to listen.
const READY_LIMIT: Duration = Duration::from_secs(10);

/// Bound on every client operation against s_server.
const IO_LIMIT: Duration = Duration::from_secs(10);

/// The TLS versions an s_server is limited to.
#[derive(Clone, Copy, Debug)]
enum Version {
    Tls12,
    Tls13,
}

impl Version {
    fn flag(self) -> &'static str {
        match self {
            Self::Tls12 => "-tls1_2",
            Self::Tls13 => "-tls1_3",
        }
    }

    fn level(self) -> ProtectionLevel {
        match self {
            Self::Tls12 => ProtectionLevel::Tls12,
            Self::Tls13 => ProtectionLevel::Tls13,
        }
    }

    fn other(self) -> Self {
        match self {
            Self::Tls12 => Self::Tls13,
            Self::Tls13 => Self::Tls12,
        }
    }
}

/// Whether the tests should run: `false` (with a note) when skipped on purpose; a panic naming
/// the missing program when `openssl` cannot be run.
fn openssl_wanted() -> bool {
    if std::env::var_os(SKIP_VAR).is_some_and(|value| value == "1") {
        eprintln!("openssl interop test skipped: {SKIP_VAR}=1");
        return false;
    }
    match Command::new("openssl").arg("version").output() {
        Ok(output) if output.status.success() => true,
        Ok(output) => panic!(
            "`openssl version` failed ({}); the interop tests need a working `openssl` \
             (Debian package openssl), or set {SKIP_VAR}=1 to skip them",
            output.status
        ),
        Err(err) => panic!(
            "the program `openssl` is missing ({err}); install it (Debian package openssl, as \
             .ci/run does) or set {SKIP_VAR}=1 to skip the interop tests"
        ),
    }
}

/// A running `openssl s_server` with testpki's valid ECDSA chain; killed on drop.
struct SServer {
    child: Child,
    /// Kept open: s_server sends what arrives on its stdin to the connected client.
    stdin: ChildStdin,
    port: u16,
    pem: tempfile::TempDir,
}

impl SServer {
    /// Starts s_server limited to `version`, asking for a client certificate trusted by the
    /// project root when `mutual`. `None` when the tests are skipped.
    fn start(version: Version, mutual: bool) -> Option<Self> {
        if !openssl_wanted() {
            return None;
        }
        let pem = tempfile::tempdir().expect("a temporary directory");
        let pki = Pki::shared(KeyKind::EcdsaP256);
        pki.server(Scenario::Valid)
            .expect("testpki issues the valid chain")
            .write_pem(pem.path())
            .expect("server PEM files are written");
        for trusted in [true, false] {
            let dir = pem
                .path()
                .join(if trusted { "trusted" } else { "untrusted" });
            std::fs::create_dir(&dir).expect("a client directory");
            pki.client(trusted)
                .expect("testpki issues a client identity")
                .write_pem(&dir)
                .expect("client PEM files are written");
        }
        Some(Self::launch(pem, version, mutual))
    }

    /// Starts s_server (TLS 1.3) serving the attack chain `attack` of the ECDSA PKI, with its CRLs
    /// in `crl.pem`. `None` when the tests are skipped.
    fn start_attack(attack: Attack) -> Option<Self> {
        if !openssl_wanted() {
            return None;
        }
        let pem = tempfile::tempdir().expect("a temporary directory");
        Pki::shared(KeyKind::EcdsaP256)
            .attack(attack)
            .expect("testpki issues the attack chain")
            .write_pem(pem.path())
            .expect("attack PEM files are written");
        Some(Self::launch(pem, Version::Tls13, false))
    }

    /// Runs s_server on the files in `pem` (`chain.pem`, `key.pem`, and `ca.pem` for `mutual`).
    fn launch(pem: tempfile::TempDir, version: Version, mutual: bool) -> Self {
        // The port is picked free and handed over; if another process takes it in between,
        // s_server exits and the next attempt picks another.
        for _attempt in 0..3 {
            let port = free_port();
            let path = |name: &str| pem.path().join(name);
            let mut command = Command::new("openssl");
            command
                .args(["s_server", version.flag(), "-quiet", "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(path("chain.pem"))
                // `-cert` takes the leaf only; the intermediate goes with `-cert_chain`.
                .arg("-cert_chain")
                .arg(path("chain.pem"))
                .arg("-key")
                .arg(path("key.pem"));
            if mutual {
                command
                    .args(["-Verify", "3", "-verify_return_error", "-CAfile"])
                    .arg(path("ca.pem"));
            }
            let mut child = command
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl s_server starts");
            if wait_ready(&mut child, port) {
                let stdin = child.stdin.take().expect("piped stdin");
                return Self {
                    child,
                    stdin,
                    port,
                    pem,
                };
            }
        }
        panic!("openssl s_server did not start on a free port in 3 attempts");
    }

    fn port(&self) -> String {
        self.port.to_string()
    }

    fn file(&self, name: &str) -> String {
        self.pem.path().join(name).display().to_string()
    }

    /// Options that trust the project root (what `ca.pem` holds).
    fn control(&self) -> SocketControl {
        let mut control = SocketControl::default();
        let ca = std::fs::read(self.pem.path().join("ca.pem")).expect("ca.pem");
        control
            .set_trust_anchors(TrustAnchors::from_pem(&ca).expect("ca.pem parses"))
            .expect("fresh control");
        control
            .set_handshake_timeout(IO_LIMIT)
            .expect("fresh control");
        control
            .set_connect_timeout(IO_LIMIT)
            .expect("fresh control");
        control
    }

    /// Options with the trusted or untrusted client certificate too.
    fn control_with_client(&self, trusted: bool) -> SocketControl {
        let dir = self
            .pem
            .path()
            .join(if trusted { "trusted" } else { "untrusted" });
        let chain = std::fs::read(dir.join("client-chain.pem")).expect("client chain");
        let key = std::fs::read(dir.join("client-key.pem")).expect("client key");
        let mut control = self.control();
        control
            .set_client_identity(Some(
                ClientIdentity::from_pem(&chain, &key).expect("client PEM parses"),
            ))
            .expect("fresh control");
        control
    }

    /// Makes s_server send `text` to the connected client.
    fn say(&mut self, text: &str) {
        self.stdin
            .write_all(text.as_bytes())
            .and_then(|()| self.stdin.flush())
            .expect("write to s_server's stdin");
    }
}

/// Polls `port` until s_server accepts (bounded), never a fixed sleep. `false` if s_server
/// exited first (the port was taken); a panic, after killing it, if it never listens.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let started = Instant::now();
    loop {
        // A probe connection costs s_server one failed handshake; it serves the next one.
        if TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return true;
        }
        if matches!(child.try_wait(), Ok(Some(_))) {
            return false;
        }
        if started.elapsed() > READY_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("openssl s_server did not listen on port {port} within {READY_LIMIT:?}");
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    listener.local_addr().expect("a bound address").port()
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Connects to the s_server through the library with `level`, bounded.
async fn connect(
    server: &SServer,
    control: SocketControl,
    level: ProtectionLevel,
) -> StreamSocketResult {
    let mut socket = StreamSocket::with_control(control);
    let result = tokio::time::timeout(IO_LIMIT, socket.connect("localhost", &server.port(), level))
        .await
        .expect("connect is bounded by its own timeouts");
    (socket, result)
}

type StreamSocketResult = (StreamSocket, Result<(), Error>);

/// Reads one line-sized message that s_server sends, bounded.
async fn read_message(socket: &mut StreamSocket, len: usize) -> Result<Vec<u8>, Error> {
    let mut buf = vec![0u8; len];
    match tokio::time::timeout(IO_LIMIT, socket.read_exact(&mut buf)).await {
        Ok(Ok(_)) => Ok(buf),
        Ok(Err(err)) => Err(Error::from_io(&err)
            .cloned()
            .unwrap_or_else(|| panic!("a socket error is a crate error: {err}"))),
        Err(_elapsed) => panic!("s_server neither spoke nor failed within {IO_LIMIT:?}"),
    }
}

#[tokio::test]
async fn the_library_negotiates_the_version_s_server_is_limited_to() {
    for version in [Version::Tls12, Version::Tls13] {
        let Some(mut server) = SServer::start(version, false) else {
            return;
        };
        for level in [ProtectionLevel::Ssl, version.level()] {
            let (mut socket, result) = connect(&server, server.control(), level).await;
            result.unwrap_or_else(|err| panic!("{version:?} {level}: {}", err.full_message()));
            let info = socket.information();
            assert_eq!(
                info.protection_level,
                version.level(),
                "{version:?} {level}"
            );
            assert_eq!(
                info.protocol_version.map(ProtectionLevel::from_version),
                Some(version.level())
            );
            assert!(info.server_certificate_errors.is_empty());
            assert!(info.cipher_suite.is_some() && info.key_exchange_group.is_some());

            // Data both ways: s_server sends its stdin to the client.
            server.say("hello from openssl\n");
            let message = read_message(&mut socket, 19)
                .await
                .expect("s_server's message");
            assert_eq!(message, b"hello from openssl\n");
            socket.write_all(b"bye\n").await.expect("write to s_server");
            socket.shutdown().await.expect("close_notify");
        }
    }
}

#[tokio::test]
async fn a_level_s_server_does_not_speak_is_a_version_mismatch() {
    for version in [Version::Tls12, Version::Tls13] {
        let Some(server) = SServer::start(version, false) else {
            return;
        };
        let level = version.other().level();
        let (socket, result) = connect(&server, server.control(), level).await;
        let err = result.expect_err("no version in common");
        assert_eq!(
            err.kind(),
            ErrorKind::ProtocolVersionMismatch,
            "{version:?}: {}",
            err.full_message()
        );
        assert_eq!(
            socket.information().protection_level,
            ProtectionLevel::PlainSocket
        );
    }
}

#[tokio::test]
async fn mutual_tls_with_s_server_verify_needs_a_trusted_client_certificate() {
    for version in [Version::Tls12, Version::Tls13] {
        let Some(mut server) = SServer::start(version, true) else {
            return;
        };
        let (mut socket, result) = connect(
            &server,
            server.control_with_client(true),
            ProtectionLevel::Ssl,
        )
        .await;
        result.unwrap_or_else(|err| panic!("{version:?}: {}", err.full_message()));
        // In TLS 1.3 a rejection would come after the client's handshake: data from the
        // server proves it accepted the certificate.
        server.say("accepted\n");
        let message = read_message(&mut socket, 9).await;
        assert_eq!(
            message.expect("the server accepted"),
            b"accepted\n",
            "{version:?}"
        );
        socket.shutdown().await.expect("close_notify");
        drop(socket);

        for (what, control) in [
            ("no certificate", server.control()),
            (
                "an untrusted certificate",
                server.control_with_client(false),
            ),
        ] {
            let (mut socket, result) = connect(&server, control, ProtectionLevel::Ssl).await;
            // TLS 1.2 fails in the handshake; TLS 1.3 at the first read after it.
            let err = match result {
                Err(err) => err,
                Ok(()) => read_message(&mut socket, 1)
                    .await
                    .expect_err("the server rejects the client"),
            };
            assert_eq!(
                err.kind(),
                ErrorKind::HandshakeFailed,
                "{version:?}, {what}: {}",
                err.full_message()
            );
        }
    }
}

#[test]
fn the_cli_reports_what_s_server_negotiated() {
    for version in [Version::Tls12, Version::Tls13] {
        let Some(server) = SServer::start(version, false) else {
            return;
        };
        let args = |level: ProtectionLevel| -> Vec<String> {
            let port = server.port();
            let ca = server.file("ca.pem");
            [
                "connect",
                "localhost",
                &port,
                "--level",
                level.name(),
                "--json",
                "--ca",
                &ca,
            ]
            .map(str::to_owned)
            .to_vec()
        };
        let run = run_blocking(&args(version.level()));
        assert!(run.status.success(), "{version:?}: {run:#?}");
        let json = run.json();
        assert_eq!(json["protection_level"], version.level().name(), "{json:#}");
        assert_eq!(json["requested_protection_level"], version.level().name());

        let run = run_blocking(&args(version.other().level()));
        assert_eq!(run.status.code(), Some(1), "{version:?}: {run:#?}");
        assert_eq!(run.json()["error"], "ProtocolVersionMismatch");
    }
}

#[test]
fn the_cli_fails_when_s_server_rejects_a_missing_client_certificate_after_tls13() {
    let Some(server) = SServer::start(Version::Tls13, true) else {
        return;
    };
    let port = server.port();
    let ca = server.file("ca.pem");
    let base = [
        "connect",
        "localhost",
        &port,
        "--level",
        "Tls13",
        "--json",
        "--ca",
        &ca,
    ];
    let chain = server.file("trusted/client-chain.pem");
    let key = server.file("trusted/client-key.pem");

    let with: Vec<String> = base
        .iter()
        .chain(&["--client-cert", &chain, "--client-key", &key])
        .map(|s| (*s).to_owned())
        .collect();
    let run = run_blocking(&with);
    assert!(run.status.success(), "{run:#?}");
    assert_eq!(run.json()["protection_level"], "Tls13");

    let without: Vec<String> = base.iter().map(|s| (*s).to_owned()).collect();
    let run = run_blocking(&without);
    assert_eq!(run.status.code(), Some(1), "{run:#?}");
    assert_eq!(run.json()["error"], "HandshakeFailed");
}

/// The attack chains of `testpki::Attack` against a real `openssl s_server`: each is refused with
/// the class that matters reported, whether the client ignores nothing, the class that once let
/// it through, or every ignorable class; the stale CRL alone is accepted once
/// `RevocationFailure` is ignored.
#[tokio::test]
async fn s_server_attack_chains_are_refused_whatever_is_ignored() {
    let cases: [(Attack, C, Option<C>); 11] = [
        (
            Attack::ForgedWrongUsage,
            C::InvalidSignature,
            Some(C::WrongUsage),
        ),
        (Attack::ForgedCaLeaf, C::InvalidSignature, None),
        (Attack::ForgedExpired, C::InvalidSignature, Some(C::Expired)),
        (Attack::RevokedWrongUsage, C::Revoked, Some(C::WrongUsage)),
        (
            Attack::RevokedIntermediateCrlOnly,
            C::Revoked,
            Some(C::RevocationInformationMissing),
        ),
        (Attack::AttackerRootExpired, C::Untrusted, Some(C::Expired)),
        (
            Attack::AttackerRootNotYetValid,
            C::Untrusted,
            Some(C::Expired),
        ),
        (
            Attack::SelfSignedCa,
            C::BasicConstraintsError,
            Some(C::Untrusted),
        ),
        (
            Attack::AttackerIntermediateNotCa,
            C::BasicConstraintsError,
            Some(C::Untrusted),
        ),
        (
            Attack::CriticalExtensionAppended,
            C::Untrusted,
            Some(C::Expired),
        ),
        (Attack::StaleCrl, C::RevocationFailure, None),
    ];
    let every_ignorable: Vec<C> = C::ALL
        .into_iter()
        .filter(|class| class.severity() == streamsocket::SocketSslErrorSeverity::Ignorable)
        .collect();
    for (attack, reported, once_excused_by) in cases {
        let Some(server) = SServer::start_attack(attack) else {
            return;
        };
        let mut lists = vec![Vec::new()];
        lists.extend(once_excused_by.map(|class| vec![class]));
        if attack != Attack::AttackerRootExpired && attack != Attack::AttackerRootNotYetValid {
            // Ignoring both Untrusted and Expired may accept an untrusted root outside its
            // validity; every other chain has a problem no ignore-list excuses.
            lists.push(every_ignorable.clone());
        }
        for ignored in lists {
            let mut control = server.control();
            let crl = server.pem.path().join("crl.pem");
            if crl.exists() {
                let pem = std::fs::read(&crl).expect("crl.pem");
                control.set_crls_pem(&pem).expect("the attack's CRLs parse");
            }
            control
                .set_ignorable_server_certificate_errors(ignored.iter().copied())
                .expect("ignorable classes only");
            let mut socket = StreamSocket::with_control(control);
            let result = tokio::time::timeout(
                IO_LIMIT,
                socket.connect("localhost", &server.port(), ProtectionLevel::Tls13),
            )
            .await
            .expect("the connect ends");
            let errors = &socket.information().server_certificate_errors;
            let accepted = attack == Attack::StaleCrl && ignored.contains(&C::RevocationFailure);
            assert_eq!(
                result.is_ok(),
                accepted,
                "{attack} ignoring {ignored:?}: {result:?}, reported {errors:?}"
            );
            assert!(
                errors.contains(&reported),
                "{attack} ignoring {ignored:?}: {reported} missing from {errors:?}"
            );
        }
    }
}
