//! The certificate-error vocabulary shared by the client and the mock server: the Windows Runtime
//! `ChainValidationResult` and `SocketSslErrorSeverity`, and a classification of the errors
//! rustls and webpki report into those values.
//!
//! # How rustls errors map
//!
//! rustls turns webpki's errors into [`rustls::CertificateError`] (`pki_error` in
//! `rustls/src/webpki/mod.rs`); the ones it has no variant for (an intermediate without
//! `CA:true`, a name-constraint violation, ...) arrive as `CertificateError::Other` wrapping the
//! original [`webpki::Error`], which [`classify`] downcasts and hands to [`classify_webpki`].
//! CRL problems arrive as `rustls::Error::InvalidCertRevocationList`; [`classify_error`] maps them
//! to `RevocationFailure`.
//!
//! | rustls / webpki | `ChainValidationResult` |
//! |---|---|
//! | `Expired*`, `NotValidYet*`, `InvalidCertValidity` | `Expired` (WinRT: "not within its validity period") |
//! | `UnknownIssuer`, `CertDistrusted` | `Untrusted` (the client refines it to `IncompleteChain`) |
//! | `BadSignature`, `InvalidSignatureForPublicKey`, `SignatureAlgorithmMismatch` | `InvalidSignature` |
//! | `NotValidForName*`, `UnsupportedNameType` | `InvalidName` |
//! | `InvalidPurpose*`, `RequiredEkuNotFound*`, `EmptyEkuExtension` | `WrongUsage` |
//! | `EndEntityUsedAsCa`, `CaUsedAsEndEntity`, `PathLenConstraintViolated` | `BasicConstraintsError` |
//! | name constraints | `InvalidCertificateAuthorityPolicy` |
//! | `UnhandledCriticalExtension`, `UnsupportedCriticalExtension` | `UnknownCriticalExtension` |
//! | `Revoked` | `Revoked` |
//! | `UnknownRevocationStatus` | `RevocationInformationMissing` |
//! | expired or unusable CRL, bad OCSP response | `RevocationFailure` |
//! | encoding errors, unsupported algorithms, anything else | `OtherErrors` |
//!
//! ```
//! use std::sync::Arc;
//!
//! use rustls::{CertificateError, OtherError};
//! use streamsocket_proto::cert::{classify, severity_of, ChainValidationResult, SocketSslErrorSeverity};
//!
//! assert_eq!(classify(&CertificateError::NotValidYet), ChainValidationResult::Expired);
//! // An intermediate without CA:true: rustls passes webpki's error through `Other`.
//! let no_ca = CertificateError::Other(OtherError(Arc::new(webpki::Error::EndEntityUsedAsCa)));
//! assert_eq!(classify(&no_ca), ChainValidationResult::BasicConstraintsError);
//! let errors = [ChainValidationResult::InvalidName, ChainValidationResult::Revoked];
//! assert_eq!(severity_of(&errors), SocketSslErrorSeverity::Fatal);
//! ```

use std::fmt;
use std::str::FromStr;

use rustls::CertificateError;
use serde::{Deserialize, Serialize};

mod chain;
pub mod context;
mod pin;

pub use chain::{ChainVerifier, ChainVerifierError, PinMismatch, Verdict};
pub use context::{CertificateRef, ErrorContext, ErrorDetail, Role, Timestamp};
pub use pin::{PinParseError, SpkiPin};

/// The outcome of validating a certificate chain: the Windows Runtime
/// `Windows.Security.Cryptography.Certificates.ChainValidationResult`, same names and values.
///
/// The variants keep the WinRT numeric order, so they are not alphabetical.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[repr(u8)]
pub enum ChainValidationResult {
    /// The certificate chain was verified.
    Success = 0,
    /// A certificate in the chain is not trusted.
    Untrusted = 1,
    /// A certificate in the chain has been revoked.
    Revoked = 2,
    /// A certificate in the chain is outside its validity period (expired or not yet valid).
    Expired = 3,
    /// The certificate chain is missing one or more certificates.
    IncompleteChain = 4,
    /// The signature of a certificate in the chain cannot be verified.
    InvalidSignature = 5,
    /// A certificate in the chain is being used for a purpose other than one it allows.
    WrongUsage = 6,
    /// The end certificate is not valid for the requested host name.
    InvalidName = 7,
    /// A certificate in the chain has a policy (here: name constraints) that is not valid.
    InvalidCertificateAuthorityPolicy = 8,
    /// A basic constraint of a certificate in the chain is not met (for example an intermediate
    /// without `CA:true`).
    BasicConstraintsError = 9,
    /// A certificate in the chain contains an unknown critical extension.
    UnknownCriticalExtension = 10,
    /// No revocation information is available for a certificate in the chain.
    RevocationInformationMissing = 11,
    /// The revocation status could not be established (stale or unusable CRL, bad OCSP).
    RevocationFailure = 12,
    /// Any other error.
    OtherErrors = 13,
}

impl ChainValidationResult {
    /// Every value, in numeric order.
    pub const ALL: [Self; 14] = [
        Self::Success,
        Self::Untrusted,
        Self::Revoked,
        Self::Expired,
        Self::IncompleteChain,
        Self::InvalidSignature,
        Self::WrongUsage,
        Self::InvalidName,
        Self::InvalidCertificateAuthorityPolicy,
        Self::BasicConstraintsError,
        Self::UnknownCriticalExtension,
        Self::RevocationInformationMissing,
        Self::RevocationFailure,
        Self::OtherErrors,
    ];

    /// The WinRT name, as `Display` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Untrusted => "Untrusted",
            Self::Revoked => "Revoked",
            Self::Expired => "Expired",
            Self::IncompleteChain => "IncompleteChain",
            Self::InvalidSignature => "InvalidSignature",
            Self::WrongUsage => "WrongUsage",
            Self::InvalidName => "InvalidName",
            Self::InvalidCertificateAuthorityPolicy => "InvalidCertificateAuthorityPolicy",
            Self::BasicConstraintsError => "BasicConstraintsError",
            Self::UnknownCriticalExtension => "UnknownCriticalExtension",
            Self::RevocationInformationMissing => "RevocationInformationMissing",
            Self::RevocationFailure => "RevocationFailure",
            Self::OtherErrors => "OtherErrors",
        }
    }

    /// The WinRT numeric value.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The result with this WinRT numeric value.
    pub fn from_value(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }

    /// How serious the result is: `Success` is `None`; a class is `Ignorable` exactly when it
    /// has a sound relaxation in [`ChainVerifier`] (`Untrusted`, `Expired`, `IncompleteChain`,
    /// `WrongUsage`, `InvalidName`, `RevocationInformationMissing`, `RevocationFailure`);
    /// everything else is `Fatal`: `Revoked` and `InvalidSignature` (WinRT never lets a caller
    /// ignore them either), and the broken chains (`BasicConstraintsError`,
    /// `UnknownCriticalExtension`, `InvalidCertificateAuthorityPolicy`, `OtherErrors`), which no
    /// relaxation of WebPKI can accept without accepting forgeries.
    pub fn severity(self) -> SocketSslErrorSeverity {
        match self {
            Self::Success => SocketSslErrorSeverity::None,
            Self::Untrusted
            | Self::Expired
            | Self::IncompleteChain
            | Self::WrongUsage
            | Self::InvalidName
            | Self::RevocationInformationMissing
            | Self::RevocationFailure => SocketSslErrorSeverity::Ignorable,
            Self::Revoked
            | Self::InvalidSignature
            | Self::InvalidCertificateAuthorityPolicy
            | Self::BasicConstraintsError
            | Self::UnknownCriticalExtension
            | Self::OtherErrors => SocketSslErrorSeverity::Fatal,
        }
    }
}

impl fmt::Display for ChainValidationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChainValidationResult {
    type Err = ParseCertError;

    /// Accepts the WinRT names case-insensitively (also with `_` or `-` between words), the
    /// numeric values, and `trusted` for `Success`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = normalise(s);
        if let Ok(value) = key.parse::<u8>() {
            return Self::from_value(value).ok_or_else(|| ParseCertError(s.to_owned()));
        }
        if key == "trusted" {
            return Ok(Self::Success);
        }
        Self::ALL
            .into_iter()
            .find(|result| result.name().eq_ignore_ascii_case(&key))
            .ok_or_else(|| ParseCertError(s.to_owned()))
    }
}

/// How serious a certificate error is: the Windows Runtime `SocketSslErrorSeverity`.
#[derive(
    Clone, Copy, Debug, Default, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize,
)]
#[repr(u8)]
pub enum SocketSslErrorSeverity {
    /// No error.
    #[default]
    None = 0,
    /// Errors a caller may choose to ignore (`IgnorableServerCertificateErrors`).
    Ignorable = 1,
    /// Errors no caller may ignore.
    Fatal = 2,
}

impl SocketSslErrorSeverity {
    /// Every value, in numeric order.
    pub const ALL: [Self; 3] = [Self::None, Self::Ignorable, Self::Fatal];

    /// The WinRT name, as `Display` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::None => "None",
            Self::Ignorable => "Ignorable",
            Self::Fatal => "Fatal",
        }
    }

    /// The WinRT numeric value.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The severity with this WinRT numeric value.
    pub fn from_value(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }
}

impl fmt::Display for SocketSslErrorSeverity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SocketSslErrorSeverity {
    type Err = ParseCertError;

    /// Accepts the WinRT names case-insensitively and the numeric values.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key = normalise(s);
        if let Ok(value) = key.parse::<u8>() {
            return Self::from_value(value).ok_or_else(|| ParseCertError(s.to_owned()));
        }
        Self::ALL
            .into_iter()
            .find(|severity| severity.name().eq_ignore_ascii_case(&key))
            .ok_or_else(|| ParseCertError(s.to_owned()))
    }
}

/// A string that names no `ChainValidationResult` or `SocketSslErrorSeverity`.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown certificate validation name {0:?}")]
pub struct ParseCertError(String);

/// The most serious severity among `errors` (`None` for an empty list).
pub fn severity_of(errors: &[ChainValidationResult]) -> SocketSslErrorSeverity {
    errors
        .iter()
        .map(|error| error.severity())
        .max()
        .unwrap_or_default()
}

/// Classifies a rustls certificate error, including the `*Context` variants and a webpki error
/// wrapped in `CertificateError::Other`.
pub fn classify(err: &CertificateError) -> ChainValidationResult {
    use ChainValidationResult as R;
    #[allow(deprecated)] // The deprecated variants still occur with custom verifiers.
    match err {
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => R::Expired,
        CertificateError::UnknownIssuer => R::Untrusted,
        CertificateError::BadSignature => R::InvalidSignature,
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            R::InvalidName
        }
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            R::WrongUsage
        }
        CertificateError::UnhandledCriticalExtension => R::UnknownCriticalExtension,
        CertificateError::Revoked => R::Revoked,
        CertificateError::UnknownRevocationStatus => R::RevocationInformationMissing,
        CertificateError::ExpiredRevocationList
        | CertificateError::ExpiredRevocationListContext { .. }
        | CertificateError::InvalidOcspResponse => R::RevocationFailure,
        CertificateError::BadEncoding
        | CertificateError::UnsupportedSignatureAlgorithm
        | CertificateError::UnsupportedSignatureAlgorithmContext { .. }
        | CertificateError::UnsupportedSignatureAlgorithmForPublicKeyContext { .. }
        | CertificateError::ApplicationVerificationFailure => R::OtherErrors,
        CertificateError::Other(other) => match other.0.downcast_ref::<webpki::Error>() {
            Some(inner) => classify_webpki(inner),
            None => R::OtherErrors,
        },
        // `CertificateError` is non-exhaustive; a future variant is "other" until mapped.
        _ => R::OtherErrors,
    }
}

/// Classifies a webpki (rustls-webpki) error.
pub fn classify_webpki(err: &webpki::Error) -> ChainValidationResult {
    use ChainValidationResult as R;
    use webpki::Error as E;
    #[allow(deprecated)] // The deprecated variants can still be produced by older paths.
    match err {
        E::CertExpired { .. } | E::CertNotValidYet { .. } | E::InvalidCertValidity => R::Expired,
        E::UnknownIssuer | E::CertDistrusted => R::Untrusted,
        E::CertRevoked => R::Revoked,
        E::UnknownRevocationStatus => R::RevocationInformationMissing,
        E::InvalidSignatureForPublicKey | E::SignatureAlgorithmMismatch => R::InvalidSignature,
        E::CertNotValidForName(_) | E::UnsupportedNameType | E::MalformedDnsIdentifier => {
            R::InvalidName
        }
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) | E::EmptyEkuExtension => {
            R::WrongUsage
        }
        E::CaUsedAsEndEntity | E::EndEntityUsedAsCa | E::PathLenConstraintViolated => {
            R::BasicConstraintsError
        }
        E::NameConstraintViolation
        | E::MalformedNameConstraint
        | E::InvalidNetworkMaskConstraint
        | E::MaximumNameConstraintComparisonsExceeded => R::InvalidCertificateAuthorityPolicy,
        E::UnsupportedCriticalExtension => R::UnknownCriticalExtension,
        E::CrlExpired { .. }
        | E::InvalidCrlNumber
        | E::InvalidCrlSignatureForPublicKey
        | E::IssuerNotCrlSigner
        | E::UnsupportedCrlIssuingDistributionPoint
        | E::UnsupportedCrlVersion
        | E::UnsupportedDeltaCrl
        | E::UnsupportedIndirectCrl
        | E::UnsupportedRevocationReason
        | E::UnsupportedRevocationReasonsPartitioning
        | E::UnsupportedCrlSignatureAlgorithm
        | E::UnsupportedCrlSignatureAlgorithmContext(_)
        | E::UnsupportedCrlSignatureAlgorithmForPublicKey
        | E::UnsupportedCrlSignatureAlgorithmForPublicKeyContext(_) => R::RevocationFailure,
        // Encoding errors, unsupported algorithms, path-building budgets and future variants.
        _ => R::OtherErrors,
    }
}

/// Classifies a whole rustls error: `Some` for certificate and CRL errors, `None` for errors
/// that are not about the certificate chain (protocol, I/O, ...).
pub fn classify_error(err: &rustls::Error) -> Option<ChainValidationResult> {
    match err {
        rustls::Error::InvalidCertificate(cert) => Some(classify(cert)),
        rustls::Error::InvalidCertRevocationList(_) => {
            Some(ChainValidationResult::RevocationFailure)
        }
        _ => None,
    }
}

fn normalise(s: &str) -> String {
    s.trim()
        .chars()
        .filter(|c| !matches!(c, '_' | '-' | ' '))
        .collect()
}

#[cfg(test)]
mod tests;
