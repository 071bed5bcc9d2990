//! The fuzz oracles: one function per fuzz target, each taking the fuzzer's bytes and panicking
//! when a property of `streamsocket-proto` is violated.
//!
//! These files are shared: the cargo-fuzz crate (`fuzz/`) exports them to its targets, and the
//! hostile integration test of `streamsocket-proto` includes this `mod.rs` with `#[path]` (a
//! `mod.rs`, so that both crates find its modules in `harness/`) to replay every seed and every
//! former crash under `fixtures/fuzz/<target>/` on the stable toolchain. They only use
//! `streamsocket_proto`, std, and rustls and webpki for the chain verifier's algorithms and
//! trust anchors.
//!
//! One module per family of targets: `chain` (the chain verifier), `line` (the line reader),
//! `frame` (the frame codec, with the `Framed` server beside it), `hello` (the ClientHello
//! parser and its JA4 fingerprint), `pin` (the public-key pin parser), `probe` (the classifier of a server's answer to a
//! hand-built hello), `client` and `server` (the
//! line dialects' machines), `postgres` (PostgreSQL's machines), `mysql` (the MySQL machines, whose bytes are packets), `service` (host and service parsing); `script` is the input layout the
//! machine targets share.

mod chain;
mod client;
mod frame;
mod hello;
mod line;
mod mysql;
mod pin;
mod postgres;
mod probe;
mod script;
mod server;
mod service;

pub use self::chain::chain_verifier;
pub use self::client::{
    ftp_client, imap_client, irc_client, lmtp_client, nntp_client, pop3_client, sieve_client,
    smtp_client,
};
pub use self::frame::frame_decoder;
pub use self::hello::hello_parser;
pub use self::line::line_reader;
pub use self::mysql::{mysql_client, mysql_server};
pub use self::pin::pin_parser;
pub use self::postgres::{postgres_client, postgres_server};
pub use self::probe::probe_reply;
pub use self::script::Script;
pub use self::server::{
    framed_server, ftp_server, imap_server, irc_server, lmtp_server, nntp_server, pop3_server,
    sieve_server, smtp_server,
};
pub use self::service::{host_name, service_name};

/// A fuzz oracle: panics when the input reveals a violated property.
pub type Oracle = fn(&[u8]);

/// Every fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs` and the seed directory
/// `fixtures/fuzz/<name>/`) and its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("chain_verifier", chain_verifier),
    ("frame_decoder", frame_decoder),
    ("framed_server", framed_server),
    ("ftp_client", ftp_client),
    ("ftp_server", ftp_server),
    ("hello_parser", hello_parser),
    ("host_name", host_name),
    ("imap_client", imap_client),
    ("imap_server", imap_server),
    ("irc_client", irc_client),
    ("irc_server", irc_server),
    ("line_reader", line_reader),
    ("lmtp_client", lmtp_client),
    ("lmtp_server", lmtp_server),
    ("mysql_client", mysql_client),
    ("mysql_server", mysql_server),
    ("nntp_client", nntp_client),
    ("nntp_server", nntp_server),
    ("pin_parser", pin_parser),
    ("pop3_client", pop3_client),
    ("pop3_server", pop3_server),
    ("postgres_client", postgres_client),
    ("postgres_server", postgres_server),
    ("probe_reply", probe_reply),
    ("sieve_client", sieve_client),
    ("sieve_server", sieve_server),
    ("service_name", service_name),
    ("smtp_client", smtp_client),
    ("smtp_server", smtp_server),
];
