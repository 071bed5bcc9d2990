//! The ratio harness: interleaved rounds of [M, R, P] (in-memory rustls, tokio-rustls over
//! loopback, the project), then every figure's median and spread and every ratio against its
//! target, written to `summary.json` and `summary.md`. `cargo xtask bench [--quick]` runs it.
//!
//! Within a round, every handshake figure is measured in `--slices` short slices, one pass over
//! all of them after another (M, plain TCP, R, P, ... M, plain TCP, R, P, ...), and summed: a
//! neighbour's load that comes and goes over a few seconds then weighs on every party alike,
//! instead of on whichever party was running at the time.
//!
//! ```text
//! ratios [--quick] [--out DIR] [--rounds N] [--seconds S] [--slices N] [--no-callgrind]
//!        [--no-openssl]
//! ratios worker --party P --n N         (what callgrind and strace run: N handshake units of
//!                                        m, r, p, m-resumed, r-resumed, p-resumed, p-smtp,
//!                                        p-framed, p-ignore, r-2w or p-2w)
//! ratios hold --addr IP:PORT --n N      (a client process holding N idle TLS connections)
//! ```
//!
//! A figure that cannot be measured (a missing program, a missing feature) is `null` with the
//! reason; nothing is ever filled in by hand.

#![allow(clippy::print_stdout, reason = "a command-line report")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::{Value, json};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};
use std::alloc::System;
use streamsocket::{CertificateSummary, ChainValidationResult, Dialect, SocketSslErrorSeverity};
use streamsocket_benches::cpu;
use streamsocket_benches::external::{self, OpensslServer};
use streamsocket_benches::inmem::{InMemory, InMemoryBulk};
use streamsocket_benches::loopback::Received;
use streamsocket_benches::loopback::{
    self, ECHO_UNIT, EchoServer, IO_CHUNK, PlainTcp, TlsClient, TokioRustls,
};
use streamsocket_benches::project::{
    MockServer, Project, ProjectClient, mock_config, project_bulk,
};
use streamsocket_benches::setup::{Group, Suite, TlsSetup};
use streamsocket_benches::stats::{self, Summary};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("worker") => worker(&args[1..]),
        Some("hold") => hold(&args[1..]),
        _ => Options::parse(&args).and_then(run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("ratios: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Command-line options of a harness run.
#[derive(Clone, Debug)]
struct Options {
    quick: bool,
    out: PathBuf,
    rounds: usize,
    seconds: f64,
    slices: u32,
    bulk_bytes: u64,
    callgrind: bool,
    openssl: bool,
    idle_connections: usize,
}

impl Options {
    fn parse(args: &[String]) -> anyhow::Result<Self> {
        let quick = args.iter().any(|a| a == "--quick");
        let mut options = Self {
            quick,
            out: PathBuf::from("target/bench"),
            rounds: if quick { 5 } else { 7 },
            seconds: if quick { 1.0 } else { 3.0 },
            slices: if quick { 10 } else { 15 },
            bulk_bytes: if quick { 256 << 20 } else { 1 << 30 },
            callgrind: true,
            openssl: true,
            idle_connections: 1000,
        };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            match arg.as_str() {
                "--quick" => {}
                // `cargo bench` passes this to every bench target.
                "--bench" => {}
                "--no-callgrind" => options.callgrind = false,
                "--no-openssl" => options.openssl = false,
                "--out" => options.out = PathBuf::from(value(&mut iter, arg)?),
                "--rounds" => options.rounds = value(&mut iter, arg)?.parse()?,
                "--seconds" => options.seconds = value(&mut iter, arg)?.parse()?,
                "--slices" => options.slices = value(&mut iter, arg)?.parse()?,
                "--bulk-mib" => options.bulk_bytes = value(&mut iter, arg)?.parse::<u64>()? << 20,
                "--idle" => options.idle_connections = value(&mut iter, arg)?.parse()?,
                other => bail!("unknown argument {other:?}"),
            }
        }
        if options.rounds == 0 {
            bail!("--rounds must be at least 1");
        }
        if options.slices == 0 {
            bail!("--slices must be at least 1");
        }
        Ok(options)
    }
}

fn value<'a>(iter: &mut impl Iterator<Item = &'a String>, flag: &str) -> anyhow::Result<&'a str> {
    iter.next()
        .map(String::as_str)
        .with_context(|| format!("{flag} needs a value"))
}

/// One figure, sampled once per round.
struct Measure {
    key: &'static str,
    run: Run,
}

/// How a measure fills its round.
enum Run {
    /// In one piece (a bulk transfer is one sample).
    Whole(Box<dyn FnMut() -> anyhow::Result<Sample>>),
    /// In `--slices` short slices, interleaved with every other sliced measure and summed, so
    /// that a change of machine load slower than one pass over the group hits every party
    /// alike. The argument is the slice's length.
    Sliced(Box<dyn FnMut(Duration) -> anyhow::Result<Tally>>),
}

/// Work done and the time it took, summed over the slices of a round.
#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    units: f64,
    wall: Duration,
    /// CPU time of this thread, where it means something (not on a multi-thread runtime).
    cpu: Option<Duration>,
}

impl Tally {
    fn add(&mut self, other: Self) {
        if self.wall.is_zero() {
            *self = other;
            return;
        }
        self.units += other.units;
        self.wall += other.wall;
        self.cpu = self.cpu.zip(other.cpu).map(|(a, b)| a + b);
    }

    fn sample(self) -> Sample {
        Sample::of(self.units, self.wall, self.cpu)
    }
}

/// One measurement: per wall-clock second, and per CPU-second of the measuring thread.
#[derive(Clone, Copy, Debug)]
struct Sample {
    value: f64,
    cpu: Option<f64>,
}

impl Sample {
    /// `amount` of work done in `wall` (and `cpu`) time.
    fn of(amount: f64, wall: Duration, cpu: Option<Duration>) -> Self {
        Self {
            value: amount / wall.as_secs_f64(),
            cpu: cpu
                .filter(|c| !c.is_zero())
                .map(|c| amount / c.as_secs_f64()),
        }
    }
}

/// The CPU-time twin of a figure key (`x_per_s` -> `x_per_cpu_s`), if the table has one.
fn cpu_key(key: &str) -> Option<&'static str> {
    let twin = key.replace("_per_s", "_per_cpu_s");
    FIGURES
        .iter()
        .map(|(k, _, _)| *k)
        .find(|k| *k == twin && twin != key)
}

/// What every figure means and its unit.
const FIGURES: &[(&str, &str, &str)] = &[
    (
        "m_handshake_per_s",
        "1/s",
        "M: full TLS 1.3 handshake units per second, in memory",
    ),
    (
        "r_handshake_per_s",
        "1/s",
        "R: full TLS 1.3 handshake units per second, tokio-rustls over loopback",
    ),
    (
        "p_handshake_per_s",
        "1/s",
        "P: full TLS 1.3 handshake units per second, StreamSocket + mock server",
    ),
    (
        "tcp_connect_per_s",
        "1/s",
        "plain TCP units per second: connect, 5-byte echo, close, no TLS (the socket floor of a handshake unit)",
    ),
    (
        "tcp_starttls_like_per_s",
        "1/s",
        "plain TCP units after an SMTP-like plaintext exchange (greeting, two line round trips), no TLS",
    ),
    (
        "model_starttls_per_s",
        "1/s",
        "P direct TLS plus the plain-TCP cost of the SMTP exchange's extra round trips: 1/(1/P + 1/starttls-like TCP - 1/plain TCP unit)",
    ),
    (
        "model_handshake_per_s",
        "1/s",
        "1/(1/M + 1/plain TCP unit): the best a client and server over loopback sockets can reach, per round",
    ),
    (
        "model_resumed_per_s",
        "1/s",
        "1/(1/M resumed + 1/plain TCP unit): the same for resumed handshakes",
    ),
    (
        "m_resumed_per_s",
        "1/s",
        "M: resumed TLS 1.3 handshake units per second",
    ),
    (
        "r_resumed_per_s",
        "1/s",
        "R: resumed TLS 1.3 handshake units per second",
    ),
    (
        "p_resumed_per_s",
        "1/s",
        "P: resumed TLS 1.3 handshake units per second",
    ),
    (
        "p_starttls_smtp_per_s",
        "1/s",
        "P: SMTP sessions per second (connect, greeting, EHLO, STARTTLS, handshake, EHLO)",
    ),
    (
        "r_two_workers_per_s",
        "1/s",
        "R: full handshake units per second, 2-worker runtime, 4 concurrent clients",
    ),
    (
        "p_two_workers_per_s",
        "1/s",
        "P: full handshake units per second, 2-worker runtime, 4 concurrent clients",
    ),
    (
        "openssl_handshake_per_s",
        "1/s",
        "openssl s_server + s_time -new -tls1_3, full handshakes per wall-clock second",
    ),
    (
        "m_handshake_default_per_s",
        "1/s",
        "M: full handshakes per second with the provider's default suites and groups",
    ),
    (
        "r_handshake_default_per_s",
        "1/s",
        "R: full handshakes per second with the provider's default suites and groups",
    ),
    (
        "p_handshake_default_per_s",
        "1/s",
        "P: full handshakes per second with the provider's default suites and groups",
    ),
    (
        "m_bulk_bytes_per_s",
        "B/s",
        "M: in-memory encrypt+decrypt, AES-128-GCM, 16 KiB writes, one thread",
    ),
    (
        "tcp_bulk_bytes_per_s",
        "B/s",
        "plain TCP over loopback, 256 KiB socket buffers, 16 KiB writes and reads",
    ),
    (
        "r_bulk_bytes_per_s",
        "B/s",
        "R: tokio-rustls one-way bulk, AES-128-GCM, 16 KiB writes and reads",
    ),
    (
        "p_bulk_bytes_per_s",
        "B/s",
        "P: StreamSocket one-way bulk to a tokio-rustls sink (the mock server has none), AES-128-GCM, 16 KiB",
    ),
    (
        "openssl_bulk_bytes_per_s",
        "B/s",
        "openssl s_server -WWW + s_time -www, one file per connection",
    ),
    (
        "m_instructions_per_handshake",
        "instr",
        "M: callgrind instructions per handshake unit (N=50 minus N=10; --quick: 30 minus 10)",
    ),
    (
        "r_instructions_per_handshake",
        "instr",
        "R: callgrind instructions per handshake unit (N=50 minus N=10; --quick: 30 minus 10)",
    ),
    (
        "p_instructions_per_handshake",
        "instr",
        "P: callgrind instructions per handshake unit (N=50 minus N=10; --quick: 30 minus 10)",
    ),
    (
        "r_idle_conn_heap_bytes",
        "B",
        "R: heap held per idle TLS connection on the tokio-rustls echo server",
    ),
    (
        "p_idle_conn_heap_bytes",
        "B",
        "P: heap held per idle TLS connection on the mock server",
    ),
    (
        "r_allocs_per_mib",
        "1/MiB",
        "R: allocations per MiB of bulk transfer (client and server together)",
    ),
    (
        "p_allocs_per_mib",
        "1/MiB",
        "P: allocations per MiB of bulk transfer (client and server together)",
    ),
    // CPU-time twins: units per CPU-second of the one thread that runs both sides.
    (
        "m_handshake_per_cpu_s",
        "1/cpu-s",
        "M: full handshake units per CPU-second",
    ),
    (
        "r_handshake_per_cpu_s",
        "1/cpu-s",
        "R: full handshake units per CPU-second (client and server thread)",
    ),
    (
        "p_handshake_per_cpu_s",
        "1/cpu-s",
        "P: full handshake units per CPU-second (client and server thread)",
    ),
    (
        "m_resumed_per_cpu_s",
        "1/cpu-s",
        "M: resumed handshake units per CPU-second",
    ),
    (
        "r_resumed_per_cpu_s",
        "1/cpu-s",
        "R: resumed handshake units per CPU-second",
    ),
    (
        "p_resumed_per_cpu_s",
        "1/cpu-s",
        "P: resumed handshake units per CPU-second",
    ),
    (
        "p_starttls_smtp_per_cpu_s",
        "1/cpu-s",
        "P: SMTP STARTTLS sessions per CPU-second",
    ),
    (
        "m_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "M: in-memory bulk bytes per CPU-second",
    ),
    (
        "tcp_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "plain TCP bulk bytes per CPU-second (sender and receiver thread)",
    ),
    (
        "r_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "R: bulk bytes per CPU-second (sender and receiver thread)",
    ),
    (
        "p_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "P: bulk bytes per CPU-second (sender and receiver thread)",
    ),
    // Callgrind: instructions per unit for the other unit kinds (N=30 minus N=10).
    (
        "m_instructions_per_resumed",
        "instr",
        "M: callgrind instructions per resumed handshake unit (difference of two counts)",
    ),
    (
        "r_instructions_per_resumed",
        "instr",
        "R: callgrind instructions per resumed handshake unit (difference of two counts)",
    ),
    (
        "p_instructions_per_resumed",
        "instr",
        "P: callgrind instructions per resumed handshake unit (difference of two counts)",
    ),
    (
        "p_instructions_per_smtp_session",
        "instr",
        "P: callgrind instructions per SMTP STARTTLS session",
    ),
    // strace -c -f: system calls per full handshake unit (N=100 minus N=0).
    (
        "r_syscalls_per_handshake",
        "calls",
        "R: system calls per full handshake unit (strace -c -f, N units minus none)",
    ),
    (
        "p_syscalls_per_handshake",
        "calls",
        "P: system calls per full handshake unit (strace -c -f, N units minus none)",
    ),
    (
        "p_syscalls_per_smtp_session",
        "calls",
        "P: system calls per SMTP STARTTLS session (strace -c -f)",
    ),
    (
        "p_cert_summaries_per_s",
        "1/s",
        "streamsocket::CertificateSummary::from_der over the served chain (leaf + intermediate), as the client's verifier does per handshake",
    ),
    (
        "p_cert_summaries_per_cpu_s",
        "1/cpu-s",
        "the same per CPU-second",
    ),
    (
        "r_allocs_per_handshake",
        "1/unit",
        "R: heap allocations per full handshake unit (client and server together)",
    ),
    (
        "p_allocs_per_handshake",
        "1/unit",
        "P: heap allocations per full handshake unit (client and server together)",
    ),
    (
        "p_allocs_per_cert_summary",
        "1/chain",
        "allocations of CertificateSummary::from_der over the served chain (part of p_allocs_per_handshake)",
    ),
    (
        "p_instructions_per_framed_session",
        "instr",
        "P: callgrind instructions per Framed upgrade session (plaintext connect, upgrade_with(Framed), echo)",
    ),
    (
        "p_instructions_per_handshake_ignoring",
        "instr",
        "P: callgrind instructions per full handshake unit with every ignorable certificate error class ignored (valid chain)",
    ),
    (
        "p_handshake_localhost_per_s",
        "1/s",
        "P: full handshakes per second connecting to \"localhost\" (resolved on every connect, on tokio's blocking pool)",
    ),
    (
        "x_tokio_client_mock_server_per_s",
        "1/s",
        "a tokio-rustls client against the mock server: full handshake units per second",
    ),
    (
        "x_tokio_client_mock_server_per_cpu_s",
        "1/cpu-s",
        "the same per CPU-second",
    ),
    (
        "x_streamsocket_client_tokio_server_per_s",
        "1/s",
        "a StreamSocket client against the tokio-rustls echo server: full handshake units per second",
    ),
    (
        "x_streamsocket_client_tokio_server_per_cpu_s",
        "1/cpu-s",
        "the same per CPU-second",
    ),
];

/// How a ratio is judged.
#[derive(Clone, Copy, Debug)]
enum Target {
    AtLeast(f64),
    AtMost(f64),
    Reported,
}

impl Target {
    fn describe(self) -> String {
        match self {
            Self::AtLeast(t) => format!(">= {t}"),
            Self::AtMost(t) => format!("<= {t}"),
            Self::Reported => "reported".to_owned(),
        }
    }

    fn met(self, value: f64) -> Option<bool> {
        match self {
            Self::AtLeast(t) => Some(value >= t),
            Self::AtMost(t) => Some(value <= t),
            Self::Reported => None,
        }
    }
}

/// What a ratio divides: a figure by a figure, or by an additive model.
#[derive(Clone, Copy, Debug)]
enum Denominator {
    Figure(&'static str),
    /// 1/(1/M + 1/plain_TCP), per round, from these two figures: the in-memory work and the
    /// socket work done one after the other (bulk bytes, or handshake units).
    AdditiveModel {
        m: &'static str,
        tcp: &'static str,
    },
}

/// A row of the ratio table (the project against rustls alone and against the wire).
struct RatioSpec {
    key: &'static str,
    what: &'static str,
    /// P's figure.
    numerator: &'static str,
    /// R's figure for the same ratio in this run, if the ratio has an R counterpart.
    r_numerator: Option<&'static str>,
    denominator: Denominator,
    target: Target,
    /// What R reached when the issue was written.
    reference: Option<f64>,
}

const RATIOS: &[RatioSpec] = &[
    RatioSpec {
        key: "h1_handshake_vs_inmemory",
        what: "P full TLS 1.3 handshakes/s / M",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::Figure("m_handshake_per_s"),
        target: Target::AtLeast(0.95),
        reference: Some(0.86),
    },
    RatioSpec {
        key: "h2_handshake_vs_tokio_rustls",
        what: "P / R, full TLS 1.3",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::Figure("r_handshake_per_s"),
        target: Target::AtLeast(1.0),
        reference: Some(1.0),
    },
    RatioSpec {
        key: "h3_resumed_vs_inmemory",
        what: "P resumed TLS 1.3 / M resumed",
        numerator: "p_resumed_per_s",
        r_numerator: Some("r_resumed_per_s"),
        denominator: Denominator::Figure("m_resumed_per_s"),
        target: Target::AtLeast(0.90),
        reference: Some(0.80),
    },
    RatioSpec {
        key: "h4_starttls_vs_connect",
        what: "P SMTP STARTTLS session rate / P direct TLS rate",
        numerator: "p_starttls_smtp_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_handshake_per_s"),
        target: Target::AtLeast(0.97),
        reference: Some(0.97),
    },
    RatioSpec {
        key: "h5_two_workers_vs_inmemory",
        what: "P on a 2-worker runtime, 4 concurrent / M single core",
        numerator: "p_two_workers_per_s",
        r_numerator: Some("r_two_workers_per_s"),
        denominator: Denominator::Figure("m_handshake_per_s"),
        target: Target::AtLeast(1.6),
        reference: Some(1.33),
    },
    RatioSpec {
        key: "h6_handshake_vs_openssl",
        what: "P / openssl s_server + s_time -new -tls1_3, X25519 pinned",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::Figure("openssl_handshake_per_s"),
        target: Target::AtLeast(2.3),
        reference: Some(2.3),
    },
    RatioSpec {
        key: "b1_bulk_vs_tcp",
        what: "P TLS 1.3 AES-128-GCM bulk / plain TCP",
        numerator: "p_bulk_bytes_per_s",
        r_numerator: Some("r_bulk_bytes_per_s"),
        denominator: Denominator::Figure("tcp_bulk_bytes_per_s"),
        target: Target::Reported,
        reference: Some(0.35),
    },
    RatioSpec {
        key: "b2_bulk_vs_model",
        what: "P bulk / 1/(1/M_bulk + 1/plain_TCP)",
        numerator: "p_bulk_bytes_per_s",
        r_numerator: Some("r_bulk_bytes_per_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_bulk_bytes_per_s",
            tcp: "tcp_bulk_bytes_per_s",
        },
        target: Target::AtLeast(0.97),
        reference: Some(0.98),
    },
    RatioSpec {
        key: "b3_bulk_vs_openssl",
        what: "P bulk / openssl s_time -www transfer",
        numerator: "p_bulk_bytes_per_s",
        r_numerator: Some("r_bulk_bytes_per_s"),
        denominator: Denominator::Figure("openssl_bulk_bytes_per_s"),
        target: Target::AtLeast(1.8),
        reference: Some(1.7),
    },
    RatioSpec {
        key: "i1_instructions_vs_inmemory",
        what: "callgrind instructions per handshake, P / M",
        numerator: "p_instructions_per_handshake",
        r_numerator: Some("r_instructions_per_handshake"),
        denominator: Denominator::Figure("m_instructions_per_handshake"),
        target: Target::AtMost(1.02),
        reference: Some(1.01),
    },
];

/// Ratios beyond the ratio table that explain it: the same ratios in CPU time (less disturbed
/// by other load on a shared machine), and noise-free instruction and system-call counts.
const SUPPLEMENTARY: &[RatioSpec] = &[
    RatioSpec {
        key: "c1_loopback_ceiling_vs_inmemory",
        what: "the most h1 can reach: 1/(1/M + 1/plain TCP unit) / M",
        numerator: "model_handshake_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("m_handshake_per_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c2_loopback_ceiling_resumed_vs_inmemory",
        what: "the most h3 can reach: 1/(1/M resumed + 1/plain TCP unit) / M resumed",
        numerator: "model_resumed_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("m_resumed_per_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c5_starttls_ceiling_vs_connect",
        what: "the most h4 can reach: P direct with the SMTP exchange's round trips added at plain-TCP cost, / P direct",
        numerator: "model_starttls_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_handshake_per_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c3_handshake_vs_loopback_model",
        what: "P full TLS 1.3 / 1/(1/M + 1/plain TCP unit)",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_handshake_per_s",
            tcp: "tcp_connect_per_s",
        },
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c4_resumed_vs_loopback_model",
        what: "P resumed TLS 1.3 / 1/(1/M resumed + 1/plain TCP unit)",
        numerator: "p_resumed_per_s",
        r_numerator: Some("r_resumed_per_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_resumed_per_s",
            tcp: "tcp_connect_per_s",
        },
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "h1_cpu_handshake_vs_inmemory",
        what: "as h1, per CPU-second of the one thread",
        numerator: "p_handshake_per_cpu_s",
        r_numerator: Some("r_handshake_per_cpu_s"),
        denominator: Denominator::Figure("m_handshake_per_cpu_s"),
        target: Target::AtLeast(0.95),
        reference: None,
    },
    RatioSpec {
        key: "h2_cpu_handshake_vs_tokio_rustls",
        what: "as h2, per CPU-second",
        numerator: "p_handshake_per_cpu_s",
        r_numerator: Some("r_handshake_per_cpu_s"),
        denominator: Denominator::Figure("r_handshake_per_cpu_s"),
        target: Target::AtLeast(1.0),
        reference: None,
    },
    RatioSpec {
        key: "h3_cpu_resumed_vs_inmemory",
        what: "as h3, per CPU-second",
        numerator: "p_resumed_per_cpu_s",
        r_numerator: Some("r_resumed_per_cpu_s"),
        denominator: Denominator::Figure("m_resumed_per_cpu_s"),
        target: Target::AtLeast(0.90),
        reference: None,
    },
    RatioSpec {
        key: "h4_cpu_starttls_vs_connect",
        what: "as h4, per CPU-second",
        numerator: "p_starttls_smtp_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_handshake_per_cpu_s"),
        target: Target::AtLeast(0.97),
        reference: None,
    },
    RatioSpec {
        key: "b1_cpu_bulk_vs_tcp",
        what: "as b1, per CPU-second",
        numerator: "p_bulk_bytes_per_cpu_s",
        r_numerator: Some("r_bulk_bytes_per_cpu_s"),
        denominator: Denominator::Figure("tcp_bulk_bytes_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "b2_cpu_bulk_vs_model",
        what: "as b2, per CPU-second",
        numerator: "p_bulk_bytes_per_cpu_s",
        r_numerator: Some("r_bulk_bytes_per_cpu_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_bulk_bytes_per_cpu_s",
            tcp: "tcp_bulk_bytes_per_cpu_s",
        },
        target: Target::AtLeast(0.97),
        reference: None,
    },
    RatioSpec {
        key: "d1_mock_server_vs_tokio_rustls_server",
        what: "the server half: tokio-rustls client + mock server / R, per CPU-second",
        numerator: "x_tokio_client_mock_server_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("r_handshake_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "d2_streamsocket_client_vs_tokio_rustls_client",
        what: "the client half: StreamSocket + tokio-rustls echo server / R, per CPU-second",
        numerator: "x_streamsocket_client_tokio_server_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("r_handshake_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "i3_resumed_instructions_vs_inmemory",
        what: "callgrind instructions per resumed handshake, P / M",
        numerator: "p_instructions_per_resumed",
        r_numerator: Some("r_instructions_per_resumed"),
        denominator: Denominator::Figure("m_instructions_per_resumed"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "i4_starttls_instructions_vs_connect",
        what: "callgrind instructions, P SMTP STARTTLS session / P direct TLS unit",
        numerator: "p_instructions_per_smtp_session",
        r_numerator: None,
        denominator: Denominator::Figure("p_instructions_per_handshake"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "x1_cert_summary_share_of_handshake",
        what: "share of a P full handshake unit's CPU time spent in CertificateSummary::from_der",
        numerator: "p_handshake_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_cert_summaries_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "i5_ignorable_verifier_instructions_vs_default",
        what: "callgrind instructions, P with every ignorable class ignored / P default verifier",
        numerator: "p_instructions_per_handshake_ignoring",
        r_numerator: None,
        denominator: Denominator::Figure("p_instructions_per_handshake"),
        target: Target::AtMost(1.01),
        reference: None,
    },
    RatioSpec {
        key: "s1_syscalls_vs_tokio_rustls",
        what: "system calls per full handshake unit, P / R",
        numerator: "p_syscalls_per_handshake",
        r_numerator: None,
        denominator: Denominator::Figure("r_syscalls_per_handshake"),
        target: Target::Reported,
        reference: None,
    },
];

/// Samples per figure, and the reason for each figure that could not be measured.
#[derive(Default)]
struct Results {
    samples: BTreeMap<&'static str, Vec<f64>>,
    missing: BTreeMap<&'static str, String>,
    notes: Vec<String>,
}

impl Results {
    fn record(&mut self, key: &'static str, result: anyhow::Result<f64>) {
        match result {
            Ok(value) => self.samples.entry(key).or_default().push(value),
            Err(err) => {
                eprintln!("  {key}: unavailable: {err:#}");
                self.missing
                    .entry(key)
                    .or_insert_with(|| format!("{err:#}"));
            }
        }
    }
}

fn run(options: Options) -> anyhow::Result<()> {
    std::fs::create_dir_all(&options.out)?;
    let started = Instant::now();
    let setup = TlsSetup::default();
    let mut results = Results::default();

    let mut measures = handshake_measures(&setup)?;
    measures.extend(bulk_measures(&options, &setup));
    let mut openssl = if options.openssl {
        match OpensslServer::start(&setup, &options.out.join("openssl")) {
            Ok(server) => Some(server),
            Err(err) => {
                results
                    .missing
                    .insert("openssl_handshake_per_s", format!("{err:#}"));
                results
                    .missing
                    .insert("openssl_bulk_bytes_per_s", format!("{err:#}"));
                None
            }
        }
    } else {
        let reason = "skipped (--no-openssl)".to_owned();
        results
            .missing
            .insert("openssl_handshake_per_s", reason.clone());
        results.missing.insert("openssl_bulk_bytes_per_s", reason);
        None
    };

    // Warm-up: every measure once, results discarded (page faults, caches, TCP state).
    eprintln!("warm-up");
    let slice = Duration::from_secs_f64(options.seconds) / options.slices;
    for measure in &mut measures {
        let outcome = match &mut measure.run {
            Run::Whole(run) => run().map(drop),
            Run::Sliced(run) => run(slice).map(drop),
        };
        if let Err(err) = outcome {
            eprintln!("  {}: {err:#}", measure.key);
        }
    }

    for round in 0..options.rounds {
        eprintln!("round {}/{}", round + 1, options.rounds);
        // The sliced measures, pass after pass; a measure that fails is out of the round.
        let mut tallies: Vec<Option<Tally>> = vec![Some(Tally::default()); measures.len()];
        for _ in 0..options.slices {
            for (measure, tally) in measures.iter_mut().zip(&mut tallies) {
                let Run::Sliced(run) = &mut measure.run else {
                    continue;
                };
                if results.missing.contains_key(measure.key) {
                    *tally = None;
                }
                let Some(sum) = tally else {
                    continue;
                };
                match run(slice) {
                    Ok(part) => sum.add(part),
                    Err(err) => {
                        results.record(measure.key, Err(err));
                        *tally = None;
                    }
                }
            }
        }
        for (measure, tally) in measures.iter_mut().zip(tallies) {
            let sample = match &mut measure.run {
                Run::Sliced(_) => match tally {
                    Some(tally) => tally.sample(),
                    None => continue,
                },
                Run::Whole(run) => {
                    if results.missing.contains_key(measure.key) {
                        continue;
                    }
                    match run() {
                        Ok(sample) => sample,
                        Err(err) => {
                            results.record(measure.key, Err(err));
                            continue;
                        }
                    }
                }
            };
            eprintln!(
                "  {:<28} {:>10}  (per cpu-s {})",
                measure.key,
                human(sample.value),
                sample.cpu.map(human).unwrap_or_default()
            );
            results.record(measure.key, Ok(sample.value));
            if let (Some(key), Some(cpu)) = (cpu_key(measure.key), sample.cpu) {
                results.record(key, Ok(cpu));
            }
        }
        if let Some(server) = &mut openssl {
            let seconds = options.seconds.round().max(1.0) as u64;
            if !results.missing.contains_key("openssl_handshake_per_s") {
                let value = server.handshakes_per_s(&setup, seconds);
                results.record("openssl_handshake_per_s", value);
            }
            if !results.missing.contains_key("openssl_bulk_bytes_per_s") {
                let value = server.bulk_bytes_per_s(&setup, options.bulk_bytes, seconds);
                results.record("openssl_bulk_bytes_per_s", value);
            }
        }
    }
    drop(openssl);
    derive_models(&mut results);

    eprintln!("allocations per MiB");
    let rt = loopback::current_thread();
    results.record(
        "r_allocs_per_mib",
        allocs_per_mib(|| loopback::tls_bulk(&rt, &setup, 64 << 20, IO_CHUNK)),
    );
    results.record(
        "p_allocs_per_mib",
        allocs_per_mib(|| project_bulk(&rt, &setup, 64 << 20, IO_CHUNK)),
    );

    eprintln!("allocations per handshake");
    let n = 200;
    results.record(
        "r_allocs_per_handshake",
        TokioRustls::new(&setup).and_then(|r| allocs_per_unit(n, || r.handshakes(n))),
    );
    results.record(
        "p_allocs_per_handshake",
        Project::new(&setup, Dialect::Implicit)
            .and_then(|p| allocs_per_unit(n, || p.handshakes(n))),
    );
    let chain = setup.identity().chain;
    results.record(
        "p_allocs_per_cert_summary",
        allocs_per_unit(n, || {
            let start = Instant::now();
            for _ in 0..n {
                let summaries: Vec<CertificateSummary> =
                    chain.iter().map(CertificateSummary::from_der).collect();
                std::hint::black_box(summaries);
            }
            Ok(start.elapsed())
        }),
    );

    eprintln!("idle connections");
    results.record(
        "r_idle_conn_heap_bytes",
        idle_heap_r(&setup, options.idle_connections),
    );
    results.record(
        "p_idle_conn_heap_bytes",
        idle_heap_p(&setup, options.idle_connections),
    );

    if options.callgrind {
        eprintln!("callgrind");
        let (small, large) = if options.quick { (10, 30) } else { (10, 50) };
        for (party, key) in CALLGRIND_PARTIES {
            let value = instructions_per_handshake(&options.out, party, small, large);
            if let Ok(v) = &value {
                eprintln!("  {key:<32} {v:.0}");
            }
            results.record(key, value);
        }
        eprintln!("strace");
        let n = if options.quick { 50 } else { 100 };
        for (party, key) in STRACE_PARTIES {
            let value = syscalls_per_handshake(party, n);
            if let Ok(v) = &value {
                eprintln!("  {key:<32} {v:.1}");
            }
            results.record(key, value);
        }
    } else {
        for (_, key) in CALLGRIND_PARTIES.into_iter().chain(STRACE_PARTIES) {
            results
                .missing
                .insert(key, "skipped (--no-callgrind)".to_owned());
        }
    }

    let summary = summarise(&options, &setup, &results, started.elapsed());
    let json = serde_json::to_string_pretty(&summary)?;
    std::fs::write(options.out.join("summary.json"), &json)?;
    let md = markdown(&summary);
    std::fs::write(options.out.join("summary.md"), &md)?;
    println!("{md}");
    eprintln!(
        "wrote {} and summary.md",
        options.out.join("summary.json").display()
    );
    Ok(())
}

/// Handshake figures, in round order [M, R, P] per group.
fn handshake_measures(setup: &TlsSetup) -> anyhow::Result<Vec<Measure>> {
    let mut measures = Vec::new();

    let mut m_full = InMemory::new(setup)?;
    measures.push(Measure {
        key: "m_handshake_per_s",
        run: Run::Sliced(Box::new(move |slice| rate(slice, |n| m_full.handshakes(n)))),
    });
    let tcp = PlainTcp::new()?;
    measures.push(Measure {
        key: "tcp_connect_per_s",
        run: Run::Sliced(Box::new(move |slice| rate(slice, |n| tcp.units(n)))),
    });
    let tcp_starttls = PlainTcp::starttls_like()?;
    measures.push(Measure {
        key: "tcp_starttls_like_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice, |n| tcp_starttls.units(n))
        })),
    });
    let r_full = TokioRustls::new(setup)?;
    measures.push(Measure {
        key: "r_handshake_per_s",
        run: Run::Sliced(Box::new(move |slice| rate(slice, |n| r_full.handshakes(n)))),
    });
    let p_full = Project::new(setup, Dialect::Implicit)?;
    measures.push(Measure {
        key: "p_handshake_per_s",
        run: Run::Sliced(Box::new(move |slice| rate(slice, |n| p_full.handshakes(n)))),
    });
    // The project's two halves, each against the other half of R: which side costs what.
    let rt = Arc::new(loopback::current_thread());
    let mock = MockServer::spawn(rt.handle(), mock_config(setup, Dialect::Implicit))?;
    let tokio_client = TlsClient::new(mock.addr(), setup.client_config());
    let mixed_rt = rt.clone();
    measures.push(Measure {
        key: "x_tokio_client_mock_server_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            let _mock = &mock;
            rate(slice, |n| loopback::sequential(&mixed_rt, &tokio_client, n))
        })),
    });
    let echo = EchoServer::spawn(rt.handle(), setup.server_config())?;
    let socket_client = ProjectClient::new(echo.addr(), setup, Dialect::Implicit)?;
    measures.push(Measure {
        key: "x_streamsocket_client_tokio_server_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            let _echo = &echo;
            rate(slice, |n| loopback::sequential(&rt, &socket_client, n))
        })),
    });

    let resumed = setup.resumed();
    let mut m_resumed = InMemory::new(&resumed)?;
    measures.push(Measure {
        key: "m_resumed_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice, |n| m_resumed.handshakes(n))
        })),
    });
    let r_resumed = TokioRustls::new(&resumed)?;
    measures.push(Measure {
        key: "r_resumed_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice, |n| r_resumed.handshakes(n))
        })),
    });
    let p_resumed = Project::new(&resumed, Dialect::Implicit)?;
    measures.push(Measure {
        key: "p_resumed_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice, |n| p_resumed.handshakes(n))
        })),
    });
    let p_smtp = Project::new(setup, Dialect::Smtp)?;
    measures.push(Measure {
        key: "p_starttls_smtp_per_s",
        run: Run::Sliced(Box::new(move |slice| rate(slice, |n| p_smtp.handshakes(n)))),
    });

    let rt = Arc::new(loopback::multi_thread(2));
    let server = EchoServer::spawn(rt.handle(), setup.server_config())?;
    let client = Arc::new(TlsClient::new(server.addr(), setup.client_config()));
    measures.push(Measure {
        key: "r_two_workers_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            let _server = &server;
            concurrent(&rt, client.clone(), slice)
        })),
    });
    let rt = Arc::new(loopback::multi_thread(2));
    let server = MockServer::spawn(rt.handle(), mock_config(setup, Dialect::Implicit))?;
    let client = Arc::new(ProjectClient::new(server.addr(), setup, Dialect::Implicit)?);
    measures.push(Measure {
        key: "p_two_workers_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            let _server = &server;
            concurrent(&rt, client.clone(), slice)
        })),
    });

    let defaults = TlsSetup {
        suite: Suite::Default,
        group: Group::Default,
        ..*setup
    };
    let mut m_default = InMemory::new(&defaults)?;
    measures.push(Measure {
        key: "m_handshake_default_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice / 2, |n| m_default.handshakes(n))
        })),
    });
    let r_default = TokioRustls::new(&defaults)?;
    measures.push(Measure {
        key: "r_handshake_default_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice / 2, |n| r_default.handshakes(n))
        })),
    });
    let p_default = Project::new(&defaults, Dialect::Implicit)?;
    measures.push(Measure {
        key: "p_handshake_default_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice / 2, |n| p_default.handshakes(n))
        })),
    });
    // What the client does in every handshake to fill `SocketInformation::server_certificates`.
    let chain = setup.identity().chain;
    measures.push(Measure {
        key: "p_cert_summaries_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice / 2, |n| {
                let start = Instant::now();
                for _ in 0..n {
                    let summaries: Vec<CertificateSummary> =
                        chain.iter().map(CertificateSummary::from_der).collect();
                    std::hint::black_box(summaries);
                }
                Ok(start.elapsed())
            })
        })),
    });
    let p_localhost = Project::with_client(setup, Dialect::Implicit, |client| {
        Ok(client.with_host("localhost"))
    })?;
    measures.push(Measure {
        key: "p_handshake_localhost_per_s",
        run: Run::Sliced(Box::new(move |slice| {
            rate(slice / 2, |n| p_localhost.handshakes(n))
        })),
    });
    Ok(measures)
}

/// Bulk figures, in round order [M, TCP, R, P].
fn bulk_measures(options: &Options, setup: &TlsSetup) -> Vec<Measure> {
    let total = options.bulk_bytes;
    let setup = *setup;
    let mut measures = Vec::new();
    measures.push(Measure {
        key: "m_bulk_bytes_per_s",
        run: Run::Whole(Box::new(move || {
            let mut pair = InMemoryBulk::new(&setup, IO_CHUNK)?;
            let (wall, _, cpu) = cpu::timed(|| pair.transfer(total));
            Ok(Sample::of(total as f64, wall?, cpu))
        })),
    });
    let rt = Arc::new(loopback::current_thread());
    let tcp_rt = rt.clone();
    measures.push(Measure {
        key: "tcp_bulk_bytes_per_s",
        run: Run::Whole(Box::new(move || {
            bulk_sample(|| loopback::tcp_bulk(&tcp_rt, total, IO_CHUNK))
        })),
    });
    let r_rt = rt.clone();
    measures.push(Measure {
        key: "r_bulk_bytes_per_s",
        run: Run::Whole(Box::new(move || {
            bulk_sample(|| loopback::tls_bulk(&r_rt, &setup, total, IO_CHUNK))
        })),
    });
    measures.push(Measure {
        key: "p_bulk_bytes_per_s",
        run: Run::Whole(Box::new(move || {
            bulk_sample(|| project_bulk(&rt, &setup, total, IO_CHUNK))
        })),
    });
    measures
}

/// A bulk transfer's rate: bytes per wall second on the receiver (first byte to EOF), and
/// bytes per CPU-second of this thread over the whole call (both sides run on it).
fn bulk_sample(transfer: impl FnOnce() -> anyhow::Result<Received>) -> anyhow::Result<Sample> {
    let (received, _, cpu) = cpu::timed(transfer);
    let received = received?;
    Ok(Sample {
        value: received.rate(),
        cpu: cpu
            .filter(|c| !c.is_zero())
            .map(|c| received.bytes as f64 / c.as_secs_f64()),
    })
}

/// Runs batches of handshake units until `target` has passed: the units, their wall time and
/// this thread's CPU time.
fn rate(
    target: Duration,
    mut run: impl FnMut(u64) -> anyhow::Result<Duration>,
) -> anyhow::Result<Tally> {
    let mut count = 0u64;
    let mut elapsed = Duration::ZERO;
    let mut batch = 8u64;
    let cpu_start = cpu::thread_cpu();
    while elapsed < target {
        elapsed += run(batch)?;
        count += batch;
        batch = (batch * 2).min(256);
    }
    let cpu = cpu_start
        .zip(cpu::thread_cpu())
        .map(|(a, b)| b.saturating_sub(a));
    Ok(Tally {
        units: count as f64,
        wall: elapsed,
        cpu,
    })
}

/// Four concurrent loops of handshake units on a multi-thread runtime for `target`: the units
/// and the wall time (no CPU time: the work runs on the runtime's workers).
fn concurrent<C: loopback::HandshakeClient>(
    rt: &tokio::runtime::Runtime,
    client: Arc<C>,
    target: Duration,
) -> anyhow::Result<Tally> {
    let (units, wall) = loopback::concurrent_rate(rt, client, 4, target)?;
    Ok(Tally {
        units: units as f64,
        wall,
        cpu: None,
    })
}

/// Bytes currently held on the heap by the whole process.
fn heap_now() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64
}

/// Allocations per MiB of a bulk transfer (both sides, one process; the connection setup,
/// handshake included, is counted too, which 64 MiB make small).
fn allocs_per_mib(transfer: impl FnOnce() -> anyhow::Result<Received>) -> anyhow::Result<f64> {
    let before = GLOBAL.stats().allocations;
    let received = transfer()?;
    let allocations = GLOBAL.stats().allocations - before;
    Ok(allocations as f64 / (received.bytes as f64 / (1 << 20) as f64))
}

/// Allocations per unit of `n` units run by `run` (both sides, one process).
fn allocs_per_unit(n: u64, run: impl FnOnce() -> anyhow::Result<Duration>) -> anyhow::Result<f64> {
    let before = GLOBAL.stats().allocations;
    run()?;
    let allocations = GLOBAL.stats().allocations - before;
    Ok(allocations as f64 / n as f64)
}

/// Heap held per idle connection on R's echo server: a child process opens `n` connections
/// (handshake and 1-byte echo each) and holds them; this process runs only the server.
fn idle_heap_r(setup: &TlsSetup, n: usize) -> anyhow::Result<f64> {
    let rt = loopback::multi_thread(1);
    let server = EchoServer::spawn(rt.handle(), setup.server_config())?;
    idle_heap(server.addr(), n)
}

/// Heap held per idle connection on the mock server (implicit TLS, the pinned setup).
fn idle_heap_p(setup: &TlsSetup, n: usize) -> anyhow::Result<f64> {
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

/// `ratios hold --addr A --n N`: opens N TLS connections (handshake + 1-byte echo), prints
/// `ready`, and holds them until stdin closes.
fn hold(args: &[String]) -> anyhow::Result<()> {
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
fn worker(args: &[String]) -> anyhow::Result<()> {
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
const CALLGRIND_PARTIES: [(&str, &str); 9] = [
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
const STRACE_PARTIES: [(&str, &str); 3] = [
    ("r", "r_syscalls_per_handshake"),
    ("p", "p_syscalls_per_handshake"),
    ("p-smtp", "p_syscalls_per_smtp_session"),
];

/// System calls per handshake unit: strace counts for `n` units minus none.
fn syscalls_per_handshake(party: &str, n: u64) -> anyhow::Result<f64> {
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
fn instructions_per_handshake(
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

/// The figures and ratios of one run, as written to `summary.json`.
#[derive(Serialize)]
struct SummaryFile {
    meta: Value,
    figures: BTreeMap<&'static str, Value>,
    ratios: BTreeMap<&'static str, Value>,
    supplementary: BTreeMap<&'static str, Value>,
}

/// One ratio's JSON: its per-round median and spread, target, and R's value in this run.
fn ratio_entry(results: &Results, spec: &RatioSpec) -> Value {
    let value = ratio_samples(results, spec.numerator, spec.denominator);
    let r_value = spec
        .r_numerator
        .and_then(|r| ratio_samples(results, r, spec.denominator).ok());
    let (summary, reason) = match value {
        Ok(samples) => (Summary::of(&samples), None),
        Err(reason) => (None, Some(reason)),
    };
    let met = summary.as_ref().and_then(|s| spec.target.met(s.median));
    json!({
        "what": spec.what,
        "summary": summary,
        "target": spec.target.describe(),
        "met": met,
        "r_in_this_run": r_value.and_then(|s| Summary::of(&s)),
        "reference_r": spec.reference,
        "reason": reason,
    })
}

fn summarise(
    options: &Options,
    setup: &TlsSetup,
    results: &Results,
    elapsed: Duration,
) -> SummaryFile {
    let mut figures = BTreeMap::new();
    for key in results.samples.keys() {
        if !FIGURES.iter().any(|(k, _, _)| k == key) {
            figures.insert(
                *key,
                json!({ "unit": "?", "what": "a figure missing from the harness's table",
                        "summary": results.samples.get(key).and_then(|s| Summary::of(s)),
                        "reason": null }),
            );
        }
    }
    for (key, unit, what) in FIGURES {
        let summary = results.samples.get(key).and_then(|s| Summary::of(s));
        let reason = results.missing.get(key).cloned().or_else(|| {
            summary
                .is_none()
                .then(|| "not measured in this run".to_owned())
        });
        figures.insert(
            *key,
            json!({ "unit": unit, "what": what, "summary": summary, "reason": reason }),
        );
    }
    let mut ratios = BTreeMap::new();
    for spec in RATIOS {
        ratios.insert(spec.key, ratio_entry(results, spec));
    }
    let supplementary = SUPPLEMENTARY
        .iter()
        .map(|spec| (spec.key, ratio_entry(results, spec)))
        .collect();
    let idle = results
        .samples
        .get("p_idle_conn_heap_bytes")
        .and_then(|s| Summary::of(s));
    ratios.insert(
        "idle_conn_heap_bytes",
        json!({
            "what": "heap held per idle TLS connection on the mock server (1,000 connections)",
            "met": idle.as_ref().map(|s| s.median <= 48.0 * 1024.0),
            "reason": idle.is_none().then(|| results.missing.get("p_idle_conn_heap_bytes").cloned()),
            "summary": idle,
            "target": "<= 49152",
            "r_in_this_run": results.samples.get("r_idle_conn_heap_bytes").and_then(|s| Summary::of(s)),
            "reference_r": Value::Null,
        }),
    );
    ratios.insert("conformance_cases_per_s", conformance_rate(&options.out));
    SummaryFile {
        meta: json!({
            "quick": options.quick,
            "rounds": options.rounds,
            "seconds_per_handshake_sample": options.seconds,
            "slices_per_handshake_sample": options.slices,
            "bulk_bytes_per_sample": options.bulk_bytes,
            "setup": setup,
            "setup_label": setup.label(),
            "elapsed_s": elapsed.as_secs_f64(),
            "notes": results.notes,
            "command": "cargo xtask bench",
        }),
        figures,
        ratios,
        supplementary,
    }
}

/// Per-round ratio samples, or why there are none.
fn ratio_samples(
    results: &Results,
    numerator: &str,
    denominator: Denominator,
) -> Result<Vec<f64>, String> {
    let get = |key: &str| -> Result<&Vec<f64>, String> {
        results.samples.get(key).ok_or_else(|| {
            let reason = results
                .missing
                .get(key)
                .cloned()
                .unwrap_or_else(|| "not measured".to_owned());
            format!("{key}: {reason}")
        })
    };
    let num = get(numerator)?;
    match denominator {
        Denominator::Figure(key) => Ok(stats::ratios(num, get(key)?)),
        Denominator::AdditiveModel { m, tcp } => {
            let model = additive(get(m)?, get(tcp)?);
            Ok(stats::ratios(num, &model))
        }
    }
}

/// The per-round models computed from measured figures: the loopback ceilings (in-memory
/// work plus a bare TCP unit) and P direct plus the SMTP exchange's round trips.
fn derive_models(results: &mut Results) {
    for (model, m, tcp) in [
        (
            "model_handshake_per_s",
            "m_handshake_per_s",
            "tcp_connect_per_s",
        ),
        (
            "model_resumed_per_s",
            "m_resumed_per_s",
            "tcp_connect_per_s",
        ),
    ] {
        let derived = match (results.samples.get(m), results.samples.get(tcp)) {
            (Some(m), Some(tcp)) if m.len() == tcp.len() => Ok(additive(m, tcp)),
            (Some(_), Some(_)) => Err("a round is missing one of its two parts".to_owned()),
            _ => Err(format!("needs {m} and {tcp}")),
        };
        match derived {
            Ok(samples) => {
                results.samples.insert(model, samples);
            }
            Err(reason) => {
                results.missing.insert(model, reason);
            }
        }
    }
    // P direct, plus what the dialect's plaintext round trips cost on bare sockets.
    let starttls = [
        "p_handshake_per_s",
        "tcp_starttls_like_per_s",
        "tcp_connect_per_s",
    ]
    .map(|key| results.samples.get(key).cloned().unwrap_or_default());
    let [p, like, tcp] = &starttls;
    if !p.is_empty() && p.len() == like.len() && p.len() == tcp.len() {
        let model = p
            .iter()
            .zip(like)
            .zip(tcp)
            .map(|((p, like), tcp)| 1.0 / (1.0 / p + 1.0 / like - 1.0 / tcp))
            .collect();
        results.samples.insert("model_starttls_per_s", model);
    } else {
        results.missing.insert(
            "model_starttls_per_s",
            "needs P, the starttls-like and the plain TCP units in every round".to_owned(),
        );
    }
}

/// 1/(1/a + 1/b) per round: the rate of doing both pieces of work one after the other.
fn additive(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(a, b)| 1.0 / (1.0 / a + 1.0 / b))
        .collect()
}

/// Conformance cases per second, from `target/conformance/report.json` if a run left one.
fn conformance_rate(out: &Path) -> Value {
    let target = json!({ "what": "conformance matrix cases per second", "target": "reported" });
    let candidates = [
        out.join("../conformance/report.json"),
        PathBuf::from("target/conformance/report.json"),
    ];
    let Some(text) = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        return merge(
            target,
            json!({ "summary": null, "met": null,
                    "reason": "no target/conformance/report.json (run `cargo xtask conformance` first)" }),
        );
    };
    let parsed: Option<(usize, f64)> = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        let cases = v.get("cases")?.as_array()?.len();
        // The conformance report writes durations in milliseconds (older reports: serde's
        // `{secs, nanos}`).
        let d = v.get("duration")?;
        let secs = match d.as_f64() {
            Some(millis) => millis / 1e3,
            None => d.get("secs")?.as_f64()? + d.get("nanos")?.as_f64()? / 1e9,
        };
        Some((cases, secs))
    });
    match parsed {
        Some((cases, secs)) if secs > 0.0 => merge(
            target,
            json!({ "summary": Summary::of(&[cases as f64 / secs]), "met": null,
                    "cases": cases, "total_s": secs, "reason": null }),
        ),
        _ => merge(
            target,
            json!({ "summary": null, "met": null,
                    "reason": "target/conformance/report.json has no cases or duration" }),
        ),
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// A figure in readable units.
fn human(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else {
        format!("{v:.1}")
    }
}

fn markdown(summary: &SummaryFile) -> String {
    let mut md = String::new();
    md.push_str("# Benchmark summary\n\n");
    md.push_str(&format!(
        "Setup: `{}` (testpki pinned keys, aws-lc-rs). {} interleaved rounds, each handshake \
         figure measured in {} interleaved slices per round; `quick` = {}.\n\n",
        summary.meta["setup_label"].as_str().unwrap_or("?"),
        summary.meta["rounds"],
        summary.meta["slices_per_handshake_sample"],
        summary.meta["quick"],
    ));
    md.push_str("## Ratios\n\n");
    ratio_table(&mut md, &summary.ratios);
    md.push_str(
        "\n## Supplementary ratios\n\nThe same ratios per CPU-second of the one thread that \
         runs client and server (much less disturbed by other load on a shared machine), and \
         noise-free counts (callgrind instructions, strace system calls).\n\n",
    );
    ratio_table(&mut md, &summary.supplementary);
    md.push_str("\n## Figures\n\n| key | unit | median | min | max | spread | what |\n|---|---|---|---|---|---|---|\n");
    for (key, figure) in &summary.figures {
        let s = &figure["summary"];
        if s.is_null() {
            md.push_str(&format!(
                "| `{key}` | {} | null: {} | | | | {} |\n",
                figure["unit"].as_str().unwrap_or(""),
                figure["reason"].as_str().unwrap_or("unavailable"),
                figure["what"].as_str().unwrap_or(""),
            ));
        } else {
            md.push_str(&format!(
                "| `{key}` | {} | {} | {} | {} | {} | {} |\n",
                figure["unit"].as_str().unwrap_or(""),
                fmt_num(&s["median"]),
                fmt_num(&s["min"]),
                fmt_num(&s["max"]),
                fmt_pct(&s["spread"]),
                figure["what"].as_str().unwrap_or(""),
            ));
        }
    }
    md.push_str(&format!(
        "\nRun took {:.0} s. Reproduce with `cargo xtask bench{}`.\n",
        summary.meta["elapsed_s"].as_f64().unwrap_or(0.0),
        if summary.meta["quick"].as_bool() == Some(true) {
            " --quick"
        } else {
            ""
        }
    ));
    md
}

fn ratio_table(md: &mut String, ratios: &BTreeMap<&'static str, Value>) {
    md.push_str("| key | median | spread | target | met | R in this run | R reference |\n|---|---|---|---|---|---|---|\n");
    for (key, ratio) in ratios {
        let median = fmt_num(&ratio["summary"]["median"]);
        let spread = fmt_pct(&ratio["summary"]["spread"]);
        let met = match ratio["met"].as_bool() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        let value = if ratio["summary"].is_null() {
            format!(
                "null: {}",
                ratio["reason"].as_str().unwrap_or("unavailable")
            )
        } else {
            median
        };
        md.push_str(&format!(
            "| `{key}` | {value} | {spread} | {} | {met} | {} | {} |\n",
            ratio["target"].as_str().unwrap_or("-"),
            fmt_num(&ratio["r_in_this_run"]["median"]),
            fmt_num(&ratio["reference_r"]),
        ));
    }
}

fn fmt_num(v: &Value) -> String {
    match v.as_f64() {
        None => "-".to_owned(),
        Some(x) if x.abs() >= 1e6 => format!("{:.3e}", x),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
    }
}

fn fmt_pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "-".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_add_up_to_one_sample() {
        let slice = |units, ms, cpu_ms: Option<u64>| Tally {
            units,
            wall: Duration::from_millis(ms),
            cpu: cpu_ms.map(Duration::from_millis),
        };
        let mut sum = Tally::default();
        sum.add(slice(10.0, 100, Some(90)));
        sum.add(slice(30.0, 100, Some(110)));
        let sample = sum.sample();
        assert!((sample.value - 200.0).abs() < 1e-9, "{sample:?}");
        assert!((sample.cpu.unwrap() - 200.0).abs() < 1e-9, "{sample:?}");
        // A slice without CPU time makes the whole sample wall-only.
        sum.add(slice(10.0, 50, None));
        assert_eq!(sum.sample().cpu, None);
    }

    #[test]
    fn models_are_derived_per_round_or_said_missing() {
        let mut results = Results::default();
        for (key, samples) in [
            ("m_handshake_per_s", vec![1000.0, 2000.0]),
            ("tcp_connect_per_s", vec![1000.0, 2000.0]),
            ("p_handshake_per_s", vec![500.0, 500.0]),
            ("tcp_starttls_like_per_s", vec![500.0, 1000.0]),
        ] {
            results.samples.insert(key, samples);
        }
        derive_models(&mut results);
        assert_eq!(results.samples["model_handshake_per_s"], [500.0, 1000.0]);
        // 1 / (1/500 + 1/500 - 1/1000) = 1000/3; 1 / (1/500 + 1/1000 - 1/2000) = 400.
        let starttls = &results.samples["model_starttls_per_s"];
        assert!((starttls[0] - 1000.0 / 3.0).abs() < 1e-9 && (starttls[1] - 400.0).abs() < 1e-9);
        assert!(
            results.missing.contains_key("model_resumed_per_s"),
            "no M resumed"
        );
    }

    #[test]
    fn the_additive_model_is_the_rate_of_both_pieces_in_turn() {
        // 1,000 units/s of crypto and 1,000 units/s of sockets: 500 units/s for both.
        assert_eq!(additive(&[1000.0, 300.0], &[1000.0, 600.0]), [500.0, 200.0]);
    }
}
