//! Fuzz target `chain_verifier`: the oracle is `streamsocket_fuzz::harness::chain_verifier`.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| streamsocket_fuzz::harness::chain_verifier(data));
