//! Fuzz target `hello_parser`: the oracle is `streamsocket_fuzz::harness::hello_parser`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::hello_parser(data));
