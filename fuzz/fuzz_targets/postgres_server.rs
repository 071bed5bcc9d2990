//! Fuzz target `postgres_server`: the oracle is `streamsocket_fuzz::harness::postgres_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::postgres_server(data));
