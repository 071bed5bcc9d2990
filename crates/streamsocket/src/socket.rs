//! `StreamSocket`: connect with a protection level, upgrade in place, read and write.

use std::io;
use std::mem;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use proto::level::{Operation, Permit, ProtectionLevel, decide};
use proto::starttls::Dialect;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_rustls::client::TlsStream;

use crate::Error;
use crate::control::SocketControl;
use crate::info::SocketInformation;
use crate::service::Service;

mod connect;
mod counting;
mod handshake;

pub(crate) use counting::{Counters, Counting};
pub(crate) use handshake::TlsSetup;

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
    /// # let port = server.addr().port();
    /// # let root = testpki::Pki::shared(KeyKind::EcdsaP256).root_der();
    /// let mut socket = StreamSocket::new();
    /// socket.control_mut().set_trust_anchors(TrustAnchors::from_der([root]))?;
    /// socket.connect("localhost", port, ProtectionLevel::PlainSocket).await?;
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
        let port = service.port()?;
        // Everything the handshake needs is checked before anything is resolved or sent.
        let tls = match versions {
            Some(set) => Some(TlsSetup::new(&self.control, set, host)?),
            None => None,
        };
        let (tcp, remote) = self.open(local, host, port).await?;
        self.info.local_address = tcp.local_addr().ok();
        self.info.remote_address = Some(remote);
        let io = Counting::new(tcp, Arc::clone(&self.counters));
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
