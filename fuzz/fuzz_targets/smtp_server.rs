//! Fuzz target `smtp_server`: the oracle is `streamsocket_fuzz::harness::smtp_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::smtp_server(data));
