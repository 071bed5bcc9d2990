//! The STARTTLS driver: moves bytes between the socket, the core's dialect machine and
//! tokio-rustls. Every protocol decision is the machine's; this module only does I/O.

use proto::level::ProtectionLevel;
use proto::starttls::{ClientEvent, ClientFailure, ClientMachine, ClientSettings, Dialect};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::{Instant, timeout_at};

use crate::{Error, StreamSocket};

/// How much is read from the peer at a time during the exchange.
const READ_CHUNK: usize = 4096;

/// `StreamSocket::upgrade_with`: the dialect's STARTTLS exchange, the handshake, then the
/// dialect's fresh capability list inside TLS, all three within one handshake timeout counted
/// from the first byte of the exchange (a server that stalls in each phase cannot stretch it).
pub(crate) async fn upgrade_with(
    socket: &mut StreamSocket,
    dialect: Dialect,
    level: ProtectionLevel,
    validation_host: &str,
) -> Result<(), Error> {
    // Policy first: nothing of the exchange is sent for a level that cannot be honoured.
    let setup = socket.prepare_upgrade(level, validation_host)?;
    socket.set_dialect(dialect);
    let limit = socket.handshake_timeout();
    let config = ClientSettings {
        ehlo_name: socket.control().ehlo_name().clone(),
        ..ClientSettings::default()
    };
    let mut machine = ClientMachine::new(dialect, config);

    let mut io = socket.take_plain()?;
    let deadline = Instant::now() + limit;
    let received_before = io.received();
    match timeout_at(deadline, before_tls(&mut machine, &mut io, dialect)).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => return Err(err),
        // Not a byte in the whole budget: the server waits for the client, as a port of
        // implicit TLS does (in the line dialects the server speaks first, so the machine has
        // sent nothing).
        Err(_elapsed) if io.received() == received_before && dialect.is_line_based() => {
            return Err(Error::NoGreeting {
                dialect,
                timeout: limit,
            });
        }
        Err(_elapsed) => return Err(Error::HandshakeTimedOut { timeout: limit }),
    }
    socket.handshake(io, setup, Some(deadline)).await?;

    machine.handle_tls_established();
    match timeout_at(
        deadline,
        exchange(&mut machine, socket, dialect, Side::InsideTls),
    )
    .await
    {
        Ok(Ok(capabilities)) => {
            socket.set_capabilities(capabilities);
            // What the server sent right after the capability reply (in the same read) is the
            // application's.
            socket.set_unread(machine.take_leftover());
            Ok(())
        }
        Ok(Err(Step::Failed(err) | Step::Broken(err))) => Err(err),
        Ok(Err(Step::StartTls)) => Err(Error::Protocol {
            dialect,
            reason: "the dialect machine gave a second go-ahead inside TLS".to_owned(),
        }),
        Err(_elapsed) => Err(Error::HandshakeTimedOut { timeout: limit }),
    }
}

/// The plaintext half: runs the machine until it gives the go-ahead (`StartTls`).
async fn before_tls<IO>(
    machine: &mut ClientMachine,
    io: &mut IO,
    dialect: Dialect,
) -> Result<(), Error>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    match exchange(machine, io, dialect, Side::Plaintext).await {
        Ok(_) => Err(Error::Protocol {
            dialect,
            reason: "the dialect machine reported Ready before TLS".to_owned(),
        }),
        Err(Step::StartTls) => Ok(()),
        Err(Step::Broken(err)) => Err(err),
        Err(Step::Failed(err)) => {
            // The machine allows at most its QUIT or LOGOUT after a failure; send it, but a
            // failure to send it changes nothing.
            while let Some(bytes) = machine.poll_transmit() {
                if io.write_all(&bytes).await.is_err() {
                    break;
                }
            }
            let _ = io.shutdown().await;
            Err(err)
        }
    }
}

/// Runs the machine over `io` until it is `Ready` (returning its capabilities), gives the
/// go-ahead, or fails.
async fn exchange<IO>(
    machine: &mut ClientMachine,
    io: &mut IO,
    dialect: Dialect,
    side: Side,
) -> Result<Vec<String>, Step>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    // Read into spare capacity (never zeroed); cleared before each read, so it never grows
    // beyond READ_CHUNK.
    let mut buf = Vec::with_capacity(READ_CHUNK);
    let mut eof = false;
    loop {
        if let Some(event) = machine.poll_event() {
            return match event {
                ClientEvent::Ready { capabilities } => Ok(capabilities),
                ClientEvent::StartTls => {
                    // MySQL's SSLRequest goes out with the go-ahead: it is written first.
                    while let Some(bytes) = machine.poll_transmit() {
                        io.write_all(&bytes)
                            .await
                            .map_err(|err| Step::Broken(err.into()))?;
                        io.flush().await.map_err(|err| Step::Broken(err.into()))?;
                    }
                    Err(Step::StartTls)
                }
                ClientEvent::Failed(failure) => {
                    Err(Step::Failed(failure_error(dialect, failure, side)))
                }
            };
        }
        let mut wrote = false;
        while let Some(bytes) = machine.poll_transmit() {
            io.write_all(&bytes)
                .await
                .map_err(|err| Step::Broken(err.into()))?;
            wrote = true;
        }
        if wrote {
            io.flush().await.map_err(|err| Step::Broken(err.into()))?;
            continue;
        }
        if eof {
            // The machine saw the end of the stream and has nothing to say: treat as closed.
            return Err(Step::Broken(failure_error(
                dialect,
                ClientFailure::Closed,
                side,
            )));
        }
        buf.clear();
        let read = io
            .read_buf(&mut buf)
            .await
            .map_err(|err| Step::Broken(err.into()))?;
        match buf.get(..read) {
            Some([]) | None => {
                eof = true;
                machine.handle_eof();
            }
            Some(data) => machine.handle_input(data),
        }
    }
}

/// Which half of the upgrade an exchange runs in (for the error messages).
#[derive(Clone, Copy)]
enum Side {
    /// Before the go-ahead.
    Plaintext,
    /// After the handshake, while the fresh capabilities are fetched.
    InsideTls,
}

/// Why `exchange` stopped short of `Ready`.
enum Step {
    /// The machine gave the go-ahead.
    StartTls,
    /// The machine failed (refused, not offered, injection, ...): it may still say goodbye.
    Failed(Error),
    /// The connection failed: nothing more is sent.
    Broken(Error),
}

fn failure_error(dialect: Dialect, failure: ClientFailure, side: Side) -> Error {
    match failure {
        ClientFailure::NotOffered { capabilities } => Error::StartTlsNotOffered {
            dialect,
            capabilities,
        },
        ClientFailure::Refused { reply } => Error::StartTlsRefused { dialect, reply },
        ClientFailure::Preauth { greeting } => Error::Preauth { greeting },
        ClientFailure::PlaintextAfterGoAhead { bytes } => {
            Error::PlaintextAfterGoAhead { dialect, bytes }
        }
        ClientFailure::Protocol { reason } => Error::Protocol { dialect, reason },
        ClientFailure::TlsInsteadOfGreeting => Error::TlsInsteadOfPlaintext { dialect },
        ClientFailure::Closed => Error::Protocol {
            dialect,
            reason: match side {
                Side::Plaintext => "the server closed the connection before the STARTTLS go-ahead",
                Side::InsideTls => {
                    "the server closed the TLS connection before its capability reply"
                }
            }
            .to_owned(),
        },
    }
}
