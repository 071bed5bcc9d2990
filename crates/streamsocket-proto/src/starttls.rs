//! STARTTLS dialect state machines, client side and server side, sans-IO.
//!
//! Each machine is fed bytes ([`ClientMachine::handle_input`], [`ServerMachine::handle_input`])
//! and returns bytes to send (`poll_transmit`) and events (`poll_event`). The driver (the
//! `streamsocket` client, the `mockserver`) moves bytes and starts TLS when told; it makes no
//! protocol decision.
//!
//! | dialect | exchange before TLS | after TLS |
//! |---|---|---|
//! | `Framed` | the client may send frames; its ClientHello (first byte `0x16`) starts TLS | frames echoed |
//! | `Ftp` (RFC 959, 2389, 4217) | `220` greeting, `FEAT` (`211-`, lists ` AUTH TLS`), `AUTH TLS`, `234` | `FEAT` again |
//! | `Smtp` (RFC 3207) | `220` greeting, `EHLO`, `250-STARTTLS`, `STARTTLS`, `220` | `EHLO` again |
//! | `Imap` (RFC 3501, 2595) | `* OK [CAPABILITY ..]`, `A1 CAPABILITY`, `A2 STARTTLS`, `A2 OK` | `A3 CAPABILITY` |
//! | `Pop3` (RFC 2595) | `+OK`, `CAPA` (dot-terminated, lists `STLS`), `STLS`, `+OK` | `CAPA` again |
//! | `Lmtp` (RFC 2033) | as SMTP, with `LHLO` for `EHLO` | `LHLO` again |
//! | `Mysql` (SSLRequest) | HandshakeV10 greeting with `CLIENT_SSL`, the client's 32-byte SSLRequest, then its ClientHello at once (no go-ahead) | nothing: the HandshakeResponse41 is the application's |
//! | `Nntp` (RFC 4642) | `200`/`201`, `CAPABILITIES` (`101`, dot-terminated, lists `STARTTLS`), `STARTTLS`, `382` | `CAPABILITIES` again |
//! | `Postgres` (protocol 3.0) | the client's 8-byte `SSLRequest`, one byte `S` (`N` refuses); the server also takes PostgreSQL 17's direct TLS (a ClientHello first, ALPN `postgresql`) | nothing: the client is ready at once |
//! | `Irc` (IRCv3 `tls`) | the client first: `CAP LS 302` (lists `tls`), `STARTTLS`, numeric `670` | `CAP LS 302` again |
//! | `Sieve` (RFC 5804) | capability lines (`"STARTTLS"` listed) ending `OK`, `STARTTLS`, `OK` | the server re-sends the capabilities unasked |
//! | `Implicit` | none: TLS from the first byte | frames echoed |
//!
//! # The upgrade invariant
//!
//! When the go-ahead is given (client: the `220`/`OK`/`+OK` or PostgreSQL's `S` is read, or
//! MySQL's greeting, which is all the client waits for; server: the STARTTLS command or the
//! SSLRequest is read), bytes already buffered are never handed on as protocol data. The client
//! fails with [`ClientFailure::PlaintextAfterGoAhead`]; the server applies its
//! [`InjectionPolicy`]. After the upgrade both sides forget everything learnt in plaintext.
//! A client never goes on in plaintext: after any failure it emits nothing but an optional
//! QUIT or LOGOUT (PostgreSQL's client: nothing, since Terminate exists only after a
//! StartupMessage).
//!
//! # Splitting
//!
//! Both machines process input byte-exactly, so a byte stream split at any points yields the
//! same events as in one piece, with one deliberate exception: whether bytes after a go-ahead
//! arrived in the same read as the go-ahead decides between failing at once and emitting
//! `StartTls` first (the later bytes then fail the client, or meet the server's policy).
//!
//! ```
//! use streamsocket_proto::starttls::{run_in_memory, ClientSettings, Dialect, ServerSettings};
//!
//! let outcome = run_in_memory(Dialect::Smtp, ClientSettings::default(), ServerSettings::default());
//! assert!(outcome.tls_established);
//! assert!(outcome.is_ready());
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub(crate) mod client;
mod ehlo;
mod line;
mod mysql;
mod server;

pub use client::{ClientEvent, ClientFailure, ClientMachine, ClientSettings};
pub use ehlo::{EhloName, InvalidEhloName};
pub use line::{Line, LineReader, LineTooLong};
pub use mysql::MAX_MYSQL_PACKET_LEN;
pub use server::{
    CloseReason, InjectionPolicy, MAX_MAIL_LEN, MAX_RECIPIENTS, MAX_STARTUP_PACKET, MAX_TLS_PREFIX,
    POSTGRES_ALPN, Refusal, ServerBehaviour, ServerEvent, ServerMachine, ServerSettings,
};

/// The default line limit, terminator included; accepts RFC 5321's 512 (command) and 1000
/// (text line) octet minimums.
pub const DEFAULT_MAX_LINE_LEN: usize = 2048;

/// The most lines of one multi-line reply (or capabilities of one list) a client accepts.
pub const MAX_REPLY_LINES: usize = 256;

/// How a connection gets to TLS.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// The seed's sample: length-prefixed frames, then a ClientHello on the same connection.
    Framed,
    /// FTP `AUTH TLS` (RFC 4217, over RFC 959 with RFC 2389's `FEAT`): the control connection.
    Ftp,
    /// IMAP STARTTLS (RFC 3501, RFC 2595).
    Imap,
    /// TLS from the first byte (ports 465, 993, 995 style).
    Implicit,
    /// IRC STARTTLS (the IRCv3 `tls` extension): `CAP LS`, `STARTTLS`, numeric 670.
    Irc,
    /// LMTP STARTTLS (RFC 2033, with RFC 3207's STARTTLS): SMTP's exchange with `LHLO`.
    Lmtp,
    /// MySQL's SSL request packet (the client/server protocol's `Protocol::SSLRequest` after
    /// the `HandshakeV10` greeting), named `mysql` as openssl's `-starttls` names it.
    Mysql,
    /// NNTP STARTTLS (RFC 4642, over RFC 3977).
    Nntp,
    /// POP3 STLS (RFC 2595).
    Pop3,
    /// PostgreSQL's SSLRequest (protocol 3.0, "SSL Session Encryption"), named `postgres` as
    /// openssl's `-starttls` names it.
    Postgres,
    /// ManageSieve STARTTLS (RFC 5804), named `sieve` as openssl's `-starttls` names it.
    Sieve,
    /// SMTP STARTTLS (RFC 3207).
    Smtp,
}

impl Dialect {
    /// Every dialect, alphabetically.
    pub const ALL: [Self; 12] = [
        Self::Framed,
        Self::Ftp,
        Self::Imap,
        Self::Implicit,
        Self::Irc,
        Self::Lmtp,
        Self::Mysql,
        Self::Nntp,
        Self::Pop3,
        Self::Postgres,
        Self::Sieve,
        Self::Smtp,
    ];

    /// The lowercase name, as `Display` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Framed => "framed",
            Self::Ftp => "ftp",
            Self::Imap => "imap",
            Self::Implicit => "implicit",
            Self::Irc => "irc",
            Self::Lmtp => "lmtp",
            Self::Mysql => "mysql",
            Self::Nntp => "nntp",
            Self::Pop3 => "pop3",
            Self::Postgres => "postgres",
            Self::Sieve => "sieve",
            Self::Smtp => "smtp",
        }
    }

    /// Whether the dialect is a line-based text protocol (FTP, SMTP, LMTP, IMAP, POP3, NNTP,
    /// ManageSieve, IRC).
    pub fn is_line_based(self) -> bool {
        matches!(
            self,
            Self::Ftp
                | Self::Imap
                | Self::Irc
                | Self::Lmtp
                | Self::Nntp
                | Self::Pop3
                | Self::Sieve
                | Self::Smtp
        )
    }

    /// Whether the server answers a request for TLS with a go-ahead before the handshake (the
    /// line dialects and PostgreSQL's `S`), so that bytes after it are never protocol data: the
    /// client fails on them, the server applies its [`InjectionPolicy`]. `Framed` and
    /// `Implicit` have no go-ahead: what follows is the ClientHello.
    pub fn has_go_ahead(self) -> bool {
        self.is_line_based() || self == Self::Postgres
    }

    /// Whether the dialect speaks SMTP's replies and commands (SMTP, LMTP), so that only the
    /// hello verb differs.
    pub fn is_smtp_like(self) -> bool {
        matches!(self, Self::Lmtp | Self::Smtp)
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = ParseDialectError;

    /// Accepts the names case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = s.trim();
        Self::ALL
            .into_iter()
            .find(|dialect| dialect.name().eq_ignore_ascii_case(key))
            .ok_or_else(|| ParseDialectError(s.to_owned()))
    }
}

/// A string that names no dialect.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error(
    "unknown dialect {0:?} (expected framed, ftp, imap, implicit, irc, lmtp, mysql, nntp, pop3, postgres, sieve or smtp)"
)]
pub struct ParseDialectError(String);

/// The bytes the in-memory driver feeds a `Framed` or `Implicit` server as the start of the
/// client's simulated ClientHello (a TLS handshake record header and a truncated body).
pub const SIMULATED_CLIENT_HELLO: &[u8] = &[0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00];

/// Extra knobs of [`run_in_memory_with`].
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct InMemoryOptions {
    /// Bytes appended to the client's STARTTLS (or STLS) command in the same write, as a man in
    /// the middle or a pipelining client would (command injection, CVE-2011-0411).
    pub inject_after_starttls: Vec<u8>,
}

/// What happened when a client machine met a server machine in memory.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct InMemoryOutcome {
    /// Every event of the client machine, in order.
    pub client_events: Vec<ClientEvent>,
    /// Every event of the server machine, in order.
    pub server_events: Vec<ServerEvent>,
    /// Both sides asked for TLS and the simulated handshake ran (`handle_tls_established` was
    /// called on both).
    pub tls_established: bool,
    /// Every byte the client sent before TLS.
    pub client_plaintext: Vec<u8>,
    /// Every byte the server sent before TLS.
    pub server_plaintext: Vec<u8>,
    /// Every byte the client sent inside the simulated TLS.
    pub client_protected: Vec<u8>,
    /// Every byte the server sent inside the simulated TLS.
    pub server_protected: Vec<u8>,
    /// What the server's `take_tls_prefix` returned when TLS started.
    pub tls_prefix: Vec<u8>,
    /// The server's count of discarded bytes after STARTTLS.
    pub injected_discarded: usize,
    /// The client's capability list at the end.
    pub capabilities: Vec<String>,
}

impl InMemoryOutcome {
    /// Whether the client reached `Ready`.
    pub fn is_ready(&self) -> bool {
        self.client_events
            .iter()
            .any(|event| matches!(event, ClientEvent::Ready { .. }))
    }

    /// The client's failure, if it failed.
    pub fn failure(&self) -> Option<&ClientFailure> {
        self.client_events.iter().find_map(|event| match event {
            ClientEvent::Failed(failure) => Some(failure),
            _ => None,
        })
    }

    /// Why the server closed, if it did.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        self.server_events.iter().find_map(|event| match event {
            ServerEvent::Close(reason) => Some(reason),
            _ => None,
        })
    }
}

/// Drives a client machine against a server machine in memory: until the go-ahead (or a
/// failure), through a simulated TLS establishment (`handle_tls_established` on both sides; for
/// `Framed`, `Implicit` and `Mysql` the server is first fed [`SIMULATED_CLIENT_HELLO`]), and
/// then until the client is ready or nothing moves any more. A failed client's QUIT or LOGOUT
/// is delivered; a closing server's close reaches the client as end of file.
pub fn run_in_memory(
    dialect: Dialect,
    client: ClientSettings,
    server: ServerSettings,
) -> InMemoryOutcome {
    run_in_memory_with(dialect, client, server, &InMemoryOptions::default())
}

/// [`run_in_memory`] with extra [`InMemoryOptions`] (command injection after STARTTLS).
pub fn run_in_memory_with(
    dialect: Dialect,
    client: ClientSettings,
    server: ServerSettings,
    options: &InMemoryOptions,
) -> InMemoryOutcome {
    let mut client = ClientMachine::new(dialect, client);
    let mut server = ServerMachine::new(dialect, server);
    let mut outcome = InMemoryOutcome::default();
    let starttls_command: &[u8] = match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp | Dialect::Sieve => b"STARTTLS\r\n",
        Dialect::Irc => b"STARTTLS\r\n",
        Dialect::Ftp => b"AUTH TLS\r\n",
        Dialect::Imap => b"A2 STARTTLS\r\n",
        Dialect::Pop3 => b"STLS\r\n",
        Dialect::Postgres => &client::SSL_REQUEST,
        Dialect::Framed | Dialect::Implicit | Dialect::Mysql => b"",
    };
    let (mut client_go, mut server_go) = (false, false);
    let (mut client_failed, mut server_closed, mut client_eof) = (false, false, false);
    let mut hello_sent = false;
    // Every exchange takes a handful of rounds; the bound only guards against a livelock bug.
    for _ in 0..10_000 {
        let mut progress = false;
        if let Some(bytes) = server.poll_transmit() {
            progress = true;
            let record = if outcome.tls_established {
                &mut outcome.server_protected
            } else {
                &mut outcome.server_plaintext
            };
            record.extend_from_slice(&bytes);
            if !client_eof {
                client.handle_input(&bytes);
            }
        }
        while let Some(event) = server.poll_event() {
            progress = true;
            match event {
                ServerEvent::StartTls => server_go = true,
                ServerEvent::Close(_) => server_closed = true,
                _ => {}
            }
            outcome.server_events.push(event);
        }
        if let Some(mut bytes) = client.poll_transmit() {
            progress = true;
            if !outcome.tls_established && !starttls_command.is_empty() && bytes == starttls_command
            {
                bytes.extend_from_slice(&options.inject_after_starttls);
            }
            let record = if outcome.tls_established {
                &mut outcome.client_protected
            } else {
                &mut outcome.client_plaintext
            };
            record.extend_from_slice(&bytes);
            if !server_closed {
                server.handle_input(&bytes);
            }
        }
        while let Some(event) = client.poll_event() {
            progress = true;
            match event {
                ClientEvent::StartTls => client_go = true,
                ClientEvent::Failed(_) => client_failed = true,
                ClientEvent::Ready { .. } => {}
            }
            outcome.client_events.push(event);
        }
        if progress {
            continue;
        }
        if client_go && !client_failed && !hello_sent && !dialect.has_go_ahead() && !server_closed {
            // The client's handshake begins: a Framed server recognises it by the 0x16 byte, a
            // MySQL server takes it as what follows the SSLRequest.
            hello_sent = true;
            server.handle_input(SIMULATED_CLIENT_HELLO);
            continue;
        }
        if client_go && server_go && !client_failed && !server_closed && !outcome.tls_established {
            outcome.tls_prefix = server.take_tls_prefix();
            outcome.tls_established = true;
            client.handle_tls_established();
            server.handle_tls_established();
            continue;
        }
        if server_closed && !client_eof {
            client_eof = true;
            client.handle_eof();
            continue;
        }
        break;
    }
    outcome.injected_discarded = server.injected_discarded();
    outcome.capabilities = client.capabilities().to_vec();
    outcome
}

#[cfg(test)]
mod tests;

/// The bytes waiting in `outbox`, if there are any, leaving it empty: what both machines'
/// `poll_transmit` return.
fn take_pending(outbox: &mut Vec<u8>) -> Option<Vec<u8>> {
    (!outbox.is_empty()).then(|| std::mem::take(outbox))
}
