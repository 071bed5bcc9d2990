//! Fuzz target `probe_reply`: the oracle is `streamsocket_fuzz::harness::probe_reply`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::probe_reply(data));
