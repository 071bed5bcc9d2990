//! The accept loop: connection cap, one task per session, graceful shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::config::MockConfig;
use crate::session::{self, Shared};
use crate::stats::{SessionEnd, Stats};
use crate::{Error, tls};

/// Pause after a failed `accept` (for example too many open files), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Serves `listener` with `config` until `shutdown` resolves, then tells every session to
/// close (421 / `* BYE` / `-ERR`, inside TLS if upgraded, then close_notify) and returns once
/// they have ended, or after `limits.shutdown_grace`.
///
/// # Errors
///
/// [`Error::Tls`] or [`Error::InvalidPolicy`] if the TLS policy cannot be built; nothing is
/// served then.
pub async fn run(
    listener: TcpListener,
    config: Arc<MockConfig>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    run_with_stats(listener, config, Stats::default(), shutdown).await
}

/// As [`run`], counting into `stats` (keep a clone to read it while the server runs).
///
/// # Errors
///
/// As [`run`].
pub async fn run_with_stats(
    listener: TcpListener,
    config: Arc<MockConfig>,
    stats: Stats,
    shutdown: impl Future<Output = ()>,
) -> Result<(), Error> {
    let shared = prepare(config, stats)?;
    serve(listener, shared, shutdown).await;
    Ok(())
}

/// Checks the configuration and builds the TLS side.
pub(crate) fn prepare(config: Arc<MockConfig>, stats: Stats) -> Result<Arc<Shared>, Error> {
    let tls = if config.dialect == proto::starttls::Dialect::Postgres && config.tls.alpn.is_empty()
    {
        // PostgreSQL 17 offers `postgresql` and refuses any other protocol a client names.
        let mut policy = config.tls.clone();
        policy.alpn = vec![proto::starttls::POSTGRES_ALPN.to_vec()];
        tls::server_config(&policy, &config.identity)?
    } else {
        tls::server_config(&config.tls, &config.identity)?
    };
    Ok(Arc::new(Shared {
        config,
        acceptor: TlsAcceptor::from(tls),
        stats,
    }))
}

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()>,
) {
    let limits = shared.config.limits;
    // Semaphore::MAX_PERMITS is the ceiling tokio accepts.
    let permits = Arc::new(Semaphore::new(
        limits.max_connections.min(Semaphore::MAX_PERMITS),
    ));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut sessions = JoinSet::new();
    match listener.local_addr() {
        Ok(local) => {
            info!(%local, dialect = %shared.config.dialect, behaviour = %shared.config.behaviour, "serving");
        }
        Err(e) => {
            info!(%e, dialect = %shared.config.dialect, behaviour = %shared.config.behaviour, "serving (address unknown)");
        }
    }
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(ok) => ok,
                    Err(e) => {
                        warn!(%e, "accept failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let mut transcript = shared.stats.record_connection();
                let facts = shared
                    .stats
                    .session_log()
                    .map(|_| session::Facts::accepted(&stream, peer));
                let Ok(permit) = permits.clone().try_acquire_owned() else {
                    refuse(&shared, stream, &mut transcript, facts);
                    continue;
                };
                let span = info_span!("session", id = transcript.id(), %peer);
                span.in_scope(|| debug!("connection accepted"));
                let shared = shared.clone();
                let stop = stop_rx.clone();
                // Boxed: a session's future holds a whole TLS connection inline, and the task
                // cell would otherwise copy it on spawn and again on completion.
                sessions.spawn(
                    Box::pin(session::serve(stream, shared, transcript, stop, permit, facts))
                        .instrument(span),
                );
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let running = sessions.len();
    if running > 0 {
        info!(running, "shutting down: waiting for sessions");
    }
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while sessions.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        warn!(
            left = sessions.len(),
            "sessions still running after the grace period: aborted"
        );
        sessions.shutdown().await;
    }
    info!("stopped");
}

/// Connection over the cap: the dialect's refusal (421 / `* BYE` / `-ERR`), then close.
fn refuse(
    shared: &Shared,
    stream: tokio::net::TcpStream,
    transcript: &mut crate::stats::TranscriptHandle,
    facts: Option<session::Facts>,
) {
    shared.stats.record_refused_connection();
    shared
        .stats
        .record_end(transcript, SessionEnd::ConnectionCap);
    if let Some(msg) = session::machine(&shared.config).shutdown_message() {
        // A fresh socket's send buffer is empty, so a short line goes out at once; a refused
        // peer gets no more effort than that.
        match stream.try_write(&msg) {
            Ok(n) => {
                if let Some(facts) = &facts {
                    facts.count_sent(n);
                }
            }
            Err(e) => debug!(%e, "could not send the refusal"),
        }
    }
    if let (Some(log), Some(facts)) = (shared.stats.session_log(), &facts) {
        let record = facts.record(
            &shared.config,
            &transcript.snapshot(),
            0,
            SessionEnd::ConnectionCap,
        );
        if let Err(e) = log.write(&record) {
            warn!(%e, "cannot write the session log");
        }
    }
    debug!("connection refused: cap reached");
}
