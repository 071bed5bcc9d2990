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
//! benches under `benches/` and the ratio harness (`src/bin/ratios.rs`, run by
//! `cargo xtask bench`) only compose these; `BENCHMARKING.md` in the shared notes explains why
//! everything runs interleaved on a current-thread runtime.

#![warn(missing_docs)]

pub mod cpu;
pub mod external;
pub mod inmem;
pub mod loopback;
pub mod project;
pub mod setup;
pub mod stats;
