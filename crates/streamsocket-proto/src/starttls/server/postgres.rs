//! PostgreSQL (protocol 3.0): the startup packets (SSLRequest, GSSENCRequest, CancelRequest,
//! StartupMessage), each an Int32 length and an Int32 code, then, once a StartupMessage is
//! accepted, typed messages (a type byte and an Int32 length) whose bodies are skipped, never
//! kept. The mock answers an SSLRequest with `S` (or `N`, or what its behaviour says), a
//! GSSENCRequest always with `N` (it has no GSSAPI), and a StartupMessage with
//! AuthenticationOk and ReadyForQuery, unless TLS is required and the connection is plaintext:
//! then a FATAL ErrorResponse and the close, as a server whose `pg_hba.conf` has only
//! `hostssl` lines does. Every query is answered with an ErrorResponse: the mock runs none.
//!
//! PostgreSQL 17's direct TLS is served on the same port: a connection whose first byte is
//! `0x16` (a TLS handshake record, which no startup packet's length begins with) is a
//! ClientHello, kept as the TLS prefix, with no `S`; such a connection must then have
//! negotiated the ALPN protocol `postgresql` ([`ServerMachine::accepts_alpn`]), or PostgreSQL
//! closes it.

use super::{CloseReason, InjectionPolicy, Refusal, ServerBehaviour, ServerMachine};

/// The longest startup packet accepted, as PostgreSQL's `MAX_STARTUP_PACKET_LENGTH`.
pub const MAX_STARTUP_PACKET: usize = 10_000;

/// The SSLRequest's code (1234.5679).
const SSL_REQUEST_CODE: u32 = 80_877_103;
/// The GSSENCRequest's code (1234.5680).
const GSSENC_REQUEST_CODE: u32 = 80_877_104;
/// The CancelRequest's code (1234.5678).
const CANCEL_REQUEST_CODE: u32 = 80_877_102;
/// Protocol 3.0, the only major version the mock speaks.
const PROTOCOL_MAJOR: u32 = 3;

/// The ALPN protocol a direct TLS connection must negotiate (PostgreSQL 17).
pub const POSTGRES_ALPN: &[u8] = b"postgresql";

/// The first byte of a TLS handshake record: a direct TLS connection's first byte.
const TLS_HANDSHAKE: u8 = 0x16;

/// What the PostgreSQL side of a [`ServerMachine`] is reading.
#[derive(Debug, Default)]
pub(super) struct Packets {
    /// The startup packet being read (whole, at most [`MAX_STARTUP_PACKET`] bytes), or the
    /// five-byte header of a typed message.
    buf: Vec<u8>,
    /// The type of the typed message whose body is being skipped, and how much of it is left.
    body: Option<(u8, u32)>,
    /// An SSLRequest was answered: another one is a protocol violation.
    ssl_done: bool,
    /// A GSSENCRequest was answered: another one is a protocol violation.
    gss_done: bool,
    /// TLS began with the connection's first byte (PostgreSQL 17's direct TLS).
    direct: bool,
}

impl Packets {
    /// Inside TLS: a StartupMessage is due, and neither request may come again; whether TLS
    /// began directly is kept.
    pub(super) fn inside_tls(&self) -> Self {
        Self {
            ssl_done: true,
            gss_done: true,
            direct: self.direct,
            ..Self::default()
        }
    }

    /// Whether TLS began with the connection's first byte.
    pub(super) fn is_direct(&self) -> bool {
        self.direct
    }

    /// Bytes held (a partial packet or header), for memory-bound assertions.
    pub(super) fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    pub(super) fn clear(&mut self) {
        self.buf.clear();
        self.body = None;
    }
}

/// An ErrorResponse: severity (localised and not, `S` and `V`), SQLSTATE code and message.
pub(crate) fn error_response(severity: &str, code: &str, message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [
        (b'S', severity),
        (b'V', severity),
        (b'C', code),
        (b'M', message),
    ] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    message_bytes(b'E', &body)
}

/// A typed message: its type, its Int32 length (itself included) and its body.
fn message_bytes(kind: u8, body: &[u8]) -> Vec<u8> {
    let len = u32::try_from(body.len() + 4).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(kind);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The first four bytes of `bytes` as a big-endian number (`bytes` holds at least four).
fn be_u32(bytes: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    for (slot, byte) in word.iter_mut().zip(bytes) {
        *slot = *byte;
    }
    u32::from_be_bytes(word)
}

impl ServerMachine {
    /// Consumes bytes of packets from `input` (not empty), never beyond the current one;
    /// returns how many were consumed (all of them once the machine closes).
    pub(super) fn postgres_input(&mut self, input: &[u8]) -> usize {
        if self.session.authenticated {
            self.postgres_message_input(input)
        } else {
            self.postgres_startup_input(input)
        }
    }

    fn postgres_startup_input(&mut self, input: &[u8]) -> usize {
        let held = self.postgres.buf.len();
        let first = held == 0 && !self.postgres.ssl_done && !self.postgres.gss_done && !self.tls;
        if first && input.first() == Some(&TLS_HANDSHAKE) && self.postgres_accepts_ssl() {
            // Direct TLS: these bytes are the ClientHello, kept as the TLS prefix.
            self.postgres.ssl_done = true;
            self.postgres.direct = true;
            self.start_tls_now();
            return 0;
        }
        let want = if held < 4 {
            4 - held
        } else {
            // Checked when the length was complete: within 8..=MAX_STARTUP_PACKET.
            usize::try_from(be_u32(&self.postgres.buf)).unwrap_or(MAX_STARTUP_PACKET) - held
        };
        let take = want.min(input.len());
        self.postgres
            .buf
            .extend_from_slice(input.get(..take).unwrap_or_default());
        let buf_len = self.postgres.buf.len();
        if buf_len < 4 {
            return take;
        }
        let declared = usize::try_from(be_u32(&self.postgres.buf)).unwrap_or(usize::MAX);
        if !(8..=MAX_STARTUP_PACKET).contains(&declared) {
            self.postgres_fatal(
                "08P01",
                "invalid length of startup packet",
                CloseReason::Fatal,
            );
            return input.len();
        }
        if buf_len < declared {
            return take;
        }
        let packet = std::mem::take(&mut self.postgres.buf);
        self.postgres_startup_packet(&packet, input.len() - take);
        if self.phase == super::Phase::Closed {
            input.len()
        } else {
            take
        }
    }

    /// A whole startup packet; `rest` bytes follow it in the current input.
    fn postgres_startup_packet(&mut self, packet: &[u8], rest: usize) {
        let code = be_u32(packet.get(4..).unwrap_or_default());
        match code {
            SSL_REQUEST_CODE if !self.postgres.ssl_done && !self.tls => {
                self.postgres.ssl_done = true;
                self.postgres_ssl_request(rest);
            }
            GSSENC_REQUEST_CODE if !self.postgres.gss_done && !self.tls => {
                // The mock has no GSSAPI: `N`, then an SSLRequest or a StartupMessage may come.
                self.postgres.gss_done = true;
                self.outbox.push(b'N');
            }
            // The connection ends without an answer (a cancel is always its own connection).
            CANCEL_REQUEST_CODE => self.close(CloseReason::Quit),
            code if code >> 16 == PROTOCOL_MAJOR => {
                self.postgres_startup_message(packet.get(8..).unwrap_or_default());
            }
            code => {
                let message = format!(
                    "unsupported frontend protocol {}.{}: server supports 3.0 to 3.0",
                    code >> 16,
                    code & 0xFFFF
                );
                self.postgres_fatal("0A000", &message, CloseReason::Fatal);
            }
        }
    }

    /// Whether the behaviour does TLS at all (a server without SSL reads a ClientHello as a
    /// startup packet of an impossible length).
    fn postgres_accepts_ssl(&self) -> bool {
        !matches!(
            self.config.behaviour,
            ServerBehaviour::StartTlsNotAdvertised | ServerBehaviour::StartTlsRefused(_)
        )
    }

    /// Whether a connection that negotiated `alpn` may go on inside TLS: one that began with
    /// direct TLS must have negotiated [`POSTGRES_ALPN`] (PostgreSQL 17 closes it otherwise);
    /// an upgrade after the SSLRequest may negotiate it or nothing. Always true in the other
    /// dialects.
    pub fn accepts_alpn(&self, alpn: Option<&[u8]>) -> bool {
        self.dialect != super::Dialect::Postgres
            || !self.postgres.is_direct()
            || alpn == Some(POSTGRES_ALPN)
    }

    /// The answer to the first SSLRequest.
    fn postgres_ssl_request(&mut self, rest: usize) {
        match self.config.behaviour {
            // Nothing is advertised before TLS: a server without SSL answers `N`.
            ServerBehaviour::StartTlsNotAdvertised => self.outbox.push(b'N'),
            ServerBehaviour::StartTlsRefused(Refusal::Permanent) => {
                // A server older than SSL support reads the request as a protocol version.
                self.postgres_fatal(
                    "0A000",
                    "unsupported frontend protocol 1234.5679: server supports 1.0 to 2.0",
                    CloseReason::Fatal,
                );
            }
            ServerBehaviour::StartTlsRefused(refusal) => {
                let answer = refusal
                    .reply(self.dialect, "")
                    .map_or(b'N', |text| text.bytes().next().unwrap_or(b'N'));
                self.outbox.push(answer);
            }
            ServerBehaviour::Honest
            | ServerBehaviour::TlsRequired
            | ServerBehaviour::ResponseInjection(_)
            | ServerBehaviour::Preauth => {
                if rest > 0 && self.config.injection_policy == InjectionPolicy::Reject {
                    // CVE-2021-23214: what came with the request was not encrypted.
                    self.postgres_fatal(
                        "08P01",
                        "received unencrypted data after SSL request",
                        CloseReason::InjectionRejected,
                    );
                    return;
                }
                self.outbox.push(b'S');
                self.start_tls_now();
            }
        }
    }

    /// A StartupMessage's parameters (name, value, ..., an empty name).
    fn postgres_startup_message(&mut self, parameters: &[u8]) {
        let mut fields = parameters.split(|&b| b == 0);
        let (mut user, mut database) = (None, None);
        while let (Some(name), Some(value)) = (fields.next(), fields.next()) {
            match name {
                b"" => break,
                b"user" => user = Some(String::from_utf8_lossy(value).into_owned()),
                b"database" => database = Some(String::from_utf8_lossy(value).into_owned()),
                _ => {}
            }
        }
        let Some(user) = user else {
            self.postgres_fatal(
                "28000",
                "no PostgreSQL user name specified in startup packet",
                CloseReason::Fatal,
            );
            return;
        };
        if self.tls_required_block() {
            let database = database.unwrap_or_else(|| user.clone());
            let message = format!(
                "no pg_hba.conf entry for host \"{}\", user \"{user}\", database \
                 \"{database}\", no encryption",
                self.config.hostname
            );
            self.postgres_fatal("28000", &message, CloseReason::Fatal);
            return;
        }
        self.session.authenticated = true;
        // AuthenticationOk, then ReadyForQuery, idle.
        self.outbox
            .extend_from_slice(&message_bytes(b'R', &0u32.to_be_bytes()));
        self.outbox.extend_from_slice(&message_bytes(b'Z', b"I"));
    }

    fn postgres_message_input(&mut self, input: &[u8]) -> usize {
        if let Some((kind, left)) = self.postgres.body {
            let take = usize::try_from(left).unwrap_or(usize::MAX).min(input.len());
            let left = left - u32::try_from(take).unwrap_or(left);
            if left == 0 {
                self.postgres.body = None;
                self.postgres_message(kind);
            } else {
                self.postgres.body = Some((kind, left));
            }
            return self.consumed(take, input.len());
        }
        let take = (5 - self.postgres.buf.len()).min(input.len());
        self.postgres
            .buf
            .extend_from_slice(input.get(..take).unwrap_or_default());
        if self.postgres.buf.len() < 5 {
            return take;
        }
        let header = std::mem::take(&mut self.postgres.buf);
        let kind = header.first().copied().unwrap_or_default();
        let len = be_u32(header.get(1..).unwrap_or_default());
        if !(4..=0x7FFF_FFFF).contains(&len) {
            self.postgres_fatal("08P01", "invalid message length", CloseReason::Fatal);
            return input.len();
        }
        if len == 4 {
            self.postgres_message(kind);
        } else {
            self.postgres.body = Some((kind, len - 4));
        }
        self.consumed(take, input.len())
    }

    /// A typed message, its body skipped.
    fn postgres_message(&mut self, kind: u8) {
        match kind {
            b'Q' => {
                self.outbox.extend_from_slice(&error_response(
                    "ERROR",
                    "0A000",
                    "the streamsocket mock runs no queries",
                ));
                self.outbox.extend_from_slice(&message_bytes(b'Z', b"I"));
                self.errors = self.errors.saturating_add(1);
                if self.errors >= self.config.max_errors {
                    self.postgres_fatal("53400", "too many errors", CloseReason::TooManyErrors);
                }
            }
            // Sync: ReadyForQuery.
            b'S' => self.outbox.extend_from_slice(&message_bytes(b'Z', b"I")),
            // Terminate.
            b'X' => self.close(CloseReason::Quit),
            other => {
                let message = format!("invalid frontend message type {other}");
                self.postgres_fatal("08P01", &message, CloseReason::Fatal);
            }
        }
    }

    /// `take` of `len` input bytes were consumed; all of them if the machine closed.
    fn consumed(&self, take: usize, len: usize) -> usize {
        if self.phase == super::Phase::Closed {
            len
        } else {
            take
        }
    }

    /// A FATAL ErrorResponse, then the close.
    fn postgres_fatal(&mut self, code: &str, message: &str, reason: CloseReason) {
        self.outbox
            .extend_from_slice(&error_response("FATAL", code, message));
        self.close(reason);
    }
}
