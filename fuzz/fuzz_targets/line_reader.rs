//! Fuzz target `line_reader`: the oracle is `streamsocket_fuzz::harness::line_reader`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::line_reader(data));
