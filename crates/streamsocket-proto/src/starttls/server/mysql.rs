//! MySQL (the SSL request packet): the HandshakeV10 greeting (with `CLIENT_SSL` unless told
//! not to advertise it), the SSLRequest as the go-ahead, after which the ClientHello follows
//! without waiting; inside TLS the HandshakeResponse41 (any credentials are accepted, so that
//! there is a session to forget) and a few commands (`COM_QUIT`, `COM_PING`). Every error of the
//! connection phase is an ERR packet and the close, as a MySQL server does.

use super::{CloseReason, Refusal, ServerBehaviour, ServerMachine, TLS_HANDSHAKE};
use crate::starttls::mysql::{
    self, CLIENT_LONG_PASSWORD, CLIENT_PLUGIN_AUTH, CLIENT_PROTOCOL_41, CLIENT_SECURE_CONNECTION,
    CLIENT_SSL, CLIENT_TRANSACTIONS, Packet, SSL_REQUEST_LEN,
};

/// The server version the mock greets with.
const SERVER_VERSION: &str = "8.4.0-streamsocket-mock";

/// `CLIENT_FOUND_ROWS`, `CLIENT_LONG_FLAG`, `CLIENT_CONNECT_WITH_DB`: plain 4.1-era flags a
/// real server also sets.
const OTHER_FLAGS: u32 = 0x0000_0002 | 0x0000_0004 | 0x0000_0008;

/// `utf8mb4_0900_ai_ci`, MySQL 8's default collation.
const CHARSET: u8 = 255;

/// `SERVER_STATUS_AUTOCOMMIT`.
const STATUS_AUTOCOMMIT: u16 = 0x0002;

/// The auth-plugin data (the "scramble"): fixed, since the mock authenticates nobody and layer
/// 1 has no randomness; 8 bytes, then 12 and a NUL, as the documentation splits them.
const SCRAMBLE: &[u8; 20] = b"streamsocket-mock-01";

const COM_QUIT: u8 = 0x01;
const COM_PING: u8 = 0x0e;

/// The SQL state of the connection-phase errors (`08S01`, communication link failure).
const LINK_FAILURE: &str = "08S01";

impl ServerMachine {
    /// Queues the greeting: HandshakeV10, or the refusals in its place.
    pub(super) fn mysql_greet(&mut self) {
        match self.config.behaviour {
            ServerBehaviour::StartTlsRefused(Refusal::Nonsense) => {
                // Framed as a packet, but no protocol version: a client must not guess.
                self.mysql_send(0, b"Ready when you are");
            }
            ServerBehaviour::StartTlsRefused(_) => {
                // ER_CON_COUNT_ERROR, before any capability is agreed: no SQL state.
                let payload = mysql::err_payload(1040, None, "Too many connections");
                self.mysql_send(0, &payload);
                self.close(CloseReason::HandshakeRejected);
            }
            _ => {
                let payload = self.mysql_greeting();
                self.mysql_send(0, &payload);
                // The client answers the greeting without waiting for more: what follows it
                // before the handshake is planted.
                if let ServerBehaviour::ResponseInjection(bytes) = &self.config.behaviour {
                    self.outbox.extend_from_slice(bytes);
                }
            }
        }
    }

    /// The HandshakeV10 payload.
    fn mysql_greeting(&self) -> Vec<u8> {
        let mut flags = CLIENT_LONG_PASSWORD
            | OTHER_FLAGS
            | CLIENT_PROTOCOL_41
            | CLIENT_TRANSACTIONS
            | CLIENT_SECURE_CONNECTION
            | CLIENT_PLUGIN_AUTH;
        if self.advertises_starttls() {
            flags |= CLIENT_SSL;
        }
        let [f0, f1, f2, f3] = flags.to_le_bytes();
        let (part1, part2) = SCRAMBLE.split_at(8);
        let mut payload = vec![mysql::PROTOCOL_VERSION];
        payload.extend_from_slice(SERVER_VERSION.as_bytes());
        payload.push(0);
        payload.extend_from_slice(&1u32.to_le_bytes());
        payload.extend_from_slice(part1);
        payload.push(0);
        payload.extend_from_slice(&[f0, f1, CHARSET]);
        payload.extend_from_slice(&STATUS_AUTOCOMMIT.to_le_bytes());
        payload.extend_from_slice(&[f2, f3]);
        // The length of the whole auth-plugin data, NUL included, then 10 reserved bytes.
        payload.push(21);
        payload.extend_from_slice(&[0; 10]);
        payload.extend_from_slice(part2);
        payload.push(0);
        payload.extend_from_slice(b"caching_sha2_password\0");
        payload
    }

    /// ERR 1053 (shutdown in progress) at sequence 0, where a connecting client reads it as its
    /// greeting.
    pub(super) fn mysql_shutdown_message() -> Vec<u8> {
        let payload = mysql::err_payload(1053, Some(LINK_FAILURE), "Server shutdown in progress");
        let mut packet = Vec::new();
        mysql::write_packet(0, &payload, &mut packet);
        packet
    }

    fn mysql_send(&mut self, seq: u8, payload: &[u8]) {
        mysql::write_packet(seq, payload, &mut self.outbox);
    }

    /// Consumes bytes of one packet from `input`; returns how many.
    pub(super) fn mysql_feed(&mut self, input: &[u8]) -> usize {
        let (consumed, packet) = self.packets.feed(input);
        match packet {
            None => consumed,
            Some(Err(_)) => {
                // ER_NET_PACKET_TOO_LARGE; the payload is never read.
                let payload = mysql::err_payload(
                    1153,
                    Some(LINK_FAILURE),
                    "Got a packet bigger than 'max_allowed_packet' bytes",
                );
                self.mysql_send(0, &payload);
                self.close(CloseReason::FrameTooLong);
                input.len()
            }
            Some(Ok(packet)) => {
                if self.session.authenticated {
                    self.mysql_command(&packet);
                } else {
                    self.mysql_handshake(&packet);
                }
                consumed
            }
        }
    }

    /// The client's first packet: the SSLRequest at sequence 1 in plaintext, the
    /// HandshakeResponse41 at sequence 1 (plaintext login) or 2 (inside TLS).
    fn mysql_handshake(&mut self, packet: &Packet) {
        let reply_seq = packet.seq.wrapping_add(1);
        let expected = if self.tls { 2 } else { 1 };
        if packet.seq != expected {
            // ER_NET_PACKETS_OUT_OF_ORDER.
            self.mysql_reject(reply_seq, 1156, LINK_FAILURE, "Got packets out of order");
            return;
        }
        let flags = mysql::u32_at(&packet.payload, 0).unwrap_or(0);
        if flags & CLIENT_PROTOCOL_41 == 0 {
            // ER_HANDSHAKE_ERROR: the 4.0 protocol is not spoken.
            self.mysql_reject(reply_seq, 1043, LINK_FAILURE, "Bad handshake");
            return;
        }
        if flags & CLIENT_SSL != 0 && packet.payload.len() == SSL_REQUEST_LEN {
            if self.tls || !self.advertises_starttls() {
                // A second SSLRequest, or one the greeting did not invite.
                self.mysql_reject(reply_seq, 1043, LINK_FAILURE, "Bad handshake");
            } else {
                self.start_tls_now();
            }
            return;
        }
        // A HandshakeResponse41 is the SSLRequest's 32 bytes and at least the user name's NUL.
        if packet.payload.len() <= SSL_REQUEST_LEN {
            self.mysql_reject(reply_seq, 1043, LINK_FAILURE, "Bad handshake");
            return;
        }
        if self.tls_required_block() {
            // ER_SECURE_TRANSPORT_REQUIRED.
            self.mysql_reject(
                reply_seq,
                3159,
                "HY000",
                "Connections using insecure transport are prohibited while \
                 --require_secure_transport=ON.",
            );
            return;
        }
        self.session.authenticated = true;
        self.mysql_send(reply_seq, &mysql::ok_payload());
    }

    /// An ERR packet that ends the connection phase.
    fn mysql_reject(&mut self, seq: u8, code: u16, state: &str, message: &str) {
        let payload = mysql::err_payload(code, Some(state), message);
        self.mysql_send(seq, &payload);
        self.close(CloseReason::HandshakeRejected);
    }

    /// A command after the login; each starts a new sequence at 0.
    fn mysql_command(&mut self, packet: &Packet) {
        match packet.payload.first() {
            Some(&COM_QUIT) => self.close(CloseReason::Quit),
            Some(&COM_PING) => self.mysql_send(1, &mysql::ok_payload()),
            _ => {
                // ER_UNKNOWN_COM_ERROR; counts towards `max_errors`.
                let payload = mysql::err_payload(1047, Some(LINK_FAILURE), "Unknown command");
                self.mysql_send(1, &payload);
                self.errors = self.errors.saturating_add(1);
                if self.errors >= self.config.max_errors {
                    self.close(CloseReason::TooManyErrors);
                }
            }
        }
    }

    /// Whether bytes after the SSLRequest, before TLS, are the handshake's. An honest client's
    /// ClientHello follows without waiting (there is no go-ahead to wait for): from a first byte
    /// `0x16` on they are, kept for [`take_tls_prefix`](Self::take_tls_prefix). Anything else is
    /// plaintext sent where only the handshake may come, and meets the injection policy; once it
    /// has, the rest does too.
    pub(super) fn mysql_handshake_bytes(&self, data: &[u8]) -> bool {
        let untouched = self.injected_discarded == 0 && self.replay.is_empty();
        !self.tls_prefix.is_empty() || (untouched && data.first() == Some(&TLS_HANDSHAKE))
    }
}
