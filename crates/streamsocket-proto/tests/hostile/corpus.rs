//! Replays every seed and every former crash under `fixtures/fuzz/<target>/` through the fuzz
//! oracles, so that `cargo test` on stable keeps what the fuzzers found, and checks that the
//! fuzz crate's targets, the oracle table and the seed directories agree.

use std::fs;
use std::path::{Path, PathBuf};

use crate::harness::{self, Script};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sorted_names(dir: &Path, suffix: &str) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .filter_map(|name| name.strip_suffix(suffix).map(str::to_owned))
        .collect();
    names.sort();
    names
}

#[test]
fn every_fuzz_target_has_an_oracle_and_seeds() {
    let targets = sorted_names(&root().join("fuzz/fuzz_targets"), ".rs");
    let mut oracles: Vec<&str> = harness::TARGETS.iter().map(|(name, _)| *name).collect();
    oracles.sort_unstable();
    assert_eq!(targets, oracles);
    let seeds: Vec<String> = sorted_names(&root().join("fixtures/fuzz"), "")
        .into_iter()
        .filter(|name| root().join("fixtures/fuzz").join(name).is_dir())
        .collect();
    assert_eq!(
        seeds, oracles,
        "fixtures/fuzz/ has one directory per target"
    );
}

#[test]
fn every_seed_and_former_crash_passes_its_oracle() {
    let mut replayed = 0;
    for (name, oracle) in harness::TARGETS {
        let dir = root().join("fixtures/fuzz").join(name);
        let files = sorted_names(&dir, "");
        assert!(!files.is_empty(), "{name}: no seeds");
        for file in files {
            let bytes = fs::read(dir.join(&file)).expect("readable seed");
            let outcome = std::panic::catch_unwind(|| oracle(&bytes));
            assert!(outcome.is_ok(), "{name}/{file} fails its oracle");
            replayed += 1;
        }
    }
    assert!(replayed >= 30, "only {replayed} seeds");
}

#[test]
fn script_layout_cuts_the_stream_where_asked() {
    let data = Script::encode(7, &[2, 0, 3], b"abcdefgh");
    let script = Script::parse(&data);
    assert_eq!(script.flags, 7);
    assert_eq!(script.stream, b"abcdefgh");
    let chunks: Vec<&[u8]> = vec![b"ab", b"", b"cde", b"fgh"];
    assert_eq!(script.chunks, chunks);
    // Too short: still one (empty) chunk, never a panic.
    assert_eq!(Script::parse(&[]).chunks, vec![&b""[..]]);
    assert_eq!(Script::parse(&[1, 5, 9]).chunks, vec![&b""[..]]);
}
