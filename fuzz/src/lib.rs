//! The oracles of the fuzz targets, in [`harness`] (layer 1) and [`service`] (the client crate);
//! each target in `fuzz_targets/` is one line that hands the fuzzer's bytes to its oracle. See
//! `README.md`.

#![forbid(unsafe_code)]

pub mod harness;
pub mod service;
