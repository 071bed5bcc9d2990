//! Per-server counters and per-connection transcripts that tests can assert on.
//!
//! Every counter is updated before the server writes the reply or closes the socket that makes
//! it observable, so a test that has read the server's answer (or its EOF) sees the counter.

use std::collections::{BTreeMap, VecDeque};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::{fmt, io};

use proto::alert::Alert;
use proto::hello::legacy::Answer;
use proto::starttls::CloseReason;
use serde::Serialize;
use tokio::sync::Notify;

use crate::config::Behaviour;
use crate::session_log::SessionLog;

/// Most transcripts a server keeps (the oldest are dropped first).
pub const MAX_TRANSCRIPTS: usize = 1024;
/// Most received bytes one transcript keeps; later bytes are only counted.
pub const MAX_TRANSCRIPT_BYTES: usize = 16 * 1024;
/// Most bytes of the ClientHello one transcript keeps.
pub const MAX_CLIENT_HELLO_BYTES: usize = proto::hello::MAX_RECORDED;

/// Counters and transcripts shared by all sessions of one server; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    connections: AtomicU64,
    active: AtomicU64,
    refused_connections: AtomicU64,
    upgrades: AtomicU64,
    handshakes_ok: AtomicU64,
    injected_bytes_discarded: AtomicU64,
    frames: AtomicU64,
    mails: AtomicU64,
    peak_buffered_bytes: AtomicU64,
    maps: Mutex<Maps>,
    next_id: AtomicU64,
    /// Sessions whose close reason is recorded.
    closed: AtomicU64,
    /// Woken at each close, for [`Stats::wait_closed`].
    closed_notify: Notify,
    /// Where finished sessions are written, if anywhere.
    session_log: Option<Arc<SessionLog>>,
}

#[derive(Debug, Default)]
struct Maps {
    handshake_failures: BTreeMap<HandshakeFailure, u64>,
    limit_hits: BTreeMap<Limit, u64>,
    session_ends: BTreeMap<SessionEnd, u64>,
    transcripts: VecDeque<Arc<Mutex<Transcript>>>,
}

/// A copy of the counters at one moment.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct StatsSnapshot {
    /// Connections accepted (refused ones included).
    pub connections: u64,
    /// Sessions running now.
    pub active: u64,
    /// Connections refused because of the connection cap.
    pub refused_connections: u64,
    /// Go-aheads given (STARTTLS accepted, first byte 0x16 in Framed, Implicit connections).
    pub upgrades: u64,
    /// TLS handshakes completed.
    pub handshakes_ok: u64,
    /// Failed handshakes by why.
    pub handshake_failures: BTreeMap<HandshakeFailure, u64>,
    /// Bytes pipelined after STARTTLS and dropped (injection policy `Discard`).
    pub injected_bytes_discarded: u64,
    /// Limit violations by limit.
    pub limit_hits: BTreeMap<Limit, u64>,
    /// Ended sessions (and refused connections) by why they ended.
    pub session_ends: BTreeMap<SessionEnd, u64>,
    /// Frames received (Framed and Implicit dialects).
    pub frames: u64,
    /// Messages accepted by SMTP `DATA`.
    pub mails: u64,
    /// The most input bytes one session's dialect machine held between two reads (partial
    /// line or frame, TLS prefix, kept injection, message being received), over all sessions:
    /// for memory-bound assertions. The read buffer (8 KiB) and rustls's own buffers come on
    /// top.
    pub peak_buffered_bytes: u64,
}

/// Which side of the upgrade a chunk of received bytes arrived on.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub enum Phase {
    /// Read from the socket before TLS (the ClientHello bytes are left out).
    Plaintext,
    /// Decrypted application data read inside TLS.
    Tls,
}

/// Received bytes of one connection, in order, and why it ended.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Transcript {
    /// Order of acceptance, from 0.
    pub id: u64,
    /// Received bytes, one chunk per read (adjacent reads in the same phase are merged).
    pub chunks: Vec<(Phase, Vec<u8>)>,
    /// Bytes received beyond [`MAX_TRANSCRIPT_BYTES`], counted but not kept.
    pub dropped_bytes: u64,
    /// `None` while the session runs.
    pub end: Option<SessionEnd>,
    /// Whether the server gave the go-ahead for TLS (STARTTLS accepted, a ClientHello in
    /// Framed, every Implicit connection).
    pub upgraded: bool,
    /// Whether the TLS handshake completed: the client accepted the server's certificate (and
    /// the server the client's, when one is required).
    pub handshake_completed: bool,
    /// The bytes the TLS handshake began with (from the 0x16 byte on), up to the end of the read
    /// that completed the ClientHello, at most [`MAX_CLIENT_HELLO_BYTES`]; `None` when the client
    /// never began one. `proto::hello::parse` reads it.
    pub client_hello: Option<Vec<u8>>,
}

/// Why a session ended.
///
/// Kept as values end to end; [`Display`](fmt::Display) and serde give each a stable
/// kebab-case name (`quit`, `handshake-failed:alert-received:unknown_ca`, `idle-timeout`, ...),
/// which [`FromStr`] and serde read back for readers of the session log.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum SessionEnd {
    /// The behaviour closes here (close-mid-handshake, garbage, legacy alert).
    Behaviour(Behaviour),
    /// What the client answered a legacy server's ServerHello flight with (a `protocol_version`
    /// alert, or its ClientKeyExchange when it took the old version); the server closes then.
    LegacyAnswer(Answer),
    /// The connection cap was reached; the dialect's refusal was sent.
    ConnectionCap,
    /// The TLS handshake failed.
    HandshakeFailed(HandshakeFailure),
    /// The handshake (or the ClientHello) did not complete in time.
    HandshakeTimeout,
    /// No byte from the client for the idle timeout.
    IdleTimeout,
    /// Reading or writing failed.
    Io(IoFailure),
    /// The dialect machine closed the session (QUIT, limits, injection rejected, EOF, ...).
    Machine(CloseReason),
    /// A request began but was not complete within the request timeout.
    RequestTimeout,
    /// The server shut down.
    Shutdown,
    /// The client asked for STARTTLS again inside TLS.
    StartTlsInsideTls,
    /// The client closed the TLS connection without `close_notify` (what it sent last may be
    /// truncated).
    Truncated,
}

/// Why a TLS handshake failed, as the server saw it.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum HandshakeFailure {
    /// The client sent this fatal alert (`unknown_ca`, `bad_certificate`, ...): how a client
    /// says that it refused the server's certificate.
    AlertReceived(Alert),
    /// The client's certificate did not verify against the client CA.
    InvalidClientCertificate,
    /// A client certificate was required and none was sent.
    NoClientCertificate,
    /// The client offers nothing the server accepts (versions, suites, groups, ...).
    PeerIncompatible,
    /// The client broke the TLS protocol.
    PeerMisbehaved,
    /// The first record after the go-ahead was not a TLS handshake record.
    NotTls,
    /// Any other TLS error (rustls's description goes to the log).
    OtherTls,
    /// The handshake did not complete within the handshake timeout.
    Timeout,
    /// The transport ended or failed during the handshake.
    Io(IoFailure),
}

/// How the transport failed.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum IoFailure {
    /// The peer closed the connection where more bytes were due.
    Eof,
    /// The peer reset the connection.
    Reset,
    /// Writing to a peer that has closed.
    BrokenPipe,
    /// Any other error of the operating system.
    Other,
}

/// A limit of [`Limits`](crate::Limits) that a session or a connection hit.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Limit {
    /// A command line was longer than `line_len`.
    LineLen,
    /// A frame declared more than `frame_len` bytes.
    FrameLen,
    /// The client's errors reached `max_errors`.
    MaxErrors,
    /// The handshake took longer than `handshake_timeout`.
    HandshakeTimeout,
    /// No byte for `idle_timeout`.
    IdleTimeout,
    /// A request took longer than `request_timeout`.
    RequestTimeout,
    /// A connection beyond `max_connections` was refused.
    MaxConnections,
}

impl SessionEnd {
    /// The limit this close enforces, if any.
    pub fn limit(self) -> Option<Limit> {
        match self {
            Self::HandshakeTimeout => Some(Limit::HandshakeTimeout),
            Self::IdleTimeout => Some(Limit::IdleTimeout),
            Self::RequestTimeout => Some(Limit::RequestTimeout),
            Self::Machine(reason) => match reason {
                CloseReason::LineTooLong => Some(Limit::LineLen),
                CloseReason::FrameTooLong => Some(Limit::FrameLen),
                CloseReason::TooManyErrors => Some(Limit::MaxErrors),
                CloseReason::Quit
                | CloseReason::InjectionRejected
                | CloseReason::Eof
                | CloseReason::TlsPrefixTooLong
                | CloseReason::InvalidUtf8Frame
                | CloseReason::Fatal
                | CloseReason::HandshakeRejected => None,
            },
            Self::Behaviour(_)
            | Self::LegacyAnswer(_)
            | Self::ConnectionCap
            | Self::HandshakeFailed(_)
            | Self::Io(_)
            | Self::Shutdown
            | Self::StartTlsInsideTls
            | Self::Truncated => None,
        }
    }
}

impl fmt::Display for SessionEnd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Behaviour(b) => write!(f, "behaviour:{b}"),
            Self::LegacyAnswer(answer) => write!(f, "legacy-answer:{answer}"),
            Self::ConnectionCap => f.write_str("connection-cap"),
            Self::HandshakeFailed(why) => write!(f, "handshake-failed:{why}"),
            Self::HandshakeTimeout => f.write_str("handshake-timeout"),
            Self::IdleTimeout => f.write_str("idle-timeout"),
            Self::Io(why) => write!(f, "io:{why}"),
            Self::Machine(reason) => f.write_str(reason.name()),
            Self::RequestTimeout => f.write_str("request-timeout"),
            Self::Shutdown => f.write_str("shutdown"),
            Self::StartTlsInsideTls => f.write_str("starttls-inside-tls"),
            Self::Truncated => f.write_str("truncated"),
        }
    }
}

impl fmt::Display for HandshakeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlertReceived(alert) => write!(f, "alert-received:{alert}"),
            Self::InvalidClientCertificate => f.write_str("invalid-client-certificate"),
            Self::NoClientCertificate => f.write_str("no-client-certificate"),
            Self::PeerIncompatible => f.write_str("peer-incompatible"),
            Self::PeerMisbehaved => f.write_str("peer-misbehaved"),
            Self::NotTls => f.write_str("not-tls"),
            Self::OtherTls => f.write_str("other-tls"),
            Self::Timeout => f.write_str("timeout"),
            Self::Io(why) => why.fmt(f),
        }
    }
}

impl fmt::Display for IoFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eof => "eof",
            Self::Reset => "reset",
            Self::BrokenPipe => "broken-pipe",
            Self::Other => "other",
        })
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LineLen => "line-len",
            Self::FrameLen => "frame-len",
            Self::MaxErrors => "max-errors",
            Self::HandshakeTimeout => "handshake-timeout",
            Self::IdleTimeout => "idle-timeout",
            Self::RequestTimeout => "request-timeout",
            Self::MaxConnections => "max-connections",
        })
    }
}

impl From<&io::Error> for IoFailure {
    fn from(err: &io::Error) -> Self {
        match err.kind() {
            io::ErrorKind::UnexpectedEof => Self::Eof,
            io::ErrorKind::ConnectionReset => Self::Reset,
            io::ErrorKind::BrokenPipe => Self::BrokenPipe,
            // io::ErrorKind is not exhaustive; what is not told apart above is "other".
            _ => Self::Other,
        }
    }
}

impl HandshakeFailure {
    /// Classifies what tokio-rustls's acceptor returned.
    pub(crate) fn of(err: &io::Error) -> Self {
        let Some(tls) = err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        else {
            return Self::Io(IoFailure::from(err));
        };
        match tls {
            rustls::Error::AlertReceived(alert) => Self::AlertReceived(Alert::from(*alert)),
            rustls::Error::InvalidCertificate(_) => Self::InvalidClientCertificate,
            rustls::Error::NoCertificatesPresented => Self::NoClientCertificate,
            rustls::Error::PeerIncompatible(_) => Self::PeerIncompatible,
            rustls::Error::PeerMisbehaved(_) => Self::PeerMisbehaved,
            // rustls::Error is not exhaustive; the rest are told apart only in the log.
            _ => Self::OtherTls,
        }
    }
}

/// Serialises a value as its `Display` name.
macro_rules! serialize_as_name {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
    )*};
}
serialize_as_name!(SessionEnd, HandshakeFailure, IoFailure, Limit);

/// Deserialises a value from its `Display` name, for readers of the session log.
macro_rules! deserialize_from_name {
    ($($t:ty),*) => {$(
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
                name.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
deserialize_from_name!(SessionEnd, HandshakeFailure, IoFailure);

/// A name that is not the `Display` of any [`SessionEnd`], [`HandshakeFailure`] or
/// [`IoFailure`].
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown {what} {name:?}")]
pub struct UnknownName {
    what: &'static str,
    name: String,
}

impl UnknownName {
    fn new(what: &'static str, name: &str) -> Self {
        Self {
            what,
            name: name.to_owned(),
        }
    }
}

impl FromStr for SessionEnd {
    type Err = UnknownName;

    /// Reads back what [`Display`](fmt::Display) wrote.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownName::new("session end", s);
        if let Some(rest) = s.strip_prefix("behaviour:") {
            return rest.parse().map(Self::Behaviour).map_err(|_| unknown());
        }
        if let Some(rest) = s.strip_prefix("handshake-failed:") {
            return rest
                .parse()
                .map(Self::HandshakeFailed)
                .map_err(|_| unknown());
        }
        if let Some(rest) = s.strip_prefix("io:") {
            return rest.parse().map(Self::Io).map_err(|_| unknown());
        }
        if let Some(rest) = s.strip_prefix("legacy-answer:") {
            return Answer::from_display(rest)
                .map(Self::LegacyAnswer)
                .ok_or_else(unknown);
        }
        Ok(match s {
            "connection-cap" => Self::ConnectionCap,
            "handshake-timeout" => Self::HandshakeTimeout,
            "idle-timeout" => Self::IdleTimeout,
            "request-timeout" => Self::RequestTimeout,
            "shutdown" => Self::Shutdown,
            "starttls-inside-tls" => Self::StartTlsInsideTls,
            "truncated" => Self::Truncated,
            _ => Self::Machine(CloseReason::from_name(s).ok_or_else(unknown)?),
        })
    }
}

impl FromStr for HandshakeFailure {
    type Err = UnknownName;

    /// Reads back what [`Display`](fmt::Display) wrote.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownName::new("handshake failure", s);
        if let Some(alert) = s.strip_prefix("alert-received:") {
            return Alert::from_display(alert)
                .map(Self::AlertReceived)
                .ok_or_else(unknown);
        }
        Ok(match s {
            "invalid-client-certificate" => Self::InvalidClientCertificate,
            "no-client-certificate" => Self::NoClientCertificate,
            "peer-incompatible" => Self::PeerIncompatible,
            "peer-misbehaved" => Self::PeerMisbehaved,
            "not-tls" => Self::NotTls,
            "other-tls" => Self::OtherTls,
            "timeout" => Self::Timeout,
            _ => Self::Io(s.parse().map_err(|_| unknown())?),
        })
    }
}

impl FromStr for IoFailure {
    type Err = UnknownName;

    /// Reads back what [`Display`](fmt::Display) wrote.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "eof" => Self::Eof,
            "reset" => Self::Reset,
            "broken-pipe" => Self::BrokenPipe,
            "other" => Self::Other,
            _ => return Err(UnknownName::new("i/o failure", s)),
        })
    }
}

impl Stats {
    /// Counters that also write a [`SessionRecord`](crate::session_log::SessionRecord) to `log`
    /// for every session that ends (refused connections included). Several servers may share a
    /// log.
    pub fn with_session_log(log: Arc<SessionLog>) -> Self {
        Self {
            inner: Arc::new(Inner {
                session_log: Some(log),
                ..Inner::default()
            }),
        }
    }

    /// The session log, if these counters write one.
    pub(crate) fn session_log(&self) -> Option<&SessionLog> {
        self.inner.session_log.as_deref()
    }

    /// Copies the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let i = &self.inner;
        let maps = self.maps();
        StatsSnapshot {
            connections: i.connections.load(Ordering::SeqCst),
            active: i.active.load(Ordering::SeqCst),
            refused_connections: i.refused_connections.load(Ordering::SeqCst),
            upgrades: i.upgrades.load(Ordering::SeqCst),
            handshakes_ok: i.handshakes_ok.load(Ordering::SeqCst),
            handshake_failures: maps.handshake_failures.clone(),
            injected_bytes_discarded: i.injected_bytes_discarded.load(Ordering::SeqCst),
            limit_hits: maps.limit_hits.clone(),
            session_ends: maps.session_ends.clone(),
            frames: i.frames.load(Ordering::SeqCst),
            mails: i.mails.load(Ordering::SeqCst),
            peak_buffered_bytes: i.peak_buffered_bytes.load(Ordering::SeqCst),
        }
    }

    /// Copies the transcripts kept (at most [`MAX_TRANSCRIPTS`], oldest first), the running
    /// sessions' included.
    pub fn transcripts(&self) -> Vec<Transcript> {
        self.maps()
            .transcripts
            .iter()
            .map(|t| lock(t).clone())
            .collect()
    }

    fn maps(&self) -> MutexGuard<'_, Maps> {
        lock(&self.inner.maps)
    }

    pub(crate) fn record_connection(&self) -> TranscriptHandle {
        self.inner.connections.fetch_add(1, Ordering::SeqCst);
        let id = self.inner.next_id.fetch_add(1, Ordering::SeqCst);
        let transcript = Arc::new(Mutex::new(Transcript {
            id,
            chunks: Vec::new(),
            dropped_bytes: 0,
            end: None,
            upgraded: false,
            handshake_completed: false,
            client_hello: None,
        }));
        let mut maps = self.maps();
        if maps.transcripts.len() >= MAX_TRANSCRIPTS {
            maps.transcripts.pop_front();
        }
        maps.transcripts.push_back(transcript.clone());
        TranscriptHandle {
            transcript,
            kept: 0,
        }
    }

    pub(crate) fn record_session_start(&self) {
        self.inner.active.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn record_session_end(&self) {
        self.inner.active.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn record_refused_connection(&self) {
        self.inner
            .refused_connections
            .fetch_add(1, Ordering::SeqCst);
        self.record_limit_hit(Limit::MaxConnections);
    }

    pub(crate) fn record_upgrade(&self) {
        self.inner.upgrades.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn record_handshake(&self) {
        self.inner.handshakes_ok.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn record_handshake_failure(&self, why: HandshakeFailure) {
        *self.maps().handshake_failures.entry(why).or_default() += 1;
    }

    pub(crate) fn record_discarded_injection(&self, bytes: usize) {
        self.inner
            .injected_bytes_discarded
            .fetch_add(bytes as u64, Ordering::SeqCst);
    }

    pub(crate) fn record_limit_hit(&self, limit: Limit) {
        *self.maps().limit_hits.entry(limit).or_default() += 1;
    }

    pub(crate) fn record_frame(&self) {
        self.inner.frames.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn record_buffered(&self, bytes: usize) {
        self.inner
            .peak_buffered_bytes
            .fetch_max(bytes as u64, Ordering::SeqCst);
    }

    pub(crate) fn record_mail(&self) {
        self.inner.mails.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn record_end(&self, handle: &TranscriptHandle, end: SessionEnd) {
        if let Some(limit) = end.limit() {
            self.record_limit_hit(limit);
        }
        *self.maps().session_ends.entry(end).or_default() += 1;
        lock(&handle.transcript).end = Some(end);
        self.inner.closed.fetch_add(1, Ordering::SeqCst);
        self.inner.closed_notify.notify_waiters();
    }

    /// Number of connections whose close reason is recorded (refused ones included).
    pub fn closed_count(&self) -> u64 {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Waits until at least `count` connections have ended (refused ones included).
    ///
    /// Close reasons and counters are recorded before the socket is closed, so after this
    /// returns the stats and transcripts of those connections are final.
    pub async fn wait_closed(&self, count: u64) {
        loop {
            let notified = self.inner.closed_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.closed_count() >= count {
                return;
            }
            notified.await;
        }
    }
}

impl Transcript {
    /// All bytes received in `phase`, concatenated.
    pub fn bytes(&self, phase: Phase) -> Vec<u8> {
        self.chunks
            .iter()
            .filter(|(p, _)| *p == phase)
            .flat_map(|(_, b)| b.iter().copied())
            .collect()
    }

    /// How many plaintext bytes arrived after the first occurrence of `marker` in the
    /// plaintext bytes (`Some(0)`: nothing followed the refused STARTTLS), or `None` when
    /// `marker` never arrived.
    pub fn plaintext_after(&self, marker: &[u8]) -> Option<usize> {
        let plain = self.bytes(Phase::Plaintext);
        let at = plain
            .windows(marker.len().max(1))
            .position(|w| w == marker)?;
        Some(plain.len() - at - marker.len())
    }
}

/// The recording end of one connection's transcript.
#[derive(Debug)]
pub(crate) struct TranscriptHandle {
    transcript: Arc<Mutex<Transcript>>,
    kept: usize,
}

impl TranscriptHandle {
    /// The connection's number (order of acceptance, from 0).
    pub(crate) fn id(&self) -> u64 {
        lock(&self.transcript).id
    }

    /// A copy of the transcript as it is now.
    pub(crate) fn snapshot(&self) -> Transcript {
        lock(&self.transcript).clone()
    }

    /// Notes that the go-ahead was given.
    pub(crate) fn record_upgrade(&mut self) {
        lock(&self.transcript).upgraded = true;
    }

    /// Notes that the TLS handshake completed.
    pub(crate) fn record_handshake(&mut self) {
        lock(&self.transcript).handshake_completed = true;
    }

    pub(crate) fn record(&mut self, phase: Phase, data: &[u8]) {
        let room = MAX_TRANSCRIPT_BYTES - self.kept;
        let (keep, drop) = data.split_at(data.len().min(room));
        self.kept += keep.len();
        let mut t = lock(&self.transcript);
        t.dropped_bytes += drop.len() as u64;
        if keep.is_empty() {
            return;
        }
        match t.chunks.last_mut() {
            Some((p, last)) if *p == phase => last.extend_from_slice(keep),
            _ => t.chunks.push((phase, keep.to_vec())),
        }
    }

    /// Takes the last `n` plaintext bytes out again (they were the start of the ClientHello).
    pub(crate) fn unrecord_plaintext_tail(&mut self, mut n: usize) {
        let mut t = lock(&self.transcript);
        // The newest bytes are the dropped ones, if any.
        let from_dropped = t.dropped_bytes.min(n as u64);
        t.dropped_bytes -= from_dropped;
        n -= from_dropped as usize;
        while n > 0 {
            let Some((Phase::Plaintext, last)) = t.chunks.last_mut() else {
                break;
            };
            let cut = n.min(last.len());
            last.truncate(last.len() - cut);
            self.kept -= cut;
            n -= cut;
            if last.is_empty() {
                t.chunks.pop();
            }
        }
    }
}

impl TranscriptHandle {
    /// The recorder of the ClientHello, for the stream the handshake reads from.
    pub(crate) fn hello_recorder(&self) -> HelloRecorder {
        HelloRecorder {
            transcript: Arc::clone(&self.transcript),
            done: false,
        }
    }
}

/// Keeps the first bytes a TLS handshake reads in [`Transcript::client_hello`], until they hold
/// a whole ClientHello (or bytes that can never become one), or [`MAX_CLIENT_HELLO_BYTES`].
#[derive(Debug)]
pub(crate) struct HelloRecorder {
    transcript: Arc<Mutex<Transcript>>,
    done: bool,
}

impl HelloRecorder {
    pub(crate) fn record(&mut self, data: &[u8]) {
        if self.done || data.is_empty() {
            return;
        }
        let mut t = lock(&self.transcript);
        let hello = t.client_hello.get_or_insert_with(Vec::new);
        let room = MAX_CLIENT_HELLO_BYTES - hello.len();
        hello.extend_from_slice(&data[..data.len().min(room)]);
        self.done = hello.len() >= MAX_CLIENT_HELLO_BYTES
            || proto::hello::parse(hello) != Err(proto::hello::HelloError::Truncated);
    }
}

/// Locks, ignoring poisoning: the data are counters and byte logs, valid after any panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcripts_keep_phases_in_order_and_are_bounded() {
        let stats = Stats::default();
        let mut handle = stats.record_connection();
        handle.record(Phase::Plaintext, b"EHLO x\r\n");
        handle.record(Phase::Plaintext, b"STARTTLS\r\n");
        handle.record(Phase::Tls, b"EHLO y\r\n");
        let t = &stats.transcripts()[0];
        assert_eq!(t.chunks.len(), 2);
        assert_eq!(t.bytes(Phase::Plaintext), b"EHLO x\r\nSTARTTLS\r\n");
        assert_eq!(t.plaintext_after(b"STARTTLS\r\n"), Some(0));
        assert_eq!(t.plaintext_after(b"EHLO x\r\n"), Some(10));
        assert_eq!(t.plaintext_after(b"QUIT"), None);

        let mut big = stats.record_connection();
        big.record(Phase::Plaintext, &vec![b'a'; MAX_TRANSCRIPT_BYTES + 10]);
        assert_eq!(stats.transcripts()[1].dropped_bytes, 10);
        big.unrecord_plaintext_tail(15);
        let t = &stats.transcripts()[1];
        assert_eq!(
            (t.dropped_bytes, t.bytes(Phase::Plaintext).len()),
            (0, MAX_TRANSCRIPT_BYTES - 5)
        );
    }

    #[test]
    fn the_client_hello_prefix_is_taken_out_of_the_plaintext() {
        let stats = Stats::default();
        let mut handle = stats.record_connection();
        handle.record(Phase::Plaintext, b"\x00\x00\x00\x01a");
        handle.record(Phase::Plaintext, b"\x16\x03\x01");
        handle.unrecord_plaintext_tail(3);
        assert_eq!(
            stats.transcripts()[0].bytes(Phase::Plaintext),
            b"\x00\x00\x00\x01a"
        );
    }

    #[test]
    fn ends_are_counted_by_why_and_limit() {
        let stats = Stats::default();
        let handle = stats.record_connection();
        stats.record_end(&handle, SessionEnd::Machine(CloseReason::LineTooLong));
        let other = stats.record_connection();
        stats.record_end(&other, SessionEnd::Machine(CloseReason::Quit));
        let snap = stats.snapshot();
        assert_eq!(snap.limit_hits, BTreeMap::from([(Limit::LineLen, 1)]));
        assert_eq!(
            snap.session_ends,
            BTreeMap::from([
                (SessionEnd::Machine(CloseReason::Quit), 1),
                (SessionEnd::Machine(CloseReason::LineTooLong), 1),
            ])
        );
        assert_eq!(stats.closed_count(), 2);
        assert_eq!(
            stats.transcripts()[0].end,
            Some(SessionEnd::Machine(CloseReason::LineTooLong))
        );
    }

    /// Every limit is named once, and the names are what the snapshot serialises.
    #[test]
    fn names_are_stable_and_serialised() {
        let ends = [
            (
                SessionEnd::Machine(CloseReason::LineTooLong),
                "line-too-long",
            ),
            (
                SessionEnd::HandshakeFailed(HandshakeFailure::AlertReceived(Alert(48))),
                "handshake-failed:alert-received:unknown_ca",
            ),
            (
                SessionEnd::HandshakeFailed(HandshakeFailure::Io(IoFailure::Eof)),
                "handshake-failed:eof",
            ),
            (SessionEnd::Io(IoFailure::Reset), "io:reset"),
            (
                SessionEnd::Behaviour(Behaviour::CloseMidHandshake),
                "behaviour:close-mid-handshake",
            ),
        ];
        for (end, name) in ends {
            assert_eq!(end.to_string(), name);
            assert_eq!(serde_json::to_value(end).unwrap(), name);
        }
        let stats = Stats::default();
        stats.record_handshake_failure(HandshakeFailure::Timeout);
        stats.record_refused_connection();
        let json = serde_json::to_value(stats.snapshot()).unwrap();
        assert_eq!(json["handshake_failures"]["timeout"], 1);
        assert_eq!(json["limit_hits"]["max-connections"], 1);
    }

    /// Every session end, with every alert code, reads back from its name and from serde.
    #[test]
    fn every_session_end_reads_back_from_its_name() {
        let io = [
            IoFailure::Eof,
            IoFailure::Reset,
            IoFailure::BrokenPipe,
            IoFailure::Other,
        ];
        let mut failures: Vec<HandshakeFailure> = (0..=u8::MAX)
            .map(|code| HandshakeFailure::AlertReceived(Alert(code)))
            .collect();
        failures.extend([
            HandshakeFailure::InvalidClientCertificate,
            HandshakeFailure::NoClientCertificate,
            HandshakeFailure::PeerIncompatible,
            HandshakeFailure::PeerMisbehaved,
            HandshakeFailure::NotTls,
            HandshakeFailure::OtherTls,
            HandshakeFailure::Timeout,
        ]);
        failures.extend(io.map(HandshakeFailure::Io));
        let mut ends: Vec<SessionEnd> = Behaviour::ALL.map(SessionEnd::Behaviour).to_vec();
        ends.extend(failures.iter().copied().map(SessionEnd::HandshakeFailed));
        ends.extend(io.map(SessionEnd::Io));
        ends.extend(CloseReason::ALL.map(SessionEnd::Machine));
        ends.extend((0..=u8::MAX).map(|code| SessionEnd::LegacyAnswer(Answer::Alert(Alert(code)))));
        ends.extend((0..=u8::MAX).map(|kind| SessionEnd::LegacyAnswer(Answer::Handshake(kind))));
        ends.extend([
            SessionEnd::LegacyAnswer(Answer::ChangeCipherSpec),
            SessionEnd::LegacyAnswer(Answer::ApplicationData),
            SessionEnd::LegacyAnswer(Answer::NotTls),
        ]);
        ends.extend([
            SessionEnd::ConnectionCap,
            SessionEnd::HandshakeTimeout,
            SessionEnd::IdleTimeout,
            SessionEnd::RequestTimeout,
            SessionEnd::Shutdown,
            SessionEnd::StartTlsInsideTls,
            SessionEnd::Truncated,
        ]);
        let names: std::collections::BTreeSet<String> =
            ends.iter().map(ToString::to_string).collect();
        assert_eq!(names.len(), ends.len(), "two ends share a name");
        for end in ends {
            assert_eq!(end.to_string().parse::<SessionEnd>(), Ok(end));
            let json = serde_json::to_string(&end).unwrap();
            assert_eq!(serde_json::from_str::<SessionEnd>(&json).unwrap(), end);
        }
        for bad in [
            "",
            "quit ",
            "io:",
            "handshake-failed:alert-received:unknown(48)",
            "Shutdown",
        ] {
            assert!(bad.parse::<SessionEnd>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn io_errors_and_tls_errors_are_classified() {
        let eof = io::Error::from(io::ErrorKind::UnexpectedEof);
        assert_eq!(
            HandshakeFailure::of(&eof),
            HandshakeFailure::Io(IoFailure::Eof)
        );
        let alert = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::BadCertificate),
        );
        assert_eq!(
            HandshakeFailure::of(&alert),
            HandshakeFailure::AlertReceived(Alert(42))
        );
        let none = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::NoCertificatesPresented,
        );
        assert_eq!(
            HandshakeFailure::of(&none),
            HandshakeFailure::NoClientCertificate
        );
        let other = io::Error::other("boom");
        assert_eq!(
            HandshakeFailure::of(&other),
            HandshakeFailure::Io(IoFailure::Other)
        );
    }
}
