//! The server machine targets (`smtp_server`, `lmtp_server`, `nntp_server`, `sieve_server`, `ftp_server`, `irc_server`, `imap_server`, `pop3_server`, `framed_server`):
//! one observer that checks every call, and a fresh server brought to TLS honestly as the
//! reference inside TLS.

use streamsocket_proto::codec::{FRAME_LEN_CEILING, FrameCodec, HEADER_LEN};
use streamsocket_proto::starttls::{
    CloseReason, Dialect, InjectionPolicy, MAX_MAIL_LEN, MAX_TLS_PREFIX, Refusal, ServerBehaviour,
    ServerEvent, ServerMachine, ServerSettings,
};

use super::script::{Script, chunk_lens};

/// The bytes a `ResponseInjection` server appends after its go-ahead in the server targets.
pub const INJECTED_RESPONSE: &[u8] = b"250 injected\r\n";

/// `smtp_server`: the SMTP server machine fed client bytes split at random points.
pub fn smtp_server(data: &[u8]) {
    server(Dialect::Smtp, data);
}

/// `lmtp_server`: the LMTP server machine fed client bytes split at random points.
pub fn lmtp_server(data: &[u8]) {
    server(Dialect::Lmtp, data);
}

/// `nntp_server`: the NNTP server machine fed client bytes split at random points.
pub fn nntp_server(data: &[u8]) {
    server(Dialect::Nntp, data);
}

/// `ftp_server`: the FTP server machine fed client bytes split at random points.
pub fn ftp_server(data: &[u8]) {
    server(Dialect::Ftp, data);
}

/// `irc_server`: the IRC server machine fed client bytes split at random points.
pub fn irc_server(data: &[u8]) {
    server(Dialect::Irc, data);
}

/// `sieve_server`: the ManageSieve server machine fed client bytes split at random points.
pub fn sieve_server(data: &[u8]) {
    server(Dialect::Sieve, data);
}

/// `imap_server`: the IMAP server machine fed client bytes split at random points.
pub fn imap_server(data: &[u8]) {
    server(Dialect::Imap, data);
}

/// `pop3_server`: the POP3 server machine fed client bytes split at random points.
pub fn pop3_server(data: &[u8]) {
    server(Dialect::Pop3, data);
}

/// `framed_server`: the `Framed` server machine (behaviour bits `111`: `Implicit`).
pub fn framed_server(data: &[u8]) {
    let dialect = if data.first().is_some_and(|flags| (flags >> 2) & 7 == 7) {
        Dialect::Implicit
    } else {
        Dialect::Framed
    };
    server(dialect, data);
}

/// The server targets' flags (byte 0).
#[derive(Clone, Debug)]
pub struct ServerFlags {
    /// Bits 0-1: Discard, Reject, Vulnerable, Discard.
    pub policy: InjectionPolicy,
    /// Bits 2-4: Honest, StartTlsNotAdvertised, StartTlsRefused(Temporary), TlsRequired,
    /// ResponseInjection([`INJECTED_RESPONSE`]), Preauth, StartTlsRefused(Syntax),
    /// StartTlsRefused(Nonsense). `Permanent` is left out: in every dialect it is one more
    /// error line of the shape `Temporary` already gives.
    pub behaviour: ServerBehaviour,
    /// Bit 5: never call `handle_tls_established`.
    pub no_tls: bool,
    /// Bit 6: small limits (64-byte lines, 32-byte frames, 3 errors).
    pub small: bool,
    /// Bit 7: `handle_eof` after the last chunk.
    pub eof: bool,
}

impl ServerFlags {
    /// Decodes byte 0.
    pub fn new(flags: u8) -> Self {
        let policy = match flags & 3 {
            1 => InjectionPolicy::Reject,
            2 => InjectionPolicy::Vulnerable,
            _ => InjectionPolicy::Discard,
        };
        let behaviour = match (flags >> 2) & 7 {
            1 => ServerBehaviour::StartTlsNotAdvertised,
            2 => ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            3 => ServerBehaviour::TlsRequired,
            4 => ServerBehaviour::ResponseInjection(INJECTED_RESPONSE.to_vec()),
            5 => ServerBehaviour::Preauth,
            6 => ServerBehaviour::StartTlsRefused(Refusal::Syntax),
            7 => ServerBehaviour::StartTlsRefused(Refusal::Nonsense),
            _ => ServerBehaviour::Honest,
        };
        Self {
            policy,
            behaviour,
            no_tls: flags & 0x20 != 0,
            small: flags & 0x40 != 0,
            eof: flags & 0x80 != 0,
        }
    }

    /// The server configuration these flags describe.
    pub fn config(&self) -> ServerSettings {
        let mut config = ServerSettings {
            behaviour: self.behaviour.clone(),
            injection_policy: self.policy,
            ..ServerSettings::default()
        };
        if self.small {
            config.max_line_len = 64;
            config.max_frame_len = 32;
            config.max_errors = 3;
        }
        config
    }
}

/// Runs a server machine over a script and checks the server oracles:
///
/// - no panic; `buffered_len()` stays within the line (or frame) limit plus what the dialect
///   may legitimately hold (an SMTP message, bytes kept after the go-ahead);
/// - line replies are CRLF-terminated lines without a bare CR or LF;
/// - `StartTls` at most once and last in its read, with the go-ahead as the last reply; between
///   `StartTls` and TLS nothing is answered and nothing reported but the `Reject` close; after
///   `Close` nothing at all;
/// - after `handle_tls_established` nothing is answered on the server's own initiative unless
///   the policy is `Vulnerable` (nothing after STARTTLS is executed); `Framed` frames inside TLS
///   are echoed exactly;
/// - events and replies do not depend on how the stream is split (up to the go-ahead under
///   `Reject`);
/// - inside TLS the server behaves exactly like a fresh server brought to TLS by a minimal
///   honest client and fed the same protected bytes (unless `Vulnerable`, or errors were
///   counted in plaintext: the error limit is per connection).
pub fn server(dialect: Dialect, data: &[u8]) {
    let script = Script::parse(data);
    let flags = ServerFlags::new(script.flags);
    run_server(dialect, &flags, &script.chunks, !flags.no_tls);
    let split = run_server(dialect, &flags, &script.chunks, false);
    let whole = run_server(dialect, &flags, &[script.stream], false);
    if flags.policy == InjectionPolicy::Reject && dialect.is_line_based() {
        let cut = |events: &[ServerEvent]| {
            events
                .iter()
                .position(|event| {
                    matches!(
                        event,
                        ServerEvent::StartTls | ServerEvent::Close(CloseReason::InjectionRejected)
                    )
                })
                .unwrap_or(events.len())
        };
        let (a, b) = (cut(&split.events), cut(&whole.events));
        assert_eq!(
            split.events[..a],
            whole.events[..b],
            "events depend on the split {:?}",
            chunk_lens(&script)
        );
    } else {
        assert_eq!(
            split.events,
            whole.events,
            "events depend on the split {:?}",
            chunk_lens(&script)
        );
        assert_eq!(
            String::from_utf8_lossy(&split.sent),
            String::from_utf8_lossy(&whole.sent),
            "replies depend on the split {:?}",
            chunk_lens(&script)
        );
        assert_eq!(
            split.discarded, whole.discarded,
            "discarded count depends on the split"
        );
    }
}

/// What one server run produced.
#[derive(Debug, Default)]
struct ServerRun {
    events: Vec<ServerEvent>,
    sent: Vec<u8>,
    discarded: usize,
}

/// What the server observer knows.
struct ServerObserver {
    dialect: Dialect,
    config: ServerSettings,
    go_ahead: bool,
    tls: bool,
    closed: bool,
    /// Bytes fed after `StartTls` before TLS (a `Vulnerable` server may keep them).
    after_go_ahead: usize,
    run: ServerRun,
}

impl ServerObserver {
    fn step(&mut self, machine: &mut ServerMachine, chunk: Option<&[u8]>) {
        let transmit = machine.poll_transmit();
        assert_eq!(
            machine.poll_transmit(),
            None,
            "transmit not drained at once"
        );
        let was_closed = self.closed;
        let awaiting = self.go_ahead && !self.tls;
        let mut events = Vec::new();
        while let Some(event) = machine.poll_event() {
            events.push(event);
        }
        if was_closed {
            assert!(events.is_empty(), "events after close: {events:?}");
            assert_eq!(transmit, None, "replies after close");
        }
        let fed = chunk.map_or(0, <[u8]>::len);
        if awaiting {
            assert_eq!(transmit, None, "replied between StartTls and tls");
            self.after_go_ahead += fed;
        }
        let mut saw_start = false;
        for event in &events {
            assert!(!self.closed, "event after close: {event:?}");
            if awaiting || saw_start {
                // Between the go-ahead and TLS only a close may be reported.
                let allowed = match event {
                    ServerEvent::Close(CloseReason::InjectionRejected) => {
                        self.config.injection_policy == InjectionPolicy::Reject
                            && self.dialect.is_line_based()
                            && awaiting
                            && fed > 0
                    }
                    ServerEvent::Close(CloseReason::TlsPrefixTooLong) => {
                        !self.dialect.is_line_based()
                    }
                    ServerEvent::Close(CloseReason::Eof) => chunk.is_none(),
                    _ => false,
                };
                assert!(allowed, "{event:?} between StartTls and tls");
            }
            match event {
                ServerEvent::StartTls => {
                    assert!(!self.go_ahead, "second StartTls");
                    self.go_ahead = true;
                    saw_start = true;
                }
                ServerEvent::Close(reason) => {
                    self.closed = true;
                    match reason {
                        CloseReason::LineTooLong => assert!(self.dialect.is_line_based()),
                        CloseReason::FrameTooLong => assert!(!self.dialect.is_line_based()),
                        _ => {}
                    }
                }
                ServerEvent::Frame(_) => {
                    assert!(!self.dialect.is_line_based(), "frame from a line dialect");
                }
                ServerEvent::Mail { data, .. } => {
                    assert!(self.dialect.is_smtp_like(), "mail from a non-smtp dialect");
                    assert!(data.len() <= MAX_MAIL_LEN);
                }
            }
        }
        if saw_start {
            // A `Vulnerable` server keeps what followed STARTTLS in the same read.
            self.after_go_ahead += fed;
        }
        self.check_bound(machine);
        if let Some(bytes) = &transmit {
            self.check_replies(bytes, &events, saw_start);
            self.run.sent.extend_from_slice(bytes);
        }
        self.run.events.extend(events);
    }

    fn check_bound(&self, machine: &ServerMachine) {
        let kept = if self.dialect.is_line_based() {
            if self.config.injection_policy == InjectionPolicy::Vulnerable {
                self.after_go_ahead.min(MAX_TLS_PREFIX)
            } else {
                0
            }
        } else {
            MAX_TLS_PREFIX
        };
        let limit = if self.dialect.is_line_based() {
            self.config.max_line_len
        } else {
            (self.config.max_frame_len as usize).max(HEADER_LEN)
        };
        let mail = if self.dialect.is_smtp_like() {
            MAX_MAIL_LEN
        } else {
            0
        };
        let bound = limit + kept + mail;
        assert!(
            machine.buffered_len() <= bound,
            "server buffers {} bytes (bound {bound})",
            machine.buffered_len()
        );
    }

    fn check_replies(&self, bytes: &[u8], events: &[ServerEvent], saw_start: bool) {
        if !self.dialect.is_line_based() {
            // Inside TLS every frame is echoed; before TLS a framed server says nothing (the
            // response-injection bytes excepted).
            let mut echo = Vec::new();
            for event in events {
                if let ServerEvent::Frame(text) = event {
                    FrameCodec::new(self.config.max_frame_len.min(FRAME_LEN_CEILING - 1))
                        .expect("limit below the ceiling")
                        .encode(text, &mut echo)
                        .expect("a received frame fits");
                }
            }
            if !(self.tls && bytes == echo.as_slice()) {
                assert!(
                    saw_start && bytes == INJECTED_RESPONSE,
                    "framed server sent {bytes:?}"
                );
            }
            return;
        }
        let mut body = bytes;
        if saw_start && matches!(self.config.behaviour, ServerBehaviour::ResponseInjection(_)) {
            body = body
                .strip_suffix(INJECTED_RESPONSE)
                .expect("response injection appended after the go-ahead");
        }
        let text = String::from_utf8_lossy(body);
        assert!(text.ends_with("\r\n"), "unterminated reply {text:?}");
        let lines: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
        for line in &lines {
            assert!(
                !line.contains(['\r', '\n']),
                "reply line with a bare CR or LF: {line:?}"
            );
        }
        if saw_start {
            let last = lines.last().copied().unwrap_or_default();
            let go_ahead = match self.dialect {
                Dialect::Smtp | Dialect::Lmtp => last.starts_with("220 "),
                Dialect::Imap => last.split(' ').nth(1) == Some("OK"),
                Dialect::Nntp => last.starts_with("382 "),
                Dialect::Ftp => last.starts_with("234 "),
                Dialect::Irc => last.split(' ').nth(1) == Some("670"),
                Dialect::Sieve => last.starts_with("OK "),
                _ => last.starts_with("+OK"),
            };
            assert!(go_ahead, "StartTls without the go-ahead last: {last:?}");
        }
    }

    fn establish(&mut self, machine: &mut ServerMachine) {
        let prefix = machine.take_tls_prefix();
        match self.dialect {
            Dialect::Framed => assert_eq!(prefix.first(), Some(&0x16), "prefix {prefix:?}"),
            Dialect::Implicit => {}
            _ => assert!(prefix.is_empty(), "line dialect with a tls prefix"),
        }
        machine.handle_tls_established();
        self.tls = true;
        assert!(machine.is_tls());
        if self.config.injection_policy != InjectionPolicy::Vulnerable {
            let unasked = machine.poll_transmit();
            let planted = matches!(self.config.behaviour, ServerBehaviour::ResponseInjection(_));
            if self.dialect == Dialect::Sieve && planted {
                // The planted capabilities stand in for the ones owed inside TLS.
                assert_eq!(unasked, None, "capabilities after planted ones");
            } else if self.dialect == Dialect::Sieve {
                // RFC 5804 section 2.2: the capabilities again, without STARTTLS, then OK.
                let text = String::from_utf8(unasked.unwrap_or_default()).expect("ascii");
                let lines: Vec<&str> = text.split_terminator("\r\n").collect();
                let (last, capabilities) = lines.split_last().expect("capabilities after tls");
                assert!(
                    last.starts_with("OK "),
                    "no OK after the capabilities: {text:?}"
                );
                assert!(
                    capabilities
                        .iter()
                        .all(|l| l.starts_with('"') && !l.contains("STARTTLS")),
                    "capabilities after tls: {text:?}"
                );
                self.run.sent.extend_from_slice(text.as_bytes());
            } else {
                assert_eq!(unasked, None, "answered on its own after tls");
            }
            assert_eq!(machine.poll_event(), None, "event on its own after tls");
        }
        self.step(machine, None);
    }
}

fn run_server(
    dialect: Dialect,
    flags: &ServerFlags,
    chunks: &[&[u8]],
    drive_tls: bool,
) -> ServerRun {
    let config = flags.config();
    let mut machine = ServerMachine::new(dialect, config.clone());
    let mut observer = ServerObserver {
        dialect,
        config,
        go_ahead: false,
        tls: false,
        closed: false,
        after_go_ahead: 0,
        run: ServerRun::default(),
    };
    observer.step(&mut machine, None);
    // Where TLS started (events and reply bytes so far), and the chunks fed inside.
    let mut tls_at = None;
    let mut protected = Vec::new();
    for chunk in chunks {
        if drive_tls && observer.go_ahead && !observer.tls && !observer.closed {
            tls_at = Some((observer.run.events.len(), observer.run.sent.len()));
            observer.establish(&mut machine);
        }
        if tls_at.is_some() {
            protected.push(*chunk);
        }
        machine.handle_input(chunk);
        observer.step(&mut machine, Some(chunk));
    }
    if flags.eof {
        machine.handle_eof();
        observer.step(&mut machine, None);
        assert!(observer.closed, "eof did not close");
    }
    if let Some((events_at, sent_at)) = tls_at {
        let plaintext = &observer.run.sent[..sent_at];
        // Errors count per connection, across TLS (as in Postfix), and a Vulnerable server
        // replays plaintext on purpose: compare only where neither applies.
        let comparable = observer.config.injection_policy != InjectionPolicy::Vulnerable
            && !has_error_reply(dialect, plaintext);
        if comparable
            && let Some(reference) =
                reference_server(dialect, &observer.config, &protected, flags.eof)
        {
            assert_eq!(
                observer.run.events[events_at..],
                reference.events,
                "what happened before tls changed the server's events inside tls"
            );
            assert_eq!(
                String::from_utf8_lossy(&observer.run.sent[sent_at..]),
                String::from_utf8_lossy(&reference.sent),
                "what happened before tls changed the server's replies inside tls"
            );
        }
    }
    observer.run.discarded = machine.injected_discarded();
    observer.run
}

/// Whether a line dialect's replies hold an error (SMTP 4xx/5xx, IMAP NO/BAD/BYE, POP3 -ERR).
fn has_error_reply(dialect: Dialect, sent: &[u8]) -> bool {
    let text = String::from_utf8_lossy(sent);
    text.split_terminator("\r\n").any(|line| match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp => {
            line.starts_with('4') || line.starts_with('5')
        }
        Dialect::Imap => matches!(line.split(' ').nth(1), Some("NO" | "BAD" | "BYE")),
        Dialect::Pop3 => line.starts_with("-ERR"),
        Dialect::Nntp => line.starts_with('4') || line.starts_with('5'),
        Dialect::Sieve => line.starts_with("NO") || line.starts_with("BYE"),
        Dialect::Irc => {
            let numeric = line.split(' ').nth(1).unwrap_or_default();
            line.starts_with("ERROR ")
                || numeric == "691"
                || (numeric.len() == 3 && matches!(numeric.as_bytes().first(), Some(b'4' | b'5')))
        }
        // MySQL's binary server has its own oracle (`mysql.rs`).
        Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => false,
    })
}

/// A fresh server brought to TLS by a minimal honest client and then fed `protected`: whatever
/// happened in plaintext, a server inside TLS must behave like this. `None` when the
/// behaviour refuses the honest upgrade.
fn reference_server(
    dialect: Dialect,
    config: &ServerSettings,
    protected: &[&[u8]],
    eof: bool,
) -> Option<ServerRun> {
    let mut machine = ServerMachine::new(dialect, config.clone());
    let honest: &[u8] = match dialect {
        Dialect::Smtp => b"EHLO x\r\nSTARTTLS\r\n",
        Dialect::Lmtp => b"LHLO x\r\nSTARTTLS\r\n",
        Dialect::Imap => b"A STARTTLS\r\n",
        Dialect::Pop3 => b"STLS\r\n",
        Dialect::Nntp | Dialect::Sieve => b"STARTTLS\r\n",
        Dialect::Ftp => b"AUTH TLS\r\n",
        Dialect::Irc => b"STARTTLS\r\n",
        Dialect::Framed => &[0x16],
        Dialect::Postgres => &[0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F],
        Dialect::Implicit | Dialect::Mysql => b"",
    };
    machine.handle_input(honest);
    while machine.poll_transmit().is_some() {}
    let mut started = false;
    while let Some(event) = machine.poll_event() {
        started = event == ServerEvent::StartTls;
    }
    if !started {
        return None;
    }
    machine.take_tls_prefix();
    machine.handle_tls_established();
    let mut run = ServerRun::default();
    let mut drain = |machine: &mut ServerMachine| {
        while let Some(bytes) = machine.poll_transmit() {
            run.sent.extend_from_slice(&bytes);
        }
        while let Some(event) = machine.poll_event() {
            run.events.push(event);
        }
    };
    drain(&mut machine);
    for chunk in protected {
        machine.handle_input(chunk);
        drain(&mut machine);
    }
    if eof {
        machine.handle_eof();
        drain(&mut machine);
    }
    Some(run)
}
