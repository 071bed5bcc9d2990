//! MySQL (the SSL request packet): the greeting must be a HandshakeV10 with `CLIENT_SSL` and
//! `CLIENT_PROTOCOL_41`; the client answers with the SSLRequest and starts TLS at once, since the
//! server gives no go-ahead. So the trap is on the greeting's side: any byte after the greeting
//! packet, in the same read or later, before TLS, is response injection. Inside TLS the machine
//! is ready at once: the HandshakeResponse41 (sequence 2, with the same flags) is the
//! application's.

use super::{ClientEvent, ClientFailure, ClientMachine, Phase, starts_like_tls};
use crate::starttls::mysql::{
    self, CLIENT_LONG_PASSWORD, CLIENT_PLUGIN_AUTH, CLIENT_PROTOCOL_41, CLIENT_SECURE_CONNECTION,
    CLIENT_SSL, CLIENT_TRANSACTIONS, FirstPacket, MAX_MYSQL_PACKET_LEN, Packet,
};

/// The flags the client asks for when the server has them; `CLIENT_SSL` and
/// `CLIENT_PROTOCOL_41` are required of the server and always set.
const WANTED: u32 =
    CLIENT_LONG_PASSWORD | CLIENT_TRANSACTIONS | CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH;

/// The character set of an SSLRequest when the greeting names none: `utf8mb3_general_ci` (33).
const DEFAULT_CHARSET: u8 = 33;

impl ClientMachine {
    pub(super) fn mysql_input(&mut self, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            let tls_first = self.phase == Phase::Greeting
                && starts_like_tls(self.packets.buffered_header(), rest);
            if self.gate_input(rest, self.packets.buffered_len(), tls_first) {
                return;
            }
            let (consumed, packet) = self.packets.feed(rest);
            rest = rest.get(consumed..).unwrap_or_default();
            match packet {
                None => {}
                Some(Err(too_long)) => self.mysql_protocol(format!(
                    "greeting packet of {} bytes (at most {MAX_MYSQL_PACKET_LEN})",
                    too_long.declared
                )),
                Some(Ok(packet)) => self.mysql_greeting(packet, rest.len()),
            }
        }
    }

    /// A failure before TLS: MySQL's connection phase has no goodbye, so nothing is sent.
    fn mysql_protocol(&mut self, reason: String) {
        self.fail(ClientFailure::Protocol { reason }, false);
    }

    /// The greeting is complete; `rest` bytes follow it in the current input.
    fn mysql_greeting(&mut self, packet: Packet, rest: usize) {
        if packet.seq != 0 {
            self.mysql_protocol(format!("greeting with sequence id {}, not 0", packet.seq));
            return;
        }
        let greeting = match mysql::parse_first_packet(&packet.payload) {
            Ok(FirstPacket::Greeting(greeting)) => greeting,
            Ok(FirstPacket::Error(reply)) => {
                self.fail(ClientFailure::Refused { reply }, false);
                return;
            }
            Err(reason) => {
                self.mysql_protocol(reason);
                return;
            }
        };
        let capabilities = mysql::capability_names(greeting.capabilities);
        self.capabilities = capabilities.clone();
        if greeting.capabilities & CLIENT_SSL == 0 {
            self.fail(ClientFailure::NotOffered { capabilities }, false);
            return;
        }
        if greeting.capabilities & CLIENT_PROTOCOL_41 == 0 {
            self.mysql_protocol("the server does not speak protocol 4.1".to_owned());
            return;
        }
        if rest > 0 {
            self.fail(ClientFailure::PlaintextAfterGoAhead { bytes: rest }, false);
            return;
        }
        let flags = (greeting.capabilities & WANTED) | CLIENT_SSL | CLIENT_PROTOCOL_41;
        let charset = greeting.charset.unwrap_or(DEFAULT_CHARSET);
        self.outbox
            .extend_from_slice(&mysql::ssl_request(flags, charset));
        self.phase = Phase::AwaitingTls;
        self.events.push_back(ClientEvent::StartTls);
    }
}
