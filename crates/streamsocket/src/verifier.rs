//! The server certificate verifier: rustls's WebPKI verifier, plus a diagnosis that finds
//! every problem (not only the first) and lets the caller ignore chosen classes.
//!
//! The verifier never skips the handshake signature checks: `verify_tls12_signature` and
//! `verify_tls13_signature` go to the WebPKI verifier unchanged, so ignoring a certificate
//! problem never lets a peer without the certificate's private key through.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use proto::cert::{ChainValidationResult, SocketSslErrorSeverity};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, ServerName, UnixTime};
use webpki::{CertRevocationList, EndEntityCert, RevocationCheckDepth, UnknownStatusPolicy};

use crate::Error;
use crate::info::CertificateSummary;

/// What the verifier found, shared with the socket so that it survives a failed handshake.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    /// The chain presented, leaf first.
    pub(crate) chain: Vec<CertificateSummary>,
    /// Every problem found, sorted by WinRT value, without duplicates.
    pub(crate) errors: Vec<ChainValidationResult>,
    /// The problems that were not ignored.
    pub(crate) not_ignored: Vec<ChainValidationResult>,
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
    inner: Arc<WebPkiServerVerifier>,
    roots: Arc<RootCertStore>,
    crls: Vec<CertRevocationList<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
    ignorable: Vec<ChainValidationResult>,
}

impl ReportingVerifier {
    pub(crate) fn new(
        provider: &Arc<CryptoProvider>,
        roots: RootCertStore,
        crls: &[CertificateRevocationListDer<'static>],
        ignorable: &[ChainValidationResult],
    ) -> Result<Self, Error> {
        let roots = Arc::new(roots);
        let inner =
            WebPkiServerVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(provider))
                .with_crls(crls.iter().cloned())
                .build()
                .map_err(|err| {
                    Error::invalid(format!("cannot build the certificate verifier: {err}"))
                })?;
        let crls = crls
            .iter()
            .map(|der| {
                webpki::OwnedCertRevocationList::from_der(der.as_ref())
                    .map(CertRevocationList::from)
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| Error::invalid(format!("a CRL does not parse: {err}")))?;
        Ok(Self {
            inner,
            roots,
            crls,
            algorithms: provider.signature_verification_algorithms,
            ignorable: ignorable
                .iter()
                .copied()
                .filter(|class| class.severity() == SocketSslErrorSeverity::Ignorable)
                .collect(),
        })
    }

    /// Every problem with the chain, found by independent checks after the WebPKI verifier
    /// failed with `first`: the name, the leaf's validity period, and the chain itself at a time
    /// inside the leaf's validity period (so that an expired leaf does not hide an untrusted or
    /// revoked chain).
    fn diagnose(
        &self,
        first: &rustls::Error,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Vec<ChainValidationResult> {
        let mut errors = vec![match first {
            rustls::Error::InvalidCertificate(err) => proto::cert::classify(err),
            _ => ChainValidationResult::OtherErrors,
        }];
        let Ok(leaf) = EndEntityCert::try_from(end_entity) else {
            return finish(errors, end_entity, intermediates);
        };
        if let Err(err) = leaf.verify_is_valid_for_subject_name(server_name) {
            errors.push(proto::cert::classify_webpki(&err));
        }
        let mut chain_time = now;
        if let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity.as_ref()) {
            let validity = cert.validity();
            let not_before = validity.not_before.timestamp();
            let not_after = validity.not_after.timestamp();
            let now_secs = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            if now_secs < not_before || now_secs > not_after {
                errors.push(ChainValidationResult::Expired);
            }
            let inside = now_secs.clamp(not_before, not_after.max(not_before)).max(0);
            chain_time =
                UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(inside).unwrap_or(0)));
        }
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = webpki::RevocationOptionsBuilder::new(&crl_refs)
            .ok()
            .map(|builder| {
                builder
                    .with_depth(RevocationCheckDepth::Chain)
                    .with_status_policy(UnknownStatusPolicy::Deny)
                    .build()
            });
        if let Err(err) = leaf.verify_for_usage(
            self.algorithms.all,
            &self.roots.roots,
            intermediates,
            chain_time,
            webpki::KeyUsage::server_auth(),
            revocation,
            None,
        ) {
            errors.push(proto::cert::classify_webpki(&err));
        }
        finish(errors, end_entity, intermediates)
    }
}

impl ServerCertVerifier for ReportingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = std::iter::once(end_entity)
            .chain(intermediates)
            .map(CertificateSummary::from_der)
            .collect();
        let outcome = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let (errors, not_ignored, result) = match outcome {
            Ok(verified) => (Vec::new(), Vec::new(), Ok(verified)),
            Err(err) => {
                let errors = self.diagnose(&err, end_entity, intermediates, server_name, now);
                let not_ignored: Vec<ChainValidationResult> = errors
                    .iter()
                    .copied()
                    .filter(|class| !self.ignorable.contains(class))
                    .collect();
                let result = if not_ignored.is_empty() {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(err)
                };
                (errors, not_ignored, result)
            }
        };
        // Outside a handshake scope (never the case here) there is nobody to tell.
        let _ = REPORT.try_with(|report| {
            *report.lock() = Report {
                chain,
                errors,
                not_ignored,
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
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Sorts and deduplicates, and tells an incomplete chain from an untrusted one: when the
/// presented chain ends in a certificate that is not self-issued, the issuer is missing rather
/// than distrusted.
fn finish(
    mut errors: Vec<ChainValidationResult>,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Vec<ChainValidationResult> {
    let top = intermediates.last().unwrap_or(end_entity);
    let top_self_issued = x509_parser::parse_x509_certificate(top.as_ref())
        .map(|(_, cert)| cert.subject().as_raw() == cert.issuer().as_raw())
        .unwrap_or(true);
    if !top_self_issued {
        for class in &mut errors {
            if *class == ChainValidationResult::Untrusted {
                *class = ChainValidationResult::IncompleteChain;
            }
        }
    }
    errors.sort_by_key(|class| class.value());
    errors.dedup();
    errors
}
