//! Fuzz target `pin_parser`: the oracle is `streamsocket_fuzz::harness::pin_parser`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::pin_parser(data));
