//! Project automation, run as `cargo xtask TASK` (see `.cargo/config.toml`).
//!
//! Tasks are filled in by their issues; see README.md.
fn main() {}
