//! Fuzz target `irc_server`: the oracle is `streamsocket_fuzz::harness::irc_server`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::irc_server(data));
