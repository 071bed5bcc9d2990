//! From a level's version set and the socket's options to a rustls `ClientConfig`.
//!
//! rustls resumes a session only with the very same verifier and client-certificate resolver
//! (it compares the `Arc`s). So both are built once per set of verification options and kept
//! in the control, shared by its clones; the per-connection certificate report reaches the
//! shared verifier through a task-local set around each handshake.
//!
//! The finished `ClientConfig`s are kept in the same cell, keyed by everything else they are
//! built from (versions, cipher suites, key-exchange groups, ALPN, SNI, resumption and its
//! store), so that a control reused for
//! many connections builds each configuration once rather than once per connection.

use std::fmt;
use std::sync::{Arc, Mutex};

use proto::level::VersionSet;
use rustls::client::{ResolvesClientCert, Resumption};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{CipherSuite, ClientConfig, NamedGroup, SignatureScheme};

use crate::Error;
use crate::control::SocketControl;
use crate::verifier::ReportingVerifier;

/// The crypto provider: aws-lc-rs, pinned (never the process default), so that what is
/// negotiated does not depend on which crate installed a default first.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// The provider limited to the control's cipher suites and key-exchange groups, in its order.
/// The setters admit only what aws-lc-rs implements, so nothing is lost in the lookup.
fn provider_for(control: &SocketControl) -> Arc<CryptoProvider> {
    let mut provider = aws_lc_rs::default_provider();
    if !control.cipher_suites().is_empty() {
        provider.cipher_suites = control
            .cipher_suites()
            .iter()
            .filter_map(|wanted| {
                aws_lc_rs::ALL_CIPHER_SUITES
                    .iter()
                    .find(|suite| suite.suite() == *wanted)
                    .copied()
            })
            .collect();
    }
    if !control.key_exchange_groups().is_empty() {
        provider.kx_groups = control
            .key_exchange_groups()
            .iter()
            .filter_map(|wanted| {
                aws_lc_rs::ALL_KX_GROUPS
                    .iter()
                    .find(|group| group.name() == *wanted)
                    .copied()
            })
            .collect();
    }
    Arc::new(provider)
}

/// The verifier and the client-certificate resolver, built once and shared.
#[derive(Clone, Debug)]
pub(crate) struct TlsParts {
    verifier: Arc<ReportingVerifier>,
    resolver: Arc<dyn ResolvesClientCert>,
}

/// How many finished configurations a cell keeps (the oldest goes first). Clones of one
/// control rarely differ in more than their versions, so a handful is plenty; the bound only
/// keeps a program that varies ALPN endlessly from growing the cache.
const CONFIGS_KEPT: usize = 8;

/// A cell for [`TlsParts`] and the configurations built on them, shared by clones of a control
/// until a verification option changes.
#[derive(Clone, Debug, Default)]
pub(crate) struct TlsPartsCell(Arc<Mutex<CachedTls>>);

/// The parts once built, and the configurations built on them (newest last).
#[derive(Debug, Default)]
struct CachedTls {
    parts: Option<TlsParts>,
    configs: Vec<(ConfigKey, Arc<ClientConfig>)>,
}

/// What a `ClientConfig` is built from besides the shared parts.
#[derive(Debug)]
struct ConfigKey {
    versions: VersionSet,
    suites: Vec<CipherSuite>,
    groups: Vec<NamedGroup>,
    alpn: Vec<Vec<u8>>,
    sni: bool,
    /// The address of the session store when resumption is on. The cached configuration holds
    /// the store, so the address cannot be reused by another store while the entry lives.
    resumption: Option<usize>,
}

impl ConfigKey {
    /// Whether a configuration built under this key fits `control` and `versions` (compared in
    /// place: a lookup allocates nothing).
    fn fits(&self, control: &SocketControl, versions: VersionSet) -> bool {
        self.versions == versions
            && self.suites == control.cipher_suites()
            && self.groups == control.key_exchange_groups()
            && self.alpn == control.alpn_protocols()
            && self.sni == control.send_sni()
            && self.resumption == resumption_key(control)
    }

    fn of(control: &SocketControl, versions: VersionSet) -> Self {
        Self {
            versions,
            suites: control.cipher_suites().to_vec(),
            groups: control.key_exchange_groups().to_vec(),
            alpn: control.alpn_protocols().to_vec(),
            sni: control.send_sni(),
            resumption: resumption_key(control),
        }
    }
}

/// The address of the session store when resumption is on.
fn resumption_key(control: &SocketControl) -> Option<usize> {
    control.session_resumption().then(|| {
        Arc::as_ptr(&control.session_store().inner())
            .cast::<()>()
            .addr()
    })
}

impl TlsPartsCell {
    fn lock(&self) -> std::sync::MutexGuard<'_, CachedTls> {
        // A poisoned lock only means a panic elsewhere while holding it; the cell stays usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get_or_build(control: &SocketControl, cell: &mut CachedTls) -> Result<TlsParts, Error> {
        if let Some(parts) = cell.parts.as_ref() {
            return Ok(parts.clone());
        }
        let provider = provider();
        let verifier = Arc::new(ReportingVerifier::new(
            &provider,
            control.trust_anchors().root_store()?,
            control.crls(),
            control.ignorable_server_certificate_errors(),
            control.pinned_server_keys(),
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
        cell.parts = Some(parts.clone());
        Ok(parts)
    }
}

/// The client configuration for one handshake: built once per distinct set of options and
/// shared by every connection made with clones of the same control.
pub(crate) fn client_config(
    control: &SocketControl,
    versions: VersionSet,
) -> Result<Arc<ClientConfig>, Error> {
    let mut cell = control.tls_parts().lock();
    if let Some((_, config)) = cell
        .configs
        .iter()
        .find(|(key, _)| key.fits(control, versions))
    {
        return Ok(Arc::clone(config));
    }
    let key = ConfigKey::of(control, versions);
    let parts = TlsPartsCell::get_or_build(control, &mut cell)?;
    let config = Arc::new(build_config(control, versions, parts)?);
    if cell.configs.len() >= CONFIGS_KEPT {
        cell.configs.remove(0);
    }
    cell.configs.push((key, Arc::clone(&config)));
    Ok(config)
}

fn build_config(
    control: &SocketControl,
    versions: VersionSet,
    parts: TlsParts,
) -> Result<ClientConfig, Error> {
    let mut config = ClientConfig::builder_with_provider(provider_for(control))
        .with_protocol_versions(&versions.to_rustls())
        .map_err(|err| {
            Error::invalid(format!(
                "the TLS versions, cipher suites and key-exchange groups allowed do not make a \
                 usable configuration: {err}"
            ))
        })?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SessionStore, TrustAnchors};

    fn control() -> SocketControl {
        let root = testpki::Pki::shared(testpki::KeyKind::EcdsaP256).root_der();
        let mut control = SocketControl::default();
        control
            .set_trust_anchors(TrustAnchors::from_der([root]))
            .unwrap();
        control
    }

    fn config(control: &SocketControl, versions: VersionSet) -> Arc<ClientConfig> {
        client_config(control, versions).unwrap()
    }

    #[test]
    fn clones_of_a_control_share_one_configuration() {
        let control = control();
        let first = config(&control, VersionSet::BOTH);
        let mut clone = control.clone();
        clone.lock();
        assert!(Arc::ptr_eq(&first, &config(&clone, VersionSet::BOTH)));
        assert!(Arc::ptr_eq(&first, &config(&control, VersionSet::BOTH)));
    }

    #[test]
    fn every_option_a_configuration_is_built_from_gives_its_own() {
        let control = control();
        let base = config(&control, VersionSet::BOTH);
        let tls12 = config(&control, VersionSet::TLS12_ONLY);
        assert!(!Arc::ptr_eq(&base, &tls12));

        let mut alpn = control.clone();
        alpn.set_alpn_protocols(vec![b"h2".to_vec()]).unwrap();
        let with_alpn = config(&alpn, VersionSet::BOTH);
        assert!(!Arc::ptr_eq(&base, &with_alpn));
        assert_eq!(with_alpn.alpn_protocols, vec![b"h2".to_vec()]);
        assert!(base.alpn_protocols.is_empty(), "the first one is unchanged");

        let mut pinned = control.clone();
        pinned
            .set_cipher_suites([CipherSuite::TLS13_CHACHA20_POLY1305_SHA256])
            .unwrap();
        let with_suite = config(&pinned, VersionSet::BOTH);
        assert!(!Arc::ptr_eq(&base, &with_suite));
        assert_eq!(with_suite.crypto_provider().cipher_suites.len(), 1);
        pinned
            .set_key_exchange_groups([NamedGroup::secp256r1])
            .unwrap();
        let with_group = config(&pinned, VersionSet::BOTH);
        assert!(!Arc::ptr_eq(&with_suite, &with_group));
        assert_eq!(with_group.crypto_provider().kx_groups.len(), 1);

        let mut no_sni = control.clone();
        no_sni.set_send_sni(false).unwrap();
        assert!(!config(&no_sni, VersionSet::BOTH).enable_sni);
        assert!(base.enable_sni);

        let mut no_resumption = control.clone();
        no_resumption.set_session_resumption(false).unwrap();
        assert!(!Arc::ptr_eq(
            &base,
            &config(&no_resumption, VersionSet::BOTH)
        ));

        let mut other_store = control.clone();
        other_store
            .set_session_store(SessionStore::in_memory(4))
            .unwrap();
        assert!(!Arc::ptr_eq(&base, &config(&other_store, VersionSet::BOTH)));

        // A verification option starts a new cell: nothing built for the old one is reused.
        let mut anchors = control.clone();
        anchors
            .set_trust_anchors(TrustAnchors::from_der([testpki::Pki::shared(
                testpki::KeyKind::Ed25519,
            )
            .root_der()]))
            .unwrap();
        assert!(!Arc::ptr_eq(&base, &config(&anchors, VersionSet::BOTH)));
        assert!(Arc::ptr_eq(&base, &config(&control, VersionSet::BOTH)));
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_configurations() {
        let control = control();
        for n in 0..3 * CONFIGS_KEPT {
            let mut clone = control.clone();
            clone
                .set_alpn_protocols(vec![format!("p{n}").into_bytes()])
                .unwrap();
            let built = config(&clone, VersionSet::BOTH);
            assert_eq!(built.alpn_protocols, vec![format!("p{n}").into_bytes()]);
        }
        assert_eq!(control.tls_parts().lock().configs.len(), CONFIGS_KEPT);
    }
}
