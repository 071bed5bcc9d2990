//! The TCP stream that counts the bytes crossing the wire, before and inside TLS.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Wire byte counters, shared by the counting stream and the socket (the stream may be inside
/// tokio-rustls, or dropped by a failed handshake, when the socket reads them).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    /// Whether the bytes received now are kept in `first` (from the start of a handshake).
    capturing: AtomicBool,
    /// The first bytes the server sent in answer to the handshake, so that a failed one can
    /// tell a plaintext reply from TLS. Fixed size: nothing is allocated per handshake.
    first: Mutex<FirstBytes>,
}

#[derive(Debug)]
struct FirstBytes {
    len: usize,
    bytes: [u8; proto::reply::PREVIEW_LEN],
}

impl Default for FirstBytes {
    fn default() -> Self {
        Self {
            len: 0,
            bytes: [0; proto::reply::PREVIEW_LEN],
        }
    }
}

impl Counters {
    /// Starts keeping the first bytes received (what was kept before is forgotten).
    pub(super) fn capture_first_bytes(&self) {
        self.first
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len = 0;
        self.capturing.store(true, Ordering::Relaxed);
    }

    /// Stops keeping bytes and returns what was kept.
    pub(super) fn take_first_bytes(&self) -> Vec<u8> {
        self.capturing.store(false, Ordering::Relaxed);
        let first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        first.bytes.get(..first.len).unwrap_or_default().to_vec()
    }

    fn keep(&self, data: &[u8]) {
        let mut first = self.first.lock().unwrap_or_else(PoisonError::into_inner);
        let len = first.len;
        let room = first.bytes.len() - len;
        let take = room.min(data.len());
        if let (Some(to), Some(from)) = (first.bytes.get_mut(len..len + take), data.get(..take)) {
            to.copy_from_slice(from);
        }
        first.len += take;
        if first.len == first.bytes.len() {
            self.capturing.store(false, Ordering::Relaxed);
        }
    }

    pub(super) fn snapshot(&self) -> (u64, u64) {
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

impl Counting {
    /// Counts what crosses `inner` into `counters`.
    pub(super) fn new(inner: TcpStream, counters: Arc<Counters>) -> Self {
        Self { inner, counters }
    }

    /// Bytes received on this connection so far.
    pub(crate) fn received(&self) -> u64 {
        self.counters.received.load(Ordering::Relaxed)
    }
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
        if this.counters.capturing.load(Ordering::Relaxed) {
            this.counters
                .keep(buf.filled().get(before..).unwrap_or_default());
        }
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
