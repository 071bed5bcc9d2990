//! Fuzz target `nntp_server`: the oracle is `streamsocket_fuzz::harness::nntp_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::nntp_server(data));
