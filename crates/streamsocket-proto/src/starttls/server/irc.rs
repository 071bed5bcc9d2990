//! IRC (RFC 2812 messages, IRCv3 capability negotiation and its `tls` extension): silent until
//! the client speaks, `CAP LS` listing `tls` (not inside TLS, nor once registered), `STARTTLS`
//! answered `670` or `691`, and registration (`NICK`, `USER`, held while `CAP` negotiation is
//! open) so that there is a session to forget.

use super::{CloseReason, ServerBehaviour, ServerMachine, split_command};

impl ServerMachine {
    pub(super) fn irc_line(&mut self, text: &str, rest: usize) {
        let host = self.config.hostname.clone();
        // Clients send no prefix; one is skipped all the same (RFC 2812 section 2.3).
        let text = match text.strip_prefix(':') {
            Some(prefixed) => prefixed.split_once(' ').map_or("", |(_, after)| after),
            None => text,
        };
        let (verb, arg) = split_command(text);
        if verb.is_empty() {
            return;
        }
        // The registration waits for TLS: ERR_NOTREGISTERED (451) to everything else.
        if self.tls_required_block()
            && !matches!(verb.as_str(), "CAP" | "STARTTLS" | "PING" | "QUIT")
        {
            self.error(&format!(
                ":{host} 451 * :STARTTLS required before registration"
            ));
            return;
        }
        match verb.as_str() {
            "CAP" => self.irc_cap(&arg),
            "STARTTLS" => {
                if self.tls {
                    self.error(&format!(
                        ":{host} 691 * :STARTTLS failure: TLS already active"
                    ));
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error(&format!(":{host} 421 * STARTTLS :Unknown command"));
                } else if let Some(refusal) = self.starttls_refusal(&host) {
                    self.error(&refusal);
                } else if self.session.authenticated {
                    self.error(&format!(
                        ":{host} 691 * :STARTTLS not allowed once registered"
                    ));
                } else {
                    self.go_ahead(
                        &format!(":{host} 670 * :STARTTLS successful, proceed with TLS handshake"),
                        rest,
                    );
                }
            }
            "NICK" if arg.is_empty() => self.error(&format!(":{host} 431 * :No nickname given")),
            "NICK" => {
                let nick = arg
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches(':');
                if nick.is_empty() || !nick.chars().all(|c| c.is_ascii_graphic()) {
                    self.error(&format!(":{host} 432 * :Erroneous nickname"));
                } else {
                    self.session.irc_nick = Some(nick.to_owned());
                    self.irc_register();
                }
            }
            "USER" if self.session.authenticated => {
                self.error(&format!(":{host} 462 * :You may not reregister"));
            }
            "USER" if arg.split(' ').count() < 4 => {
                self.error(&format!(":{host} 461 * USER :Not enough parameters"));
            }
            "USER" => {
                self.session.pop_user = true;
                self.irc_register();
            }
            // The token is echoed: nothing but printable text may go into a reply line.
            "PING" => {
                let token = arg.trim_start_matches(':');
                if token.is_empty() || token.chars().any(char::is_control) {
                    self.error(&format!(":{host} 409 * :No origin specified"));
                } else {
                    self.reply(&format!(":{host} PONG {host} :{token}"));
                }
            }
            "QUIT" => {
                self.reply("ERROR :Closing link (Quit)");
                self.close(CloseReason::Quit);
            }
            _ if !self.session.authenticated => {
                self.error(&format!(":{host} 451 * :You have not registered"));
            }
            _ => self.error(&format!(":{host} 421 * :Unknown command")),
        }
    }

    /// `CAP LS [302]`, `CAP LIST`, `CAP REQ` (refused: the mock enables nothing), `CAP END`.
    fn irc_cap(&mut self, arg: &str) {
        let host = self.config.hostname.clone();
        let (sub, value) = split_command(arg);
        match sub.as_str() {
            "LS" => {
                if !self.session.authenticated {
                    self.session.irc_cap = true;
                }
                let tls = self.advertises_starttls() && !self.session.authenticated;
                let caps = if tls {
                    "multi-prefix tls"
                } else {
                    "multi-prefix"
                };
                self.reply(&format!(":{host} CAP * LS :{caps}"));
            }
            "LIST" => self.reply(&format!(":{host} CAP * LIST :")),
            "REQ" => {
                let wanted = value.trim_start_matches(':');
                if wanted.chars().any(char::is_control) {
                    self.error(&format!(":{host} 410 * :Invalid CAP command"));
                } else {
                    self.reply(&format!(":{host} CAP * NAK :{wanted}"));
                }
            }
            "END" => {
                self.session.irc_cap = false;
                self.irc_register();
            }
            _ => self.error(&format!(":{host} 410 * :Invalid CAP command")),
        }
    }

    /// Registration completes once NICK and USER are given and no CAP negotiation is open.
    fn irc_register(&mut self) {
        if self.session.authenticated || self.session.irc_cap || !self.session.pop_user {
            return;
        }
        let Some(nick) = self.session.irc_nick.clone() else {
            return;
        };
        self.session.authenticated = true;
        let host = self.config.hostname.clone();
        self.reply(&format!(
            ":{host} 001 {nick} :Welcome to the streamsocket mock IRC network"
        ));
    }
}
