//! Shared setup of the benchmarks: the parties being compared, built from one configuration.
//!
//! Three parties, all in one process and all configured by one [`setup::TlsSetup`] (same
//! certificates from testpki's pinned keys, the aws-lc-rs provider, a pinned cipher suite and
//! key-exchange group, resumption on or off):
//!
//! ```text
//!   M  inmem     rustls client <-> buffers <-> rustls server      no sockets, no runtime
//!   R  loopback  tokio-rustls client <-> TCP 127.0.0.1 <-> tokio-rustls server
//!   P  project   StreamSocket client <-> TCP 127.0.0.1 <-> mock server
//! ```
//!
//! Plus plain TCP over the same loopback sockets (the wire's upper bound). The criterion
//! benches under `benches/` and the ratio harness (`src/bin/ratios/`, run by
//! `cargo xtask bench`) only compose these; `BENCHMARKING.md` in the shared notes explains why
//! everything runs interleaved on a current-thread runtime.

//! Every handshake unit is the same for all parties: TCP connect (none in memory), the
//! handshake, and the echo of a 5-byte frame, so the server has finished and the client has read
//! the session tickets; every party connects to `127.0.0.1` (nothing is resolved, no SNI).
//!
//! What the harness cannot pin on the project's side, and why the figures are still comparable:
//! `SocketControl` has no cipher-suite or key-exchange-group option, so the StreamSocket client
//! offers the provider's defaults and the mock server's `TlsPolicy` decides (the negotiated suite
//! and group are the pinned ones; the client's first key share is X25519 without
//! `prefer-post-quantum`, so there is no extra round trip). It has no SO_RCVBUF option either
//! (only SO_SNDBUF, which is the one a sender needs). The mock server has no one-way sink, so
//! project bulk figures send from a StreamSocket to the tokio-rustls sink.

#![warn(missing_docs)]

pub mod cpu;
pub mod external;
pub mod inmem;
pub mod loopback;
pub mod project;
pub mod setup;
pub mod stats;

/// Runs `f` on its own thread and fails the test if it has not finished within a minute (the
/// network tests' bound: a wedged peer must not hang the suite).
#[cfg(test)]
pub(crate) fn within_a_minute<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    use std::sync::mpsc::RecvTimeoutError;
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(std::time::Duration::from_secs(60)) {
        Ok(value) => value,
        // The test panicked: pass its panic on.
        Err(RecvTimeoutError::Disconnected) => match thread.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => panic!("the test thread ended without a result"),
        },
        Err(RecvTimeoutError::Timeout) => panic!("the test did not finish within a minute"),
    }
}
