//! Fuzz target `service_name`: the oracle is `streamsocket_fuzz::harness::service_name`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::service_name(data));
