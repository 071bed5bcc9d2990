//! The server side of the dialects: the mock server's protocol logic, honest or hostile.

use std::collections::VecDeque;

use super::line::{Line, LineReader};
use super::{DEFAULT_MAX_LINE_LEN, Dialect};
use crate::codec::{DEFAULT_MAX_FRAME_LEN, FRAME_LEN_CEILING, FrameCodec, FrameError};

/// The largest SMTP message body kept in memory; longer messages are refused with 552.
pub const MAX_MAIL_LEN: usize = 1 << 20;

/// The most recipients one SMTP transaction accepts.
pub const MAX_RECIPIENTS: usize = 100;

/// The most bytes kept between the go-ahead and the TLS handshake (a ClientHello prefix, or the
/// bytes a `Vulnerable` server replays).
pub const MAX_TLS_PREFIX: usize = 64 * 1024;

/// The first byte of a TLS handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// What the server does with bytes that arrive after the STARTTLS command and before TLS.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum InjectionPolicy {
    /// Drop and count them (Postfix style); the upgrade goes on.
    #[default]
    Discard,
    /// Refuse the upgrade and close the connection.
    Reject,
    /// CVE-2011-0411: process them as commands after TLS, as if they had been protected.
    /// Deliberately insecure; exists only to test other tools' detection of it.
    Vulnerable,
}

/// How the mock server behaves towards STARTTLS.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub enum ServerBehaviour {
    /// Advertises and accepts STARTTLS.
    #[default]
    Honest,
    /// Does not advertise STARTTLS and answers it as an unknown command.
    StartTlsNotAdvertised,
    /// Advertises STARTTLS but refuses it (SMTP 454, IMAP NO, POP3 -ERR).
    StartTlsRefused,
    /// Accepts STARTTLS and refuses everything but the upgrade and the session basics in
    /// plaintext (SMTP 530, IMAP NO and LOGINDISABLED, POP3 -ERR).
    TlsRequired,
    /// Accepts STARTTLS and appends these bytes after the go-ahead in the same write (response
    /// injection; `Framed`: when the ClientHello starts; `Implicit`: before TLS).
    ResponseInjection(Vec<u8>),
    /// IMAP: greets with PREAUTH (STARTTLS is then not allowed). Other dialects: as `Honest`.
    Preauth,
}

/// Settings of a [`ServerMachine`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ServerConfig {
    /// The name the server greets with (default `localhost`).
    pub hostname: String,
    /// How the server treats STARTTLS (default honest).
    pub behaviour: ServerBehaviour,
    /// What happens to bytes after the STARTTLS command (default: discard and count).
    pub injection_policy: InjectionPolicy,
    /// The longest command (or SMTP text) line accepted, terminator included (default 2048).
    /// RFC 5321 requires at least 512 octets for commands and 1000 for text lines; smaller
    /// limits are for tests.
    pub max_line_len: usize,
    /// The largest frame accepted (`Framed`, `Implicit`; default 1 MiB; capped below
    /// `0x16000000`).
    pub max_frame_len: u32,
    /// The error reply that closes the connection: the `max_errors`-th one is followed by the
    /// dialect's goodbye and the close, so `max_errors - 1` are tolerated (default 20).
    pub max_errors: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            hostname: "localhost".to_owned(),
            behaviour: ServerBehaviour::Honest,
            injection_policy: InjectionPolicy::Discard,
            max_line_len: DEFAULT_MAX_LINE_LEN,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            max_errors: 20,
        }
    }
}

/// What a [`ServerMachine`] tells its driver.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum ServerEvent {
    /// Write all pending transmit first, then accept TLS, feeding
    /// [`ServerMachine::take_tls_prefix`] to it first.
    StartTls,
    /// `Framed`/`Implicit`: a frame was received. Before TLS it is recorded only (never
    /// answered); inside TLS it is also echoed through `poll_transmit`.
    Frame(String),
    /// SMTP: a message was accepted.
    Mail {
        /// The reverse path (empty for the null sender).
        from: String,
        /// The forward paths.
        to: Vec<String>,
        /// The message, dot-unstuffed, with CRLF line ends.
        data: Vec<u8>,
    },
    /// Write the pending transmit (the dialect's error, if any), then close.
    Close(CloseReason),
}

/// Why the server closes the connection.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum CloseReason {
    /// The client said QUIT or LOGOUT.
    Quit,
    /// The client's errors reached `max_errors`.
    TooManyErrors,
    /// A command line was longer than `max_line_len`.
    LineTooLong,
    /// A frame declared a length above `max_frame_len`.
    FrameTooLong,
    /// Bytes followed the STARTTLS command and the policy is `Reject`.
    InjectionRejected,
    /// The client closed the connection.
    Eof,
    /// More than [`MAX_TLS_PREFIX`] bytes came after the go-ahead before the handshake began
    /// (Framed and Implicit keep them as the start of the ClientHello).
    TlsPrefixTooLong,
    /// A Framed frame was not valid UTF-8.
    InvalidUtf8Frame,
}

impl CloseReason {
    /// A stable kebab-case name (`quit`, `line-too-long`, ...), for logs and reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Quit => "quit",
            Self::TooManyErrors => "too-many-errors",
            Self::LineTooLong => "line-too-long",
            Self::FrameTooLong => "frame-too-long",
            Self::InjectionRejected => "injection-rejected",
            Self::Eof => "eof",
            Self::TlsPrefixTooLong => "tls-prefix-too-long",
            Self::InvalidUtf8Frame => "invalid-utf8-frame",
        }
    }
}

/// The server side of a dialect, sans-IO.
#[derive(Debug)]
pub struct ServerMachine {
    dialect: Dialect,
    config: ServerConfig,
    codec: FrameCodec,
    reader: LineReader,
    /// The bytes of the frame being read (Framed, Implicit after TLS), never beyond its end.
    frame: Vec<u8>,
    phase: Phase,
    /// TLS has been established (stays true once closed).
    tls: bool,
    session: Session,
    errors: u32,
    tls_prefix: Vec<u8>,
    replay: Vec<u8>,
    injected_discarded: usize,
    outbox: Vec<u8>,
    events: VecDeque<ServerEvent>,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Phase {
    Plain,
    AwaitingTls,
    Tls,
    Closed,
}

/// Everything that is forgotten when TLS starts.
#[derive(Debug, Default)]
struct Session {
    /// SMTP: EHLO or HELO seen.
    greeted: bool,
    mail_from: Option<String>,
    recipients: Vec<String>,
    data: Option<MailData>,
    /// IMAP, POP3: authenticated (IMAP PREAUTH, LOGIN; POP3 PASS).
    authenticated: bool,
    pop_user: bool,
}

#[derive(Debug, Default)]
struct MailData {
    bytes: Vec<u8>,
    overflow: bool,
    previous_crlf: bool,
}

impl ServerMachine {
    /// A machine for `dialect`; queues the greeting (none for `Framed`, `Implicit`: the latter
    /// emits [`ServerEvent::StartTls`] at once).
    pub fn new(dialect: Dialect, config: ServerConfig) -> Self {
        // Below the ceiling, so the codec always accepts it.
        let codec =
            FrameCodec::new(config.max_frame_len.min(FRAME_LEN_CEILING - 1)).unwrap_or_default();
        let mut machine = Self {
            dialect,
            reader: LineReader::new(config.max_line_len),
            codec,
            config,
            frame: Vec::new(),
            phase: Phase::Plain,
            tls: false,
            session: Session::default(),
            errors: 0,
            tls_prefix: Vec::new(),
            replay: Vec::new(),
            injected_discarded: 0,
            outbox: Vec::new(),
            events: VecDeque::new(),
        };
        let host = machine.config.hostname.clone();
        match dialect {
            Dialect::Framed => {}
            Dialect::Implicit => machine.start_tls_now(),
            Dialect::Smtp => machine.reply(&format!("220 {host} ESMTP streamsocket mock ready")),
            Dialect::Imap => {
                if machine.config.behaviour == ServerBehaviour::Preauth {
                    machine.session.authenticated = true;
                    let caps = machine.imap_capabilities();
                    machine.reply(&format!("* PREAUTH [CAPABILITY {caps}] {host} logged in"));
                } else {
                    let caps = machine.imap_capabilities();
                    machine.reply(&format!(
                        "* OK [CAPABILITY {caps}] {host} IMAP4rev1 mock ready"
                    ));
                }
            }
            Dialect::Pop3 => machine.reply(&format!("+OK {host} POP3 mock ready")),
        }
        machine
    }

    /// The dialect this machine speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Feeds bytes from the client: plaintext before TLS, decrypted bytes after.
    pub fn handle_input(&mut self, data: &[u8]) {
        let mut rest = data;
        while !rest.is_empty() {
            match self.phase {
                Phase::Closed => return,
                Phase::AwaitingTls => {
                    self.handle_after_go_ahead(rest);
                    return;
                }
                Phase::Plain | Phase::Tls => {}
            }
            if self.dialect.is_line_based() {
                let (consumed, line) = self.reader.feed(rest);
                rest = rest.get(consumed..).unwrap_or_default();
                match line {
                    None => {}
                    Some(Err(_)) => self.line_too_long(),
                    Some(Ok(line)) => self.handle_line(&line, rest.len()),
                }
            } else {
                let consumed = self.feed_frames(rest);
                rest = rest.get(consumed..).unwrap_or_default();
            }
        }
    }

    /// The client closed the connection.
    pub fn handle_eof(&mut self) {
        if self.phase != Phase::Closed {
            self.close(CloseReason::Eof);
        }
    }

    /// Bytes to write now: plaintext before TLS, to be encrypted after.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        if self.outbox.is_empty() {
            None
        } else {
            Some(std::mem::take(&mut self.outbox))
        }
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// The TLS handshake completed: the session starts over (RFC 3207 section 4.2: no
    /// greeting, EHLO needed again, nothing learnt in plaintext kept). A `Vulnerable` server
    /// now processes the bytes it kept from after the STARTTLS command.
    ///
    /// Ignored unless [`ServerEvent::StartTls`] was emitted and the machine is not closed.
    pub fn handle_tls_established(&mut self) {
        if self.phase != Phase::AwaitingTls {
            return;
        }
        self.phase = Phase::Tls;
        self.tls = true;
        self.session = Session::default();
        self.reader.clear();
        self.frame.clear();
        self.tls_prefix.clear();
        let replay = std::mem::take(&mut self.replay);
        if !replay.is_empty() {
            self.handle_input(&replay);
        }
    }

    /// Bytes already read that belong to the TLS handshake: `Framed`, from the `0x16` byte on;
    /// `Implicit`, everything fed before TLS. Empty for the line dialects (an honest client
    /// waits for the go-ahead before its ClientHello).
    pub fn take_tls_prefix(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.tls_prefix)
    }

    /// Whether TLS has been established.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Bytes held in input buffers (partial line or frame, TLS prefix, kept injection, SMTP
    /// message being received), for memory-bound assertions.
    pub fn buffered_len(&self) -> usize {
        self.reader.buffered_len()
            + self.frame.len()
            + self.tls_prefix.len()
            + self.replay.len()
            + self
                .session
                .data
                .as_ref()
                .map_or(0, |data| data.bytes.len())
    }

    /// How many bytes after a STARTTLS command were discarded (policy `Discard`).
    pub fn injected_discarded(&self) -> usize {
        self.injected_discarded
    }

    /// The dialect's goodbye for a graceful shutdown or a connection cap: SMTP 421, IMAP
    /// `* BYE`, POP3 `-ERR`; `None` for `Framed` and `Implicit`.
    pub fn shutdown_message(&self) -> Option<Vec<u8>> {
        let host = &self.config.hostname;
        let message = match self.dialect {
            Dialect::Smtp => format!("421 4.3.2 {host} service shutting down\r\n"),
            Dialect::Imap => "* BYE server shutting down\r\n".to_owned(),
            Dialect::Pop3 => "-ERR server shutting down\r\n".to_owned(),
            Dialect::Framed | Dialect::Implicit => return None,
        };
        Some(message.into_bytes())
    }

    // ---- plumbing ----

    fn reply(&mut self, line: &str) {
        self.outbox.extend_from_slice(line.as_bytes());
        self.outbox.extend_from_slice(b"\r\n");
    }

    fn close(&mut self, reason: CloseReason) {
        self.phase = Phase::Closed;
        self.reader.clear();
        self.frame.clear();
        self.replay.clear();
        self.tls_prefix.clear();
        self.session.data = None;
        self.events.push_back(ServerEvent::Close(reason));
    }

    /// An error reply: counts towards `max_errors`.
    fn error(&mut self, line: &str) {
        self.reply(line);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.max_errors {
            let message = match self.dialect {
                Dialect::Smtp => format!("421 4.7.0 {} too many errors", self.config.hostname),
                Dialect::Imap => "* BYE too many errors".to_owned(),
                Dialect::Pop3 => "-ERR too many errors".to_owned(),
                Dialect::Framed | Dialect::Implicit => String::new(),
            };
            if !message.is_empty() {
                self.reply(&message);
            }
            self.close(CloseReason::TooManyErrors);
        }
    }

    fn line_too_long(&mut self) {
        let message = match self.dialect {
            Dialect::Smtp => "500 5.5.0 line too long",
            Dialect::Imap => "* BYE line too long",
            _ => "-ERR line too long",
        };
        self.reply(message);
        self.close(CloseReason::LineTooLong);
    }

    fn tls_required_block(&self) -> bool {
        self.config.behaviour == ServerBehaviour::TlsRequired && !self.tls
    }

    fn advertises_starttls(&self) -> bool {
        !self.tls && self.config.behaviour != ServerBehaviour::StartTlsNotAdvertised
    }

    fn start_tls_now(&mut self) {
        if let ServerBehaviour::ResponseInjection(bytes) = &self.config.behaviour {
            self.outbox.extend_from_slice(bytes);
        }
        self.phase = Phase::AwaitingTls;
        self.reader.clear();
        self.events.push_back(ServerEvent::StartTls);
    }

    /// The STARTTLS command was accepted; `rest` bytes follow it in the current input.
    fn go_ahead(&mut self, message: &str, rest: usize) {
        if rest > 0 && self.config.injection_policy == InjectionPolicy::Reject {
            let message = match self.dialect {
                Dialect::Smtp => {
                    format!(
                        "421 4.7.0 {} data after STARTTLS rejected",
                        self.config.hostname
                    )
                }
                Dialect::Imap => "* BYE data after STARTTLS rejected".to_owned(),
                _ => "-ERR data after STARTTLS rejected".to_owned(),
            };
            self.reply(&message);
            self.close(CloseReason::InjectionRejected);
            return;
        }
        self.reply(message);
        self.start_tls_now();
    }

    /// Bytes between the go-ahead and the handshake.
    fn handle_after_go_ahead(&mut self, data: &[u8]) {
        if !self.dialect.is_line_based() {
            // Framed and Implicit: these bytes are the ClientHello.
            if self.tls_prefix.len() + data.len() > MAX_TLS_PREFIX {
                self.close(CloseReason::TlsPrefixTooLong);
            } else {
                self.tls_prefix.extend_from_slice(data);
            }
            return;
        }
        match self.config.injection_policy {
            InjectionPolicy::Discard => {
                self.injected_discarded = self.injected_discarded.saturating_add(data.len());
            }
            InjectionPolicy::Reject => self.close(CloseReason::InjectionRejected),
            InjectionPolicy::Vulnerable => {
                let room = MAX_TLS_PREFIX.saturating_sub(self.replay.len());
                let kept = data.get(..room.min(data.len())).unwrap_or_default();
                self.replay.extend_from_slice(kept);
            }
        }
    }

    // ---- Framed and Implicit ----

    /// Consumes bytes of frames from `input`, never beyond the end of the current frame;
    /// returns how many were consumed. The codec decides the frame's length and validity.
    fn feed_frames(&mut self, input: &[u8]) -> usize {
        if self.frame.is_empty()
            && self.phase == Phase::Plain
            && input.first() == Some(&TLS_HANDSHAKE)
        {
            // A ClientHello, not a frame: every legitimate frame starts below 0x16.
            self.start_tls_now();
            return 0;
        }
        let take = match self.codec.missing(&self.frame) {
            Ok(missing) => missing.min(input.len()),
            Err(e) => return self.frame_error(&e, input.len()),
        };
        self.frame
            .extend_from_slice(input.get(..take).unwrap_or_default());
        match self.codec.decode(&self.frame) {
            Ok(None) => take,
            Ok(Some((_, text))) => {
                self.frame.clear();
                if self.phase == Phase::Tls
                    && let Err(e) = self.codec.encode(&text, &mut self.outbox)
                {
                    return self.frame_error(&e, input.len());
                }
                self.events.push_back(ServerEvent::Frame(text));
                take
            }
            Err(e) => self.frame_error(&e, input.len()),
        }
    }

    /// Closes on a frame the codec refused; everything in `input` counts as consumed.
    fn frame_error(&mut self, error: &FrameError, input_len: usize) -> usize {
        self.close(match error {
            FrameError::InvalidUtf8 => CloseReason::InvalidUtf8Frame,
            FrameError::TooLong { .. } | FrameError::LimitTooHigh(_) => CloseReason::FrameTooLong,
        });
        input_len
    }

    // ---- line dialects ----

    fn handle_line(&mut self, line: &Line, rest: usize) {
        match self.dialect {
            Dialect::Smtp => self.smtp_line(line, rest),
            Dialect::Imap => self.imap_line(&line.text(), rest),
            Dialect::Pop3 => self.pop3_line(&line.text(), rest),
            Dialect::Framed | Dialect::Implicit => {}
        }
    }

    fn smtp_line(&mut self, line: &Line, rest: usize) {
        if self.session.data.is_some() {
            self.smtp_data_line(line);
            return;
        }
        let text = line.text();
        let (verb, arg) = split_command(&text);
        let host = self.config.hostname.clone();
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
            "EHLO" | "HELO" if arg.is_empty() => self.error("501 5.5.4 Syntax: EHLO hostname"),
            // The EHLO argument is echoed in the reply: a control character (a bare CR, say)
            // would end up inside a reply line.
            "EHLO" | "HELO" if arg.chars().any(char::is_control) => {
                self.error("501 5.5.4 Syntax: EHLO hostname");
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
                } else if self.config.behaviour == ServerBehaviour::StartTlsRefused {
                    self.error("454 4.7.0 TLS not available due to temporary reason");
                } else if !arg.is_empty() {
                    self.error("501 5.5.4 Syntax: STARTTLS");
                } else if !self.session.greeted {
                    self.error("503 5.5.1 Error: send HELO/EHLO first");
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
                    self.error("503 5.5.1 Error: send HELO/EHLO first");
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
            if data.overflow {
                self.error("552 5.3.4 Error: message too big");
            } else {
                self.reply("250 2.0.0 OK queued");
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

    fn imap_capabilities(&self) -> String {
        let mut caps = vec!["IMAP4rev1"];
        if self.advertises_starttls() && !self.session.authenticated {
            caps.push("STARTTLS");
        }
        if self.tls_required_block() {
            caps.push("LOGINDISABLED");
        }
        caps.join(" ")
    }

    fn imap_line(&mut self, text: &str, rest: usize) {
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
                } else if self.config.behaviour == ServerBehaviour::StartTlsRefused {
                    self.error(&format!("{tag} NO TLS not available"));
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

    fn pop3_line(&mut self, text: &str, rest: usize) {
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
                } else if self.config.behaviour == ServerBehaviour::StartTlsRefused {
                    self.error("-ERR TLS not available");
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

/// Splits `VERB args` into the upper-cased verb and the trimmed arguments.
fn split_command(text: &str) -> (String, String) {
    let text = text.trim_start();
    match text.split_once(' ') {
        Some((verb, arg)) => (verb.to_ascii_uppercase(), arg.trim().to_owned()),
        None => (text.trim_end().to_ascii_uppercase(), String::new()),
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
