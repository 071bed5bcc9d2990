//! Fuzz target `host_name`: the oracle is `streamsocket_fuzz::harness::host_name`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::host_name(data));
