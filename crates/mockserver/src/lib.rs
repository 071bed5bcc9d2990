//! A TLS/STARTTLS server that plays honest and hostile situations on loopback: the badssl.com
//! of STARTTLS, for testing clients.
//!
//! ```text
//!   TcpListener ──► run(listener, config, shutdown) ──► one task per connection (session)
//!                                                         │
//!        socket bytes ◄──► ServerMachine (streamsocket-proto: greeting, EHLO, STARTTLS, ...)
//!                    └───► go-ahead ──► tokio-rustls acceptor (or a hostile byte-level act)
//!                                        └──► ServerMachine again, inside TLS (state reset)
//! ```
//!
//! The caller binds the listener (port 0 in tests) and passes a shutdown future, so there is
//! never a readiness sleep. Protocol decisions live in the sans-IO `ServerMachine`; this crate
//! adds sockets, TLS, time limits, the connection cap, counters and transcripts. It does not
//! implement any legacy TLS: the `LegacyOnly` behaviours answer the ClientHello with a
//! hand-made alert record, and the `LegacyServerHello` ones with a hand-made ServerHello,
//! Certificate and ServerHelloDone (`proto::hello::legacy`), then only read what the client
//! answers.
//!
//! Layout:
//! - [`config`]: [`MockConfig`], [`Behaviour`], [`TlsPolicy`], [`Limits`].
//! - [`server`]: [`run`], [`run_with_stats`]: the accept loop, connection cap, shutdown.
//! - `session`: one connection's driver (socket ⇄ machine ⇄ tokio-rustls).
//! - [`stats`]: [`Stats`], [`StatsSnapshot`], [`Transcript`], and the typed observations
//!   ([`SessionEnd`], [`HandshakeFailure`], [`Limit`]) that are named only when serialised.
//! - [`session_log`]: [`SessionLog`](session_log::SessionLog), one JSON line per finished
//!   session ([`SessionRecord`](session_log::SessionRecord)), and [`session_log::read`].
//! - [`catalogue`]: every scenario x dialect x behaviour worth serving, with expectations.
//! - [`testing`]: [`testing::spawn`] and friends for other crates' tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use proto::starttls::Dialect;
//! use testpki::{KeyKind, Scenario};
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let config = mockserver::testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::EcdsaP256);
//! mockserver::run(listener, Arc::new(config), async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

pub mod catalogue;
pub mod config;
mod hostile;
mod rewind;
pub mod server;
mod session;
pub mod session_log;
pub mod stats;
pub mod testing;
mod tls;
mod wire;

pub use config::{Behaviour, ClientAuth, LegacyVersion, Limits, MockConfig, ParseError, TlsPolicy};
pub use proto::level::VersionSet;
pub use proto::starttls::Refusal;
pub use server::{run, run_with_stats};
pub use session::injected_response;
pub use stats::{
    HandshakeFailure, IoFailure, Limit, MAX_CLIENT_HELLO_BYTES, Phase, SessionEnd, Stats,
    StatsSnapshot, Transcript, UnknownName,
};

/// What can stop a mock server from serving.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// rustls rejected the TLS policy or the certificate.
    #[error("tls configuration rejected")]
    Tls(#[source] rustls::Error),
    /// The TLS policy cannot be served (for example no cipher suite left).
    #[error("invalid tls policy: {0}")]
    InvalidPolicy(String),
    /// Binding or inspecting the listener failed.
    #[error("socket error")]
    Io(#[source] std::io::Error),
}
