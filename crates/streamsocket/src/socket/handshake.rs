//! The TLS handshake on a connected stream, what it records in `SocketInformation`, and the
//! sorting of a failed one into error kinds.

use std::io;
use std::sync::Arc;

use proto::level::{ProtectionLevel, TlsVersion, VersionSet};
use proto::reply::FirstReply;
use rustls_pki_types::ServerName;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use super::{Counting, Stream, StreamSocket};
use crate::control::SocketControl;
use crate::info::{AlpnProtocol, CertificateSummary, HandshakeKind};
use crate::verifier::{REPORT, SharedReport};
use crate::{Error, service, tls};

/// Everything a handshake needs, prepared before any connection is made or byte is sent.
pub(crate) struct TlsSetup {
    config: Arc<rustls::ClientConfig>,
    versions: VersionSet,
    name: ServerName<'static>,
}

impl TlsSetup {
    pub(super) fn new(
        control: &SocketControl,
        versions: VersionSet,
        host: &str,
    ) -> Result<Self, Error> {
        Ok(Self {
            name: service::validation_name(host)?,
            config: tls::client_config(control, versions)?,
            versions,
        })
    }
}

impl StreamSocket {
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
        self.counters.capture_first_bytes();
        let outcome = REPORT.scope(report.clone(), handshake).await;
        let first_bytes = self.counters.take_first_bytes();
        self.info.handshake_duration = Some(start.elapsed());
        self.sync_counts();
        {
            let found = report.lock();
            self.info.server_certificates = found.chain.clone();
            self.info.server_certificate_errors = found.errors.clone();
            self.info.server_certificate_error_details = found.details.clone();
            self.info.server_key_pin = found
                .chain
                .first()
                .and_then(|leaf| proto::cert::SpkiPin::of_certificate(leaf.der().as_ref()));
            self.info.pin_mismatch = found.pin_mismatch.is_some();
            self.info.server_certificate_error_severity = proto::cert::severity_of(&found.errors);
        }
        let tls = match outcome {
            Err(_elapsed) => return Err(Error::HandshakeTimedOut { timeout }),
            Ok(Err(err)) => return Err(handshake_error(err, versions, &report, &first_bytes)),
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
                self.info.server_key_pin = chain
                    .first()
                    .and_then(|leaf| proto::cert::SpkiPin::of_certificate(leaf.as_ref()));
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
}

/// Sorts a failed handshake into the error kinds; `first_bytes` are the first the server sent
/// after the handshake began.
fn handshake_error(
    err: io::Error,
    versions: VersionSet,
    report: &SharedReport,
    first_bytes: &[u8],
) -> Error {
    let tls_err = err
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .cloned();
    // Whatever rustls made of them, bytes that are not TLS say what the port speaks.
    match proto::reply::classify(first_bytes) {
        FirstReply::Plaintext(reply) => return Error::PlaintextInsteadOfTls { reply },
        FirstReply::EchoedClientHello => return Error::EchoedClientHello,
        FirstReply::Nothing | FirstReply::Tls | FirstReply::Binary(_) => {}
    }
    {
        let found = report.lock();
        if let Some(mismatch) = &found.pin_mismatch {
            return Error::PinMismatch {
                mismatch: Box::new(mismatch.clone()),
                errors: found.errors.clone(),
                details: Arc::new(found.details.clone()),
            };
        }
        if !found.not_ignored.is_empty() {
            return Error::Certificate {
                errors: found.errors.clone(),
                details: Arc::new(found.details.clone()),
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = handshake_error(io, VersionSet::BOTH, &report, &[]);
        assert_eq!(err.kind(), crate::ErrorKind::CertificateExpired);

        let eof = io::Error::new(io::ErrorKind::UnexpectedEof, "tls handshake eof");
        let err = handshake_error(eof, VersionSet::BOTH, &SharedReport::default(), &[]);
        assert!(matches!(err, Error::ClosedDuringHandshake));
    }
}
