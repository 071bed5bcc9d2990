//! PostgreSQL (protocol 3.0, "Message Flow: SSL Session Encryption"): the client speaks first,
//! with the 8-byte SSLRequest, and the server answers one byte: `S` to go ahead (the
//! ClientHello follows at once), `N` to refuse. A server that predates SSL may answer an
//! ErrorResponse (`E`): a refusal whose text is never read, since nothing vouches for it yet.
//! A client that demanded TLS then closes without a StartupMessage (there is no goodbye before
//! one). PostgreSQL advertises nothing before TLS, so nothing is asked again inside it: the
//! client is ready at once, as `Framed` and `Implicit` are.

use super::{ClientEvent, ClientFailure, ClientMachine, Phase};

/// The SSLRequest: Int32 length 8, Int32 code 80877103 (`0x04D2162F`), big-endian.
pub(crate) const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

impl ClientMachine {
    /// Queues the SSLRequest: the machine is then waiting for the server's one-byte answer.
    pub(super) fn postgres_start(&mut self) {
        self.phase = Phase::StartTlsSent;
        self.outbox.extend_from_slice(&SSL_REQUEST);
    }

    /// The server's answer to the SSLRequest (`data` is not empty): its first byte decides, and
    /// nothing after an `S` is read (CVE-2021-23222: a man in the middle's bytes there would be
    /// taken as coming from inside TLS).
    pub(super) fn postgres_answer(&mut self, data: &[u8]) {
        let Some((&answer, rest)) = data.split_first() else {
            return;
        };
        match answer {
            b'S' => self.go_ahead(rest.len()),
            b'N' => self.fail(
                ClientFailure::Refused {
                    reply: "N (the server does not accept SSL)".to_owned(),
                },
                false,
            ),
            b'E' => self.fail(
                ClientFailure::Refused {
                    reply: "an ErrorResponse, left unread (a server without SSL support)"
                        .to_owned(),
                },
                false,
            ),
            other => self.fail(
                ClientFailure::Protocol {
                    reason: format!("answer 0x{other:02x} to the SSLRequest is neither S nor N"),
                },
                false,
            ),
        }
    }

    /// Inside TLS: nothing was learnt in plaintext and nothing is asked again.
    pub(super) fn postgres_ready(&mut self) {
        self.phase = Phase::Ready;
        self.events.push_back(ClientEvent::Ready {
            capabilities: Vec::new(),
        });
    }
}
