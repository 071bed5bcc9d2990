//! A strict TLS/STARTTLS client socket for tokio, modelled on the Windows Runtime
//! `StreamSocket`.
//!
//! ```text
//!   your code ──AsyncRead/AsyncWrite──► StreamSocket ──► tokio-rustls ──► TcpStream
//!                                          │  ▲
//!                 upgrade_with(dialect) ──►│  │ bytes, events
//!                                          ▼  │
//!                          streamsocket-proto (policy table, dialect machines, codec)
//! ```
//!
//! A [`StreamSocket`] either connects and negotiates TLS at once
//! ([`connect`](StreamSocket::connect) with a TLS [`ProtectionLevel`]), or connects in
//! plaintext, talks, and upgrades in place: [`upgrade_to_ssl`](StreamSocket::upgrade_to_ssl)
//! (the caller did the plaintext talking) or [`upgrade_with`](StreamSocket::upgrade_with) (a
//! STARTTLS dialect: SMTP, IMAP, POP3, or the seed's framed exchange). Afterwards
//! [`information`](StreamSocket::information) says what was negotiated: the level actually
//! reached, the version, suite, group, the server's chain and **every** certificate error found.
//!
//! This crate does the I/O; every protocol decision (which versions a level allows, what a
//! dialect sends and accepts) is made by the sans-IO core `streamsocket-proto`, re-exported
//! here as [`proto`]. It does not implement a server; see the `mockserver` crate.
//!
//! Differences from Windows, all on the strict side: legacy levels (SSL 3.0, TLS 1.0/1.1) are
//! refused before any byte is sent, the reported level is always the negotiated one, errors
//! are sticky, and a socket that asked for TLS never continues in plaintext.
//!
//! # Connect with implicit TLS
//!
//! The example starts a small TLS server on loopback, then connects to it with `Ssl`.
//!
//! ```
//! # use std::sync::Arc;
//! # use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use streamsocket::{ProtectionLevel, StreamSocket, TrustAnchors};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (port, root) = doc_server::spawn(false).await?;
//! let mut socket = StreamSocket::new();
//! socket.control_mut().set_trust_anchors(TrustAnchors::from_der([root]))?;
//! socket.connect("localhost", port, ProtectionLevel::Ssl).await?;
//!
//! let info = socket.information();
//! assert_eq!(info.protection_level, ProtectionLevel::Tls13);
//! assert!(info.server_certificate_errors.is_empty());
//!
//! socket.write_all(b"hello").await?;
//! let mut echo = [0u8; 5];
//! socket.read_exact(&mut echo).await?;
//! assert_eq!(&echo, b"hello");
//! socket.shutdown().await?; // sends close_notify
//! # Ok(())
//! # }
//! # #[path = "../tests/support/doc_server.rs"] mod doc_server;
//! ```
//!
//! # Connect in plaintext, then upgrade
//!
//! As in the seed's sample: send a length-prefixed string in plaintext, then upgrade the same
//! connection with [`upgrade_to_ssl`](StreamSocket::upgrade_to_ssl).
//!
//! ```
//! # use tokio::io::{AsyncReadExt, AsyncWriteExt};
//! use streamsocket::{ProtectionLevel, StreamSocket, TrustAnchors, read_string, write_string};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let (port, root) = doc_server::spawn(true).await?;
//! let mut socket = StreamSocket::new();
//! socket.control_mut().set_trust_anchors(TrustAnchors::from_der([root]))?;
//! socket.connect("localhost", port, ProtectionLevel::PlainSocket).await?;
//! write_string(&mut socket, "Hello World ☺ ").await?;
//!
//! socket.upgrade_to_ssl(ProtectionLevel::Tls12, "localhost").await?;
//! assert_eq!(socket.information().protection_level, ProtectionLevel::Tls12);
//! assert_eq!(socket.information().bytes_sent_before_upgrade, 4 + 16);
//!
//! write_string(&mut socket, "now encrypted").await?;
//! assert_eq!(read_string(&mut socket).await?, "now encrypted");
//! # Ok(())
//! # }
//! # #[path = "../tests/support/doc_server.rs"] mod doc_server;
//! ```
//!
//! # Layout
//!
//! - `socket`: [`StreamSocket`], the connection and its states.
//! - `close`: [`StreamSocket::close`], a graceful close that hears the peer's last alert.
//! - `control`: [`SocketControl`], [`TrustAnchors`], [`ClientIdentity`], [`SessionStore`].
//! - `info`: [`SocketInformation`], [`CertificateSummary`], [`HandshakeKind`].
//! - `verifier`: the certificate verifier that reports every error and ignores chosen ones.
//! - `driver`: moves bytes between the socket and a STARTTLS dialect machine.
//! - `framing`: [`write_string`], [`read_string`], [`StringCodec`].
//! - `error`: [`Error`], [`ErrorKind`].

#![warn(missing_docs)]

mod close;
mod control;
mod driver;
mod error;
mod framing;
mod info;
mod service;
mod socket;
mod tls;
mod verifier;

pub use proto;
pub use proto::cert::{
    ChainValidationResult, ErrorContext, ErrorDetail, PinMismatch, SocketSslErrorSeverity, SpkiPin,
};
pub use proto::level::{ProtectionLevel, TlsVersion};
pub use proto::service::Service;
pub use proto::starttls::{Dialect, EhloName};
/// The IANA names of cipher suites and key-exchange groups, for
/// [`SocketControl::set_cipher_suites`] and [`SocketControl::set_key_exchange_groups`].
pub use rustls::{CipherSuite, NamedGroup};

pub use crate::control::{
    ClientIdentity, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_SESSION_CAPACITY,
    SessionStore, SocketControl, TrustAnchors,
};
pub use crate::error::{Error, ErrorKind};
pub use crate::framing::{StringCodec, read_string, write_string};
pub use crate::info::{AlpnProtocol, CertificateSummary, HandshakeKind, SocketInformation};
pub use crate::socket::StreamSocket;
