//! Fuzz target `pop3_server`: the oracle is `streamsocket_fuzz::harness::pop3_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::pop3_server(data));
