//! The client against a real PostgreSQL server (initdb in a temporary directory, `ssl = on`,
//! only `hostssl` in `pg_hba.conf`, testpki's valid chain): the SSLRequest gets its `S`, the
//! handshake completes at each TLS level, and a StartupMessage inside TLS is accepted; a
//! plaintext StartupMessage meets FATAL 28000, the refusal the mock server copies. Skipped,
//! saying why, when the server binaries are missing (Debian package `postgresql`) or cannot be
//! run as a user other than root.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use streamsocket::{Dialect, ProtectionLevel};
use testpki::{KeyKind, Pki, Scenario};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::socket_for;

/// Int32 8, Int32 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

/// How long the server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// A StartupMessage of protocol 3.0 for `user` and database `postgres`.
fn startup(user: &str) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (name, value) in [("user", user), ("database", "postgres")] {
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = u32::try_from(body.len() + 4)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    packet.extend_from_slice(&body);
    packet
}

/// A PostgreSQL server binary: on the PATH, or in Debian's versioned directory.
fn find(binary: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(binary));
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("bin").join(binary));
    on_path.chain(debian).find(|path| path.is_file())
}

/// How to run the server: as ourselves, or (as root, which initdb refuses) as `postgres`,
/// through `setpriv`, which execs the program itself, so that the child's id is the server's.
struct Runner {
    as_user: Option<u32>,
}

impl Runner {
    fn new() -> Result<Self, String> {
        let uid = Command::new("id")
            .arg("-u")
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            return Ok(Self { as_user: None });
        }
        let out = Command::new("id")
            .args(["-u", "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        let uid: u32 = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| "running as root and there is no postgres user".to_owned())?;
        if find("setpriv").is_none() {
            return Err("running as root and setpriv is missing".to_owned());
        }
        Ok(Self { as_user: Some(uid) })
    }

    fn command(&self, program: &Path) -> Command {
        match &self.as_user {
            None => Command::new(program),
            Some(_) => {
                let mut command = Command::new("setpriv");
                command
                    .args([
                        "--reuid=postgres",
                        "--regid=postgres",
                        "--init-groups",
                        "--",
                    ])
                    .arg(program);
                command
            }
        }
    }

    fn own(&self, path: &Path) {
        if let Some(uid) = self.as_user {
            std::os::unix::fs::chown(path, Some(uid), None).unwrap();
        }
    }
}

/// A running server; stopped by its id (SIGTERM, the smart shutdown, then SIGKILL if it
/// lingers) and its directory removed when dropped.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start() -> Result<Server, String> {
    let (Some(initdb), Some(postgres)) = (find("initdb"), find("postgres")) else {
        return Err("initdb or postgres is not installed (Debian package postgresql)".to_owned());
    };
    let runner = Runner::new()?;
    let dir = tempfile::tempdir().unwrap();
    runner.own(dir.path());
    let data = dir.path().join("data");
    let status = runner
        .command(&initdb)
        .args(["-U", "test", "--auth=trust", "-E", "UTF8", "-D"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !status.success() {
        return Err(format!("initdb failed: {status}"));
    }
    let pem = Pki::shared(KeyKind::EcdsaP256)
        .server(Scenario::Valid)
        .unwrap()
        .write_pem(dir.path())
        .unwrap();
    for (from, to) in [(&pem.chain, "server.crt"), (&pem.key, "server.key")] {
        let target = data.join(to);
        std::fs::copy(from, &target).unwrap();
        std::fs::set_permissions(&target, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        runner.own(&target);
    }
    // An ephemeral port: bound, read, released for the server.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let conf = format!(
        "\nlisten_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
         ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n",
        dir.path().display()
    );
    let mut config = std::fs::read_to_string(data.join("postgresql.conf")).unwrap();
    config.push_str(&conf);
    std::fs::write(data.join("postgresql.conf"), config).unwrap();
    std::fs::write(
        data.join("pg_hba.conf"),
        "hostssl all all 127.0.0.1/32 trust\n",
    )
    .unwrap();
    let child = runner
        .command(&postgres)
        .arg("-D")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let server = Server {
        child,
        port,
        _dir: dir,
    };
    // Ready once it answers a plaintext startup with its hostssl refusal rather than with
    // 57P03, "the database system is starting up" (or no connection at all).
    let started = Instant::now();
    while !plaintext_startup_reply(port).contains("C28000\0") {
        assert!(
            started.elapsed() < START_TIMEOUT,
            "postgres was not ready on {port} within {START_TIMEOUT:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

/// What the server answers a plaintext StartupMessage with, as text (empty if it could not be
/// reached).
fn plaintext_startup_reply(port: u16) -> String {
    let Ok(mut plain) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = plain.set_read_timeout(Some(Duration::from_secs(10)));
    if std::io::Write::write_all(&mut plain, &startup("test")).is_err() {
        return String::new();
    }
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn a_real_postgresql_server_takes_our_ssl_request_and_a_startup_inside_tls() {
    let server = match start() {
        Ok(server) => server,
        Err(why) => {
            eprintln!("no PostgreSQL server to test against: {why}; test skipped");
            return;
        }
    };
    let identity = Pki::shared(KeyKind::EcdsaP256)
        .server(Scenario::Valid)
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        for (level, negotiated) in [
            (ProtectionLevel::Ssl, ProtectionLevel::Tls13),
            (ProtectionLevel::Tls12, ProtectionLevel::Tls12),
        ] {
            let mut socket = socket_for(&identity);
            socket
                .connect(
                    "127.0.0.1",
                    &server.port.to_string(),
                    ProtectionLevel::PlainSocket,
                )
                .await
                .unwrap();
            socket
                .upgrade_with(Dialect::Postgres, level, "localhost")
                .await
                .unwrap_or_else(|err| panic!("{level}: {err}"));
            let info = socket.information().clone();
            assert_eq!(info.protection_level, negotiated);
            assert_eq!(info.bytes_sent_before_upgrade, 8);
            assert_eq!(info.bytes_received_before_upgrade, 1);
            // Inside TLS the real server authenticates the startup (trust): AuthenticationOk.
            socket.write_all(&startup("test")).await.unwrap();
            let mut auth = [0u8; 9];
            socket.read_exact(&mut auth).await.unwrap();
            if auth != *b"R\0\0\0\x08\0\0\0\0" {
                let mut rest = vec![0u8; 200];
                let n = socket.read(&mut rest).await.unwrap_or(0);
                panic!(
                    "{level}: {:?}",
                    String::from_utf8_lossy(&[&auth[..], &rest[..n]].concat())
                );
            }
            // Terminate.
            socket.write_all(b"X\0\0\0\x04").await.unwrap();
        }
    });
    // In plaintext the hostssl-only server refuses the startup: FATAL 28000, as the mock does.
    let fields = plaintext_startup_reply(server.port);
    assert!(fields.starts_with('E'), "{fields:?}");
    assert!(fields.contains("SFATAL\0"), "{fields:?}");
    assert!(fields.contains("C28000\0"), "{fields:?}");
    assert!(fields.contains("no encryption"), "{fields:?}");
    // And the SSLRequest alone is answered `S`, nothing more before the ClientHello.
    let mut request = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    request
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    std::io::Write::write_all(&mut request, &SSL_REQUEST).unwrap();
    let mut answer = [0u8; 1];
    request.read_exact(&mut answer).unwrap();
    assert_eq!(answer, *b"S");
}
