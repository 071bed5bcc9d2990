//! The oracles of the fuzz targets, in [`harness`] (shared with layer 1's replay test); each
//! target in `fuzz_targets/` is one line that hands the fuzzer's bytes to its oracle. See
//! `README.md`.

#![forbid(unsafe_code)]

pub mod harness;
