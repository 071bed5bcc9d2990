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
//! - [`runner`]: one case on loopback: the mock server, the client, the observation.
//! - [`report`]: the summary table and the files under `target/conformance/`.

#![warn(missing_docs)]

pub mod case;
pub mod inmemory;
pub mod matrix;
pub mod oracle;
pub mod report;
pub mod runner;

use std::sync::Arc;
use std::time::Instant;

use crate::case::Case;
use crate::report::{CaseResult, Report};

/// How far a run has come, as [`run`] reports it after each case.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Progress {
    /// Cases finished.
    pub done: usize,
    /// Cases in the run.
    pub total: usize,
    /// Finished cases that failed.
    pub failed: usize,
}

/// Runs `cases` on loopback, at most `jobs` at a time, and the in-memory checks; calls
/// `progress` after each case.
pub async fn run(cases: Vec<Case>, jobs: usize, mut progress: impl FnMut(Progress)) -> Report {
    let in_memory = [inmemory::policy_table(), inmemory::dialects()].concat();
    let started = Instant::now();
    let total = cases.len();
    let limit = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, case) in cases.into_iter().enumerate() {
        let limit = Arc::clone(&limit);
        tasks.spawn(async move {
            // A case that only waits for the client's timeout holds no CPU slot. The semaphore
            // is never closed, so acquiring only waits.
            let _permit = if case.behaviour.waits_for_the_client_timeout() {
                None
            } else {
                limit.acquire_owned().await.ok()
            };
            (index, runner::run_case(case).await)
        });
    }
    let mut results: Vec<(usize, CaseResult)> = Vec::with_capacity(total);
    let mut failed = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => {
                failed += usize::from(!result.1.pass);
                results.push(result);
            }
            // A panicking case is a bug in the code under test or the runner: surface it.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => panic!("a conformance case was cancelled: {e}"),
        }
        progress(Progress {
            done: results.len(),
            total,
            failed,
        });
    }
    results.sort_by_key(|(index, _)| *index);
    Report {
        in_memory,
        cases: results.into_iter().map(|(_, r)| r).collect(),
        duration: started.elapsed(),
    }
}
