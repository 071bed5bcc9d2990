//! P: the project, a StreamSocket client and the mock server in one process over loopback.
//!
//! Both sides take the [`TlsSetup`] of the baselines: the mock server's [`TlsPolicy`] pins the
//! version, suite and group and turns resumption on or off (its resumption is rustls's default
//! session cache and TLS 1.3 tickets, as in the baselines), and it serves testpki's valid chain
//! for the key type. The client cannot pin a suite or group (`SocketControl` has no such
//! option): it offers the provider's defaults and the server's pin decides, which costs the
//! client a longer ClientHello but no extra round trip (X25519 is the client's first share).
//!
//! The mock server speaks a dialect and echoes frames (4-byte length + UTF-8 payload) inside
//! TLS for `Framed` and `Implicit`; it has no one-way sink, so [`project_bulk`] sends from a
//! StreamSocket to the baselines' tokio-rustls sink.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, ensure};
use mockserver::{MockConfig, Stats, TlsPolicy, VersionSet};
use streamsocket::{
    ChainValidationResult, Dialect, HandshakeKind, ProtectionLevel, SocketControl, StreamSocket,
    TrustAnchors,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::{Handle, Runtime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::loopback::{self, HandshakeClient, Received, SOCKET_BUFFER};
use crate::setup::{SERVER_NAME, TlsSetup, Version};

/// The mock server's configuration for `setup` and `dialect`: honest, the valid chain of the
/// setup's key type, and the setup's version, suite, group and resumption.
pub fn mock_config(setup: &TlsSetup, dialect: Dialect) -> MockConfig {
    mock_config_for(setup, dialect, testpki::Scenario::Valid)
}

/// As [`mock_config`], serving the chain of another testpki scenario.
pub fn mock_config_for(
    setup: &TlsSetup,
    dialect: Dialect,
    scenario: testpki::Scenario,
) -> MockConfig {
    let mut config = mockserver::testing::config(dialect, scenario, setup.key);
    config.tls = TlsPolicy {
        versions: match setup.version {
            Version::Tls12 => VersionSet::TLS12_ONLY,
            Version::Tls13 => VersionSet::TLS13_ONLY,
        },
        cipher_suites: setup.cipher_suite_codes(),
        kx_groups: setup.group_codes(),
        resumption: setup.resumption,
        ..config.tls
    };
    config
}

/// A mock server on a loopback listener with the benchmark socket buffers; stopped on drop.
#[derive(Debug)]
pub struct MockServer {
    addr: SocketAddr,
    stats: Stats,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Binds the listener and spawns `mockserver::run_with_stats` on `handle`.
    pub fn spawn(handle: &Handle, config: MockConfig) -> anyhow::Result<Self> {
        let _guard = handle.enter();
        let listener = loopback::listener()?;
        let addr = listener.local_addr()?;
        let stats = Stats::default();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = handle.spawn({
            let stats = stats.clone();
            async move {
                let shutdown = async move {
                    let _ = stopped.await;
                };
                if let Err(err) =
                    mockserver::run_with_stats(listener, Arc::new(config), stats, shutdown).await
                {
                    eprintln!("mock server stopped: {err}");
                }
            }
        });
        Ok(Self {
            addr,
            stats,
            stop: Some(stop),
            task,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Sessions still open are dropped with the runtime; nothing waits for them here.
        self.task.abort();
    }
}

/// The client's options for `setup`: trusts testpki's root, resumption as the setup says (the
/// session store is shared by every clone of the control).
pub fn control(setup: &TlsSetup) -> anyhow::Result<SocketControl> {
    let mut control = SocketControl::default();
    control.set_trust_anchors(TrustAnchors::from_der(setup.identity().trust_anchors))?;
    control.set_session_resumption(setup.resumption)?;
    // The same pinned suite and group as M and R (the client's offer, not only the server's
    // choice: the ClientHello is then the same size too).
    if let Some(suites) = setup.cipher_suite_codes() {
        control.set_cipher_suites(suites)?;
    }
    if let Some(groups) = setup.group_codes() {
        control.set_key_exchange_groups(groups)?;
    }
    control.set_outbound_buffer_size(Some(SOCKET_BUFFER))?;
    control.set_no_delay(true)?;
    Ok(control)
}

/// The protection level that limits the client to the setup's version.
pub fn level(setup: &TlsSetup) -> ProtectionLevel {
    match setup.version {
        Version::Tls12 => ProtectionLevel::Tls12,
        Version::Tls13 => ProtectionLevel::Tls13,
    }
}

/// A StreamSocket client performing handshake units against a mock server.
#[derive(Debug)]
pub struct ProjectClient {
    control: SocketControl,
    host: String,
    port: String,
    dialect: Dialect,
    level: ProtectionLevel,
    expected: HandshakeKind,
}

impl ProjectClient {
    /// A client of the server at `addr` speaking `dialect` (`Implicit`: TLS at connect; any
    /// other: plaintext connect, then `upgrade_with`). The host is [`SERVER_NAME`] (an IP
    /// literal, so nothing is resolved).
    pub fn new(addr: SocketAddr, setup: &TlsSetup, dialect: Dialect) -> anyhow::Result<Self> {
        Ok(Self {
            control: control(setup)?,
            host: SERVER_NAME.to_owned(),
            port: addr.port().to_string(),
            dialect,
            level: level(setup),
            expected: HandshakeKind::Full,
        })
    }

    /// Connects to the host name `host` instead (`localhost` makes every connect resolve it).
    pub fn with_host(mut self, host: &str) -> Self {
        self.host = host.to_owned();
        self
    }

    /// Lets the certificate errors `ignored` pass (the ignorable-errors verifier).
    pub fn ignoring(
        mut self,
        ignored: impl IntoIterator<Item = ChainValidationResult>,
    ) -> anyhow::Result<Self> {
        self.control
            .set_ignorable_server_certificate_errors(ignored)?;
        Ok(self)
    }

    /// Runs one full handshake and expects every later one to resume.
    pub fn prime(&mut self, rt: &Runtime) -> anyhow::Result<()> {
        rt.block_on(self.unit())?;
        self.expected = HandshakeKind::Resumed;
        Ok(())
    }

    /// Connects (and for STARTTLS dialects upgrades), returning the TLS socket.
    pub async fn connect(&self) -> anyhow::Result<StreamSocket> {
        let mut socket = StreamSocket::with_control(self.control.clone());
        if self.dialect == Dialect::Implicit {
            socket.connect(&self.host, &self.port, self.level).await?;
        } else {
            socket
                .connect(&self.host, &self.port, ProtectionLevel::PlainSocket)
                .await?;
            socket
                .upgrade_with(self.dialect, self.level, &self.host)
                .await?;
        }
        Ok(socket)
    }

    fn check(&self, socket: &StreamSocket) -> anyhow::Result<()> {
        let kind = socket.information().handshake_kind;
        ensure!(
            kind == Some(self.expected),
            "handshake kind {kind:?}, expected {:?}",
            self.expected
        );
        Ok(())
    }
}

impl HandshakeClient for ProjectClient {
    /// Implicit TLS and `Framed`: connect, handshake, echo of a 1-byte frame. Line dialects:
    /// connect, greeting, capabilities, STARTTLS, handshake, capabilities again inside TLS
    /// (the first protected bytes), done by `upgrade_with`.
    async fn unit(&self) -> anyhow::Result<()> {
        let mut socket = self.connect().await?;
        if matches!(self.dialect, Dialect::Implicit | Dialect::Framed) {
            socket.write_all(&loopback::ECHO_UNIT).await?;
            socket.flush().await?;
            let mut reply = [0u8; loopback::ECHO_UNIT.len()];
            socket.read_exact(&mut reply).await?;
            ensure!(reply == loopback::ECHO_UNIT, "echo differs");
        }
        self.check(&socket)
    }
}

/// P on a current-thread runtime: the mock server and a StreamSocket client in one process.
#[derive(Debug)]
pub struct Project {
    /// The runtime both sides run on.
    pub rt: Runtime,
    /// The server (kept alive while the pair lives).
    pub server: MockServer,
    /// The client.
    pub client: ProjectClient,
}

impl Project {
    /// Builds both sides from `setup` for `dialect`; with resumption, primes the session store.
    pub fn new(setup: &TlsSetup, dialect: Dialect) -> anyhow::Result<Self> {
        Self::with_client(setup, dialect, Ok)
    }

    /// As [`Project::new`], letting `adjust` change the client first.
    pub fn with_client(
        setup: &TlsSetup,
        dialect: Dialect,
        adjust: impl FnOnce(ProjectClient) -> anyhow::Result<ProjectClient>,
    ) -> anyhow::Result<Self> {
        let rt = loopback::current_thread();
        let server = MockServer::spawn(rt.handle(), mock_config(setup, dialect))?;
        let mut client = adjust(ProjectClient::new(server.addr(), setup, dialect)?)?;
        if setup.resumption {
            client.prime(&rt)?;
        }
        Ok(Self { rt, server, client })
    }

    /// Runs `n` handshake units and returns the time they took.
    pub fn handshakes(&self, n: u64) -> anyhow::Result<Duration> {
        loopback::sequential(&self.rt, &self.client, n)
    }
}

/// One-way bulk transfer from a StreamSocket client (SO_SNDBUF 256 KiB, TCP_NODELAY) to the
/// baselines' tokio-rustls sink, `total` bytes in `chunk`-byte writes, timed on the receiver.
pub fn project_bulk(
    rt: &Runtime,
    setup: &TlsSetup,
    total: u64,
    chunk: usize,
) -> anyhow::Result<Received> {
    let acceptor = TlsAcceptor::from(setup.server_config());
    let control = control(setup)?;
    let level = level(setup);
    rt.block_on(async {
        let listener = loopback::listener()?;
        let addr = listener.local_addr()?;
        let receiver = tokio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let tls = acceptor.accept(stream).await?;
            loopback::sink(tls, chunk).await
        });
        let mut socket = StreamSocket::with_control(control);
        socket
            .connect(SERVER_NAME, &addr.port().to_string(), level)
            .await?;
        loopback::source(socket, total, chunk).await?;
        let received = receiver.await.context("sink task")??;
        ensure!(
            received.bytes == total,
            "received {} of {total}",
            received.bytes
        );
        Ok(received)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::within_a_minute;

    #[test]
    fn full_and_resumed_units_complete() {
        within_a_minute(|| {
            // Each unit checks its handshake kind.
            let setup = TlsSetup::default();
            Project::new(&setup, Dialect::Implicit)
                .unwrap()
                .handshakes(3)
                .unwrap();
            Project::new(&setup.resumed(), Dialect::Implicit)
                .unwrap()
                .handshakes(3)
                .unwrap();
        });
    }

    #[test]
    fn every_dialect_completes_a_session() {
        within_a_minute(|| {
            for dialect in Dialect::ALL {
                Project::new(&TlsSetup::default(), dialect)
                    .unwrap()
                    .handshakes(2)
                    .unwrap_or_else(|err| panic!("{dialect}: {err:#}"));
            }
        });
    }

    #[test]
    fn tls12_units_complete() {
        within_a_minute(|| {
            let setup = TlsSetup {
                version: Version::Tls12,
                ..TlsSetup::default()
            };
            Project::new(&setup, Dialect::Implicit)
                .unwrap()
                .handshakes(2)
                .unwrap();
            Project::new(&setup.resumed(), Dialect::Implicit)
                .unwrap()
                .handshakes(2)
                .unwrap();
        });
    }

    #[test]
    fn the_ignorable_errors_verifier_passes_an_expired_chain() {
        within_a_minute(|| {
            let setup = TlsSetup::default();
            let rt = loopback::current_thread();
            let config = mock_config_for(&setup, Dialect::Implicit, testpki::Scenario::Expired);
            let server = MockServer::spawn(rt.handle(), config).unwrap();
            let client = ProjectClient::new(server.addr(), &setup, Dialect::Implicit)
                .unwrap()
                .ignoring([ChainValidationResult::Expired])
                .unwrap();
            loopback::sequential(&rt, &client, 2).unwrap();
        });
    }

    #[test]
    fn bulk_moves_every_byte() {
        within_a_minute(|| {
            let rt = loopback::current_thread();
            let received =
                project_bulk(&rt, &TlsSetup::default(), (1 << 20) + 5, 16 << 10).unwrap();
            assert_eq!(received.bytes, (1 << 20) + 5);
        });
    }
}
