//! The oracles of the fuzz targets, in [`harness`]; each target in `fuzz_targets/` is one line
//! that hands the fuzzer's bytes to its function there. See `README.md`.

#![forbid(unsafe_code)]

pub mod harness;
