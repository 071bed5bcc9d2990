//! Turns a [`TlsPolicy`] and a testpki identity into a `rustls::ServerConfig`.

use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::server::{NoServerSessionStorage, WebPkiClientVerifier};
use rustls::{RootCertStore, ServerConfig};

use crate::Error;
use crate::config::{ClientAuth, TlsPolicy};

/// Builds the server's TLS configuration (aws-lc-rs provider, filtered by the policy).
pub(crate) fn server_config(
    policy: &TlsPolicy,
    identity: &testpki::ServerIdentity,
) -> Result<Arc<ServerConfig>, Error> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    if let Some(suites) = &policy.cipher_suites {
        provider
            .cipher_suites
            .retain(|s| suites.contains(&s.suite()));
        if provider.cipher_suites.is_empty() {
            return Err(Error::InvalidPolicy(
                "none of the cipher suites is supported".into(),
            ));
        }
    }
    if let Some(groups) = &policy.kx_groups {
        provider.kx_groups.retain(|g| groups.contains(&g.name()));
        if provider.kx_groups.is_empty() {
            return Err(Error::InvalidPolicy(
                "none of the key-exchange groups is supported".into(),
            ));
        }
    }
    let provider = Arc::new(provider);
    let versions = policy.versions.to_rustls();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(Error::Tls)?;
    let builder = match policy.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Optional | ClientAuth::Required => {
            let verifier = client_verifier(policy, provider)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())
        .map_err(Error::Tls)?;
    config.alpn_protocols = policy.alpn.clone();
    if !policy.resumption {
        config.session_storage = Arc::new(NoServerSessionStorage {});
        config.send_tls13_tickets = 0;
    }
    Ok(Arc::new(config))
}

fn client_verifier(
    policy: &TlsPolicy,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, Error> {
    let mut roots = RootCertStore::empty();
    for ca in &policy.client_ca {
        roots.add(ca.clone()).map_err(Error::Tls)?;
    }
    let mut builder = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
    if policy.client_auth == ClientAuth::Optional {
        builder = builder.allow_unauthenticated();
    }
    builder
        .build()
        .map_err(|e| Error::InvalidPolicy(format!("client verifier: {e}")))
}
