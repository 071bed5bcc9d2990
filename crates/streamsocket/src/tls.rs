//! From a level's version set and the socket's options to a rustls `ClientConfig`.
//!
//! rustls resumes a session only with the very same verifier and client-certificate resolver
//! (it compares the `Arc`s). So both are built once per set of verification options and kept
//! in the control, shared by its clones; the per-connection certificate report reaches the
//! shared verifier through a task-local set around each handshake.

use std::fmt;
use std::sync::{Arc, Mutex};

use proto::level::VersionSet;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::CryptoProvider;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{ClientConfig, SignatureScheme};

use crate::Error;
use crate::control::SocketControl;
use crate::verifier::ReportingVerifier;

/// The crypto provider: aws-lc-rs, pinned (never the process default), so that what is
/// negotiated does not depend on which crate installed a default first.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The verifier and the client-certificate resolver, built once and shared.
#[derive(Clone, Debug)]
pub(crate) struct TlsParts {
    verifier: Arc<ReportingVerifier>,
    resolver: Arc<dyn ResolvesClientCert>,
}

/// A cell for [`TlsParts`], shared by clones of a control until a verification option changes.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsPartsCell(Arc<Mutex<Option<TlsParts>>>);

impl TlsPartsCell {
    fn get_or_build(&self, control: &SocketControl) -> Result<TlsParts, Error> {
        // A poisoned lock only means a panic elsewhere while holding it; the cell stays usable.
        let mut cell = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(parts) = cell.as_ref() {
            return Ok(parts.clone());
        }
        let provider = provider();
        let verifier = Arc::new(ReportingVerifier::new(
            &provider,
            control.trust_anchors().root_store()?,
            control.crls(),
            control.ignorable_server_certificate_errors(),
        )?);
        let resolver: Arc<dyn ResolvesClientCert> = match control.client_identity() {
            Some(identity) => {
                let key =
                    CertifiedKey::from_der(identity.chain().to_vec(), identity.key(), &provider)
                        .map_err(|err| {
                            Error::invalid(format!(
                                "the client certificate or key is unusable: {err}"
                            ))
                        })?;
                Arc::new(SingleCertAndKey::from(key))
            }
            None => Arc::new(NoClientCert),
        };
        let parts = TlsParts { verifier, resolver };
        *cell = Some(parts.clone());
        Ok(parts)
    }
}

/// The client configuration for one handshake.
pub(crate) fn client_config(
    control: &SocketControl,
    versions: VersionSet,
) -> Result<ClientConfig, Error> {
    let parts = control.tls_parts().get_or_build(control)?;
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&versions.to_rustls())
        .map_err(|err| Error::invalid(format!("the TLS versions are not usable: {err}")))?
        .dangerous()
        .with_custom_certificate_verifier(parts.verifier)
        .with_client_cert_resolver(parts.resolver);
    config.alpn_protocols = control.alpn_protocols().to_vec();
    config.enable_sni = control.send_sni();
    config.resumption = if control.session_resumption() {
        Resumption::store(control.session_store().inner())
    } else {
        Resumption::disabled()
    };
    Ok(config)
}

/// The resolver of a client without a certificate: it never offers one.
struct NoClientCert;

impl ResolvesClientCert for NoClientCert {
    fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        None
    }

    fn has_certs(&self) -> bool {
        false
    }
}

impl fmt::Debug for NoClientCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NoClientCert")
    }
}
