//! The conformance matrix of `streamsocket`: every protection-level combination, in both ways
//! of securing a socket, against every kind of server, checked against an independent oracle.
//!
//! ```text
//!   matrix ──► Case ──► oracle::expect ─────────────────┐
//!                  └──► runner (client + mock server) ──┴──► report (table, JSON, Markdown, JUnit)
//! ```
//!
//! - [`case`]: the axes and one case.
//! - [`matrix`]: the default matrix and `--filter`.
//! - [`oracle`]: the expected outcome of a case, from the contract, never from the code under test.
//! - [`inmemory`]: the checks that need no socket (the policy table).
//! - [`report`]: the summary table and the files under `target/conformance/`.

#![warn(missing_docs)]

pub mod case;
pub mod inmemory;
pub mod matrix;
pub mod oracle;
pub mod report;
