//! The server audit's connections: the plaintext STARTTLS exchange through layer 1's client
//! machine, the raw probe (a hand-built hello and the answer, classified by layer 1), and the
//! real handshakes of the client library. This module moves bytes and keeps deadlines; what the
//! bytes mean is decided in `proto::probe` and `proto::starttls`.

use std::net::SocketAddr;
use std::time::Duration;

use proto::ProtectionLevel;
use proto::probe::{self, HelloSpec, ProbeReply};
use proto::starttls::{ClientEvent, ClientFailure, ClientMachine, ClientSettings, Dialect};
use serde::Serialize;
use streamsocket::{SocketControl, SocketInformation, StreamSocket};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

/// The most bytes read from a server in one phase (plaintext exchange, unsolicited data inside
/// TLS): a server cannot make the audit hold more.
const MAX_READ: usize = 64 * 1024;

/// How long a connection waits inside TLS for the answer to an injected command. A server that
/// processes it answers at once; waiting longer only slows every audit of a safe server.
const INJECTION_WINDOW: Duration = Duration::from_secs(2);

/// How long a resumption probe reads after its first handshake: a TLS 1.3 server sends its
/// NewSessionTicket right after the handshake, and the client library stores it only as it
/// reads.
const RESUMPTION_WINDOW: Duration = Duration::from_millis(500);

/// Where the audited server is.
#[derive(Clone, Debug)]
pub(crate) struct Target {
    /// The address to connect to (resolved once, by the caller).
    pub(crate) addr: SocketAddr,
    /// The name certificates are validated for and sent as SNI.
    pub(crate) name: String,
    /// The dialect spoken before TLS.
    pub(crate) dialect: Dialect,
    /// The time allowed to each connection, from connect to its last byte.
    pub(crate) timeout: Duration,
}

/// How the plaintext exchange before TLS ended.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "answer", content = "detail")]
pub enum StartTlsAnswer {
    /// The server gave the go-ahead (or the dialect has no exchange).
    GoAhead,
    /// STARTTLS (STLS) was not among the capabilities.
    NotOffered,
    /// The server refused it: its reply.
    Refused(String),
    /// A TLS record came where the greeting was due: the port speaks TLS at once.
    TlsFirst,
    /// Nothing came where the greeting was due, within the timeout: the port may wait for a
    /// ClientHello.
    NoGreeting,
    /// Anything else: the machine's failure or the connection's.
    Failed(String),
}

/// What the plaintext exchange showed.
#[derive(Clone, Debug, Serialize)]
pub struct Exchange {
    /// Whether a greeting arrived (line dialects).
    pub greeting: bool,
    /// The first bytes the server sent in plaintext (at most `probe::MAX_GREETING_LEN`), for
    /// layer 1 to read the greeting's host name from; not serialised.
    #[serde(skip)]
    pub greeting_head: Vec<u8>,
    /// The capabilities announced before TLS.
    pub capabilities: Vec<String>,
    /// How it ended.
    pub answer: StartTlsAnswer,
}

/// What a secured connection does besides its handshake.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) enum Injection {
    /// Nothing but the handshake: a version, suite or group probe.
    HandshakeOnly,
    /// No injection; inside TLS, the capabilities are asked for again and STARTTLS is sent a
    /// second time.
    None,
    /// A command in the same write as STARTTLS.
    SameWrite,
    /// In its own write after the go-ahead, before the ClientHello.
    LaterWrite,
    /// The handshake, then a short read for what the server sends unasked (a TLS 1.3
    /// NewSessionTicket), so that a later connection can resume the session.
    Resumption,
}

/// Why a connection could not be made at all.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Unreachable(pub(crate) String);

/// Runs the plaintext exchange on `io` until the machine's go-ahead or failure, with the
/// deadline; `inject` is appended to the STARTTLS command's write when asked.
async fn exchange(
    io: &mut (impl AsyncRead + AsyncWrite + Unpin),
    machine: &mut ClientMachine,
    inject: Option<&[u8]>,
    deadline: Instant,
) -> Exchange {
    let mut greeting = false;
    let mut starttls_sent = false;
    let mut head = Vec::new();
    let mut read = 0usize;
    let mut buf = vec![0u8; 4096];
    loop {
        if let Some(event) = machine.poll_event() {
            let answer = match event {
                ClientEvent::StartTls => StartTlsAnswer::GoAhead,
                ClientEvent::Failed(ClientFailure::NotOffered { .. }) => StartTlsAnswer::NotOffered,
                ClientEvent::Failed(ClientFailure::Refused { reply }) => {
                    StartTlsAnswer::Refused(reply)
                }
                ClientEvent::Failed(ClientFailure::TlsInsteadOfGreeting) => {
                    StartTlsAnswer::TlsFirst
                }
                // An answer to STARTTLS that the machine cannot read (a line without a reply
                // code, tag or status) is no go-ahead: the server refused, in its own words.
                ClientEvent::Failed(failure @ ClientFailure::Protocol { .. }) if starttls_sent => {
                    StartTlsAnswer::Refused(format!("an answer that is no go-ahead ({failure})"))
                }
                ClientEvent::Failed(failure) => StartTlsAnswer::Failed(failure.to_string()),
                ClientEvent::Ready { .. } => {
                    StartTlsAnswer::Failed("ready before the upgrade".to_owned())
                }
            };
            // The goodbye of a failed machine (QUIT, LOGOUT) is sent, as a client would.
            if let Some(bytes) = machine.poll_transmit() {
                let _ = timeout_at(deadline, io.write_all(&bytes)).await;
            }
            return Exchange {
                greeting,
                greeting_head: head,
                capabilities: machine.capabilities().to_vec(),
                answer,
            };
        }
        if let Some(mut bytes) = machine.poll_transmit() {
            let starttls = is_starttls_command(machine.dialect(), &bytes);
            starttls_sent |= starttls;
            if let Some(extra) = inject.filter(|_| starttls) {
                bytes.extend_from_slice(extra);
            }
            if !matches!(timeout_at(deadline, io.write_all(&bytes)).await, Ok(Ok(()))) {
                return failed(greeting, machine, "the connection failed while writing");
            }
            continue;
        }
        let n = match timeout_at(deadline, io.read(&mut buf)).await {
            Ok(Ok(0)) => {
                machine.handle_eof();
                continue;
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return failed(greeting, machine, &format!("read failed: {e}")),
            Err(_) if !greeting && machine.dialect().is_line_based() => {
                return Exchange {
                    greeting,
                    greeting_head: head,
                    capabilities: Vec::new(),
                    answer: StartTlsAnswer::NoGreeting,
                };
            }
            Err(_) => return failed(greeting, machine, "timed out in the plaintext exchange"),
        };
        read += n;
        if read > MAX_READ {
            return failed(greeting, machine, "more plaintext than an exchange needs");
        }
        greeting = true;
        let got = buf.get(..n).unwrap_or_default();
        let room = probe::MAX_GREETING_LEN.saturating_sub(head.len());
        head.extend_from_slice(got.get(..room).unwrap_or(got));
        machine.handle_input(got);
    }
}

fn failed(greeting: bool, machine: &ClientMachine, why: &str) -> Exchange {
    Exchange {
        greeting,
        greeting_head: Vec::new(),
        capabilities: machine.capabilities().to_vec(),
        answer: StartTlsAnswer::Failed(why.to_owned()),
    }
}

/// Whether `bytes` are the machine's STARTTLS command (what a pipelining client or a man in the
/// middle would append to).
fn is_starttls_command(dialect: Dialect, bytes: &[u8]) -> bool {
    let upper = bytes.to_ascii_uppercase();
    match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Imap | Dialect::Nntp | Dialect::Sieve => {
            upper.ends_with(b"STARTTLS\r\n")
        }
        Dialect::Pop3 => upper == b"STLS\r\n",
        // The SSLRequest: Int32 8, Int32 80877103.
        Dialect::Postgres => bytes == [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F],
        Dialect::Ftp => upper == b"AUTH TLS\r\n",
        Dialect::Irc => upper == b"STARTTLS\r\n",
        // The SSLRequest is never answered before the handshake: nothing to refuse.
        Dialect::Framed | Dialect::Implicit | Dialect::Mysql => false,
    }
}

/// The result of a raw probe.
#[derive(Clone, Debug)]
pub(crate) enum RawOutcome {
    /// The exchange before TLS did not give the go-ahead: nothing was probed.
    NoGoAhead(Exchange),
    /// The hello was sent; the server's answer.
    Reply(ProbeReply),
}

/// Sends one hand-built hello (after the STARTTLS exchange, for a line dialect) and classifies
/// the answer; the connection is closed right after, whatever the server chose.
pub(crate) async fn raw_probe(target: &Target, hello: &[u8]) -> Result<RawOutcome, Unreachable> {
    let deadline = Instant::now() + target.timeout;
    let mut tcp = connect(target.addr, deadline).await?;
    let mut machine = ClientMachine::new(target.dialect, ClientSettings::default());
    let exchange = exchange(&mut tcp, &mut machine, None, deadline).await;
    if exchange.answer != StartTlsAnswer::GoAhead {
        return Ok(RawOutcome::NoGoAhead(exchange));
    }
    if !matches!(timeout_at(deadline, tcp.write_all(hello)).await, Ok(Ok(()))) {
        return Ok(RawOutcome::Reply(ProbeReply::Closed { after: 0 }));
    }
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 4096];
    let reply = loop {
        if let Some(reply) = probe::classify(&answer, false) {
            break reply;
        }
        match timeout_at(deadline, tcp.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(buf.get(..n).unwrap_or_default()),
            // Closed, reset or out of time: what arrived is the whole answer.
            _ => break eof_reply(&answer),
        }
    };
    Ok(RawOutcome::Reply(reply))
}

fn eof_reply(answer: &[u8]) -> ProbeReply {
    probe::classify(answer, true).unwrap_or(ProbeReply::Closed {
        after: answer.len(),
    })
}

async fn connect(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, Unreachable> {
    match timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(Ok(tcp)) => Ok(tcp),
        Ok(Err(e)) => Err(Unreachable(format!("cannot connect to {addr}: {e}"))),
        Err(_) => Err(Unreachable(format!("connecting to {addr} timed out"))),
    }
}

/// Builds a hello of `spec` with a fresh random from the crypto provider.
pub(crate) fn hello_bytes(spec: HelloSpec<'_>) -> Result<Vec<u8>, probe::BuildError> {
    probe::client_hello(&HelloSpec {
        random: random(),
        ..spec
    })
}

/// A fresh client random from the crypto provider. A zero random is still a valid hello: the
/// probes only read the server's choice.
pub(crate) fn random() -> [u8; 32] {
    let mut random = [0u8; 32];
    let _ = rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut random);
    random
}

/// What a connection secured by the client library showed.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    /// The plaintext exchange.
    pub(crate) exchange: Exchange,
    /// The handshake's result: `None` when it was not attempted (no go-ahead).
    pub(crate) handshake: Option<Handshake>,
    /// What the socket reported (filled in after a failure too).
    pub(crate) info: SocketInformation,
    /// The capabilities announced inside TLS; `None` when they were not asked for, or not
    /// announced within the deadline.
    pub(crate) capabilities_after: Option<Vec<String>>,
    /// Bytes the server sent inside TLS before the client said anything there (injection
    /// probes only).
    pub(crate) unsolicited: Option<Vec<u8>>,
    /// Whether STARTTLS sent again inside TLS, once the capabilities were announced, got the
    /// go-ahead; `None` when it was not tried or not answered.
    pub(crate) second_starttls: Option<bool>,
}

/// How a handshake of the client library ended.
#[derive(Clone, Debug)]
pub(crate) enum Handshake {
    /// It completed.
    Completed,
    /// It failed with this error.
    Failed(streamsocket::Error),
    /// The connection's deadline passed first.
    TimedOut,
}

/// Connects in plaintext, runs the exchange (with an injected command when asked), upgrades
/// with `level` by the client library, then either asks for the capabilities again inside TLS
/// or, for an injection probe, waits briefly for an answer nobody asked for inside TLS.
pub(crate) async fn secured(
    target: &Target,
    control: &SocketControl,
    level: ProtectionLevel,
    injection: Injection,
) -> Result<Session, Unreachable> {
    let deadline = Instant::now() + target.timeout;
    let mut socket = StreamSocket::with_control(control.clone());
    let host = target.addr.ip().to_string();
    match timeout_at(
        deadline,
        socket.connect(&host, target.addr.port(), ProtectionLevel::PlainSocket),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(Unreachable(e.full_message())),
        Err(_) => {
            return Err(Unreachable(format!(
                "connecting to {} timed out",
                target.addr
            )));
        }
    }
    let mut machine = ClientMachine::new(target.dialect, ClientSettings::default());
    let command = probe::injected_command(target.dialect);
    let same_write = command.filter(|_| injection == Injection::SameWrite);
    let exchange = exchange(&mut socket, &mut machine, same_write, deadline).await;
    let mut session = Session {
        exchange,
        handshake: None,
        info: SocketInformation::default(),
        capabilities_after: None,
        unsolicited: None,
        second_starttls: None,
    };
    if session.exchange.answer != StartTlsAnswer::GoAhead {
        session.info = socket.information().clone();
        return Ok(session);
    }
    if injection == Injection::LaterWrite
        && let Some(command) = command
    {
        let written = timeout_at(deadline, async {
            socket.write_all(command).await?;
            socket.flush().await
        })
        .await;
        if !matches!(written, Ok(Ok(()))) {
            session.info = socket.information().clone();
            return Ok(session);
        }
    }
    let handshake = timeout_at(deadline, socket.upgrade_to_ssl(level, &target.name)).await;
    let handshake = match handshake {
        Ok(Ok(())) => Handshake::Completed,
        Ok(Err(e)) => Handshake::Failed(e),
        Err(_) => Handshake::TimedOut,
    };
    let ok = matches!(handshake, Handshake::Completed);
    session.handshake = Some(handshake);
    if ok {
        if injection == Injection::HandshakeOnly {
            // The handshake is all this probe wanted.
        } else if injection == Injection::None {
            machine.handle_tls_established();
            session.capabilities_after =
                capabilities_inside(&mut socket, &mut machine, deadline).await;
            if session.capabilities_after.is_some() {
                session.second_starttls =
                    second_starttls(&mut socket, target.dialect, deadline).await;
            }
        } else {
            let wait = if injection == Injection::Resumption {
                RESUMPTION_WINDOW
            } else {
                INJECTION_WINDOW
            };
            let window = Instant::now() + wait.min(target.timeout);
            session.unsolicited =
                Some(unsolicited(&mut socket, target.dialect, window.min(deadline)).await);
        }
    }
    session.info = socket.information().clone();
    let _ = timeout_at(deadline, socket.shutdown()).await;
    Ok(session)
}

/// Drives the machine inside TLS until it is ready (the fresh capability list), fails, or the
/// deadline passes.
async fn capabilities_inside(
    socket: &mut StreamSocket,
    machine: &mut ClientMachine,
    deadline: Instant,
) -> Option<Vec<String>> {
    let mut buf = vec![0u8; 4096];
    let mut read = 0usize;
    loop {
        if let Some(event) = machine.poll_event() {
            return match event {
                ClientEvent::Ready { capabilities } => Some(capabilities),
                ClientEvent::StartTls | ClientEvent::Failed(_) => None,
            };
        }
        if let Some(bytes) = machine.poll_transmit() {
            let written = timeout_at(deadline, async {
                socket.write_all(&bytes).await?;
                socket.flush().await
            })
            .await;
            if !matches!(written, Ok(Ok(()))) {
                return None;
            }
            continue;
        }
        match timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => {
                read += n;
                if read > MAX_READ {
                    return None;
                }
                machine.handle_input(buf.get(..n).unwrap_or_default());
            }
            Ok(Ok(_)) => machine.handle_eof(),
            Ok(Err(_)) | Err(_) => return None,
        }
    }
}

/// Sends the dialect's STARTTLS inside TLS and reads until layer 1 can say whether the answer
/// is a go-ahead. Whatever it is, nothing more is sent.
async fn second_starttls(
    socket: &mut StreamSocket,
    dialect: Dialect,
    deadline: Instant,
) -> Option<bool> {
    let command = probe::starttls_command(dialect)?;
    let written = timeout_at(deadline, async {
        socket.write_all(command).await?;
        socket.flush().await
    })
    .await;
    if !matches!(written, Ok(Ok(()))) {
        return None;
    }
    let mut answer = Vec::new();
    let mut buf = vec![0u8; 4096];
    loop {
        if let Some(accepted) = probe::starttls_accepted(dialect, &answer) {
            return Some(accepted);
        }
        if answer.len() >= MAX_READ {
            return None;
        }
        match timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => answer.extend_from_slice(buf.get(..n).unwrap_or_default()),
            _ => return None,
        }
    }
}

/// Whatever the server sends inside TLS before `until`, unasked; reading stops at the first
/// answer to a command ([`probe::answers_injected`]).
async fn unsolicited(socket: &mut StreamSocket, dialect: Dialect, until: Instant) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 4096];
    while got.len() < MAX_READ && !probe::answers_injected(dialect, &got) {
        match timeout_at(until, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(buf.get(..n).unwrap_or_default()),
            _ => break,
        }
    }
    got
}
