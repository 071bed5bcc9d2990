//! Fuzz target `lmtp_client`: the oracle is `streamsocket_fuzz::harness::lmtp_client`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::lmtp_client(data));
