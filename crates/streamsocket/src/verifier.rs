//! The server certificate verifier installed in rustls: layer 1's [`ChainVerifier`] decides and
//! reports; this file only shares its report with the socket.
//!
//! A chain is accepted only when WebPKI verifies every signature up to a trust anchor with
//! exactly the ignored checks relaxed (see `streamsocket_proto::cert::ChainVerifier`). The
//! handshake signatures (`verify_tls12_signature`, `verify_tls13_signature`) are always checked
//! against the leaf's key, so ignoring a certificate problem never lets a peer without the
//! certificate's private key through.

use std::sync::{Arc, Mutex, MutexGuard};

use proto::cert::{ChainValidationResult, ChainVerifier, ErrorDetail, PinMismatch, SpkiPin};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{CertificateError, DigitallySignedStruct, OtherError, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};

use crate::Error;
use crate::info::CertificateSummary;

/// What the verifier found, shared with the socket so that it survives a failed handshake.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    /// The chain presented, leaf first.
    pub(crate) chain: Vec<CertificateSummary>,
    /// Every problem found, sorted by WinRT value, without duplicates.
    pub(crate) errors: Vec<ChainValidationResult>,
    /// What each of `errors` is about.
    pub(crate) details: Vec<ErrorDetail>,
    /// The problems that were not ignored.
    pub(crate) not_ignored: Vec<ChainValidationResult>,
    /// Pins were set and the server's key matched none.
    pub(crate) pin_mismatch: Option<PinMismatch>,
}

/// A report shared between the verifier (inside rustls) and the socket.
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedReport(Arc<Mutex<Report>>);

tokio::task_local! {
    /// The report of the handshake being polled. The verifier is shared by every connection
    /// made with one set of options (rustls resumes only with the same verifier), so the
    /// connection's report comes from the task, not from the verifier.
    pub(crate) static REPORT: SharedReport;
}

impl SharedReport {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Report> {
        // A poisoned lock only means a panic elsewhere while holding it; the report is plain
        // data and stays usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The verifier installed in every `ClientConfig` this crate builds.
#[derive(Debug)]
pub(crate) struct ReportingVerifier {
    chains: ChainVerifier,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ReportingVerifier {
    pub(crate) fn new(
        provider: &Arc<CryptoProvider>,
        roots: RootCertStore,
        crls: &[CertificateRevocationListDer<'static>],
        ignorable: &[ChainValidationResult],
        pins: &[SpkiPin],
    ) -> Result<Self, Error> {
        let algorithms = provider.signature_verification_algorithms;
        let chains = ChainVerifier::new(roots.roots, crls, algorithms.all, ignorable)
            .map_err(|err| Error::invalid(format!("cannot build the certificate verifier: {err}")))?
            .with_pins(pins);
        Ok(Self { chains, algorithms })
    }
}

impl ServerCertVerifier for ReportingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(CertificateSummary::from_der)
            .collect();
        let verdict = self
            .chains
            .verify(end_entity, intermediates, server_name, now);
        let result = if verdict.accepted() {
            Ok(ServerCertVerified::assertion())
        } else if let Some(mismatch) = &verdict.pin_mismatch {
            Err(rustls::Error::InvalidCertificate(CertificateError::Other(
                OtherError(Arc::new(NotPinned(mismatch.clone()))),
            )))
        } else {
            Err(rustls::Error::InvalidCertificate(certificate_error(
                &verdict.blocking,
            )))
        };
        // Outside a handshake scope (never the case here) there is nobody to tell.
        let _ = REPORT.try_with(|report| {
            *report.lock() = Report {
                chain,
                errors: verdict.errors,
                details: verdict.details,
                not_ignored: verdict.blocking,
                pin_mismatch: verdict.pin_mismatch,
            }
        });
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The rustls error for a refused chain, so that rustls sends the alert that fits it (a fatal
/// class first, then the lowest WinRT value).
fn certificate_error(blocking: &[ChainValidationResult]) -> CertificateError {
    use ChainValidationResult as R;
    let first = blocking
        .iter()
        .find(|class| class.severity() == proto::cert::SocketSslErrorSeverity::Fatal)
        .or_else(|| blocking.first());
    match first {
        Some(R::Untrusted | R::IncompleteChain) => CertificateError::UnknownIssuer,
        Some(R::Revoked) => CertificateError::Revoked,
        Some(R::Expired) => CertificateError::Expired,
        Some(R::InvalidSignature) => CertificateError::BadSignature,
        Some(R::WrongUsage) => CertificateError::InvalidPurpose,
        Some(R::InvalidName) => CertificateError::NotValidForName,
        Some(R::UnknownCriticalExtension) => CertificateError::UnhandledCriticalExtension,
        Some(R::RevocationInformationMissing) => CertificateError::UnknownRevocationStatus,
        Some(R::RevocationFailure) => CertificateError::ExpiredRevocationList,
        _ => CertificateError::Other(OtherError(Arc::new(Refused(blocking.to_vec())))),
    }
}

/// The error rustls is given for a refused chain (the socket reports the classes from the shared
/// report, not from this error).
#[derive(Debug)]
struct Refused(Vec<ChainValidationResult>);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("certificate refused:")?;
        for class in &self.0 {
            write!(f, " {class}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refused {}

/// The error rustls is given when the server's key is not pinned.
#[derive(Debug)]
struct NotPinned(PinMismatch);

impl std::fmt::Display for NotPinned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for NotPinned {}
