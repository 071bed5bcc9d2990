//! Request/response echo of framed messages (4-byte big-endian length + payload) of 1 KiB,
//! 64 KiB and 1 MiB inside TLS 1.3, one connection: tokio-rustls (R, a byte echo) and the project
//! (P: StreamSocket after a `Framed` upgrade, against the mock server, which echoes frames).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use streamsocket::Dialect;
use streamsocket_benches::loopback::{TlsClient, TokioRustls};
use streamsocket_benches::project::Project;
use streamsocket_benches::setup::TlsSetup;

const FRAMES: [usize; 3] = [1 << 10, 64 << 10, 1 << 20];

fn echo(c: &mut Criterion) {
    let mut group = c.benchmark_group("echo");
    let r = TokioRustls::new(&TlsSetup::default()).expect("tokio-rustls pair");
    for size in FRAMES {
        // Both directions carry the frame.
        group.throughput(Throughput::Bytes(2 * size as u64));
        let payload = vec![0x5au8; size];
        group.bench_function(BenchmarkId::new("r", format!("{}k", size >> 10)), |b| {
            b.iter_custom(|iters| {
                r.rt.block_on(async {
                    let mut tls = r.client.connect().await.expect("connect");
                    let mut buf = Vec::new();
                    let start = Instant::now();
                    for _ in 0..iters {
                        TlsClient::echo_frame(&mut tls, &payload, &mut buf)
                            .await
                            .expect("echo");
                    }
                    start.elapsed()
                })
            })
        });
    }
    let p = Project::new(&TlsSetup::default(), Dialect::Framed).expect("project pair");
    for size in FRAMES {
        group.throughput(Throughput::Bytes(2 * size as u64));
        // The mock server's frames are UTF-8 text.
        let payload = vec![b'z'; size];
        group.bench_function(BenchmarkId::new("p", format!("{}k", size >> 10)), |b| {
            b.iter_custom(|iters| {
                p.rt.block_on(async {
                    let mut socket = p.client.connect().await.expect("connect");
                    let mut buf = Vec::new();
                    let start = Instant::now();
                    for _ in 0..iters {
                        TlsClient::echo_frame(&mut socket, &payload, &mut buf)
                            .await
                            .expect("echo");
                    }
                    start.elapsed()
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = echo
}
criterion_main!(benches);
