//! The one TLS configuration every party shares: same certificates (testpki's pinned keys), same
//! provider (aws-lc-rs), pinned cipher suite and key-exchange group, resumption on or off.
//!
//! The in-memory pair (M), the tokio-rustls pair (R) and the project (P) all take their settings
//! from a [`TlsSetup`], so a ratio between two of them compares code paths, never configurations.

use std::sync::Arc;

use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, aws_lc_rs};
use rustls::server::NoServerSessionStorage;
use rustls::{
    CipherSuite, ClientConfig, NamedGroup, RootCertStore, ServerConfig, SupportedCipherSuite,
    SupportedProtocolVersion,
};
use serde::Serialize;
use testpki::{KeyKind, Pki, Scenario, ServerIdentity};

/// What every client connects to and verifies the certificate against: an IP SAN of the valid
/// leaves, so that no party resolves a name or sends SNI (the project resolves host names on
/// every connect; `p_handshake_localhost_per_s` shows what that costs).
pub const SERVER_NAME: &str = "127.0.0.1";

/// The protocol version both sides are limited to.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Version {
    /// TLS 1.2 only.
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

/// The bulk cipher both sides are limited to (the hash follows: SHA-256 for AES-128-GCM and
/// ChaCha20-Poly1305, SHA-384 for AES-256-GCM).
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Suite {
    /// AES-128-GCM.
    Aes128Gcm,
    /// AES-256-GCM.
    Aes256Gcm,
    /// ChaCha20-Poly1305.
    Chacha20,
    /// The provider's default list (aws-lc-rs prefers AES-256-GCM).
    Default,
}

/// The key-exchange group both sides are limited to.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Group {
    /// X25519 only (what OpenSSL 3.0 offers first, and what the stable ratios pin).
    X25519,
    /// The provider's default list (with aws-lc-rs, X25519MLKEM768 may come first).
    Default,
}

/// Everything that makes one benchmark configuration.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub struct TlsSetup {
    /// The server key type (the whole chain uses it).
    pub key: KeyKind,
    /// The protocol version.
    pub version: Version,
    /// The cipher suite.
    pub suite: Suite,
    /// The key-exchange group.
    pub group: Group,
    /// Whether the server keeps sessions and sends TLS 1.3 tickets, and the client stores them.
    pub resumption: bool,
}

impl Default for TlsSetup {
    /// The configuration of the stable ratios: ECDSA P-256, TLS 1.3, AES-128-GCM, X25519, full
    /// handshakes.
    fn default() -> Self {
        Self {
            key: KeyKind::EcdsaP256,
            version: Version::Tls13,
            suite: Suite::Aes128Gcm,
            group: Group::X25519,
            resumption: false,
        }
    }
}

impl TlsSetup {
    /// This setup with resumption turned on.
    pub fn resumed(self) -> Self {
        Self {
            resumption: true,
            ..self
        }
    }

    /// A short label for reports, such as `tls13-ecdsa-p256-aes-128-gcm-x25519`.
    pub fn label(&self) -> String {
        let version = match self.version {
            Version::Tls12 => "tls12",
            Version::Tls13 => "tls13",
        };
        let suite = match self.suite {
            Suite::Aes128Gcm => "aes-128-gcm",
            Suite::Aes256Gcm => "aes-256-gcm",
            Suite::Chacha20 => "chacha20",
            Suite::Default => "default-suite",
        };
        let group = match self.group {
            Group::X25519 => "x25519",
            Group::Default => "default-group",
        };
        let resumed = if self.resumption { "-resumed" } else { "" };
        format!("{version}-{}-{suite}-{group}{resumed}", self.key.name())
    }

    /// The pinned cipher suites, as IANA codes (for the mock server's policy); `None` means the
    /// provider's default.
    pub fn cipher_suite_codes(&self) -> Option<Vec<CipherSuite>> {
        self.cipher_suites()
            .map(|suites| suites.iter().map(|s| s.suite()).collect())
    }

    /// The pinned key-exchange groups, as IANA codes; `None` means the provider's default.
    pub fn group_codes(&self) -> Option<Vec<NamedGroup>> {
        match self.group {
            Group::X25519 => Some(vec![NamedGroup::X25519]),
            Group::Default => None,
        }
    }

    /// The server's identity: the valid chain of [`Pki::shared`] for the key type.
    pub fn identity(&self) -> ServerIdentity {
        // Invariant: the valid scenario of the pinned PKI always issues (testpki's tests).
        Pki::shared(self.key)
            .server(Scenario::Valid)
            .expect("testpki issues the valid scenario")
    }

    /// The aws-lc-rs provider limited to this setup's suite and group.
    pub fn provider(&self) -> Arc<CryptoProvider> {
        let mut provider = aws_lc_rs::default_provider();
        if let Some(suites) = self.cipher_suites() {
            provider.cipher_suites = suites;
        }
        if self.group == Group::X25519 {
            provider.kx_groups = vec![aws_lc_rs::kx_group::X25519 as &dyn SupportedKxGroup];
        }
        Arc::new(provider)
    }

    /// The server configuration (used by M and R; P's mock server builds its own from the same
    /// parts).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let identity = self.identity();
        // Invariant: the provider and the version always have a suite in common (see
        // `cipher_suites`), and testpki's valid chain and key match.
        let mut config = ServerConfig::builder_with_provider(self.provider())
            .with_protocol_versions(self.versions())
            .expect("the pinned suite exists for the pinned version")
            .with_no_client_auth()
            .with_single_cert(identity.chain, identity.key)
            .expect("testpki's valid chain matches its key");
        if !self.resumption {
            config.session_storage = Arc::new(NoServerSessionStorage {});
            config.send_tls13_tickets = 0;
        }
        Arc::new(config)
    }

    /// The client configuration: trusts testpki's root, verifies `localhost`.
    pub fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        for anchor in self.identity().trust_anchors {
            // Invariant: testpki's root is a well-formed CA certificate.
            roots.add(anchor).expect("testpki's root parses");
        }
        // Invariant: as in `server_config`.
        let mut config = ClientConfig::builder_with_provider(self.provider())
            .with_protocol_versions(self.versions())
            .expect("the pinned suite exists for the pinned version")
            .with_root_certificates(roots)
            .with_no_client_auth();
        if !self.resumption {
            config.resumption = Resumption::disabled();
        }
        Arc::new(config)
    }

    fn versions(&self) -> &'static [&'static SupportedProtocolVersion] {
        static TLS12: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS12];
        static TLS13: [&SupportedProtocolVersion; 1] = [&rustls::version::TLS13];
        match self.version {
            Version::Tls12 => &TLS12,
            Version::Tls13 => &TLS13,
        }
    }

    /// The suites for this version, cipher and key type (TLS 1.2 suites name the signature
    /// algorithm: ECDSA suites serve Ed25519 keys too).
    fn cipher_suites(&self) -> Option<Vec<SupportedCipherSuite>> {
        use rustls::crypto::aws_lc_rs::cipher_suite as cs;
        let rsa = self.key == KeyKind::Rsa2048;
        let suite = match (self.version, self.suite, rsa) {
            (_, Suite::Default, _) => return None,
            (Version::Tls13, Suite::Aes128Gcm, _) => cs::TLS13_AES_128_GCM_SHA256,
            (Version::Tls13, Suite::Aes256Gcm, _) => cs::TLS13_AES_256_GCM_SHA384,
            (Version::Tls13, Suite::Chacha20, _) => cs::TLS13_CHACHA20_POLY1305_SHA256,
            (Version::Tls12, Suite::Aes128Gcm, false) => {
                cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
            }
            (Version::Tls12, Suite::Aes256Gcm, false) => {
                cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
            }
            (Version::Tls12, Suite::Chacha20, false) => {
                cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
            }
            (Version::Tls12, Suite::Aes128Gcm, true) => cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
            (Version::Tls12, Suite::Aes256Gcm, true) => cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
            (Version::Tls12, Suite::Chacha20, true) => {
                cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
            }
        };
        Some(vec![suite])
    }
}

/// The server name the client sends and verifies.
pub fn server_name() -> rustls_pki_types::ServerName<'static> {
    // Invariant: a constant, valid IP address.
    rustls_pki_types::ServerName::try_from(SERVER_NAME).expect("127.0.0.1 is a valid name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_every_axis() {
        let setup = TlsSetup::default();
        assert_eq!(setup.label(), "tls13-ecdsa-p256-aes-128-gcm-x25519");
        assert!(setup.resumed().label().ends_with("-resumed"));
    }

    #[test]
    fn every_combination_builds_both_sides() {
        for key in [KeyKind::EcdsaP256, KeyKind::Ed25519, KeyKind::Rsa2048] {
            for version in [Version::Tls12, Version::Tls13] {
                for suite in [
                    Suite::Aes128Gcm,
                    Suite::Aes256Gcm,
                    Suite::Chacha20,
                    Suite::Default,
                ] {
                    for group in [Group::X25519, Group::Default] {
                        let setup = TlsSetup {
                            key,
                            version,
                            suite,
                            group,
                            resumption: false,
                        };
                        let _ = setup.server_config();
                        let _ = setup.client_config();
                    }
                }
            }
        }
    }
}
