//! `SocketInformation`: what a socket is connected to and what was negotiated (WinRT
//! `StreamSocketInformation`), and the server certificate summaries it holds.

use std::fmt;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Duration;

use proto::cert::{ChainValidationResult, ErrorDetail, SocketSslErrorSeverity, SpkiPin};
use proto::level::{ProtectionLevel, TlsVersion};
use proto::starttls::Dialect;
use rustls::{CipherSuite, NamedGroup};
use rustls_pki_types::CertificateDer;
use serde::{Serialize, Serializer};
use sha2::{Digest, Sha256};

/// What a socket is connected to and what its handshake produced.
///
/// It is filled in step by step, and kept after a failure: after a failed handshake it still
/// holds the addresses, the certificate chain the server presented and every certificate error
/// found, so that a caller can inspect them, decide, and retry on a new socket.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SocketInformation {
    /// The local address of the connection.
    pub local_address: Option<SocketAddr>,
    /// The remote address of the connection.
    pub remote_address: Option<SocketAddr>,
    /// The host name given to `connect` (or the remote address's IP).
    pub remote_host_name: Option<String>,
    /// The protection level asked for (by `connect`, then by the upgrade).
    pub requested_protection_level: Option<ProtectionLevel>,
    /// The protection level in force: `PlainSocket`, or `Tls12`/`Tls13` as negotiated.
    pub protection_level: ProtectionLevel,
    /// The STARTTLS dialect used by `upgrade_with` (`implicit` for a TLS `connect`).
    pub dialect: Option<Dialect>,
    /// The negotiated TLS version.
    #[serde(serialize_with = "serialize_version")]
    pub protocol_version: Option<TlsVersion>,
    /// The negotiated cipher suite (serialised by its IANA name).
    #[serde(serialize_with = "serialize_suite")]
    pub cipher_suite: Option<CipherSuite>,
    /// The negotiated key-exchange group (serialised by its IANA name).
    #[serde(serialize_with = "serialize_group")]
    pub key_exchange_group: Option<NamedGroup>,
    /// The negotiated ALPN protocol, its bytes as sent.
    pub alpn_protocol: Option<AlpnProtocol>,
    /// The server name sent in the SNI extension, if one was sent.
    pub server_name_indication: Option<String>,
    /// Whether the handshake was full, needed a HelloRetryRequest, or resumed a session.
    pub handshake_kind: Option<HandshakeKind>,
    /// How long the TLS handshake took (the STARTTLS exchange excluded).
    #[serde(rename = "handshake_duration_ms", serialize_with = "serialize_millis")]
    pub handshake_duration: Option<Duration>,
    /// The chain the server presented, leaf first.
    pub server_certificates: Vec<CertificateSummary>,
    /// Every problem found with the server certificate, including those that were ignored.
    pub server_certificate_errors: Vec<ChainValidationResult>,
    /// What each of `server_certificate_errors` is about (the certificate concerned and the
    /// field that failed), in the same order.
    pub server_certificate_error_details: Vec<ErrorDetail>,
    /// The worst severity among `server_certificate_errors`.
    pub server_certificate_error_severity: SocketSslErrorSeverity,
    /// The pin of the server's key: SHA-256 of the leaf's SubjectPublicKeyInfo, base64 (what
    /// `SocketControl::set_pinned_server_keys` takes).
    pub server_key_pin: Option<SpkiPin>,
    /// Whether pins were set and the server's key matched none of them.
    pub pin_mismatch: bool,
    /// Bytes written to the wire before the TLS handshake began (STARTTLS phase).
    pub bytes_sent_before_upgrade: u64,
    /// Bytes read from the wire before the TLS handshake began.
    pub bytes_received_before_upgrade: u64,
    /// Bytes written to the wire from the TLS handshake on (TLS records, handshake included).
    pub bytes_sent_after_upgrade: u64,
    /// Bytes read from the wire from the TLS handshake on.
    pub bytes_received_after_upgrade: u64,
}

impl SocketInformation {
    /// Whether the socket is protected by TLS now.
    pub fn is_encrypted(&self) -> bool {
        self.protocol_version.is_some()
    }
}

impl Default for SocketInformation {
    fn default() -> Self {
        Self {
            local_address: None,
            remote_address: None,
            remote_host_name: None,
            requested_protection_level: None,
            protection_level: ProtectionLevel::PlainSocket,
            dialect: None,
            protocol_version: None,
            cipher_suite: None,
            key_exchange_group: None,
            alpn_protocol: None,
            server_name_indication: None,
            handshake_kind: None,
            handshake_duration: None,
            server_certificates: Vec::new(),
            server_certificate_errors: Vec::new(),
            server_certificate_error_details: Vec::new(),
            server_certificate_error_severity: SocketSslErrorSeverity::None,
            server_key_pin: None,
            pin_mismatch: false,
            bytes_sent_before_upgrade: 0,
            bytes_received_before_upgrade: 0,
            bytes_sent_after_upgrade: 0,
            bytes_received_after_upgrade: 0,
        }
    }
}

/// A readable two-column table, one field a line (certificates indented below).
impl fmt::Display for SocketInformation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn opt<T: fmt::Display>(value: &Option<T>) -> String {
            value
                .as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string)
        }
        // One line per error, in the words of its detail (the class name alone without one).
        let mut error_lines: Vec<String> = if self.server_certificate_error_details.is_empty() {
            self.server_certificate_errors
                .iter()
                .map(ToString::to_string)
                .collect()
        } else {
            self.server_certificate_error_details
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        if error_lines.is_empty() {
            error_lines.push("none".to_owned());
        }
        let mut error_lines = error_lines.into_iter();
        let errors = error_lines.next().unwrap_or_default();
        let pin = match (&self.server_key_pin, self.pin_mismatch) {
            (Some(pin), false) => format!("sha256/{pin}"),
            (Some(pin), true) => format!("sha256/{pin} (not pinned: refused)"),
            (None, _) => "-".to_owned(),
        };
        let rows: [(&str, String); 18] = [
            ("local address", opt(&self.local_address)),
            ("remote address", opt(&self.remote_address)),
            ("remote host name", opt(&self.remote_host_name)),
            ("requested level", opt(&self.requested_protection_level)),
            ("protection level", self.protection_level.to_string()),
            ("dialect", opt(&self.dialect)),
            ("protocol version", opt(&self.protocol_version)),
            ("cipher suite", opt(&self.cipher_suite.map(suite_name))),
            (
                "key exchange group",
                opt(&self.key_exchange_group.map(group_name)),
            ),
            ("ALPN protocol", opt(&self.alpn_protocol)),
            ("SNI sent", opt(&self.server_name_indication)),
            ("handshake kind", opt(&self.handshake_kind)),
            (
                "handshake duration",
                self.handshake_duration.map_or_else(
                    || "-".to_owned(),
                    |d| format!("{:.3} ms", d.as_secs_f64() * 1e3),
                ),
            ),
            ("certificate errors", errors),
            (
                "error severity",
                self.server_certificate_error_severity.to_string(),
            ),
            ("server key pin", pin),
            (
                "bytes before upgrade",
                format!(
                    "{} sent, {} received",
                    self.bytes_sent_before_upgrade, self.bytes_received_before_upgrade
                ),
            ),
            (
                "bytes after upgrade",
                format!(
                    "{} sent, {} received",
                    self.bytes_sent_after_upgrade, self.bytes_received_after_upgrade
                ),
            ),
        ];
        for (name, value) in rows {
            writeln!(f, "{name:<20} {value}")?;
            if name == "certificate errors" {
                for line in error_lines.by_ref() {
                    writeln!(f, "{:<20} {line}", "")?;
                }
            }
        }
        for (depth, cert) in self.server_certificates.iter().enumerate() {
            writeln!(f, "certificate {depth}")?;
            write!(f, "{cert}")?;
        }
        Ok(())
    }
}

/// Which sort of TLS handshake took place.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub enum HandshakeKind {
    /// A full handshake.
    Full,
    /// A full TLS 1.3 handshake with an extra round trip for a HelloRetryRequest.
    HelloRetryRequest,
    /// A resumed session.
    Resumed,
}

impl HandshakeKind {
    pub(crate) fn from_rustls(kind: rustls::HandshakeKind) -> Self {
        match kind {
            rustls::HandshakeKind::Full => Self::Full,
            rustls::HandshakeKind::FullWithHelloRetryRequest => Self::HelloRetryRequest,
            rustls::HandshakeKind::Resumed => Self::Resumed,
        }
    }
}

impl fmt::Display for HandshakeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Full => "Full",
            Self::HelloRetryRequest => "HelloRetryRequest",
            Self::Resumed => "Resumed",
        })
    }
}

/// A server certificate as the server presented it, with a few readable fields.
///
/// It keeps the DER bytes, and parses them (x509-parser) and hashes them only when a field is
/// first asked for: a handshake pays for a copy of the chain, not for parsing it, so that a
/// caller who never looks at the certificates does not pay for summaries it never reads.
///
/// It serializes as an object with the fields `subject`, `issuer`, `subject_alt_names`,
/// `not_before`, `not_after`, `key_algorithm` and `sha256_fingerprint`.
#[derive(Clone)]
pub struct CertificateSummary {
    der: CertificateDer<'static>,
    details: OnceLock<Details>,
}

/// The readable fields, parsed on first use.
#[derive(Clone, Debug, Serialize)]
struct Details {
    subject: String,
    issuer: String,
    subject_alt_names: Vec<String>,
    not_before: String,
    not_after: String,
    key_algorithm: String,
    sha256_fingerprint: String,
}

impl CertificateSummary {
    /// Keeps a copy of a DER certificate; nothing is parsed until a field is read.
    pub fn from_der(der: &CertificateDer<'_>) -> Self {
        Self {
            der: der.clone().into_owned(),
            details: OnceLock::new(),
        }
    }

    /// The certificate as the server sent it.
    pub fn der(&self) -> &CertificateDer<'static> {
        &self.der
    }

    /// The subject distinguished name (RFC 4514 style), or `<unparsable>`.
    pub fn subject(&self) -> &str {
        &self.details().subject
    }

    /// The issuer distinguished name, or `<unparsable>`.
    pub fn issuer(&self) -> &str {
        &self.details().issuer
    }

    /// The subject alternative names: `DNS:name`, `IP:address`, ...
    pub fn subject_alt_names(&self) -> &[String] {
        &self.details().subject_alt_names
    }

    /// Start of the validity period, RFC 3339 in UTC, or `<unparsable>`.
    pub fn not_before(&self) -> &str {
        &self.details().not_before
    }

    /// End of the validity period, RFC 3339 in UTC, or `<unparsable>`.
    pub fn not_after(&self) -> &str {
        &self.details().not_after
    }

    /// The public key algorithm, e.g. `ECDSA P-256`, `Ed25519`, `RSA 2048`, or `<unparsable>`.
    pub fn key_algorithm(&self) -> &str {
        &self.details().key_algorithm
    }

    /// SHA-256 of the DER encoding, lowercase hex (present even for an unparsable certificate).
    pub fn sha256_fingerprint(&self) -> &str {
        &self.details().sha256_fingerprint
    }

    fn details(&self) -> &Details {
        self.details.get_or_init(|| Details::parse(&self.der))
    }
}

impl Details {
    /// A certificate that does not parse still gets its fingerprint, with `<unparsable>` in the
    /// other fields: nothing from the peer may panic.
    fn parse(der: &CertificateDer<'_>) -> Self {
        let sha256_fingerprint = hex(&Sha256::digest(der.as_ref()));
        match x509_parser::parse_x509_certificate(der.as_ref()) {
            Ok((_, cert)) => Self {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                subject_alt_names: subject_alt_names(&cert),
                not_before: rfc3339(&cert.validity().not_before),
                not_after: rfc3339(&cert.validity().not_after),
                key_algorithm: key_algorithm(&cert),
                sha256_fingerprint,
            },
            Err(_) => {
                let unparsable = || "<unparsable>".to_owned();
                Self {
                    subject: unparsable(),
                    issuer: unparsable(),
                    subject_alt_names: Vec::new(),
                    not_before: unparsable(),
                    not_after: unparsable(),
                    key_algorithm: unparsable(),
                    sha256_fingerprint,
                }
            }
        }
    }
}

/// Two summaries are equal when they hold the same certificate.
impl PartialEq for CertificateSummary {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for CertificateSummary {}

impl fmt::Debug for CertificateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details = self.details();
        f.debug_struct("CertificateSummary")
            .field("subject", &details.subject)
            .field("issuer", &details.issuer)
            .field("subject_alt_names", &details.subject_alt_names)
            .field("not_before", &details.not_before)
            .field("not_after", &details.not_after)
            .field("key_algorithm", &details.key_algorithm)
            .field("sha256_fingerprint", &details.sha256_fingerprint)
            .finish()
    }
}

impl Serialize for CertificateSummary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.details().serialize(s)
    }
}

impl fmt::Display for CertificateSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let details = self.details();
        writeln!(f, "  {:<18} {}", "subject", details.subject)?;
        writeln!(f, "  {:<18} {}", "issuer", details.issuer)?;
        if !details.subject_alt_names.is_empty() {
            writeln!(
                f,
                "  {:<18} {}",
                "alt names",
                details.subject_alt_names.join(", ")
            )?;
        }
        writeln!(
            f,
            "  {:<18} {} to {}",
            "valid", details.not_before, details.not_after
        )?;
        writeln!(f, "  {:<18} {}", "key", details.key_algorithm)?;
        writeln!(f, "  {:<18} {}", "sha256", details.sha256_fingerprint)
    }
}

fn subject_alt_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return Vec::new();
    };
    san.value
        .general_names
        .iter()
        .map(|name| match name {
            GeneralName::DNSName(dns) => format!("DNS:{dns}"),
            GeneralName::IPAddress(bytes) => {
                if let Ok(octets) = <[u8; 4]>::try_from(*bytes) {
                    format!("IP:{}", std::net::Ipv4Addr::from(octets))
                } else if let Ok(octets) = <[u8; 16]>::try_from(*bytes) {
                    format!("IP:{}", std::net::Ipv6Addr::from(octets))
                } else {
                    format!("IP:<{} bytes>", bytes.len())
                }
            }
            GeneralName::RFC822Name(mail) => format!("email:{mail}"),
            GeneralName::URI(uri) => format!("URI:{uri}"),
            other => format!("{other:?}"),
        })
        .collect()
}

fn key_algorithm(cert: &x509_parser::certificate::X509Certificate<'_>) -> String {
    use x509_parser::public_key::PublicKey;
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => format!("RSA {}", rsa.key_size()),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|params| params.as_oid().ok())
                .map(|oid| oid.to_id_string());
            match curve.as_deref() {
                Some("1.2.840.10045.3.1.7") => "ECDSA P-256".to_owned(),
                Some("1.3.132.0.34") => "ECDSA P-384".to_owned(),
                Some("1.3.132.0.35") => "ECDSA P-521".to_owned(),
                Some(other) => format!("ECDSA {other}"),
                None => "ECDSA".to_owned(),
            }
        }
        _ => match spki.algorithm.algorithm.to_id_string().as_str() {
            "1.3.101.112" => "Ed25519".to_owned(),
            "1.3.101.113" => "Ed448".to_owned(),
            other => other.to_owned(),
        },
    }
}

fn rfc3339(time: &x509_parser::time::ASN1Time) -> String {
    // The same words as the certificate-error details (layer 1's `Timestamp`).
    proto::cert::Timestamp::from_unix(time.timestamp()).to_string()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// An ALPN protocol identifier (RFC 7301): opaque bytes, usually printable ASCII (`h2`).
///
/// `Display` and serde write it as text without loss: printable ASCII as itself, a backslash
/// and every other byte as `\xNN`.
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct AlpnProtocol(Vec<u8>);

impl AlpnProtocol {
    /// The identifier with these bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    /// The bytes as negotiated.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for AlpnProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &byte in &self.0 {
            if (byte.is_ascii_graphic() && byte != b'\\') || byte == b' ' {
                write!(f, "{}", char::from(byte))?;
            } else {
                write!(f, "\\x{byte:02x}")?;
            }
        }
        Ok(())
    }
}

impl Serialize for AlpnProtocol {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A cipher suite's IANA name, or its registry code (`0x1234`) when rustls does not name it.
pub(crate) fn suite_name(suite: CipherSuite) -> String {
    suite
        .as_str()
        .map_or_else(|| format!("{:#06x}", u16::from(suite)), str::to_owned)
}

/// A key-exchange group's IANA name, or its registry code (`0x1234`) when rustls does not
/// name it.
pub(crate) fn group_name(group: NamedGroup) -> String {
    group
        .as_str()
        .map_or_else(|| format!("{:#06x}", u16::from(group)), str::to_owned)
}

fn serialize_suite<S: Serializer>(suite: &Option<CipherSuite>, s: S) -> Result<S::Ok, S::Error> {
    suite.map(suite_name).serialize(s)
}

fn serialize_group<S: Serializer>(group: &Option<NamedGroup>, s: S) -> Result<S::Ok, S::Error> {
    group.map(group_name).serialize(s)
}

fn serialize_version<S: Serializer>(version: &Option<TlsVersion>, s: S) -> Result<S::Ok, S::Error> {
    match version {
        Some(version) => s.collect_str(version),
        None => s.serialize_none(),
    }
}

fn serialize_millis<S: Serializer>(duration: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match duration {
        Some(duration) => s.serialize_f64(duration.as_secs_f64() * 1e3),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unparsable_certificate_is_summarised_without_panicking() {
        for bytes in [
            &[][..],
            &[0x30][..],
            &[0x30, 0x82, 0xff, 0xff][..],
            b"not der at all",
        ] {
            let summary = CertificateSummary::from_der(&CertificateDer::from(bytes.to_vec()));
            assert_eq!(summary.subject(), "<unparsable>");
            assert_eq!(summary.sha256_fingerprint().len(), 64);
        }
    }

    #[test]
    fn a_test_leaf_is_summarised() {
        let pki = testpki::Pki::shared(testpki::KeyKind::Rsa2048);
        let identity = pki.server(testpki::Scenario::Valid).unwrap();
        let summary = CertificateSummary::from_der(&identity.chain[0]);
        assert!(
            summary.subject().contains("CN=mock.streamsocket.test"),
            "{summary:?}"
        );
        assert!(
            summary
                .subject_alt_names()
                .contains(&"IP:127.0.0.1".to_owned())
        );
        assert!(summary.subject_alt_names().contains(&"IP:::1".to_owned()));
        assert_eq!(summary.key_algorithm(), "RSA 2048");
        assert_eq!(summary.not_before(), "2020-01-01T00:00:00Z");
        assert!(summary.to_string().contains("RSA 2048"));
    }

    #[test]
    fn a_summary_keeps_the_certificate_and_serializes_its_fields() {
        let pki = testpki::Pki::shared(testpki::KeyKind::EcdsaP256);
        let identity = pki.server(testpki::Scenario::Valid).unwrap();
        let leaf = CertificateSummary::from_der(&identity.chain[0]);
        let intermediate = CertificateSummary::from_der(&identity.chain[1]);
        assert_eq!(leaf.der().as_ref(), identity.chain[0].as_ref());
        assert_eq!(leaf, leaf.clone());
        assert_ne!(leaf, intermediate);
        assert_eq!(leaf.issuer(), intermediate.subject());
        let json = serde_json::to_value(&leaf).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys.len(),
            7,
            "subject, issuer, alt names, validity, key, fingerprint: {keys:?}"
        );
        assert_eq!(json["key_algorithm"], "ECDSA P-256");
        assert_eq!(json["sha256_fingerprint"], leaf.sha256_fingerprint());
        assert!(format!("{leaf:?}").contains("ECDSA P-256"));
    }

    #[test]
    fn a_fresh_information_is_plaintext_and_empty() {
        let info = SocketInformation::default();
        assert_eq!(info.protection_level, ProtectionLevel::PlainSocket);
        assert!(!info.is_encrypted());
        let table = info.to_string();
        assert!(table.contains("protocol version     -"), "{table}");
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["server_certificate_error_severity"], "None");
        assert_eq!(json["handshake_duration_ms"], serde_json::Value::Null);
    }

    #[test]
    fn alpn_protocols_print_without_loss() {
        assert_eq!(AlpnProtocol::new(*b"h2").to_string(), "h2");
        assert_eq!(AlpnProtocol::new(*b"http/1.1").to_string(), "http/1.1");
        let odd = AlpnProtocol::new(vec![0xff, b'\\', b'a', 0x00]);
        assert_eq!(odd.to_string(), "\\xff\\x5ca\\x00");
        assert_eq!(serde_json::to_value(&odd).unwrap(), "\\xff\\x5ca\\x00");
        assert_eq!(odd.as_bytes(), [0xff, b'\\', b'a', 0x00]);
    }

    #[test]
    fn suites_and_groups_serialise_by_their_iana_names() {
        let info = SocketInformation {
            cipher_suite: Some(CipherSuite::TLS13_AES_128_GCM_SHA256),
            key_exchange_group: Some(NamedGroup::X25519),
            ..SocketInformation::default()
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["cipher_suite"], "TLS13_AES_128_GCM_SHA256");
        assert_eq!(json["key_exchange_group"], "X25519");
        assert_eq!(suite_name(CipherSuite::from(0x1234)), "0x1234");
        assert_eq!(group_name(NamedGroup::from(0x00ab)), "0x00ab");
    }
}
