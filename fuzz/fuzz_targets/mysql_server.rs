//! Fuzz target `mysql_server`: the oracle is `streamsocket_fuzz::harness::mysql_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::mysql_server(data));
