//! NNTP (RFC 3977, STARTTLS by RFC 4642): the greeting, `CAPABILITIES` (a dot-terminated list
//! that must name `STARTTLS`), `STARTTLS` and its `382`, and `CAPABILITIES` again inside TLS.

use super::{ClientFailure, ClientMachine, Phase};

impl ClientMachine {
    pub(super) fn nntp_line(&mut self, text: String, rest: usize) {
        if self.in_list {
            self.list_line(&text, "STARTTLS", "STARTTLS");
            return;
        }
        let Some(code) = parse_nntp_code(&text) else {
            self.protocol(format!("unparsable nntp response {text:?}"));
            return;
        };
        match (self.phase, code) {
            // RFC 3977 section 5.1.1: 200 posting allowed, 201 posting prohibited.
            (Phase::Greeting, 200 | 201) => {
                self.phase = Phase::Capabilities;
                self.send("CAPABILITIES");
            }
            (Phase::Capabilities | Phase::PostTls, 101) => self.in_list = true,
            // No capability list, hence no STARTTLS (RFC 4642 section 2.1: it is advertised
            // there or not at all).
            (Phase::Capabilities, _) => self.fail(
                ClientFailure::NotOffered {
                    capabilities: Vec::new(),
                },
                true,
            ),
            (Phase::StartTlsSent, 382) => self.go_ahead(rest),
            _ => self.fail(ClientFailure::Refused { reply: text }, true),
        }
    }
}

/// The status code of an NNTP response: three digits, the first 1 to 5, then a space or the end
/// (RFC 3977 section 3.2). NNTP has no continuation lines: a `-` after the code is no response.
fn parse_nntp_code(line: &str) -> Option<u16> {
    let bytes = line.as_bytes();
    let digits = bytes.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(digits.first()?) {
        return None;
    }
    if !matches!(bytes.get(3), None | Some(b' ')) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0')),
    )
}
