//! IRC (RFC 1459/2812 messages, IRCv3 capability negotiation and its `tls` extension): the
//! client speaks first with `CAP LS 302`, needs `tls` among the capabilities (a list may span
//! several `CAP * LS *` lines), sends `STARTTLS` and takes only numeric `670` as the go-ahead;
//! `691` and every error numeric refuse. Inside TLS it asks `CAP LS 302` again. Registration
//! (`NICK`, `USER`, `CAP END`) is the application's, after `Ready`.
//!
//! A server without capability negotiation (an error numeric, `421 CAP`, in answer to `CAP LS`)
//! cannot say whether it has `STARTTLS`: `NotOffered`, as POP3 without `CAPA`. Notices, pings,
//! other `CAP` subcommands and informational numerics (`020`, ...) before an answer are skipped,
//! never acted on; any other command is a protocol error (no server sends one before
//! registration).

use super::{ClientEvent, ClientFailure, ClientMachine, MAX_REPLY_LINES, Phase};

/// The capability request, with IRCv3.2's version so that long lists come as several lines.
pub(super) const CAP_LS: &str = "CAP LS 302";

impl ClientMachine {
    pub(super) fn irc_line(&mut self, text: String, rest: usize) {
        let Some(message) = parse_irc_message(&text) else {
            self.protocol(format!("unparsable irc message {text:?}"));
            return;
        };
        let listing = matches!(self.phase, Phase::Greeting | Phase::PostTls);
        // Commands are case-insensitive (RFC 2812 section 2.3).
        let command = message.command.to_ascii_uppercase();
        match command.as_str() {
            // The server closes the link (RFC 2812 section 3.7.4).
            "ERROR" => {
                let reason = format!("server said error: {text}");
                self.fail(ClientFailure::Protocol { reason }, false);
            }
            "CAP" if listing && is_ls(&message) => self.cap_ls(&message),
            command => match numeric(command) {
                Some(670) if self.phase == Phase::StartTlsSent => self.go_ahead(rest),
                Some(691 | 400..=599) if self.phase == Phase::StartTlsSent => {
                    self.fail(ClientFailure::Refused { reply: text }, true);
                }
                // No capability negotiation: no way to know STARTTLS is offered.
                Some(400..=599) if self.phase == Phase::Greeting => self.fail(
                    ClientFailure::NotOffered {
                        capabilities: Vec::new(),
                    },
                    true,
                ),
                // Inside TLS the session is secured whatever CAP says: nothing to report.
                Some(400..=599) if self.phase == Phase::PostTls => {
                    self.capabilities.clear();
                    self.pending.clear();
                    self.phase = Phase::Ready;
                    self.events.push_back(ClientEvent::Ready {
                        capabilities: Vec::new(),
                    });
                }
                Some(_) => {}
                None if matches!(command, "NOTICE" | "PING" | "CAP") => {}
                None => self.protocol(format!("unexpected irc message {text:?}")),
            },
        }
    }

    /// One `CAP <target> LS [*] :caps` line: collected; the last one (without `*`) ends the list.
    fn cap_ls(&mut self, message: &IrcMessage<'_>) {
        let more = message.params.len() >= 4 && message.params.get(2) == Some(&"*");
        let list = message.params.last().copied().unwrap_or_default();
        for capability in list.split_ascii_whitespace() {
            if self.pending.len() >= MAX_REPLY_LINES {
                self.protocol("capability list too long");
                return;
            }
            self.pending.push(capability.to_owned());
        }
        if more {
            return;
        }
        let capabilities = std::mem::take(&mut self.pending);
        self.capabilities = capabilities.clone();
        if self.phase == Phase::PostTls {
            self.phase = Phase::Ready;
            self.events.push_back(ClientEvent::Ready { capabilities });
        } else if offers_tls(&capabilities) {
            self.phase = Phase::StartTlsSent;
            self.send("STARTTLS");
        } else {
            self.fail(ClientFailure::NotOffered { capabilities }, true);
        }
    }
}

/// An IRC message: tags and prefix dropped, the command and its parameters (the trailing one
/// without its colon).
#[derive(Debug, Eq, PartialEq)]
struct IrcMessage<'a> {
    command: &'a str,
    params: Vec<&'a str>,
}

/// Parses `[@tags ][:prefix ]COMMAND params [:trailing]` (RFC 2812 section 2.3.1, IRCv3
/// message tags); `None` without a command of letters or three digits. At most 15 parameters
/// (RFC 2812), the rest staying in the last.
fn parse_irc_message(line: &str) -> Option<IrcMessage<'_>> {
    let mut rest = line;
    if rest.starts_with('@') {
        rest = rest.split_once(' ')?.1.trim_start_matches(' ');
    }
    if rest.starts_with(':') {
        rest = rest.split_once(' ')?.1.trim_start_matches(' ');
    }
    let (command, mut tail) = rest.split_once(' ').unwrap_or((rest, ""));
    let valid = (!command.is_empty() && command.bytes().all(|b| b.is_ascii_alphabetic()))
        || (command.len() == 3 && command.bytes().all(|b| b.is_ascii_digit()));
    if !valid {
        return None;
    }
    let mut params = Vec::new();
    loop {
        tail = tail.trim_start_matches(' ');
        if tail.is_empty() {
            break;
        }
        if let Some(trailing) = tail.strip_prefix(':') {
            params.push(trailing);
            break;
        }
        if params.len() == 14 {
            params.push(tail);
            break;
        }
        let (param, after) = tail.split_once(' ').unwrap_or((tail, ""));
        params.push(param);
        tail = after;
    }
    Some(IrcMessage { command, params })
}

fn is_ls(message: &IrcMessage<'_>) -> bool {
    message
        .params
        .get(1)
        .is_some_and(|sub| sub.eq_ignore_ascii_case("LS"))
}

/// A three-digit numeric reply's number.
fn numeric(command: &str) -> Option<u16> {
    (command.len() == 3).then(|| command.parse().ok()).flatten()
}

/// Whether a capability list names `tls` (IRCv3 capability names are case-sensitive and
/// lowercase; a value after `=` is allowed).
pub(crate) fn offers_tls(capabilities: &[String]) -> bool {
    capabilities
        .iter()
        .any(|cap| cap.split('=').next() == Some("tls"))
}

#[cfg(test)]
mod tests {
    use super::{IrcMessage, offers_tls, parse_irc_message};

    #[test]
    fn irc_messages_read_as_rfc_2812_and_ircv3_say() {
        type Expected = Option<(&'static str, &'static [&'static str])>;
        let cases: [(&str, Expected); 8] = [
            (
                ":irc.example.net CAP * LS :multi-prefix tls sasl=PLAIN",
                Some(("CAP", &["*", "LS", "multi-prefix tls sasl=PLAIN"])),
            ),
            (
                ":irc.example.net CAP * LS * :away-notify",
                Some(("CAP", &["*", "LS", "*", "away-notify"])),
            ),
            (
                ":irc.example.net 670 * :STARTTLS successful, go ahead",
                Some(("670", &["*", "STARTTLS successful, go ahead"])),
            ),
            (
                "@time=2026-12-02T17:00:00Z :srv NOTICE * :*** hello",
                Some(("NOTICE", &["*", "*** hello"])),
            ),
            ("PING :token", Some(("PING", &["token"]))),
            ("ERROR :Closing link", Some(("ERROR", &["Closing link"]))),
            (":srv 67 * :short numeric", None),
            (":only-a-prefix", None),
        ];
        for (line, expected) in cases {
            let parsed = parse_irc_message(line);
            let expected = expected.map(|(command, params)| IrcMessage {
                command,
                params: params.to_vec(),
            });
            assert_eq!(parsed, expected, "{line:?}");
        }
    }

    #[test]
    fn tls_is_found_by_its_exact_name() {
        for (list, offered) in [
            (&["multi-prefix", "tls"][..], true),
            (&["tls=1"], true),
            (&["TLS"], false),
            (&["tlsx", "sts=port=6697"], false),
        ] {
            let list: Vec<String> = list.iter().map(|c| (*c).to_owned()).collect();
            assert_eq!(offers_tls(&list), offered, "{list:?}");
        }
    }
}
