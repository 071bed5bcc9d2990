//! The server side of the dialects: the mock server's protocol logic, honest or hostile.

use std::collections::VecDeque;

use super::line::{Line, LineReader};

mod ftp;
mod imap;
mod irc;
mod mysql;
mod nntp;
mod pop3;
mod postgres;
mod sieve;
mod smtp;
use super::mysql::{MAX_MYSQL_PACKET_LEN, PacketReader};
use super::{DEFAULT_MAX_LINE_LEN, Dialect};
use crate::codec::{DEFAULT_MAX_FRAME_LEN, FRAME_LEN_CEILING, FrameCodec, FrameError};

pub use postgres::{MAX_STARTUP_PACKET, POSTGRES_ALPN};

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
    /// Does not advertise STARTTLS and answers it as an unknown command (MySQL: the greeting
    /// lacks `CLIENT_SSL`, and an SSLRequest is a bad handshake).
    StartTlsNotAdvertised,
    /// Advertises STARTTLS but answers it with this refusal.
    StartTlsRefused(Refusal),
    /// Accepts STARTTLS and refuses everything but the upgrade and the session basics in
    /// plaintext (SMTP 530, IMAP NO and LOGINDISABLED, POP3 -ERR, MySQL's ERR 3159 to a
    /// plaintext login).
    TlsRequired,
    /// Accepts STARTTLS and appends these bytes after the go-ahead in the same write (response
    /// injection; `Framed`: when the ClientHello starts; `Mysql`: after the greeting, which is
    /// all its client waits for; `Implicit`: before TLS). ManageSieve: the capabilities owed
    /// inside TLS are withheld, so that only the planted bytes could prompt a client to speak
    /// first there.
    ResponseInjection(Vec<u8>),
    /// IMAP: greets with PREAUTH (STARTTLS is then not allowed). Other dialects: as `Honest`.
    Preauth,
}

/// How a server that advertises STARTTLS refuses it: each code a real server answers with, and
/// a reply that is no reply of the dialect at all. None of them is a go-ahead: a client that
/// demanded TLS must stop (saying only its goodbye), whatever the words.
#[derive(Clone, Copy, Debug, Default, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Refusal {
    /// SMTP `454` (RFC 3207: "TLS not available due to temporary reason"), IMAP `NO`, POP3
    /// `-ERR`; MySQL has no answer to an SSLRequest but the handshake, so its server refuses
    /// with an ERR packet for greeting (1040, too many connections).
    #[default]
    Temporary,
    /// The command is refused as malformed: SMTP `501` (RFC 3207's answer to a STARTTLS with
    /// parameters), IMAP `BAD`. POP3 has one negative answer, so this is SMTP and IMAP only.
    Syntax,
    /// SMTP `554`, refused for good. SMTP only: IMAP and POP3 have no separate permanent code.
    Permanent,
    /// A line with no reply code, tag or status indicator: what a client that only looks for an
    /// error code might take for a go-ahead (MySQL: a greeting packet of no protocol version).
    Nonsense,
}

impl Refusal {
    /// Every refusal.
    pub const ALL: [Self; 4] = [
        Self::Temporary,
        Self::Syntax,
        Self::Permanent,
        Self::Nonsense,
    ];

    /// Whether `dialect` has this refusal as an answer of its own (STARTTLS dialects only).
    pub fn applies_to(self, dialect: Dialect) -> bool {
        match self {
            Self::Temporary | Self::Nonsense => dialect.has_go_ahead() || dialect == Dialect::Mysql,
            Self::Syntax => matches!(
                dialect,
                Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp | Dialect::Imap | Dialect::Nntp
            ),
            // ManageSieve has only NO and BYE (RFC 5804 section 1.2): Temporary is its refusal.
            // PostgreSQL: a server older than SSL support answers an ErrorResponse.
            Self::Permanent => {
                dialect.is_smtp_like()
                    || matches!(dialect, Dialect::Ftp | Dialect::Nntp | Dialect::Postgres)
            }
        }
    }

    /// The answer to STARTTLS in `dialect` (`tag` is the IMAP command's tag, or the IRC server's
    /// name), without the line terminator (PostgreSQL: the answer byte to the SSLRequest);
    /// `None` for a dialect without STARTTLS.
    pub fn reply(self, dialect: Dialect, tag: &str) -> Option<String> {
        let line = match (dialect, self) {
            (Dialect::Smtp | Dialect::Lmtp, Self::Temporary) => {
                "454 4.7.0 TLS not available due to temporary reason".to_owned()
            }
            (Dialect::Smtp | Dialect::Lmtp, Self::Syntax) => {
                "501 5.5.4 Syntax error in parameters".to_owned()
            }
            (Dialect::Smtp | Dialect::Lmtp, Self::Permanent) => {
                "554 5.7.3 TLS not available".to_owned()
            }
            (Dialect::Imap, Self::Temporary | Self::Permanent) => {
                format!("{tag} NO TLS not available")
            }
            (Dialect::Imap, Self::Syntax) => {
                format!("{tag} BAD command unknown or arguments invalid")
            }
            // RFC 4642 section 2.2.1: 580 when TLS cannot start, 502 when it is not allowed.
            (Dialect::Nntp, Self::Temporary) => "580 Can not initiate TLS negotiation".to_owned(),
            (Dialect::Nntp, Self::Syntax) => "501 Syntax error".to_owned(),
            (Dialect::Nntp, Self::Permanent) => "502 Command unavailable".to_owned(),
            // RFC 2228: 431 "need some unavailable resource", 504 "command not implemented for
            // that parameter", 534 "request denied for policy reasons".
            (Dialect::Ftp, Self::Temporary) => "431 Unable to accept security mechanism".to_owned(),
            (Dialect::Ftp, Self::Syntax) => "504 Security mechanism not understood".to_owned(),
            (Dialect::Ftp, Self::Permanent) => "534 Request denied for policy reasons".to_owned(),
            (Dialect::Pop3, Self::Temporary | Self::Syntax | Self::Permanent) => {
                "-ERR TLS not available".to_owned()
            }
            // IRCv3 tls: 691 is the one failure numeric; `tag` is the server name.
            (Dialect::Irc, Self::Temporary | Self::Syntax | Self::Permanent) => {
                format!(":{tag} 691 * :STARTTLS failure")
            }
            // RFC 5804 section 1.3: TRYLATER, a temporary failure.
            (Dialect::Sieve, Self::Temporary | Self::Syntax | Self::Permanent) => {
                r#"NO (TRYLATER) "TLS not available""#.to_owned()
            }
            // PostgreSQL answers one byte: `N`, or `E` that begins an ErrorResponse.
            (Dialect::Postgres, Self::Temporary | Self::Syntax) => "N".to_owned(),
            (Dialect::Postgres, Self::Permanent) => "E".to_owned(),
            // Neither `S` nor `N`: what a client that only looks for `N` takes for a go-ahead.
            (Dialect::Postgres, Self::Nonsense) => "Y".to_owned(),
            (
                Dialect::Ftp
                | Dialect::Irc
                | Dialect::Smtp
                | Dialect::Lmtp
                | Dialect::Imap
                | Dialect::Nntp
                | Dialect::Pop3
                | Dialect::Sieve,
                Self::Nonsense,
            ) => "Ready when you are".to_owned(),
            // MySQL refuses with its greeting (`server/mysql.rs`), never with a line.
            (Dialect::Framed | Dialect::Implicit | Dialect::Mysql, _) => return None,
        };
        Some(line)
    }

    /// The kebab-case name (`temporary`, `syntax`, `permanent`, `nonsense`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Temporary => "temporary",
            Self::Syntax => "syntax",
            Self::Permanent => "permanent",
            Self::Nonsense => "nonsense",
        }
    }
}

/// Settings of a [`ServerMachine`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ServerSettings {
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

impl Default for ServerSettings {
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
    /// PostgreSQL: a FATAL ErrorResponse ended the session (a malformed or unsupported startup
    /// packet, a plaintext StartupMessage where TLS is required, an unknown message type), or
    /// a direct TLS connection without the ALPN protocol `postgresql` was closed.
    Fatal,
    /// MySQL: the connection phase ended in an ERR packet (a refusing greeting, a packet out
    /// of order, a bad handshake, a plaintext login to a server that requires TLS).
    HandshakeRejected,
}

impl CloseReason {
    /// Every reason, in declaration order.
    pub const ALL: [Self; 10] = [
        Self::Quit,
        Self::TooManyErrors,
        Self::LineTooLong,
        Self::FrameTooLong,
        Self::InjectionRejected,
        Self::Eof,
        Self::TlsPrefixTooLong,
        Self::InvalidUtf8Frame,
        Self::Fatal,
        Self::HandshakeRejected,
    ];

    /// The reason of a [`name`](Self::name), for readers of logs that serialise it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

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
            Self::Fatal => "fatal",
            Self::HandshakeRejected => "handshake-rejected",
        }
    }
}

/// The server side of a dialect, sans-IO.
#[derive(Debug)]
pub struct ServerMachine {
    dialect: Dialect,
    config: ServerSettings,
    codec: FrameCodec,
    reader: LineReader,
    /// MySQL: the packet being read.
    packets: PacketReader,
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
    /// PostgreSQL: the packet or message being read.
    postgres: postgres::Packets,
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
    /// IMAP, POP3: authenticated (IMAP PREAUTH, LOGIN; POP3 PASS); MySQL: a HandshakeResponse41
    /// accepted, so that packets are commands.
    authenticated: bool,
    /// POP3 `USER`, NNTP `AUTHINFO USER`, FTP and IRC `USER` given.
    pop_user: bool,
    /// IRC: the nickname of `NICK`.
    irc_nick: Option<String>,
    /// IRC: `CAP LS` seen and no `CAP END` yet (registration waits, IRCv3).
    irc_cap: bool,
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
    pub fn new(dialect: Dialect, config: ServerSettings) -> Self {
        // Below the ceiling, so the codec always accepts it.
        let codec =
            FrameCodec::new(config.max_frame_len.min(FRAME_LEN_CEILING - 1)).unwrap_or_default();
        let mut machine = Self {
            dialect,
            reader: LineReader::new(config.max_line_len),
            packets: PacketReader::new(MAX_MYSQL_PACKET_LEN),
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
            postgres: postgres::Packets::default(),
        };
        let host = machine.config.hostname.clone();
        match dialect {
            // The client speaks first, in each of them.
            Dialect::Framed | Dialect::Postgres => {}
            Dialect::Implicit => machine.start_tls_now(),
            Dialect::Ftp => machine.reply(&format!("220 {host} FTP streamsocket mock ready")),
            // IRC has no greeting: the client speaks first.
            Dialect::Irc => {}
            Dialect::Smtp => machine.reply(&format!("220 {host} ESMTP streamsocket mock ready")),
            Dialect::Lmtp => machine.reply(&format!("220 {host} LMTP streamsocket mock ready")),
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
            // 200, posting allowed, not 201 (RFC 3977 section 5.1.1): gnutls-cli's STARTTLS
            // waits for "200 " and nothing else. POST is then refused with 440.
            Dialect::Nntp => machine.reply(&format!("200 {host} NNTP streamsocket mock ready")),
            Dialect::Mysql => machine.mysql_greet(),
            // RFC 5804 section 1.7: the greeting is the capability response.
            Dialect::Sieve => {
                machine.sieve_capabilities();
                machine.reply(&format!(
                    r#"OK "{host} ManageSieve streamsocket mock ready""#
                ));
            }
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
            if self.dialect == Dialect::Postgres {
                let consumed = self.postgres_input(rest);
                rest = rest.get(consumed..).unwrap_or_default();
            } else if self.dialect.is_line_based() {
                let (consumed, line) = self.reader.feed(rest);
                rest = rest.get(consumed..).unwrap_or_default();
                match line {
                    None => {}
                    Some(Err(_)) => self.line_too_long(),
                    Some(Ok(line)) => self.handle_line(&line, rest.len()),
                }
            } else if self.dialect == Dialect::Mysql {
                let consumed = self.mysql_feed(rest);
                rest = rest.get(consumed..).unwrap_or_default();
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
        super::take_pending(&mut self.outbox)
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
        self.packets.clear();
        self.frame.clear();
        self.tls_prefix.clear();
        if self.dialect == Dialect::Postgres {
            self.postgres = self.postgres.inside_tls();
        }
        // RFC 5804 section 2.2: the capabilities again, unasked, as the first protected bytes;
        // but not after planting capabilities in plaintext, which then stand in for them: a
        // client that took the planted ones speaks first inside TLS, one that did not waits.
        let planted = matches!(self.config.behaviour, ServerBehaviour::ResponseInjection(_));
        if self.dialect == Dialect::Sieve && !planted {
            self.sieve_capabilities();
            self.reply(r#"OK "TLS negotiation successful""#);
        }
        let replay = std::mem::take(&mut self.replay);
        if !replay.is_empty() {
            self.handle_input(&replay);
        }
    }

    /// Bytes already read that belong to the TLS handshake: `Framed` and PostgreSQL's direct
    /// TLS, from the `0x16` byte on; `Mysql`, what followed the SSLRequest when it starts with
    /// `0x16`; `Implicit`, everything fed before TLS. Empty for the line dialects (an honest client
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
            + self.packets.buffered_len()
            + self.frame.len()
            + self.tls_prefix.len()
            + self.replay.len()
            + self.postgres.buffered_len()
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

    /// The dialect's goodbye for a graceful shutdown or a connection cap: SMTP and FTP 421, IMAP
    /// `* BYE`, POP3 `-ERR`, MySQL an ERR packet (1053, shutdown in progress) at sequence 0, as a
    /// greeting; `None` for `Framed` and `Implicit`.
    pub fn shutdown_message(&self) -> Option<Vec<u8>> {
        let host = &self.config.hostname;
        let message = match self.dialect {
            Dialect::Smtp | Dialect::Lmtp => format!("421 4.3.2 {host} service shutting down\r\n"),
            Dialect::Imap => "* BYE server shutting down\r\n".to_owned(),
            Dialect::Pop3 => "-ERR server shutting down\r\n".to_owned(),
            Dialect::Nntp => "400 server shutting down\r\n".to_owned(),
            Dialect::Sieve => "BYE \"server shutting down\"\r\n".to_owned(),
            Dialect::Postgres => {
                return Some(postgres::error_response(
                    "FATAL",
                    "57P01",
                    "terminating connection due to administrator command",
                ));
            }
            Dialect::Ftp => "421 Service shutting down\r\n".to_owned(),
            Dialect::Irc => "ERROR :Closing link (server shutting down)\r\n".to_owned(),
            Dialect::Mysql => return Some(Self::mysql_shutdown_message()),
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
        self.packets.clear();
        self.frame.clear();
        self.replay.clear();
        self.tls_prefix.clear();
        self.postgres.clear();
        self.session.data = None;
        self.events.push_back(ServerEvent::Close(reason));
    }

    /// An error reply: counts towards `max_errors`.
    fn error(&mut self, line: &str) {
        self.reply(line);
        self.errors = self.errors.saturating_add(1);
        if self.errors >= self.config.max_errors {
            let message = match self.dialect {
                Dialect::Smtp | Dialect::Lmtp => {
                    format!("421 4.7.0 {} too many errors", self.config.hostname)
                }
                Dialect::Imap => "* BYE too many errors".to_owned(),
                Dialect::Pop3 => "-ERR too many errors".to_owned(),
                Dialect::Nntp => "400 too many errors".to_owned(),
                Dialect::Sieve => r#"BYE "too many errors""#.to_owned(),
                Dialect::Ftp => "421 Too many errors, closing control connection".to_owned(),
                Dialect::Irc => "ERROR :Closing link (too many errors)".to_owned(),
                Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {
                    String::new()
                }
            };
            if !message.is_empty() {
                self.reply(&message);
            }
            self.close(CloseReason::TooManyErrors);
        }
    }

    fn line_too_long(&mut self) {
        let message = match self.dialect {
            Dialect::Smtp | Dialect::Lmtp => "500 5.5.0 line too long",
            Dialect::Imap => "* BYE line too long",
            Dialect::Nntp => "400 line too long",
            Dialect::Sieve => r#"BYE "line too long""#,
            Dialect::Ftp => "421 Line too long, closing control connection",
            Dialect::Irc => "ERROR :Closing link (line too long)",
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

    /// The answer to STARTTLS when the behaviour refuses it (`tag`: the IMAP command's tag).
    fn starttls_refusal(&self, tag: &str) -> Option<String> {
        if let ServerBehaviour::StartTlsRefused(refusal) = self.config.behaviour {
            refusal.reply(self.dialect, tag)
        } else {
            None
        }
    }

    fn start_tls_now(&mut self) {
        if let ServerBehaviour::ResponseInjection(bytes) = &self.config.behaviour
            && self.dialect != Dialect::Mysql
        {
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
                Dialect::Smtp | Dialect::Lmtp => {
                    format!(
                        "421 4.7.0 {} data after STARTTLS rejected",
                        self.config.hostname
                    )
                }
                Dialect::Imap => "* BYE data after STARTTLS rejected".to_owned(),
                Dialect::Nntp => "400 data after STARTTLS rejected".to_owned(),
                Dialect::Sieve => r#"BYE "data after STARTTLS rejected""#.to_owned(),
                Dialect::Ftp => "421 Data after AUTH TLS rejected".to_owned(),
                Dialect::Irc => "ERROR :Closing link (data after STARTTLS rejected)".to_owned(),
                _ => "-ERR data after STARTTLS rejected".to_owned(),
            };
            self.reply(&message);
            self.close(CloseReason::InjectionRejected);
            return;
        }
        self.reply(message);
        self.start_tls_now();
    }

    /// Bytes between the go-ahead and the handshake: the start of the ClientHello, or plaintext
    /// that meets the injection policy.
    fn handle_after_go_ahead(&mut self, data: &[u8]) {
        let handshake = if self.dialect == Dialect::Mysql {
            self.mysql_handshake_bytes(data)
        } else {
            // Framed, Implicit and PostgreSQL's direct TLS: these bytes are the ClientHello.
            !self.dialect.has_go_ahead() || self.postgres.is_direct()
        };
        if !handshake {
            self.meet_injection_policy(data);
        } else if self.tls_prefix.len() + data.len() > MAX_TLS_PREFIX {
            self.close(CloseReason::TlsPrefixTooLong);
        } else {
            self.tls_prefix.extend_from_slice(data);
        }
    }

    /// Plaintext that came where only the handshake may: discarded and counted, refused with a
    /// close, or (`Vulnerable`) kept to be processed inside TLS, at most [`MAX_TLS_PREFIX`].
    fn meet_injection_policy(&mut self, data: &[u8]) {
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
            Dialect::Smtp | Dialect::Lmtp => self.smtp_line(line, rest),
            Dialect::Imap => self.imap_line(&line.text(), rest),
            Dialect::Pop3 => self.pop3_line(&line.text(), rest),
            Dialect::Nntp => self.nntp_line(&line.text(), rest),
            Dialect::Sieve => self.sieve_line(&line.text(), rest),
            Dialect::Ftp => self.ftp_line(&line.text(), rest),
            Dialect::Irc => self.irc_line(&line.text(), rest),
            Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {}
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
