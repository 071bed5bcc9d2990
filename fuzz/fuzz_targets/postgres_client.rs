//! Fuzz target `postgres_client`: the oracle is `streamsocket_fuzz::harness::postgres_client`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::postgres_client(data));
