//! Allocation and heap counting: a counting global allocator, allocations per unit of work, and
//! the heap a server holds per idle connection.

use std::alloc::System;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use streamsocket::Dialect;
use streamsocket_benches::loopback::{self, EchoServer, Received};
use streamsocket_benches::project::{MockServer, mock_config};
use streamsocket_benches::setup::TlsSetup;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes currently held on the heap by the whole process.
fn heap_now() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64
}

/// Allocations per MiB of a bulk transfer (both sides, one process; the connection setup,
/// handshake included, is counted too, which 64 MiB make small).
pub(crate) fn allocs_per_mib(
    transfer: impl FnOnce() -> anyhow::Result<Received>,
) -> anyhow::Result<f64> {
    let before = GLOBAL.stats().allocations;
    let received = transfer()?;
    let allocations = GLOBAL.stats().allocations - before;
    Ok(allocations as f64 / (received.bytes as f64 / (1 << 20) as f64))
}

/// Allocations per unit of `n` units run by `run` (both sides, one process).
pub(crate) fn allocs_per_unit(
    n: u64,
    run: impl FnOnce() -> anyhow::Result<Duration>,
) -> anyhow::Result<f64> {
    let before = GLOBAL.stats().allocations;
    run()?;
    let allocations = GLOBAL.stats().allocations - before;
    Ok(allocations as f64 / n as f64)
}

/// Heap held per idle connection on R's echo server: a child process opens `n` connections
/// (handshake and 1-byte echo each) and holds them; this process runs only the server.
pub(crate) fn idle_heap_r(setup: &TlsSetup, n: usize) -> anyhow::Result<f64> {
    let rt = loopback::multi_thread(1);
    let server = EchoServer::spawn(rt.handle(), setup.server_config())?;
    idle_heap(server.addr(), n)
}

/// Heap held per idle connection on the mock server (implicit TLS, the pinned setup).
pub(crate) fn idle_heap_p(setup: &TlsSetup, n: usize) -> anyhow::Result<f64> {
    let rt = loopback::multi_thread(1);
    let server = MockServer::spawn(rt.handle(), mock_config(setup, Dialect::Implicit))?;
    idle_heap(server.addr(), n)
}

/// Heap held per connection by the server at `addr` in this process, with `n` idle clients in
/// a child process.
fn idle_heap(addr: std::net::SocketAddr, n: usize) -> anyhow::Result<f64> {
    let before = heap_now();
    let mut child = Command::new(std::env::current_exe()?)
        .args(["hold", "--addr", &addr.to_string(), "--n", &n.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start the client process")?;
    let stdout = child.stdout.take().context("child stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line)?;
    let after = heap_now();
    // Closing stdin tells the child to go.
    drop(child.stdin.take());
    let status = child.wait()?;
    if line.trim() != "ready" || !status.success() {
        bail!("the client process failed ({status}): {line:?}");
    }
    Ok((after - before) as f64 / n as f64)
}
