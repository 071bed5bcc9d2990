//! The client machine targets (`smtp_client`, `lmtp_client`, `imap_client`, `pop3_client`,
//! `nntp_client`, `sieve_client`, `ftp_client`, `irc_client`): one observer that
//! checks every call, and a fresh client brought to TLS honestly as the reference inside TLS.

use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, ClientMachine, ClientSettings, DEFAULT_MAX_LINE_LEN, Dialect,
};

use super::script::{Script, chunk_lens};

/// `smtp_client`: the SMTP client machine fed scripted server bytes.
pub fn smtp_client(data: &[u8]) {
    client(Dialect::Smtp, data);
}

/// `lmtp_client`: the LMTP client machine fed scripted server bytes.
pub fn lmtp_client(data: &[u8]) {
    client(Dialect::Lmtp, data);
}

/// `nntp_client`: the NNTP client machine fed scripted server bytes.
pub fn nntp_client(data: &[u8]) {
    client(Dialect::Nntp, data);
}

/// `ftp_client`: the FTP client machine fed scripted server bytes.
pub fn ftp_client(data: &[u8]) {
    client(Dialect::Ftp, data);
}

/// `irc_client`: the IRC client machine fed scripted server bytes.
pub fn irc_client(data: &[u8]) {
    client(Dialect::Irc, data);
}

/// `sieve_client`: the ManageSieve client machine fed scripted server bytes.
pub fn sieve_client(data: &[u8]) {
    client(Dialect::Sieve, data);
}

/// `imap_client`: the IMAP client machine fed scripted server bytes.
pub fn imap_client(data: &[u8]) {
    client(Dialect::Imap, data);
}

/// `pop3_client`: the POP3 client machine fed scripted server bytes.
pub fn pop3_client(data: &[u8]) {
    client(Dialect::Pop3, data);
}

/// The client targets' flags (byte 0).
#[derive(Clone, Copy, Debug)]
pub struct ClientFlags {
    /// Bit 0: never call `handle_tls_established` (bytes after `StartTls` stay plaintext).
    pub no_tls: bool,
    /// Bit 1: `handle_eof` after the last chunk.
    pub eof: bool,
    /// Bit 2: `quit_on_failure = false`.
    pub no_quit: bool,
    /// Bits 3-4: the line limit (2048, 16, 64, 512).
    pub max_line_len: usize,
}

impl ClientFlags {
    /// Decodes byte 0.
    pub fn new(flags: u8) -> Self {
        Self {
            no_tls: flags & 1 != 0,
            eof: flags & 2 != 0,
            no_quit: flags & 4 != 0,
            max_line_len: [DEFAULT_MAX_LINE_LEN, 16, 64, 512][usize::from((flags >> 3) & 3)],
        }
    }
}

/// Runs a client machine over a script and checks the client oracles:
///
/// - no panic; events are well ordered: `StartTls` at most once and, for the line dialects,
///   only at the end of a read (an injected byte after the go-ahead in the same read is never
///   accepted); after `StartTls` and before TLS, every further byte fails the machine with
///   `PlaintextAfterGoAhead` and nothing is sent; after `Failed` or `Ready` nothing happens;
/// - `Ready` only after `handle_tls_established`, with the machine's own (fresh) capabilities;
/// - the client only ever sends its own fixed commands, each at most once per phase, never a
///   second STARTTLS inside TLS; a failed read sends nothing but an optional QUIT or LOGOUT;
/// - the events do not depend on how the stream is split, up to the go-ahead;
/// - inside TLS the client behaves exactly like a fresh client brought to TLS by a minimal
///   honest server and fed the same protected bytes (nothing learnt in plaintext survives).
pub fn client(dialect: Dialect, data: &[u8]) {
    let script = Script::parse(data);
    let flags = ClientFlags::new(script.flags);
    run_client(dialect, flags, &script.chunks, !flags.no_tls);
    let split = run_client(dialect, flags, &script.chunks, false);
    let whole = run_client(dialect, flags, &[script.stream], false);
    let cut = |events: &[ClientEvent]| {
        events
            .iter()
            .position(|event| {
                matches!(
                    event,
                    ClientEvent::StartTls
                        | ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead { .. })
                )
            })
            .unwrap_or(events.len())
    };
    let (a, b) = (cut(&split), cut(&whole));
    assert_eq!(
        split[..a],
        whole[..b],
        "events depend on the split {:?}",
        chunk_lens(&script)
    );
    assert_eq!(
        a == split.len(),
        b == whole.len(),
        "go-ahead depends on the split {:?}: {split:?} vs {whole:?}",
        chunk_lens(&script)
    );
}

/// What the client observer knows.
struct ClientObserver {
    dialect: Dialect,
    flags: ClientFlags,
    go_ahead: bool,
    tls: bool,
    finished: bool,
    events: Vec<ClientEvent>,
    sent: Vec<String>,
}

impl ClientObserver {
    /// Drains the machine after one call; `chunk` is the input of that call, if any.
    fn step(&mut self, machine: &mut ClientMachine, chunk: Option<&[u8]>) {
        let transmit = machine.poll_transmit();
        assert_eq!(
            machine.poll_transmit(),
            None,
            "transmit not drained at once"
        );
        let was_finished = self.finished;
        let awaiting = self.go_ahead && !self.tls && !was_finished;
        let mut failed_now = false;
        while let Some(event) = machine.poll_event() {
            assert!(!self.finished, "event after the end: {event:?}");
            match &event {
                ClientEvent::StartTls => {
                    assert!(!self.go_ahead, "second StartTls");
                    self.go_ahead = true;
                    if self.dialect.is_line_based() {
                        let chunk = chunk.unwrap_or_default();
                        assert_eq!(
                            chunk.last(),
                            Some(&b'\n'),
                            "StartTls with bytes after the go-ahead in the same read"
                        );
                    } else {
                        assert!(chunk.is_none(), "framed StartTls after input");
                    }
                }
                ClientEvent::Ready { capabilities } => {
                    assert!(self.tls, "Ready before tls");
                    assert_eq!(capabilities.as_slice(), machine.capabilities());
                    self.finished = true;
                }
                ClientEvent::Failed(failure) => {
                    if awaiting {
                        let expected = match chunk {
                            Some(_) => {
                                matches!(failure, ClientFailure::PlaintextAfterGoAhead { .. })
                            }
                            None => *failure == ClientFailure::Closed,
                        };
                        assert!(expected, "failure after the go-ahead is {failure:?}");
                    }
                    if let ClientFailure::PlaintextAfterGoAhead { bytes } = failure {
                        assert!(*bytes > 0);
                    }
                    failed_now = true;
                    self.finished = true;
                }
            }
            self.events.push(event);
        }
        if awaiting && chunk.is_some_and(|c| !c.is_empty()) {
            assert!(failed_now, "bytes after StartTls were accepted");
        }
        assert_eq!(
            machine.is_finished(),
            self.finished,
            "is_finished disagrees"
        );
        let Some(bytes) = transmit else {
            return;
        };
        assert!(!was_finished, "sent {bytes:?} after the end");
        assert!(!awaiting, "sent {bytes:?} between StartTls and tls");
        let text = String::from_utf8(bytes).expect("client sends ascii");
        assert!(text.ends_with("\r\n"), "unterminated command {text:?}");
        let goodbye = match self.dialect {
            Dialect::Imap => "A4 LOGOUT",
            Dialect::Sieve => "LOGOUT",
            _ => "QUIT",
        };
        let commands: Vec<&str> = text.trim_end_matches("\r\n").split("\r\n").collect();
        if failed_now {
            assert!(!self.flags.no_quit, "goodbye sent although disabled");
            assert_eq!(commands, [goodbye], "a failed read sends only the goodbye");
        }
        let allowed: &[&str] = match (self.dialect, self.tls) {
            (Dialect::Smtp, false) => &["EHLO localhost", "STARTTLS", "QUIT"],
            (Dialect::Smtp, true) => &["EHLO localhost", "QUIT"],
            (Dialect::Lmtp, false) => &["LHLO localhost", "STARTTLS", "QUIT"],
            (Dialect::Lmtp, true) => &["LHLO localhost", "QUIT"],
            (Dialect::Ftp, false) => &["FEAT", "AUTH TLS", "QUIT"],
            (Dialect::Ftp, true) => &["FEAT", "QUIT"],
            (Dialect::Irc, false) => &["CAP LS 302", "STARTTLS", "QUIT"],
            (Dialect::Irc, true) => &["CAP LS 302", "QUIT"],
            (Dialect::Nntp, false) => &["CAPABILITIES", "STARTTLS", "QUIT"],
            (Dialect::Nntp, true) => &["CAPABILITIES", "QUIT"],
            (Dialect::Imap, false) => &["A1 CAPABILITY", "A2 STARTTLS", "A4 LOGOUT"],
            (Dialect::Imap, true) => &["A3 CAPABILITY", "A4 LOGOUT"],
            (Dialect::Pop3, false) => &["CAPA", "STLS", "QUIT"],
            (Dialect::Pop3, true) => &["CAPA", "QUIT"],
            // ManageSieve's client asks nothing inside TLS (RFC 5804 section 2.2).
            (Dialect::Sieve, false) => &["STARTTLS", "LOGOUT"],
            (Dialect::Sieve, true) => &["LOGOUT"],
            // MySQL's binary client has its own oracle (`mysql.rs`).
            (Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql, _) => &[],
        };
        for command in commands {
            assert!(allowed.contains(&command), "unexpected command {command:?}");
            let key = format!("{}:{command}", self.tls);
            assert!(!self.sent.contains(&key), "{command:?} sent twice");
            self.sent.push(key);
        }
    }

    /// Calls `handle_tls_established` and checks the fresh start.
    fn establish(&mut self, machine: &mut ClientMachine) {
        machine.handle_tls_established();
        self.tls = true;
        assert!(
            machine.capabilities().is_empty(),
            "capabilities kept over tls"
        );
        let transmit = machine.poll_transmit();
        let expected: Option<&[u8]> = match self.dialect {
            Dialect::Smtp => Some(b"EHLO localhost\r\n"),
            Dialect::Lmtp => Some(b"LHLO localhost\r\n"),
            Dialect::Nntp => Some(b"CAPABILITIES\r\n"),
            Dialect::Ftp => Some(b"FEAT\r\n"),
            Dialect::Irc => Some(b"CAP LS 302\r\n"),
            Dialect::Imap => Some(b"A3 CAPABILITY\r\n"),
            Dialect::Pop3 => Some(b"CAPA\r\n"),
            Dialect::Sieve
            | Dialect::Postgres
            | Dialect::Framed
            | Dialect::Implicit
            | Dialect::Mysql => None,
        };
        assert_eq!(transmit.as_deref(), expected, "first command inside tls");
        if let Some(command) = expected {
            let text = String::from_utf8_lossy(command);
            self.sent.push(format!("true:{}", text.trim_end()));
        }
        self.step(machine, None);
    }
}

fn run_client(
    dialect: Dialect,
    flags: ClientFlags,
    chunks: &[&[u8]],
    drive_tls: bool,
) -> Vec<ClientEvent> {
    let config = ClientSettings {
        max_line_len: flags.max_line_len,
        quit_on_failure: !flags.no_quit,
        ..ClientSettings::default()
    };
    let mut machine = ClientMachine::new(dialect, config);
    let mut observer = ClientObserver {
        dialect,
        flags,
        go_ahead: false,
        tls: false,
        finished: false,
        events: Vec::new(),
        sent: Vec::new(),
    };
    observer.step(&mut machine, None);
    // Where TLS started: the index of the first event after it, and the chunks fed inside.
    let mut tls_at = None;
    let mut protected = Vec::new();
    for chunk in chunks {
        if drive_tls && observer.go_ahead && !observer.tls && !observer.finished {
            tls_at = Some(observer.events.len());
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
        assert!(machine.is_finished(), "eof did not finish the machine");
    }
    if let Some(at) = tls_at
        && let Some(reference) = reference_client(dialect, flags, &protected)
    {
        assert_eq!(
            observer.events[at..],
            reference,
            "what happened before tls changed the client inside tls"
        );
    }
    observer.events
}

/// The events inside TLS of a fresh client brought to TLS by a minimal honest server and then
/// fed `protected`: whatever happened in plaintext, a client inside TLS must behave like this.
/// `None` when the line limit is too small for the honest script.
fn reference_client(
    dialect: Dialect,
    flags: ClientFlags,
    protected: &[&[u8]],
) -> Option<Vec<ClientEvent>> {
    let config = ClientSettings {
        max_line_len: flags.max_line_len,
        quit_on_failure: !flags.no_quit,
        ..ClientSettings::default()
    };
    let mut machine = ClientMachine::new(dialect, config);
    let honest: &[u8] = match dialect {
        Dialect::Smtp | Dialect::Lmtp => b"220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n",
        Dialect::Imap => b"* OK [CAPABILITY STARTTLS]\r\nA2 OK\r\n",
        Dialect::Pop3 => b"+OK\r\n+OK\r\nSTLS\r\n.\r\n+OK\r\n",
        Dialect::Nntp => b"200 x\r\n101 list\r\nSTARTTLS\r\n.\r\n382 go\r\n",
        Dialect::Sieve => b"\"STARTTLS\"\r\nOK\r\nOK\r\n",
        Dialect::Postgres => b"S",
        Dialect::Ftp => b"220 x\r\n211-x\r\n AUTH TLS\r\n211 x\r\n234 go\r\n",
        Dialect::Irc => b":s CAP * LS :tls\r\n:s 670 * :go\r\n",
        Dialect::Framed | Dialect::Implicit | Dialect::Mysql => b"",
    };
    machine.handle_input(honest);
    let mut started = false;
    while let Some(event) = machine.poll_event() {
        started = event == ClientEvent::StartTls;
    }
    if !started {
        return None;
    }
    machine.handle_tls_established();
    let mut events = Vec::new();
    let mut drain = |machine: &mut ClientMachine| {
        while machine.poll_transmit().is_some() {}
        while let Some(event) = machine.poll_event() {
            events.push(event);
        }
    };
    drain(&mut machine);
    for chunk in protected {
        machine.handle_input(chunk);
        drain(&mut machine);
    }
    if flags.eof {
        machine.handle_eof();
        drain(&mut machine);
    }
    Some(events)
}
