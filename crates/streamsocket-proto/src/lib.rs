//! The sans-IO core of `streamsocket`: everything about securing a stream socket that can be
//! decided without touching a socket or a clock.
//!
//! ```text
//!   bytes from the peer ──► handle_input ──► ┌──────────────┐ ──► poll_event    (StartTls, ...)
//!                                             │ dialect      │
//!   bytes to the peer   ◄── poll_transmit ◄── │ state machine│
//!                                             └──────────────┘
//! ```
//!
//! This crate does not do network I/O, does not read the clock and does not depend on tokio or
//! any async runtime; the `streamsocket` client and the `mockserver` drive it. It holds:
//!
//! - [`level`]: the protection levels of the Windows Runtime `SocketProtectionLevel` and the
//!   policy table that says what a connect, an upgrade and setting a minimum level may do: stay
//!   in plaintext, offer some TLS versions, or be refused before any byte is sent.
//! - [`codec`]: the seed's frame codec (4-byte big-endian length + UTF-8), bounded below
//!   `0x16000000` so that a frame never starts like a TLS handshake.
//! - [`alert`]: TLS alert descriptions under their IANA registry names.
//! - [`cert`]: the certificate-error vocabulary (WinRT `ChainValidationResult`,
//!   `SocketSslErrorSeverity`) and the classification of rustls and webpki errors into it.
//! - [`hello`]: the ClientHello a client sent, parsed from its first records (versions, suites
//!   with the weak ones flagged, groups, signature schemes, SNI, ALPN), and its JA4 fingerprint.
//! - [`probe`]: hand-built ClientHello records of SSL 3.0, TLS 1.0, 1.1 or 1.2 with chosen
//!   cipher suites, and the classification of a server's answer (ServerHello with its version
//!   and suite, alert, close, plaintext, garbage), for the server audit; nothing goes past the
//!   ServerHello.
//! - [`service`]: host and service names: the port a service names and the name a certificate is
//!   validated for, without resolving anything.
//! - [`reply`]: what a server sent where TLS was expected (a plaintext greeting, an HTTP
//!   response, an echo), recognised so that the error names the fix.
//! - [`starttls`]: the dialects (`Framed`, `Smtp`, `Imap`, `Pop3`, `Mysql`, `Implicit`, ...)
//!   as client and server state machines, a bounded line reader, and
//!   [`starttls::run_in_memory`], which drives a client machine against a server machine
//!   without I/O.
//!
//! ```
//! use streamsocket_proto::level::{decide, Operation, Permit, ProtectionLevel, VersionSet};
//!
//! let connect = |level| Operation::Connect { level, minimum: None };
//! assert_eq!(decide(connect(ProtectionLevel::Tls13)), Ok(Permit::Tls(VersionSet::TLS13_ONLY)));
//! assert!(decide(connect(ProtectionLevel::Tls10)).is_err());
//! ```

#![warn(missing_docs)]

pub mod alert;
pub mod cert;
pub mod codec;
pub mod hello;
pub mod level;
pub mod probe;
pub mod reply;
pub mod service;
pub mod starttls;

pub use level::{ProtectionLevel, TlsVersion, VersionSet};
