//! One case on loopback: the PEM files, the mock server, the command, the observations and the
//! verdict; and all cases, a bounded number at a time.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use mockserver::{Behaviour, testing};
use proto::starttls::Dialect;
use testpki::{Pki, Scenario};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::timeout;

use crate::Error;
use crate::case::Case;
use crate::command::{self, Placeholders, ProcessRun};
use crate::report::{Audit, CaseResult};
use crate::verdict::{self, Observations};

/// How long the harness waits, after the command ended, for the server to record the end of
/// every connection it accepted.
const SETTLE: Duration = Duration::from_secs(3);

/// What to audit and how.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// The command, program first, with placeholders.
    pub command: Vec<String>,
    /// The dialects to audit (all when empty).
    pub dialects: Vec<Dialect>,
    /// Only cases whose id or category contains this text.
    pub filter: Option<String>,
    /// Cases run at once (at least 1).
    pub jobs: usize,
    /// Time allowed to the command per case; it is killed then.
    pub case_timeout: Duration,
    /// Environment variables set for the command, their values with placeholders.
    pub env: Vec<(String, String)>,
    /// Serve on `::1` instead of `127.0.0.1`.
    pub ipv6: bool,
}

/// How far a run is, after each case.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Progress {
    /// Cases judged so far.
    pub done: usize,
    /// Cases in the run.
    pub total: usize,
    /// Of those judged, how many failed.
    pub failed: usize,
}

/// Runs every selected case and judges each.
///
/// # Errors
///
/// If the command is empty, or a case cannot be set up (certificates, PEM files, the server's
/// port): a problem of the harness, not a finding.
pub async fn run(config: AuditConfig) -> Result<Audit, Error> {
    run_with_progress(config, |_| {}).await
}

/// [`run`], calling `progress` after each case is judged (in the order they finish).
///
/// # Errors
///
/// As [`run`].
pub async fn run_with_progress(
    config: AuditConfig,
    mut progress: impl FnMut(Progress),
) -> Result<Audit, Error> {
    if config.command.is_empty() {
        return Err(Error::EmptyCommand);
    }
    let cases = crate::case::cases(&config.dialects, config.filter.as_deref());
    let total = cases.len();
    let config = Arc::new(config);
    let slots = Arc::new(Semaphore::new(config.jobs.max(1)));
    let mut set = JoinSet::new();
    for (index, case) in cases.into_iter().enumerate() {
        let config = config.clone();
        let slots = slots.clone();
        set.spawn(async move {
            // A case whose server stalls only waits for the client's timeout: it holds no CPU
            // slot. The semaphore is never closed, so acquiring only waits.
            let _slot = if case.entry.behaviour == Behaviour::StallAfterGoAhead {
                None
            } else {
                slots.acquire_owned().await.ok()
            };
            (index, run_case(&case, &config).await)
        });
    }
    let mut results = Vec::new();
    let mut failed = 0;
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((index, result)) => {
                let result = result?;
                failed += usize::from(result.judgement.verdict == crate::Verdict::Fail);
                results.push((index, result));
                progress(Progress {
                    done: results.len(),
                    total,
                    failed,
                });
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
    results.sort_by_key(|(index, _)| *index);
    let results: Vec<CaseResult> = results.into_iter().map(|(_, r)| r).collect();
    Ok(Audit {
        command: config.command.clone(),
        case_timeout: config.case_timeout,
        client_profile: results.iter().find_map(|r| r.client_profile.clone()),
        results,
    })
}

/// Runs one case: files, server, command, observations, verdict.
///
/// # Errors
///
/// As [`run`].
pub async fn run_case(case: &Case, config: &AuditConfig) -> Result<CaseResult, Error> {
    let dir = tempfile::tempdir().map_err(Error::Io)?;
    let mock = case.config(config.case_timeout).map_err(Error::Pki)?;
    let pki = Pki::shared(case.entry.key_type);
    let files = mock.identity.write_pem(dir.path()).map_err(Error::Pki)?;
    let crl = match files.crl {
        Some(crl) => crl,
        None => {
            // No CRL in this scenario: the project CA's current CRLs (they list only the
            // revoked leaf), so that a command that always passes `--crl {crl}` gets a real
            // file that changes nothing for this chain.
            let crl_dir = dir.path().join("crl");
            std::fs::create_dir(&crl_dir).map_err(Error::Io)?;
            let revoked = pki.server(Scenario::Revoked).map_err(Error::Pki)?;
            revoked
                .write_pem(&crl_dir)
                .map_err(Error::Pki)?
                .crl
                .unwrap_or_else(|| crl_dir.join("crl.pem"))
        }
    };
    let client = pki
        .client(true)
        .map_err(Error::Pki)?
        .write_pem(dir.path())
        .map_err(Error::Pki)?;
    let loopback = if config.ipv6 {
        SocketAddr::from((Ipv6Addr::LOCALHOST, 0))
    } else {
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
    };
    let server = testing::try_spawn_on(loopback, mock)
        .await
        .map_err(Error::Server)?;
    let values = Placeholders {
        host: server.addr().ip().to_string(),
        port: server.addr().port(),
        name: testpki::TEST_HOST.to_owned(),
        ca: files.ca,
        crl,
        client_cert: client.chain,
        client_key: client.key,
        dialect: case.dialect().name().to_owned(),
    };
    let process: ProcessRun =
        command::run(&config.command, &config.env, &values, config.case_timeout).await;
    let accepted = server.snapshot().connections;
    // Bounded: a session the client left open is ended by the shutdown below.
    let _ = timeout(SETTLE, server.wait_closed(accepted)).await;
    let transcripts = server.transcripts();
    server.shutdown().await;
    let observations = Observations {
        transcripts,
        process: process.end,
        duration: process.duration,
        crl_given: config
            .command
            .iter()
            .chain(config.env.iter().map(|(_, value)| value))
            .any(|a| a.contains("{crl}")),
    };
    let judgement = verdict::judge(case, &observations);
    Ok(CaseResult::new(case, judgement, observations, process))
}
