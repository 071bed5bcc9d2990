//! The first flight of an SSL 3.0, TLS 1.0 or TLS 1.1 server, built by hand, and the client's
//! answer to it, classified.
//!
//! A server that speaks only an old version answers a modern ClientHello with a ServerHello of
//! its own version (RFC 5246 appendix E.1): it is the client that must refuse, with a
//! `protocol_version` alert (RFC 8996 forbids these versions). [`server_flight`] builds what
//! such a server sends: ServerHello, Certificate and ServerHelloDone. It picks an RSA
//! key-exchange suite when the client offered one, so that a client that takes the old version
//! answers at once with its ClientKeyExchange; [`classify_answer`] reads that answer.
//!
//! No key is used and nothing is negotiated past these three messages: no legacy cryptography
//! is here, only the bytes that show whether a client goes on.
//!
//! ```
//! use streamsocket_proto::hello::legacy::{self, Answer};
//! use streamsocket_proto::alert::Alert;
//!
//! assert_eq!(
//!     legacy::classify_answer(&[0x15, 3, 1, 0, 2, 2, 70]),
//!     Some(Answer::Alert(Alert(70)))
//! );
//! assert_eq!(
//!     legacy::classify_answer(&[0x16, 3, 1, 0, 0x86, 16]),
//!     Some(Answer::Handshake(16))
//! );
//! assert_eq!(legacy::classify_answer(&[0x16, 3]), None);
//! ```

use std::fmt;

use super::{ClientHello, MAX_FRAGMENT, is_grease};
use crate::alert::Alert;

/// The `renegotiation_info` extension (RFC 5746); answered empty when the client sent it or
/// its signalling suite, as clients that require secure renegotiation (OpenSSL 3) insist.
const EXT_RENEGOTIATION_INFO: u16 = 0xff01;
/// `TLS_EMPTY_RENEGOTIATION_INFO_SCSV`.
const SCSV_RENEGOTIATION: u16 = 0x00ff;
/// `TLS_FALLBACK_SCSV` (RFC 7507).
const SCSV_FALLBACK: u16 = 0x5600;
/// RSA key-exchange suites (`TLS_RSA_WITH_AES_128_CBC_SHA`, `..._AES_256_CBC_SHA`,
/// `..._3DES_EDE_CBC_SHA`): with one of them no ServerKeyExchange is due, so a client that
/// takes the version sends its ClientKeyExchange right after the ServerHelloDone.
const RSA_KEY_EXCHANGE: [u16; 3] = [0x002f, 0x0035, 0x000a];

const CONTENT_CHANGE_CIPHER_SPEC: u8 = 0x14;
const CONTENT_ALERT: u8 = 0x15;
const CONTENT_HANDSHAKE: u8 = 0x16;
const CONTENT_APPLICATION_DATA: u8 = 0x17;
const HANDSHAKE_SERVER_HELLO: u8 = 2;
const HANDSHAKE_CERTIFICATE: u8 = 11;
const HANDSHAKE_SERVER_HELLO_DONE: u8 = 14;
/// The largest value of a 24-bit length.
const MAX_U24: usize = (1 << 24) - 1;

/// The versions this module answers as: SSL 3.0, TLS 1.0, TLS 1.1.
pub const LEGACY_VERSIONS: [u16; 3] = [0x0300, 0x0301, 0x0302];

/// The suite a legacy server picks from what the client offered: an RSA key-exchange suite when
/// there is one, otherwise the first suite that an old version can use (not a TLS 1.3 suite,
/// a signalling value or GREASE); `None` when the client offered only TLS 1.3 suites.
pub fn choose_suite(hello: &ClientHello) -> Option<u16> {
    RSA_KEY_EXCHANGE
        .into_iter()
        .find(|suite| hello.cipher_suites.contains(suite))
        .or_else(|| {
            hello.cipher_suites.iter().copied().find(|&suite| {
                suite >> 8 != 0x13
                    && suite != SCSV_RENEGOTIATION
                    && suite != SCSV_FALLBACK
                    && !is_grease(suite)
            })
        })
}

/// Why no flight could be built.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
pub enum FlightError {
    /// The version is not SSL 3.0, TLS 1.0 or TLS 1.1.
    #[error("{0:#06x} is not a legacy version")]
    NotLegacy(u16),
    /// The client offered no suite an old version can use.
    #[error("the client offered no suite an old version can use")]
    NoSuite,
    /// The certificate chain is empty, or a certificate or the chain does not fit a 24-bit
    /// length.
    #[error("the certificate chain is empty or too long for a Certificate message")]
    Chain,
}

/// ServerHello, Certificate and ServerHelloDone of a `version` server answering `hello`, each
/// in handshake records of that version (fragmented at 2^14 bytes). `random` is the
/// ServerHello's random (pass fresh bytes; it is a parameter so that this stays free of I/O).
///
/// # Errors
///
/// [`FlightError`] when `version` is not a legacy one, the client offered no usable suite or
/// the chain cannot be encoded.
pub fn server_flight(
    version: u16,
    hello: &ClientHello,
    random: [u8; 32],
    chain: &[&[u8]],
) -> Result<Vec<u8>, FlightError> {
    if !LEGACY_VERSIONS.contains(&version) {
        return Err(FlightError::NotLegacy(version));
    }
    let suite = choose_suite(hello).ok_or(FlightError::NoSuite)?;
    let total: usize = chain.iter().map(|c| c.len() + 3).sum();
    if chain.is_empty() || total > MAX_U24 {
        return Err(FlightError::Chain);
    }

    let secure_renegotiation = hello.has_extension(EXT_RENEGOTIATION_INFO)
        || hello.cipher_suites.contains(&SCSV_RENEGOTIATION);
    let server_hello = server_hello_body(version, random, suite, secure_renegotiation);

    let mut certificate = Vec::with_capacity(total + 3);
    push_u24(&mut certificate, total);
    for cert in chain {
        push_u24(&mut certificate, cert.len());
        certificate.extend_from_slice(cert);
    }

    let mut messages = Vec::with_capacity(server_hello.len() + certificate.len() + 12);
    for (kind, body) in [
        (HANDSHAKE_SERVER_HELLO, &server_hello[..]),
        (HANDSHAKE_CERTIFICATE, &certificate[..]),
        (HANDSHAKE_SERVER_HELLO_DONE, &[][..]),
    ] {
        messages.push(kind);
        push_u24(&mut messages, body.len());
        messages.extend_from_slice(body);
    }

    let mut out = Vec::with_capacity(messages.len() + 5 * (messages.len() / MAX_FRAGMENT + 1));
    for fragment in messages.chunks(MAX_FRAGMENT) {
        out.push(CONTENT_HANDSHAKE);
        out.extend_from_slice(&version.to_be_bytes());
        // A fragment is at most 2^14 bytes: it fits the record's 16-bit length.
        out.extend_from_slice(&(fragment.len() as u16).to_be_bytes());
        out.extend_from_slice(fragment);
    }
    Ok(out)
}

/// The body of a ServerHello choosing `version` and `suite`: no session id (nothing will be
/// resumed), null compression, and no extensions but an empty `renegotiation_info` when
/// `secure_renegotiation`. The one ServerHello encoder of layer 1 (`probe` uses it too).
pub(crate) fn server_hello_body(
    version: u16,
    random: [u8; 32],
    suite: u16,
    secure_renegotiation: bool,
) -> Vec<u8> {
    let mut body = Vec::with_capacity(45);
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&random);
    body.push(0); // no session id
    body.extend_from_slice(&suite.to_be_bytes());
    body.push(0); // compression: null
    if secure_renegotiation {
        // extensions: renegotiation_info, one byte of body: an empty renegotiated_connection
        body.extend_from_slice(&[0, 5]);
        body.extend_from_slice(&EXT_RENEGOTIATION_INFO.to_be_bytes());
        body.extend_from_slice(&[0, 1, 0]);
    }
    body
}

/// The low three bytes of `len`, which the callers have checked fits them.
fn push_u24(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
}

/// What a client answered a legacy server's flight with: the first record it sent back.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub enum Answer {
    /// An alert: `protocol_version` is the refusal RFC 8996 asks for.
    Alert(Alert),
    /// A handshake message of this type (16, ClientKeyExchange; 11, Certificate): the client
    /// took the old version and went on.
    Handshake(u8),
    /// ChangeCipherSpec: the client went on.
    ChangeCipherSpec,
    /// Application data before any handshake completed.
    ApplicationData,
    /// A first byte that is no TLS content type, or a record too short to say what it holds.
    NotTls,
}

impl Answer {
    /// Whether this answer means the client went on with the old version's handshake.
    pub fn continued(self) -> bool {
        matches!(
            self,
            Self::Handshake(_) | Self::ChangeCipherSpec | Self::ApplicationData
        )
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Alert(alert) => write!(f, "alert:{alert}"),
            Self::Handshake(11) => f.write_str("certificate"),
            Self::Handshake(15) => f.write_str("certificate-verify"),
            Self::Handshake(16) => f.write_str("client-key-exchange"),
            Self::Handshake(20) => f.write_str("finished"),
            Self::Handshake(kind) => write!(f, "handshake({kind})"),
            Self::ChangeCipherSpec => f.write_str("change-cipher-spec"),
            Self::ApplicationData => f.write_str("application-data"),
            Self::NotTls => f.write_str("not-tls"),
        }
    }
}

impl Answer {
    /// Reads back what [`Display`](fmt::Display) wrote.
    pub fn from_display(s: &str) -> Option<Self> {
        if let Some(alert) = s.strip_prefix("alert:") {
            return Alert::from_display(alert).map(Self::Alert);
        }
        let named = match s {
            "certificate" => Some(Self::Handshake(11)),
            "certificate-verify" => Some(Self::Handshake(15)),
            "client-key-exchange" => Some(Self::Handshake(16)),
            "finished" => Some(Self::Handshake(20)),
            "change-cipher-spec" => Some(Self::ChangeCipherSpec),
            "application-data" => Some(Self::ApplicationData),
            "not-tls" => Some(Self::NotTls),
            _ => None,
        };
        named.or_else(|| {
            let kind: u8 = s
                .strip_prefix("handshake(")?
                .strip_suffix(')')?
                .parse()
                .ok()?;
            // A named type is written by its name only.
            (!matches!(kind, 11 | 15 | 16 | 20)).then_some(Self::Handshake(kind))
        })
    }
}

/// Classifies the first bytes a client sent after the flight; `None` while too few bytes have
/// arrived to tell. Reads at most the first seven bytes (an alert's description is the
/// seventh).
pub fn classify_answer(bytes: &[u8]) -> Option<Answer> {
    let (&content, rest) = bytes.split_first()?;
    let known = [
        CONTENT_CHANGE_CIPHER_SPEC,
        CONTENT_ALERT,
        CONTENT_HANDSHAKE,
        CONTENT_APPLICATION_DATA,
    ];
    if !known.contains(&content) {
        return Some(Answer::NotTls);
    }
    let header = rest.get(..4)?;
    if header[0] != 3 {
        return Some(Answer::NotTls);
    }
    let len = u16::from_be_bytes([header[2], header[3]]);
    match content {
        CONTENT_CHANGE_CIPHER_SPEC => Some(Answer::ChangeCipherSpec),
        CONTENT_APPLICATION_DATA => Some(Answer::ApplicationData),
        // An alert is two bytes (level, description); a handshake message at least its type.
        CONTENT_ALERT if len < 2 => Some(Answer::NotTls),
        CONTENT_ALERT => rest
            .get(5)
            .map(|&description| Answer::Alert(Alert(description))),
        _ if len == 0 => Some(Answer::NotTls),
        _ => rest.get(4).map(|&kind| Answer::Handshake(kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::{messages, records};
    use super::*;

    fn hello(suites: &[u16], extensions: &[u16]) -> ClientHello {
        ClientHello {
            legacy_version: 0x0303,
            cipher_suites: suites.to_vec(),
            extensions: extensions.to_vec(),
            ..ClientHello::default()
        }
    }

    #[test]
    fn an_rsa_key_exchange_suite_is_preferred_and_tls13_suites_never_chosen() {
        let offer = hello(&[0x1301, 0x0a0a, 0xc02b, 0x0035, 0x00ff], &[]);
        assert_eq!(choose_suite(&offer), Some(0x0035));
        let no_rsa = hello(&[0x1302, 0x5600, 0x2a2a, 0xc02f], &[]);
        assert_eq!(choose_suite(&no_rsa), Some(0xc02f));
        let modern_only = hello(&[0x1301, 0x1302, 0x00ff], &[]);
        assert_eq!(choose_suite(&modern_only), None);
        assert_eq!(
            server_flight(0x0301, &modern_only, [0; 32], &[b"c"]),
            Err(FlightError::NoSuite)
        );
    }

    #[test]
    fn the_flight_is_server_hello_certificate_done_in_records_of_the_version() {
        for version in LEGACY_VERSIONS {
            let offer = hello(&[0xc02b, 0x002f], &[EXT_RENEGOTIATION_INFO]);
            let chain: [&[u8]; 2] = [&[1; 300], &[2; 20_000]];
            let flight = server_flight(version, &offer, [7; 32], &chain).unwrap();
            let recs = records(&flight);
            // 20 kB of certificates do not fit one record.
            assert!(recs.len() >= 2);
            assert!(
                recs.iter()
                    .all(|r| r.0 == CONTENT_HANDSHAKE && r.1 == version)
            );
            let msgs = messages(&flight);
            let kinds: Vec<u8> = msgs.iter().map(|m| m.0).collect();
            assert_eq!(kinds, [2, 11, 14]);
            let server_hello = &msgs[0].1;
            assert_eq!(server_hello[..2], version.to_be_bytes());
            assert_eq!(server_hello[2..34], [7; 32]);
            assert_eq!(server_hello[34], 0, "no session id");
            assert_eq!(server_hello[35..37], [0x00, 0x2f]);
            assert_eq!(server_hello[37], 0, "null compression");
            assert_eq!(server_hello[38..], [0, 5, 0xff, 0x01, 0, 1, 0]);
            let cert = &msgs[1].1;
            assert_eq!(
                cert[..3],
                [0, (20_306u32 >> 8) as u8, (20_306u32 & 0xff) as u8]
            );
            assert_eq!(cert[3..6], [0, 1, 44]);
            assert_eq!(cert[6..306], [1; 300]);
            assert!(msgs[2].1.is_empty());
        }
    }

    #[test]
    fn a_chain_fits_the_certificate_message_up_to_its_24_bit_length() {
        let offer = hello(&[0x002f], &[]);
        // Each certificate carries a 3-byte length: a total of 2^24 - 1 is the largest.
        let largest = vec![0u8; MAX_U24 - 3];
        assert!(server_flight(0x0301, &offer, [0; 32], &[&largest]).is_ok());
        let one_more = vec![0u8; MAX_U24 - 2];
        assert_eq!(
            server_flight(0x0301, &offer, [0; 32], &[&one_more]),
            Err(FlightError::Chain)
        );
    }

    #[test]
    fn renegotiation_info_is_answered_only_when_asked_for() {
        let plain = hello(&[0x002f], &[]);
        let flight = server_flight(0x0302, &plain, [0; 32], &[b"cert"]).unwrap();
        assert_eq!(messages(&flight)[0].1.len(), 38, "no extensions block");
        let scsv = hello(&[0x002f, 0x00ff], &[]);
        let flight = server_flight(0x0302, &scsv, [0; 32], &[b"cert"]).unwrap();
        assert_eq!(messages(&flight)[0].1[38..], [0, 5, 0xff, 0x01, 0, 1, 0]);
    }

    #[test]
    fn modern_versions_and_empty_chains_are_refused() {
        let offer = hello(&[0x002f], &[]);
        for version in [0x0303, 0x0304, 0x0200, 0x0000] {
            assert_eq!(
                server_flight(version, &offer, [0; 32], &[b"c"]),
                Err(FlightError::NotLegacy(version))
            );
        }
        assert_eq!(
            server_flight(0x0301, &offer, [0; 32], &[]),
            Err(FlightError::Chain)
        );
    }

    #[test]
    fn answers_are_classified_from_their_first_record() {
        assert_eq!(classify_answer(&[]), None);
        assert_eq!(classify_answer(&[0x15, 3, 1, 0, 2, 2]), None);
        assert_eq!(
            classify_answer(&[0x15, 3, 3, 0, 2, 2, 70]),
            Some(Answer::Alert(Alert(70)))
        );
        assert_eq!(
            classify_answer(&[0x15, 3, 1, 0, 1, 2]),
            Some(Answer::NotTls)
        );
        assert_eq!(
            classify_answer(&[0x16, 3, 1, 1, 6, 16, 0, 1, 2]),
            Some(Answer::Handshake(16))
        );
        assert_eq!(
            classify_answer(&[0x16, 3, 1, 0, 0, 16]),
            Some(Answer::NotTls)
        );
        assert_eq!(
            classify_answer(&[0x14, 3, 1, 0, 1]),
            Some(Answer::ChangeCipherSpec)
        );
        assert_eq!(
            classify_answer(&[0x17, 3, 1, 0, 9]),
            Some(Answer::ApplicationData)
        );
        assert_eq!(classify_answer(b"QUIT\r\n"), Some(Answer::NotTls));
        assert_eq!(
            classify_answer(&[0x16, 4, 1, 0, 9, 16]),
            Some(Answer::NotTls)
        );
        assert!(Answer::Handshake(16).continued());
        assert!(Answer::ChangeCipherSpec.continued());
        assert!(!Answer::Alert(Alert(70)).continued());
        assert!(!Answer::NotTls.continued());
        assert_eq!(Answer::Handshake(16).to_string(), "client-key-exchange");
        let mut all: Vec<Answer> = (0..=u8::MAX).map(|c| Answer::Alert(Alert(c))).collect();
        all.extend((0..=u8::MAX).map(Answer::Handshake));
        all.extend([
            Answer::ChangeCipherSpec,
            Answer::ApplicationData,
            Answer::NotTls,
        ]);
        for answer in all {
            assert_eq!(
                Answer::from_display(&answer.to_string()),
                Some(answer),
                "{answer}"
            );
        }
        assert_eq!(
            Answer::from_display("handshake(16)"),
            None,
            "written by its name"
        );
        assert_eq!(
            Answer::Alert(Alert(70)).to_string(),
            "alert:protocol_version"
        );
    }
}

#[cfg(test)]
mod tests_support {
    use super::MAX_FRAGMENT;

    /// Splits a flight into its records' (content type, version, fragment), checking each
    /// header's length against what follows.
    pub(super) fn records(mut bytes: &[u8]) -> Vec<(u8, u16, Vec<u8>)> {
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let len = usize::from(u16::from_be_bytes([bytes[3], bytes[4]]));
            assert!(len <= MAX_FRAGMENT);
            out.push((
                bytes[0],
                u16::from_be_bytes([bytes[1], bytes[2]]),
                bytes[5..5 + len].to_vec(),
            ));
            bytes = &bytes[5 + len..];
        }
        out
    }

    /// The handshake messages of a flight as (type, body).
    pub(super) fn messages(flight: &[u8]) -> Vec<(u8, Vec<u8>)> {
        let joined: Vec<u8> = records(flight).into_iter().flat_map(|r| r.2).collect();
        let mut rest = &joined[..];
        let mut out = Vec::new();
        while !rest.is_empty() {
            let len = u32::from_be_bytes([0, rest[1], rest[2], rest[3]]) as usize;
            out.push((rest[0], rest[4..4 + len].to_vec()));
            rest = &rest[4 + len..];
        }
        out
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever the offer and the chain, the flight holds exactly the planted chain, a suite
        /// the client offered that an old version can use, and records of the version.
        #[test]
        fn the_flight_holds_what_was_planted(
            version in proptest::sample::select(LEGACY_VERSIONS.to_vec()),
            suites in proptest::collection::vec(any::<u16>(), 0..40),
            chain in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..9000), 1..4),
            random in any::<[u8; 32]>(),
        ) {
            let offer = ClientHello { cipher_suites: suites.clone(), ..ClientHello::default() };
            let refs: Vec<&[u8]> = chain.iter().map(Vec::as_slice).collect();
            match server_flight(version, &offer, random, &refs) {
                Err(FlightError::NoSuite) => {
                    prop_assert!(suites.iter().all(|&s| s >> 8 == 0x13 || s == SCSV_RENEGOTIATION
                        || s == SCSV_FALLBACK || is_grease(s)));
                }
                Err(other) => prop_assert!(false, "{other}"),
                Ok(flight) => {
                    let recs = tests_support::records(&flight);
                    prop_assert!(recs.iter().all(|r| r.0 == CONTENT_HANDSHAKE && r.1 == version));
                    let msgs = tests_support::messages(&flight);
                    prop_assert_eq!(msgs.len(), 3);
                    let suite = u16::from_be_bytes([msgs[0].1[35], msgs[0].1[36]]);
                    prop_assert!(suites.contains(&suite));
                    prop_assert!(suite >> 8 != 0x13 && !is_grease(suite));
                    prop_assert_eq!(&msgs[0].1[2..34], &random[..]);
                    // The Certificate message: a 24-bit total, then each planted certificate.
                    let mut body = &msgs[1].1[3..];
                    for cert in &chain {
                        let len = u32::from_be_bytes([0, body[0], body[1], body[2]]) as usize;
                        prop_assert_eq!(&body[3..3 + len], &cert[..]);
                        body = &body[3 + len..];
                    }
                    prop_assert!(body.is_empty());
                }
            }
        }

        /// Any bytes: no panic, and an answer as soon as seven bytes are there.
        #[test]
        fn any_answer_is_classified_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..12)) {
            let answer = classify_answer(&bytes);
            if bytes.len() >= 7 {
                prop_assert!(answer.is_some());
            }
            if let Some(Answer::Alert(alert)) = answer {
                prop_assert_eq!(bytes[0], CONTENT_ALERT);
                prop_assert_eq!(alert.0, bytes[6]);
            }
        }
    }
}
