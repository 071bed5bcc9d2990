//! ManageSieve (RFC 5804): the capability list as greeting and again, unasked, inside TLS,
//! `STARTTLS`, `AUTHENTICATE "PLAIN"` with an initial response so that there is a session to
//! forget, and a server without scripts.

use super::{CloseReason, ServerBehaviour, ServerMachine, split_command};

impl ServerMachine {
    pub(super) fn sieve_line(&mut self, text: &str, rest: usize) {
        let (verb, arg) = split_command(text);
        // RFC 5804 section 1.3: ENCRYPT-NEEDED, "a security layer is required".
        if self.tls_required_block()
            && !matches!(verb.as_str(), "CAPABILITY" | "STARTTLS" | "LOGOUT" | "NOOP")
        {
            self.error(r#"NO (ENCRYPT-NEEDED) "TLS required""#);
            return;
        }
        match verb.as_str() {
            "CAPABILITY" => {
                self.sieve_capabilities();
                self.reply(r#"OK "Capability completed""#);
            }
            "STARTTLS" => {
                if self.tls {
                    self.error(r#"NO "TLS already active""#);
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error(r#"NO "Unknown command""#);
                } else if let Some(refusal) = self.starttls_refusal("") {
                    self.error(&refusal);
                } else if self.session.authenticated {
                    self.error(r#"NO "STARTTLS not allowed after authentication""#);
                } else if !arg.is_empty() {
                    self.error(r#"NO "STARTTLS takes no arguments""#);
                } else {
                    self.go_ahead(r#"OK "Begin TLS negotiation now""#, rest);
                }
            }
            "AUTHENTICATE" => self.sieve_authenticate(&arg),
            "NOOP" => match sieve_tag(&arg) {
                // RFC 5804 section 2.14: the tag comes back in a TAG response code.
                Some(tag) => self.reply(&format!(r#"OK (TAG "{tag}") "Done""#)),
                None if arg.is_empty() => self.reply(r#"OK "NOOP completed""#),
                None => self.error(r#"NO "NOOP takes one quoted string""#),
            },
            "LISTSCRIPTS" => self.reply(r#"OK "Listscripts completed""#),
            "HAVESPACE" => self.reply(r#"OK "Havespace completed""#),
            "LOGOUT" => {
                self.reply(r#"OK "Logout completed""#);
                self.close(CloseReason::Quit);
            }
            _ => self.error(r#"NO "Unknown command""#),
        }
    }

    /// The capability lines (RFC 5804 section 1.7), without the closing `OK`: `STARTTLS` neither
    /// inside TLS nor after authentication, no SASL mechanism while TLS is required first.
    pub(super) fn sieve_capabilities(&mut self) {
        self.reply(r#""IMPLEMENTATION" "streamsocket mock""#);
        if self.tls_required_block() || self.session.authenticated {
            self.reply(r#""SASL" """#);
        } else {
            self.reply(r#""SASL" "PLAIN""#);
        }
        self.reply(r#""SIEVE" "fileinto vacation""#);
        if self.advertises_starttls() && !self.session.authenticated {
            self.reply(r#""STARTTLS""#);
        }
        self.reply(r#""VERSION" "1.0""#);
    }

    /// `AUTHENTICATE "PLAIN" "initial-response"` (RFC 5804 section 2.1); the mock accepts any
    /// non-empty response and wants it up front, so it never asks for a continuation.
    fn sieve_authenticate(&mut self, arg: &str) {
        let (mechanism, response) = split_command(arg);
        if self.session.authenticated {
            self.error(r#"NO "Already authenticated""#);
        } else if mechanism != r#""PLAIN""# {
            self.error(r#"NO "Unsupported mechanism""#);
        } else if response.len() < 3 || !response.starts_with('"') || !response.ends_with('"') {
            self.error(r#"NO "Initial response required""#);
        } else {
            self.session.authenticated = true;
            self.reply(r#"OK "Authenticated""#);
        }
    }
}

/// The tag of `NOOP "tag"`: a quoted string of printable characters without quotes or
/// backslashes (so that it is echoed as it came, and can smuggle nothing into the answer).
fn sieve_tag(arg: &str) -> Option<&str> {
    let tag = arg.strip_prefix('"')?.strip_suffix('"')?;
    tag.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
        .then_some(tag)
}
