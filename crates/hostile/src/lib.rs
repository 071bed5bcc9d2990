//! Hostile-peer tests of the client (`streamsocket`) and the mock server (`mockserver`) over
//! loopback: injection, stripping, malformed and oversized input, limits, slow peers,
//! truncation, sticky errors, stall isolation and load.
//!
//! This crate holds only tests (`tests/it/`). The library is the few helpers they share: a
//! scripted raw peer ([`RawPeer`], [`ScriptedServer`]) that controls every write boundary, the
//! dialect lines such a peer plays, a TLS acceptor and a ClientHello from testpki identities,
//! a deterministic byte generator and an open-descriptor count. The sans-IO (layer 1) hostile
//! tests and the fuzz targets live in `streamsocket-proto` and `fuzz/`.
//!
//! Every await on the network is bounded by [`LONG`]; no test sleeps for readiness and no test
//! asserts on elapsed wall-clock time.

#![warn(missing_docs)]

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::pki_types::ServerName;
use streamsocket::{Dialect, ProtectionLevel, SocketControl, StreamSocket, TrustAnchors};
use testpki::ServerIdentity;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

/// The bound on every network await in the tests, so that a broken peer fails a test instead of
/// hanging it. Never asserted on as a duration.
pub const LONG: Duration = Duration::from_secs(20);

/// Most bytes a [`RawPeer`] reads in one line or one drain, so that a hostile peer cannot make
/// a test buffer without bound.
pub const MAX_READ: usize = 32 << 20;

/// The line dialects these loopback tests script: SMTP, LMTP, IMAP, POP3, NNTP and ManageSieve.
pub const LINE_DIALECTS: [Dialect; 6] = [
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
    Dialect::Sieve,
];

/// The dialects with a STARTTLS step these tests script (the line dialects above and the
/// seed's framed exchange).
pub const STARTTLS_DIALECTS: [Dialect; 7] = [
    Dialect::Framed,
    Dialect::Smtp,
    Dialect::Lmtp,
    Dialect::Imap,
    Dialect::Pop3,
    Dialect::Nntp,
    Dialect::Sieve,
];

/// ManageSieve's capability lines (RFC 5804 section 1.7), before the `OK` that ends them.
const SIEVE_CAPABILITIES: &str = "\"IMPLEMENTATION\" \"scripted\"\r\n\"SASL\" \"PLAIN\"\r\n";

/// Awaits `fut`, failing with `TimedOut` after [`LONG`].
///
/// # Errors
///
/// `TimedOut` if `fut` did not finish within [`LONG`].
pub async fn within<T>(fut: impl Future<Output = T>) -> io::Result<T> {
    tokio::time::timeout(LONG, fut)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "no answer within the test bound"))
}

/// Socket options that trust what `identity` says a client must trust.
///
/// # Panics
///
/// Never for a fresh control (setters fail only once a socket is connected).
pub fn control_for(identity: &ServerIdentity) -> SocketControl {
    let mut control = SocketControl::default();
    // A fresh control is unlocked, so the setter cannot fail.
    control
        .set_trust_anchors(TrustAnchors::from_der(identity.trust_anchors.clone()))
        .expect("fresh control");
    control
}

/// A client socket connected in plaintext to `addr`, ready for `upgrade_with`.
///
/// # Errors
///
/// As [`StreamSocket::connect`].
pub async fn plain_socket(
    addr: SocketAddr,
    control: SocketControl,
) -> Result<StreamSocket, streamsocket::Error> {
    let mut socket = StreamSocket::with_control(control);
    socket
        .connect(
            &addr.ip().to_string(),
            &addr.port().to_string(),
            ProtectionLevel::PlainSocket,
        )
        .await?;
    Ok(socket)
}

/// One side of a loopback connection, driven byte by byte by a test: every `send` is one
/// `write_all` and a flush, and every received byte is logged in [`received`](Self::received).
///
/// Reads never look ahead (lines are read one byte at a time), so the stream can be handed to
/// TLS at any point with [`into_inner`](Self::into_inner).
#[derive(Debug)]
pub struct RawPeer<S = TcpStream> {
    io: S,
    received: Vec<u8>,
}

impl RawPeer<TcpStream> {
    /// Connects to `addr`.
    ///
    /// # Errors
    ///
    /// If the connection fails or takes longer than [`LONG`].
    pub async fn connect(addr: SocketAddr) -> io::Result<Self> {
        let tcp = within(TcpStream::connect(addr)).await??;
        tcp.set_nodelay(true)?;
        Ok(Self::new(tcp))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> RawPeer<S> {
    /// Wraps a stream.
    pub fn new(io: S) -> Self {
        Self {
            io,
            received: Vec::new(),
        }
    }

    /// Writes `bytes` with one `write_all`, then flushes.
    ///
    /// # Errors
    ///
    /// If writing fails or takes longer than [`LONG`].
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        within(self.io.write_all(bytes)).await??;
        within(self.io.flush()).await?
    }

    /// Reads one line (up to and including LF).
    ///
    /// # Errors
    ///
    /// `UnexpectedEof` if the peer closes first, `InvalidData` past [`MAX_READ`] bytes,
    /// `TimedOut` after [`LONG`].
    pub async fn line(&mut self) -> io::Result<String> {
        let start = self.received.len();
        self.until(b"\n").await?;
        let line = self.received.get(start..).unwrap_or_default();
        Ok(String::from_utf8_lossy(line).into_owned())
    }

    /// Reads until the bytes received end with `marker`.
    ///
    /// # Errors
    ///
    /// As [`line`](Self::line).
    pub async fn until(&mut self, marker: &[u8]) -> io::Result<()> {
        let start = self.received.len();
        let mut byte = [0u8; 1];
        while !self.received.ends_with(marker) || self.received.len() == start {
            if self.received.len() - start >= MAX_READ {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "line too long"));
            }
            match within(self.io.read(&mut byte)).await?? {
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                _ => self.received.push(byte[0]),
            }
        }
        Ok(())
    }

    /// Reads until the peer closes (or resets) the connection, or [`MAX_READ`] bytes, and
    /// returns what arrived in this call.
    ///
    /// # Errors
    ///
    /// `TimedOut` if the peer neither closes nor sends for [`LONG`].
    pub async fn drain(&mut self) -> io::Result<Vec<u8>> {
        let start = self.received.len();
        let mut buf = vec![0u8; 16 * 1024];
        while self.received.len() - start < MAX_READ {
            match within(self.io.read(&mut buf)).await? {
                Ok(0) | Err(_) => break,
                Ok(n) => self
                    .received
                    .extend_from_slice(buf.get(..n).unwrap_or_default()),
            }
        }
        Ok(self.received.get(start..).unwrap_or_default().to_vec())
    }

    /// Every byte received so far.
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// The stream, for a TLS handshake or for direct use.
    pub fn into_inner(self) -> S {
        self.io
    }

    /// The stream, borrowed.
    pub fn io_mut(&mut self) -> &mut S {
        &mut self.io
    }
}

/// A one-connection server on `127.0.0.1:0` that plays a script written by the test.
#[derive(Debug)]
pub struct ScriptedServer {
    addr: SocketAddr,
    task: JoinHandle<io::Result<Vec<u8>>>,
}

impl ScriptedServer {
    /// Binds a port and plays `script` on the first connection accepted; the script returns
    /// what it wants [`finish`](Self::finish) to report (usually every byte it received).
    ///
    /// # Errors
    ///
    /// If the port cannot be bound.
    pub async fn start<F, Fut>(script: F) -> io::Result<Self>
    where
        F: FnOnce(RawPeer) -> Fut + Send + 'static,
        Fut: Future<Output = io::Result<Vec<u8>>> + Send + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let task = tokio::spawn(async move {
            let (tcp, _) = within(listener.accept()).await??;
            tcp.set_nodelay(true)?;
            script(RawPeer::new(tcp)).await
        });
        Ok(Self { addr, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Waits for the script to end and returns its result.
    ///
    /// # Errors
    ///
    /// The script's error, or `TimedOut` after [`LONG`].
    ///
    /// # Panics
    ///
    /// If the script panicked (a failed assertion inside it).
    pub async fn finish(self) -> io::Result<Vec<u8>> {
        match within(self.task).await? {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(io::Error::other(e)),
        }
    }
}

/// What a scripted server says to get a client to its STARTTLS command: greeting, capability
/// reply with (or without) STARTTLS. [`offer`] plays it. ManageSieve's greeting is its
/// capability list itself (with STARTTLS: [`sieve_greeting`]); this is the list without it.
///
/// The lines match what the client machine sends: `EHLO localhost`, `LHLO localhost`,
/// `A1 CAPABILITY`, `CAPA`, `CAPABILITIES`, `FEAT`, `CAP LS 302`.
pub fn greeting(dialect: Dialect, host: &str) -> String {
    match dialect {
        Dialect::Smtp => format!("220 {host} ESMTP scripted\r\n"),
        Dialect::Lmtp => format!("220 {host} LMTP scripted\r\n"),
        Dialect::Imap => format!("* OK {host} IMAP4rev1 scripted\r\n"),
        Dialect::Pop3 => format!("+OK {host} POP3 scripted\r\n"),
        Dialect::Nntp => format!("200 {host} NNTP scripted\r\n"),
        Dialect::Ftp => format!("220 {host} FTP scripted\r\n"),
        Dialect::Sieve => sieve_greeting(host, false),
        // IRC and PostgreSQL have no greeting: the client speaks first; MySQL's is a binary
        // packet, not scripted here.
        Dialect::Irc | Dialect::Postgres | Dialect::Mysql | Dialect::Framed | Dialect::Implicit => {
            String::new()
        }
    }
}

/// A ManageSieve greeting: the capability lines, `"STARTTLS"` among them when `starttls`, and
/// the `OK` that ends them (RFC 5804 section 1.7).
pub fn sieve_greeting(host: &str, starttls: bool) -> String {
    let starttls = if starttls { "\"STARTTLS\"\r\n" } else { "" };
    format!("{SIEVE_CAPABILITIES}{starttls}OK \"{host} scripted\"\r\n")
}

/// The capability reply, with or without the STARTTLS capability.
pub fn capabilities(dialect: Dialect, starttls: bool) -> String {
    match (dialect, starttls) {
        (Dialect::Smtp | Dialect::Lmtp, true) => {
            "250-scripted\r\n250-PIPELINING\r\n250 STARTTLS\r\n".into()
        }
        (Dialect::Smtp | Dialect::Lmtp, false) => "250-scripted\r\n250 PIPELINING\r\n".into(),
        (Dialect::Imap, true) => "* CAPABILITY IMAP4rev1 STARTTLS\r\nA1 OK done\r\n".into(),
        (Dialect::Imap, false) => "* CAPABILITY IMAP4rev1 LOGINDISABLED\r\nA1 OK done\r\n".into(),
        (Dialect::Pop3, true) => "+OK\r\nUSER\r\nSTLS\r\n.\r\n".into(),
        (Dialect::Pop3, false) => "+OK\r\nUSER\r\n.\r\n".into(),
        (Dialect::Nntp, true) => "101 list\r\nVERSION 2\r\nSTARTTLS\r\n.\r\n".into(),
        (Dialect::Nntp, false) => "101 list\r\nVERSION 2\r\n.\r\n".into(),
        // The list a ManageSieve server re-sends unasked inside TLS, or answers CAPABILITY with.
        (Dialect::Sieve, true) => format!("{SIEVE_CAPABILITIES}\"STARTTLS\"\r\nOK\r\n"),
        (Dialect::Sieve, false) => format!("{SIEVE_CAPABILITIES}OK\r\n"),
        (Dialect::Ftp, true) => "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n211 End\r\n".into(),
        (Dialect::Ftp, false) => "211-Features:\r\n PBSZ\r\n211 End\r\n".into(),
        (Dialect::Irc, true) => ":scripted CAP * LS :multi-prefix tls\r\n".into(),
        (Dialect::Irc, false) => ":scripted CAP * LS :multi-prefix\r\n".into(),
        _ => String::new(),
    }
}

/// The STARTTLS command line the client machine sends.
pub fn starttls_command(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp | Dialect::Sieve => b"STARTTLS\r\n",
        Dialect::Imap => b"A2 STARTTLS\r\n",
        Dialect::Pop3 => b"STLS\r\n",
        Dialect::Ftp => b"AUTH TLS\r\n",
        Dialect::Irc => b"STARTTLS\r\n",
        _ => b"",
    }
}

/// The server's go-ahead to the STARTTLS command.
pub fn go_ahead(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => b"220 2.0.0 Ready to start TLS\r\n",
        Dialect::Nntp => b"382 Continue with TLS negotiation\r\n",
        Dialect::Imap => b"A2 OK Begin TLS negotiation now\r\n",
        Dialect::Pop3 => b"+OK Begin TLS negotiation\r\n",
        Dialect::Sieve => b"OK \"Begin TLS negotiation now\"\r\n",
        Dialect::Ftp => b"234 Proceed with negotiation\r\n",
        Dialect::Irc => b":scripted 670 * :STARTTLS successful, proceed with TLS handshake\r\n",
        _ => b"",
    }
}

/// The goodbye the client machine may send after a failure (`QUIT`, `A4 LOGOUT`).
pub fn goodbye(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Ftp
        | Dialect::Irc
        | Dialect::Smtp
        | Dialect::Lmtp
        | Dialect::Pop3
        | Dialect::Nntp => b"QUIT\r\n",
        Dialect::Imap => b"A4 LOGOUT\r\n",
        Dialect::Sieve => b"LOGOUT\r\n",
        _ => b"",
    }
}

/// Plays a line dialect's greeting and capability reply (`starttls`: whether STARTTLS is
/// offered) on `peer`, reading the client's commands. When STARTTLS is offered, returns after
/// reading the client's STARTTLS command; otherwise after sending the capability reply.
///
/// # Errors
///
/// If the client closes or sends something else than expected (`InvalidData`).
pub async fn offer(peer: &mut RawPeer, dialect: Dialect, starttls: bool) -> io::Result<()> {
    if dialect == Dialect::Sieve {
        // The greeting is the capability list: no command comes before STARTTLS.
        peer.send(sieve_greeting("scripted.test", starttls).as_bytes())
            .await?;
    } else {
        peer.send(greeting(dialect, "scripted.test").as_bytes())
            .await?;
        offer_capabilities(peer, dialect, starttls).await?;
    }
    if starttls {
        let command = peer.line().await?;
        if command.as_bytes() != starttls_command(dialect) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("expected STARTTLS, got {command:?}"),
            ));
        }
    }
    Ok(())
}

/// Reads the client's capability command and answers it.
async fn offer_capabilities(
    peer: &mut RawPeer,
    dialect: Dialect,
    starttls: bool,
) -> io::Result<()> {
    let capability = peer.line().await?;
    let expected = match dialect {
        Dialect::Smtp => "EHLO ",
        Dialect::Lmtp => "LHLO ",
        Dialect::Nntp => "CAPABILITIES",
        Dialect::Imap => "A1 CAPABILITY",
        Dialect::Ftp => "FEAT",
        Dialect::Irc => "CAP LS",
        _ => "CAPA",
    };
    if !capability.starts_with(expected) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("expected {expected:?}, got {capability:?}"),
        ));
    }
    peer.send(capabilities(dialect, starttls).as_bytes()).await
}

/// The aws-lc-rs provider, pinned (the client and the mock server use it too).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A TLS acceptor presenting `identity`, for scripted TLS servers.
///
/// # Panics
///
/// If rustls refuses testpki's identity (a bug in testpki).
pub fn tls_acceptor(identity: &ServerIdentity) -> TlsAcceptor {
    let config = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth()
                .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        })
        .expect("testpki identities are valid rustls identities");
    TlsAcceptor::from(Arc::new(config))
}

/// A tokio-rustls connector that trusts what `identity` says a client must trust, for raw TLS
/// clients of the mock server.
///
/// # Panics
///
/// If rustls refuses testpki's trust anchors (a bug in testpki).
pub fn tls_connector(identity: &ServerIdentity) -> TlsConnector {
    TlsConnector::from(raw_client_config(identity))
}

/// A plain rustls client configuration that trusts `identity`'s anchors.
fn raw_client_config(identity: &ServerIdentity) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for anchor in &identity.trust_anchors {
        roots.add(anchor.clone()).expect("testpki roots parse");
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("the provider supports the default versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// The name raw TLS clients validate.
pub fn localhost() -> ServerName<'static> {
    ServerName::DnsName(
        rustls::pki_types::DnsName::try_from("localhost")
            .expect("a valid name")
            .to_owned(),
    )
}

/// A complete ClientHello (all records a fresh client writes first), as bytes.
///
/// # Panics
///
/// If rustls cannot build a client for `identity` (a bug in testpki).
pub fn client_hello(identity: &ServerIdentity) -> Vec<u8> {
    let mut conn = rustls::ClientConnection::new(raw_client_config(identity), localhost())
        .expect("a client for localhost");
    let mut out = Vec::new();
    while conn.wants_write() {
        if conn.write_tls(&mut out).is_err() {
            break;
        }
    }
    out
}

/// The seed's frame: 4-byte big-endian length, then the payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    let mut out = len.to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failing case can be replayed.
pub fn random_bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let word = state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        out.extend_from_slice(&word.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Open file descriptors of this process that are TCP sockets with a local or remote port in
/// `ports` (Linux: `/proc/self/fd` and `/proc/net/tcp{,6}`), or `None` where that cannot be
/// read. Unlike a plain descriptor count, this ignores what tests running in parallel open.
pub fn open_sockets_on(ports: &[u16]) -> Option<usize> {
    let mut inodes = std::collections::HashSet::new();
    for entry in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let Ok(target) = std::fs::read_link(entry.path()) else {
            continue;
        };
        let target = target.to_string_lossy();
        if let Some(inode) = target
            .strip_prefix("socket:[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|inode| inode.parse::<u64>().ok())
        {
            inodes.insert(inode);
        }
    }
    let mut count = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let port = |field: Option<&&str>| {
                field
                    .and_then(|f| f.rsplit(':').next())
                    .and_then(|hex| u16::from_str_radix(hex, 16).ok())
            };
            let (local, remote) = (port(fields.get(1)), port(fields.get(2)));
            let inode = fields.get(9).and_then(|i| i.parse::<u64>().ok());
            let ours = inode.is_some_and(|i| inodes.contains(&i));
            let on_port = [local, remote]
                .iter()
                .any(|p| p.is_some_and(|p| ports.contains(&p)));
            if ours && on_port {
                count += 1;
            }
        }
    }
    Some(count)
}

/// TLS record content types a client may legitimately send: handshake, alert,
/// change_cipher_spec; an application-data record (23) is not among them.
const HANDSHAKE_RECORDS: [u8; 3] = [0x14, 0x15, 0x16];

/// Splits `bytes` into TLS records and checks that none is application data and that nothing
/// but records is there (no plaintext). Returns the content types seen.
///
/// # Errors
///
/// A description of the first byte that is not a handshake-phase record.
pub fn handshake_records_only(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut types = Vec::new();
    let mut rest = bytes;
    while let Some((&kind, tail)) = rest.split_first() {
        if !HANDSHAKE_RECORDS.contains(&kind) {
            return Err(format!(
                "byte {:#04x} at offset {} is not a handshake-phase record",
                kind,
                bytes.len() - rest.len()
            ));
        }
        let Some([_major, _minor, hi, lo]) = tail.first_chunk::<4>().copied() else {
            return Err("a truncated record header".to_owned());
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        rest = tail.get(4 + len..).unwrap_or_default();
        types.push(kind);
    }
    Ok(types)
}

/// Runs a raw TLS client handshake (tokio-rustls, validating `localhost`) over `io`.
///
/// # Errors
///
/// The handshake's error, or `TimedOut` after [`LONG`].
pub async fn tls_client<IO>(
    io: IO,
    identity: &ServerIdentity,
) -> io::Result<tokio_rustls::client::TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    within(tls_connector(identity).connect(localhost(), io)).await?
}

/// Reads one whole reply of a line dialect: an SMTP reply (all its lines), an IMAP response up
/// to its tagged line, a ManageSieve response after its quoted lines, a POP3 or NNTP status
/// line (and, for a positive answer to `CAPA` or `CAPABILITIES`, the list up to the lone dot
/// when `list` is set).
///
/// # Errors
///
/// As [`RawPeer::line`].
pub async fn read_reply<S>(
    peer: &mut RawPeer<S>,
    dialect: Dialect,
    list: bool,
) -> io::Result<Vec<String>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut lines = Vec::new();
    loop {
        let line = peer.line().await?;
        let done = match dialect {
            Dialect::Smtp | Dialect::Lmtp => line.as_bytes().get(3) != Some(&b'-'),
            Dialect::Imap => !line.starts_with("* ") && !line.starts_with("+ "),
            // Capability lines are quoted strings; the response line ends the reply.
            Dialect::Sieve => !line.starts_with('"'),
            // RFC 959 section 4.2: the line with the first line's code and a space ends it.
            Dialect::Ftp => match lines.first().map(String::as_str) {
                None => line.as_bytes().get(3) != Some(&b'-'),
                Some(first) => {
                    line.get(..3) == first.get(..3) && line.as_bytes().get(3) == Some(&b' ')
                }
            },
            Dialect::Nntp => {
                let in_list = list && lines.first().is_some_and(|l: &String| l.starts_with("101"));
                let first_list = lines.is_empty() && line.starts_with("101") && list;
                !(first_list || (in_list && line != ".\r\n"))
            }
            _ => {
                let in_list = list && lines.first().is_some_and(|l: &String| l.starts_with("+OK"));
                let first_positive = lines.is_empty() && line.starts_with("+OK") && list;
                !(first_positive || (in_list && line != ".\r\n"))
            }
        };
        lines.push(line);
        if done {
            return Ok(lines);
        }
    }
}

/// The mock server's test configuration for `dialect`: honest, valid ECDSA chain, default
/// limits, injection policy `Discard`.
pub fn mock(dialect: Dialect) -> mockserver::MockConfig {
    mockserver::testing::config(
        dialect,
        testpki::Scenario::Valid,
        testpki::KeyKind::EcdsaP256,
    )
}

/// The valid ECDSA identity the mock servers present, for scripted TLS servers.
///
/// # Panics
///
/// If testpki cannot issue it (a bug there).
pub fn valid_identity() -> ServerIdentity {
    testpki::Pki::shared(testpki::KeyKind::EcdsaP256)
        .server(testpki::Scenario::Valid)
        .expect("testpki issues the valid scenario")
}

/// Reads a line dialect's greeting (one SMTP reply, a ManageSieve capability list, or one IMAP,
/// POP3 or NNTP line).
///
/// # Errors
///
/// As [`RawPeer::line`].
pub async fn read_greeting<S>(peer: &mut RawPeer<S>, dialect: Dialect) -> io::Result<Vec<String>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp | Dialect::Sieve => {
            read_reply(peer, dialect, false).await
        }
        _ => Ok(vec![peer.line().await?]),
    }
}

/// A stream that writes one byte at a time and yields to the scheduler before each byte, so
/// that the peer's reads see the bytes split at every possible point (a ClientHello written
/// one byte at a time, for instance). Reads pass through.
#[derive(Debug)]
pub struct Trickle<S> {
    inner: S,
    yielded: bool,
}

impl<S> Trickle<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            yielded: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Trickle<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Trickle<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if !this.yielded {
            this.yielded = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let Some(first) = buf.get(..1) else {
            return Poll::Ready(Ok(0));
        };
        let written = Pin::new(&mut this.inner).poll_write(cx, first);
        if written.is_ready() {
            this.yielded = false;
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Writes `bytes` on `writer` from a spawned task, ignoring errors (the peer may close before
/// the end: that is what the tests provoke), then closes the write half.
pub fn spawn_flood<W>(mut writer: W, bytes: Vec<u8>) -> JoinHandle<()>
where
    W: AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        if let Ok(Ok(())) = within(writer.write_all(&bytes)).await {
            let _ = within(writer.shutdown()).await;
        }
    })
}

/// Runs `make()`'s future on a fresh single-threaded runtime in its own thread and waits at
/// most [`LONG`] of wall-clock time for it.
///
/// Returns `None` if it did not finish: a task that spins inside `poll` (the RUSTSEC-2024-0336
/// class) blocks its whole runtime, so no timer inside that runtime could catch it; this waits
/// from outside.
///
/// # Panics
///
/// If the future panicked (its assertion failed), the panic is passed on.
pub fn run_isolated<F, Fut, T>(make: F) -> Option<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime can be built");
        let value = runtime.block_on(make());
        let _ = tx.send(());
        value
    });
    match rx.recv_timeout(LONG) {
        Ok(()) => match thread.join() {
            Ok(value) => Some(value),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        // The sender is dropped without sending when the future panicked.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match thread.join() {
            Ok(value) => Some(value),
            Err(panic) => std::panic::resume_unwind(panic),
        },
        // Still running: left behind (detached) so that the test can fail.
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
    }
}

/// Whether `line`, the last line of a reply, is a positive answer: SMTP and LMTP 2xx or 3xx,
/// NNTP and FTP 1xx to 3xx, POP3 `+OK`, IMAP a tagged `OK`, ManageSieve `OK`.
pub fn positive(dialect: Dialect, line: &str) -> bool {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => line.starts_with(['2', '3']),
        Dialect::Ftp | Dialect::Nntp => line.starts_with(['1', '2', '3']),
        Dialect::Pop3 => line.starts_with("+OK"),
        Dialect::Imap => line.split(' ').nth(1) == Some("OK"),
        Dialect::Sieve => line.starts_with("OK"),
        Dialect::Irc | Dialect::Postgres | Dialect::Mysql | Dialect::Framed | Dialect::Implicit => {
            false
        }
    }
}

/// A command the mock server answers with one positive reply inside TLS, without ending the
/// session (POP3 `CAPA` and NNTP `HELP` are lists: read them with `list` set).
pub fn harmless(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp | Dialect::Sieve => b"NOOP\r\n",
        Dialect::Imap => b"A5 NOOP\r\n",
        Dialect::Pop3 => b"CAPA\r\n",
        Dialect::Nntp => b"MODE READER\r\n",
        Dialect::Irc | Dialect::Postgres | Dialect::Mysql | Dialect::Framed | Dialect::Implicit => {
            b""
        }
    }
}

/// The start of the line a server closes a session with (the error limit, a refused
/// connection, a shutdown); empty for the framed dialect, which has none.
pub fn closing(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp => "421 ",
        Dialect::Imap => "* BYE",
        Dialect::Pop3 => "-ERR",
        Dialect::Nntp => "400 ",
        Dialect::Sieve => "BYE ",
        Dialect::Irc | Dialect::Postgres | Dialect::Mysql | Dialect::Framed | Dialect::Implicit => {
            ""
        }
    }
}

/// Whether `line` is a refusal of a command: SMTP, LMTP, NNTP and FTP 4xx or 5xx, IMAP `NO` or
/// `BAD`, POP3 `-ERR`, ManageSieve `NO`.
pub fn negative(dialect: Dialect, line: &str) -> bool {
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp => {
            line.starts_with(['4', '5'])
        }
        Dialect::Imap => matches!(line.split(' ').nth(1), Some("NO" | "BAD")),
        Dialect::Pop3 => line.starts_with("-ERR"),
        Dialect::Sieve => line.starts_with("NO"),
        Dialect::Irc | Dialect::Postgres | Dialect::Mysql | Dialect::Framed | Dialect::Implicit => {
            false
        }
    }
}

/// The goodbye command inside TLS and the start of the server's answer to it.
pub fn quit(dialect: Dialect) -> (&'static [u8], &'static str) {
    match dialect {
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp => (b"QUIT\r\n", "221 "),
        Dialect::Imap => (b"A9 LOGOUT\r\n", "* BYE"),
        Dialect::Nntp => (b"QUIT\r\n", "205 "),
        Dialect::Sieve => (b"LOGOUT\r\n", "OK"),
        Dialect::Irc => (b"QUIT\r\n", "ERROR"),
        Dialect::Pop3
        | Dialect::Postgres
        | Dialect::Mysql
        | Dialect::Framed
        | Dialect::Implicit => (b"QUIT\r\n", "+OK"),
    }
}

/// A full honest session with the real client: connect in plaintext, `upgrade_with`, a few
/// commands inside TLS (SMTP and LMTP NOOP/MAIL/RSET, IMAP NOOP/LOGIN, POP3 USER/PASS/STAT,
/// NNTP MODE READER/AUTHINFO, ManageSieve NOOP/CAPABILITY/HAVESPACE, three echoed frames), then
/// the goodbye and a clean close.
///
/// # Errors
///
/// What went wrong, in words (the load tests count failures rather than stop at the first).
pub async fn full_session(
    addr: SocketAddr,
    dialect: Dialect,
    control: SocketControl,
) -> Result<(), String> {
    let mut socket = plain_socket(addr, control)
        .await
        .map_err(|e| format!("connect: {}", e.full_message()))?;
    within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
        .await
        .map_err(|e| format!("upgrade: {e}"))?
        .map_err(|e| format!("upgrade: {}", e.full_message()))?;
    if dialect == Dialect::Framed {
        for text in ["one", "two", "three"] {
            within(streamsocket::write_string(&mut socket, text))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("write: {}", e.full_message()))?;
            let echo = within(streamsocket::read_string(&mut socket))
                .await
                .map_err(|e| e.to_string())?
                .map_err(|e| format!("read: {}", e.full_message()))?;
            if echo != text {
                return Err(format!("echo {echo:?} for {text:?}"));
            }
        }
        within(socket.shutdown())
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("shutdown: {e}"))?;
    } else {
        let (commands, goodbye): (&[&str], &str) = match dialect {
            Dialect::Smtp | Dialect::Lmtp => {
                (&["NOOP", "MAIL FROM:<load@example.test>", "RSET"], "QUIT")
            }
            Dialect::Nntp => (
                &["MODE READER", "AUTHINFO USER load", "AUTHINFO PASS secret"],
                "QUIT",
            ),
            Dialect::Imap => (&["A5 NOOP", "A6 LOGIN load secret"], "A7 LOGOUT"),
            Dialect::Sieve => (&["NOOP", "CAPABILITY", "HAVESPACE \"s\" 10"], "LOGOUT"),
            _ => (&["USER load", "PASS secret", "STAT"], "QUIT"),
        };
        let mut peer = RawPeer::new(socket);
        for command in commands {
            peer.send(format!("{command}\r\n").as_bytes())
                .await
                .map_err(|e| format!("{command}: {e}"))?;
            let reply = read_reply(&mut peer, dialect, false)
                .await
                .map_err(|e| format!("{command}: {e}"))?;
            let last = reply.last().map(String::as_str).unwrap_or_default();
            if !positive(dialect, last) {
                return Err(format!("{command}: {reply:?}"));
            }
        }
        peer.send(format!("{goodbye}\r\n").as_bytes())
            .await
            .map_err(|e| format!("{goodbye}: {e}"))?;
        socket = peer.into_inner();
    }
    // The server's close_notify, then FIN: a clean end.
    let mut rest = Vec::new();
    within(socket.read_to_end(&mut rest))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("close: {e}"))?;
    Ok(())
}
