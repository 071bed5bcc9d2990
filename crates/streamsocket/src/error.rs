//! The one error type of the crate, and its kinds.
//!
//! Errors are values that can be cloned (sources sit behind `Arc`), because a socket keeps the
//! first fatal error and returns it again from every later call.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proto::cert::{ChainValidationResult, ErrorDetail, PinMismatch};
use proto::codec::FrameError;
use proto::level::{
    InvalidReason, Operation, ProtectionLevel, Refusal, RefusalReason, UnsupportedReason,
};
use proto::starttls::Dialect;
use serde::Serialize;

/// Everything that can go wrong with a [`StreamSocket`](crate::StreamSocket).
///
/// [`Error::kind`] sorts the variants into the Windows Runtime `SocketErrorStatus` vocabulary
/// plus this project's own kinds; [`Error::status`] gives the WinRT numeric status where one
/// exists.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The IMAP server greeted with PREAUTH: the session is already authenticated in plaintext,
    /// and STARTTLS is no longer allowed (RFC 3501 section 6.2.1).
    #[error(
        "the IMAP server sent a PREAUTH greeting ({greeting:?}): the session is authenticated in \
         plaintext and cannot be upgraded; use implicit TLS (imaps) instead"
    )]
    Preauth {
        /// The greeting line.
        greeting: String,
    },

    /// The server certificate failed validation; `errors` lists every problem found and
    /// `details` what each is about, in the words of `SocketInformation`.
    #[error(
        "the server certificate is not acceptable ({}); add the classes to \
         ignorable_server_certificate_errors only if you trust this server anyway",
        explain(errors, details)
    )]
    Certificate {
        /// Every problem found, ignored ones included, without duplicates.
        errors: Vec<ChainValidationResult>,
        /// What each of `errors` is about, in the same order (behind one pointer: the error
        /// stays small and cheap to clone).
        details: Arc<Vec<ErrorDetail>>,
        /// The problems that were not ignored: the reason the handshake failed.
        not_ignored: Vec<ChainValidationResult>,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },

    /// Public-key pins were set and the server's key matches none of them: refused whatever
    /// the ignore-list says (the chain's own problems, if any, are in `errors`).
    #[error(
        "{mismatch}; the server's key is not one the caller pinned, whatever certificate errors \
         are ignored{}",
        problems(errors, details)
    )]
    PinMismatch {
        /// Both hashes: the server's and the pinned ones.
        mismatch: Box<PinMismatch>,
        /// Every problem found with the chain, ignored ones included.
        errors: Vec<ChainValidationResult>,
        /// What each of `errors` is about.
        details: Arc<Vec<ErrorDetail>>,
    },

    /// A connect or upgrade was cancelled (its future dropped) before it finished; the socket
    /// is left without a usable connection.
    #[error(
        "a connect or upgrade was cancelled before it finished; the socket cannot be used any \
         more, create a new one"
    )]
    Cancelled,

    /// The peer closed the connection before the TLS handshake completed.
    #[error("the server closed the connection during the TLS handshake")]
    ClosedDuringHandshake,

    /// Connecting to every resolved address failed for a reason other than refusal.
    #[error("could not connect to {host} ({addr})")]
    Connect {
        /// The host name given to `connect`.
        host: String,
        /// The last address tried.
        addr: SocketAddr,
        /// The error of the last attempt.
        #[source]
        source: Arc<io::Error>,
    },

    /// Every resolved address refused the connection.
    #[error("connection to {host} ({addr}) was refused; check that a server listens on that port")]
    ConnectionRefused {
        /// The host name given to `connect`.
        host: String,
        /// The last address tried.
        addr: SocketAddr,
        /// The error of the last attempt.
        #[source]
        source: Arc<io::Error>,
    },

    /// The connection was reset or aborted by the peer.
    #[error("the connection was reset by the peer")]
    ConnectionReset {
        /// The operating system's error.
        #[source]
        source: Arc<io::Error>,
    },

    /// Resolving and connecting did not finish within the connect timeout.
    #[error(
        "could not connect to {host} within {timeout:?}; raise the connect timeout or check the route"
    )]
    ConnectTimedOut {
        /// The host name given to `connect`.
        host: String,
        /// The connect timeout in force.
        timeout: Duration,
    },

    /// The TLS handshake failed for a reason other than the certificate or the version.
    #[error("the TLS handshake failed")]
    Handshake {
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },

    /// The TLS handshake did not finish within the handshake timeout.
    #[error("the TLS handshake did not complete within {timeout:?}")]
    HandshakeTimedOut {
        /// The handshake timeout in force.
        timeout: Duration,
    },

    /// A STARTTLS dialect was asked for and no greeting came within the handshake timeout: the
    /// port may expect TLS at once. Nothing was sent.
    #[error(
        "no {dialect} greeting came within {timeout:?}: the server waits for the client to speak \
         first, which a port of implicit TLS does; connect with a TLS level instead of upgrading, \
         or check the port"
    )]
    NoGreeting {
        /// The dialect whose greeting was awaited.
        dialect: Dialect,
        /// The handshake timeout in force.
        timeout: Duration,
    },

    /// The host name did not resolve to any address.
    #[error("host {host:?} was not found; check the name and the resolver configuration")]
    HostNotFound {
        /// The host name given to `connect`.
        host: String,
        /// The resolver's error, if it gave one.
        #[source]
        source: Option<Arc<io::Error>>,
    },

    /// A frame of the seed's framing is too long or is not UTF-8.
    #[error("invalid frame")]
    Frame(#[source] FrameError),

    /// A call that makes no sense in this state or with these arguments; the caller's mistake.
    #[error("invalid argument: {reason}")]
    InvalidArgument {
        /// What is wrong, in words.
        reason: String,
    },

    /// The requested protection level (with the socket's minimum), or a minimum level being
    /// set, is invalid on TCP.
    #[error("invalid protection level {level}: {reason}")]
    InvalidProtectionLevel {
        /// The requested level, or the minimum level being set.
        level: ProtectionLevel,
        /// The socket's minimum level if one was set, or the minimum level being set.
        minimum: Option<ProtectionLevel>,
        /// Why the combination is invalid.
        reason: InvalidReason,
    },

    /// An I/O error not covered by a more specific variant.
    #[error(transparent)]
    Io(Arc<io::Error>),

    /// The server answered the ClientHello (or greeted before it) in plaintext: the port
    /// expects a STARTTLS dialect or speaks no TLS. The bytes were not treated as data.
    #[error("{reply}")]
    PlaintextInsteadOfTls {
        /// What was recognised, with the start of the reply, escaped.
        reply: proto::reply::PlaintextReply,
    },

    /// The server echoed the ClientHello back: an echo service, not a TLS server.
    #[error(
        "the server sent the ClientHello back instead of answering it: this port is an echo \
         service, not TLS"
    )]
    EchoedClientHello,

    /// A STARTTLS dialect was asked for and the server spoke TLS at once: a port of implicit
    /// TLS.
    #[error(
        "the server sent a TLS record where a {dialect} greeting was due: this port speaks TLS at \
         once; connect with a TLS level instead of upgrading with {dialect}"
    )]
    TlsInsteadOfPlaintext {
        /// The dialect whose greeting was awaited.
        dialect: Dialect,
    },

    /// Bytes arrived after the server's STARTTLS go-ahead and before the handshake: response
    /// injection. The connection was closed before any TLS byte was sent.
    #[error(
        "{bytes} plaintext bytes followed the server's STARTTLS go-ahead ({dialect}); this is \
         response injection (an attack or a broken server), so the connection was closed"
    )]
    PlaintextAfterGoAhead {
        /// The dialect being upgraded.
        dialect: Dialect,
        /// How many bytes were buffered after the go-ahead.
        bytes: usize,
    },

    /// The server spoke the dialect wrongly, or closed the connection during the exchange.
    #[error("STARTTLS exchange ({dialect}) failed: {reason}")]
    Protocol {
        /// The dialect being upgraded.
        dialect: Dialect,
        /// What went wrong, in words.
        reason: String,
    },

    /// Client and server have no TLS version in common.
    #[error(
        "the server does not support the TLS versions offered ({offered}); try another \
         protection level"
    )]
    ProtocolVersionMismatch {
        /// The versions offered, e.g. `TLSv1.3`.
        offered: String,
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },

    /// The server does not advertise STARTTLS.
    #[error(
        "the server does not offer STARTTLS ({dialect}); nothing more was sent in plaintext \
         (advertised: {})",
        capabilities.join(", ")
    )]
    StartTlsNotOffered {
        /// The dialect being upgraded.
        dialect: Dialect,
        /// The capabilities the server did advertise.
        capabilities: Vec<String>,
    },

    /// The server refused the STARTTLS command.
    #[error("the server refused STARTTLS ({dialect}): {reply}; nothing more was sent in plaintext")]
    StartTlsRefused {
        /// The dialect being upgraded.
        dialect: Dialect,
        /// The server's reply.
        reply: String,
    },

    /// The TLS session failed after the handshake: a fatal alert from the peer (for example a
    /// TLS 1.3 server rejecting the client certificate) or a record that does not decrypt.
    #[error("the TLS session failed")]
    Tls {
        /// What rustls reported.
        #[source]
        source: rustls::Error,
    },

    /// The peer closed a TLS connection without `close_notify`: the data may be truncated.
    #[error(
        "the peer closed the connection without a TLS close_notify alert; the data received \
         may be truncated"
    )]
    Truncated,

    /// The requested level is one this project refuses to offer.
    #[error("protection level {level} is not supported: {reason}; use Ssl, Tls12 or Tls13")]
    UnsupportedProtectionLevel {
        /// The requested level.
        level: ProtectionLevel,
        /// Why it is refused.
        reason: UnsupportedReason,
    },
}

impl Error {
    /// The kind of error, in the vocabulary of WinRT's `SocketErrorStatus` where it has a name.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Certificate {
                not_ignored,
                errors,
                ..
            } => certificate_kind(not_ignored.first().or_else(|| errors.first()).copied()),
            Self::PinMismatch { .. } => ErrorKind::CertificatePinMismatch,
            Self::Cancelled => ErrorKind::InvalidArgument,
            Self::ClosedDuringHandshake | Self::Handshake { .. } => ErrorKind::HandshakeFailed,
            Self::Connect { source, .. } | Self::Io(source) => io_kind(source.kind()),
            Self::ConnectionRefused { .. } => ErrorKind::ConnectionRefused,
            Self::ConnectionReset { .. } => ErrorKind::ConnectionResetByPeer,
            Self::ConnectTimedOut { .. } => ErrorKind::ConnectionTimedOut,
            Self::Frame(FrameError::LimitTooHigh(_)) => ErrorKind::InvalidArgument,
            Self::Frame(_) => ErrorKind::Protocol,
            Self::HandshakeTimedOut { .. } | Self::NoGreeting { .. } => {
                ErrorKind::HandshakeTimedOut
            }
            Self::HostNotFound { .. } => ErrorKind::HostNotFound,
            Self::InvalidArgument { .. } | Self::InvalidProtectionLevel { .. } => {
                ErrorKind::InvalidArgument
            }
            Self::PlaintextAfterGoAhead { .. } => ErrorKind::PlaintextAfterGoAhead,
            Self::PlaintextInsteadOfTls { .. } | Self::EchoedClientHello => {
                ErrorKind::PlaintextInsteadOfTls
            }
            Self::TlsInsteadOfPlaintext { .. } => ErrorKind::TlsInsteadOfPlaintext,
            Self::Protocol { .. } => ErrorKind::Protocol,
            Self::ProtocolVersionMismatch { .. } => ErrorKind::ProtocolVersionMismatch,
            Self::Preauth { .. } | Self::StartTlsNotOffered { .. } => ErrorKind::StartTlsNotOffered,
            Self::StartTlsRefused { .. } => ErrorKind::StartTlsRefused,
            Self::Tls { source } => tls_kind(source),
            Self::Truncated => ErrorKind::Truncated,
            Self::UnsupportedProtectionLevel { .. } => ErrorKind::UnsupportedProtectionLevel,
        }
    }

    /// The WinRT `SocketErrorStatus` numeric value of [`Error::kind`], where one exists.
    pub fn status(&self) -> Option<i32> {
        self.kind().status()
    }

    /// This error and its sources, joined with `: `, for a one-line report (a command-line
    /// tool's `message`): `Display` alone keeps to this error's own words.
    pub fn full_message(&self) -> String {
        let mut message = self.to_string();
        let mut source = std::error::Error::source(self);
        while let Some(err) = source {
            message.push_str(": ");
            message.push_str(&err.to_string());
            source = err.source();
        }
        message
    }

    /// The crate error inside an `io::Error` returned by the socket's `AsyncRead` or
    /// `AsyncWrite` implementation, if there is one.
    pub fn from_io(err: &io::Error) -> Option<&Self> {
        err.get_ref().and_then(|inner| inner.downcast_ref::<Self>())
    }

    /// This error wrapped for `AsyncRead`/`AsyncWrite`; [`Error::from_io`] gets it back.
    pub fn to_io(&self) -> io::Error {
        let kind = match self {
            Self::Io(err) => err.kind(),
            Self::Truncated => io::ErrorKind::UnexpectedEof,
            Self::ConnectionReset { .. } => io::ErrorKind::ConnectionReset,
            Self::ConnectTimedOut { .. }
            | Self::HandshakeTimedOut { .. }
            | Self::NoGreeting { .. } => io::ErrorKind::TimedOut,
            Self::InvalidArgument { .. } | Self::InvalidProtectionLevel { .. } => {
                io::ErrorKind::InvalidInput
            }
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, self.clone())
    }

    /// An I/O error from the connection, with resets told apart.
    pub(crate) fn from_io_error(err: io::Error) -> Self {
        if let Some(inner) = Self::from_io(&err) {
            return inner.clone();
        }
        if let Some(source) = err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Self::Tls {
                source: source.clone(),
            };
        }
        match err.kind() {
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe => Self::ConnectionReset {
                source: Arc::new(err),
            },
            _ => Self::Io(Arc::new(err)),
        }
    }

    pub(crate) fn invalid(reason: impl Into<String>) -> Self {
        Self::InvalidArgument {
            reason: reason.into(),
        }
    }
}

/// The level policy's refusal as the client reports it: the one place where a [`Refusal`] of
/// [`decide`](proto::level::decide) becomes an error, for a connect, an upgrade, setting the
/// minimum level and the command-line tool alike.
impl From<Refusal> for Error {
    fn from(refusal: Refusal) -> Self {
        let (level, minimum) = match refusal.operation() {
            Operation::Connect { level, minimum } | Operation::Upgrade { level, minimum } => {
                (level, minimum)
            }
            Operation::SetMinimum { minimum } => (minimum, Some(minimum)),
        };
        match refusal.reason() {
            RefusalReason::Unsupported(reason) => {
                Self::UnsupportedProtectionLevel { level, reason }
            }
            RefusalReason::Invalid(reason) => Self::InvalidProtectionLevel {
                level,
                minimum,
                reason,
            },
        }
    }
}

impl From<io::Error> for Error {
    fn from(err: io::Error) -> Self {
        Self::from_io_error(err)
    }
}

/// The kind of an [`Error`]: the names of WinRT's `SocketErrorStatus` where one fits, plus the
/// project's own.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The certificate is outside its validity period.
    CertificateExpired,
    /// The certificate is invalid in a way without a more specific kind.
    CertificateIsInvalid,
    /// The certificate is not valid for the host name.
    CertificateCommonNameIsIncorrect,
    /// The certificate was revoked.
    CertificateRevoked,
    /// The server's public key matches none of the pinned keys.
    CertificatePinMismatch,
    /// The chain does not end at a trusted root (or is incomplete).
    CertificateUntrustedRoot,
    /// The certificate is not valid for server authentication.
    CertificateWrongUsage,
    /// The remote host refused the connection.
    ConnectionRefused,
    /// The peer reset the connection.
    ConnectionResetByPeer,
    /// Connecting took longer than the connect timeout.
    ConnectionTimedOut,
    /// The TLS handshake failed (alert, bad message, closed connection).
    HandshakeFailed,
    /// The TLS handshake took longer than the handshake timeout.
    HandshakeTimedOut,
    /// The host name did not resolve.
    HostNotFound,
    /// The call or its arguments make no sense here.
    InvalidArgument,
    /// Another I/O error.
    Io,
    /// Plaintext bytes followed the STARTTLS go-ahead (response injection).
    PlaintextAfterGoAhead,
    /// The server answered in plaintext where TLS was due: the port expects STARTTLS or speaks
    /// no TLS.
    PlaintextInsteadOfTls,
    /// The STARTTLS dialect was spoken wrongly by the server.
    Protocol,
    /// No TLS version in common.
    ProtocolVersionMismatch,
    /// The server does not offer STARTTLS (or is in a state where it cannot).
    StartTlsNotOffered,
    /// The server refused STARTTLS.
    StartTlsRefused,
    /// The server spoke TLS at once where a STARTTLS dialect's greeting was due.
    TlsInsteadOfPlaintext,
    /// The TLS connection ended without `close_notify`.
    Truncated,
    /// The protection level is refused by policy.
    UnsupportedProtectionLevel,
}

impl ErrorKind {
    /// The WinRT `SocketErrorStatus` numeric value, where the kind has one.
    pub fn status(self) -> Option<i32> {
        Some(match self {
            Self::ConnectionTimedOut => 3,
            Self::HostNotFound => 6,
            Self::ConnectionRefused => 12,
            Self::ConnectionResetByPeer => 18,
            Self::CertificateExpired => 23,
            Self::CertificateUntrustedRoot => 24,
            Self::CertificateCommonNameIsIncorrect => 25,
            Self::CertificateWrongUsage => 26,
            Self::CertificateRevoked => 27,
            Self::CertificateIsInvalid => 30,
            _ => return None,
        })
    }

    /// The kind's name, as `Display` prints it (and as the CLI's JSON `error` field carries it).
    pub fn name(self) -> &'static str {
        match self {
            Self::CertificateExpired => "CertificateExpired",
            Self::CertificateIsInvalid => "CertificateIsInvalid",
            Self::CertificateCommonNameIsIncorrect => "CertificateCommonNameIsIncorrect",
            Self::CertificateRevoked => "CertificateRevoked",
            Self::CertificatePinMismatch => "CertificatePinMismatch",
            Self::CertificateUntrustedRoot => "CertificateUntrustedRoot",
            Self::CertificateWrongUsage => "CertificateWrongUsage",
            Self::ConnectionRefused => "ConnectionRefused",
            Self::ConnectionResetByPeer => "ConnectionResetByPeer",
            Self::ConnectionTimedOut => "ConnectionTimedOut",
            Self::HandshakeFailed => "HandshakeFailed",
            Self::HandshakeTimedOut => "HandshakeTimedOut",
            Self::HostNotFound => "HostNotFound",
            Self::InvalidArgument => "InvalidArgument",
            Self::Io => "Io",
            Self::PlaintextAfterGoAhead => "PlaintextAfterGoAhead",
            Self::PlaintextInsteadOfTls => "PlaintextInsteadOfTls",
            Self::TlsInsteadOfPlaintext => "TlsInsteadOfPlaintext",
            Self::Protocol => "Protocol",
            Self::ProtocolVersionMismatch => "ProtocolVersionMismatch",
            Self::StartTlsNotOffered => "StartTlsNotOffered",
            Self::StartTlsRefused => "StartTlsRefused",
            Self::Truncated => "Truncated",
            Self::UnsupportedProtectionLevel => "UnsupportedProtectionLevel",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error kind for a certificate problem class.
fn certificate_kind(class: Option<ChainValidationResult>) -> ErrorKind {
    use ChainValidationResult as C;
    match class {
        Some(C::Expired) => ErrorKind::CertificateExpired,
        Some(C::InvalidName) => ErrorKind::CertificateCommonNameIsIncorrect,
        Some(C::Untrusted | C::IncompleteChain) => ErrorKind::CertificateUntrustedRoot,
        Some(C::WrongUsage) => ErrorKind::CertificateWrongUsage,
        Some(C::Revoked) => ErrorKind::CertificateRevoked,
        _ => ErrorKind::CertificateIsInvalid,
    }
}

/// A late handshake failure (an alert about certificates or the handshake) or another TLS
/// protocol failure.
fn tls_kind(err: &rustls::Error) -> ErrorKind {
    use rustls::AlertDescription as A;
    match err {
        rustls::Error::AlertReceived(
            A::BadCertificate
            | A::CertificateExpired
            | A::CertificateRequired
            | A::CertificateRevoked
            | A::CertificateUnknown
            | A::UnknownCA
            | A::AccessDenied
            | A::HandshakeFailure,
        ) => ErrorKind::HandshakeFailed,
        _ => ErrorKind::Protocol,
    }
}

fn io_kind(kind: io::ErrorKind) -> ErrorKind {
    match kind {
        io::ErrorKind::ConnectionRefused => ErrorKind::ConnectionRefused,
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => ErrorKind::ConnectionResetByPeer,
        io::ErrorKind::TimedOut => ErrorKind::ConnectionTimedOut,
        io::ErrorKind::UnexpectedEof => ErrorKind::Truncated,
        _ => ErrorKind::Io,
    }
}

/// The details' own words, one after the other, or the class names when there are none.
fn explain(errors: &[ChainValidationResult], details: &[ErrorDetail]) -> String {
    if details.is_empty() {
        let names: Vec<String> = errors.iter().map(ToString::to_string).collect();
        return names.join(", ");
    }
    let lines: Vec<String> = details.iter().map(ToString::to_string).collect();
    lines.join("; ")
}

/// The chain's problems after a pin mismatch, if it has any.
fn problems(errors: &[ChainValidationResult], details: &[ErrorDetail]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(" (the chain also has: {})", explain(errors, details))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winrt_statuses_match_the_socket_error_status_enumeration() {
        assert_eq!(ErrorKind::ConnectionTimedOut.status(), Some(3));
        assert_eq!(ErrorKind::HostNotFound.status(), Some(6));
        assert_eq!(ErrorKind::CertificateExpired.status(), Some(23));
        assert_eq!(ErrorKind::CertificateUntrustedRoot.status(), Some(24));
        assert_eq!(
            ErrorKind::CertificateCommonNameIsIncorrect.status(),
            Some(25)
        );
        assert_eq!(ErrorKind::CertificateWrongUsage.status(), Some(26));
        assert_eq!(ErrorKind::CertificateRevoked.status(), Some(27));
        assert_eq!(ErrorKind::CertificateIsInvalid.status(), Some(30));
        assert_eq!(ErrorKind::StartTlsRefused.status(), None);
    }

    #[test]
    fn full_message_follows_the_sources() {
        let err = Error::Handshake {
            source: rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        };
        assert_eq!(err.to_string(), "the TLS handshake failed");
        assert_eq!(
            err.full_message(),
            "the TLS handshake failed: received fatal alert: HandshakeFailure"
        );
    }

    #[test]
    fn errors_survive_a_round_trip_through_io_error() {
        let err = Error::Truncated;
        let io_err = err.to_io();
        assert_eq!(io_err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(matches!(Error::from_io(&io_err), Some(Error::Truncated)));
        assert!(matches!(Error::from_io_error(io_err), Error::Truncated));
    }

    #[test]
    fn every_refusal_of_the_level_policy_becomes_its_level_error() {
        use ProtectionLevel as L;
        use proto::level::decide;

        let refused = |operation| Error::from(decide(operation).unwrap_err());

        let err = refused(Operation::Connect {
            level: L::Tls10,
            minimum: Some(L::Tls13),
        });
        assert!(
            matches!(
                err,
                Error::UnsupportedProtectionLevel {
                    level: L::Tls10,
                    reason: UnsupportedReason::LegacyTlsDeprecated,
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::UnsupportedProtectionLevel);

        let err = refused(Operation::Upgrade {
            level: L::PlainSocket,
            minimum: Some(L::Tls13),
        });
        assert!(
            matches!(
                err,
                Error::InvalidProtectionLevel {
                    level: L::PlainSocket,
                    minimum: Some(L::Tls13),
                    reason: InvalidReason::PlainSocketUpgrade,
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(err.to_io().kind(), io::ErrorKind::InvalidInput);

        // Setting a minimum has no requested level: the error names the minimum.
        let bluetooth = L::BluetoothEncryptionWithAuthentication;
        let err = refused(Operation::SetMinimum { minimum: bluetooth });
        assert!(
            matches!(
                err,
                Error::InvalidProtectionLevel {
                    level,
                    minimum: Some(minimum),
                    reason: InvalidReason::BadMinimum,
                } if level == bluetooth && minimum == bluetooth
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "invalid protection level BluetoothEncryptionWithAuthentication: a Bluetooth level \
             cannot be a minimum protection level"
        );
    }

    #[test]
    fn certificate_kind_follows_the_first_error_not_ignored() {
        let err = Error::Certificate {
            errors: vec![
                ChainValidationResult::Expired,
                ChainValidationResult::InvalidName,
            ],
            details: Arc::default(),
            not_ignored: vec![ChainValidationResult::InvalidName],
            source: rustls::Error::General("test".into()),
        };
        assert_eq!(err.kind(), ErrorKind::CertificateCommonNameIsIncorrect);
        assert_eq!(err.status(), Some(25));
        // Without details, the class names.
        assert!(err.to_string().contains("Expired, InvalidName"), "{err}");
    }

    #[test]
    fn a_pin_mismatch_is_its_own_kind_without_a_winrt_status_and_names_both_hashes() {
        use proto::cert::SpkiPin;
        let leaf = SpkiPin::from_bytes([1; 32]);
        let pinned = SpkiPin::from_bytes([2; 32]);
        let err = Error::PinMismatch {
            mismatch: Box::new(PinMismatch {
                leaf: Some(leaf),
                pinned: vec![pinned],
            }),
            errors: vec![ChainValidationResult::Untrusted],
            details: Arc::default(),
        };
        assert_eq!(err.kind(), ErrorKind::CertificatePinMismatch);
        assert_eq!(err.kind().name(), "CertificatePinMismatch");
        assert_eq!(err.status(), None);
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "the server's key sha256/{leaf} is not pinned (pinned: sha256/{pinned})"
            )),
            "{message}"
        );
        assert!(
            message.ends_with("(the chain also has: Untrusted)"),
            "{message}"
        );
    }
}
