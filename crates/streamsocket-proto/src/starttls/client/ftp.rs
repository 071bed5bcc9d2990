//! FTP (RFC 959, `FEAT` by RFC 2389, `AUTH TLS` by RFC 4217): the `220` greeting (after an
//! optional `120`), `FEAT` (a `211` reply whose feature lines must list `AUTH` with the `TLS`
//! mechanism), `AUTH TLS` and its `234`, and `FEAT` again inside TLS.
//!
//! A server that does not know `FEAT` (`500` or `502`, RFC 2389 section 3) cannot say whether
//! it has `AUTH TLS`, which predates `FEAT` (RFC 2228); the client then asks for it anyway, as
//! RFC 4217 section 4.1 has a client that wants security do, and only a `234` goes on: every
//! other answer is a refusal. A `211` that does not list `AUTH TLS` is `NotOffered` (RFC 4217
//! section 6: a server with `FEAT` must list its `AUTH` mechanisms there).

use super::{ClientEvent, ClientFailure, ClientMachine, MAX_REPLY_LINES, Phase};

impl ClientMachine {
    pub(super) fn ftp_line(&mut self, text: String, rest: usize) {
        if let Some(first) = self.pending.first() {
            // RFC 959 section 4.2: inside a multi-line reply any line goes, until one that
            // starts with the first line's code and a space.
            let code = parse_ftp_reply(first).map_or(0, |(code, _)| code);
            let last = parse_ftp_reply(&text) == Some((code, false));
            if !last && self.pending.len() >= MAX_REPLY_LINES {
                self.protocol("ftp reply has too many lines");
                return;
            }
            self.pending.push(text);
            if last {
                let reply = std::mem::take(&mut self.pending);
                self.ftp_reply(code, reply, rest);
            }
            return;
        }
        match parse_ftp_reply(&text) {
            None => self.protocol(format!("unparsable ftp reply {text:?}")),
            Some((_, true)) => self.pending.push(text),
            Some((code, false)) => self.ftp_reply(code, vec![text], rest),
        }
    }

    fn ftp_reply(&mut self, code: u16, reply: Vec<String>, rest: usize) {
        match (self.phase, code) {
            // RFC 959 section 5.4: 120 ("service ready in nnn minutes") comes before the 220.
            (Phase::Greeting, 120) => {}
            (Phase::Greeting, 220) => {
                self.phase = Phase::Capabilities;
                self.send("FEAT");
            }
            (Phase::Capabilities | Phase::PostTls, 211) => {
                let capabilities = features(&reply);
                self.capabilities = capabilities.clone();
                if self.phase == Phase::PostTls {
                    self.phase = Phase::Ready;
                    self.events.push_back(ClientEvent::Ready { capabilities });
                } else if offers_auth_tls(&capabilities) {
                    self.phase = Phase::StartTlsSent;
                    self.send("AUTH TLS");
                } else {
                    self.fail(ClientFailure::NotOffered { capabilities }, true);
                }
            }
            // FEAT not implemented (RFC 2389 section 3): see the module doc.
            (Phase::Capabilities, 500 | 502) => {
                self.phase = Phase::StartTlsSent;
                self.send("AUTH TLS");
            }
            // Inside TLS the session is secured whatever FEAT says: no features to report.
            (Phase::PostTls, 500 | 502) => {
                self.capabilities.clear();
                self.phase = Phase::Ready;
                self.events.push_back(ClientEvent::Ready {
                    capabilities: Vec::new(),
                });
            }
            // RFC 4217 section 4.1 (RFC 2228): 234, "security data exchange complete".
            (Phase::StartTlsSent, 234) => self.go_ahead(rest),
            _ => self.fail(
                ClientFailure::Refused {
                    reply: reply.join("\n"),
                },
                true,
            ),
        }
    }
}

/// Parses `xyz text`, `xyz-text` or a bare `xyz` (RFC 959 section 4.2: three digits, the first
/// 1 to 5): the code and whether a multi-line reply begins.
fn parse_ftp_reply(line: &str) -> Option<(u16, bool)> {
    let bytes = line.as_bytes();
    let digits = bytes.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit) || !(b'1'..=b'5').contains(digits.first()?) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    match bytes.get(3) {
        None | Some(b' ') => Some((code, false)),
        Some(b'-') => Some((code, true)),
        Some(_) => None,
    }
}

/// The feature lines of a `211` reply to `FEAT`: the lines between the first and the last that
/// begin with a space (RFC 2389 section 3.2), without it. A one-line `211` lists none.
fn features(reply: &[String]) -> Vec<String> {
    let inner = reply
        .get(1..reply.len().saturating_sub(1))
        .unwrap_or_default();
    inner
        .iter()
        .filter_map(|line| line.strip_prefix(' '))
        .map(|feature| feature.trim().to_owned())
        .filter(|feature| !feature.is_empty())
        .collect()
}

/// Whether a feature list names `AUTH` with the `TLS` mechanism among its `;`-separated
/// mechanisms (RFC 4217 section 6: ` AUTH TLS;TLS-C;SSL`), compared case-insensitively.
pub(crate) fn offers_auth_tls(capabilities: &[String]) -> bool {
    capabilities.iter().any(|feature| {
        let mut words = feature.split_ascii_whitespace();
        words.next().is_some_and(|w| w.eq_ignore_ascii_case("AUTH"))
            && words.any(|mechanisms| {
                mechanisms
                    .split(';')
                    .any(|mechanism| mechanism.eq_ignore_ascii_case("TLS"))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::{features, offers_auth_tls, parse_ftp_reply};

    #[test]
    fn ftp_reply_lines_read_as_rfc_959_says() {
        let cases: [(&str, Option<(u16, bool)>); 9] = [
            ("220 Service ready", Some((220, false))),
            ("211-Extensions supported:", Some((211, true))),
            ("211", Some((211, false))),
            ("120 ready in 5 minutes", Some((120, false))),
            ("234 AUTH TLS OK.", Some((234, false))),
            ("600 no such class", None),
            ("22 short", None),
            ("2200 too long", None),
            (" AUTH TLS", None),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_ftp_reply(line), expected, "{line:?}");
        }
    }

    #[test]
    fn feat_lists_only_its_space_led_lines_and_auth_tls_among_mechanisms() {
        // RFC 2389 section 3.2's example reply, with RFC 4217 section 6's AUTH line.
        let reply: Vec<String> = [
            "211-Extensions supported:",
            " MLST size*;create;modify*;perm;media-type",
            " SIZE",
            " AUTH TLS;TLS-C;SSL",
            "211 END",
        ]
        .map(str::to_owned)
        .to_vec();
        let list = features(&reply);
        assert_eq!(
            list,
            [
                "MLST size*;create;modify*;perm;media-type",
                "SIZE",
                "AUTH TLS;TLS-C;SSL"
            ]
        );
        assert!(offers_auth_tls(&list));
        assert!(features(&["211 no features".to_owned()]).is_empty());
        for (list, offered) in [
            (&["auth tls"][..], true),
            (&["AUTH SSL;TLS-C"], false),
            (&["AUTH"], false),
            (&["XAUTH TLS"], false),
            (&["PROT TLS"], false),
            (&["AUTH TLS-C", "AUTH TLS"], true),
        ] {
            let list: Vec<String> = list.iter().map(|f| (*f).to_owned()).collect();
            assert_eq!(offers_auth_tls(&list), offered, "{list:?}");
        }
    }
}
