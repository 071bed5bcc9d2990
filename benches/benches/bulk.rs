//! One-way bulk transfer over loopback (256 MiB per iteration) with 16 KiB, 64 KiB and 1 MiB
//! writes, for TLS 1.3 with AES-128-GCM, AES-256-GCM and ChaCha20-Poly1305: in-memory rustls (M,
//! encryption + decryption on one thread), plain TCP, tokio-rustls (R) and the project (P: a
//! StreamSocket sending to a tokio-rustls sink, since the mock server has no one-way sink).

use std::time::Duration;

use criterion::{
    BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use streamsocket_benches::inmem::InMemoryBulk;
use streamsocket_benches::loopback;
use streamsocket_benches::project::project_bulk;
use streamsocket_benches::setup::{Suite, TlsSetup};

/// Bytes per iteration (the issue asks for at least 256 MiB per sample).
const PER_ITER: u64 = 256 << 20;

const WRITES: [usize; 3] = [16 << 10, 64 << 10, 1 << 20];

fn bulk(c: &mut Criterion) {
    let rt = loopback::current_thread();
    let mut group = c.benchmark_group("bulk");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(PER_ITER));
    for chunk in WRITES {
        let size = format!("{}k", chunk >> 10);
        group.bench_function(BenchmarkId::new("tcp", &size), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        loopback::tcp_bulk(&rt, PER_ITER, chunk)
                            .expect("tcp")
                            .elapsed
                    })
                    .sum()
            })
        });
        for suite in [Suite::Aes128Gcm, Suite::Aes256Gcm, Suite::Chacha20] {
            let setup = TlsSetup {
                suite,
                ..TlsSetup::default()
            };
            let id = format!("{}/{size}", setup.label());
            group.bench_function(BenchmarkId::new("m", &id), |b| {
                let mut pair = InMemoryBulk::new(&setup, chunk).expect("in-memory pair");
                b.iter_custom(|iters| pair.transfer(iters * PER_ITER).expect("in-memory bulk"))
            });
            group.bench_function(BenchmarkId::new("r", &id), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            loopback::tls_bulk(&rt, &setup, PER_ITER, chunk)
                                .expect("tokio-rustls bulk")
                                .elapsed
                        })
                        .sum()
                })
            });
            group.bench_function(BenchmarkId::new("p", &id), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            project_bulk(&rt, &setup, PER_ITER, chunk)
                                .expect("project bulk")
                                .elapsed
                        })
                        .sum()
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    targets = bulk
}
criterion_main!(benches);
