//! Protection levels (the Windows Runtime `SocketProtectionLevel`) and the policy table that
//! says what a client may do with them.
//!
//! # The policy table
//!
//! [`decide`] answers every [`Operation`] a client does with a level: connecting, upgrading a
//! plaintext connection (a raw upgrade or a STARTTLS dialect), and setting the socket's minimum
//! level. Its answer is a [`Permit`] (plaintext, or TLS offering a [`VersionSet`]) or a
//! [`Refusal`], given before any byte is sent.
//!
//! | requested level | connect | upgrade |
//! |---|---|---|
//! | `PlainSocket` | plaintext, whatever the minimum | invalid: an upgrade needs a TLS level |
//! | `Ssl`, `SslAllowNullEncryption`, `Unspecified` | TLS 1.3 and TLS 1.2, secure suites only | as connect |
//! | `Tls12` | TLS 1.2 only | as connect |
//! | `Tls13` | TLS 1.3 only | as connect |
//! | `Ssl3AllowWeakEncryption` | unsupported: SSL 3.0 is prohibited (RFC 7568) | as connect |
//! | `Tls10`, `Tls11` | unsupported: deprecated (RFC 8996) and absent from rustls | as connect |
//! | `BluetoothEncryption*` | invalid: not applicable to TCP | as connect |
//!
//! A minimum level (WinRT `MinProtectionLevel`) governs TLS handshakes: it removes the versions
//! below it from a TLS connect and from an upgrade, and a minimum above the requested level
//! leaves nothing to offer and is invalid. Only `Tls13` (TLS 1.3) and `Ssl`,
//! `SslAllowNullEncryption` and `Tls12` (TLS 1.2) set a floor; `PlainSocket`, `Unspecified` and
//! the legacy levels are below everything this project offers and remove nothing. A plaintext
//! connect is the first half of a STARTTLS connection: the minimum governs the upgrade that
//! follows, not the plaintext connect itself. A Bluetooth level cannot be a minimum: setting
//! one is refused, and so is every handshake under one.
//!
//! A refused level is reported before a refused minimum, so the caller learns the real reason
//! first.
//!
//! # Where this deliberately differs from Windows
//!
//! - Windows silently offers SSL 3.0, TLS 1.0 and TLS 1.1 for the legacy levels; this crate
//!   refuses them with a typed error before any byte is sent.
//! - `SslAllowNullEncryption` never negotiates a NULL cipher: rustls has none.
//! - `Tls12` on Windows also allows TLS 1.0 and 1.1; here it means exactly TLS 1.2.
//! - The level reported after a handshake is the negotiated one (`Tls12` or `Tls13`), never the
//!   requested one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// How a stream socket is protected: the Windows Runtime `SocketProtectionLevel`, plus `Tls13`.
///
/// The variants keep the WinRT order and numeric values (`level as u8`), so they are not
/// alphabetical.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[repr(u8)]
pub enum ProtectionLevel {
    /// No encryption.
    PlainSocket = 0,
    /// TLS required, any secure version (here: 1.3 or 1.2), never a NULL cipher.
    Ssl = 1,
    /// Windows allows a NULL cipher here; rustls has none, so it behaves as `Ssl`.
    SslAllowNullEncryption = 2,
    /// Bluetooth only; invalid on TCP.
    BluetoothEncryptionAllowNullAuthentication = 3,
    /// Bluetooth only; invalid on TCP.
    BluetoothEncryptionWithAuthentication = 4,
    /// SSL 3.0 with weak ciphers; refused (RFC 7568).
    Ssl3AllowWeakEncryption = 5,
    /// TLS 1.0; refused (RFC 8996).
    Tls10 = 6,
    /// TLS 1.1; refused (RFC 8996).
    Tls11 = 7,
    /// TLS 1.2 exactly.
    Tls12 = 8,
    /// No preference: behaves as `Ssl`, raised by a minimum level if one is set.
    Unspecified = 9,
    /// TLS 1.3 exactly (an extension of the WinRT enum).
    Tls13 = 10,
}

impl ProtectionLevel {
    /// Every level, in numeric order.
    pub const ALL: [Self; 11] = [
        Self::PlainSocket,
        Self::Ssl,
        Self::SslAllowNullEncryption,
        Self::BluetoothEncryptionAllowNullAuthentication,
        Self::BluetoothEncryptionWithAuthentication,
        Self::Ssl3AllowWeakEncryption,
        Self::Tls10,
        Self::Tls11,
        Self::Tls12,
        Self::Unspecified,
        Self::Tls13,
    ];

    /// The WinRT name, as `Display` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::PlainSocket => "PlainSocket",
            Self::Ssl => "Ssl",
            Self::SslAllowNullEncryption => "SslAllowNullEncryption",
            Self::BluetoothEncryptionAllowNullAuthentication => {
                "BluetoothEncryptionAllowNullAuthentication"
            }
            Self::BluetoothEncryptionWithAuthentication => "BluetoothEncryptionWithAuthentication",
            Self::Ssl3AllowWeakEncryption => "Ssl3AllowWeakEncryption",
            Self::Tls10 => "Tls10",
            Self::Tls11 => "Tls11",
            Self::Tls12 => "Tls12",
            Self::Unspecified => "Unspecified",
            Self::Tls13 => "Tls13",
        }
    }

    /// The WinRT numeric value.
    pub fn value(self) -> u8 {
        self as u8
    }

    /// The level with this WinRT numeric value.
    pub fn from_value(value: u8) -> Option<Self> {
        Self::ALL.get(usize::from(value)).copied()
    }

    /// The level that reports a negotiated TLS version.
    pub fn from_version(version: TlsVersion) -> Self {
        match version {
            TlsVersion::Tls12 => Self::Tls12,
            TlsVersion::Tls13 => Self::Tls13,
        }
    }

    /// Whether this level demands TLS (every level but `PlainSocket`).
    ///
    /// Unsupported and invalid levels demand TLS too: a caller who asked for them must never
    /// end up in plaintext.
    pub fn demands_tls(self) -> bool {
        self != Self::PlainSocket
    }

    /// Whether this is one of the Bluetooth levels, which do not apply to TCP.
    fn is_bluetooth(self) -> bool {
        matches!(
            self,
            Self::BluetoothEncryptionAllowNullAuthentication
                | Self::BluetoothEncryptionWithAuthentication
        )
    }

    /// The ordering used for minimum levels: the lowest protocol version the level allows.
    ///
    /// `None` for levels that do not name a version floor (`Unspecified`, Bluetooth).
    fn floor(self) -> Option<Floor> {
        Some(match self {
            Self::PlainSocket => Floor::Plain,
            Self::Ssl3AllowWeakEncryption => Floor::Ssl3,
            Self::Tls10 => Floor::Tls10,
            Self::Tls11 => Floor::Tls11,
            Self::Ssl | Self::SslAllowNullEncryption | Self::Tls12 => Floor::Tls12,
            Self::Tls13 => Floor::Tls13,
            Self::Unspecified
            | Self::BluetoothEncryptionAllowNullAuthentication
            | Self::BluetoothEncryptionWithAuthentication => return None,
        })
    }
}

impl fmt::Display for ProtectionLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ProtectionLevel {
    type Err = ParseLevelError;

    /// Accepts the WinRT names case-insensitively, the numeric values, and short forms:
    /// `plain`, `none`, `tls`, `ssl3`, `tls1.0`/`tls10`/`tls1`, `tls1.1`, `tls1.2`, `tls1.3`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let key: String = s
            .trim()
            .chars()
            .filter(|c| !matches!(c, '.' | '_' | '-' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if let Ok(value) = key.parse::<u8>() {
            return Self::from_value(value).ok_or_else(|| ParseLevelError(s.to_owned()));
        }
        let level = match key.as_str() {
            "plainsocket" | "plain" | "none" => Self::PlainSocket,
            "ssl" | "tls" => Self::Ssl,
            "sslallownullencryption" | "allownull" => Self::SslAllowNullEncryption,
            "bluetoothencryptionallownullauthentication" => {
                Self::BluetoothEncryptionAllowNullAuthentication
            }
            "bluetoothencryptionwithauthentication" => Self::BluetoothEncryptionWithAuthentication,
            "ssl3allowweakencryption" | "ssl3" | "sslv3" | "ssl30" => Self::Ssl3AllowWeakEncryption,
            "tls10" | "tls1" | "tlsv1" | "tlsv10" => Self::Tls10,
            "tls11" | "tlsv11" => Self::Tls11,
            "tls12" | "tlsv12" => Self::Tls12,
            "unspecified" | "default" => Self::Unspecified,
            "tls13" | "tlsv13" => Self::Tls13,
            _ => return Err(ParseLevelError(s.to_owned())),
        };
        Ok(level)
    }
}

/// A string that names no protection level.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown protection level {0:?} (expected a WinRT name such as Ssl, Tls12 or Tls13)")]
pub struct ParseLevelError(String);

/// A TLS protocol version that this project can negotiate.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246).
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    /// The rustls version with the same number.
    pub fn to_rustls(self) -> &'static rustls::SupportedProtocolVersion {
        match self {
            Self::Tls12 => &rustls::version::TLS12,
            Self::Tls13 => &rustls::version::TLS13,
        }
    }

    /// The version rustls reports, if it is one this project negotiates.
    pub fn from_rustls(version: rustls::ProtocolVersion) -> Option<Self> {
        match version {
            rustls::ProtocolVersion::TLSv1_2 => Some(Self::Tls12),
            rustls::ProtocolVersion::TLSv1_3 => Some(Self::Tls13),
            _ => None,
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Tls12 => "TLSv1.2",
            Self::Tls13 => "TLSv1.3",
        })
    }
}

/// The set of TLS versions a client may offer: never empty.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub struct VersionSet {
    tls12: bool,
    tls13: bool,
}

impl VersionSet {
    /// TLS 1.3 and TLS 1.2.
    pub const BOTH: Self = Self {
        tls12: true,
        tls13: true,
    };
    /// TLS 1.2 alone.
    pub const TLS12_ONLY: Self = Self {
        tls12: true,
        tls13: false,
    };
    /// TLS 1.3 alone.
    pub const TLS13_ONLY: Self = Self {
        tls12: false,
        tls13: true,
    };

    /// Whether `version` is in the set.
    pub fn contains(self, version: TlsVersion) -> bool {
        match version {
            TlsVersion::Tls12 => self.tls12,
            TlsVersion::Tls13 => self.tls13,
        }
    }

    /// The versions, newest first.
    pub fn versions(self) -> Vec<TlsVersion> {
        let mut out = Vec::with_capacity(2);
        if self.tls13 {
            out.push(TlsVersion::Tls13);
        }
        if self.tls12 {
            out.push(TlsVersion::Tls12);
        }
        out
    }

    /// The same versions in rustls's terms, for rustls's `ClientConfig::builder_with_protocol_versions`.
    pub fn to_rustls(self) -> Vec<&'static rustls::SupportedProtocolVersion> {
        self.versions()
            .into_iter()
            .map(TlsVersion::to_rustls)
            .collect()
    }
}

/// Written as the versions' numbers, oldest first: `1.2`, `1.3`, `1.2,1.3`.
impl fmt::Display for VersionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match (self.tls12, self.tls13) {
            (true, true) => "1.2,1.3",
            (true, false) => "1.2",
            // Never empty: the constructors are the three constants.
            (false, _) => "1.3",
        })
    }
}

impl FromStr for VersionSet {
    type Err = ParseVersionSetError;

    /// Parses a comma-separated list of `1.2` and `1.3` (spaces around items allowed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (mut tls12, mut tls13) = (false, false);
        for part in s.split(',').map(str::trim) {
            match part {
                "1.2" => tls12 = true,
                "1.3" => tls13 = true,
                _ => return Err(ParseVersionSetError(s.to_owned())),
            }
        }
        if tls12 || tls13 {
            Ok(Self { tls12, tls13 })
        } else {
            Err(ParseVersionSetError(s.to_owned()))
        }
    }
}

/// A string that is not a list of TLS versions.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("unknown tls versions {0:?} (expected 1.2, 1.3 or 1.2,1.3)")]
pub struct ParseVersionSetError(String);

/// Why a level is refused before any byte is sent.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
pub enum UnsupportedReason {
    /// SSL 3.0 is prohibited by RFC 7568.
    Ssl3Prohibited,
    /// TLS 1.0 and 1.1 are deprecated by RFC 8996 and not implemented by rustls.
    LegacyTlsDeprecated,
}

impl fmt::Display for UnsupportedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ssl3Prohibited => "SSL 3.0 is prohibited (RFC 7568)",
            Self::LegacyTlsDeprecated => {
                "TLS 1.0 and TLS 1.1 are deprecated (RFC 8996) and not implemented by rustls"
            }
        })
    }
}

/// Something a client does with a protection level: the question [`decide`] answers.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub enum Operation {
    /// Connect with `level`: TLS at once, or plaintext for `PlainSocket`.
    Connect {
        /// The requested level.
        level: ProtectionLevel,
        /// The socket's minimum level, if one is set.
        minimum: Option<ProtectionLevel>,
    },
    /// Start TLS with `level` on a plaintext connection: the seed's raw upgrade or a STARTTLS
    /// dialect.
    Upgrade {
        /// The requested level.
        level: ProtectionLevel,
        /// The socket's minimum level, if one is set.
        minimum: Option<ProtectionLevel>,
    },
    /// Make `minimum` the socket's minimum level.
    SetMinimum {
        /// The minimum level to set.
        minimum: ProtectionLevel,
    },
}

/// What an [`Operation`] may do: the answer of [`decide`] when it does not refuse.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub enum Permit {
    /// Go on in plaintext: the answer to a `PlainSocket` connect, and to nothing else.
    Plaintext,
    /// Negotiate TLS offering exactly these versions: the answer to a connect or an upgrade
    /// with a TLS level.
    Tls(VersionSet),
    /// Keep the minimum level: the answer to [`Operation::SetMinimum`].
    SetMinimum,
}

/// Why [`decide`] refuses an operation, and which operation: nothing may be sent for it.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub struct Refusal {
    operation: Operation,
    reason: RefusalReason,
}

impl Refusal {
    /// The operation refused.
    pub fn operation(self) -> Operation {
        self.operation
    }

    /// Why it is refused.
    pub fn reason(self) -> RefusalReason {
        self.reason
    }
}

/// Why an operation is refused: a level this project will not offer, or the caller's mistake.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq, Serialize)]
pub enum RefusalReason {
    /// A level this project refuses to offer.
    Unsupported(UnsupportedReason),
    /// A level or combination that makes no sense on TCP; the caller's mistake.
    Invalid(InvalidReason),
}

/// Why a level or a level combination is an invalid argument.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
pub enum InvalidReason {
    /// Bluetooth levels do not apply to TCP sockets.
    BluetoothOnTcp,
    /// The minimum level is above the requested level, so nothing is left to offer.
    MinimumAboveRequested,
    /// The minimum level is itself unusable as a minimum (Bluetooth).
    BadMinimum,
    /// `PlainSocket` was requested for an upgrade, which starts TLS.
    PlainSocketUpgrade,
}

impl fmt::Display for InvalidReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BluetoothOnTcp => "Bluetooth protection levels do not apply to TCP sockets",
            Self::MinimumAboveRequested => {
                "the minimum protection level is above the requested level"
            }
            Self::BadMinimum => "a Bluetooth level cannot be a minimum protection level",
            Self::PlainSocketUpgrade => "an upgrade starts TLS, so it needs a TLS level",
        })
    }
}

/// The policy table: what `operation` may do, or why it is refused. The module documentation
/// shows the table.
///
/// # Example
///
/// ```
/// use streamsocket_proto::level::{decide, Operation, Permit, ProtectionLevel, VersionSet};
///
/// // A TLS 1.3 minimum leaves the plaintext half of a STARTTLS connection alone...
/// let minimum = Some(ProtectionLevel::Tls13);
/// let connect = Operation::Connect { level: ProtectionLevel::PlainSocket, minimum };
/// assert_eq!(decide(connect), Ok(Permit::Plaintext));
/// // ...and governs the upgrade that follows.
/// let upgrade = Operation::Upgrade { level: ProtectionLevel::Ssl, minimum };
/// assert_eq!(decide(upgrade), Ok(Permit::Tls(VersionSet::TLS13_ONLY)));
/// ```
pub fn decide(operation: Operation) -> Result<Permit, Refusal> {
    use ProtectionLevel as L;
    let refuse = |reason| Err(Refusal { operation, reason });
    let (level, minimum, upgrade) = match operation {
        Operation::Connect { level, minimum } => (level, minimum, false),
        Operation::Upgrade { level, minimum } => (level, minimum, true),
        Operation::SetMinimum { minimum } => {
            return if minimum.is_bluetooth() {
                refuse(RefusalReason::Invalid(InvalidReason::BadMinimum))
            } else {
                Ok(Permit::SetMinimum)
            };
        }
    };
    let offered = match level {
        L::Ssl | L::SslAllowNullEncryption | L::Unspecified => VersionSet::BOTH,
        L::Tls12 => VersionSet::TLS12_ONLY,
        L::Tls13 => VersionSet::TLS13_ONLY,
        L::PlainSocket if upgrade => {
            return refuse(RefusalReason::Invalid(InvalidReason::PlainSocketUpgrade));
        }
        // The minimum governs the upgrade that follows, not the plaintext connect itself.
        L::PlainSocket => return Ok(Permit::Plaintext),
        L::Ssl3AllowWeakEncryption => {
            return refuse(RefusalReason::Unsupported(
                UnsupportedReason::Ssl3Prohibited,
            ));
        }
        L::Tls10 | L::Tls11 => {
            return refuse(RefusalReason::Unsupported(
                UnsupportedReason::LegacyTlsDeprecated,
            ));
        }
        L::BluetoothEncryptionAllowNullAuthentication
        | L::BluetoothEncryptionWithAuthentication => {
            return refuse(RefusalReason::Invalid(InvalidReason::BluetoothOnTcp));
        }
    };
    let Some(minimum) = minimum else {
        return Ok(Permit::Tls(offered));
    };
    if minimum.is_bluetooth() {
        return refuse(RefusalReason::Invalid(InvalidReason::BadMinimum));
    }
    let Some(floor) = minimum.floor() else {
        return Ok(Permit::Tls(offered));
    };
    let tls12 = offered.tls12 && floor <= Floor::Tls12;
    let tls13 = offered.tls13 && floor <= Floor::Tls13;
    if tls12 || tls13 {
        Ok(Permit::Tls(VersionSet { tls12, tls13 }))
    } else {
        refuse(RefusalReason::Invalid(InvalidReason::MinimumAboveRequested))
    }
}

/// Version floors, ordered from weakest to strongest.
#[derive(Clone, Copy, Debug, Eq, Ord, PartialEq, PartialOrd)]
enum Floor {
    Plain,
    Ssl3,
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

#[cfg(test)]
mod tests;
