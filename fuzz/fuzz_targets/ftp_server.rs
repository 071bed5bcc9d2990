//! Fuzz target `ftp_server`: the oracle is `streamsocket_fuzz::harness::ftp_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::ftp_server(data));
