//! Fuzz target `frame_decoder`: the oracle is `streamsocket_fuzz::harness::frame_decoder`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::frame_decoder(data));
