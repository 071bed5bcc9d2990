//! Hand-built ClientHello records for the server audit, and the classification of what a server
//! answers them with: enough to learn whether a server accepts an old protocol version or a weak
//! cipher suite, never enough to negotiate one.
//!
//! ```text
//!   HelloSpec (version, suites, name, random) ──► client_hello ──► one handshake record
//!   bytes the server sent back (+ eof?)        ──► classify     ──► ServerHello { version, suite }
//!                                                                  | Alert | Closed | Plaintext
//!                                                                  | Garbage, or None: read more
//! ```
//!
//! Nothing here goes past the ServerHello: the probe reads the server's choice and hangs up. No
//! key is generated, no key share is sent (the version and suite probes offer TLS 1.2 at most;
//! [`retry_hello`] offers TLS 1.3 with an empty `key_share`, so that the answer can only be a
//! HelloRetryRequest or a refusal), and no legacy cipher is implemented. [`classify`] looks at a bounded prefix ([`MAX_REPLY_LEN`] bytes),
//! never panics and allocates only for what is present.
//!
//! ```
//! use streamsocket_proto::probe::{self, HelloSpec, ProbeVersion, ProbeReply};
//!
//! let spec = HelloSpec::new(ProbeVersion::Tls10, probe::LEGACY_SUITES);
//! let record = probe::client_hello(&spec).unwrap();
//! assert_eq!(record[..3], [0x16, 0x03, 0x01]);
//!
//! // What a server that accepts TLS 1.0 answers (built by the encoder the tests use too).
//! let answer = probe::server_hello_record(0x0301, 0xc013, [7; 32]);
//! let reply = probe::classify(&answer, false).unwrap();
//! assert!(matches!(reply, ProbeReply::ServerHello(ref hello) if hello.version == 0x0301));
//! assert!(reply.accepts(ProbeVersion::Tls10));
//! // Half a record is not an answer yet; at the end of the stream it is a truncated one.
//! assert_eq!(probe::classify(&answer[..7], false), None);
//! assert!(matches!(probe::classify(&answer[..7], true), Some(ProbeReply::Closed { .. })));
//! ```

use std::fmt;

use crate::alert::Alert;
use crate::hello::Weakness;
use crate::reply::{self, FirstReply, PlaintextReply};
use crate::starttls::Dialect;
use crate::starttls::client::{has_capability, offers_auth_tls, offers_tls};

/// The most bytes [`classify`] looks at: the first handshake message may span records, but a
/// ServerHello never needs more than two full ones.
pub const MAX_REPLY_LEN: usize = 2 * (RECORD_HEADER_LEN + MAX_FRAGMENT);

/// The most cipher suites a hand-built hello offers (the suite list has a two-byte length; this
/// keeps the whole hello within one record).
pub const MAX_SUITES: usize = 4096;

const RECORD_HEADER_LEN: usize = 5;
const MAX_FRAGMENT: usize = 1 << 14;
const CONTENT_ALERT: u8 = 0x15;
const CONTENT_HANDSHAKE: u8 = 0x16;
const HANDSHAKE_CLIENT_HELLO: u8 = 1;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
const EXT_SERVER_NAME: u16 = 0x0000;
const EXT_SUPPORTED_GROUPS: u16 = 0x000a;
const EXT_EC_POINT_FORMATS: u16 = 0x000b;
const EXT_SIGNATURE_ALGORITHMS: u16 = 0x000d;
const EXT_EXTENDED_MASTER_SECRET: u16 = 0x0017;
const EXT_SESSION_TICKET: u16 = 0x0023;
const EXT_SUPPORTED_VERSIONS: u16 = 0x002b;
const EXT_KEY_SHARE: u16 = 0x0033;
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;

/// `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` (RFC 5746): not a suite a server can choose.
const RENEGOTIATION_SCSV: u16 = 0x00ff;
/// `TLS_FALLBACK_SCSV` (RFC 7507): not a suite a server can choose either.
const FALLBACK_SCSV: u16 = 0x5600;

/// The random of a HelloRetryRequest (RFC 8446, section 4.1.3): SHA-256 of
/// "HelloRetryRequest".
const HELLO_RETRY_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Groups offered for ECDHE suites: X25519, secp256r1, secp384r1.
const GROUPS: &[u16] = &[0x001d, 0x0017, 0x0018];

/// The TLS 1.3 suites a retry probe offers: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 (every
/// TLS 1.3 server implements the first, RFC 8446 section 9.1).
const TLS13_SUITES: &[u16] = &[0x1301, 0x1302, 0x1303];

/// Signature schemes offered in a TLS 1.2 hello (RFC 5246 needs the extension for anything but
/// SHA-1): ECDSA, RSA-PSS, Ed25519, RSA PKCS#1, then the SHA-1 ones.
const SIGNATURE_SCHEMES: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0401, 0x0501, 0x0601, 0x0203, 0x0201,
];

/// The suites a version probe offers: what servers of TLS 1.0 to 1.2 commonly accept, strong
/// ones first (ECDHE with AES-GCM or CBC, DHE, RSA key exchange, 3DES, RC4), so that a server
/// that speaks the version finds one it can choose.
pub const LEGACY_SUITES: &[u16] = &[
    0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc009, 0xc013, 0xc00a, 0xc014, 0x009e, 0x009f,
    0x0033, 0x0039, 0x009c, 0x009d, 0x002f, 0x0035, 0xc008, 0xc012, 0x0016, 0x000a, 0xc007, 0xc011,
    0x0005, 0x0004,
];

/// A protocol version a hand-built hello can offer: the WinRT levels the client library refuses
/// to speak, and TLS 1.2 for the weak-suite probes.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum ProbeVersion {
    /// SSL 3.0 (`0x0300`, RFC 6101; prohibited by RFC 7568).
    Ssl3,
    /// TLS 1.0 (`0x0301`; deprecated by RFC 8996).
    Tls10,
    /// TLS 1.1 (`0x0302`; deprecated by RFC 8996).
    Tls11,
    /// TLS 1.2 (`0x0303`).
    Tls12,
}

impl ProbeVersion {
    /// The legacy versions the client library never offers, oldest first.
    pub const LEGACY: [Self; 3] = [Self::Ssl3, Self::Tls10, Self::Tls11];

    /// The version's code point (`client_version`).
    pub const fn wire(self) -> u16 {
        match self {
            Self::Ssl3 => 0x0300,
            Self::Tls10 => 0x0301,
            Self::Tls11 => 0x0302,
            Self::Tls12 => 0x0303,
        }
    }

    /// The version of the record that carries the hello: `0x0300` for SSL 3.0 (an SSL 3.0
    /// server may not read a newer record), `0x0301` otherwise, as most clients send.
    pub const fn record_version(self) -> u16 {
        match self {
            Self::Ssl3 => 0x0300,
            Self::Tls10 | Self::Tls11 | Self::Tls12 => 0x0301,
        }
    }

    /// The version's name, as [`crate::hello::version_name`] gives it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Ssl3 => "SSL 3.0",
            Self::Tls10 => "TLS 1.0",
            Self::Tls11 => "TLS 1.1",
            Self::Tls12 => "TLS 1.2",
        }
    }
}

impl fmt::Display for ProbeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a hand-built ClientHello offers.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct HelloSpec<'a> {
    /// `client_version`: the highest version offered (no `supported_versions` extension is
    /// sent, so it is the only one a TLS 1.3 server may read).
    pub version: ProbeVersion,
    /// The cipher suites, in preference order; `TLS_EMPTY_RENEGOTIATION_INFO_SCSV` is appended.
    pub cipher_suites: &'a [u16],
    /// The name for the `server_name` extension (a DNS name; IP literals are never sent as
    /// SNI, RFC 6066 section 3). Not sent in an SSL 3.0 hello, which has no extensions.
    pub server_name: Option<&'a str>,
    /// The client random: the caller's, since this layer has no source of randomness.
    pub random: [u8; 32],
}

impl<'a> HelloSpec<'a> {
    /// A hello of `version` offering `cipher_suites`, without a name and with a zero random.
    pub fn new(version: ProbeVersion, cipher_suites: &'a [u16]) -> Self {
        Self {
            version,
            cipher_suites,
            server_name: None,
            random: [0; 32],
        }
    }
}

/// Why a hello could not be built: the caller's mistake, never the peer's.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// No cipher suite to offer.
    #[error("no cipher suite to offer")]
    NoCipherSuites,
    /// More than [`MAX_SUITES`] cipher suites.
    #[error("{0} cipher suites is more than a probe offers")]
    TooManySuites(usize),
    /// The server name is not a DNS name (empty, too long, an IP literal, or a character
    /// outside letters, digits, `-` and `.`).
    #[error("the server name is not a dns name")]
    InvalidServerName,
}

/// The ClientHello of `spec`, in one handshake record.
///
/// SSL 3.0: no extensions. TLS 1.0 and 1.1: `server_name`, `supported_groups`,
/// `ec_point_formats`, `extended_master_secret`, an empty `session_ticket` (RFC 5077: the
/// ServerHello says whether the server will issue a ticket), `renegotiation_info`. TLS 1.2: the
/// same and `signature_algorithms`. Never `supported_versions` or `key_share`: a TLS 1.3 server must
/// answer as to a client of `spec.version` (RFC 8446, appendix D.2).
pub fn client_hello(spec: &HelloSpec<'_>) -> Result<Vec<u8>, BuildError> {
    if spec.cipher_suites.is_empty() {
        return Err(BuildError::NoCipherSuites);
    }
    if spec.cipher_suites.len() > MAX_SUITES {
        return Err(BuildError::TooManySuites(spec.cipher_suites.len()));
    }
    let name = checked_server_name(spec.server_name)?;
    let mut body = Vec::with_capacity(128 + 2 * spec.cipher_suites.len());
    body.extend_from_slice(&spec.version.wire().to_be_bytes());
    body.extend_from_slice(&spec.random);
    body.push(0); // No session id: nothing is resumed.
    let suites: Vec<u16> = spec
        .cipher_suites
        .iter()
        .copied()
        .chain([RENEGOTIATION_SCSV])
        .collect();
    push_u16s(&mut body, &suites);
    body.extend_from_slice(&[1, 0]); // Compression: null only.
    if spec.version != ProbeVersion::Ssl3 {
        let mut block = name_and_groups(name);
        push_extension(&mut block, EXT_EC_POINT_FORMATS, &[1, 0]);
        if spec.version == ProbeVersion::Tls12 {
            push_signature_schemes(&mut block);
        }
        push_extension(&mut block, EXT_EXTENDED_MASTER_SECRET, &[]);
        push_extension(&mut block, EXT_SESSION_TICKET, &[]);
        push_extension(&mut block, EXT_RENEGOTIATION_INFO, &[0]);
        push_vec16(&mut body, &block);
    }
    Ok(record(
        CONTENT_HANDSHAKE,
        spec.version.record_version(),
        &handshake(HANDSHAKE_CLIENT_HELLO, &body),
    ))
}

/// A TLS 1.3 ClientHello whose `key_share` is empty while `supported_groups` lists X25519,
/// secp256r1 and secp384r1: a TLS 1.3 server that supports one of them must answer with a
/// HelloRetryRequest naming the group it wants a share of (RFC 8446, section 4.1.1). It offers
/// only TLS 1.3 (`supported_versions`) and its three AES-GCM and ChaCha20 suites, so a server
/// without TLS 1.3 refuses it; no key is generated, so nothing can go past the answer.
///
/// `server_name` as in [`HelloSpec`]; `random` is the caller's.
pub fn retry_hello(server_name: Option<&str>, random: [u8; 32]) -> Result<Vec<u8>, BuildError> {
    let name = checked_server_name(server_name)?;
    let mut body = Vec::with_capacity(160);
    body.extend_from_slice(&ProbeVersion::Tls12.wire().to_be_bytes());
    body.extend_from_slice(&random);
    body.push(0); // No legacy session id: no middlebox compatibility mode is needed here.
    push_u16s(&mut body, TLS13_SUITES);
    body.extend_from_slice(&[1, 0]);
    let mut block = name_and_groups(name);
    push_signature_schemes(&mut block);
    // supported_versions: a one-byte length, then TLS 1.3 alone.
    push_extension(&mut block, EXT_SUPPORTED_VERSIONS, &[2, 0x03, 0x04]);
    // key_share: an empty list of client shares (a two-byte length of zero).
    push_extension(&mut block, EXT_KEY_SHARE, &[0, 0]);
    push_vec16(&mut body, &block);
    Ok(record(
        CONTENT_HANDSHAKE,
        ProbeVersion::Tls10.record_version(),
        &handshake(HANDSHAKE_CLIENT_HELLO, &body),
    ))
}

/// The server name a hello may carry: a DNS name, or none.
fn checked_server_name(name: Option<&str>) -> Result<Option<&str>, BuildError> {
    match name {
        Some(name) if is_dns_name(name) => Ok(Some(name)),
        Some(_) => Err(BuildError::InvalidServerName),
        None => Ok(None),
    }
}

/// The extension block's start that every probe hello shares: `server_name` when there is one,
/// then `supported_groups`.
fn name_and_groups(name: Option<&str>) -> Vec<u8> {
    let mut block = Vec::new();
    if let Some(name) = name {
        push_server_name(&mut block, name);
    }
    let mut groups = Vec::new();
    push_u16s(&mut groups, GROUPS);
    push_extension(&mut block, EXT_SUPPORTED_GROUPS, &groups);
    block
}

fn push_signature_schemes(block: &mut Vec<u8>) {
    let mut schemes = Vec::new();
    push_u16s(&mut schemes, SIGNATURE_SCHEMES);
    push_extension(block, EXT_SIGNATURE_ALGORITHMS, &schemes);
}

/// Every suite with `weakness` in the IANA registry's tables of [`crate::hello`], in code point
/// order, for a probe that offers only those. `TLS_NULL_WITH_NULL_NULL` is left out: it is the
/// state before a handshake, not a suite a server may choose.
pub fn weak_suites(weakness: Weakness) -> Vec<u16> {
    (0x0001..=0xfffe)
        .filter(|&suite| weakness.applies(suite))
        .collect()
}

/// What a server answered a hand-built hello with.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum ProbeReply {
    /// A ServerHello: the server chose a version and a suite.
    ServerHello(ServerHello),
    /// A TLS 1.3 HelloRetryRequest (its random is RFC 8446's special value): the server speaks
    /// TLS 1.3 and asks for a key share the probe never sends.
    HelloRetryRequest {
        /// The group its `key_share` extension asks for; `None` when it names none.
        group: Option<u16>,
    },
    /// An alert record.
    Alert {
        /// Whether the level is fatal (2); a warning (1) otherwise.
        fatal: bool,
        /// The description.
        description: Alert,
        /// The version of the alert's record (an old server answers in its own).
        record_version: u16,
    },
    /// The connection ended before a whole answer arrived.
    Closed {
        /// How many bytes had arrived.
        after: usize,
    },
    /// Text where TLS was due: the port speaks a plaintext protocol (or expects STARTTLS).
    Plaintext(PlaintextReply),
    /// Bytes that are neither a well-formed answer nor text.
    Garbage(Garbage),
}

/// What a ServerHello says.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub struct ServerHello {
    /// The version the server chose: `supported_versions` when present, else `server_version`.
    pub version: u16,
    /// The version of the record that carried it.
    pub record_version: u16,
    /// The cipher suite the server chose.
    pub cipher_suite: u16,
    /// The compression method the server chose (anything but 0 is CRIME-prone).
    pub compression: u8,
    /// Whether the session id is not empty: before TLS 1.3, the server can resume the session
    /// by its id (RFC 5246, section 7.4.1.3).
    pub session_id: bool,
    /// Whether the server answered the `session_ticket` extension: it will send a
    /// NewSessionTicket (RFC 5077, section 3.2).
    pub ticket: bool,
}

/// Why an answer is garbage.
#[derive(Clone, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum Garbage {
    /// Bytes that do not start a TLS record and are not text (escaped, at most
    /// [`reply::PREVIEW_LEN`] of them).
    NotTls(String),
    /// A TLS record of a content type other than handshake or alert came first.
    ContentType(u8),
    /// A record declares more than 2^14 bytes, or none.
    RecordLength(usize),
    /// The first handshake message is not a ServerHello (its type).
    Message(u8),
    /// A ServerHello or alert whose fields do not fit their lengths.
    Malformed,
    /// The first handshake message is longer than [`MAX_REPLY_LEN`] allows.
    TooLong,
}

impl ProbeReply {
    /// Whether the server accepted `version`: a ServerHello that chose exactly it. A server
    /// that answers an older version than offered refused the one offered (it would have
    /// chosen it otherwise); a newer one is a protocol violation, not an acceptance.
    pub fn accepts(&self, version: ProbeVersion) -> bool {
        matches!(self, Self::ServerHello(hello) if hello.version == version.wire())
    }

    /// The weaknesses of the suite a ServerHello chose (none for other answers).
    pub fn weaknesses(&self) -> Vec<Weakness> {
        match self {
            Self::ServerHello(hello) => crate::hello::weaknesses(hello.cipher_suite).collect(),
            _ => Vec::new(),
        }
    }
}

impl fmt::Display for ProbeReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServerHello(hello) => {
                match crate::hello::version_name(hello.version) {
                    Some(name) => write!(f, "server hello: {name}")?,
                    None => write!(f, "server hello: version {:#06x}", hello.version)?,
                }
                write!(f, ", suite {:#06x}", hello.cipher_suite)
            }
            Self::HelloRetryRequest { group: None } => f.write_str("hello retry request"),
            Self::HelloRetryRequest { group: Some(group) } => {
                write!(f, "hello retry request for group {group:#06x}")
            }
            Self::Alert {
                fatal, description, ..
            } => {
                let level = if *fatal { "fatal" } else { "warning" };
                write!(f, "{level} alert {description}")
            }
            Self::Closed { after: 0 } => f.write_str("closed without answering"),
            Self::Closed { after } => write!(f, "closed after {after} bytes of an answer"),
            Self::Plaintext(reply) => write!(f, "plaintext `{}`", reply.preview),
            Self::Garbage(garbage) => write!(f, "garbage: {garbage}"),
        }
    }
}

impl fmt::Display for Garbage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotTls(preview) => write!(f, "not tls (`{preview}`)"),
            Self::ContentType(kind) => write!(f, "record of content type {kind:#04x} first"),
            Self::RecordLength(len) => write!(f, "record length {len}"),
            Self::Message(kind) => write!(f, "handshake message of type {kind} first"),
            Self::Malformed => f.write_str("malformed server hello or alert"),
            Self::TooLong => f.write_str("first handshake message too long"),
        }
    }
}

/// Classifies what a server sent after a hand-built hello. `eof`: the server has closed (or the
/// caller stops reading), so an incomplete answer is final. Returns `None` when more bytes are
/// needed; never `None` when `eof` is true or when `bytes` holds [`MAX_REPLY_LEN`] or more.
///
/// The answer depends only on the bytes, not on how they were split across reads: a prefix of
/// an input gives `None` or the input's own answer.
pub fn classify(bytes: &[u8], eof: bool) -> Option<ProbeReply> {
    let bytes = bytes.get(..MAX_REPLY_LEN).unwrap_or(bytes);
    let full = bytes.len() == MAX_REPLY_LEN;
    let incomplete = |after: usize| match (eof, full) {
        (true, _) => Some(ProbeReply::Closed { after }),
        (false, true) => Some(ProbeReply::Garbage(Garbage::TooLong)),
        (false, false) => None,
    };
    match bytes {
        [] => return incomplete(0),
        [CONTENT_ALERT | CONTENT_HANDSHAKE] => return incomplete(1),
        [CONTENT_ALERT | CONTENT_HANDSHAKE, 3, ..] => {}
        _ => return not_tls(bytes, eof),
    }
    let mut records = Records { rest: bytes };
    let mut message: Vec<u8> = Vec::new();
    let mut first_version = None;
    loop {
        let record = match records.next() {
            Next::Record(record) => record,
            Next::Incomplete => return incomplete(bytes.len()),
            Next::BadLength(len) => return Some(ProbeReply::Garbage(Garbage::RecordLength(len))),
        };
        first_version.get_or_insert(record.version);
        if record.content_type == CONTENT_ALERT && message.is_empty() {
            return Some(alert(record));
        }
        if record.content_type != CONTENT_HANDSHAKE {
            return Some(ProbeReply::Garbage(Garbage::ContentType(
                record.content_type,
            )));
        }
        message.extend_from_slice(record.fragment);
        if let Some(&kind) = message.first()
            && kind != HANDSHAKE_SERVER_HELLO
        {
            return Some(ProbeReply::Garbage(Garbage::Message(kind)));
        }
        if let [_, a, b, c, ..] = message[..] {
            let declared = usize::from(a) << 16 | usize::from(b) << 8 | usize::from(c);
            if declared > MAX_REPLY_LEN {
                return Some(ProbeReply::Garbage(Garbage::TooLong));
            }
            if let Some(body) = message.get(4..4 + declared) {
                let version = first_version.unwrap_or_default();
                return Some(server_hello(body, version));
            }
        }
    }
}

/// An answer that is not an alert or handshake record: decided once its first line (or
/// [`reply::PREVIEW_LEN`] bytes) is there, so that the preview does not depend on the reads.
fn not_tls(bytes: &[u8], eof: bool) -> Option<ProbeReply> {
    let first = bytes.first().copied().unwrap_or_default();
    if bytes.len() < 2 && !eof && (0x14..=0x18).contains(&first) {
        return None;
    }
    if reply::looks_like_tls(bytes) {
        return Some(ProbeReply::Garbage(Garbage::ContentType(first)));
    }
    let settled = eof || bytes.len() >= reply::PREVIEW_LEN;
    match reply::classify(bytes) {
        FirstReply::Plaintext(text) => {
            let head = bytes.get(..reply::PREVIEW_LEN).unwrap_or(bytes);
            let line_ended = head.iter().any(|&b| b == b'\r' || b == b'\n');
            (settled || line_ended).then_some(ProbeReply::Plaintext(text))
        }
        FirstReply::Binary(preview) => {
            settled.then_some(ProbeReply::Garbage(Garbage::NotTls(preview)))
        }
        // Not reached for a non-empty input that does not start a record; named anyway.
        FirstReply::Nothing | FirstReply::Tls | FirstReply::EchoedClientHello => {
            settled.then_some(ProbeReply::Garbage(Garbage::NotTls(String::new())))
        }
    }
}

fn alert(record: Record<'_>) -> ProbeReply {
    match record.fragment {
        [level @ (1 | 2), description, ..] => ProbeReply::Alert {
            fatal: *level == 2,
            description: Alert(*description),
            record_version: record.version,
        },
        _ => ProbeReply::Garbage(Garbage::Malformed),
    }
}

/// The body of a ServerHello (RFC 5246, section 7.4.1.3; RFC 8446, section 4.1.3).
fn server_hello(body: &[u8], record_version: u16) -> ProbeReply {
    let mut reader = Reader { rest: body };
    let parsed = (|| {
        let legacy_version = reader.u16()?;
        let random = reader.take(32)?;
        let session_id = reader.vec_u8()?;
        if session_id.len() > 32 {
            return None;
        }
        let cipher_suite = reader.u16()?;
        let compression = reader.u8()?;
        let mut hello = ServerHello {
            version: legacy_version,
            record_version,
            cipher_suite,
            compression,
            session_id: !session_id.is_empty(),
            ticket: false,
        };
        let mut group = None;
        if !reader.rest.is_empty() {
            let mut extensions = Reader {
                rest: reader.vec_u16()?,
            };
            if !reader.rest.is_empty() {
                return None;
            }
            while !extensions.rest.is_empty() {
                let kind = extensions.u16()?;
                let data = extensions.vec_u16()?;
                match (kind, data) {
                    (EXT_SUPPORTED_VERSIONS, [a, b]) => {
                        hello.version = u16::from_be_bytes([*a, *b])
                    }
                    (EXT_SUPPORTED_VERSIONS, _) => return None,
                    (EXT_SESSION_TICKET, _) => hello.ticket = true,
                    // A HelloRetryRequest's key_share is the selected group alone; a
                    // ServerHello's starts with its group too.
                    (EXT_KEY_SHARE, [a, b, ..]) => group = Some(u16::from_be_bytes([*a, *b])),
                    _ => {}
                }
            }
        }
        Some((random == HELLO_RETRY_RANDOM, hello, group))
    })();
    match parsed {
        Some((true, _, group)) => ProbeReply::HelloRetryRequest { group },
        Some((false, hello, _)) => ProbeReply::ServerHello(hello),
        None => ProbeReply::Garbage(Garbage::Malformed),
    }
}

/// A ServerHello record choosing `version` and `cipher_suite` (no session id, null compression,
/// no extensions): what an old server answers a hello it accepts. The encoder of the tests and
/// of the mock server's legacy behaviours; it carries no key and continues nothing.
pub fn server_hello_record(version: u16, cipher_suite: u16, random: [u8; 32]) -> Vec<u8> {
    let body = crate::hello::legacy::server_hello_body(version, random, cipher_suite, false);
    // The record carries the chosen version up to TLS 1.2, and 1.2 for anything else (TLS 1.3,
    // or a value no version has): a record header of 3.x, whatever the body says.
    let record_version = if (0x0300..=0x0303).contains(&version) {
        version
    } else {
        0x0303
    };
    record(
        CONTENT_HANDSHAKE,
        record_version,
        &handshake(HANDSHAKE_SERVER_HELLO, &body),
    )
}

/// The suite an old server of `version` would choose from a ClientHello's list: the first one
/// that is not a signalling value. `None` when only signalling values are offered.
pub fn first_choosable_suite(cipher_suites: &[u16]) -> Option<u16> {
    cipher_suites.iter().copied().find(|&suite| {
        suite != RENEGOTIATION_SCSV && suite != FALLBACK_SCSV && !crate::hello::is_grease(suite)
    })
}

/// An alert record of `version`: `fatal` or a warning, with `description`.
pub fn alert_record(version: u16, fatal: bool, description: Alert) -> Vec<u8> {
    let level = if fatal { 2 } else { 1 };
    record(CONTENT_ALERT, version, &[level, description.0])
}

/// The command a STARTTLS probe pipelines after STARTTLS (or writes just before its
/// ClientHello): harmless and answered by every server of the dialect, so that an answer inside
/// TLS proves the plaintext bytes were processed as if protected (CVE-2011-0411 class). `None`
/// for `Framed`, `Implicit` and `Mysql`, which have no plaintext command to inject (a MySQL
/// command is valid only after a login).
pub fn injected_command(dialect: Dialect) -> Option<&'static [u8]> {
    match dialect {
        // RFC 959 section 5.1: NOOP is in every FTP server's minimum implementation.
        Dialect::Ftp | Dialect::Smtp | Dialect::Lmtp | Dialect::Pop3 => Some(b"NOOP\r\n"),
        // NNTP has no NOOP; HELP is mandatory (RFC 3977 section 7.2).
        Dialect::Nntp => Some(b"HELP\r\n"),
        Dialect::Imap => Some(b"X1 NOOP\r\n"),
        // RFC 2812 section 3.7.2: a server answers PING with PONG, registered or not.
        Dialect::Irc => Some(b"PING :streamsocket\r\n"),
        // NOOP with a tag string, which the answer must carry back (RFC 5804 section 2.14).
        Dialect::Sieve => Some(SIEVE_INJECTED),
        Dialect::Framed | Dialect::Implicit | Dialect::Mysql => None,
        // Not yet: what PostgreSQL would answer (AuthenticationOk, an ErrorResponse) is a typed
        // message, not the line `answers_injected` looks for.
        Dialect::Postgres => None,
    }
}

/// The STARTTLS command a probe sends a second time, inside TLS: a server that reset its
/// session refuses it (RFC 3207 section 4.2, RFC 3501 section 6.2.1, RFC 2595 section 4).
/// `None` for `Framed`, `Implicit` and `Mysql` (whose SSLRequest is valid only as the first
/// packet).
pub fn starttls_command(dialect: Dialect) -> Option<&'static [u8]> {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Nntp | Dialect::Sieve => Some(b"STARTTLS\r\n"),
        Dialect::Ftp => Some(b"AUTH TLS\r\n"),
        Dialect::Irc => Some(b"STARTTLS\r\n"),
        Dialect::Imap => Some(b"X2 STARTTLS\r\n"),
        Dialect::Pop3 => Some(b"STLS\r\n"),
        // A second SSLRequest: a server answers it with a FATAL ErrorResponse inside TLS.
        Dialect::Postgres => Some(&crate::starttls::client::SSL_REQUEST),
        Dialect::Framed | Dialect::Implicit | Dialect::Mysql => None,
    }
}

/// Whether the answer to [`starttls_command`] is a go-ahead: SMTP `220`, IMAP `X2 OK`, POP3
/// `+OK`, FTP `234`, IRC numeric `670` (notices and other numerics before it are skipped). `None` until the line that decides has arrived (IMAP's untagged lines are skipped);
/// only the first [`MAX_REPLY_LEN`] bytes are looked at.
pub fn starttls_accepted(dialect: Dialect, answer: &[u8]) -> Option<bool> {
    let answer = answer.get(..MAX_REPLY_LEN).unwrap_or(answer);
    if dialect == Dialect::Postgres {
        // One byte decides: `S`, and nothing else, is the go-ahead.
        return answer.first().map(|&byte| byte == b'S');
    }
    let mut lines = answer.split(|&b| b == b'\n');
    // The last piece has no line end yet (or is empty after the last one).
    let _ = lines.next_back();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let upper = line.to_ascii_uppercase();
        match dialect {
            Dialect::Smtp | Dialect::Lmtp => return Some(upper.starts_with(b"220")),
            Dialect::Nntp => return Some(upper.starts_with(b"382")),
            Dialect::Irc => {
                let mut words = upper.split(|&b| b == b' ').filter(|w| !w.is_empty());
                let mut command = words.next().unwrap_or_default();
                if command.starts_with(b":") {
                    command = words.next().unwrap_or_default();
                }
                match command {
                    b"670" => return Some(true),
                    [b'4' | b'5', _, _] | b"691" => return Some(false),
                    _ => {}
                }
            }
            // The first lines of a multi-line FTP reply (RFC 959 section 4.2) decide nothing.
            Dialect::Ftp if upper.get(3) == Some(&b'-') => {}
            Dialect::Ftp => {
                return Some(
                    upper.starts_with(b"234") && matches!(upper.get(3), None | Some(b' ')),
                );
            }
            Dialect::Pop3 => {
                return Some(
                    upper.starts_with(b"+OK") && matches!(upper.get(3), None | Some(b' ')),
                );
            }
            Dialect::Imap if upper.starts_with(b"* ") => {}
            Dialect::Imap => return Some(upper.starts_with(b"X2 OK")),
            // Capability lines (quoted strings) come before the response (RFC 5804 1.7).
            Dialect::Sieve if upper.starts_with(b"\"") => {}
            Dialect::Sieve => {
                return Some(upper.starts_with(b"OK") && matches!(upper.get(2), None | Some(b' ')));
            }
            Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {
                return Some(false);
            }
        }
    }
    None
}

/// The dialect a port speaks by convention, for an audit not told otherwise: SMTP on 25, 587
/// and 2525 (a common unprivileged submission port), IMAP on 143, POP3 on 110, NNTP on 119,
/// ManageSieve on 4190 (RFC 5804 section 1.8), PostgreSQL on 5432, MySQL on 3306, FTP on 21, IRC on 6667, and implicit TLS anywhere else (465, 993, 995, 563, 443, 990, ...).
pub fn default_dialect(port: u16) -> Dialect {
    match port {
        21 => Dialect::Ftp,
        6667 => Dialect::Irc,
        25 | 587 | 2525 => Dialect::Smtp,
        143 => Dialect::Imap,
        110 => Dialect::Pop3,
        119 => Dialect::Nntp,
        3306 => Dialect::Mysql,
        4190 => Dialect::Sieve,
        5432 => Dialect::Postgres,
        _ => Dialect::Implicit,
    }
}

/// Whether a capability list offers authentication to a client that has not secured the
/// connection (RFC 8314 section 3: credentials only over TLS): SMTP `AUTH` in the EHLO reply,
/// IMAP without `LOGINDISABLED` (or with an `AUTH=` mechanism), POP3 `USER` or `SASL` in CAPA.
pub fn auth_offered(dialect: Dialect, capabilities: &[String]) -> bool {
    let has = |name: &str| has_capability(capabilities, name);
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => has("AUTH"),
        Dialect::Imap => {
            let mechanism = capabilities.iter().any(|cap| {
                cap.get(..5)
                    .is_some_and(|head| head.eq_ignore_ascii_case("AUTH="))
            });
            mechanism || !has("LOGINDISABLED")
        }
        Dialect::Pop3 => has("USER") || has("SASL"),
        // RFC 4643 section 2.2: AUTHINFO lists USER or SASL.
        Dialect::Nntp => has("AUTHINFO") || has("SASL"),
        // RFC 5804 section 1.7: "SASL" with a non-empty list of mechanisms.
        Dialect::Sieve => capabilities.iter().any(|cap| {
            let mut words = cap.split_ascii_whitespace();
            words.next().is_some_and(|w| w.eq_ignore_ascii_case("SASL")) && words.next().is_some()
        }),
        // IRCv3: the `sasl` capability (a value lists its mechanisms).
        Dialect::Irc => capabilities
            .iter()
            .any(|cap| cap.split('=').next() == Some("sasl")),
        // FEAT lists no login: USER and PASS are RFC 959's own and always there, so the list
        // cannot tell (only the server's answer to USER could); PostgreSQL advertises nothing
        // before TLS.
        // A greeting's flags say nothing of whether a plaintext login would be accepted.
        Dialect::Ftp | Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => {
            false
        }
    }
}

/// Whether a capability list offers the dialect's STARTTLS (`STLS` in POP3): inside TLS, a
/// sign that the server did not reset its session state after the upgrade.
pub fn offers_starttls(dialect: Dialect, capabilities: &[String]) -> bool {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp | Dialect::Imap | Dialect::Nntp | Dialect::Sieve => {
            has_capability(capabilities, "STARTTLS")
        }
        Dialect::Pop3 => has_capability(capabilities, "STLS"),
        Dialect::Ftp => offers_auth_tls(capabilities),
        Dialect::Irc => offers_tls(capabilities),
        Dialect::Postgres | Dialect::Framed | Dialect::Implicit | Dialect::Mysql => false,
    }
}

/// The ManageSieve command of [`injected_command`], and the response code that its answer
/// carries (RFC 5804 section 2.14).
const SIEVE_INJECTED: &[u8] = b"NOOP \"STREAMSOCKET-INJECTED\"\r\n";
const SIEVE_INJECTED_TAG: &[u8] = b"(TAG \"STREAMSOCKET-INJECTED\")";

/// Whether bytes a server sent inside TLS, before the client said anything there, answer a
/// command: a complete line. A server owes nothing unprompted after STARTTLS (no greeting, RFC
/// 3207 section 4.2, RFC 3501 section 6.2.1, RFC 2595 section 4), so any line is the answer to
/// a command that arrived in plaintext. ManageSieve is the exception: its server re-sends its
/// capabilities unasked (RFC 5804 section 2.2), quoted lines closed by one response line, so
/// only a line after that response is an answer, and so is any line carrying the tag of
/// [`injected_command`] back. Only the first [`MAX_REPLY_LEN`] bytes are looked at; a prefix
/// that answers is never undone by more bytes.
pub fn answers_injected(dialect: Dialect, bytes: &[u8]) -> bool {
    let head = bytes.get(..MAX_REPLY_LEN).unwrap_or(bytes);
    if dialect != Dialect::Sieve {
        return head.contains(&b'\n');
    }
    let mut lines = head.split(|&b| b == b'\n');
    // The last piece has no line end yet (or is empty after the last one).
    let _ = lines.next_back();
    let mut owed = true;
    for line in lines {
        let upper = line.to_ascii_uppercase();
        if upper
            .windows(SIEVE_INJECTED_TAG.len())
            .any(|w| w == SIEVE_INJECTED_TAG)
        {
            return true;
        }
        if !owed {
            return true;
        }
        // A capability line is a quoted string; the first other line closes the list.
        owed = upper.first() == Some(&b'"');
    }
    false
}

/// The most bytes of a greeting [`greeting_host_name`] looks at (an SMTP line may be 512).
pub const MAX_GREETING_LEN: usize = 512;

/// The host name a plaintext greeting gives away before TLS (`220 mail.example.com ESMTP`):
/// the first word of its first line (after the reply code, split at spaces, brackets, angle
/// brackets, parentheses, commas, semicolons and `@`) that is a fully qualified DNS name (two
/// labels or more, the last one not numeric) or, in any case, `name`, the name audited. Version
/// numbers (`2.3.4`) and single words (`ESMTP`, `ready.`) are not names. Only the first
/// [`MAX_GREETING_LEN`] bytes are looked at.
pub fn greeting_host_name(greeting: &[u8], name: &str) -> Option<String> {
    let head = greeting.get(..MAX_GREETING_LEN).unwrap_or(greeting);
    let line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let separators = |c: char| c.is_whitespace() || "[]<>(),;@".contains(c);
    line.split(separators)
        .skip(1)
        .map(|word| word.strip_suffix('.').unwrap_or(word))
        .find(|word| {
            let qualified = word.contains('.')
                && word
                    .rsplit('.')
                    .next()
                    .is_some_and(|tld| tld.bytes().any(|b| b.is_ascii_alphabetic()));
            (qualified && is_dns_name(word))
                || (!word.is_empty() && word.eq_ignore_ascii_case(name))
        })
        .map(str::to_owned)
}

/// A DNS name as SNI may carry it: letters, digits, hyphens and dots, labels of 1 to 63 bytes,
/// at most 253 bytes, not all digits and dots (an IPv4 literal).
fn is_dns_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && !name.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

fn record(content_type: u8, version: u16, fragment: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + fragment.len());
    out.push(content_type);
    out.extend_from_slice(&version.to_be_bytes());
    push_vec16(&mut out, fragment);
    out
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    // Bodies here are built from bounded parts (at most MAX_SUITES suites): well below 2^24.
    let len = u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes();
    let mut out = vec![kind, len[1], len[2], len[3]];
    out.extend_from_slice(body);
    out
}

/// A `server_name` extension with one `host_name` entry.
fn push_server_name(block: &mut Vec<u8>, name: &str) {
    let mut entry = vec![0];
    push_vec16(&mut entry, name.as_bytes());
    let mut list = Vec::new();
    push_vec16(&mut list, &entry);
    push_extension(block, EXT_SERVER_NAME, &list);
}

fn push_extension(block: &mut Vec<u8>, kind: u16, data: &[u8]) {
    block.extend_from_slice(&kind.to_be_bytes());
    push_vec16(block, data);
}

/// A vector with a two-byte length. Callers pass at most a record's worth of bytes.
fn push_vec16(out: &mut Vec<u8>, data: &[u8]) {
    let len = u16::try_from(data.len()).unwrap_or(u16::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(data.get(..usize::from(len)).unwrap_or(data));
}

fn push_u16s(out: &mut Vec<u8>, values: &[u16]) {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
    push_vec16(out, &bytes);
}

struct Record<'a> {
    content_type: u8,
    version: u16,
    fragment: &'a [u8],
}

enum Next<'a> {
    Record(Record<'a>),
    Incomplete,
    BadLength(usize),
}

struct Records<'a> {
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    fn next(&mut self) -> Next<'a> {
        let Some(&[content_type, major, minor, high, low]) = self.rest.first_chunk::<5>() else {
            return Next::Incomplete;
        };
        let len = usize::from(u16::from_be_bytes([high, low]));
        if len == 0 || len > MAX_FRAGMENT {
            return Next::BadLength(len);
        }
        let Some(fragment) = self.rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else {
            return Next::Incomplete;
        };
        self.rest = self.rest.get(RECORD_HEADER_LEN + len..).unwrap_or_default();
        Next::Record(Record {
            content_type,
            version: u16::from_be_bytes([major, minor]),
            fragment,
        })
    }
}

/// A cursor over bytes that never reads past the end.
struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let head = self.rest.get(..n)?;
        self.rest = self.rest.get(n..).unwrap_or_default();
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).and_then(|b| b.first().copied())
    }

    fn u16(&mut self) -> Option<u16> {
        let bytes = self.take(2)?;
        Some(u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]))
    }

    fn vec_u8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }

    fn vec_u16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
}

#[cfg(test)]
mod tests;
