//! Fuzz target `lmtp_server`: the oracle is `streamsocket_fuzz::harness::lmtp_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::lmtp_server(data));
