//! FTP's control connection (RFC 959, `FEAT` by RFC 2389, `AUTH TLS` by RFC 4217): the feature
//! list, the upgrade, `PBSZ` and `PROT` inside TLS, `USER` and `PASS` so that there is a session
//! to forget, and no data connections.

use super::{CloseReason, ServerBehaviour, ServerMachine, split_command};

impl ServerMachine {
    pub(super) fn ftp_line(&mut self, text: &str, rest: usize) {
        let (verb, arg) = split_command(text);
        // RFC 4217 section 4.2: a server that wants a secured session refuses the login until
        // it is secured, with RFC 2228's 534 ("request denied for policy reasons"); the other
        // commands need a login and meet RFC 959's 530 below.
        if self.tls_required_block() && matches!(verb.as_str(), "USER" | "PASS" | "ACCT") {
            self.error("534 Policy requires AUTH TLS before login");
            return;
        }
        match verb.as_str() {
            "FEAT" => {
                self.reply("211-Features:");
                // Not inside TLS, nor after login (the mock refuses AUTH then).
                if self.advertises_starttls() && !self.session.authenticated {
                    self.reply(" AUTH TLS");
                }
                // RFC 4217 section 6: PBSZ and PROT are listed with AUTH.
                self.reply(" PBSZ");
                self.reply(" PROT");
                self.reply(" UTF8");
                self.reply("211 End");
            }
            "AUTH" => {
                if self.tls {
                    self.error("503 TLS already active");
                } else if self.config.behaviour == ServerBehaviour::StartTlsNotAdvertised {
                    self.error("502 Command not implemented");
                } else if let Some(refusal) = self.starttls_refusal("") {
                    self.error(&refusal);
                } else if self.session.authenticated {
                    self.error("503 AUTH not allowed after login");
                } else if arg.is_empty() {
                    self.error("501 Syntax error in parameters or arguments");
                } else if !arg.eq_ignore_ascii_case("TLS") {
                    // RFC 2228: 504 for a mechanism the server does not know.
                    self.error("504 Security mechanism not understood");
                } else {
                    self.go_ahead("234 Proceed with negotiation", rest);
                }
            }
            // RFC 4217 sections 8 and 9: PBSZ 0, then PROT, both only once TLS protects the
            // control connection (503 before).
            "PBSZ" | "PROT" if !self.tls => self.error("503 Security data exchange not complete"),
            "PBSZ" if arg == "0" => self.reply("200 PBSZ=0"),
            "PBSZ" => self.error("501 PBSZ must be 0"),
            "PROT" if arg.eq_ignore_ascii_case("P") || arg.eq_ignore_ascii_case("C") => {
                self.reply("200 Protection level set");
            }
            "PROT" => self.error("504 Protection level not supported"),
            "USER" => {
                if self.session.authenticated {
                    self.error("503 Already logged in");
                } else if arg.is_empty() {
                    self.error("501 Syntax error in parameters or arguments");
                } else {
                    self.session.pop_user = true;
                    self.reply("331 Password required");
                }
            }
            "PASS" => {
                if self.session.authenticated {
                    self.error("503 Already logged in");
                } else if !self.session.pop_user {
                    self.error("503 Login with USER first");
                } else {
                    self.session.authenticated = true;
                    self.reply("230 Logged in");
                }
            }
            "ACCT" => self.reply("202 Command not needed"),
            "SYST" => self.reply("215 UNIX Type: L8"),
            "NOOP" => self.reply("200 NOOP ok"),
            "HELP" => self.reply("214 streamsocket mock, see RFC 959"),
            "OPTS" if arg.eq_ignore_ascii_case("UTF8 ON") => self.reply("200 UTF8 set to on"),
            "OPTS" => self.error("501 Option not understood"),
            "QUIT" => {
                self.reply("221 Goodbye");
                self.close(CloseReason::Quit);
            }
            "PWD" | "CWD" | "CDUP" | "TYPE" | "MODE" | "STRU" | "PASV" | "EPSV" | "PORT"
            | "EPRT" | "LIST" | "NLST" | "MLSD" | "MLST" | "RETR" | "STOR" | "SIZE" | "MDTM"
                if !self.session.authenticated =>
            {
                self.error("530 Please login with USER and PASS");
            }
            "PWD" => self.reply("257 \"/\" is the current directory"),
            "CWD" | "CDUP" => self.reply("250 Directory unchanged"),
            "TYPE" | "MODE" | "STRU" => self.reply("200 OK"),
            // The mock has no files and opens no data connection.
            "PASV" | "EPSV" | "PORT" | "EPRT" | "LIST" | "NLST" | "MLSD" | "MLST" | "RETR"
            | "STOR" | "SIZE" | "MDTM" => self.error("502 Command not implemented"),
            _ => self.error("500 Command not understood"),
        }
    }
}
