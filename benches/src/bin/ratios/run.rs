//! One run of the harness: warm-up, the interleaved rounds, the counts, the summary.

use std::time::{Duration, Instant};

use streamsocket::{CertificateSummary, Dialect};
use streamsocket_benches::external::OpensslServer;
use streamsocket_benches::loopback::{self, IO_CHUNK, TokioRustls};
use streamsocket_benches::project::{Project, project_bulk};
use streamsocket_benches::setup::TlsSetup;

use crate::Options;
use crate::figures::cpu_key;
use crate::heap::{allocs_per_mib, allocs_per_unit, idle_heap_p, idle_heap_r};
use crate::measures::{Run, Tally, bulk_measures, handshake_measures};
use crate::report::{human, markdown, summarise};
use crate::results::{Results, derive_models};
use crate::workers::{
    CALLGRIND_PARTIES, STRACE_PARTIES, instructions_per_handshake, syscalls_per_handshake,
};

pub(crate) fn run(options: Options) -> anyhow::Result<()> {
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
