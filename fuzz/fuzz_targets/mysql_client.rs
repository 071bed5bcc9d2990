//! Fuzz target `mysql_client`: the oracle is `streamsocket_fuzz::harness::mysql_client`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::mysql_client(data));
