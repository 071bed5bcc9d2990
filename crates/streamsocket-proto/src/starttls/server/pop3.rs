//! POP3 (RFC 1939, STLS by RFC 2595): commands of the authorization state.

use super::{CloseReason, ServerBehaviour, ServerMachine, split_command};

impl ServerMachine {
    pub(super) fn pop3_line(&mut self, text: &str, rest: usize) {
        let (verb, arg) = split_command(text);
        if self.tls_required_block() && !matches!(verb.as_str(), "CAPA" | "STLS" | "QUIT") {
            self.error("-ERR TLS required");
            return;
        }
        match verb.as_str() {
            "CAPA" => {
                self.reply("+OK capability list follows");
                if !self.tls_required_block() {
                    self.reply("USER");
                }
                if self.advertises_starttls() && !self.session.authenticated {
                    self.reply("STLS");
                }
                self.reply("IMPLEMENTATION streamsocket-mock");
                self.reply(".");
            }
            "STLS" => {
                if self.tls {
                    self.error("-ERR TLS already active");
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error("-ERR unknown command");
                } else if let Some(refusal) = self.starttls_refusal("") {
                    self.error(&refusal);
                } else if self.session.authenticated {
                    self.error("-ERR command not valid in this state");
                } else if !arg.is_empty() {
                    self.error("-ERR STLS takes no arguments");
                } else {
                    self.go_ahead("+OK Begin TLS negotiation", rest);
                }
            }
            "USER" => {
                if self.session.authenticated {
                    self.error("-ERR already authenticated");
                } else if arg.is_empty() {
                    self.error("-ERR Syntax: USER name");
                } else {
                    self.session.pop_user = true;
                    self.reply("+OK");
                }
            }
            "PASS" => {
                if self.session.authenticated || !self.session.pop_user {
                    self.error("-ERR USER first");
                } else {
                    self.session.authenticated = true;
                    self.reply("+OK logged in");
                }
            }
            // The maildrop is always empty (enough for curl and friends after the upgrade).
            "STAT" | "LIST" | "UIDL" | "NOOP" | "RSET" | "RETR" | "DELE" | "TOP"
                if !self.session.authenticated =>
            {
                self.error("-ERR command not valid in this state");
            }
            "STAT" => self.reply("+OK 0 0"),
            "LIST" | "UIDL" if arg.is_empty() => {
                self.reply("+OK 0 messages");
                self.reply(".");
            }
            "NOOP" | "RSET" => self.reply("+OK"),
            "LIST" | "UIDL" | "RETR" | "DELE" | "TOP" => self.error("-ERR no such message"),
            "QUIT" => {
                self.reply("+OK bye");
                self.close(CloseReason::Quit);
            }
            _ => self.error("-ERR unknown command"),
        }
    }
}
