//! The byte-level parts of the hostile behaviours that answer a ClientHello without TLS code.

use proto::hello::legacy::{self, Answer};
use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::config::LegacyVersion;

/// TLS record header: content type, version (2), length (2).
const RECORD_HEADER_LEN: usize = 5;
/// Largest plaintext record payload (RFC 8446 section 5.1); a ClientHello record is one.
const MAX_RECORD_PAYLOAD: usize = 1 << 14;
/// Content type of handshake records.
const HANDSHAKE: u8 = 0x16;
/// Content type of alert records.
const ALERT: u8 = 0x15;
/// Alert level `fatal`.
const FATAL: u8 = 2;
/// Alert description `protocol_version` (70).
const PROTOCOL_VERSION: u8 = 70;

/// What reading the first record gave.
#[derive(Debug, Eq, PartialEq)]
pub(crate) enum FirstRecord {
    /// A whole handshake record was read (presumably the ClientHello): the record.
    ClientHello(Vec<u8>),
    /// The peer closed before a whole record arrived.
    Eof,
    /// The bytes are not a TLS handshake record (or announce an oversized one).
    NotTls,
}

/// Reads until `buf` (which starts with the bytes already read) holds one whole TLS record.
///
/// Memory is bounded: at most a header plus 2^14 payload bytes are kept.
pub(crate) async fn read_first_record(
    io: &mut (impl AsyncRead + Unpin),
    mut buf: Vec<u8>,
) -> std::io::Result<FirstRecord> {
    let mut chunk = [0u8; 1024];
    loop {
        if buf.first().is_some_and(|&first| first != HANDSHAKE) {
            return Ok(FirstRecord::NotTls);
        }
        if let Some(header) = buf.get(..RECORD_HEADER_LEN) {
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if len > MAX_RECORD_PAYLOAD {
                return Ok(FirstRecord::NotTls);
            }
            if buf.len() >= RECORD_HEADER_LEN + len {
                buf.truncate(RECORD_HEADER_LEN + len);
                return Ok(FirstRecord::ClientHello(buf));
            }
        }
        let want = match buf.len() {
            n if n < RECORD_HEADER_LEN => RECORD_HEADER_LEN - n,
            // Checked above: the header is there and announces at most 2^14 bytes.
            n => RECORD_HEADER_LEN + MAX_RECORD_PAYLOAD - n,
        };
        let limit = want.min(chunk.len());
        let n = io.read(&mut chunk[..limit]).await?;
        if n == 0 {
            return Ok(FirstRecord::Eof);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The record an old server sends to a client offering only newer versions: a fatal
/// `protocol_version` alert with the old record version.
pub(crate) fn protocol_version_alert(version: LegacyVersion) -> [u8; 7] {
    let [major, minor] = version.record_version();
    [ALERT, major, minor, 0, 2, FATAL, PROTOCOL_VERSION]
}

/// What an old server of `version` answers the first record of a ClientHello with: a
/// ServerHello of that version choosing the client's first suite when the client offers the
/// version explicitly (its `client_version`, or its `supported_versions`), as a server that
/// accepts it would; otherwise the `protocol_version` alert. Nothing follows the ServerHello:
/// the server has no key, and closes.
pub(crate) fn legacy_answer(version: LegacyVersion, record: &[u8]) -> Vec<u8> {
    let [major, minor] = version.record_version();
    let wire = u16::from_be_bytes([major, minor]);
    let offered = proto::hello::parse(record).ok().and_then(|hello| {
        let offers = hello.offered_versions().any(|v| v == wire);
        offers
            .then(|| proto::probe::first_choosable_suite(&hello.cipher_suites))
            .flatten()
    });
    match offered {
        // The random is fixed: nothing is negotiated that it could protect.
        Some(suite) => proto::probe::server_hello_record(wire, suite, [0x4f; 32]),
        None => protocol_version_alert(version).to_vec(),
    }
}

/// What an old server that negotiates down sends: its ServerHello, the server's own chain
/// and ServerHelloDone (`proto::hello::legacy`); `None` when the ClientHello cannot be read or
/// offers no suite an old version can use (the caller then sends the alert).
pub(crate) fn legacy_flight(
    version: LegacyVersion,
    client_hello: &[u8],
    chain: &[CertificateDer<'static>],
) -> Option<Vec<u8>> {
    let hello = proto::hello::parse(client_hello).ok()?;
    let chain: Vec<&[u8]> = chain.iter().map(|c| c.as_ref()).collect();
    let version = u16::from_be_bytes(version.record_version());
    // A ServerHello random must not repeat; a failed source leaves zeros, which only a
    // client that checks for a downgrade sentinel (it is not one) would look at.
    let mut random = [0u8; 32];
    let _ = rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut random);
    legacy::server_flight(version, &hello, random, &chain).ok()
}

/// Reads the client's answer to a legacy flight: its first record, classified from at most
/// seven bytes; `None` when it closed first.
pub(crate) async fn read_legacy_answer(
    io: &mut (impl AsyncRead + Unpin),
) -> std::io::Result<Option<Answer>> {
    let mut buf = [0u8; 7];
    let mut len = 0;
    loop {
        if let Some(answer) = legacy::classify_answer(&buf[..len]) {
            return Ok(Some(answer));
        }
        let n = io.read(&mut buf[len..]).await?;
        if n == 0 {
            return Ok(None);
        }
        len += n;
    }
}

/// The bytes a client sent after the go-ahead, walked record by record: TLS records (any content
/// type, version 3.x) are skipped, and the first byte at a record boundary that starts none
/// begins plaintext. At most [`MAX_WALKED`] bytes are kept while undecided.
#[derive(Debug)]
pub(crate) struct TlsRecords {
    pending: Vec<u8>,
    /// Set once plaintext began: the bytes from there on, handed out once.
    plaintext: Option<Vec<u8>>,
    given: bool,
}

/// The most bytes kept while the walk has not found plaintext: beyond them the rest is not
/// looked at (a client sending that much TLS to a stalled server is not falling back).
pub(crate) const MAX_WALKED: usize = 64 * 1024;

impl TlsRecords {
    pub(crate) fn new(first: Vec<u8>) -> Self {
        let mut walk = Self {
            pending: Vec::new(),
            plaintext: None,
            given: false,
        };
        walk.push(&first);
        walk
    }

    /// Adds bytes read after those already pushed.
    pub(crate) fn push(&mut self, data: &[u8]) {
        if self.plaintext.is_some() {
            return;
        }
        let room = MAX_WALKED.saturating_sub(self.pending.len());
        self.pending
            .extend_from_slice(&data[..data.len().min(room)]);
        let mut at = 0;
        while let Some(&content) = self.pending.get(at) {
            if !(0x14..=0x17).contains(&content)
                || self.pending.get(at + 1).is_some_and(|&major| major != 3)
            {
                self.plaintext = Some(self.pending.split_off(at));
                self.pending.clear();
                return;
            }
            let Some(header) = self.pending.get(at..at + RECORD_HEADER_LEN) else {
                break;
            };
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            if self.pending.len() < at + RECORD_HEADER_LEN + len {
                break;
            }
            at += RECORD_HEADER_LEN + len;
        }
        // Whole records are done with; an unfinished one stays.
        self.pending.drain(..at);
    }

    /// Whether plaintext began: every later byte is plaintext.
    pub(crate) fn in_plaintext(&self) -> bool {
        self.plaintext.is_some()
    }

    /// The plaintext found, the first time it is asked for after it began.
    pub(crate) fn plaintext(&mut self) -> Option<Vec<u8>> {
        if self.given {
            return None;
        }
        let found = self.plaintext.clone()?;
        self.given = true;
        Some(found)
    }
}

/// Bytes that no TLS client can take for a ServerHello.
pub(crate) const GARBAGE: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_record_split_over_reads_is_read_whole() {
        let mut record = vec![HANDSHAKE, 3, 1, 0, 3, 1, 2, 3];
        let rest: &[u8] = &record.split_off(2);
        let mut rest = rest;
        let got = read_first_record(&mut rest, record).await.unwrap();
        assert_eq!(
            got,
            FirstRecord::ClientHello(vec![HANDSHAKE, 3, 1, 0, 3, 1, 2, 3])
        );
    }

    #[tokio::test]
    async fn non_tls_and_short_inputs_are_told_apart() {
        let mut empty: &[u8] = b"";
        assert_eq!(
            read_first_record(&mut empty, b"EHLO".to_vec())
                .await
                .unwrap(),
            FirstRecord::NotTls
        );
        let mut short: &[u8] = &[0x16, 3, 1, 0, 10, 1];
        assert_eq!(
            read_first_record(&mut short, Vec::new()).await.unwrap(),
            FirstRecord::Eof
        );
        let mut huge: &[u8] = &[0x16, 3, 1, 0xff, 0xff];
        assert_eq!(
            read_first_record(&mut huge, Vec::new()).await.unwrap(),
            FirstRecord::NotTls
        );
    }

    #[test]
    fn plaintext_after_tls_records_is_found_wherever_the_reads_split() {
        let mut stream = vec![0x16, 3, 1, 0, 3, 1, 2, 3];
        stream.extend_from_slice(&[0x15, 3, 3, 0, 2, 2, 40]);
        stream.extend_from_slice(b"MAIL FROM:<a@b>\r\n");
        for split in 0..=stream.len() {
            let mut walk = TlsRecords::new(stream[..split].to_vec());
            let mut found = walk.plaintext().unwrap_or_default();
            walk.push(&stream[split..]);
            if found.is_empty() {
                found = walk.plaintext().unwrap_or_default();
            } else {
                // Handed out already: what the caller got first and records itself after.
                found.extend_from_slice(&stream[split..]);
            }
            assert!(walk.in_plaintext(), "{split}");
            assert_eq!(found, b"MAIL FROM:<a@b>\r\n", "split at {split}");
        }
        // Only TLS, in pieces: never plaintext.
        let mut walk = TlsRecords::new(vec![0x16, 3]);
        walk.push(&[1, 0, 1]);
        walk.push(&[9, 0x15, 3, 1, 0, 2, 2]);
        walk.push(&[0]);
        assert!(!walk.in_plaintext());
        assert_eq!(walk.plaintext(), None);
        // A first byte that starts no record: all of it is plaintext.
        let mut walk = TlsRecords::new(b"QUIT\r\n".to_vec());
        assert_eq!(walk.plaintext().as_deref(), Some(&b"QUIT\r\n"[..]));
        assert_eq!(walk.plaintext(), None, "handed out once");
    }

    #[test]
    fn a_legacy_server_accepts_only_a_hello_that_offers_its_version() {
        use proto::probe::{self, HelloSpec, ProbeReply, ProbeVersion};

        let hello = |version| probe::client_hello(&HelloSpec::new(version, &[0x00ff, 0x002f]));
        let tls10 = hello(ProbeVersion::Tls10).unwrap();
        let answer = legacy_answer(LegacyVersion::Tls10, &tls10);
        let reply = probe::classify(&answer, true).unwrap();
        assert!(reply.accepts(ProbeVersion::Tls10), "{reply}");
        assert!(matches!(reply, ProbeReply::ServerHello(h) if h.cipher_suite == 0x002f));
        // A TLS 1.1 hello to a TLS 1.0 server, and a hello that is no hello: the alert.
        let tls11 = hello(ProbeVersion::Tls11).unwrap();
        assert_eq!(
            legacy_answer(LegacyVersion::Tls10, &tls11),
            protocol_version_alert(LegacyVersion::Tls10)
        );
        assert_eq!(
            legacy_answer(LegacyVersion::Ssl3, b"\x16\x03\x00\x00\x01\x01"),
            protocol_version_alert(LegacyVersion::Ssl3)
        );
    }

    #[test]
    fn legacy_alerts_carry_the_old_record_version() {
        assert_eq!(
            protocol_version_alert(LegacyVersion::Tls10),
            [0x15, 3, 1, 0, 2, 2, 70]
        );
        assert_eq!(protocol_version_alert(LegacyVersion::Ssl3)[1..3], [3, 0]);
    }
}
