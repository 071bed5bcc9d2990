//! Closing a connection so that the peer's last word is heard.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::{Error, StreamSocket};

/// The most bytes read (and discarded) while waiting for the peer to close.
const DRAIN_LIMIT: usize = 1 << 20;

impl StreamSocket {
    /// Closes the connection gracefully, waiting at most `wait` in all.
    ///
    /// On TLS it sends `close_notify`, then reads (discarding any late data, at most 1 MiB) until
    /// the server closes, so that a fatal alert the server sends after the handshake is seen and
    /// returned: a TLS 1.3 server that rejects the client certificate only says so after the
    /// client's handshake has completed. A plaintext connection is shut down at once.
    ///
    /// Returns `Ok` when the peer closed, reset or stayed silent until `wait` passed; the TLS
    /// error when the peer sent a fatal alert. Afterwards the socket is unusable for I/O.
    pub async fn close(&mut self, wait: Duration) -> Result<(), Error> {
        let encrypted = self.information().is_encrypted();
        let deadline = Instant::now() + wait;
        match timeout_at(deadline, self.shutdown()).await {
            Ok(Err(err)) => return late_tls_error(&err),
            Err(_elapsed) => return Ok(()),
            Ok(Ok(())) => {}
        }
        if !encrypted {
            return Ok(());
        }
        let mut buf = vec![0u8; 16 * 1024];
        let mut drained = 0usize;
        while drained < DRAIN_LIMIT {
            match timeout_at(deadline, self.read(&mut buf)).await {
                // Late data after our close is discarded; only the end matters.
                Ok(Ok(read)) if read > 0 => drained += read,
                Ok(Err(err)) => return late_tls_error(&err),
                Ok(Ok(_)) | Err(_) => return Ok(()),
            }
        }
        Ok(())
    }
}

/// A TLS error (a fatal alert) is the peer's verdict and is returned; truncation or a reset
/// after our close_notify is an ordinary end.
fn late_tls_error(err: &std::io::Error) -> Result<(), Error> {
    match Error::from_io(err) {
        Some(tls @ Error::Tls { .. }) => Err(tls.clone()),
        _ => Ok(()),
    }
}
