//! Hostile input against layer 1: garbage instead of a protocol, oversized lines and frames,
//! truncation, the error limit, response and command injection, STARTTLS stripping, the state
//! reset after TLS, generated certificate chains with planted defects against the chain verifier,
//! and the replay of every fuzz seed and former fuzz crash under `fixtures/fuzz/`.
//!
//! One binary: `cargo test -p streamsocket-proto --test hostile`. Everything runs in memory,
//! deterministically (pseudo-random bytes come from a fixed-seed generator).

// The fuzz oracles are shared with the cargo-fuzz crate, where they are `pub`. Their root is a
// `mod.rs`, so that its modules are found in `fuzz/src/harness/` from here too.
#[allow(unreachable_pub, dead_code)]
#[path = "../../../../fuzz/src/harness/mod.rs"]
mod harness;

mod chains;
mod corpus;
mod garbage;
mod injection;
mod limits;
mod postgres;
mod regressions;
mod reset;
mod stripping;
mod support;
