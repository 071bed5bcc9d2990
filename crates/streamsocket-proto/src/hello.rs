//! The ClientHello a client sent, read from the bytes of its first TLS records: what it offers
//! (versions, cipher suites, groups, signature schemes, ALPN), the name it asks for, and its
//! [JA4](ja4) fingerprint.
//!
//! [`parse`] takes the bytes a server received before its TLS stack saw them. It reads handshake
//! records until the first handshake message is complete, so a ClientHello split over several
//! records is read whole; whatever follows it is ignored. It never panics, allocates only for
//! what is present in the input (a declared length never reserves memory) and says what was
//! wrong with a [`HelloError`].
//!
//! The lists keep the values in the order the client sent them, GREASE values (RFC 8701)
//! included: [`is_grease`] tells them apart, and the fingerprint leaves them out as its
//! specification says.
//!
//! ```
//! use streamsocket_proto::hello::{self, Weakness};
//!
//! // A minimal ClientHello: TLS 1.2, one suite (TLS_RSA_WITH_3DES_EDE_CBC_SHA), no extensions.
//! let body = [&[0x03, 0x03][..], &[0; 32], &[0], &[0, 2, 0x00, 0x0a], &[1, 0]].concat();
//! let mut message = vec![1, 0, 0, body.len() as u8];
//! message.extend_from_slice(&body);
//! let mut record = vec![0x16, 0x03, 0x01, 0, message.len() as u8];
//! record.extend_from_slice(&message);
//!
//! let hello = hello::parse(&record).unwrap();
//! assert_eq!(hello.offered_versions().collect::<Vec<_>>(), [0x0303]);
//! let weak: Vec<_> = hello::weaknesses(hello.cipher_suites[0]).collect();
//! assert_eq!(weak, [Weakness::TripleDes, Weakness::CbcSha1]);
//! ```

pub mod ja4;
pub mod legacy;

use std::fmt;

/// The most a server needs to keep to read a ClientHello: records are at most 2^14 bytes of
/// plaintext (RFC 8446, section 5.1), and a ClientHello of that size is already exceptional.
pub const MAX_RECORDED: usize = 16 * 1024;

/// The record content type of a handshake record.
const CONTENT_TYPE_HANDSHAKE: u8 = 0x16;
/// The handshake message type of a ClientHello.
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
/// The largest record fragment a peer may send (RFC 8446, section 5.1).
const MAX_FRAGMENT: usize = 1 << 14;

/// Extension types this module reads the body of.
const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXT_ALPN: u16 = 0x0010;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;

/// What a ClientHello offers, as the client sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientHello {
    /// The version in the first record header (`0x0301` for most clients, whatever they offer).
    pub record_version: u16,
    /// `legacy_version` (`client_version` before TLS 1.3).
    pub legacy_version: u16,
    /// The `supported_versions` extension, when the client sent one.
    pub supported_versions: Option<Vec<u16>>,
    /// The cipher suites, in the client's order.
    pub cipher_suites: Vec<u16>,
    /// The compression methods (TLS 1.3 clients send exactly `[0]`).
    pub compression_methods: Vec<u8>,
    /// The extension types, in the client's order.
    pub extensions: Vec<u16>,
    /// The first `host_name` of the `server_name` extension.
    pub server_name: Option<Vec<u8>>,
    /// The ALPN protocol names, in the client's order.
    pub alpn: Vec<Vec<u8>>,
    /// The `supported_groups` extension.
    pub supported_groups: Vec<u16>,
    /// The `signature_algorithms` extension.
    pub signature_algorithms: Vec<u16>,
}

impl ClientHello {
    /// The versions offered: the `supported_versions` extension without GREASE values when it is
    /// present (RFC 8446, section 4.2.1), otherwise `legacy_version` alone.
    pub fn offered_versions(&self) -> impl Iterator<Item = u16> + '_ {
        let (list, legacy): (&[u16], Option<u16>) = match &self.supported_versions {
            Some(versions) => (versions, None),
            None => (&[], Some(self.legacy_version)),
        };
        list.iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .chain(legacy)
    }

    /// The host name of the `server_name` extension, when it is one in UTF-8.
    pub fn server_name_str(&self) -> Option<&str> {
        self.server_name
            .as_deref()
            .and_then(|name| std::str::from_utf8(name).ok())
    }

    /// Whether the client sent an extension of this type.
    pub fn has_extension(&self, extension: u16) -> bool {
        self.extensions.contains(&extension)
    }
}

/// Why bytes could not be read as a ClientHello.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HelloError {
    /// The input ends before the ClientHello does.
    #[error("the input ends before the client hello does")]
    Truncated,
    /// A record is not a handshake record.
    #[error("record of content type {0:#04x} where a handshake record was expected")]
    NotHandshake(u8),
    /// A record declares more than 2^14 bytes, or none.
    #[error("record length {0} is not between 1 and 16384")]
    RecordLength(usize),
    /// The first handshake message is not a ClientHello.
    #[error("handshake message of type {0} where a client hello was expected")]
    NotClientHello(u8),
    /// A field's length does not fit what contains it, or its contents are not well formed.
    #[error("malformed {0}")]
    Malformed(Field),
    /// The same extension type appears twice (RFC 8446, section 4.2).
    #[error("extension {0:#06x} appears twice")]
    DuplicateExtension(u16),
}

/// The part of a ClientHello a [`HelloError::Malformed`] names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Field {
    /// The ALPN extension.
    Alpn,
    /// The cipher suite list.
    CipherSuites,
    /// The compression method list.
    CompressionMethods,
    /// The extension block.
    Extensions,
    /// Bytes after the extension block, inside the ClientHello.
    Trailing,
    /// The `server_name` extension.
    ServerName,
    /// The session id.
    SessionId,
    /// The `signature_algorithms` extension.
    SignatureAlgorithms,
    /// The `supported_groups` extension.
    SupportedGroups,
    /// The `supported_versions` extension.
    SupportedVersions,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Alpn => "alpn extension",
            Self::CipherSuites => "cipher suite list",
            Self::CompressionMethods => "compression method list",
            Self::Extensions => "extension block",
            Self::Trailing => "client hello (bytes after the extensions)",
            Self::ServerName => "server_name extension",
            Self::SessionId => "session id",
            Self::SignatureAlgorithms => "signature_algorithms extension",
            Self::SupportedGroups => "supported_groups extension",
            Self::SupportedVersions => "supported_versions extension",
        })
    }
}

/// Whether a two-byte value is one of the sixteen GREASE values of RFC 8701 (`0x0a0a`,
/// `0x1a1a`, ..., `0xfafa`), which clients send to keep servers tolerant of unknown values.
pub const fn is_grease(value: u16) -> bool {
    value & 0x0f0f == 0x0a0a && (value >> 8) == (value & 0xff)
}

/// Reads the ClientHello at the start of `input`: one or more handshake records whose fragments
/// hold the ClientHello message. Bytes after it are ignored.
pub fn parse(input: &[u8]) -> Result<ClientHello, HelloError> {
    let (record_version, message) = handshake_message(input)?;
    let mut hello = client_hello(&message)?;
    hello.record_version = record_version;
    Ok(hello)
}

/// The first handshake message, reassembled from as many records as it spans, and the version
/// of the first record header.
fn handshake_message(input: &[u8]) -> Result<(u16, Vec<u8>), HelloError> {
    let mut reader = Reader::new(input);
    let mut message: Vec<u8> = Vec::new();
    let mut record_version = None;
    loop {
        let content_type = reader.u8().ok_or(HelloError::Truncated)?;
        if content_type != CONTENT_TYPE_HANDSHAKE {
            return Err(HelloError::NotHandshake(content_type));
        }
        let version = reader.u16().ok_or(HelloError::Truncated)?;
        record_version.get_or_insert(version);
        let length = usize::from(reader.u16().ok_or(HelloError::Truncated)?);
        if length == 0 || length > MAX_FRAGMENT {
            return Err(HelloError::RecordLength(length));
        }
        // A fragment is copied only once all of it is present.
        let fragment = reader.take(length).ok_or(HelloError::Truncated)?;
        message.extend_from_slice(fragment);
        if let Some(&kind) = message.first()
            && kind != HANDSHAKE_CLIENT_HELLO
        {
            return Err(HelloError::NotClientHello(kind));
        }
        if let [_, a, b, c, ..] = message[..] {
            let declared = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if message.len() - 4 >= declared {
                message.truncate(4 + declared);
                message.drain(..4);
                let version = record_version.unwrap_or_default();
                return Ok((version, message));
            }
        }
    }
}

/// The body of a ClientHello message (RFC 8446, section 4.1.2; RFC 5246, section 7.4.1.2).
fn client_hello(body: &[u8]) -> Result<ClientHello, HelloError> {
    use HelloError::Malformed;
    let mut reader = Reader::new(body);
    let mut hello = ClientHello {
        legacy_version: reader.u16().ok_or(HelloError::Truncated)?,
        ..ClientHello::default()
    };
    reader.take(32).ok_or(HelloError::Truncated)?;
    let session_id = reader.vec_u8().ok_or(Malformed(Field::SessionId))?;
    if session_id.len() > 32 {
        return Err(Malformed(Field::SessionId));
    }
    let suites = reader.vec_u16().ok_or(Malformed(Field::CipherSuites))?;
    hello.cipher_suites = u16_list(suites).ok_or(Malformed(Field::CipherSuites))?;
    let compression = reader
        .vec_u8()
        .ok_or(Malformed(Field::CompressionMethods))?;
    hello.compression_methods = compression.to_vec();
    if reader.is_empty() {
        // Before TLS 1.2 (RFC 5246, section 7.4.1.2) the extension block may be absent.
        return Ok(hello);
    }
    let block = reader.vec_u16().ok_or(Malformed(Field::Extensions))?;
    if !reader.is_empty() {
        return Err(Malformed(Field::Trailing));
    }
    let mut extensions = Reader::new(block);
    while !extensions.is_empty() {
        let kind = extensions.u16().ok_or(Malformed(Field::Extensions))?;
        let data = extensions.vec_u16().ok_or(Malformed(Field::Extensions))?;
        if hello.extensions.contains(&kind) {
            return Err(HelloError::DuplicateExtension(kind));
        }
        hello.extensions.push(kind);
        extension(&mut hello, kind, data)?;
    }
    Ok(hello)
}

/// Reads the body of the extensions this module reports; the others are kept by type only.
fn extension(hello: &mut ClientHello, kind: u16, data: &[u8]) -> Result<(), HelloError> {
    use HelloError::Malformed;
    let mut reader = Reader::new(data);
    match kind {
        EXT_SERVER_NAME => {
            let list = whole(&mut reader, Reader::vec_u16).ok_or(Malformed(Field::ServerName))?;
            let mut names = Reader::new(list);
            while !names.is_empty() {
                let name_type = names.u8().ok_or(Malformed(Field::ServerName))?;
                let name = names.vec_u16().ok_or(Malformed(Field::ServerName))?;
                if name_type == 0 && hello.server_name.is_none() {
                    hello.server_name = Some(name.to_vec());
                }
            }
        }
        EXT_ALPN => {
            let list = whole(&mut reader, Reader::vec_u16).ok_or(Malformed(Field::Alpn))?;
            let mut names = Reader::new(list);
            while !names.is_empty() {
                let name = names.vec_u8().ok_or(Malformed(Field::Alpn))?;
                hello.alpn.push(name.to_vec());
            }
        }
        EXT_SUPPORTED_GROUPS => {
            let list = whole(&mut reader, Reader::vec_u16);
            let list = list.and_then(u16_list);
            hello.supported_groups = list.ok_or(Malformed(Field::SupportedGroups))?;
        }
        EXT_SIGNATURE_ALGORITHMS => {
            let list = whole(&mut reader, Reader::vec_u16);
            let list = list.and_then(u16_list);
            hello.signature_algorithms = list.ok_or(Malformed(Field::SignatureAlgorithms))?;
        }
        EXT_SUPPORTED_VERSIONS => {
            let list = whole(&mut reader, Reader::vec_u8).and_then(u16_list);
            hello.supported_versions = Some(list.ok_or(Malformed(Field::SupportedVersions))?);
        }
        _ => {}
    }
    Ok(())
}

/// Reads one length-prefixed vector that must fill the reader.
fn whole<'a>(
    reader: &mut Reader<'a>,
    read: fn(&mut Reader<'a>) -> Option<&'a [u8]>,
) -> Option<&'a [u8]> {
    let list = read(reader)?;
    reader.is_empty().then_some(list)
}

/// A list of big-endian two-byte values; `None` when its length is odd.
fn u16_list(bytes: &[u8]) -> Option<Vec<u16>> {
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    Some(
        bytes
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect(),
    )
}

/// A cursor over bytes that never reads past the end.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.rest.len() {
            return None;
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one-byte length.
    fn vec_u8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    /// A vector with a two-byte length.
    fn vec_u16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

/// A reason a cipher suite is weak. A suite can have several
/// (`TLS_RSA_EXPORT_WITH_RC4_40_MD5` is export-grade and RC4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Weakness {
    /// No encryption (`_WITH_NULL_`, and the integrity-only TLS 1.3 suites of RFC 9150).
    Null,
    /// An export-grade suite (40- or 56-bit keys).
    Export,
    /// RC4 (prohibited by RFC 7465).
    Rc4,
    /// Triple DES (64-bit blocks: Sweet32).
    TripleDes,
    /// A CBC cipher with an HMAC-SHA-1 MAC (MAC-then-encrypt: Lucky13, POODLE-style oracles).
    CbcSha1,
}

impl Weakness {
    /// Every weakness, in the order reports list them.
    pub const ALL: [Self; 5] = [
        Self::Null,
        Self::Export,
        Self::Rc4,
        Self::TripleDes,
        Self::CbcSha1,
    ];

    /// A short name for reports.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Null => "NULL",
            Self::Export => "EXPORT",
            Self::Rc4 => "RC4",
            Self::TripleDes => "3DES",
            Self::CbcSha1 => "CBC-SHA1",
        }
    }

    /// Whether a suite, by its IANA code point, has this weakness.
    pub fn applies(self, suite: u16) -> bool {
        let ranges: &[(u16, u16)] = match self {
            Self::Null => NULL_SUITES,
            Self::Export => EXPORT_SUITES,
            Self::Rc4 => RC4_SUITES,
            Self::TripleDes => TRIPLE_DES_SUITES,
            Self::CbcSha1 => CBC_SHA1_SUITES,
        };
        ranges
            .iter()
            .any(|&(low, high)| (low..=high).contains(&suite))
    }
}

impl fmt::Display for Weakness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The weaknesses of a cipher suite, in the order of [`Weakness::ALL`].
pub fn weaknesses(suite: u16) -> impl Iterator<Item = Weakness> {
    Weakness::ALL.into_iter().filter(move |w| w.applies(suite))
}

// The tables below are inclusive ranges of code points from the IANA "TLS Cipher Suites"
// registry, chosen by the names registered there.

/// `..._WITH_NULL_...` and `TLS_NULL_WITH_NULL_NULL`; `TLS_SHA256_SHA256`, `TLS_SHA384_SHA384`.
const NULL_SUITES: &[(u16, u16)] = &[
    (0x0000, 0x0002),
    (0x002c, 0x002e),
    (0x003b, 0x003b),
    (0x00b0, 0x00b1),
    (0x00b4, 0x00b5),
    (0x00b8, 0x00b9),
    (0xc001, 0xc001),
    (0xc006, 0xc006),
    (0xc00b, 0xc00b),
    (0xc010, 0xc010),
    (0xc015, 0xc015),
    (0xc039, 0xc03b),
    (0xc0b4, 0xc0b5),
];

/// `..._EXPORT_...`.
const EXPORT_SUITES: &[(u16, u16)] = &[
    (0x0003, 0x0003),
    (0x0006, 0x0006),
    (0x0008, 0x0008),
    (0x000b, 0x000b),
    (0x000e, 0x000e),
    (0x0011, 0x0011),
    (0x0014, 0x0014),
    (0x0017, 0x0017),
    (0x0019, 0x0019),
    (0x0026, 0x002b),
];

/// `..._WITH_RC4_...`.
const RC4_SUITES: &[(u16, u16)] = &[
    (0x0003, 0x0005),
    (0x0017, 0x0018),
    (0x0020, 0x0020),
    (0x0024, 0x0024),
    (0x0028, 0x0028),
    (0x002b, 0x002b),
    (0x008a, 0x008a),
    (0x008e, 0x008e),
    (0x0092, 0x0092),
    (0xc002, 0xc002),
    (0xc007, 0xc007),
    (0xc00c, 0xc00c),
    (0xc011, 0xc011),
    (0xc016, 0xc016),
    (0xc033, 0xc033),
];

/// `..._WITH_3DES_EDE_CBC_...`.
const TRIPLE_DES_SUITES: &[(u16, u16)] = &[
    (0x000a, 0x000a),
    (0x000d, 0x000d),
    (0x0010, 0x0010),
    (0x0013, 0x0013),
    (0x0016, 0x0016),
    (0x001b, 0x001b),
    (0x001f, 0x001f),
    (0x0023, 0x0023),
    (0x008b, 0x008b),
    (0x008f, 0x008f),
    (0x0093, 0x0093),
    (0xc003, 0xc003),
    (0xc008, 0xc008),
    (0xc00d, 0xc00d),
    (0xc012, 0xc012),
    (0xc017, 0xc017),
    (0xc01a, 0xc01c),
    (0xc034, 0xc034),
];

/// `..._CBC_SHA` (a CBC cipher, HMAC-SHA-1): IDEA, DES, DES40, RC2, 3DES, AES, Camellia, SEED.
const CBC_SHA1_SUITES: &[(u16, u16)] = &[
    (0x0007, 0x0016),
    (0x0019, 0x001b),
    (0x001e, 0x001f),
    (0x0021, 0x0021),
    (0x0026, 0x0027),
    (0x002f, 0x003a),
    (0x0041, 0x0046),
    (0x0084, 0x0089),
    (0x008b, 0x008d),
    (0x008f, 0x0091),
    (0x0093, 0x009b),
    (0xc003, 0xc005),
    (0xc008, 0xc00a),
    (0xc00d, 0xc00f),
    (0xc012, 0xc014),
    (0xc017, 0xc022),
    (0xc034, 0xc036),
];

/// A name for a protocol version code point, for reports.
pub const fn version_name(version: u16) -> Option<&'static str> {
    Some(match version {
        0x0002 => "SSL 2.0",
        0x0300 => "SSL 3.0",
        0x0301 => "TLS 1.0",
        0x0302 => "TLS 1.1",
        0x0303 => "TLS 1.2",
        0x0304 => "TLS 1.3",
        0xfeff => "DTLS 1.0",
        0xfefd => "DTLS 1.2",
        0xfefc => "DTLS 1.3",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
