//! STARTTLS sessions per dialect with the project (StreamSocket + mock server, TLS 1.3 pinned):
//! TCP connect, the dialect's plaintext exchange (greeting, EHLO/CAPABILITY/CAPA, STARTTLS),
//! the handshake, and the first protected bytes (the capabilities again inside TLS; `Framed`
//! and `Implicit`: the echo of a 1-byte frame). `Implicit` is the direct-TLS reference.

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use streamsocket::Dialect;
use streamsocket_benches::project::Project;
use streamsocket_benches::setup::TlsSetup;

fn sessions(c: &mut Criterion) {
    let mut group = c.benchmark_group("starttls");
    group.throughput(Throughput::Elements(1));
    for dialect in Dialect::ALL {
        let p = Project::new(&TlsSetup::default(), dialect).expect("project pair");
        group.bench_function(BenchmarkId::new("p", dialect.name()), |b| {
            b.iter_custom(|iters| p.handshakes(iters).expect("sessions"))
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
    targets = sessions
}
criterion_main!(benches);
