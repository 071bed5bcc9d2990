//! SMTP (RFC 5321, STARTTLS by RFC 3207): commands, the mail transaction and `DATA`; also LMTP
//! (RFC 2033), which is SMTP with `LHLO` in place of `EHLO` and `HELO` and one reply per
//! recipient after `DATA`.

use super::{
    CloseReason, Dialect, MAX_MAIL_LEN, MAX_RECIPIENTS, MailData, ServerBehaviour, ServerEvent,
    ServerMachine, Session, split_command,
};
use crate::starttls::line::Line;

impl ServerMachine {
    pub(super) fn smtp_line(&mut self, line: &Line, rest: usize) {
        if self.session.data.is_some() {
            self.smtp_data_line(line);
            return;
        }
        let text = line.text();
        let (mut verb, arg) = split_command(&text);
        let host = self.config.hostname.clone();
        let lmtp = self.dialect == Dialect::Lmtp;
        if lmtp {
            // RFC 2033 section 4.1: LHLO replaces EHLO and HELO, which LMTP does not know.
            match verb.as_str() {
                "EHLO" | "HELO" => {
                    self.error("500 5.5.2 Error: command not recognized");
                    return;
                }
                "LHLO" => verb = "EHLO".to_owned(),
                _ => {}
            }
        }
        let hello = if lmtp { "LHLO" } else { "HELO/EHLO" };
        if self.tls_required_block()
            && !matches!(
                verb.as_str(),
                "EHLO" | "HELO" | "STARTTLS" | "NOOP" | "RSET" | "QUIT"
            )
        {
            self.error("530 5.7.0 Must issue a STARTTLS command first");
            return;
        }
        match verb.as_str() {
            // The EHLO argument is echoed in the reply: a control character (a bare CR, say)
            // would end up inside a reply line.
            "EHLO" | "HELO" if arg.is_empty() || arg.chars().any(char::is_control) => {
                let verb = if lmtp { "LHLO" } else { "EHLO" };
                self.error(&format!("501 5.5.4 Syntax: {verb} hostname"));
            }
            "EHLO" => {
                self.session = Session {
                    greeted: true,
                    ..Session::default()
                };
                let mut lines = vec![format!("{host} greets {arg}")];
                lines.push(format!("SIZE {MAX_MAIL_LEN}"));
                lines.push("8BITMIME".to_owned());
                if self.advertises_starttls() {
                    lines.push("STARTTLS".to_owned());
                }
                lines.push("ENHANCEDSTATUSCODES".to_owned());
                let last = lines.len() - 1;
                for (index, line) in lines.iter().enumerate() {
                    let separator = if index == last { ' ' } else { '-' };
                    self.reply(&format!("250{separator}{line}"));
                }
            }
            "HELO" => {
                self.session = Session {
                    greeted: true,
                    ..Session::default()
                };
                self.reply(&format!("250 {host}"));
            }
            "STARTTLS" => {
                if self.tls {
                    self.error("554 5.5.1 Error: TLS already active");
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error("502 5.5.1 Error: command not implemented");
                } else if let Some(refusal) = self.starttls_refusal("") {
                    self.error(&refusal);
                } else if !arg.is_empty() {
                    self.error("501 5.5.4 Syntax: STARTTLS");
                } else if !self.session.greeted {
                    self.error(&format!("503 5.5.1 Error: send {hello} first"));
                } else {
                    self.go_ahead("220 2.0.0 Ready to start TLS", rest);
                }
            }
            "NOOP" => self.reply("250 2.0.0 OK"),
            "RSET" => {
                self.session.mail_from = None;
                self.session.recipients.clear();
                self.reply("250 2.0.0 OK");
            }
            "QUIT" => {
                self.reply("221 2.0.0 Bye");
                self.close(CloseReason::Quit);
            }
            "MAIL" => {
                if !self.session.greeted {
                    self.error(&format!("503 5.5.1 Error: send {hello} first"));
                } else if self.session.mail_from.is_some() {
                    self.error("503 5.5.1 Error: nested MAIL command");
                } else if let Some(path) = parse_path(&arg, "FROM:") {
                    self.session.mail_from = Some(path);
                    self.reply("250 2.1.0 OK");
                } else {
                    self.error("501 5.5.4 Syntax: MAIL FROM:<address>");
                }
            }
            "RCPT" => {
                if self.session.mail_from.is_none() {
                    self.error("503 5.5.1 Error: need MAIL command");
                } else if self.session.recipients.len() >= MAX_RECIPIENTS {
                    self.error("452 4.5.3 Error: too many recipients");
                } else if let Some(path) = parse_path(&arg, "TO:") {
                    self.session.recipients.push(path);
                    self.reply("250 2.1.5 OK");
                } else {
                    self.error("501 5.5.4 Syntax: RCPT TO:<address>");
                }
            }
            "DATA" => {
                if self.session.recipients.is_empty() {
                    self.error("503 5.5.1 Error: need RCPT command");
                } else {
                    self.session.data = Some(MailData {
                        previous_crlf: true,
                        ..MailData::default()
                    });
                    self.reply("354 End data with <CR><LF>.<CR><LF>");
                }
            }
            // HELP and VRFY answer positively because some clients (curl without an upload)
            // issue them after the upgrade.
            "HELP" => self.reply("214 2.0.0 streamsocket mock, see RFC 5321"),
            "VRFY" if arg.is_empty() => self.error("501 5.5.4 Syntax: VRFY address"),
            "VRFY" => self.reply("252 2.0.0 Cannot VRFY user, but will accept message"),
            "EXPN" | "AUTH" | "BDAT" => {
                self.error("502 5.5.1 Error: command not implemented");
            }
            _ => self.error("500 5.5.2 Error: command not recognized"),
        }
    }

    fn smtp_data_line(&mut self, line: &Line) {
        let Some(data) = self.session.data.as_mut() else {
            return;
        };
        // Only <CR><LF>.<CR><LF> ends the message: a bare LF around the dot does not (SMTP
        // smuggling).
        if line.bytes == b"." && line.crlf && data.previous_crlf {
            let data = self.session.data.take().unwrap_or_default();
            let from = self.session.mail_from.take().unwrap_or_default();
            let to = std::mem::take(&mut self.session.recipients);
            // LMTP answers once per accepted recipient (RFC 2033 section 4.2), SMTP once.
            let replies = if self.dialect == Dialect::Lmtp {
                to.len()
            } else {
                1
            };
            if data.overflow {
                for _ in 1..replies {
                    self.reply("552 5.3.4 Error: message too big");
                }
                self.error("552 5.3.4 Error: message too big");
            } else {
                for _ in 0..replies {
                    self.reply("250 2.0.0 OK queued");
                }
                self.events.push_back(ServerEvent::Mail {
                    from,
                    to,
                    data: data.bytes,
                });
            }
            return;
        }
        data.previous_crlf = line.crlf;
        // Dot-unstuffing (RFC 5321 section 4.5.2).
        let bytes = line.bytes.strip_prefix(b".").unwrap_or(&line.bytes);
        if data.overflow || data.bytes.len() + bytes.len() + 2 > MAX_MAIL_LEN {
            data.overflow = true;
            data.bytes = Vec::new();
        } else {
            data.bytes.extend_from_slice(bytes);
            data.bytes.extend_from_slice(b"\r\n");
        }
    }
}

/// Parses `FROM:<path> params` (or `TO:`): the path without its angle brackets.
fn parse_path(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let path = arg.get(keyword.len()..)?.trim_start().strip_prefix('<')?;
    let end = path.find('>')?;
    Some(path.get(..end)?.to_owned())
}
