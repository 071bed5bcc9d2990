//! IMAP (RFC 3501, STARTTLS in section 6.2.1): tagged commands and the capability list.

use super::{CloseReason, ServerBehaviour, ServerMachine};

impl ServerMachine {
    pub(super) fn imap_capabilities(&self) -> String {
        let mut caps = vec!["IMAP4rev1"];
        if self.advertises_starttls() && !self.session.authenticated {
            caps.push("STARTTLS");
        }
        if self.tls_required_block() {
            caps.push("LOGINDISABLED");
        }
        caps.join(" ")
    }

    pub(super) fn imap_line(&mut self, text: &str, rest: usize) {
        let mut parts = text.splitn(3, ' ');
        let tag = parts.next().unwrap_or_default().to_owned();
        let command = parts.next().unwrap_or_default().to_ascii_uppercase();
        let args = parts.next().unwrap_or_default().trim().to_owned();
        if tag.is_empty() || !tag.bytes().all(is_tag_char) || command.is_empty() {
            self.error("* BAD missing tag or command");
            return;
        }
        if self.tls_required_block()
            && !matches!(
                command.as_str(),
                "CAPABILITY" | "STARTTLS" | "NOOP" | "LOGOUT"
            )
        {
            self.error(&format!("{tag} NO [PRIVACYREQUIRED] TLS required"));
            return;
        }
        match command.as_str() {
            "CAPABILITY" => {
                let caps = self.imap_capabilities();
                self.reply(&format!("* CAPABILITY {caps}"));
                self.reply(&format!("{tag} OK CAPABILITY completed"));
            }
            "NOOP" => self.reply(&format!("{tag} OK NOOP completed")),
            "LOGOUT" => {
                self.reply("* BYE logging out");
                self.reply(&format!("{tag} OK LOGOUT completed"));
                self.close(CloseReason::Quit);
            }
            "STARTTLS" => {
                if self.tls {
                    self.error(&format!("{tag} BAD TLS already active"));
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error(&format!("{tag} BAD unknown command"));
                } else if let Some(refusal) = self.starttls_refusal(&tag) {
                    self.error(&refusal);
                } else if self.session.authenticated {
                    self.error(&format!(
                        "{tag} BAD STARTTLS not allowed in authenticated state"
                    ));
                } else if !args.is_empty() {
                    self.error(&format!("{tag} BAD STARTTLS takes no arguments"));
                } else {
                    self.go_ahead(&format!("{tag} OK Begin TLS negotiation now"), rest);
                }
            }
            "LOGIN" => {
                if self.session.authenticated {
                    self.error(&format!("{tag} BAD already authenticated"));
                } else if args.contains('{') {
                    self.error(&format!("{tag} NO literals are not supported"));
                } else if imap_arguments(&args) != Some(2) {
                    self.error(&format!("{tag} BAD Syntax: LOGIN user password"));
                } else {
                    self.session.authenticated = true;
                    self.reply(&format!("{tag} OK LOGIN completed"));
                }
            }
            // An authenticated session sees one empty INBOX (enough for curl and friends).
            "LIST" | "LSUB" | "SELECT" | "EXAMINE" if !self.session.authenticated => {
                self.error(&format!("{tag} BAD command not valid in this state"));
            }
            "LIST" => {
                if args.ends_with("\"\"") {
                    // `LIST "" ""` asks for the hierarchy delimiter.
                    self.reply("* LIST (\\Noselect) \"/\" \"\"");
                } else {
                    self.reply("* LIST (\\HasNoChildren) \"/\" INBOX");
                }
                self.reply(&format!("{tag} OK LIST completed"));
            }
            "LSUB" => self.reply(&format!("{tag} OK LSUB completed")),
            "SELECT" | "EXAMINE" => {
                self.reply("* FLAGS (\\Seen)");
                self.reply("* 0 EXISTS");
                self.reply("* 0 RECENT");
                self.reply("* OK [UIDVALIDITY 1] UIDs valid");
                let mode = if command == "SELECT" {
                    "READ-WRITE"
                } else {
                    "READ-ONLY"
                };
                self.reply(&format!("{tag} OK [{mode}] {command} completed"));
            }
            _ => self.error(&format!("{tag} BAD unknown command")),
        }
    }
}

/// IMAP tag characters: ASTRING-CHAR minus `+` (RFC 3501 section 9).
fn is_tag_char(byte: u8) -> bool {
    byte.is_ascii_graphic()
        && !matches!(byte, b'(' | b')' | b'{' | b'%' | b'*' | b'"' | b'\\' | b'+')
}

/// Counts IMAP arguments (atoms or quoted strings); `None` if a quoted string is unterminated.
fn imap_arguments(args: &str) -> Option<usize> {
    let mut count = 0;
    let mut chars = args.chars().peekable();
    loop {
        while chars.peek() == Some(&' ') {
            chars.next();
        }
        let Some(first) = chars.next() else {
            return Some(count);
        };
        count += 1;
        if first == '"' {
            let mut escaped = false;
            loop {
                match chars.next()? {
                    '\\' if !escaped => escaped = true,
                    '"' if !escaped => break,
                    _ => escaped = false,
                }
            }
        } else {
            while chars.peek().is_some_and(|c| *c != ' ') {
                chars.next();
            }
        }
    }
}
