//! NNTP (RFC 3977, STARTTLS by RFC 4642): the capability list, the upgrade, `AUTHINFO USER` and
//! `PASS` (RFC 4643) so that there is a session to forget, and an empty news server.

use super::{CloseReason, ServerBehaviour, ServerMachine, split_command};

impl ServerMachine {
    pub(super) fn nntp_line(&mut self, text: &str, rest: usize) {
        let (verb, arg) = split_command(text);
        // RFC 3977 section 3.2.1: 483, "command unavailable until suitable privacy has been
        // arranged".
        if self.tls_required_block()
            && !matches!(verb.as_str(), "CAPABILITIES" | "STARTTLS" | "QUIT")
        {
            self.error("483 Encryption required");
            return;
        }
        match verb.as_str() {
            "CAPABILITIES" => {
                self.reply("101 Capability list:");
                self.reply("VERSION 2");
                self.reply("READER");
                // RFC 4642 section 2.2.2: not after TLS, nor after authentication.
                if self.advertises_starttls() && !self.session.authenticated {
                    self.reply("STARTTLS");
                }
                if !self.tls_required_block() && !self.session.authenticated {
                    self.reply("AUTHINFO USER");
                }
                self.reply("IMPLEMENTATION streamsocket-mock");
                self.reply(".");
            }
            "STARTTLS" => {
                if self.tls {
                    self.error("502 Command unavailable: TLS already active");
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error("500 Unknown command");
                } else if let Some(refusal) = self.starttls_refusal("") {
                    self.error(&refusal);
                } else if self.session.authenticated {
                    self.error("502 Command unavailable after authentication");
                } else if !arg.is_empty() {
                    self.error("501 Syntax error: STARTTLS takes no arguments");
                } else {
                    self.go_ahead("382 Continue with TLS negotiation", rest);
                }
            }
            "AUTHINFO" => self.nntp_authinfo(&arg),
            "MODE" if arg.eq_ignore_ascii_case("READER") => self.reply("201 Posting prohibited"),
            "HELP" => {
                self.reply("100 Help text follows");
                self.reply("streamsocket mock, see RFC 3977");
                self.reply(".");
            }
            "LIST" => {
                self.reply("215 Information follows");
                self.reply(".");
            }
            // The greeting says posting is allowed; RFC 3977 section 6.3.1 lets a server still
            // refuse it.
            "POST" => self.error("440 Posting not permitted"),
            "GROUP" | "LISTGROUP" => self.error("411 No such newsgroup"),
            "ARTICLE" | "HEAD" | "BODY" | "STAT" | "NEXT" | "LAST" => {
                self.error("412 No newsgroup selected");
            }
            "QUIT" => {
                self.reply("205 Connection closing");
                self.close(CloseReason::Quit);
            }
            _ => self.error("500 Unknown command"),
        }
    }

    /// `AUTHINFO USER name`, then `AUTHINFO PASS secret` (RFC 4643 section 2.3).
    fn nntp_authinfo(&mut self, arg: &str) {
        let (what, value) = split_command(arg);
        match what.as_str() {
            _ if self.session.authenticated => self.error("502 Already authenticated"),
            "USER" if !value.is_empty() => {
                self.session.pop_user = true;
                self.reply("381 Password required");
            }
            "PASS" if self.session.pop_user && !value.is_empty() => {
                self.session.authenticated = true;
                self.reply("281 Authentication accepted");
            }
            "PASS" => self.error("482 Authentication commands issued out of sequence"),
            _ => self.error("501 Syntax error"),
        }
    }
}
