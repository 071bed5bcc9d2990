//! R: a plain tokio-rustls client and server over loopback, and plain TCP with the same sockets.
//!
//! Sockets follow `BENCHMARKING.md`: TCP_NODELAY, 256 KiB SO_SNDBUF/SO_RCVBUF set explicitly on
//! both ends (the listener's sizes are inherited by accepted sockets), 16 KiB application reads
//! and writes unless a benchmark says otherwise.

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use rustls::{ClientConfig, HandshakeKind, ServerConfig};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::setup::{TlsSetup, server_name};

/// SO_SNDBUF and SO_RCVBUF on every benchmark socket.
pub const SOCKET_BUFFER: u32 = 256 * 1024;

/// The application read and write size of the stable figures.
pub const IO_CHUNK: usize = 16 * 1024;

/// What a handshake unit echoes: a frame with a 1-byte payload (the mock server echoes frames,
/// the baselines echo bytes; the same 5 bytes cross the wire both ways for every party).
pub const ECHO_UNIT: [u8; 5] = [0, 0, 0, 1, b'x'];

/// A current-thread runtime: client and server tasks share one thread, so a ratio compares code
/// paths and not scheduling luck.
pub fn current_thread() -> Runtime {
    // Invariant: building a runtime only fails when the OS refuses an epoll fd or a thread.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime builds")
}

/// A multi-thread runtime with `workers` worker threads (the concurrency figures).
pub fn multi_thread(workers: usize) -> Runtime {
    // Invariant: as in `current_thread`.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a tokio runtime builds")
}

/// A loopback listener on port 0 with the benchmark socket buffers. Must be called inside a
/// runtime context.
pub fn listener() -> std::io::Result<TcpListener> {
    let socket = TcpSocket::new_v4()?;
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(SOCKET_BUFFER)?;
    socket.set_recv_buffer_size(SOCKET_BUFFER)?;
    socket.bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))?;
    socket.listen(1024)
}

/// Connects to `addr` with the benchmark socket buffers and TCP_NODELAY.
pub async fn connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.set_send_buffer_size(SOCKET_BUFFER)?;
    socket.set_recv_buffer_size(SOCKET_BUFFER)?;
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Something that performs one handshake unit per call: TCP connect, handshake, 1-byte echo.
pub trait HandshakeClient: Send + Sync + 'static {
    /// One handshake unit, checking the handshake kind.
    fn unit(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// Runs `n` handshake units one after the other on `rt` and returns the time they took.
pub fn sequential(rt: &Runtime, client: &impl HandshakeClient, n: u64) -> anyhow::Result<Duration> {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..n {
            client.unit().await?;
        }
        Ok(start.elapsed())
    })
}

/// Runs `tasks` concurrent loops of handshake units on `rt` for about `duration` and returns
/// the units completed and the time they took.
pub fn concurrent_rate<C: HandshakeClient>(
    rt: &Runtime,
    client: Arc<C>,
    tasks: usize,
    duration: Duration,
) -> anyhow::Result<(u64, Duration)> {
    rt.block_on(async {
        let done = Arc::new(AtomicU64::new(0));
        let start = Instant::now();
        let deadline = start + duration;
        let mut handles = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let client = client.clone();
            let done = done.clone();
            handles.push(tokio::spawn(async move {
                while Instant::now() < deadline {
                    client.unit().await?;
                    done.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            }));
        }
        for handle in handles {
            handle.await??;
        }
        Ok((done.load(Ordering::Relaxed), start.elapsed()))
    })
}

/// Runs `total` handshake units spread over `tasks` concurrent loops on `rt` and returns the
/// time they took (the criterion form of [`concurrent_rate`]).
pub fn concurrent_units<C: HandshakeClient>(
    rt: &Runtime,
    client: Arc<C>,
    tasks: usize,
    total: u64,
) -> anyhow::Result<Duration> {
    rt.block_on(async {
        let left = Arc::new(AtomicU64::new(total));
        let start = Instant::now();
        let mut handles = Vec::with_capacity(tasks);
        for _ in 0..tasks {
            let client = client.clone();
            let left = left.clone();
            handles.push(tokio::spawn(async move {
                while left
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                    .is_ok()
                {
                    client.unit().await?;
                }
                anyhow::Ok(())
            }));
        }
        for handle in handles {
            handle.await??;
        }
        Ok(start.elapsed())
    })
}

/// A TLS echo server (tokio-rustls): every accepted connection is handshaken and then echoed
/// until the client goes away. Aborted on drop.
#[derive(Debug)]
pub struct EchoServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl EchoServer {
    /// Binds a loopback listener and spawns the accept loop on `handle`.
    pub fn spawn(handle: &Handle, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let _guard = handle.enter();
        let listener = listener()?;
        let addr = listener.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let task = handle.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    // Out of file descriptors, say: let the clients' tasks run and retry.
                    tokio::task::yield_now().await;
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that leaves without close_notify ends the echo with an error;
                    // that is how every handshake unit ends.
                    let _ = serve_echo(acceptor, stream).await;
                });
            }
        });
        Ok(Self { addr, task })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_echo(acceptor: TlsAcceptor, stream: TcpStream) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut tls = acceptor.accept(stream).await?;
    let mut buf = vec![0u8; IO_CHUNK];
    loop {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        tls.write_all(&buf[..n]).await?;
        tls.flush().await?;
    }
}

/// The tokio-rustls client side of R.
pub struct TlsClient {
    addr: SocketAddr,
    connector: TlsConnector,
    expected: HandshakeKind,
}

impl TlsClient {
    /// A client of the server at `addr`. With resumption, call [`TlsClient::prime`] before
    /// measuring.
    pub fn new(addr: SocketAddr, config: Arc<ClientConfig>) -> Self {
        Self {
            addr,
            connector: TlsConnector::from(config),
            expected: HandshakeKind::Full,
        }
    }

    /// Runs one full handshake and expects every later one to resume.
    pub fn prime(&mut self, rt: &Runtime) -> anyhow::Result<()> {
        rt.block_on(self.unit())?;
        self.expected = HandshakeKind::Resumed;
        Ok(())
    }

    /// Connects and handshakes, returning the TLS stream.
    pub async fn connect(&self) -> anyhow::Result<tokio_rustls::client::TlsStream<TcpStream>> {
        let stream = connect(self.addr).await?;
        Ok(self.connector.connect(server_name(), stream).await?)
    }

    /// Sends a length-prefixed frame of `payload` and reads the echo back (the echo server
    /// returns the same bytes), reusing `buf` for the reply.
    pub async fn echo_frame(
        tls: &mut (impl AsyncRead + AsyncWrite + Unpin),
        payload: &[u8],
        buf: &mut Vec<u8>,
    ) -> anyhow::Result<()> {
        let len = u32::try_from(payload.len()).context("frame too long")?;
        tls.write_all(&len.to_be_bytes()).await?;
        tls.write_all(payload).await?;
        tls.flush().await?;
        buf.resize(payload.len() + 4, 0);
        tls.read_exact(buf).await?;
        Ok(())
    }
}

impl HandshakeClient for TlsClient {
    async fn unit(&self) -> anyhow::Result<()> {
        let mut tls = self.connect().await?;
        tls.write_all(&ECHO_UNIT).await?;
        tls.flush().await?;
        let mut reply = [0u8; ECHO_UNIT.len()];
        tls.read_exact(&mut reply).await?;
        ensure!(reply == ECHO_UNIT, "echo differs");
        let kind = tls.get_ref().1.handshake_kind();
        ensure!(
            kind == Some(self.expected),
            "handshake kind {kind:?}, expected {:?}",
            self.expected
        );
        Ok(())
    }
}

/// R on a current-thread runtime: the echo server and its client in one process.
pub struct TokioRustls {
    /// The runtime both sides run on.
    pub rt: Runtime,
    /// The server (kept alive while the pair lives).
    pub server: EchoServer,
    /// The client.
    pub client: TlsClient,
}

impl TokioRustls {
    /// Builds both sides from `setup`; with resumption, primes the client's session cache.
    pub fn new(setup: &TlsSetup) -> anyhow::Result<Self> {
        let rt = current_thread();
        let server = EchoServer::spawn(rt.handle(), setup.server_config())?;
        let mut client = TlsClient::new(server.addr(), setup.client_config());
        if setup.resumption {
            client.prime(&rt)?;
        }
        Ok(Self { rt, server, client })
    }

    /// Runs `n` handshake units and returns the time they took.
    pub fn handshakes(&self, n: u64) -> anyhow::Result<Duration> {
        sequential(&self.rt, &self.client, n)
    }
}

/// The socket floor of a handshake unit: the same unit with no TLS at all (TCP connect, the
/// 5-byte echo, close), against a plain TCP echo server on the same runtime. Any client and
/// server over loopback pay at least this per unit on top of the handshake's CPU work, so
/// `1/(1/M + 1/T)` bounds what a socket-based pair can reach against the in-memory pair M.
pub struct PlainTcp {
    /// The runtime both sides run on.
    pub rt: Runtime,
    client: PlainTcpClient,
    task: JoinHandle<()>,
}

/// The greeting of [`PlainTcp::starttls_like`]; the client's lines are as long.
const GREETING: &[u8] = b"220 ready\r\n";

impl PlainTcp {
    /// Binds the echo server and spawns its accept loop.
    pub fn new() -> anyhow::Result<Self> {
        Self::build(false, 0)
    }

    /// The same unit after the plaintext part of an SMTP STARTTLS session, still without TLS:
    /// a greeting from the server, then two line round trips (EHLO, STARTTLS). What the
    /// dialect's extra round trips cost on these sockets.
    pub fn starttls_like() -> anyhow::Result<Self> {
        Self::build(true, 2)
    }

    fn build(greeting: bool, lines: usize) -> anyhow::Result<Self> {
        let rt = current_thread();
        let listener = {
            let _guard = rt.enter();
            listener()?
        };
        let addr = listener.local_addr()?;
        let task = rt.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::task::yield_now().await;
                    continue;
                };
                tokio::spawn(async move {
                    let _ = serve_plain_echo(stream, greeting).await;
                });
            }
        });
        Ok(Self {
            rt,
            client: PlainTcpClient {
                addr,
                greeting,
                lines,
            },
            task,
        })
    }

    /// Runs `n` plain units and returns the time they took.
    pub fn units(&self, n: u64) -> anyhow::Result<Duration> {
        sequential(&self.rt, &self.client, n)
    }
}

impl Drop for PlainTcp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_plain_echo(mut stream: TcpStream, greeting: bool) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    if greeting {
        stream.write_all(GREETING).await?;
    }
    let mut buf = vec![0u8; IO_CHUNK];
    loop {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        stream.write_all(&buf[..n]).await?;
    }
}

/// The client of [`PlainTcp`].
struct PlainTcpClient {
    addr: SocketAddr,
    greeting: bool,
    lines: usize,
}

impl HandshakeClient for PlainTcpClient {
    async fn unit(&self) -> anyhow::Result<()> {
        let mut stream = connect(self.addr).await?;
        let mut line = [0u8; GREETING.len()];
        if self.greeting {
            stream.read_exact(&mut line).await?;
            ensure!(line == GREETING, "greeting differs");
        }
        for _ in 0..self.lines {
            stream.write_all(GREETING).await?;
            stream.read_exact(&mut line).await?;
            ensure!(line == GREETING, "line echo differs");
        }
        stream.write_all(&ECHO_UNIT).await?;
        let mut reply = [0u8; ECHO_UNIT.len()];
        stream.read_exact(&mut reply).await?;
        ensure!(reply == ECHO_UNIT, "echo differs");
        Ok(())
    }
}

/// What a bulk receiver saw: bytes, and the time from the first byte to EOF.
#[derive(Clone, Copy, Debug)]
pub struct Received {
    /// Bytes read before EOF.
    pub bytes: u64,
    /// From the first byte read to EOF.
    pub elapsed: Duration,
}

impl Received {
    /// Bytes per second.
    pub fn rate(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64()
    }
}

/// Reads `reader` to EOF in `chunk`-byte reads, timing from the first byte.
pub async fn sink(mut reader: impl AsyncRead + Unpin, chunk: usize) -> std::io::Result<Received> {
    let mut buf = vec![0u8; chunk];
    let first = reader.read(&mut buf).await?;
    let start = Instant::now();
    let mut bytes = first as u64;
    if first > 0 {
        loop {
            let n = reader.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            bytes += n as u64;
        }
    }
    Ok(Received {
        bytes,
        elapsed: start.elapsed(),
    })
}

/// Writes `total` bytes to `writer` in `chunk`-byte writes, then shuts it down.
pub async fn source(
    mut writer: impl AsyncWrite + Unpin,
    total: u64,
    chunk: usize,
) -> std::io::Result<()> {
    let buf = vec![0x5au8; chunk];
    let mut sent = 0u64;
    while sent < total {
        let n = (chunk as u64).min(total - sent) as usize;
        writer.write_all(&buf[..n]).await?;
        sent += n as u64;
    }
    writer.flush().await?;
    writer.shutdown().await
}

/// One-way plain TCP transfer of `total` bytes over loopback in `chunk`-byte writes and reads.
pub fn tcp_bulk(rt: &Runtime, total: u64, chunk: usize) -> anyhow::Result<Received> {
    rt.block_on(async {
        let listener = listener()?;
        let addr = listener.local_addr()?;
        let receiver = tokio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            sink(stream, chunk).await
        });
        source(connect(addr).await?, total, chunk).await?;
        let received = receiver.await??;
        ensure!(
            received.bytes == total,
            "received {} of {total}",
            received.bytes
        );
        Ok(received)
    })
}

/// One-way tokio-rustls transfer of `total` bytes, client to server, over loopback.
pub fn tls_bulk(
    rt: &Runtime,
    setup: &TlsSetup,
    total: u64,
    chunk: usize,
) -> anyhow::Result<Received> {
    let acceptor = TlsAcceptor::from(setup.server_config());
    let connector = TlsConnector::from(setup.client_config());
    rt.block_on(async {
        let listener = listener()?;
        let addr = listener.local_addr()?;
        let receiver = tokio::spawn(async move {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let tls = acceptor.accept(stream).await?;
            sink(tls, chunk).await
        });
        let tls = connector
            .connect(server_name(), connect(addr).await?)
            .await?;
        source(tls, total, chunk).await?;
        let received = receiver.await??;
        ensure!(
            received.bytes == total,
            "received {} of {total}",
            received.bytes
        );
        Ok(received)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::within_a_minute;

    #[test]
    fn full_and_resumed_units_complete() {
        within_a_minute(|| {
            // Each unit checks its handshake kind.
            TokioRustls::new(&TlsSetup::default())
                .unwrap()
                .handshakes(3)
                .unwrap();
            TokioRustls::new(&TlsSetup::default().resumed())
                .unwrap()
                .handshakes(3)
                .unwrap();
        });
    }

    #[test]
    fn concurrent_units_complete_on_two_workers() {
        within_a_minute(|| {
            let rt = multi_thread(2);
            let setup = TlsSetup::default();
            let server = EchoServer::spawn(rt.handle(), setup.server_config()).unwrap();
            let client = Arc::new(TlsClient::new(server.addr(), setup.client_config()));
            let (units, wall) =
                concurrent_rate(&rt, client.clone(), 4, Duration::from_millis(50)).unwrap();
            assert!(
                units >= 4,
                "every loop completes at least one unit: {units}"
            );
            assert!(wall >= Duration::from_millis(50));
            concurrent_units(&rt, client, 64, 70).unwrap();
        });
    }

    #[test]
    fn plain_tcp_units_echo() {
        within_a_minute(|| {
            PlainTcp::new().unwrap().units(5).unwrap();
            PlainTcp::starttls_like().unwrap().units(5).unwrap();
        });
    }

    #[test]
    fn bulk_transfers_move_every_byte() {
        within_a_minute(|| {
            let rt = current_thread();
            assert_eq!(tcp_bulk(&rt, 1 << 20, IO_CHUNK).unwrap().bytes, 1 << 20);
            let tls = tls_bulk(&rt, &TlsSetup::default(), (1 << 20) + 3, IO_CHUNK).unwrap();
            assert_eq!(tls.bytes, (1 << 20) + 3);
        });
    }

    #[test]
    fn framed_echo_returns_the_frame() {
        within_a_minute(|| {
            let pair = TokioRustls::new(&TlsSetup::default()).unwrap();
            pair.rt
                .block_on(async {
                    let mut tls = pair.client.connect().await?;
                    let mut buf = Vec::new();
                    TlsClient::echo_frame(&mut tls, &[7u8; 1000], &mut buf).await?;
                    assert_eq!(&buf[..4], &1000u32.to_be_bytes());
                    assert!(buf[4..].iter().all(|&b| b == 7));
                    anyhow::Ok(())
                })
                .unwrap();
        });
    }
}
