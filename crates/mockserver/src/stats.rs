//! Per-server counters and per-connection transcripts that tests can assert on.
//!
//! Every counter is updated before the server writes the reply or closes the socket that makes
//! it observable, so a test that has read the server's answer (or its EOF) sees the counter.

use std::borrow::Cow;
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::Serialize;
use tokio::sync::Notify;

/// Most transcripts a server keeps (the oldest are dropped first).
pub const MAX_TRANSCRIPTS: usize = 1024;
/// Most received bytes one transcript keeps; later bytes are only counted.
pub const MAX_TRANSCRIPT_BYTES: usize = 16 * 1024;

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
}

#[derive(Debug, Default)]
struct Maps {
    handshake_failures_by_kind: BTreeMap<String, u64>,
    limit_hits: BTreeMap<String, u64>,
    close_reasons: BTreeMap<String, u64>,
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
    /// Failed handshakes by kind (`timeout`, `eof`, `alert-received:bad-certificate`, ...).
    pub handshake_failures_by_kind: BTreeMap<String, u64>,
    /// Bytes pipelined after STARTTLS and dropped (injection policy `Discard`).
    pub injected_bytes_discarded: u64,
    /// Limit violations by limit (`line-len`, `idle-timeout`, `max-connections`, ...).
    pub limit_hits: BTreeMap<String, u64>,
    /// Ended sessions by close reason.
    pub close_reasons: BTreeMap<String, u64>,
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
    pub close_reason: Option<CloseReason>,
}

/// Why a session ended.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub enum CloseReason {
    /// The behaviour closes here (close-mid-handshake, garbage, legacy alert).
    Behaviour(String),
    /// The connection cap was reached; the dialect's refusal was sent.
    ConnectionCap,
    /// The TLS handshake failed; the kind as in `handshake_failures_by_kind`.
    HandshakeFailed(String),
    /// The handshake (or the ClientHello) did not complete in time.
    HandshakeTimeout,
    /// No byte from the client for the idle timeout.
    IdleTimeout,
    /// Reading or writing failed.
    Io(String),
    /// The dialect machine closed the session (QUIT, limits, injection rejected, EOF, ...).
    Machine(String),
    /// A request began but was not complete within the request timeout.
    RequestTimeout,
    /// The server shut down.
    Shutdown,
    /// The client closed the TLS connection without `close_notify` (what it sent last may be
    /// truncated).
    Truncated,
}

impl Stats {
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
            handshake_failures_by_kind: maps.handshake_failures_by_kind.clone(),
            injected_bytes_discarded: i.injected_bytes_discarded.load(Ordering::SeqCst),
            limit_hits: maps.limit_hits.clone(),
            close_reasons: maps.close_reasons.clone(),
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

    pub(crate) fn connection_accepted(&self) -> TranscriptHandle {
        self.inner.connections.fetch_add(1, Ordering::SeqCst);
        let id = self.inner.next_id.fetch_add(1, Ordering::SeqCst);
        let transcript = Arc::new(Mutex::new(Transcript {
            id,
            chunks: Vec::new(),
            dropped_bytes: 0,
            close_reason: None,
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

    pub(crate) fn session_started(&self) {
        self.inner.active.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn session_ended(&self) {
        self.inner.active.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn connection_refused(&self) {
        self.inner
            .refused_connections
            .fetch_add(1, Ordering::SeqCst);
        self.limit_hit("max-connections");
    }

    pub(crate) fn upgrade(&self) {
        self.inner.upgrades.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn handshake_ok(&self) {
        self.inner.handshakes_ok.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn handshake_failed(&self, kind: &str) {
        *self
            .maps()
            .handshake_failures_by_kind
            .entry(kind.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn injected_discarded(&self, bytes: usize) {
        self.inner
            .injected_bytes_discarded
            .fetch_add(bytes as u64, Ordering::SeqCst);
    }

    pub(crate) fn limit_hit(&self, limit: &str) {
        *self.maps().limit_hits.entry(limit.to_owned()).or_default() += 1;
    }

    pub(crate) fn frame(&self) {
        self.inner.frames.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn buffered(&self, bytes: usize) {
        self.inner
            .peak_buffered_bytes
            .fetch_max(bytes as u64, Ordering::SeqCst);
    }

    pub(crate) fn mail(&self) {
        self.inner.mails.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn closed(&self, handle: &TranscriptHandle, reason: CloseReason) {
        if let Some(limit) = reason.limit() {
            self.limit_hit(limit);
        }
        {
            // Counted without allocating the name once it has been seen.
            let kind = reason.kind_name();
            let mut maps = self.maps();
            match maps.close_reasons.get_mut(kind.as_ref()) {
                Some(count) => *count += 1,
                None => {
                    maps.close_reasons.insert(kind.into_owned(), 1);
                }
            }
        }
        lock(&handle.transcript).close_reason = Some(reason);
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

impl CloseReason {
    /// The limit this close enforces, if any.
    fn limit(&self) -> Option<&'static str> {
        match self {
            Self::HandshakeTimeout => Some("handshake-timeout"),
            Self::IdleTimeout => Some("idle-timeout"),
            Self::RequestTimeout => Some("request-timeout"),
            Self::Machine(m) => match m.as_str() {
                "line-too-long" => Some("line-len"),
                "frame-too-long" => Some("frame-len"),
                "too-many-errors" => Some("max-errors"),
                _ => None,
            },
            _ => None,
        }
    }

    /// A short stable name, for the `close_reasons` counter.
    pub fn kind(&self) -> String {
        self.kind_name().into_owned()
    }

    fn kind_name(&self) -> Cow<'_, str> {
        Cow::Borrowed(match self {
            Self::Behaviour(b) => return Cow::Owned(format!("behaviour:{b}")),
            Self::ConnectionCap => "connection-cap",
            Self::HandshakeFailed(_) => "handshake-failed",
            Self::HandshakeTimeout => "handshake-timeout",
            Self::IdleTimeout => "idle-timeout",
            Self::Io(_) => "io",
            Self::Machine(m) => m,
            Self::RequestTimeout => "request-timeout",
            Self::Shutdown => "shutdown",
            Self::Truncated => "truncated",
        })
    }
}

impl fmt::Display for CloseReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HandshakeFailed(k) => write!(f, "handshake failed: {k}"),
            Self::Io(e) => write!(f, "io error: {e}"),
            _ => f.write_str(&self.kind()),
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

    /// Whether any byte arrived in plaintext after the first occurrence of `marker` in the
    /// plaintext bytes (for example "nothing followed the refused STARTTLS").
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
        let mut handle = stats.connection_accepted();
        handle.record(Phase::Plaintext, b"EHLO x\r\n");
        handle.record(Phase::Plaintext, b"STARTTLS\r\n");
        handle.record(Phase::Tls, b"EHLO y\r\n");
        let t = &stats.transcripts()[0];
        assert_eq!(t.chunks.len(), 2);
        assert_eq!(t.bytes(Phase::Plaintext), b"EHLO x\r\nSTARTTLS\r\n");
        assert_eq!(t.plaintext_after(b"STARTTLS\r\n"), Some(0));
        assert_eq!(t.plaintext_after(b"EHLO x\r\n"), Some(10));
        assert_eq!(t.plaintext_after(b"QUIT"), None);

        let mut big = stats.connection_accepted();
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
        let mut handle = stats.connection_accepted();
        handle.record(Phase::Plaintext, b"\x00\x00\x00\x01a");
        handle.record(Phase::Plaintext, b"\x16\x03\x01");
        handle.unrecord_plaintext_tail(3);
        assert_eq!(
            stats.transcripts()[0].bytes(Phase::Plaintext),
            b"\x00\x00\x00\x01a"
        );
    }

    #[test]
    fn closes_are_counted_by_reason_and_limit() {
        let stats = Stats::default();
        let handle = stats.connection_accepted();
        stats.closed(&handle, CloseReason::Machine("line-too-long".into()));
        let snap = stats.snapshot();
        assert_eq!(snap.limit_hits.get("line-len"), Some(&1));
        assert_eq!(snap.close_reasons.get("line-too-long"), Some(&1));
        assert_eq!(stats.closed_count(), 1);
    }
}
