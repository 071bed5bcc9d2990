//! Helpers for tests, benchmarks and the conformance runner: a server on a loopback port,
//! ready before `spawn` returns (the listener is bound first, so no readiness sleep is needed).
//!
//! ```no_run
//! # async fn demo() {
//! use mockserver::testing;
//! use proto::starttls::Dialect;
//! use testpki::{KeyKind, Scenario};
//!
//! let server = testing::spawn(testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::EcdsaP256)).await;
//! let _stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
//! // ... talk SMTP, upgrade, assert ...
//! server.shutdown().await;
//! # }
//! ```

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use proto::starttls::{Dialect, InjectionPolicy};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{Behaviour, Limits, MockConfig, TlsPolicy};
use crate::stats::{Stats, StatsSnapshot, Transcript};
use crate::{Error, server};

/// A mock server running on a tokio task; dropping it shuts the server down too.
#[derive(Debug)]
pub struct RunningServer {
    addr: SocketAddr,
    stats: Stats,
    config: Arc<MockConfig>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Binds `127.0.0.1:0` and serves `config` there.
///
/// # Panics
///
/// If the port cannot be bound or the TLS policy is invalid (see [`try_spawn_on`] for the
/// fallible form); a test wants to stop there.
pub async fn spawn(config: MockConfig) -> RunningServer {
    spawn_on(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), config).await
}

/// Binds `addr` (for example `[::1]:0`) and serves `config` there.
///
/// # Panics
///
/// As [`spawn`].
pub async fn spawn_on(addr: SocketAddr, config: MockConfig) -> RunningServer {
    match try_spawn_on(addr, config).await {
        Ok(server) => server,
        Err(e) => panic!("mock server on {addr} did not start: {e}"),
    }
}

/// Binds `addr` and serves `config` there.
///
/// # Errors
///
/// [`Error::Io`] if binding fails, [`Error::Tls`]/[`Error::InvalidPolicy`] for a bad policy.
pub async fn try_spawn_on(addr: SocketAddr, config: MockConfig) -> Result<RunningServer, Error> {
    try_spawn_with_stats(addr, config, Stats::default()).await
}

/// Binds `127.0.0.1:0` and serves `config` there, counting into `stats` (for example
/// [`Stats::with_session_log`]).
///
/// # Panics
///
/// As [`spawn`].
pub async fn spawn_with_stats(config: MockConfig, stats: Stats) -> RunningServer {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    match try_spawn_with_stats(addr, config, stats).await {
        Ok(server) => server,
        Err(e) => panic!("mock server on {addr} did not start: {e}"),
    }
}

/// Binds `addr` and serves `config` there, counting into `stats`.
///
/// # Errors
///
/// As [`try_spawn_on`].
pub async fn try_spawn_with_stats(
    addr: SocketAddr,
    config: MockConfig,
    stats: Stats,
) -> Result<RunningServer, Error> {
    let config = Arc::new(config);
    let shared = server::prepare(config.clone(), stats.clone())?;
    let listener = TcpListener::bind(addr).await.map_err(Error::Io)?;
    let addr = listener.local_addr().map_err(Error::Io)?;
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(server::serve(listener, shared, async move {
        // Sent, or the handle was dropped: either way, stop.
        let _ = stopped.await;
    }));
    Ok(RunningServer {
        addr,
        stats,
        config,
        stop: Some(stop),
        task: Some(task),
    })
}

impl RunningServer {
    /// The bound address (the real port).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The configuration served.
    pub fn config(&self) -> &MockConfig {
        &self.config
    }

    /// The live counters and transcripts (cheap to clone, keeps counting).
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// A copy of the counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// The transcripts kept, running sessions included, oldest first.
    pub fn transcripts(&self) -> Vec<Transcript> {
        self.stats.transcripts()
    }

    /// Waits until `count` connections have ended; then their stats and transcripts are final.
    pub async fn wait_closed(&self, count: u64) {
        self.stats.wait_closed(count).await;
    }

    /// Asks for a graceful shutdown and waits until the server has stopped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
            && e.is_panic()
        {
            // A panic in the server is a test failure; pass it on.
            std::panic::resume_unwind(e.into_panic());
        }
    }
}

/// A configuration with the defaults the other crates' tests want: honest behaviour, TLS 1.2
/// and 1.3, no client authentication (but the client CA is set, so switching `client_auth`
/// is enough), injection policy `Discard`, default limits, host name [`testpki::TEST_HOST`].
///
/// # Panics
///
/// If testpki cannot issue the scenario (a bug there).
pub fn config(dialect: Dialect, scenario: testpki::Scenario, key: testpki::KeyKind) -> MockConfig {
    let pki = testpki::Pki::shared(key);
    let identity = match pki.server(scenario) {
        Ok(identity) => identity,
        Err(e) => panic!("testpki cannot issue {scenario:?} with {key:?}: {e}"),
    };
    let tls = TlsPolicy {
        client_ca: vec![pki.client_ca_der()],
        ..TlsPolicy::default()
    };
    MockConfig {
        dialect,
        behaviour: Behaviour::Honest,
        tls,
        identity: Arc::new(identity),
        injection_policy: InjectionPolicy::Discard,
        limits: Limits::default(),
        hostname: testpki::TEST_HOST.to_owned(),
    }
}
