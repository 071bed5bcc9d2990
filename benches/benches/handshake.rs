//! Handshake units (TCP connect + handshake + 1-byte echo; in memory: the same without sockets)
//! for TLS 1.3 and 1.2, ECDSA P-256, Ed25519 and RSA-2048 server keys, X25519 and the provider's
//! default group, full and resumed; in-memory rustls (M), tokio-rustls (R) and the project (P,
//! StreamSocket with implicit TLS against the mock server).

use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use streamsocket::Dialect;
use streamsocket_benches::inmem::InMemory;
use streamsocket_benches::loopback::{self, EchoServer, TlsClient, TokioRustls};
use streamsocket_benches::project::{MockServer, Project, ProjectClient, mock_config};
use streamsocket_benches::setup::{Group, Suite, TlsSetup, Version};
use testpki::KeyKind;

fn setups() -> Vec<TlsSetup> {
    let mut setups = Vec::new();
    for version in [Version::Tls13, Version::Tls12] {
        for key in KeyKind::ALL {
            for group in [Group::X25519, Group::Default] {
                setups.push(TlsSetup {
                    key,
                    version,
                    suite: Suite::Aes128Gcm,
                    group,
                    resumption: false,
                });
            }
        }
        setups.push(
            TlsSetup {
                version,
                ..TlsSetup::default()
            }
            .resumed(),
        );
    }
    setups
}

fn handshakes(c: &mut Criterion) {
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    for setup in setups() {
        let label = setup.label();
        let mut m = InMemory::new(&setup).expect("in-memory pair");
        group.bench_function(BenchmarkId::new("m", &label), |b| {
            b.iter_custom(|iters| m.handshakes(iters).expect("in-memory handshakes"))
        });
        let r = TokioRustls::new(&setup).expect("tokio-rustls pair");
        group.bench_function(BenchmarkId::new("r", &label), |b| {
            b.iter_custom(|iters| r.handshakes(iters).expect("tokio-rustls handshakes"))
        });
        let p = Project::new(&setup, Dialect::Implicit).expect("project pair");
        group.bench_function(BenchmarkId::new("p", &label), |b| {
            b.iter_custom(|iters| p.handshakes(iters).expect("project handshakes"))
        });
    }
    group.finish();

    // 4 and 64 concurrent clients on a 2-worker runtime (client and server share it).
    let mut group = c.benchmark_group("handshake-concurrent");
    group.throughput(Throughput::Elements(1));
    let setup = TlsSetup::default();
    let rt = loopback::multi_thread(2);
    let echo = EchoServer::spawn(rt.handle(), setup.server_config()).expect("echo server");
    let r = Arc::new(TlsClient::new(echo.addr(), setup.client_config()));
    let mock = MockServer::spawn(rt.handle(), mock_config(&setup, Dialect::Implicit))
        .expect("mock server");
    let p = Arc::new(
        ProjectClient::new(mock.addr(), &setup, Dialect::Implicit).expect("project client"),
    );
    for tasks in [4, 64] {
        group.bench_function(BenchmarkId::new("r", tasks), |b| {
            b.iter_custom(|iters| {
                loopback::concurrent_units(&rt, r.clone(), tasks, iters).expect("handshakes")
            })
        });
        group.bench_function(BenchmarkId::new("p", tasks), |b| {
            b.iter_custom(|iters| {
                loopback::concurrent_units(&rt, p.clone(), tasks, iters).expect("handshakes")
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = handshakes
}
criterion_main!(benches);
