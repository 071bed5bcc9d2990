//! The fuzz oracles: one function per fuzz target, each taking the fuzzer's bytes and panicking
//! when a property of `streamsocket-proto` is violated.
//!
//! This file is shared: the cargo-fuzz crate (`fuzz/`) exports it to its targets, and the
//! hostile integration test of `streamsocket-proto` includes it with `#[path]` to replay every
//! seed and every former crash under `fixtures/fuzz/<target>/` on the stable toolchain. It only
//! uses `streamsocket_proto`, std, and rustls and webpki for the chain verifier's algorithms and
//! trust anchors.
//!
//! # Input layout of the machine targets
//!
//! ```text
//! byte 0        flags (meaning per target, see ClientFlags and ServerFlags)
//! byte 1        n = byte % 16: how many explicit chunk lengths follow
//! bytes 2..2+n  chunk lengths (0 = an empty handle_input call)
//! rest          the byte stream; cut into chunks of those lengths, the remainder is a last chunk
//! ```
//!
//! Seeds with `n = 0` are a whole exchange in one read; the fuzzer moves the split points by
//! mutating the length bytes.

use streamsocket_proto::codec::{FRAME_LEN_CEILING, FrameCodec, FrameError, HEADER_LEN};
use streamsocket_proto::starttls::{
    ClientConfig, ClientEvent, ClientFailure, ClientMachine, CloseReason, DEFAULT_MAX_LINE_LEN,
    Dialect, InjectionPolicy, Line, LineReader, LineTooLong, MAX_MAIL_LEN, MAX_TLS_PREFIX,
    ServerBehaviour, ServerConfig, ServerEvent, ServerMachine,
};

/// The bytes a `ResponseInjection` server appends after its go-ahead in the server targets.
pub const INJECTED_RESPONSE: &[u8] = b"250 injected\r\n";

/// A fuzz oracle: panics when the input reveals a violated property.
pub type Oracle = fn(&[u8]);

/// Every fuzz target: its name (the file `fuzz/fuzz_targets/<name>.rs` and the seed directory
/// `fixtures/fuzz/<name>/`) and its oracle.
pub const TARGETS: &[(&str, Oracle)] = &[
    ("chain_verifier", chain_verifier),
    ("frame_decoder", frame_decoder),
    ("framed_server", framed_server),
    ("imap_client", imap_client),
    ("imap_server", imap_server),
    ("line_reader", line_reader),
    ("pop3_client", pop3_client),
    ("pop3_server", pop3_server),
    ("smtp_client", smtp_client),
    ("smtp_server", smtp_server),
];

/// `chain_verifier`: a server's certificate chain and a client's ignore-list, as bytes.
///
/// ```text
/// byte 0   bit i (i < 7): the i-th ignorable class is ignored; bit 7: no CRL, the anchor is
///          the last certificate rather than the first
/// rest     certificates, each a 2-byte big-endian length and that many DER bytes (a short last
///          one takes what is left); the first is the leaf; the anchor certificate is not sent
/// ```
///
/// The verifier runs at 2030-01-01 for `localhost`. Oracles: no panic on any bytes; the verdict is
/// consistent (an accepted chain reports only ignored classes, a refused one names why; the
/// report is sorted, without duplicates and without `Success`).
pub fn chain_verifier(data: &[u8]) {
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
    use streamsocket_proto::cert::{ChainValidationResult, ChainVerifier, SocketSslErrorSeverity};

    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut certs = Vec::new();
    while rest.len() >= 2 && certs.len() < 6 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        let body = &rest[2..];
        let take = len.min(body.len());
        certs.push(CertificateDer::from(body[..take].to_vec()));
        rest = &body[take..];
    }
    if certs.len() < 2 {
        return;
    }
    let anchor_cert = if flags & 0x80 == 0 {
        certs.remove(0)
    } else {
        match certs.pop() {
            Some(cert) => cert,
            None => return,
        }
    };
    let anchors: Vec<_> = webpki::anchor_from_trusted_cert(&anchor_cert)
        .map(|anchor| vec![anchor.to_owned()])
        .unwrap_or_default();
    let ignorable: Vec<ChainValidationResult> = ChainValidationResult::ALL
        .into_iter()
        .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
        .collect();
    let ignored: Vec<ChainValidationResult> = ignorable
        .iter()
        .enumerate()
        .filter(|(i, _)| flags & (1 << i) != 0)
        .map(|(_, class)| *class)
        .collect();
    let algorithms = rustls::crypto::aws_lc_rs::default_provider()
        .signature_verification_algorithms
        .all;
    let verifier = ChainVerifier::new(anchors, &[], algorithms, &ignored)
        .expect("ignorable classes are accepted");
    let Some((leaf, intermediates)) = certs.split_first() else {
        return;
    };
    let name = ServerName::try_from("localhost").expect("a valid name");
    let now = UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_893_456_000));
    let verdict = verifier.verify(leaf, intermediates, &name, now);
    let mut sorted = verdict.errors.clone();
    sorted.sort_by_key(|class| class.value());
    sorted.dedup();
    assert_eq!(
        sorted, verdict.errors,
        "the report is sorted and has no duplicates"
    );
    assert!(!verdict.errors.contains(&ChainValidationResult::Success));
    if verdict.accepted() {
        assert!(
            verdict.errors.iter().all(|class| ignored.contains(class)),
            "accepted with {:?} reported and {ignored:?} ignored",
            verdict.errors
        );
    } else {
        assert!(!verdict.errors.is_empty(), "refused without a reason");
    }
}

/// A fuzz input cut into flags and chunks (see the module documentation).
#[derive(Clone, Debug)]
pub struct Script<'a> {
    /// Byte 0.
    pub flags: u8,
    /// The stream, cut at the requested points.
    pub chunks: Vec<&'a [u8]>,
    /// The whole stream, uncut.
    pub stream: &'a [u8],
}

impl<'a> Script<'a> {
    /// Parses the layout; never fails (missing bytes count as zero).
    pub fn parse(data: &'a [u8]) -> Self {
        let flags = data.first().copied().unwrap_or(0);
        let n = usize::from(data.get(1).copied().unwrap_or(0) % 16);
        let lens_end = (2 + n).min(data.len());
        let lens = data.get(2.min(lens_end)..lens_end).unwrap_or_default();
        let stream = data.get(lens_end..).unwrap_or_default();
        let mut chunks = Vec::new();
        let mut rest = stream;
        for &len in lens {
            let (chunk, tail) = rest.split_at(usize::from(len).min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        if !rest.is_empty() || chunks.is_empty() {
            chunks.push(rest);
        }
        Self {
            flags,
            chunks,
            stream,
        }
    }

    /// Builds a fuzz input: flags, chunk lengths, stream (the inverse of [`Script::parse`]).
    pub fn encode(flags: u8, lens: &[u8], stream: &[u8]) -> Vec<u8> {
        assert!(lens.len() < 16, "at most 15 chunk lengths");
        let mut out = vec![flags, u8::try_from(lens.len()).unwrap_or(0)];
        out.extend_from_slice(lens);
        out.extend_from_slice(stream);
        out
    }
}

// ---------------------------------------------------------------------------------------------
// line_reader

/// `line_reader`: byte 0 is the line limit (0..=255, terminator included); the chunks are fed
/// to a [`LineReader`]. Oracles: no panic, every call consumes, the buffer stays below the
/// limit, and the lines (and errors) equal an independent model of the whole stream, whatever
/// the split: a too-long line gives exactly one error and its tail is never read as a line.
pub fn line_reader(data: &[u8]) {
    let script = Script::parse(data);
    let max = usize::from(script.flags);
    let mut reader = LineReader::new(max);
    let mut got = Vec::new();
    for chunk in &script.chunks {
        let mut rest: &[u8] = chunk;
        loop {
            let (consumed, line) = reader.feed(rest);
            assert!(consumed <= rest.len(), "consumed more than given");
            assert!(
                consumed > 0 || rest.is_empty(),
                "feed made no progress on {} bytes",
                rest.len()
            );
            assert!(
                reader.buffered_len() <= max,
                "buffer {} above limit {max}",
                reader.buffered_len()
            );
            if let Some(line) = line {
                if let Ok(line) = &line {
                    assert!(!line.bytes.contains(&b'\n'), "line holds a LF");
                    let terminator = if line.crlf { 2 } else { 1 };
                    assert!(line.bytes.len() + terminator <= max, "line above limit");
                }
                got.push(line);
            }
            rest = rest.get(consumed..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
        }
    }
    assert_eq!(
        got,
        line_model(script.stream, max),
        "split {:?}",
        chunk_lens(&script)
    );
}

/// The independent model of [`LineReader`] over a whole stream.
fn line_model(stream: &[u8], max: usize) -> Vec<Result<Line, LineTooLong>> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
        let (line, tail) = rest.split_at(lf + 1);
        rest = tail;
        if line.len() > max {
            out.push(Err(LineTooLong));
            continue;
        }
        let body = &line[..lf];
        let (bytes, crlf) = match body.strip_suffix(b"\r") {
            Some(bytes) => (bytes, true),
            None => (body, false),
        };
        out.push(Ok(Line {
            bytes: bytes.to_vec(),
            crlf,
        }));
    }
    // A partial line that already fills the limit cannot end within it: reported at once.
    if !rest.is_empty() && rest.len() >= max {
        out.push(Err(LineTooLong));
    }
    out
}

fn chunk_lens(script: &Script<'_>) -> Vec<usize> {
    script.chunks.iter().map(|chunk| chunk.len()).collect()
}

// ---------------------------------------------------------------------------------------------
// frame_decoder

/// The frame limits the `frame_decoder` target picks from (byte 0 modulo 6).
const FRAME_LIMITS: [u32; 6] = [0, 1, 5, 32, 1 << 20, FRAME_LEN_CEILING - 1];

/// `frame_decoder`: byte 0 picks a limit, the rest is a byte stream. Oracles: [`FrameCodec`]
/// decodes frame after frame consistently (every prefix of a frame is incomplete, a too-long
/// header fails as soon as its four bytes are there, payloads re-encode to the same bytes), and
/// a `Framed` server machine fed the same stream, whole and one byte at a time, reports the same
/// frames and the same end (a `0x16` at a frame boundary starts TLS instead).
pub fn frame_decoder(data: &[u8]) {
    let (limit_byte, stream) = data.split_first().unwrap_or((&0, &[]));
    let max = FRAME_LIMITS[usize::from(*limit_byte) % FRAME_LIMITS.len()];
    // Every entry of FRAME_LIMITS is below the ceiling.
    let codec = FrameCodec::new(max).expect("limits are below the ceiling");
    assert!(matches!(
        FrameCodec::new(FRAME_LEN_CEILING),
        Err(FrameError::LimitTooHigh(_))
    ));
    let mut frames = Vec::new();
    let mut rest = stream;
    let end = loop {
        if rest.first() == Some(&0x16) {
            break FrameEnd::TlsStart;
        }
        match codec.decode(rest) {
            Ok(Some((consumed, text))) => {
                assert_eq!(consumed, HEADER_LEN + text.len());
                assert!(consumed <= rest.len());
                assert!(text.len() <= max as usize);
                let mut wire = Vec::new();
                codec
                    .encode(&text, &mut wire)
                    .expect("decoded payload fits");
                assert_eq!(wire.as_slice(), &rest[..consumed], "re-encoding differs");
                for cut in 0..consumed {
                    assert_eq!(
                        codec.decode(&rest[..cut]),
                        Ok(None),
                        "prefix of {cut} bytes"
                    );
                }
                frames.push(text);
                rest = &rest[consumed..];
            }
            Ok(None) => {
                if let Some(header) = rest.first_chunk::<HEADER_LEN>() {
                    let declared = u32::from_be_bytes(*header);
                    assert!(declared <= max, "incomplete but above the limit");
                    assert!(rest.len() < HEADER_LEN + declared as usize);
                }
                break FrameEnd::Incomplete;
            }
            Err(FrameError::TooLong { declared, max: m }) => {
                assert_eq!(m, max);
                assert!(declared > u64::from(max));
                // Fails on the header alone, before the payload is there.
                assert!(codec.decode(&rest[..HEADER_LEN]).is_err());
                break FrameEnd::TooLong;
            }
            Err(FrameError::InvalidUtf8) => {
                let declared =
                    u32::from_be_bytes(*rest.first_chunk::<HEADER_LEN>().unwrap_or(&[0; 4]));
                let payload = &rest[HEADER_LEN..HEADER_LEN + declared as usize];
                assert!(std::str::from_utf8(payload).is_err());
                break FrameEnd::InvalidUtf8;
            }
            Err(other) => panic!("decode failed with {other:?}"),
        }
    };
    let config = ServerConfig {
        max_frame_len: max,
        ..ServerConfig::default()
    };
    let whole: Vec<&[u8]> = vec![stream];
    let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
    for chunks in [whole, bytewise] {
        let mut server = ServerMachine::new(Dialect::Framed, config.clone());
        let mut events = Vec::new();
        for chunk in &chunks {
            server.handle_input(chunk);
            assert!(
                server.buffered_len() <= (max as usize).max(HEADER_LEN) + MAX_TLS_PREFIX,
                "server buffers {} bytes",
                server.buffered_len()
            );
            while let Some(event) = server.poll_event() {
                events.push(event);
            }
            assert_eq!(
                server.poll_transmit(),
                None,
                "framed server answered before tls"
            );
        }
        let mut expected: Vec<ServerEvent> =
            frames.iter().cloned().map(ServerEvent::Frame).collect();
        match end {
            FrameEnd::Incomplete => {}
            FrameEnd::TlsStart => expected.push(ServerEvent::StartTls),
            FrameEnd::TooLong => expected.push(ServerEvent::Close(CloseReason::FrameTooLong)),
            FrameEnd::InvalidUtf8 => {
                expected.push(ServerEvent::Close(CloseReason::InvalidUtf8Frame));
            }
        }
        assert_eq!(events, expected, "server and codec disagree");
    }
}

#[derive(Clone, Copy, Debug)]
enum FrameEnd {
    Incomplete,
    TlsStart,
    TooLong,
    InvalidUtf8,
}

// ---------------------------------------------------------------------------------------------
// client machines

/// `smtp_client`: the SMTP client machine fed scripted server bytes.
pub fn smtp_client(data: &[u8]) {
    client(Dialect::Smtp, data);
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
            (Dialect::Imap, false) => &["A1 CAPABILITY", "A2 STARTTLS", "A4 LOGOUT"],
            (Dialect::Imap, true) => &["A3 CAPABILITY", "A4 LOGOUT"],
            (Dialect::Pop3, false) => &["CAPA", "STLS", "QUIT"],
            (Dialect::Pop3, true) => &["CAPA", "QUIT"],
            (Dialect::Framed | Dialect::Implicit, _) => &[],
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
            Dialect::Imap => Some(b"A3 CAPABILITY\r\n"),
            Dialect::Pop3 => Some(b"CAPA\r\n"),
            Dialect::Framed | Dialect::Implicit => None,
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
    let config = ClientConfig {
        max_line_len: flags.max_line_len,
        quit_on_failure: !flags.no_quit,
        ..ClientConfig::default()
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
    let config = ClientConfig {
        max_line_len: flags.max_line_len,
        quit_on_failure: !flags.no_quit,
        ..ClientConfig::default()
    };
    let mut machine = ClientMachine::new(dialect, config);
    let honest: &[u8] = match dialect {
        Dialect::Smtp => b"220 x\r\n250-x\r\n250 STARTTLS\r\n220 go\r\n",
        Dialect::Imap => b"* OK [CAPABILITY STARTTLS]\r\nA2 OK\r\n",
        Dialect::Pop3 => b"+OK\r\n+OK\r\nSTLS\r\n.\r\n+OK\r\n",
        Dialect::Framed | Dialect::Implicit => b"",
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

// ---------------------------------------------------------------------------------------------
// server machines

/// `smtp_server`: the SMTP server machine fed client bytes split at random points.
pub fn smtp_server(data: &[u8]) {
    server(Dialect::Smtp, data);
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
    /// Bits 2-4: Honest, StartTlsNotAdvertised, StartTlsRefused, TlsRequired,
    /// ResponseInjection([`INJECTED_RESPONSE`]), Preauth, Honest, Honest.
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
            2 => ServerBehaviour::StartTlsRefused,
            3 => ServerBehaviour::TlsRequired,
            4 => ServerBehaviour::ResponseInjection(INJECTED_RESPONSE.to_vec()),
            5 => ServerBehaviour::Preauth,
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
    pub fn config(&self) -> ServerConfig {
        let mut config = ServerConfig {
            behaviour: self.behaviour.clone(),
            injection_policy: self.policy,
            ..ServerConfig::default()
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
    config: ServerConfig,
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
                    assert_eq!(self.dialect, Dialect::Smtp, "mail from a non-smtp dialect");
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
        let mail = if self.dialect == Dialect::Smtp {
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
                Dialect::Smtp => last.starts_with("220 "),
                Dialect::Imap => last.split(' ').nth(1) == Some("OK"),
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
            assert_eq!(
                machine.poll_transmit(),
                None,
                "answered on its own after tls"
            );
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
        Dialect::Smtp => line.starts_with('4') || line.starts_with('5'),
        Dialect::Imap => matches!(line.split(' ').nth(1), Some("NO" | "BAD" | "BYE")),
        Dialect::Pop3 => line.starts_with("-ERR"),
        Dialect::Framed | Dialect::Implicit => false,
    })
}

/// A fresh server brought to TLS by a minimal honest client and then fed `protected`: whatever
/// happened in plaintext, a server inside TLS must behave like this. `None` when the
/// behaviour refuses the honest upgrade.
fn reference_server(
    dialect: Dialect,
    config: &ServerConfig,
    protected: &[&[u8]],
    eof: bool,
) -> Option<ServerRun> {
    let mut machine = ServerMachine::new(dialect, config.clone());
    let honest: &[u8] = match dialect {
        Dialect::Smtp => b"EHLO x\r\nSTARTTLS\r\n",
        Dialect::Imap => b"A STARTTLS\r\n",
        Dialect::Pop3 => b"STLS\r\n",
        Dialect::Framed => &[0x16],
        Dialect::Implicit => b"",
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
