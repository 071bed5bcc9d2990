//! The figures measured in every round, and how a round samples them: a handshake figure in
//! short slices, a bulk figure in one piece.

use std::sync::Arc;
use std::time::{Duration, Instant};

use streamsocket::{CertificateSummary, Dialect};
use streamsocket_benches::cpu;
use streamsocket_benches::inmem::{InMemory, InMemoryBulk};
use streamsocket_benches::loopback::{
    self, EchoServer, IO_CHUNK, PlainTcp, Received, TlsClient, TokioRustls,
};
use streamsocket_benches::project::{
    MockServer, Project, ProjectClient, mock_config, project_bulk,
};
use streamsocket_benches::setup::{Group, Suite, TlsSetup};

use crate::Options;

/// One figure, sampled once per round.
pub(crate) struct Measure {
    pub(crate) key: &'static str,
    pub(crate) run: Run,
}

/// How a measure fills its round.
pub(crate) enum Run {
    /// In one piece (a bulk transfer is one sample).
    Whole(Box<dyn FnMut() -> anyhow::Result<Sample>>),
    /// In `--slices` short slices, interleaved with every other sliced measure and summed, so
    /// that a change of machine load slower than one pass over the group hits every party
    /// alike. The argument is the slice's length.
    Sliced(Box<dyn FnMut(Duration) -> anyhow::Result<Tally>>),
}

/// Work done and the time it took, summed over the slices of a round.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Tally {
    units: f64,
    wall: Duration,
    /// CPU time of this thread, where it means something (not on a multi-thread runtime).
    cpu: Option<Duration>,
}

impl Tally {
    pub(crate) fn add(&mut self, other: Self) {
        if self.wall.is_zero() {
            *self = other;
            return;
        }
        self.units += other.units;
        self.wall += other.wall;
        self.cpu = self.cpu.zip(other.cpu).map(|(a, b)| a + b);
    }

    pub(crate) fn sample(self) -> Sample {
        Sample::of(self.units, self.wall, self.cpu)
    }
}

/// One measurement: per wall-clock second, and per CPU-second of the measuring thread.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sample {
    pub(crate) value: f64,
    pub(crate) cpu: Option<f64>,
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

/// Handshake figures, in round order [M, R, P] per group.
pub(crate) fn handshake_measures(setup: &TlsSetup) -> anyhow::Result<Vec<Measure>> {
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
pub(crate) fn bulk_measures(options: &Options, setup: &TlsSetup) -> Vec<Measure> {
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
pub(crate) fn rate(
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
pub(crate) fn concurrent<C: loopback::HandshakeClient>(
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
}
