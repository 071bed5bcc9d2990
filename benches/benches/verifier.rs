//! The ignorable-errors verifier costs nothing measurable: project handshake units (implicit TLS
//! 1.3) with the default verifier, with every ignorable class listed against the valid chain,
//! and with `Expired` ignored against the expired chain (the error is found, reported and let
//! through).

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use streamsocket::{ChainValidationResult, Dialect, SocketSslErrorSeverity};
use streamsocket_benches::loopback;
use streamsocket_benches::project::{MockServer, ProjectClient, mock_config_for};
use streamsocket_benches::setup::TlsSetup;
use testpki::Scenario;

fn verifier(c: &mut Criterion) {
    let setup = TlsSetup::default();
    let rt = loopback::current_thread();
    let ignorable: Vec<ChainValidationResult> = ChainValidationResult::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect();
    let cases = [
        ("default", Scenario::Valid, Vec::new()),
        ("ignore-all-ignorable", Scenario::Valid, ignorable),
        (
            "ignore-expired-on-expired",
            Scenario::Expired,
            vec![ChainValidationResult::Expired],
        ),
    ];
    let mut group = c.benchmark_group("verifier");
    group.throughput(Throughput::Elements(1));
    for (name, scenario, ignored) in cases {
        let config = mock_config_for(&setup, Dialect::Implicit, scenario);
        let server = MockServer::spawn(rt.handle(), config).expect("mock server");
        let client = ProjectClient::new(server.addr(), &setup, Dialect::Implicit)
            .and_then(|client| client.ignoring(ignored))
            .expect("client");
        group.bench_function(BenchmarkId::new("p", name), |b| {
            b.iter_custom(|iters| loopback::sequential(&rt, &client, iters).expect("handshakes"))
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
    targets = verifier
}
criterion_main!(benches);
