//! `SocketControl`: the options of a socket, set before it connects (WinRT `StreamSocketControl`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use proto::cert::{ChainValidationResult, SpkiPin};
use proto::level::{Operation, ProtectionLevel, decide};
use proto::starttls::EhloName;
use rustls::client::{ClientSessionMemoryCache, ClientSessionStore};
use rustls::crypto::aws_lc_rs;
use rustls::{CipherSuite, NamedGroup};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

use crate::Error;
use crate::tls::TlsPartsCell;

/// Default for [`SocketControl::connect_timeout`].
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`SocketControl::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);
/// How many sessions a [`SessionStore`] remembers by default.
pub const DEFAULT_SESSION_CAPACITY: usize = 256;

/// The options of a [`StreamSocket`](crate::StreamSocket), as WinRT's `StreamSocketControl`.
///
/// Every setter fails with an invalid-argument error once the socket has started to connect:
/// options describe a connection, they do not reconfigure one.
///
/// A clone is unlocked (it describes a new connection), and shares the [`SessionStore`], so a
/// second socket created [`with_control`](crate::StreamSocket::with_control) from a clone of a
/// connected socket's control can change options and resume the first one's TLS session.
#[derive(Clone, Debug)]
pub struct SocketControl {
    alpn_protocols: Vec<Vec<u8>>,
    cipher_suites: Vec<CipherSuite>,
    client_identity: Option<ClientIdentity>,
    connect_timeout: Duration,
    crls: Vec<CertificateRevocationListDer<'static>>,
    ehlo_name: EhloName,
    handshake_timeout: Duration,
    hop_limit: Option<u32>,
    ignorable_server_certificate_errors: Vec<ChainValidationResult>,
    pinned_server_keys: Vec<SpkiPin>,
    keep_alive: bool,
    key_exchange_groups: Vec<NamedGroup>,
    /// Set by the socket when it starts to connect; setters refuse to run afterwards.
    locked: Lock,
    min_protection_level: Option<ProtectionLevel>,
    no_delay: bool,
    outbound_buffer_size: Option<u32>,
    send_sni: bool,
    session_resumption: bool,
    session_store: SessionStore,
    /// The verifier and client-certificate resolver built from the options below, shared by
    /// clones (rustls resumes sessions only with the same ones); replaced when they change.
    tls_parts: TlsPartsCell,
    trust_anchors: TrustAnchors,
}

impl SocketControl {
    /// ALPN protocols offered in the handshake, most preferred first (empty: no ALPN).
    pub fn alpn_protocols(&self) -> &[Vec<u8>] {
        &self.alpn_protocols
    }

    /// The cipher suites offered, most preferred first; empty (the default) means the crypto
    /// provider's own list (aws-lc-rs: AES-256-GCM, AES-128-GCM, ChaCha20-Poly1305, for TLS 1.3
    /// and TLS 1.2 with ECDHE).
    pub fn cipher_suites(&self) -> &[CipherSuite] {
        &self.cipher_suites
    }

    /// Limits the cipher suites offered to these, in this order of preference (empty: the
    /// provider's default). TLS 1.3 and TLS 1.2 suites may be mixed; each version offers its
    /// own. Every suite must be one the client implements (any of
    /// [`SocketControl::supported_cipher_suites`]); duplicates are dropped.
    ///
    /// A list without a suite for any version that a connection's level allows fails that
    /// connect or upgrade before anything is sent.
    pub fn set_cipher_suites(
        &mut self,
        suites: impl IntoIterator<Item = CipherSuite>,
    ) -> Result<(), Error> {
        self.check_unlocked()?;
        self.cipher_suites = pinned(suites, &Self::supported_cipher_suites(), "cipher suite")?;
        Ok(())
    }

    /// Every cipher suite the client implements (its crypto provider, aws-lc-rs).
    pub fn supported_cipher_suites() -> Vec<CipherSuite> {
        aws_lc_rs::ALL_CIPHER_SUITES
            .iter()
            .map(|suite| suite.suite())
            .collect()
    }

    /// The key-exchange groups offered, most preferred first; empty (the default) means the
    /// crypto provider's own list (aws-lc-rs: X25519, secp256r1, secp384r1, X25519MLKEM768).
    pub fn key_exchange_groups(&self) -> &[NamedGroup] {
        &self.key_exchange_groups
    }

    /// Limits the key-exchange groups offered to these, in this order of preference (empty:
    /// the provider's default); the first one gets a key share in the ClientHello. Every group
    /// must be one the client implements (any of
    /// [`SocketControl::supported_key_exchange_groups`]); duplicates are dropped.
    pub fn set_key_exchange_groups(
        &mut self,
        groups: impl IntoIterator<Item = NamedGroup>,
    ) -> Result<(), Error> {
        self.check_unlocked()?;
        self.key_exchange_groups = pinned(
            groups,
            &Self::supported_key_exchange_groups(),
            "key-exchange group",
        )?;
        Ok(())
    }

    /// Every key-exchange group the client implements (its crypto provider, aws-lc-rs).
    pub fn supported_key_exchange_groups() -> Vec<NamedGroup> {
        aws_lc_rs::ALL_KX_GROUPS
            .iter()
            .map(|group| group.name())
            .collect()
    }

    /// Sets the ALPN protocols, e.g. `[b"h2".to_vec(), b"http/1.1".to_vec()]`.
    pub fn set_alpn_protocols(&mut self, protocols: Vec<Vec<u8>>) -> Result<(), Error> {
        self.check_unlocked()?;
        if protocols.iter().any(|p| p.is_empty() || p.len() > 255) {
            return Err(Error::invalid(
                "an ALPN protocol name must be 1 to 255 bytes long",
            ));
        }
        self.alpn_protocols = protocols;
        Ok(())
    }

    /// The client certificate chain and key for mutual TLS, if any.
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.client_identity.as_ref()
    }

    /// Sets (or clears) the client certificate and key presented when the server asks.
    pub fn set_client_identity(&mut self, identity: Option<ClientIdentity>) -> Result<(), Error> {
        self.check_unlocked()?;
        self.client_identity = identity;
        self.tls_parts = TlsPartsCell::default();
        Ok(())
    }

    /// How long resolving the host and connecting to its addresses may take in total.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// Sets the connect timeout (it must be above zero).
    pub fn set_connect_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        self.check_unlocked()?;
        if timeout.is_zero() {
            return Err(Error::invalid("the connect timeout must be above zero"));
        }
        self.connect_timeout = timeout;
        Ok(())
    }

    /// Certificate revocation lists checked during server certificate validation.
    pub fn crls(&self) -> &[CertificateRevocationListDer<'static>] {
        &self.crls
    }

    /// Sets the CRLs (DER). With CRLs, a chain whose revocation status is unknown fails.
    pub fn set_crls(
        &mut self,
        crls: Vec<CertificateRevocationListDer<'static>>,
    ) -> Result<(), Error> {
        self.check_unlocked()?;
        for crl in &crls {
            webpki::OwnedCertRevocationList::from_der(crl.as_ref())
                .map_err(|err| Error::invalid(format!("a CRL does not parse: {err}")))?;
        }
        self.crls = crls;
        self.tls_parts = TlsPartsCell::default();
        Ok(())
    }

    /// Sets the CRLs from PEM text (`-----BEGIN X509 CRL-----` blocks).
    pub fn set_crls_pem(&mut self, pem: &[u8]) -> Result<(), Error> {
        let crls = CertificateRevocationListDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| Error::invalid(format!("CRL PEM does not parse: {err}")))?;
        if crls.is_empty() {
            return Err(Error::invalid("the CRL PEM holds no X509 CRL block"));
        }
        self.set_crls(crls)
    }

    /// How long the TLS handshake may take (tokio-rustls has no timeout of its own). For
    /// `upgrade_with` it is one budget from the first byte of the STARTTLS exchange to the end
    /// of the capability list inside TLS.
    pub fn handshake_timeout(&self) -> Duration {
        self.handshake_timeout
    }

    /// Sets the handshake timeout (it must be above zero).
    pub fn set_handshake_timeout(&mut self, timeout: Duration) -> Result<(), Error> {
        self.check_unlocked()?;
        if timeout.is_zero() {
            return Err(Error::invalid("the handshake timeout must be above zero"));
        }
        self.handshake_timeout = timeout;
        Ok(())
    }

    /// The IP hop limit (TTL) of outgoing packets, if set (WinRT `OutboundUnicastHopLimit`).
    pub fn hop_limit(&self) -> Option<u32> {
        self.hop_limit
    }

    /// Sets the hop limit (1 to 255): IPv4's TTL or IPv6's unicast hop limit, set on the
    /// socket before it connects, so the handshake's first packet carries it too.
    pub fn set_hop_limit(&mut self, hop_limit: Option<u32>) -> Result<(), Error> {
        self.check_unlocked()?;
        if let Some(limit) = hop_limit
            && !(1..=255).contains(&limit)
        {
            return Err(Error::invalid("the hop limit must be between 1 and 255"));
        }
        self.hop_limit = hop_limit;
        Ok(())
    }

    /// Certificate problem classes that do not fail the handshake (they are still reported in
    /// [`SocketInformation`](crate::SocketInformation)).
    pub fn ignorable_server_certificate_errors(&self) -> &[ChainValidationResult] {
        &self.ignorable_server_certificate_errors
    }

    /// Sets the ignorable classes: `Untrusted`, `Expired`, `IncompleteChain`, `WrongUsage`,
    /// `InvalidName`, `RevocationInformationMissing` and `RevocationFailure`, the classes with a
    /// sound relaxation. Fatal classes (`Revoked`, `InvalidSignature`, `BasicConstraintsError`,
    /// `UnknownCriticalExtension`, `InvalidCertificateAuthorityPolicy`, `OtherErrors`) and
    /// `Success` cannot be listed: the call fails with an invalid-argument error.
    ///
    /// A chain is then accepted only when WebPKI verifies every signature up to a trust anchor
    /// with exactly the listed checks relaxed; ignoring one class never excuses another.
    pub fn set_ignorable_server_certificate_errors(
        &mut self,
        errors: impl IntoIterator<Item = ChainValidationResult>,
    ) -> Result<(), Error> {
        self.check_unlocked()?;
        let mut list: Vec<ChainValidationResult> = Vec::new();
        for class in errors {
            if class.severity() != proto::cert::SocketSslErrorSeverity::Ignorable {
                return Err(Error::invalid(format!(
                    "{class} cannot be ignored (only ignorable certificate errors can)"
                )));
            }
            if !list.contains(&class) {
                list.push(class);
            }
        }
        list.sort_by_key(|class| class.value());
        self.ignorable_server_certificate_errors = list;
        self.tls_parts = TlsPartsCell::default();
        Ok(())
    }

    /// The server keys accepted (SHA-256 of the leaf's SubjectPublicKeyInfo); empty: any key
    /// that validates.
    pub fn pinned_server_keys(&self) -> &[SpkiPin] {
        &self.pinned_server_keys
    }

    /// Accepts only a server whose leaf certificate's key is one of `pins` (each the SHA-256 of
    /// a SubjectPublicKeyInfo, parsed with `"sha256/BASE64".parse::<SpkiPin>()`); an empty list
    /// removes the requirement.
    ///
    /// A server with another key fails with `ErrorKind::CertificatePinMismatch`, whatever
    /// [`set_ignorable_server_certificate_errors`](Self::set_ignorable_server_certificate_errors)
    /// says: the ignore-list then holds only for the pinned key, which is how the Windows Runtime
    /// guidance says to accept a self-signed server (ignore `Untrusted` after checking its key).
    /// Without an ignore-list, a pin is one more requirement on top of normal validation, as in
    /// HTTP public-key pinning. The handshake signature is always checked against the same key,
    /// so a peer without its private key never gets through.
    pub fn set_pinned_server_keys(
        &mut self,
        pins: impl IntoIterator<Item = SpkiPin>,
    ) -> Result<(), Error> {
        self.check_unlocked()?;
        let mut list: Vec<SpkiPin> = Vec::new();
        for pin in pins {
            if !list.contains(&pin) {
                list.push(pin);
            }
        }
        self.pinned_server_keys = list;
        self.tls_parts = TlsPartsCell::default();
        Ok(())
    }

    /// Whether TCP keep-alive probes are enabled (default: off).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Enables or disables TCP keep-alive.
    pub fn set_keep_alive(&mut self, keep_alive: bool) -> Result<(), Error> {
        self.check_unlocked()?;
        self.keep_alive = keep_alive;
        Ok(())
    }

    /// The minimum protection level of TLS handshakes (WinRT `MinProtectionLevel`), if set.
    ///
    /// It removes TLS versions below it from what `connect` and the upgrades offer. It does not
    /// forbid the plaintext phase of a STARTTLS connection (`connect` with `PlainSocket`); the
    /// upgrade that follows obeys it.
    pub fn min_protection_level(&self) -> Option<ProtectionLevel> {
        self.min_protection_level
    }

    /// Sets the minimum protection level, or clears it with `None`. The level policy refuses
    /// the Bluetooth levels at once.
    pub fn set_min_protection_level(
        &mut self,
        level: Option<ProtectionLevel>,
    ) -> Result<(), Error> {
        self.check_unlocked()?;
        if let Some(minimum) = level {
            decide(Operation::SetMinimum { minimum })?;
        }
        self.min_protection_level = level;
        Ok(())
    }

    /// Whether Nagle's algorithm is disabled (default: true, as in WinRT).
    pub fn no_delay(&self) -> bool {
        self.no_delay
    }

    /// Sets `TCP_NODELAY`.
    pub fn set_no_delay(&mut self, no_delay: bool) -> Result<(), Error> {
        self.check_unlocked()?;
        self.no_delay = no_delay;
        Ok(())
    }

    /// The send buffer size (`SO_SNDBUF`) in bytes, if set (WinRT `OutboundBufferSizeInBytes`).
    pub fn outbound_buffer_size(&self) -> Option<u32> {
        self.outbound_buffer_size
    }

    /// Sets the send buffer size (above zero). The kernel may round it.
    pub fn set_outbound_buffer_size(&mut self, size: Option<u32>) -> Result<(), Error> {
        self.check_unlocked()?;
        if size == Some(0) {
            return Err(Error::invalid(
                "the outbound buffer size must be above zero",
            ));
        }
        self.outbound_buffer_size = size;
        Ok(())
    }

    /// Whether the server name is sent in the handshake (SNI; default: true). It is never sent
    /// for an IP address.
    pub fn send_sni(&self) -> bool {
        self.send_sni
    }

    /// The name the SMTP client gives in EHLO during
    /// [`upgrade_with`](crate::StreamSocket::upgrade_with) (default: `localhost`).
    pub fn ehlo_name(&self) -> &EhloName {
        &self.ehlo_name
    }

    /// Sets the name the SMTP client gives in EHLO: its domain name, or an address literal
    /// such as `[192.0.2.1]` or `[IPv6:2001:db8::1]` (RFC 5321 section 4.1.1.1). An
    /// [`EhloName`] holds nothing else (parse one with `str::parse`), so nothing set here can end
    /// the command line or start another.
    pub fn set_ehlo_name(&mut self, name: EhloName) -> Result<(), Error> {
        self.check_unlocked()?;
        self.ehlo_name = name;
        Ok(())
    }

    /// Enables or disables SNI.
    pub fn set_send_sni(&mut self, send_sni: bool) -> Result<(), Error> {
        self.check_unlocked()?;
        self.send_sni = send_sni;
        Ok(())
    }

    /// Whether TLS session resumption is used (default: true).
    pub fn session_resumption(&self) -> bool {
        self.session_resumption
    }

    /// Enables or disables session resumption (tickets and session ids).
    pub fn set_session_resumption(&mut self, enabled: bool) -> Result<(), Error> {
        self.check_unlocked()?;
        self.session_resumption = enabled;
        Ok(())
    }

    /// The store where resumable sessions are kept.
    pub fn session_store(&self) -> &SessionStore {
        &self.session_store
    }

    /// Shares a session store with other sockets.
    pub fn set_session_store(&mut self, store: SessionStore) -> Result<(), Error> {
        self.check_unlocked()?;
        self.session_store = store;
        Ok(())
    }

    /// The roots trusted for server certificates (default: Mozilla's, from webpki-roots).
    pub fn trust_anchors(&self) -> &TrustAnchors {
        &self.trust_anchors
    }

    /// Sets the trusted roots.
    pub fn set_trust_anchors(&mut self, anchors: TrustAnchors) -> Result<(), Error> {
        self.check_unlocked()?;
        self.trust_anchors = anchors;
        self.tls_parts = TlsPartsCell::default();
        Ok(())
    }

    /// Whether the options are frozen (the socket has started to connect).
    pub fn is_locked(&self) -> bool {
        self.locked.0
    }

    pub(crate) fn tls_parts(&self) -> &TlsPartsCell {
        &self.tls_parts
    }

    pub(crate) fn lock(&mut self) {
        self.locked = Lock(true);
    }

    fn check_unlocked(&self) -> Result<(), Error> {
        if self.locked.0 {
            return Err(Error::invalid(
                "socket options cannot change after connecting; set them on a new socket",
            ));
        }
        Ok(())
    }
}

impl Default for SocketControl {
    fn default() -> Self {
        Self {
            alpn_protocols: Vec::new(),
            cipher_suites: Vec::new(),
            client_identity: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            crls: Vec::new(),
            ehlo_name: EhloName::default(),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            hop_limit: None,
            ignorable_server_certificate_errors: Vec::new(),
            pinned_server_keys: Vec::new(),
            keep_alive: false,
            key_exchange_groups: Vec::new(),
            locked: Lock(false),
            min_protection_level: None,
            no_delay: true,
            outbound_buffer_size: None,
            send_sni: true,
            session_resumption: true,
            session_store: SessionStore::default(),
            tls_parts: TlsPartsCell::default(),
            trust_anchors: TrustAnchors::mozilla(),
        }
    }
}

/// `items` in order without duplicates, if every one is in `supported`.
fn pinned<T: Copy + PartialEq + fmt::Debug>(
    items: impl IntoIterator<Item = T>,
    supported: &[T],
    what: &str,
) -> Result<Vec<T>, Error> {
    let mut chosen = Vec::new();
    for item in items {
        if !supported.contains(&item) {
            return Err(Error::invalid(format!(
                "{what} {item:?} is not implemented by the client's crypto provider"
            )));
        }
        if !chosen.contains(&item) {
            chosen.push(item);
        }
    }
    Ok(chosen)
}

/// Whether a control belongs to a socket that started to connect. A clone is unlocked.
#[derive(Debug)]
struct Lock(bool);

impl Clone for Lock {
    fn clone(&self) -> Self {
        Self(false)
    }
}

/// The roots a socket trusts: any mix of given certificates, Mozilla's roots (webpki-roots)
/// and the operating system's roots (rustls-native-certs).
#[derive(Clone, Debug, Default)]
pub struct TrustAnchors {
    /// Shared, so that cloning a control (once per connection in the usual pattern) copies
    /// no certificate.
    certificates: Arc<Vec<CertificateDer<'static>>>,
    mozilla: bool,
    system: bool,
}

impl TrustAnchors {
    /// No roots at all (every server fails validation until roots are added).
    pub fn empty() -> Self {
        Self::default()
    }

    /// Mozilla's root program, compiled in via webpki-roots.
    pub fn mozilla() -> Self {
        Self {
            mozilla: true,
            ..Self::default()
        }
    }

    /// The operating system's roots, loaded at connect time via rustls-native-certs.
    pub fn system() -> Self {
        Self {
            system: true,
            ..Self::default()
        }
    }

    /// These DER certificates only.
    pub fn from_der(certificates: impl IntoIterator<Item = CertificateDer<'static>>) -> Self {
        Self {
            certificates: Arc::new(certificates.into_iter().collect()),
            ..Self::default()
        }
    }

    /// The certificates of a PEM bundle only.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let certificates = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| Error::invalid(format!("trust anchor PEM does not parse: {err}")))?;
        if certificates.is_empty() {
            return Err(Error::invalid(
                "the trust anchor PEM holds no CERTIFICATE block",
            ));
        }
        Ok(Self::from_der(certificates))
    }

    /// Adds a DER certificate.
    pub fn with_certificate(mut self, certificate: CertificateDer<'static>) -> Self {
        Arc::make_mut(&mut self.certificates).push(certificate);
        self
    }

    /// Adds (or removes) Mozilla's roots.
    pub fn with_mozilla(mut self, enabled: bool) -> Self {
        self.mozilla = enabled;
        self
    }

    /// Adds (or removes) the operating system's roots.
    pub fn with_system(mut self, enabled: bool) -> Self {
        self.system = enabled;
        self
    }

    /// The certificates given explicitly.
    pub fn certificates(&self) -> &[CertificateDer<'static>] {
        &self.certificates
    }

    /// Whether Mozilla's roots are included.
    pub fn includes_mozilla(&self) -> bool {
        self.mozilla
    }

    /// Whether the operating system's roots are included.
    pub fn includes_system(&self) -> bool {
        self.system
    }

    /// The root store these anchors make. Unparsable system roots are skipped, as rustls
    /// recommends; unparsable given certificates are an error.
    pub(crate) fn root_store(&self) -> Result<rustls::RootCertStore, Error> {
        let mut store = rustls::RootCertStore::empty();
        if self.mozilla {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        if self.system {
            let loaded = rustls_native_certs::load_native_certs();
            let _ = store.add_parsable_certificates(loaded.certs);
        }
        for certificate in self.certificates.iter() {
            store.add(certificate.clone()).map_err(|err| {
                Error::invalid(format!(
                    "a trust anchor is not a usable root certificate: {err}"
                ))
            })?;
        }
        if store.is_empty() {
            return Err(Error::invalid(
                "no trust anchors: add root certificates, Mozilla's roots or the system's roots",
            ));
        }
        Ok(store)
    }
}

/// A client certificate chain and its private key, for mutual TLS.
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
}

impl ClientIdentity {
    /// A chain (leaf first) and its key, both DER.
    pub fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<Self, Error> {
        if chain.is_empty() {
            return Err(Error::invalid(
                "a client certificate chain needs at least one certificate",
            ));
        }
        Ok(Self {
            chain,
            key: Arc::new(key),
        })
    }

    /// A chain and key from PEM text (the key as PKCS#8, SEC1 or PKCS#1).
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<Self, Error> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|err| {
                Error::invalid(format!("client certificate PEM does not parse: {err}"))
            })?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|err| Error::invalid(format!("client key PEM does not parse: {err}")))?;
        Self::new(chain, key)
    }

    /// The certificate chain, leaf first.
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    pub(crate) fn key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: Arc::clone(&self.key),
        }
    }
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ClientIdentity")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

/// A store of resumable TLS sessions, shared by the sockets that hold a clone of it.
#[derive(Clone, Debug)]
pub struct SessionStore(Arc<dyn ClientSessionStore>);

impl SessionStore {
    /// An in-memory store that remembers up to `capacity` sessions.
    pub fn in_memory(capacity: usize) -> Self {
        Self(Arc::new(ClientSessionMemoryCache::new(capacity)))
    }

    pub(crate) fn inner(&self) -> Arc<dyn ClientSessionStore> {
        Arc::clone(&self.0)
    }
}

impl Default for SessionStore {
    fn default() -> Self {
        Self::in_memory(DEFAULT_SESSION_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_winrt() {
        let control = SocketControl::default();
        assert!(control.no_delay());
        assert!(!control.keep_alive());
        assert!(control.send_sni());
        assert!(control.session_resumption());
        assert_eq!(control.min_protection_level(), None);
        assert!(control.trust_anchors().includes_mozilla());
    }

    #[test]
    fn setters_fail_after_the_socket_locks_the_control() {
        let mut control = SocketControl::default();
        control.set_no_delay(false).unwrap();
        control.lock();
        let err = control.set_no_delay(true).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(!control.no_delay(), "the failed setter changed nothing");
        let mut copy = control.clone();
        assert!(!copy.is_locked(), "a clone describes a new connection");
        copy.set_no_delay(true).unwrap();
    }

    #[test]
    fn fatal_certificate_errors_cannot_be_made_ignorable() {
        let mut control = SocketControl::default();
        for fatal in [
            ChainValidationResult::Revoked,
            ChainValidationResult::InvalidSignature,
            ChainValidationResult::BasicConstraintsError,
            ChainValidationResult::UnknownCriticalExtension,
            ChainValidationResult::InvalidCertificateAuthorityPolicy,
            ChainValidationResult::OtherErrors,
            ChainValidationResult::Success,
        ] {
            let err = control
                .set_ignorable_server_certificate_errors([fatal])
                .unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        }
        control
            .set_ignorable_server_certificate_errors([
                ChainValidationResult::InvalidName,
                ChainValidationResult::Expired,
                ChainValidationResult::Expired,
            ])
            .unwrap();
        assert_eq!(
            control.ignorable_server_certificate_errors(),
            &[
                ChainValidationResult::Expired,
                ChainValidationResult::InvalidName
            ]
        );
    }

    #[test]
    fn only_implemented_suites_and_groups_can_be_pinned() {
        let mut control = SocketControl::default();
        assert!(control.cipher_suites().is_empty() && control.key_exchange_groups().is_empty());
        let err = control
            .set_cipher_suites([CipherSuite::TLS_RSA_WITH_AES_128_CBC_SHA])
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        let err = control
            .set_key_exchange_groups([NamedGroup::FFDHE2048])
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(
            control.cipher_suites().is_empty(),
            "a refused list changes nothing"
        );
        control
            .set_cipher_suites([
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
                CipherSuite::TLS13_AES_128_GCM_SHA256,
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
            ])
            .unwrap();
        assert_eq!(
            control.cipher_suites(),
            [
                CipherSuite::TLS13_CHACHA20_POLY1305_SHA256,
                CipherSuite::TLS13_AES_128_GCM_SHA256
            ],
            "order kept, duplicates dropped"
        );
        control
            .set_key_exchange_groups([NamedGroup::secp256r1, NamedGroup::X25519])
            .unwrap();
        assert_eq!(
            control.key_exchange_groups(),
            [NamedGroup::secp256r1, NamedGroup::X25519]
        );
        control.lock();
        assert!(
            control.set_cipher_suites([]).is_err(),
            "frozen after connect"
        );
    }

    #[test]
    fn the_ehlo_name_is_localhost_until_set_and_frozen_after_connect() {
        let mut control = SocketControl::default();
        assert_eq!(control.ehlo_name(), "localhost");
        let name: EhloName = "[IPv6:2001:db8::1]".parse().unwrap();
        control.set_ehlo_name(name.clone()).unwrap();
        assert_eq!(control.ehlo_name(), &name);
    }

    #[test]
    fn bluetooth_minimum_is_refused() {
        let mut control = SocketControl::default();
        let err = control
            .set_min_protection_level(Some(ProtectionLevel::BluetoothEncryptionWithAuthentication))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    }

    #[test]
    fn empty_trust_anchors_are_an_invalid_argument() {
        assert!(TrustAnchors::empty().root_store().is_err());
        assert!(TrustAnchors::mozilla().root_store().unwrap().len() > 50);
    }
}
