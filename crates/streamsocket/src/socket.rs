//! `StreamSocket`: connect with a protection level, upgrade in place, read and write.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};

use proto::level::{Operation, Permit, ProtectionLevel, TlsVersion, VersionSet, decide};
use proto::starttls::Dialect;
use rustls_pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::control::SocketControl;
use crate::info::{AlpnProtocol, CertificateSummary, HandshakeKind, SocketInformation};
use crate::service::Service;
use crate::verifier::{REPORT, SharedReport};
use crate::{Error, service, tls};

/// A TCP client socket that connects with a protection level or upgrades to TLS in place:
/// the Windows Runtime `StreamSocket` for tokio.
///
/// - [`connect`](Self::connect) resolves a host, connects, and with a TLS level performs the
///   handshake at once (implicit TLS).
/// - With [`ProtectionLevel::PlainSocket`] the socket stays plaintext; the caller may talk, then
///   call [`upgrade_to_ssl`](Self::upgrade_to_ssl) (raw) or [`upgrade_with`](Self::upgrade_with)
///   (a STARTTLS dialect, then the handshake).
/// - The socket is [`AsyncRead`] + [`AsyncWrite`] in both states. `shutdown` sends TLS
///   `close_notify`; an end of stream without it is an error ([`ErrorKind::Truncated`]).
/// - [`information`](Self::information) reports what was negotiated, and stays readable after
///   a failure.
///
/// # Errors are sticky
///
/// After the first failure of a connect, an upgrade or an I/O call, every later call returns the
/// same error and nothing more is sent: a socket that was asked for TLS never falls back to
/// plaintext. The only errors that leave the socket usable are calls made in the wrong state
/// (connecting twice, upgrading a socket that is not a plain connected one), which change
/// nothing. To retry, create a new socket.
///
/// [`ErrorKind::Truncated`]: crate::ErrorKind::Truncated
#[derive(Debug)]
pub struct StreamSocket {
    control: SocketControl,
    info: SocketInformation,
    stream: Stream,
    counters: Arc<Counters>,
    /// The wire byte counts when the TLS handshake began.
    upgrade_mark: Option<(u64, u64)>,
    failure: Option<Error>,
    capabilities: Vec<String>,
    /// Application bytes that arrived inside TLS together with the end of the post-upgrade
    /// exchange; reads return them first.
    unread: Vec<u8>,
    /// A connect or upgrade is under way (still set if its future was dropped).
    busy: bool,
}

#[derive(Debug, Default)]
enum Stream {
    #[default]
    Unconnected,
    Plain(Counting),
    Tls(Box<TlsStream<Counting>>),
    /// Failed, or in the middle of a state change.
    Gone,
}

impl StreamSocket {
    /// A socket with default options.
    pub fn new() -> Self {
        Self::with_control(SocketControl::default())
    }

    /// A socket with these options.
    pub fn with_control(control: SocketControl) -> Self {
        // Spelt out rather than `..Self::default()`, which would build (and drop) a default
        // control, with its session cache, for every socket.
        Self {
            control,
            info: SocketInformation::default(),
            stream: Stream::Unconnected,
            counters: Arc::default(),
            upgrade_mark: None,
            failure: None,
            capabilities: Vec::new(),
            unread: Vec::new(),
            busy: false,
        }
    }

    /// The socket's options.
    pub fn control(&self) -> &SocketControl {
        &self.control
    }

    /// The socket's options, to change before connecting (setters fail afterwards).
    pub fn control_mut(&mut self) -> &mut SocketControl {
        &mut self.control
    }

    /// What the socket is connected to and what was negotiated; filled in even after a failure.
    pub fn information(&self) -> &SocketInformation {
        &self.info
    }

    /// The capabilities the server advertised inside TLS after [`upgrade_with`](Self::upgrade_with)
    /// (EHLO keywords, IMAP capabilities, POP3 CAPA lines); empty otherwise.
    pub fn capabilities(&self) -> &[String] {
        &self.capabilities
    }

    /// The error that failed the socket, if one did.
    pub fn failure(&self) -> Option<&Error> {
        self.failure.as_ref()
    }

    /// Connects to `host` (a DNS name or an IP literal) on `service` (a port number such as
    /// `993`, or a decimal port or well-known service name as text, such as `"imaps"`) and,
    /// unless `level` is `PlainSocket`, performs the TLS handshake at once.
    ///
    /// The level is checked against the policy table (with the control's minimum level) before
    /// anything is resolved or sent. The resolved addresses are tried as Happy Eyeballs does
    /// (RFC 8305): address families alternate, a new attempt starts every 250 ms while earlier
    /// ones go on (or at once when one fails), the first connection wins, and all of it fits in
    /// the connect timeout. The certificate is validated for `host`, which is also sent as SNI.
    pub async fn connect(
        &mut self,
        host: &str,
        service: impl Into<Service<'_>>,
        level: ProtectionLevel,
    ) -> Result<(), Error> {
        self.begin_connect()?;
        let result = self.connect_inner(None, host, service.into(), level).await;
        self.settle(result)
    }

    /// As [`connect`](Self::connect), from a given local address (WinRT's `EndpointPair` form):
    /// the socket binds `local` first, and only remote addresses of the same family are tried.
    /// With a fixed local port the attempts cannot overlap: the next address is tried only
    /// when one fails.
    pub async fn connect_endpoints(
        &mut self,
        local: SocketAddr,
        remote_host: &str,
        remote_service: impl Into<Service<'_>>,
        level: ProtectionLevel,
    ) -> Result<(), Error> {
        self.begin_connect()?;
        let result = self
            .connect_inner(Some(local), remote_host, remote_service.into(), level)
            .await;
        self.settle(result)
    }

    /// Starts TLS now on a connection made with `PlainSocket` (the seed's `UpgradeToSslAsync`):
    /// the caller has already talked in plaintext as its protocol requires. The certificate is
    /// validated for `validation_host`, which is also sent as SNI; nothing learned from the peer
    /// is used for that.
    ///
    /// Only valid once, on a plaintext connection, with a TLS level. A `PlainSocket`, invalid or
    /// unsupported level fails the socket before any byte is sent.
    pub async fn upgrade_to_ssl(
        &mut self,
        level: ProtectionLevel,
        validation_host: &str,
    ) -> Result<(), Error> {
        self.begin_upgrade()?;
        let result = self.upgrade_raw(level, validation_host).await;
        self.settle(result)
    }

    /// Performs the STARTTLS exchange of `dialect` through the core's client machine, then the
    /// TLS handshake, then fetches the server's fresh capability list inside TLS (see
    /// [`capabilities`](Self::capabilities)).
    ///
    /// Refused or missing STARTTLS, an IMAP PREAUTH greeting, or plaintext bytes after the
    /// server's go-ahead (response injection) fail the socket; after such a failure nothing
    /// more is sent in plaintext except the dialect's QUIT or LOGOUT. The level is checked
    /// before any byte of the exchange is sent.
    ///
    /// # Example
    ///
    /// SMTP STARTTLS against the project's mock server on loopback:
    ///
    /// ```
    /// use streamsocket::{Dialect, ProtectionLevel, StreamSocket, TrustAnchors};
    /// # use testpki::{KeyKind, Scenario};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let config = mockserver::testing::config(Dialect::Smtp, Scenario::Valid, KeyKind::EcdsaP256);
    /// # let server = mockserver::testing::spawn(config).await;
    /// # let port = server.addr().port().to_string();
    /// # let root = testpki::Pki::shared(KeyKind::EcdsaP256).root_der();
    /// let mut socket = StreamSocket::new();
    /// socket.control_mut().set_trust_anchors(TrustAnchors::from_der([root]))?;
    /// socket.connect("localhost", &port, ProtectionLevel::PlainSocket).await?;
    /// socket.upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost").await?;
    ///
    /// let info = socket.information();
    /// assert_eq!(info.dialect, Some(Dialect::Smtp));
    /// assert_eq!(info.protection_level, ProtectionLevel::Tls13);
    /// assert!(info.bytes_received_before_upgrade > 0, "greeting, EHLO reply, go-ahead");
    /// // The EHLO keywords the server sent again inside TLS.
    /// assert!(!socket.capabilities().is_empty());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn upgrade_with(
        &mut self,
        dialect: Dialect,
        level: ProtectionLevel,
        validation_host: &str,
    ) -> Result<(), Error> {
        self.begin_upgrade()?;
        let result = crate::driver::upgrade_with(self, dialect, level, validation_host).await;
        self.settle(result)
    }

    fn begin_connect(&mut self) -> Result<(), Error> {
        self.check_failure()?;
        self.check_not_cancelled()?;
        if !matches!(self.stream, Stream::Unconnected) {
            return Err(Error::invalid(
                "the socket is already connected; create a new socket",
            ));
        }
        self.control.lock();
        self.busy = true;
        Ok(())
    }

    fn begin_upgrade(&mut self) -> Result<(), Error> {
        self.check_failure()?;
        self.check_not_cancelled()?;
        match self.stream {
            Stream::Plain(_) if self.upgrade_mark.is_none() => {
                self.busy = true;
                Ok(())
            }
            Stream::Unconnected => Err(Error::invalid(
                "upgrade needs a connection: connect with PlainSocket first",
            )),
            _ => Err(Error::invalid(
                "upgrade is only valid on a plaintext connection that was not upgraded yet",
            )),
        }
    }

    fn check_failure(&self) -> Result<(), Error> {
        match &self.failure {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// A connect or upgrade whose future was dropped before it finished leaves the socket
    /// half-way (the connection may be inside the dropped future): that is a failure too.
    fn check_not_cancelled(&mut self) -> Result<(), Error> {
        if self.busy || (matches!(self.stream, Stream::Gone) && self.failure.is_none()) {
            self.fail(Error::Cancelled);
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    /// Makes an error sticky: the connection is dropped and every later call returns `err`.
    fn settle(&mut self, result: Result<(), Error>) -> Result<(), Error> {
        self.busy = false;
        if let Err(err) = &result {
            self.fail(err.clone());
        }
        result
    }

    fn fail(&mut self, err: Error) {
        self.sync_counts();
        self.stream = Stream::Gone;
        if self.failure.is_none() {
            self.failure = Some(err);
        }
    }

    async fn connect_inner(
        &mut self,
        local: Option<SocketAddr>,
        host: &str,
        service: Service<'_>,
        level: ProtectionLevel,
    ) -> Result<(), Error> {
        self.info.requested_protection_level = Some(level);
        self.info.remote_host_name = Some(host.to_owned());
        let minimum = self.control.min_protection_level();
        let versions = match decide(Operation::Connect { level, minimum })? {
            // The minimum does not govern a plaintext connect; the upgrade that follows obeys it.
            Permit::Plaintext => None,
            Permit::Tls(versions) => Some(versions),
            // The table never answers a connect so (layer 1 tests every row); failing here
            // keeps even a wrong table from connecting in plaintext.
            Permit::SetMinimum => {
                return Err(Error::invalid(
                    "the level policy answered a connect with a kept minimum",
                ));
            }
        };
        let port = service.port().ok_or_else(|| {
            Error::invalid(format!(
                "service {service} is neither a port number (1-65535) nor a known service name"
            ))
        })?;
        // Everything the handshake needs is checked before anything is resolved or sent.
        let tls = match versions {
            Some(set) => Some(TlsSetup::new(&self.control, set, host)?),
            None => None,
        };
        let (tcp, remote) = self.open(local, host, port).await?;
        self.info.local_address = tcp.local_addr().ok();
        self.info.remote_address = Some(remote);
        let io = Counting {
            inner: tcp,
            counters: Arc::clone(&self.counters),
        };
        match tls {
            Some(setup) => {
                self.info.dialect = Some(Dialect::Implicit);
                self.handshake(io, setup, None).await
            }
            None => {
                self.stream = Stream::Plain(io);
                Ok(())
            }
        }
    }

    async fn upgrade_raw(
        &mut self,
        level: ProtectionLevel,
        validation_host: &str,
    ) -> Result<(), Error> {
        let setup = self.prepare_upgrade(level, validation_host)?;
        let io = self.take_plain()?;
        self.handshake(io, setup, None).await
    }

    /// Checks an upgrade's level, name and TLS options, before any byte is sent.
    pub(crate) fn prepare_upgrade(
        &mut self,
        level: ProtectionLevel,
        validation_host: &str,
    ) -> Result<TlsSetup, Error> {
        self.info.requested_protection_level = Some(level);
        let minimum = self.control.min_protection_level();
        match decide(Operation::Upgrade { level, minimum })? {
            Permit::Tls(versions) => TlsSetup::new(&self.control, versions, validation_host),
            // The table answers an upgrade with TLS or a refusal (layer 1 tests every row);
            // failing here keeps even a wrong table from sending anything.
            Permit::Plaintext | Permit::SetMinimum => Err(Error::invalid(
                "the level policy answered an upgrade without TLS versions",
            )),
        }
    }

    /// Takes the plaintext connection out of the socket (to hand it to the dialect driver or
    /// to tokio-rustls).
    pub(crate) fn take_plain(&mut self) -> Result<Counting, Error> {
        match mem::replace(&mut self.stream, Stream::Gone) {
            Stream::Plain(io) => Ok(io),
            other => {
                self.stream = other;
                Err(Error::invalid("the socket has no plaintext connection"))
            }
        }
    }

    pub(crate) fn set_dialect(&mut self, dialect: Dialect) {
        self.info.dialect = Some(dialect);
    }

    pub(crate) fn set_capabilities(&mut self, capabilities: Vec<String>) {
        self.capabilities = capabilities;
    }

    pub(crate) fn set_unread(&mut self, bytes: Vec<u8>) {
        self.unread = bytes;
    }

    pub(crate) fn handshake_timeout(&self) -> std::time::Duration {
        self.control.handshake_timeout()
    }

    /// Resolves and connects within the connect timeout, racing the addresses (see
    /// [`race`](Self::race)). Returns the stream and the address it is connected to.
    async fn open(
        &self,
        local: Option<SocketAddr>,
        host: &str,
        port: u16,
    ) -> Result<(TcpStream, SocketAddr), Error> {
        let timeout = self.control.connect_timeout();
        let deadline = Instant::now() + timeout;
        let timed_out = || Error::ConnectTimedOut {
            host: host.to_owned(),
            timeout,
        };
        let mut addrs = match tokio::time::timeout_at(deadline, resolve(host, port)).await {
            Ok(addrs) => addrs?,
            Err(_elapsed) => return Err(timed_out()),
        };
        if let Some(local) = local {
            addrs.retain(|addr| addr.is_ipv4() == local.is_ipv4());
        }
        if addrs.is_empty() {
            return Err(Error::HostNotFound {
                host: host.to_owned(),
                source: None,
            });
        }
        let (addr, err) =
            match tokio::time::timeout_at(deadline, self.race(local, interleave(addrs))).await {
                Ok(Ok(connected)) => return Ok(connected),
                Ok(Err(failed)) => failed,
                Err(_elapsed) => return Err(timed_out()),
            };
        let source = Arc::new(err);
        Err(match source.kind() {
            io::ErrorKind::ConnectionRefused => Error::ConnectionRefused {
                host: host.to_owned(),
                addr,
                source,
            },
            io::ErrorKind::TimedOut => timed_out(),
            _ => Error::Connect {
                host: host.to_owned(),
                addr,
                source,
            },
        })
    }

    /// Happy Eyeballs' connection attempts (RFC 8305 section 5) over `addrs`, in their order:
    /// the next attempt starts [`ATTEMPT_DELAY`] after the last one began, or at once when an
    /// attempt fails; attempts already started go on; the first connection wins and the
    /// others are dropped (closed). When every attempt has failed, the last failure.
    ///
    /// With a fixed local port (`connect_endpoints`), two attempts cannot both bind it, so
    /// attempts do not overlap: the next starts only when one fails.
    async fn race(
        &self,
        local: Option<SocketAddr>,
        addrs: Vec<SocketAddr>,
    ) -> Result<(TcpStream, SocketAddr), (SocketAddr, io::Error)> {
        let mut waiting = addrs.into_iter();
        let mut next = waiting.next();
        if let (Some(addr), 0) = (next, waiting.len()) {
            // One address: nothing to race.
            return match self.try_connect(local, addr).await {
                Ok(stream) => Ok((stream, addr)),
                Err(err) => Err((addr, err)),
            };
        }
        let overlap = local.is_none_or(|local| local.port() == 0);
        let mut running = futures_util::stream::FuturesUnordered::new();
        let mut last = None;
        loop {
            if let Some(addr) = next.take() {
                running.push(async move { (addr, self.try_connect(local, addr).await) });
            }
            if running.is_empty() {
                // Only after a failure: the list is never empty.
                return Err(last.unwrap_or_else(|| {
                    let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
                    (nowhere, io::Error::other("no address to connect to"))
                }));
            }
            let more = overlap && waiting.len() > 0;
            tokio::select! {
                Some((addr, result)) = futures_util::StreamExt::next(&mut running) => match result {
                    Ok(stream) => return Ok((stream, addr)),
                    Err(err) => {
                        tracing::debug!(%addr, %err, "connect attempt failed");
                        last = Some((addr, err));
                        next = waiting.next();
                    }
                },
                () = tokio::time::sleep(ATTEMPT_DELAY), if more => next = waiting.next(),
            }
        }
    }

    async fn try_connect(
        &self,
        local: Option<SocketAddr>,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let socket = self.socket_for(local, addr)?;
        socket.connect(addr).await
    }

    /// A socket for `addr` with the control's options applied, before the SYN is sent (so the
    /// hop limit covers the whole connection). The hop limit is IPv4's TTL or IPv6's unicast
    /// hop limit, as the address's family needs.
    fn socket_for(&self, local: Option<SocketAddr>, addr: SocketAddr) -> io::Result<TcpSocket> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_nodelay(self.control.no_delay())?;
        // A new socket has keep-alive off: only turning it on needs a system call.
        if self.control.keep_alive() {
            socket.set_keepalive(true)?;
        }
        if let Some(size) = self.control.outbound_buffer_size() {
            socket.set_send_buffer_size(size)?;
        }
        if let Some(hops) = self.control.hop_limit() {
            let options = socket2::SockRef::from(&socket);
            if addr.is_ipv4() {
                options.set_ttl_v4(hops)?;
            } else {
                options.set_unicast_hops_v6(hops)?;
            }
        }
        if let Some(local) = local {
            socket.bind(local)?;
        }
        Ok(socket)
    }

    /// Runs the TLS handshake on `io` within the handshake timeout, and records what it
    /// produced (or, on failure, what the certificate verifier found). `deadline` is the end of
    /// a budget that started earlier (a STARTTLS exchange's); `None` starts the timeout now.
    pub(crate) async fn handshake(
        &mut self,
        io: Counting,
        setup: TlsSetup,
        deadline: Option<Instant>,
    ) -> Result<(), Error> {
        let TlsSetup {
            config,
            versions,
            name,
        } = setup;
        let report = SharedReport::default();
        self.info.server_name_indication = match &name {
            ServerName::DnsName(dns) if self.control.send_sni() => Some(dns.as_ref().to_owned()),
            _ => None,
        };
        let mark = self.counters.snapshot();
        self.upgrade_mark = Some(mark);
        self.info.bytes_sent_before_upgrade = mark.0;
        self.info.bytes_received_before_upgrade = mark.1;

        let connector = TlsConnector::from(config);
        let timeout = self.control.handshake_timeout();
        let start = Instant::now();
        let deadline = deadline.unwrap_or(start + timeout);
        // Boxed: the handshake future holds the whole rustls connection inline, and each
        // wrapper (timeout, task-local scope, this async fn) would otherwise copy it again.
        let handshake = tokio::time::timeout_at(deadline, Box::pin(connector.connect(name, io)));
        let outcome = REPORT.scope(report.clone(), handshake).await;
        self.info.handshake_duration = Some(start.elapsed());
        self.sync_counts();
        {
            let found = report.lock();
            self.info.server_certificates = found.chain.clone();
            self.info.server_certificate_errors = found.errors.clone();
            self.info.server_certificate_error_severity = proto::cert::severity_of(&found.errors);
        }
        let tls = match outcome {
            Err(_elapsed) => return Err(Error::HandshakeTimedOut { timeout }),
            Ok(Err(err)) => return Err(handshake_error(err, versions, &report)),
            Ok(Ok(tls)) => tls,
        };
        let conn = tls.get_ref().1;
        let version = conn.protocol_version().and_then(TlsVersion::from_rustls);
        self.info.protocol_version = version;
        self.info.protection_level =
            version.map_or(ProtectionLevel::PlainSocket, ProtectionLevel::from_version);
        self.info.cipher_suite = conn.negotiated_cipher_suite().map(|suite| suite.suite());
        self.info.key_exchange_group = conn
            .negotiated_key_exchange_group()
            .map(|group| group.name());
        self.info.alpn_protocol = conn.alpn_protocol().map(AlpnProtocol::new);
        self.info.handshake_kind = conn.handshake_kind().map(HandshakeKind::from_rustls);
        if self.info.server_certificates.is_empty() {
            // A resumed session skips the verifier; rustls still knows the chain.
            if let Some(chain) = conn.peer_certificates() {
                self.info.server_certificates =
                    chain.iter().map(CertificateSummary::from_der).collect();
            }
        }
        if version.is_none() {
            // Invariant of rustls: a completed handshake has a version; refuse to go on
            // without one rather than report a level that was not negotiated.
            return Err(Error::Handshake {
                source: rustls::Error::General("handshake completed without a version".into()),
            });
        }
        self.stream = Stream::Tls(Box::new(tls));
        Ok(())
    }

    /// Copies the wire byte counts into the information.
    fn sync_counts(&mut self) {
        let (sent, received) = self.counters.snapshot();
        match self.upgrade_mark {
            Some((sent_before, received_before)) => {
                self.info.bytes_sent_after_upgrade = sent.saturating_sub(sent_before);
                self.info.bytes_received_after_upgrade = received.saturating_sub(received_before);
            }
            None => {
                self.info.bytes_sent_before_upgrade = sent;
                self.info.bytes_received_before_upgrade = received;
            }
        }
    }

    /// Runs one poll on the connection, keeping counts and making errors sticky.
    fn poll_io<T>(
        &mut self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut (dyn AsyncIo + '_)>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if let Some(err) = &self.failure {
            return Poll::Ready(Err(err.to_io()));
        }
        let result = match &mut self.stream {
            Stream::Plain(io) => {
                let io: Pin<&mut Counting> = Pin::new(io);
                op(io, cx)
            }
            Stream::Tls(tls) => {
                let tls: Pin<&mut TlsStream<Counting>> = Pin::new(tls.as_mut());
                op(tls, cx)
            }
            Stream::Gone => {
                // Gone without a failure: a connect or upgrade was cancelled half-way.
                self.fail(Error::Cancelled);
                return Poll::Ready(Err(Error::Cancelled.to_io()));
            }
            Stream::Unconnected => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    Error::invalid("the socket is not connected"),
                )));
            }
        };
        self.sync_counts();
        match result {
            Poll::Ready(Err(err)) => {
                let tls = matches!(self.stream, Stream::Tls(_));
                let err = if tls && err.kind() == io::ErrorKind::UnexpectedEof {
                    Error::Truncated
                } else {
                    Error::from_io_error(err)
                };
                let io_err = err.to_io();
                self.fail(err);
                Poll::Ready(Err(io_err))
            }
            other => other,
        }
    }
}

impl AsyncRead for StreamSocket {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.failure.is_none() && !this.unread.is_empty() && buf.remaining() > 0 {
            let n = this.unread.len().min(buf.remaining());
            buf.put_slice(this.unread.get(..n).unwrap_or_default());
            this.unread.drain(..n);
            return Poll::Ready(Ok(()));
        }
        this.poll_io(cx, |io, cx| io.poll_read(cx, buf))
    }
}

impl AsyncWrite for StreamSocket {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().poll_io(cx, |io, cx| io.poll_write(cx, buf))
    }

    /// Hands all the slices to the connection at once: tokio-rustls puts them in one TLS record
    /// where they fit, and a plaintext socket in one `writev`.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io(cx, |io, cx| io.poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        match &self.stream {
            Stream::Plain(io) => io.is_write_vectored(),
            Stream::Tls(tls) => tls.is_write_vectored(),
            Stream::Gone | Stream::Unconnected => false,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_io(cx, |io, cx| io.poll_flush(cx))
    }

    /// Sends TLS `close_notify` (on a TLS connection), then shuts down the write half.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_io(cx, |io, cx| io.poll_shutdown(cx))
    }
}

impl Default for StreamSocket {
    fn default() -> Self {
        Self::new()
    }
}

/// Both connection states behind one object-safe name.
trait AsyncIo: AsyncRead + AsyncWrite {}

impl<T: AsyncRead + AsyncWrite + ?Sized> AsyncIo for T {}

/// Everything a handshake needs, prepared before any connection is made or byte is sent.
pub(crate) struct TlsSetup {
    config: Arc<rustls::ClientConfig>,
    versions: VersionSet,
    name: ServerName<'static>,
}

impl TlsSetup {
    fn new(control: &SocketControl, versions: VersionSet, host: &str) -> Result<Self, Error> {
        Ok(Self {
            name: service::validation_name(host)?,
            config: tls::client_config(control, versions)?,
            versions,
        })
    }
}

/// RFC 8305's Connection Attempt Delay: how long an attempt has alone before the next begins.
const ATTEMPT_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// The addresses with their families alternating, starting with the first address's family,
/// each family in the resolver's order (RFC 8305 section 4).
fn interleave(addrs: Vec<SocketAddr>) -> Vec<SocketAddr> {
    let first_v6 = addrs.first().is_some_and(SocketAddr::is_ipv6);
    let (first, second): (Vec<_>, Vec<_>) = addrs
        .into_iter()
        .partition(|addr| addr.is_ipv6() == first_v6);
    let mut out = Vec::with_capacity(first.len() + second.len());
    let mut first = first.into_iter();
    let mut second = second.into_iter();
    loop {
        match (first.next(), second.next()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// The addresses of `host`: itself if it is an IP literal, else what the resolver says.
async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, Error> {
    if let Some(ip) = service::parse_ip(host) {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let addrs = tokio::net::lookup_host((host, port))
        .await
        .map_err(|err| Error::HostNotFound {
            host: host.to_owned(),
            source: Some(Arc::new(err)),
        })?;
    Ok(addrs.collect())
}

/// Sorts a failed handshake into the error kinds.
fn handshake_error(err: io::Error, versions: VersionSet, report: &SharedReport) -> Error {
    let tls_err = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    {
        let found = report.lock();
        if !found.not_ignored.is_empty() {
            return Error::Certificate {
                errors: found.errors.clone(),
                not_ignored: found.not_ignored.clone(),
                source: tls_err.unwrap_or_else(|| rustls::Error::General(err.to_string())),
            };
        }
    }
    match tls_err {
        Some(source) if is_version_mismatch(&source) => {
            let offered: Vec<String> = versions
                .versions()
                .iter()
                .map(ToString::to_string)
                .collect();
            Error::ProtocolVersionMismatch {
                offered: offered.join(", "),
                source,
            }
        }
        Some(source) => Error::Handshake { source },
        None if err.kind() == io::ErrorKind::UnexpectedEof => Error::ClosedDuringHandshake,
        None => Error::from_io_error(err),
    }
}

fn is_version_mismatch(err: &rustls::Error) -> bool {
    use rustls::PeerIncompatible as P;
    matches!(
        err,
        rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(
                P::ServerDoesNotSupportTls12Or13
                    | P::ServerTlsVersionIsDisabledByOurConfig
                    | P::SupportedVersionsExtensionRequired
                    | P::Tls12NotOffered
                    | P::Tls12NotOfferedOrEnabled
            )
    )
}

/// Wire byte counters, shared by the counting stream and the socket (the stream may be inside
/// tokio-rustls, or dropped by a failed handshake, when the socket reads them).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> (u64, u64) {
        (
            self.sent.load(Ordering::Relaxed),
            self.received.load(Ordering::Relaxed),
        )
    }
}

/// The TCP stream, counting the bytes that cross the wire.
#[derive(Debug)]
pub(crate) struct Counting {
    inner: TcpStream,
    counters: Arc<Counters>,
}

impl AsyncRead for Counting {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        let read = buf.filled().len().saturating_sub(before);
        this.counters
            .received
            .fetch_add(read as u64, Ordering::Relaxed);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Counting {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, buf))?;
        this.counters
            .sent
            .fetch_add(written as u64, Ordering::Relaxed);
        Poll::Ready(Ok(written))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = ready!(Pin::new(&mut this.inner).poll_write_vectored(cx, bufs))?;
        this.counters
            .sent
            .fetch_add(written as u64, Ordering::Relaxed);
        Poll::Ready(Ok(written))
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_families_alternate_from_the_first_one() {
        let v4 = |n: u8| SocketAddr::from(([127, 0, 0, n], 1));
        let v6 = |n: u16| SocketAddr::from((std::net::Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, n), 1));
        assert_eq!(
            interleave(vec![v6(1), v6(2), v6(3), v4(1), v4(2)]),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(interleave(vec![v4(1), v6(1), v4(2)]), [v4(1), v6(1), v4(2)]);
        assert_eq!(interleave(vec![v4(1), v4(2)]), [v4(1), v4(2)]);
        assert!(interleave(Vec::new()).is_empty());
    }

    /// A loopback address where connection attempts hang: a listener that never accepts, with
    /// its accept queue full, so the kernel drops further SYNs. Keep the result alive.
    fn blackhole() -> (
        SocketAddr,
        tokio::net::TcpListener,
        Vec<std::net::TcpStream>,
    ) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
        let listener = socket.listen(0).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut fillers = Vec::new();
        while let Ok(stream) =
            std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200))
        {
            fillers.push(stream);
            assert!(fillers.len() < 64, "the accept queue never filled");
        }
        (addr, listener, fillers)
    }

    /// A loopback address that refuses connections (a port nobody listens on any more).
    fn refusing() -> SocketAddr {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
    }

    async fn race(addrs: Vec<SocketAddr>) -> Result<SocketAddr, (SocketAddr, io::ErrorKind)> {
        let socket = StreamSocket::new();
        let raced =
            tokio::time::timeout(std::time::Duration::from_secs(20), socket.race(None, addrs))
                .await
                .expect("the race ends by itself");
        raced
            .map(|(_, addr)| addr)
            .map_err(|(addr, err)| (addr, err.kind()))
    }

    #[tokio::test]
    async fn an_address_that_never_answers_does_not_hold_up_the_next() {
        let (hole, _listener, _fillers) = blackhole();
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = server.local_addr().unwrap();
        let started = Instant::now();
        assert_eq!(race(vec![hole, good]).await, Ok(good));
        assert!(
            started.elapsed() >= ATTEMPT_DELAY,
            "the second attempt waited for the attempt delay"
        );
    }

    #[tokio::test]
    async fn a_refused_address_hands_over_at_once_and_the_last_failure_is_reported() {
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let good = server.local_addr().unwrap();
        let refused = refusing();
        assert_eq!(race(vec![refused, good]).await, Ok(good));

        let (first, second) = (refusing(), refusing());
        assert_eq!(
            race(vec![first, second]).await,
            Err((second, io::ErrorKind::ConnectionRefused))
        );

        // From a fixed local port the attempts take turns, so each can bind it.
        let local = refusing();
        let socket = StreamSocket::new();
        let raced = socket.race(Some(local), vec![refusing(), good]).await;
        let (stream, addr) = raced.map_err(|(_, err)| err).unwrap();
        assert_eq!(addr, good);
        assert_eq!(stream.local_addr().unwrap(), local);
    }

    #[test]
    fn the_hop_limit_is_set_before_connecting_for_either_family() {
        let mut control = SocketControl::default();
        control.set_hop_limit(Some(17)).unwrap();
        control.set_keep_alive(true).unwrap();
        let socket = StreamSocket::with_control(control);
        let v4 = socket
            .socket_for(None, SocketAddr::from(([127, 0, 0, 1], 9)))
            .unwrap();
        assert_eq!(socket2::SockRef::from(&v4).ttl_v4().unwrap(), 17);
        assert!(v4.keepalive().unwrap());
        let v6 = socket
            .socket_for(None, SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9)))
            .unwrap();
        assert_eq!(socket2::SockRef::from(&v6).unicast_hops_v6().unwrap(), 17);

        // Without a hop limit the system's default stays (64 on Linux, never 17).
        let plain = StreamSocket::new();
        let v6 = plain
            .socket_for(None, SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9)))
            .unwrap();
        assert_ne!(socket2::SockRef::from(&v6).unicast_hops_v6().unwrap(), 17);
        assert!(!v6.keepalive().unwrap());
    }

    #[test]
    fn version_alerts_and_incompatibilities_are_version_mismatches() {
        assert!(is_version_mismatch(&rustls::Error::AlertReceived(
            rustls::AlertDescription::ProtocolVersion
        )));
        assert!(is_version_mismatch(&rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
        )));
        assert!(!is_version_mismatch(&rustls::Error::AlertReceived(
            rustls::AlertDescription::HandshakeFailure
        )));
    }

    #[test]
    fn a_handshake_error_with_unignored_certificate_problems_is_a_certificate_error() {
        let report = SharedReport::default();
        report.lock().errors = vec![proto::cert::ChainValidationResult::Expired];
        report.lock().not_ignored = vec![proto::cert::ChainValidationResult::Expired];
        let io = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::Expired),
        );
        let err = handshake_error(io, VersionSet::BOTH, &report);
        assert_eq!(err.kind(), crate::ErrorKind::CertificateExpired);

        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        let err = handshake_error(eof, VersionSet::BOTH, &SharedReport::default());
        assert!(matches!(err, Error::ClosedDuringHandshake));
    }
}
