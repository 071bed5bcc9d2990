//! The child processes of a run (`ratios worker`, `ratios hold`), and the noise-free counts
//! taken of the workers: callgrind instructions and strace system calls.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use streamsocket::{ChainValidationResult, Dialect, SocketSslErrorSeverity};
use streamsocket_benches::external;
use streamsocket_benches::inmem::InMemory;
use streamsocket_benches::loopback::{self, ECHO_UNIT, EchoServer, TlsClient, TokioRustls};
use streamsocket_benches::project::{MockServer, Project, ProjectClient, mock_config};
use streamsocket_benches::setup::TlsSetup;

use crate::value;

/// `ratios hold --addr A --n N`: opens N TLS connections (handshake + 1-byte echo), prints
/// `ready`, and holds them until stdin closes.
pub(crate) fn hold(args: &[String]) -> anyhow::Result<()> {
    let mut addr = None;
    let mut n = 1000usize;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--addr" => addr = Some(value(&mut iter, arg)?.parse()?),
            "--n" => n = value(&mut iter, arg)?.parse()?,
            other => bail!("unknown argument {other:?}"),
        }
    }
    let addr = addr.context("--addr is required")?;
    let rt = loopback::current_thread();
    let client = TlsClient::new(addr, TlsSetup::default().client_config());
    let held = rt.block_on(async {
        let mut held = Vec::with_capacity(n);
        for _ in 0..n {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut tls = client.connect().await?;
            tls.write_all(&ECHO_UNIT).await?;
            tls.flush().await?;
            let mut reply = [0u8; ECHO_UNIT.len()];
            tls.read_exact(&mut reply).await?;
            held.push(tls);
        }
        anyhow::Ok(held)
    })?;
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready")?;
    stdout.flush()?;
    let mut sink = String::new();
    while std::io::stdin().read_line(&mut sink)? > 0 {}
    drop(held);
    Ok(())
}

/// `ratios worker --party m|r|p --n N`: N handshake units of one party, for callgrind.
pub(crate) fn worker(args: &[String]) -> anyhow::Result<()> {
    let mut party = String::new();
    let mut n = 10u64;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--party" => party = value(&mut iter, arg)?.to_owned(),
            "--n" => n = value(&mut iter, arg)?.parse()?,
            other => bail!("unknown argument {other:?}"),
        }
    }
    let (base, variant) = party.split_once('-').unwrap_or((party.as_str(), ""));
    let setup = match variant {
        "resumed" => TlsSetup::default().resumed(),
        "" | "smtp" | "framed" | "ignore" | "2w" => TlsSetup::default(),
        other => bail!("unknown variant {other:?} (resumed, smtp, framed, ignore or 2w)"),
    };
    let dialect = match variant {
        "smtp" => Dialect::Smtp,
        "framed" => Dialect::Framed,
        _ => Dialect::Implicit,
    };
    match (base, variant) {
        ("m", "" | "resumed") => {
            InMemory::new(&setup)?.handshakes(n)?;
        }
        ("r", "" | "resumed") => {
            TokioRustls::new(&setup)?.handshakes(n)?;
        }
        // The two-worker figures' set-up: four concurrent loops on a 2-worker runtime.
        ("r", "2w") => {
            let rt = loopback::multi_thread(2);
            let server = EchoServer::spawn(rt.handle(), setup.server_config())?;
            let client = Arc::new(TlsClient::new(server.addr(), setup.client_config()));
            loopback::concurrent_units(&rt, client, 4, n)?;
        }
        ("p", "2w") => {
            let rt = loopback::multi_thread(2);
            let server = MockServer::spawn(rt.handle(), mock_config(&setup, Dialect::Implicit))?;
            let client = Arc::new(ProjectClient::new(
                server.addr(),
                &setup,
                Dialect::Implicit,
            )?);
            loopback::concurrent_units(&rt, client, 4, n)?;
        }
        ("p", "ignore") => {
            // Every ignorable class listed, against the valid chain.
            let ignorable = ChainValidationResult::ALL
                .into_iter()
                .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable);
            Project::with_client(&setup, dialect, |client| client.ignoring(ignorable))?
                .handshakes(n)?;
        }
        ("p", _) => {
            Project::new(&setup, dialect)?.handshakes(n)?;
        }
        _ => bail!("unknown party {party:?} (m, r, p; -resumed; -2w; p-smtp, p-framed, p-ignore)"),
    }
    Ok(())
}

/// The worker parties counted under callgrind, and their figures.
pub(crate) const CALLGRIND_PARTIES: [(&str, &str); 9] = [
    ("m", "m_instructions_per_handshake"),
    ("r", "r_instructions_per_handshake"),
    ("p", "p_instructions_per_handshake"),
    ("m-resumed", "m_instructions_per_resumed"),
    ("r-resumed", "r_instructions_per_resumed"),
    ("p-resumed", "p_instructions_per_resumed"),
    ("p-smtp", "p_instructions_per_smtp_session"),
    ("p-framed", "p_instructions_per_framed_session"),
    ("p-ignore", "p_instructions_per_handshake_ignoring"),
];

/// The worker parties counted under strace, and their figures.
pub(crate) const STRACE_PARTIES: [(&str, &str); 3] = [
    ("r", "r_syscalls_per_handshake"),
    ("p", "p_syscalls_per_handshake"),
    ("p-smtp", "p_syscalls_per_smtp_session"),
];

/// System calls per handshake unit: strace counts for `n` units minus none.
pub(crate) fn syscalls_per_handshake(party: &str, n: u64) -> anyhow::Result<f64> {
    let exe = std::env::current_exe()?;
    let count = |n: u64| {
        let args = ["worker", "--party", party, "--n", &n.to_string()].map(str::to_owned);
        external::strace_syscalls(&exe, &args)
    };
    let base = count(0)?;
    let loaded = count(n)?;
    Ok(loaded.saturating_sub(base) as f64 / n as f64)
}

/// Instructions per handshake unit: callgrind totals for `large` minus `small` units.
pub(crate) fn instructions_per_handshake(
    out: &Path,
    party: &str,
    small: u64,
    large: u64,
) -> anyhow::Result<f64> {
    let exe = std::env::current_exe()?;
    let scratch = out.join("callgrind");
    let count = |n: u64| {
        let args = ["worker", "--party", party, "--n", &n.to_string()].map(str::to_owned);
        external::callgrind_instructions(&exe, &args, &scratch)
    };
    let a = count(small)?;
    let b = count(large)?;
    if b <= a {
        bail!("callgrind counted {b} instructions for {large} units, {a} for {small}");
    }
    Ok((b - a) as f64 / (large - small) as f64)
}
