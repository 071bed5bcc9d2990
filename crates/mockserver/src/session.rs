//! One connection: moves bytes between the socket, the dialect's `ServerMachine` and
//! tokio-rustls, and enforces the time limits.
//!
//! Protocol decisions (what to answer, when to upgrade, what pipelined bytes become) belong to
//! the machine; this driver only adds what needs a clock or a socket: timeouts, the TLS
//! handshake, the hostile behaviours that act at the byte level after the go-ahead, and the
//! graceful-shutdown message.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use proto::starttls::{
    Dialect, InjectionPolicy, MAX_TLS_PREFIX, ServerBehaviour, ServerEvent, ServerMachine,
};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::config::{Behaviour, MockConfig};
use crate::hostile::{self, FirstRecord};
use crate::rewind::Rewind;
use crate::session_log::{self, HandshakeKind, HelloSummary, Negotiated, Plaintext, SessionRecord};
use crate::stats::{
    HandshakeFailure, HelloRecorder, IoFailure, Phase, SessionEnd, Stats, Transcript,
    TranscriptHandle,
};
use crate::wire::{Counted, WireCounts};

/// Size of the read buffer; the only per-connection buffer besides the machine's own.
const READ_BUF_LEN: usize = 8 * 1024;

/// What every session of one server shares.
pub(crate) struct Shared {
    pub(crate) config: Arc<MockConfig>,
    pub(crate) acceptor: TlsAcceptor,
    pub(crate) stats: Stats,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The conversation loop's only way to stop without closing: the machine gave the go-ahead,
/// start TLS.
struct GoAhead;

/// Builds the machine for a session from the server's configuration.
pub(crate) fn machine(config: &MockConfig) -> ServerMachine {
    let machine_config = proto::starttls::ServerSettings {
        hostname: config.hostname.clone(),
        behaviour: machine_behaviour(config.behaviour, config.dialect),
        injection_policy: config.injection_policy,
        max_line_len: config.limits.line_len,
        max_frame_len: config.limits.frame_len,
        max_errors: config.limits.max_errors,
    };
    ServerMachine::new(config.dialect, machine_config)
}

/// The machine's part of a behaviour; the byte-level ones run a honest machine.
fn machine_behaviour(behaviour: Behaviour, dialect: Dialect) -> ServerBehaviour {
    match behaviour {
        Behaviour::StartTlsNotAdvertised => ServerBehaviour::StartTlsNotAdvertised,
        Behaviour::StartTlsRefused(refusal) => ServerBehaviour::StartTlsRefused(refusal),
        Behaviour::TlsRequired => ServerBehaviour::TlsRequired,
        Behaviour::Preauth => ServerBehaviour::Preauth,
        Behaviour::ResponseInjection => {
            ServerBehaviour::ResponseInjection(injected_response(dialect))
        }
        Behaviour::Honest
        | Behaviour::StallAfterGoAhead
        | Behaviour::GarbageInsteadOfServerHello
        | Behaviour::CloseMidHandshake
        | Behaviour::LegacyOnly(_)
        | Behaviour::LegacyServerHello(_) => ServerBehaviour::Honest,
    }
}

/// A plausible reply a man in the middle would plant after the go-ahead.
pub fn injected_response(dialect: Dialect) -> Vec<u8> {
    match dialect {
        Dialect::Ftp => b"211-Features:\r\n INJECTED\r\n211 End\r\n".to_vec(),
        Dialect::Irc => b":injected CAP * LS :INJECTED sasl\r\n".to_vec(),
        Dialect::Smtp | Dialect::Lmtp => b"250-INJECTED\r\n250 AUTH PLAIN\r\n".to_vec(),
        Dialect::Imap => b"* CAPABILITY IMAP4rev1 INJECTED\r\n".to_vec(),
        Dialect::Pop3 => b"+OK INJECTED\r\n".to_vec(),
        Dialect::Nntp => b"101 Capability list:\r\nINJECTED\r\n.\r\n".to_vec(),
        Dialect::Sieve => b"\"INJECTED\"\r\nOK\r\n".to_vec(),
        // AuthenticationOk and ReadyForQuery: a login nobody made.
        Dialect::Postgres => b"R\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I".to_vec(),
        Dialect::Framed | Dialect::Implicit => b"\x00\x00\x00\x08INJECTED".to_vec(),
        // An OK packet at sequence 2, as if the login had succeeded, planted after the
        // SSLRequest where the client expects its ServerHello.
        Dialect::Mysql => b"\x07\x00\x00\x02\x00\x00\x00\x02\x00\x00\x00".to_vec(),
    }
}

/// What the session log says of a session besides its transcript.
#[derive(Debug)]
pub(crate) struct Facts {
    local: SocketAddr,
    peer: SocketAddr,
    accepted: Instant,
    started_unix_ms: u64,
    starttls_at: Option<Duration>,
    /// Bytes received before the go-ahead's TLS began (the ClientHello's first bytes left out).
    plaintext_bytes: Option<u64>,
    handshake_at: Option<Duration>,
    negotiated: Option<Negotiated>,
    wire: Arc<WireCounts>,
}

impl Facts {
    /// Notes the connection's addresses and the time it was accepted.
    pub(crate) fn accepted(stream: &TcpStream, peer: SocketAddr) -> Self {
        let started_unix_ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            local: stream
                .local_addr()
                .unwrap_or_else(|_| SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))),
            peer,
            accepted: Instant::now(),
            started_unix_ms,
            starttls_at: None,
            plaintext_bytes: None,
            handshake_at: None,
            negotiated: None,
            wire: Arc::default(),
        }
    }

    /// Notes bytes written outside the session's counted stream (the refusal of a connection
    /// over the cap).
    pub(crate) fn count_sent(&self, n: usize) {
        self.wire.add_sent(n);
    }

    /// The session log's line for this session.
    pub(crate) fn record(
        &self,
        config: &MockConfig,
        transcript: &Transcript,
        injected_bytes_discarded: u64,
        end: SessionEnd,
    ) -> SessionRecord {
        let (client_hello, client_hello_error) = match transcript.client_hello.as_deref() {
            None => (None, None),
            Some(bytes) => match proto::hello::parse(bytes) {
                Ok(hello) => (Some(HelloSummary::of(&hello)), None),
                Err(e) => (None, Some(e.to_string())),
            },
        };
        let plaintext = transcript.bytes(Phase::Plaintext);
        let plaintext_bytes = self.plaintext_bytes.unwrap_or_else(|| self.wire.received());
        SessionRecord {
            id: transcript.id,
            local: self.local,
            peer: self.peer,
            started_unix_ms: self.started_unix_ms,
            duration_ms: millis(self.accepted.elapsed()),
            dialect: config.dialect,
            behaviour: config.behaviour,
            scenario: config.identity.scenario,
            key_type: config.identity.key_kind,
            plaintext: Plaintext::of(config.dialect, &plaintext, plaintext_bytes),
            starttls: transcript.upgraded,
            starttls_ms: self.starttls_at.map(millis),
            handshake: transcript.handshake_completed,
            handshake_ms: self.handshake_at.map(millis),
            tls: self.negotiated.clone(),
            client_hello,
            client_hello_error,
            injected_bytes_discarded,
            bytes_received: self.wire.received(),
            bytes_sent: self.wire.sent(),
            end,
        }
    }
}

/// A value for a log field, or `none`.
struct OrNone<T>(Option<T>);

impl<T: std::fmt::Display> std::fmt::Display for OrNone<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Some(value) => value.fmt(f),
            None => f.write_str("none"),
        }
    }
}

/// Milliseconds, to the microsecond.
fn millis(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

/// What a completed handshake negotiated, as the session log writes it.
fn negotiated(conn: &rustls::ServerConnection) -> Negotiated {
    let client_certificate_subject = conn
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|der| match x509_parser::parse_x509_certificate(der) {
            Ok((_, cert)) => cert.subject().to_string(),
            Err(_) => "<unparsable>".to_owned(),
        });
    Negotiated {
        version: conn
            .protocol_version()
            .and_then(proto::level::TlsVersion::from_rustls),
        cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()).map(|s| {
            s.as_str()
                .map_or_else(|| format!("0x{:04x}", u16::from(s)), str::to_owned)
        }),
        key_exchange_group: conn.negotiated_key_exchange_group().map(|g| {
            let name = g.name();
            name.as_str()
                .map_or_else(|| format!("0x{:04x}", u16::from(name)), str::to_owned)
        }),
        alpn: conn.alpn_protocol().map(session_log::escape),
        sni: conn.server_name().map(str::to_owned),
        handshake_kind: conn.handshake_kind().map(|kind| match kind {
            rustls::HandshakeKind::Full => HandshakeKind::Full,
            rustls::HandshakeKind::FullWithHelloRetryRequest => {
                HandshakeKind::FullWithHelloRetryRequest
            }
            rustls::HandshakeKind::Resumed => HandshakeKind::Resumed,
        }),
        client_certificate_subject,
    }
}

/// Serves one accepted connection until it closes; records the close reason first.
pub(crate) async fn serve(
    stream: TcpStream,
    shared: Arc<Shared>,
    mut transcript: TranscriptHandle,
    shutdown: watch::Receiver<bool>,
    permit: OwnedSemaphorePermit,
    facts: Option<Facts>,
) {
    shared.stats.record_session_start();
    let wire = facts.as_ref().map(|f| f.wire.clone());
    let mut session = Session {
        machine: machine(&shared.config),
        reported_discards: 0,
        shared,
        shutdown,
        permit: Some(permit),
        facts,
    };
    let reason = session
        .run(Counted::new(stream, wire), &mut transcript)
        .await;
    debug!(%reason, "session closed");
}

struct Session {
    machine: ServerMachine,
    shared: Arc<Shared>,
    shutdown: watch::Receiver<bool>,
    /// Injected bytes already added to the stats.
    reported_discards: usize,
    /// This session's place under the connection cap; given back when the session is
    /// recorded as closed, so that a client that saw the close can connect again at once.
    permit: Option<OwnedSemaphorePermit>,
    /// Kept only when the server writes a session log.
    facts: Option<Facts>,
}

impl Session {
    async fn run(
        &mut self,
        mut stream: Counted<TcpStream>,
        transcript: &mut TranscriptHandle,
    ) -> SessionEnd {
        match self
            .converse(&mut stream, Phase::Plaintext, transcript)
            .await
        {
            Ok(GoAhead) => {}
            Err(reason) => return self.close(reason, stream, transcript).await,
        }
        self.shared.stats.record_upgrade();
        transcript.record_upgrade();
        if let Some(facts) = &mut self.facts {
            facts.starttls_at = Some(facts.accepted.elapsed());
        }
        let mut prefix = self.machine.take_tls_prefix();
        transcript.unrecord_plaintext_tail(prefix.len());
        if let Some(facts) = &mut self.facts {
            let received = facts.wire.received();
            facts.plaintext_bytes = Some(received.saturating_sub(prefix.len() as u64));
        }
        self.report_discards();
        let limits = self.shared.config.limits;
        let deadline = Instant::now() + limits.handshake_timeout;
        let behaviour = self.shared.config.behaviour;
        match behaviour {
            Behaviour::StallAfterGoAhead => {
                let reason = self.stall(&mut stream, prefix, transcript, deadline).await;
                return self.close(reason, stream, transcript).await;
            }
            Behaviour::CloseMidHandshake
            | Behaviour::GarbageInsteadOfServerHello
            | Behaviour::LegacyOnly(_)
            | Behaviour::LegacyServerHello(_) => {
                let recorder = transcript.hello_recorder();
                let reason = self
                    .play_old_server(&mut stream, prefix, recorder, deadline)
                    .await;
                return self.close(reason, stream, transcript).await;
            }
            Behaviour::Honest
            | Behaviour::Preauth
            | Behaviour::ResponseInjection
            | Behaviour::StartTlsNotAdvertised
            | Behaviour::StartTlsRefused(_)
            | Behaviour::TlsRequired => {}
        }
        let config = &self.shared.config;
        if (config.dialect.has_go_ahead() || config.dialect == Dialect::Mysql)
            && config.injection_policy == InjectionPolicy::Vulnerable
        {
            prefix = self
                .read_until_handshake(&mut stream, prefix, deadline)
                .await;
        }
        // Pinned out here so that the socket inside is dropped only after the close reason is
        // recorded.
        let accept = self
            .shared
            .acceptor
            .accept(Rewind::new(prefix, stream).recording(transcript.hello_recorder()))
            .into_fallible();
        tokio::pin!(accept);
        let accepted = tokio::select! {
            r = timeout_at(deadline, &mut accept) => r,
            () = wait_shutdown(&mut self.shutdown) => {
                // Nothing is sent on shutdown mid-handshake: just close.
                let reason = SessionEnd::Shutdown;
                self.finish(&reason, transcript);
                return reason;
            }
        };
        let mut tls = match accepted {
            Ok(Ok(tls)) => tls,
            Ok(Err((err, io))) => {
                let why = HandshakeFailure::of(&err);
                info!(%why, %err, "tls handshake failed");
                self.shared.stats.record_handshake_failure(why);
                let reason = SessionEnd::HandshakeFailed(why);
                return self.close(reason, io.into_inner(), transcript).await;
            }
            Err(_elapsed) => {
                self.shared
                    .stats
                    .record_handshake_failure(HandshakeFailure::Timeout);
                let reason = SessionEnd::HandshakeTimeout;
                self.finish(&reason, transcript);
                return reason;
            }
        };
        {
            let conn = tls.get_ref().1;
            if self.facts.is_some() || tracing::enabled!(tracing::Level::INFO) {
                let n = negotiated(conn);
                info!(
                    version = %OrNone(n.version),
                    suite = %OrNone(n.cipher_suite.as_deref()),
                    group = %OrNone(n.key_exchange_group.as_deref()),
                    alpn = %OrNone(n.alpn.as_deref()),
                    sni = %OrNone(n.sni.as_deref()),
                    kind = %OrNone(n.handshake_kind.map(HandshakeKind::name)),
                    "tls established"
                );
                if let Some(facts) = &mut self.facts {
                    facts.handshake_at = Some(facts.accepted.elapsed());
                    facts.negotiated = Some(n);
                }
            }
        }
        self.shared.stats.record_handshake();
        transcript.record_handshake();
        if !self.machine.accepts_alpn(tls.get_ref().1.alpn_protocol()) {
            // PostgreSQL 17 closes a direct TLS connection that did not negotiate
            // `postgresql`.
            let reason = SessionEnd::Machine(proto::starttls::CloseReason::Fatal);
            return self.close(reason, tls, transcript).await;
        }
        self.machine.handle_tls_established();
        let reason = match self.converse(&mut tls, Phase::Tls, transcript).await {
            Ok(GoAhead) => SessionEnd::StartTlsInsideTls,
            Err(reason) => reason,
        };
        self.close(reason, tls, transcript).await
    }

    /// Answers nothing until `deadline`, but keeps reading: the ClientHello goes to the
    /// transcript's recorder, and whatever follows the client's TLS records on this connection
    /// (a fallback to plaintext) is kept as plaintext. A client that closes its side ends the
    /// session at once: it can send nothing more, and a client that hangs never closes, so
    /// ending here releases no one who is still waiting.
    async fn stall(
        &mut self,
        stream: &mut (impl AsyncRead + Unpin),
        prefix: Vec<u8>,
        transcript: &mut TranscriptHandle,
        deadline: Instant,
    ) -> SessionEnd {
        let mut recorder = transcript.hello_recorder();
        recorder.record(&prefix);
        let mut records = hostile::TlsRecords::new(prefix);
        if let Some(plaintext) = records.plaintext() {
            transcript.record(Phase::Plaintext, &plaintext);
        }
        let mut chunk = vec![0u8; READ_BUF_LEN];
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {
                    self.shared.stats.record_handshake_failure(HandshakeFailure::Timeout);
                    return SessionEnd::HandshakeTimeout;
                }
                () = wait_shutdown(&mut self.shutdown) => return SessionEnd::Shutdown,
                read = stream.read(&mut chunk) => match read {
                    Ok(0) => return SessionEnd::HandshakeFailed(HandshakeFailure::Io(IoFailure::Eof)),
                    Err(e) => {
                        return SessionEnd::HandshakeFailed(HandshakeFailure::Io(IoFailure::from(&e)));
                    }
                    Ok(n) => {
                        let data = &chunk[..n];
                        if records.in_plaintext() {
                            transcript.record(Phase::Plaintext, data);
                        } else {
                            recorder.record(data);
                            records.push(data);
                            if let Some(plaintext) = records.plaintext() {
                                transcript.record(Phase::Plaintext, &plaintext);
                            }
                        }
                    }
                },
            }
        }
    }

    /// A `Vulnerable` server reads on after the go-ahead until a record begins (`0x16`), and
    /// hands the plaintext before it to the machine, which answers it after the handshake as
    /// if it had come inside TLS: what a CVE-2011-0411 server with a read-ahead buffer does
    /// with a command written after the go-ahead, before the ClientHello. Returns the bytes from
    /// the record on; bounded by [`MAX_TLS_PREFIX`] and the handshake deadline.
    async fn read_until_handshake(
        &mut self,
        stream: &mut Counted<TcpStream>,
        mut buf: Vec<u8>,
        deadline: Instant,
    ) -> Vec<u8> {
        let mut chunk = [0u8; 1024];
        loop {
            if let Some(start) = buf.iter().position(|&b| b == 0x16) {
                let record = buf.split_off(start);
                if !buf.is_empty() {
                    self.machine.handle_input(&buf);
                }
                return record;
            }
            if buf.len() > MAX_TLS_PREFIX {
                return buf;
            }
            match timeout_at(deadline, stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                // The handshake that follows fails on what there is.
                _ => return buf,
            }
        }
    }

    /// The hostile behaviours that read the ClientHello and answer it without TLS.
    async fn play_old_server(
        &mut self,
        stream: &mut Counted<TcpStream>,
        prefix: Vec<u8>,
        recorder: HelloRecorder,
        deadline: Instant,
    ) -> SessionEnd {
        let behaviour = self.shared.config.behaviour;
        // The prefix is replayed through the recorder, so that the ClientHello is kept whole.
        let mut recorded = Rewind::new(prefix, &mut *stream).recording(recorder);
        let first_record = hostile::read_first_record(&mut recorded, Vec::new());
        let read = tokio::select! {
            r = timeout_at(deadline, first_record) => r,
            () = wait_shutdown(&mut self.shutdown) => return SessionEnd::Shutdown,
        };
        let client_hello = match read {
            Ok(Ok(FirstRecord::ClientHello(record))) => record,
            Ok(Ok(FirstRecord::Eof)) => {
                return SessionEnd::HandshakeFailed(HandshakeFailure::Io(IoFailure::Eof));
            }
            Ok(Ok(FirstRecord::NotTls)) => {
                return SessionEnd::HandshakeFailed(HandshakeFailure::NotTls);
            }
            Ok(Err(e)) => return SessionEnd::Io(IoFailure::from(&e)),
            Err(_) => {
                self.shared
                    .stats
                    .record_handshake_failure(HandshakeFailure::Timeout);
                return SessionEnd::HandshakeTimeout;
            }
        };
        let mut flight_sent = false;
        let answer: Vec<u8> = match behaviour {
            Behaviour::GarbageInsteadOfServerHello => hostile::GARBAGE.to_vec(),
            Behaviour::LegacyOnly(v) => hostile::legacy_answer(v, &client_hello),
            // A client that offered nothing an old version can use gets the old server's alert.
            Behaviour::LegacyServerHello(v) => {
                match hostile::legacy_flight(v, &client_hello, &self.shared.config.identity.chain) {
                    Some(flight) => {
                        flight_sent = true;
                        flight
                    }
                    None => hostile::protocol_version_alert(v).to_vec(),
                }
            }
            // Closes without a word; the other behaviours never get here.
            Behaviour::CloseMidHandshake
            | Behaviour::Honest
            | Behaviour::Preauth
            | Behaviour::ResponseInjection
            | Behaviour::StallAfterGoAhead
            | Behaviour::StartTlsNotAdvertised
            | Behaviour::StartTlsRefused(_)
            | Behaviour::TlsRequired => Vec::new(),
        };
        if !answer.is_empty()
            && let Err(e) = self.write(&mut recorded, &answer).await
        {
            return e;
        }
        if !flight_sent {
            return SessionEnd::Behaviour(behaviour);
        }
        let reply = tokio::select! {
            r = timeout_at(deadline, hostile::read_legacy_answer(&mut recorded)) => r,
            () = wait_shutdown(&mut self.shutdown) => return SessionEnd::Shutdown,
        };
        match reply {
            Ok(Ok(Some(answer))) => SessionEnd::LegacyAnswer(answer),
            Ok(Ok(None)) => SessionEnd::HandshakeFailed(HandshakeFailure::Io(IoFailure::Eof)),
            Ok(Err(e)) => SessionEnd::HandshakeFailed(HandshakeFailure::Io(IoFailure::from(&e))),
            Err(_) => {
                self.shared
                    .stats
                    .record_handshake_failure(HandshakeFailure::Timeout);
                SessionEnd::HandshakeTimeout
            }
        }
    }

    /// Talks through the machine until it gives the go-ahead or the session must close.
    async fn converse<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        io: &mut S,
        phase: Phase,
        transcript: &mut TranscriptHandle,
    ) -> Result<GoAhead, SessionEnd> {
        let limits = self.shared.config.limits;
        // Read into spare capacity (never zeroed); cleared before each read, so it never
        // grows beyond READ_BUF_LEN.
        let mut buf = Vec::with_capacity(READ_BUF_LEN);
        let mut idle_deadline = Instant::now() + limits.idle_timeout;
        let mut request_deadline: Option<Instant> = None;
        let mut eof = false;
        loop {
            self.flush_transmit(io).await?;
            while let Some(event) = self.machine.poll_event() {
                match event {
                    ServerEvent::StartTls => {
                        self.flush_transmit(io).await?;
                        return Ok(GoAhead);
                    }
                    ServerEvent::Frame(frame) => {
                        self.shared.stats.record_frame();
                        debug!(len = frame.len(), "frame received");
                    }
                    ServerEvent::Mail { from, to, data } => {
                        self.shared.stats.record_mail();
                        info!(%from, ?to, len = data.len(), "mail accepted");
                    }
                    ServerEvent::Close(reason) => {
                        self.flush_transmit(io).await?;
                        return Err(SessionEnd::Machine(reason));
                    }
                }
            }
            // The machine's last events may have produced more output.
            self.flush_transmit(io).await?;
            if eof {
                return Err(SessionEnd::Machine(proto::starttls::CloseReason::Eof));
            }
            let deadline = request_deadline.map_or(idle_deadline, |r| r.min(idle_deadline));
            buf.clear();
            let read = tokio::select! {
                r = timeout_at(deadline, io.read_buf(&mut buf)) => r,
                () = wait_shutdown(&mut self.shutdown) => {
                    self.send_shutdown_message(io).await;
                    return Err(SessionEnd::Shutdown);
                }
            };
            match read {
                Err(_elapsed) => {
                    self.send_shutdown_message(io).await;
                    return Err(match request_deadline {
                        Some(r) if r <= idle_deadline => SessionEnd::RequestTimeout,
                        _ => SessionEnd::IdleTimeout,
                    });
                }
                Ok(Ok(0)) => {
                    eof = true;
                    self.machine.handle_eof();
                }
                Ok(Ok(n)) => {
                    let data = buf.get(..n).unwrap_or_default();
                    transcript.record(phase, data);
                    self.machine.handle_input(data);
                    self.shared
                        .stats
                        .record_buffered(self.machine.buffered_len());
                    let now = Instant::now();
                    idle_deadline = now + limits.idle_timeout;
                    request_deadline = match (self.machine.buffered_len(), request_deadline) {
                        (0, _) => None,
                        (_, None) => Some(now + limits.request_timeout),
                        (_, started) => started,
                    };
                }
                Ok(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // tokio-rustls: the peer closed the TLS connection without close_notify.
                    self.machine.handle_eof();
                    return Err(SessionEnd::Truncated);
                }
                Ok(Err(e)) => return Err(SessionEnd::Io(IoFailure::from(&e))),
            }
        }
    }

    async fn flush_transmit(
        &mut self,
        io: &mut (impl AsyncWrite + Unpin),
    ) -> Result<(), SessionEnd> {
        let mut wrote = false;
        while let Some(out) = self.machine.poll_transmit() {
            self.write_no_flush(io, &out).await?;
            wrote = true;
        }
        if wrote {
            self.flush(io).await?;
        }
        Ok(())
    }

    async fn write(
        &self,
        io: &mut (impl AsyncWrite + Unpin),
        data: &[u8],
    ) -> Result<(), SessionEnd> {
        self.write_no_flush(io, data).await?;
        self.flush(io).await
    }

    async fn write_no_flush(
        &self,
        io: &mut (impl AsyncWrite + Unpin),
        data: &[u8],
    ) -> Result<(), SessionEnd> {
        // A peer that never reads must not hold the session forever.
        match timeout(self.shared.config.limits.idle_timeout, io.write_all(data)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SessionEnd::Io(IoFailure::from(&e))),
            Err(_) => Err(SessionEnd::IdleTimeout),
        }
    }

    async fn flush(&self, io: &mut (impl AsyncWrite + Unpin)) -> Result<(), SessionEnd> {
        match timeout(self.shared.config.limits.idle_timeout, io.flush()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SessionEnd::Io(IoFailure::from(&e))),
            Err(_) => Err(SessionEnd::IdleTimeout),
        }
    }

    /// The dialect's "closing" line (421 / `* BYE` / `-ERR`), if it has one.
    async fn send_shutdown_message(&self, io: &mut (impl AsyncWrite + Unpin)) {
        if let Some(msg) = self.machine.shutdown_message()
            && let Err(e) = self.write(io, &msg).await
        {
            debug!(%e, "could not send the closing message");
        }
    }

    fn report_discards(&mut self) {
        let total = self.machine.injected_discarded();
        if total > self.reported_discards {
            self.shared
                .stats
                .record_discarded_injection(total - self.reported_discards);
            self.reported_discards = total;
        }
    }

    /// Records why the session ends (before the peer can see the close).
    fn finish(&mut self, reason: &SessionEnd, transcript: &TranscriptHandle) {
        self.report_discards();
        if self.permit.take().is_some() {
            self.shared.stats.record_session_end();
        }
        self.shared.stats.record_end(transcript, *reason);
        if let (Some(log), Some(facts)) = (self.shared.stats.session_log(), &self.facts) {
            let record = facts.record(
                &self.shared.config,
                &transcript.snapshot(),
                self.reported_discards as u64,
                *reason,
            );
            if let Err(e) = log.write(&record) {
                warn!(%e, "cannot write the session log");
            }
        }
    }

    /// Records the reason, then shuts the stream down (close_notify first inside TLS).
    ///
    /// A connection that is already broken (the client closed TCP under TLS without
    /// close_notify, or a read or write failed) is only dropped: a close_notify to a peer that
    /// cannot or will not read it, and a `shutdown` that fails with `ENOTCONN`, would cost two
    /// system calls and a record's encryption per session for nothing.
    async fn close(
        &mut self,
        reason: SessionEnd,
        mut io: impl AsyncWrite + Unpin,
        transcript: &TranscriptHandle,
    ) -> SessionEnd {
        self.finish(&reason, transcript);
        if matches!(reason, SessionEnd::Truncated | SessionEnd::Io(_)) {
            return reason;
        }
        let grace = self.shared.config.limits.shutdown_grace;
        match timeout(grace, io.shutdown()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => debug!(%e, "shutdown failed"),
            Err(_) => warn!("shutdown timed out"),
        }
        reason
    }
}

/// Resolves once shutdown was requested (or the server is gone).
pub(crate) async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone, which also means shutdown.
    let _ = rx.wait_for(|stop| *stop).await;
}
