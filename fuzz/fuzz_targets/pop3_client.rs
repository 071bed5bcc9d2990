//! Fuzz target `pop3_client`: the oracle is `streamsocket_fuzz::harness::pop3_client`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::pop3_client(data));
