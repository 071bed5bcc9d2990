//! Audits any TLS/STARTTLS client program: runs it once per case against a mock server on
//! loopback that plays an honest or a hostile situation, and judges it only from what the
//! server observed, never from the program's own output.
//!
//! ```text
//!   catalogue entry ──► case (category) ──► mock server on 127.0.0.1:0 ──┐
//!                                              ▲                         │ transcripts, ends,
//!   COMMAND with {host} {port} {ca} ... ──► child process (timeout)      │ handshakes
//!                                                                        ▼
//!                                     verdict::judge (pure) ──► pass / fail / warn / info /
//!                                                               inconclusive, with a reason
//! ```
//!
//! The cases come from `mockserver::catalogue` (every scenario x dialect x behaviour), so the
//! audit and the mock server never disagree on what exists. The rules live in [`verdict`], a
//! pure module tested without processes. This crate does not judge the client's certificate
//! profile or its ClientHello yet.
//!
//! ```no_run
//! # async fn demo() -> Result<(), streamsocket_audit::Error> {
//! use std::time::Duration;
//! use streamsocket_audit::{AuditConfig, run};
//!
//! let command = ["streamsocket", "connect", "{host}", "{port}", "--level", "Ssl",
//!     "--starttls", "{dialect}", "--ca", "{ca}"].map(String::from).to_vec();
//! let audit = run(AuditConfig {
//!     command,
//!     dialects: vec![proto::starttls::Dialect::Smtp],
//!     filter: None,
//!     jobs: 2,
//!     case_timeout: Duration::from_secs(20),
//!     env: Vec::new(),
//!     ipv6: false,
//! })
//! .await?;
//! print!("{}", audit.table());
//! # Ok(()) }
//! ```
//!
//! Layout:
//! - [`case`]: [`Case`] and [`Category`], derived from the catalogue.
//! - [`verdict`]: the rules, observations in, [`Judgement`] out.
//! - [`command`]: placeholders, the child process, its timeout and output tails.
//! - [`runner`]: one case end to end, and all of them `jobs` at a time.
//! - [`profile`]: the client profile from its first ClientHello (versions, suites with the weak
//!   ones flagged, groups, signature schemes, SNI, ALPN, extensions, JA4).
//! - [`report`]: [`Audit`], the terminal table, `audit.json`, the exit status.
//! - [`server`]: the other direction, `streamsocket-audit server HOST SERVICE`: which
//!   protection levels a server accepts, its certificate, and whether its STARTTLS is safe.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod case;
pub mod command;
pub mod expect;
pub mod profile;
pub mod report;
pub mod runner;
pub mod server;
pub mod verdict;

pub use case::{Case, Category, cases};
pub use report::{Audit, CaseResult, Outcome};
pub use runner::{AuditConfig, Progress, run, run_with_progress};
pub use verdict::{Judgement, Observations, ProcessEnd, Verdict, judge};

/// What can stop an audit before it judges anything: problems of the harness, not findings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No command was given.
    #[error("no command to audit")]
    EmptyCommand,
    /// A certificate or its PEM file could not be made.
    #[error("certificates")]
    Pki(#[source] testpki::Error),
    /// A mock server could not start.
    #[error("mock server")]
    Server(#[source] mockserver::Error),
    /// A temporary file or a report could not be written.
    #[error("file system")]
    Io(#[source] std::io::Error),
    /// The JSON report could not be serialised.
    #[error("json report")]
    Json(#[source] serde_json::Error),
}
