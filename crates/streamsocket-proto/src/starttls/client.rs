//! The client side of the dialects: asks for the upgrade and refuses to go on in plaintext.

use std::collections::VecDeque;

mod ftp;
mod irc;
pub(crate) use ftp::offers_auth_tls;
pub(crate) use irc::offers_tls;
mod mysql;
mod nntp;
mod postgres;
mod sieve;

use super::ehlo::EhloName;
use super::line::{Line, LineReader};
use super::mysql::{MAX_MYSQL_PACKET_LEN, PacketReader};
use super::{DEFAULT_MAX_LINE_LEN, Dialect, MAX_REPLY_LINES};
use crate::reply::looks_like_tls;

pub(crate) use postgres::SSL_REQUEST;

/// Settings of a [`ClientMachine`].
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct ClientSettings {
    /// The name the SMTP (LMTP) client sends with EHLO (LHLO) (default `localhost`): a type that holds only a
    /// domain or an address literal, so no command can be injected through it.
    pub ehlo_name: EhloName,
    /// The longest reply line accepted, terminator included (default 2048). RFC 5321 requires
    /// at least 512 octets for replies; smaller limits are for tests.
    pub max_line_len: usize,
    /// Whether a failure before TLS sends QUIT (SMTP, POP3, NNTP, FTP) or LOGOUT (IMAP,
    /// ManageSieve) (default true).
    pub quit_on_failure: bool,
}

impl Default for ClientSettings {
    fn default() -> Self {
        Self {
            ehlo_name: EhloName::default(),
            max_line_len: DEFAULT_MAX_LINE_LEN,
            quit_on_failure: true,
        }
    }
}

/// What a [`ClientMachine`] tells its driver.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum ClientEvent {
    /// The go-ahead was read and nothing else is buffered: write what `poll_transmit` holds
    /// (MySQL's SSLRequest, which asks for TLS without waiting for an answer; the other dialects
    /// have nothing pending), then begin the TLS handshake.
    StartTls,
    /// After TLS: the fresh capability list is complete (`Framed`, `Implicit`: at once, empty).
    /// The machine is finished; the connection belongs to the application.
    Ready {
        /// The capabilities the server announced inside TLS.
        capabilities: Vec<String>,
    },
    /// Terminal failure; afterwards `poll_transmit` yields at most a QUIT or LOGOUT.
    Failed(ClientFailure),
}

/// Why a client could not (safely) upgrade. Every variant is terminal: the client never goes on
/// in plaintext.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum ClientFailure {
    /// The server did not advertise STARTTLS (SMTP, IMAP), STLS (POP3), AUTH TLS (FTP), the
    /// `tls` capability (IRC) or `CLIENT_SSL` (MySQL, whose capabilities are then the names of
    /// the greeting's flags).
    #[error("the server does not offer STARTTLS (capabilities: {capabilities:?})")]
    NotOffered {
        /// The capabilities the server did announce.
        capabilities: Vec<String>,
    },
    /// The server refused: a 4xx/5xx SMTP reply, IMAP NO or BAD, POP3 -ERR, an FTP reply to
    /// AUTH TLS other than 234, a MySQL ERR packet instead of the greeting.
    #[error("the server refused: {reply}")]
    Refused {
        /// The reply line(s), joined with `\n`.
        reply: String,
    },
    /// The IMAP server greeted with PREAUTH: the session is authenticated in plaintext and
    /// STARTTLS is no longer allowed (RFC 3501 section 6.2.1).
    #[error("the imap server pre-authenticated the plaintext session: {greeting}")]
    Preauth {
        /// The greeting line.
        greeting: String,
    },
    /// Bytes were already buffered after the go-ahead: response injection (the server, or a
    /// man in the middle, sent data that would be taken as coming from inside TLS).
    #[error("{bytes} plaintext bytes arrived after the go-ahead (response injection)")]
    PlaintextAfterGoAhead {
        /// How many bytes were buffered.
        bytes: usize,
    },
    /// An unparsable reply, an over-long line, an unexpected tag, a BYE, ...
    #[error("protocol error: {reason}")]
    Protocol {
        /// What went wrong.
        reason: String,
    },
    /// The connection closed before the exchange was complete.
    #[error("the connection closed before the upgrade completed")]
    Closed,
    /// A TLS record came where the greeting was due: the port speaks TLS at once. Nothing is
    /// sent in answer, not even a goodbye, so as not to talk plaintext to a TLS server.
    #[error("a tls record arrived where the greeting was due")]
    TlsInsteadOfGreeting,
}

/// The client side of a dialect, sans-IO.
///
/// Feed it the bytes the server sends ([`handle_input`](Self::handle_input)), send what
/// [`poll_transmit`](Self::poll_transmit) returns, and act on
/// [`poll_event`](Self::poll_event): on [`ClientEvent::StartTls`] hand the connection to TLS,
/// then call [`handle_tls_established`](Self::handle_tls_established) and go on feeding the
/// decrypted bytes until [`ClientEvent::Ready`].
///
/// ```
/// use streamsocket_proto::starttls::{ClientSettings, ClientEvent, ClientMachine, Dialect};
///
/// let mut client = ClientMachine::new(Dialect::Smtp, ClientSettings::default());
/// client.handle_input(b"220 mx.example ESMTP\r\n");
/// assert_eq!(client.poll_transmit().as_deref(), Some(&b"EHLO localhost\r\n"[..]));
/// client.handle_input(b"250-mx.example\r\n250 STARTTLS\r\n");
/// assert_eq!(client.poll_transmit().as_deref(), Some(&b"STARTTLS\r\n"[..]));
/// client.handle_input(b"220 2.0.0 go ahead\r\n");
/// assert_eq!(client.poll_event(), Some(ClientEvent::StartTls));
/// // ... the TLS handshake runs on the same connection ...
/// client.handle_tls_established();
/// assert_eq!(client.poll_transmit().as_deref(), Some(&b"EHLO localhost\r\n"[..]));
/// client.handle_input(b"250 mx.example\r\n");
/// assert_eq!(client.poll_event(), Some(ClientEvent::Ready { capabilities: vec![] }));
/// ```
#[derive(Debug)]
pub struct ClientMachine {
    dialect: Dialect,
    config: ClientSettings,
    reader: LineReader,
    /// MySQL: the greeting packet being read.
    packets: PacketReader,
    phase: Phase,
    /// Lines of a multi-line reply or list being collected.
    pending: Vec<String>,
    /// POP3: inside a dot-terminated CAPA list.
    in_list: bool,
    capabilities: Vec<String>,
    outbox: Vec<u8>,
    events: VecDeque<ClientEvent>,
    /// Bytes fed after `Ready`: the application's, see [`ClientMachine::take_leftover`].
    leftover: Vec<u8>,
}

#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum Phase {
    Greeting,
    Capabilities,
    StartTlsSent,
    AwaitingTls,
    PostTls,
    Ready,
    Failed,
}

const IMAP_CAPABILITY_TAG: &str = "A1";
const IMAP_STARTTLS_TAG: &str = "A2";
const IMAP_POST_TLS_TAG: &str = "A3";

impl ClientMachine {
    /// A machine for `dialect`. `Framed` and `Implicit` emit [`ClientEvent::StartTls`] at once.
    pub fn new(dialect: Dialect, config: ClientSettings) -> Self {
        let mut machine = Self {
            dialect,
            reader: LineReader::new(config.max_line_len),
            packets: PacketReader::new(MAX_MYSQL_PACKET_LEN),
            config,
            phase: Phase::Greeting,
            pending: Vec::new(),
            in_list: false,
            capabilities: Vec::new(),
            outbox: Vec::new(),
            events: VecDeque::new(),
            leftover: Vec::new(),
        };
        // MySQL is binary but waits for the server's greeting, as the line dialects do.
        if dialect == Dialect::Postgres {
            machine.postgres_start();
        } else if !dialect.is_line_based() && dialect != Dialect::Mysql {
            machine.phase = Phase::AwaitingTls;
            machine.events.push_back(ClientEvent::StartTls);
        }
        if dialect == Dialect::Irc {
            // IRC has no greeting: the client speaks first (IRCv3 capability negotiation).
            machine.send(irc::CAP_LS);
        }
        machine
    }

    /// The dialect this machine speaks.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Feeds bytes from the server: plaintext before TLS, decrypted bytes after.
    ///
    /// Bytes that follow the reply completing [`ClientEvent::Ready`] (in the same call or
    /// later) are not the machine's: they are kept for the application, see
    /// [`take_leftover`](Self::take_leftover). After [`ClientEvent::Failed`] input is ignored.
    pub fn handle_input(&mut self, data: &[u8]) {
        if self.dialect == Dialect::Mysql {
            self.mysql_input(data);
            return;
        }
        let mut rest = data;
        while !rest.is_empty() {
            let tls_first =
                self.phase == Phase::Greeting && starts_like_tls(self.reader.buffered(), rest);
            if self.gate_input(rest, self.reader.buffered_len(), tls_first) {
                return;
            }
            if self.phase == Phase::StartTlsSent && self.dialect == Dialect::Postgres {
                self.postgres_answer(rest);
                return;
            }
            let (consumed, line) = self.reader.feed(rest);
            rest = rest.get(consumed..).unwrap_or_default();
            match line {
                None => {}
                Some(Err(_)) => {
                    let reason =
                        format!("reply line longer than {} bytes", self.config.max_line_len);
                    self.fail(ClientFailure::Protocol { reason }, true);
                }
                Some(Ok(line)) => self.handle_line(&line, rest.len()),
            }
        }
    }

    /// What the phase alone makes of input, before any dialect reads it: kept for the
    /// application after `Ready`, ignored after `Failed`, and a failure when it is plaintext
    /// after the go-ahead (`buffered` bytes were already held) or a TLS record where the
    /// greeting was due (`tls_first`). `true` when the input is dealt with.
    pub(super) fn gate_input(&mut self, rest: &[u8], buffered: usize, tls_first: bool) -> bool {
        match self.phase {
            Phase::Ready => {
                self.leftover.extend_from_slice(rest);
                true
            }
            Phase::Failed => true,
            Phase::AwaitingTls => {
                // Anything the server sends between the go-ahead (or, in MySQL, the SSLRequest)
                // and the handshake would be read as if it came from inside TLS.
                let bytes = rest.len() + buffered;
                self.fail(ClientFailure::PlaintextAfterGoAhead { bytes }, false);
                true
            }
            Phase::Greeting if tls_first => {
                self.fail(ClientFailure::TlsInsteadOfGreeting, false);
                true
            }
            _ => false,
        }
    }

    /// The server closed the connection.
    pub fn handle_eof(&mut self) {
        if !matches!(self.phase, Phase::Ready | Phase::Failed) {
            self.fail(ClientFailure::Closed, false);
        }
    }

    /// Bytes to write now: plaintext before TLS, to be encrypted after.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        super::take_pending(&mut self.outbox)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// The TLS handshake completed: forget everything learnt in plaintext and ask for the
    /// capabilities again (EHLO, tagged CAPABILITY, CAPA, FEAT); `Framed` and `Implicit` are
    /// ready at once.
    ///
    /// Calling it at any other time than after [`ClientEvent::StartTls`] fails the machine.
    pub fn handle_tls_established(&mut self) {
        match self.phase {
            Phase::AwaitingTls => {}
            Phase::Failed => return,
            _ => {
                let reason = "tls established before the go-ahead".to_owned();
                self.fail(ClientFailure::Protocol { reason }, false);
                return;
            }
        }
        self.reader.clear();
        self.packets.clear();
        self.pending.clear();
        self.in_list = false;
        self.capabilities.clear();
        match self.dialect {
            // MySQL: the HandshakeResponse41 that follows inside TLS is the application's.
            Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {
                self.phase = Phase::Ready;
                self.events.push_back(ClientEvent::Ready {
                    capabilities: Vec::new(),
                });
            }
            Dialect::Smtp | Dialect::Lmtp => {
                self.phase = Phase::PostTls;
                self.send_hello();
            }
            Dialect::Imap => {
                self.phase = Phase::PostTls;
                self.send(&format!("{IMAP_POST_TLS_TAG} CAPABILITY"));
            }
            Dialect::Pop3 => {
                self.phase = Phase::PostTls;
                self.send("CAPA");
            }
            Dialect::Nntp => {
                self.phase = Phase::PostTls;
                self.send("CAPABILITIES");
            }
            Dialect::Postgres => self.postgres_ready(),
            Dialect::Ftp => {
                self.phase = Phase::PostTls;
                self.send("FEAT");
            }
            Dialect::Irc => {
                self.phase = Phase::PostTls;
                self.send(irc::CAP_LS);
            }
            // RFC 5804 section 2.2: the server sends the capabilities unasked.
            Dialect::Sieve => self.phase = Phase::PostTls,
        }
    }

    /// Takes the bytes fed after [`ClientEvent::Ready`]: application data that arrived together
    /// with the end of the post-TLS exchange (an IMAP server's unsolicited untagged response,
    /// say). A driver hands them to the application before anything it reads later. Empty
    /// before `Ready`; bytes buffered before a failure are never kept.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.leftover)
    }

    /// The latest capability list (the post-TLS list once ready).
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// Whether `Ready` or `Failed` has been reached.
    pub fn is_finished(&self) -> bool {
        matches!(self.phase, Phase::Ready | Phase::Failed)
    }

    /// SMTP's `EHLO` or LMTP's `LHLO` (RFC 2033 section 4.1), with the EHLO name.
    fn send_hello(&mut self) {
        let verb = if self.dialect == Dialect::Lmtp {
            "LHLO"
        } else {
            "EHLO"
        };
        self.send(&format!("{verb} {}", self.config.ehlo_name));
    }

    fn send(&mut self, command: &str) {
        self.outbox.extend_from_slice(command.as_bytes());
        self.outbox.extend_from_slice(b"\r\n");
    }

    fn fail(&mut self, failure: ClientFailure, say_goodbye: bool) {
        self.phase = Phase::Failed;
        // Nothing queued before the failure may leave: only the goodbye.
        self.outbox.clear();
        self.reader.clear();
        self.packets.clear();
        self.pending.clear();
        if say_goodbye && self.config.quit_on_failure {
            match self.dialect {
                Dialect::Ftp
                | Dialect::Irc
                | Dialect::Smtp
                | Dialect::Lmtp
                | Dialect::Nntp
                | Dialect::Pop3 => {
                    self.send("QUIT");
                }
                Dialect::Imap => self.send("A4 LOGOUT"),
                Dialect::Sieve => self.send("LOGOUT"),
                // Terminate exists only after a StartupMessage: before one, the client closes.
                Dialect::Postgres => {}
                // MySQL's connection phase has no goodbye: the client just closes.
                Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {}
            }
        }
        self.events.push_back(ClientEvent::Failed(failure));
    }

    fn protocol(&mut self, reason: impl Into<String>) {
        self.fail(
            ClientFailure::Protocol {
                reason: reason.into(),
            },
            true,
        );
    }

    /// The go-ahead was read; `rest` bytes follow it in the current input.
    fn go_ahead(&mut self, rest: usize) {
        let bytes = rest + self.reader.buffered_len();
        if bytes > 0 {
            self.fail(ClientFailure::PlaintextAfterGoAhead { bytes }, false);
            return;
        }
        self.phase = Phase::AwaitingTls;
        self.events.push_back(ClientEvent::StartTls);
    }

    fn handle_line(&mut self, line: &Line, rest: usize) {
        let text = line.text();
        match self.dialect {
            Dialect::Smtp | Dialect::Lmtp => self.smtp_line(text, rest),
            Dialect::Imap => self.imap_line(text, rest),
            Dialect::Pop3 => self.pop3_line(text, rest),
            Dialect::Nntp => self.nntp_line(text, rest),
            Dialect::Sieve => self.sieve_line(text, rest),
            Dialect::Ftp => self.ftp_line(text, rest),
            Dialect::Irc => self.irc_line(text, rest),
            Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {}
        }
    }

    fn smtp_line(&mut self, text: String, rest: usize) {
        let Some((code, more)) = parse_smtp_reply(&text) else {
            self.protocol(format!("unparsable smtp reply {text:?}"));
            return;
        };
        if let Some(first) = self.pending.first()
            && first.get(..3) != text.get(..3)
        {
            self.protocol(format!("smtp reply code changed within a reply: {text:?}"));
            return;
        }
        self.pending.push(text);
        if more {
            if self.pending.len() > MAX_REPLY_LINES {
                self.protocol("smtp reply has too many lines");
            }
            return;
        }
        let reply = std::mem::take(&mut self.pending);
        match (self.phase, code) {
            (Phase::Greeting, 220) => {
                self.phase = Phase::Capabilities;
                self.send_hello();
            }
            (Phase::Capabilities | Phase::PostTls, 250) => {
                let capabilities: Vec<String> = reply
                    .iter()
                    .skip(1)
                    .map(|line| line.get(4..).unwrap_or_default().to_owned())
                    .collect();
                self.capabilities = capabilities.clone();
                if self.phase == Phase::PostTls {
                    self.phase = Phase::Ready;
                    self.events.push_back(ClientEvent::Ready { capabilities });
                } else if has_capability(&capabilities, "STARTTLS") {
                    self.phase = Phase::StartTlsSent;
                    self.send("STARTTLS");
                } else {
                    self.fail(ClientFailure::NotOffered { capabilities }, true);
                }
            }
            (Phase::StartTlsSent, 220) => self.go_ahead(rest),
            _ => self.fail(
                ClientFailure::Refused {
                    reply: reply.join("\n"),
                },
                true,
            ),
        }
    }

    fn imap_line(&mut self, text: String, rest: usize) {
        let (tag, status, remainder) = split_imap_response(&text);
        if self.phase == Phase::Greeting {
            match (tag, status.to_ascii_uppercase().as_str()) {
                ("*", "OK") => {
                    let capabilities = response_code_capabilities(remainder);
                    if has_capability(&capabilities, "STARTTLS") {
                        self.capabilities = capabilities;
                        self.phase = Phase::StartTlsSent;
                        self.send(&format!("{IMAP_STARTTLS_TAG} STARTTLS"));
                    } else {
                        self.phase = Phase::Capabilities;
                        self.send(&format!("{IMAP_CAPABILITY_TAG} CAPABILITY"));
                    }
                }
                ("*", "PREAUTH") => self.fail(ClientFailure::Preauth { greeting: text }, true),
                ("*", "BYE") => {
                    let reason = format!("server said bye: {text}");
                    self.fail(ClientFailure::Protocol { reason }, false);
                }
                _ => self.protocol(format!("unparsable imap greeting {text:?}")),
            }
            return;
        }
        if tag == "*" {
            let status = status.to_ascii_uppercase();
            if status == "BYE" {
                let reason = format!("server said bye: {text}");
                self.fail(ClientFailure::Protocol { reason }, false);
            } else if status == "CAPABILITY"
                && matches!(self.phase, Phase::Capabilities | Phase::PostTls)
            {
                if self.pending.len() >= MAX_REPLY_LINES {
                    self.protocol("too many capabilities");
                    return;
                }
                self.pending
                    .extend(remainder.split_ascii_whitespace().map(str::to_owned));
            }
            // Other untagged data is allowed and ignored.
            return;
        }
        let expected = match self.phase {
            Phase::Capabilities => IMAP_CAPABILITY_TAG,
            Phase::StartTlsSent => IMAP_STARTTLS_TAG,
            Phase::PostTls => IMAP_POST_TLS_TAG,
            _ => "",
        };
        if tag != expected {
            self.protocol(format!("unexpected imap response {text:?}"));
            return;
        }
        if !status.eq_ignore_ascii_case("OK") {
            if status.eq_ignore_ascii_case("NO") || status.eq_ignore_ascii_case("BAD") {
                self.fail(ClientFailure::Refused { reply: text }, true);
            } else {
                self.protocol(format!("unparsable imap response {text:?}"));
            }
            return;
        }
        match self.phase {
            Phase::Capabilities => {
                let capabilities = std::mem::take(&mut self.pending);
                self.capabilities = capabilities.clone();
                if has_capability(&capabilities, "STARTTLS") {
                    self.phase = Phase::StartTlsSent;
                    self.send(&format!("{IMAP_STARTTLS_TAG} STARTTLS"));
                } else {
                    self.fail(ClientFailure::NotOffered { capabilities }, true);
                }
            }
            Phase::StartTlsSent => self.go_ahead(rest),
            Phase::PostTls => {
                let capabilities = std::mem::take(&mut self.pending);
                self.capabilities = capabilities.clone();
                self.phase = Phase::Ready;
                self.events.push_back(ClientEvent::Ready { capabilities });
            }
            _ => {}
        }
    }

    /// A line of a dot-terminated capability list (POP3 CAPA, NNTP CAPABILITIES): collected,
    /// dot-unstuffed, until the lone dot; then ready (inside TLS), or `command` is sent when
    /// `capability` is listed, or the upgrade is not offered.
    fn list_line(&mut self, text: &str, capability: &str, command: &str) {
        if text == "." {
            self.in_list = false;
            let capabilities = std::mem::take(&mut self.pending);
            self.capabilities = capabilities.clone();
            if self.phase == Phase::PostTls {
                self.phase = Phase::Ready;
                self.events.push_back(ClientEvent::Ready { capabilities });
            } else if has_capability(&capabilities, capability) {
                self.phase = Phase::StartTlsSent;
                self.send(command);
            } else {
                self.fail(ClientFailure::NotOffered { capabilities }, true);
            }
        } else if self.pending.len() >= MAX_REPLY_LINES {
            self.protocol("capability list has too many lines");
        } else {
            // Dot-unstuffing (RFC 1939 section 3, RFC 3977 section 3.1.1).
            let line = text.strip_prefix('.').unwrap_or(text);
            self.pending.push(line.to_owned());
        }
    }

    fn pop3_line(&mut self, text: String, rest: usize) {
        if self.in_list {
            self.list_line(&text, "STLS", "STLS");
            return;
        }
        let positive = if is_pop3_status(&text, "+OK") {
            true
        } else if is_pop3_status(&text, "-ERR") {
            false
        } else {
            self.protocol(format!("unparsable pop3 reply {text:?}"));
            return;
        };
        match (self.phase, positive) {
            (Phase::Greeting, true) => {
                self.phase = Phase::Capabilities;
                self.send("CAPA");
            }
            (Phase::Capabilities | Phase::PostTls, true) => self.in_list = true,
            (Phase::Capabilities, false) => {
                // No CAPA, hence no way to know STLS is offered (RFC 2595 section 4).
                self.fail(
                    ClientFailure::NotOffered {
                        capabilities: Vec::new(),
                    },
                    true,
                );
            }
            (Phase::StartTlsSent, true) => self.go_ahead(rest),
            _ => self.fail(ClientFailure::Refused { reply: text }, true),
        }
    }
}

/// Whether the first two bytes of a greeting, those `held` from earlier input and then
/// `rest`, are a TLS record header. Decided once two bytes are there, however the input is
/// split: `false` when two were held already (they were not one, or the greeting would have
/// failed then).
pub(super) fn starts_like_tls(held: &[u8], rest: &[u8]) -> bool {
    if held.len() >= 2 {
        return false;
    }
    let mut head = [0u8; 2];
    let mut filled = 0;
    for (slot, &byte) in head.iter_mut().zip(held.iter().chain(rest)) {
        *slot = byte;
        filled += 1;
    }
    filled == 2 && looks_like_tls(&head)
}

/// Parses `NNN`, `NNN text` or `NNN-text`: the code and whether more lines follow.
fn parse_smtp_reply(line: &str) -> Option<(u16, bool)> {
    let bytes = line.as_bytes();
    let digits = bytes.get(..3)?;
    if !digits.iter().all(u8::is_ascii_digit)
        || !digits.first().is_some_and(|d| (b'2'..=b'5').contains(d))
    {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    match bytes.get(3) {
        None | Some(b' ') => Some((code, false)),
        Some(b'-') => Some((code, true)),
        Some(_) => None,
    }
}

/// Splits an IMAP response line into tag, status (or untagged keyword) and the rest.
fn split_imap_response(line: &str) -> (&str, &str, &str) {
    let mut parts = line.splitn(3, ' ');
    let tag = parts.next().unwrap_or_default();
    let status = parts.next().unwrap_or_default();
    let rest = parts.next().unwrap_or_default();
    (tag, status, rest)
}

/// The capabilities of a `[CAPABILITY ...]` response code at the start of `text`, if any.
fn response_code_capabilities(text: &str) -> Vec<String> {
    let Some(code) = text.trim_start().strip_prefix('[') else {
        return Vec::new();
    };
    let Some(end) = code.find(']') else {
        return Vec::new();
    };
    let mut words = code.get(..end).unwrap_or_default().split_ascii_whitespace();
    match words.next() {
        Some(first) if first.eq_ignore_ascii_case("CAPABILITY") => {
            words.take(MAX_REPLY_LINES).map(str::to_owned).collect()
        }
        _ => Vec::new(),
    }
}

/// Whether `name` is a capability (compared case-insensitively on the first word).
pub(crate) fn has_capability(capabilities: &[String], name: &str) -> bool {
    capabilities.iter().any(|cap| {
        cap.split_ascii_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(name))
    })
}

/// Whether a POP3 reply begins with the status indicator `status`, as a whole word: alone or
/// followed by a space (RFC 1939 section 3), so `+OKAY` is no `+OK`.
fn is_pop3_status(text: &str, status: &str) -> bool {
    starts_with_ignore_case(text, status)
        && matches!(text.as_bytes().get(status.len()), None | Some(b' '))
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}
