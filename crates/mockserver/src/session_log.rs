//! The session log: one JSON object per line per finished session, for tests written in any
//! language to learn what a client did on each connection.
//!
//! A server counting into [`Stats::with_session_log`](crate::Stats::with_session_log) writes a
//! [`SessionRecord`] to its [`SessionLog`] when a session ends (refused connections included),
//! as one line, flushed at once, so that a test can tail the file while the server runs. The
//! line is written before the server closes the connection, so a client that has seen the close
//! finds its session in the log. The `mockserver` binary writes one with `--sessions FILE`.
//!
//! A line, pretty-printed and with the lists shortened (`openssl s_client -starttls smtp`
//! against `mockserver serve --dialect smtp --scenario valid`, then `QUIT`; `tls` is `null`
//! unless the handshake completed, `client_hello` is `null` unless the client began one):
//!
//! ```json
//! {
//!   "id": 0,
//!   "local": "127.0.0.1:46641",
//!   "peer": "127.0.0.1:60302",
//!   "started_unix_ms": 1796185175424,
//!   "duration_ms": 16.875,
//!   "dialect": "smtp",
//!   "behaviour": "honest",
//!   "scenario": "valid",
//!   "key_type": "ecdsa-p256",
//!   "plaintext": { "commands": ["EHLO mail.example.com", "STARTTLS"], "omitted": 0, "bytes": 33 },
//!   "starttls": true,
//!   "starttls_ms": 1.028,
//!   "handshake": true,
//!   "handshake_ms": 5.13,
//!   "tls": {
//!     "version": "Tls13",
//!     "cipher_suite": "TLS13_AES_256_GCM_SHA384",
//!     "key_exchange_group": "X25519",
//!     "alpn": null,
//!     "sni": "localhost",
//!     "handshake_kind": "full",
//!     "client_certificate_subject": null
//!   },
//!   "client_hello": {
//!     "versions": ["TLSv1.3", "TLSv1.2", "TLSv1.1", "TLSv1.0"],
//!     "cipher_suites": ["TLS13_AES_256_GCM_SHA384", "TLS13_CHACHA20_POLY1305_SHA256", "..."],
//!     "weak_cipher_suites": ["TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA (CBC-SHA1)", "..."],
//!     "groups": ["X25519", "secp256r1", "X448", "..."],
//!     "signature_algorithms": ["ECDSA_NISTP256_SHA256", "...", "0x0809", "..."],
//!     "alpn": [],
//!     "sni": "localhost",
//!     "extensions": [0, 11, 10, 35, 22, 23, 13, 43, 45, 51],
//!     "ja4": "t13d311000_e8f1e7e78f70_1f22a2ca17c4"
//!   },
//!   "client_hello_error": null,
//!   "injected_bytes_discarded": 0,
//!   "bytes_received": 456,
//!   "bytes_sent": 1849,
//!   "end": "quit"
//! }
//! ```
//!
//! - `plaintext.commands`: what arrived before TLS (the ClientHello left out), one entry per
//!   line (CRLF removed) or per frame (the Framed dialect's payloads), escaped: printable ASCII
//!   stays, `\` becomes `\\`, CR, LF and tab become `\r`, `\n`, `\t`, any other byte `\xNN`. At
//!   most [`MAX_COMMANDS`] entries of at most [`MAX_COMMAND_BYTES`] bytes each (a longer one is
//!   cut and ends in `...`), read from the first 16 KiB the session's transcript keeps;
//!   `omitted` counts the entries left out, `bytes` every plaintext byte received, kept or not.
//!   An unterminated last line or frame is an entry too.
//! - `starttls`: the server gave the go-ahead (STARTTLS accepted, a ClientHello in Framed,
//!   always in Implicit); `handshake`: the TLS handshake completed. The `_ms` fields are
//!   milliseconds since the connection was accepted.
//! - `bytes_received`, `bytes_sent`: bytes on the wire (TLS records counted whole) until the
//!   record was written: the server's last reply is counted, its close_notify is not.
//! - `end`: the [`SessionEnd`] name (`quit`, `handshake-failed:alert-received:unknown_ca`,
//!   `behaviour:close-mid-handshake`, ...).
//! - Names of suites, groups and signature schemes are rustls's (the IANA registry's), or
//!   `0xNNNN` for a code point rustls does not name; GREASE values are left out of the lists.
//!
//! Ids count from 0 per server: the `catalogue` serves many servers into one log, told apart by
//! `local`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufRead, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Mutex;

use proto::hello::{self, ClientHello};
use proto::level::TlsVersion;
use proto::starttls::Dialect;
use serde::{Deserialize, Serialize};
use testpki::{KeyKind, Scenario};

use crate::config::Behaviour;
use crate::stats::SessionEnd;

/// Most plaintext commands one record keeps.
pub const MAX_COMMANDS: usize = 64;
/// Most bytes of one plaintext command a record keeps (before escaping).
pub const MAX_COMMAND_BYTES: usize = 256;

/// What the server saw of one finished session: a line of the session log.
#[derive(Clone, Debug, Deserialize, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SessionRecord {
    /// Order of acceptance on this server, from 0 (the transcript's id).
    pub id: u64,
    /// The server's address (the catalogue serves many).
    pub local: SocketAddr,
    /// The client's address.
    pub peer: SocketAddr,
    /// When the connection was accepted, in milliseconds since the Unix epoch.
    pub started_unix_ms: u64,
    /// How long the session lasted, in milliseconds.
    pub duration_ms: f64,
    /// The protocol spoken before TLS.
    pub dialect: Dialect,
    /// The server's behaviour.
    pub behaviour: Behaviour,
    /// The certificate scenario served.
    pub scenario: Scenario,
    /// The key type of the certificates served.
    pub key_type: KeyKind,
    /// What arrived before TLS.
    pub plaintext: Plaintext,
    /// Whether the server gave the go-ahead for TLS.
    pub starttls: bool,
    /// When the go-ahead was given, in milliseconds since the connection was accepted.
    pub starttls_ms: Option<f64>,
    /// Whether the TLS handshake completed.
    pub handshake: bool,
    /// When the handshake completed, in milliseconds since the connection was accepted.
    pub handshake_ms: Option<f64>,
    /// What the handshake negotiated; `None` unless it completed.
    pub tls: Option<Negotiated>,
    /// What the client's ClientHello offered; `None` when it sent none, or one that could not
    /// be read (then `client_hello_error` says why).
    pub client_hello: Option<HelloSummary>,
    /// Why the bytes the handshake began with are not a ClientHello.
    pub client_hello_error: Option<String>,
    /// Bytes pipelined after STARTTLS and dropped (injection policy `discard`).
    pub injected_bytes_discarded: u64,
    /// Bytes read from the socket.
    pub bytes_received: u64,
    /// Bytes written to the socket.
    pub bytes_sent: u64,
    /// Why the session ended.
    pub end: SessionEnd,
}

/// The plaintext commands of a session, bounded and escaped (see the [module](self) docs).
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plaintext {
    /// Lines (CRLF removed) or frames, escaped, at most [`MAX_COMMANDS`].
    pub commands: Vec<String>,
    /// Commands left out beyond [`MAX_COMMANDS`].
    pub omitted: u64,
    /// Plaintext bytes received, kept or not.
    pub bytes: u64,
}

/// What a completed TLS handshake negotiated.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Negotiated {
    /// The protocol version.
    pub version: Option<TlsVersion>,
    /// The cipher suite (rustls's name, `TLS13_AES_128_GCM_SHA256`).
    pub cipher_suite: Option<String>,
    /// The key-exchange group (`X25519`).
    pub key_exchange_group: Option<String>,
    /// The ALPN protocol agreed, escaped as the plaintext commands are.
    pub alpn: Option<String>,
    /// The server name the client asked for (SNI).
    pub sni: Option<String>,
    /// Full, with a HelloRetryRequest, or resumed.
    pub handshake_kind: Option<HandshakeKind>,
    /// The subject of the client's certificate (RFC 4514 style), when it sent one.
    pub client_certificate_subject: Option<String>,
}

/// How a handshake went.
#[derive(Clone, Copy, Debug, Deserialize, Eq, Hash, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HandshakeKind {
    /// A full handshake.
    Full,
    /// A full handshake after a HelloRetryRequest (the client's key share did not fit).
    FullWithHelloRetryRequest,
    /// A resumed session.
    Resumed,
}

impl HandshakeKind {
    /// The kebab-case name serde writes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::FullWithHelloRetryRequest => "full-with-hello-retry-request",
            Self::Resumed => "resumed",
        }
    }
}

/// What a client's ClientHello offered, read by `proto::hello`.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HelloSummary {
    /// The versions offered (`TLSv1.3`, `TLSv1.2`, `TLSv1.1`, `TLSv1.0`, `SSLv3`, or `0xNNNN`).
    pub versions: Vec<String>,
    /// The cipher suites, in the client's order.
    pub cipher_suites: Vec<String>,
    /// The weak ones among them, each with its weaknesses: `TLS_RSA_WITH_RC4_128_SHA (RC4)`.
    pub weak_cipher_suites: Vec<String>,
    /// The key-exchange groups.
    pub groups: Vec<String>,
    /// The signature schemes.
    pub signature_algorithms: Vec<String>,
    /// The ALPN protocols offered, escaped.
    pub alpn: Vec<String>,
    /// The server name asked for, escaped.
    pub sni: Option<String>,
    /// The extension types, as code points, in the client's order.
    pub extensions: Vec<u16>,
    /// FoxIO's JA4 fingerprint.
    pub ja4: String,
}

/// Where session records go: one JSON line each, written and flushed at once.
///
/// The write is a blocking one of a few hundred bytes, under a lock, from the session's task:
/// cheap for a test server's file or pipe, and it keeps the line ahead of the close.
pub struct SessionLog {
    out: Mutex<Box<dyn Write + Send>>,
}

/// What can go wrong when reading a session log back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading the file failed.
    #[error("cannot read the session log")]
    Io(#[source] io::Error),
    /// A line is not a session record.
    #[error("line {line} of the session log is not a session record")]
    Record {
        /// The line number, from 1.
        line: usize,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}

impl SessionLog {
    /// A log writing to `out` (a file, a pipe, a buffer in a test).
    pub fn new(out: impl Write + Send + 'static) -> Self {
        Self {
            out: Mutex::new(Box::new(out)),
        }
    }

    /// Creates (or truncates) the file at `path` and logs into it.
    ///
    /// # Errors
    ///
    /// When the file cannot be created.
    pub fn create(path: impl AsRef<Path>) -> io::Result<Self> {
        File::create(path).map(Self::new)
    }

    /// Writes `record` as one line and flushes it.
    ///
    /// The line is written with one `write_all`, so readers of a file never see half of it
    /// unless the disk fills.
    ///
    /// # Errors
    ///
    /// When writing or flushing fails.
    pub fn write(&self, record: &SessionRecord) -> io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(io::Error::other)?;
        line.push(b'\n');
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.write_all(&line)?;
        out.flush()
    }
}

impl std::fmt::Debug for SessionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLog").finish_non_exhaustive()
    }
}

/// Reads every record of a session log (empty lines are skipped).
///
/// # Errors
///
/// When reading fails or a line is not a record.
pub fn read(input: impl BufRead) -> Result<Vec<SessionRecord>, ReadError> {
    let mut records = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(ReadError::Io)?;
        if line.trim().is_empty() {
            continue;
        }
        let record = serde_json::from_str(&line).map_err(|source| ReadError::Record {
            line: i + 1,
            source,
        })?;
        records.push(record);
    }
    Ok(records)
}

impl Plaintext {
    /// Splits what arrived before TLS into commands: frames for `Framed`, startup packets for
    /// `Postgres`, MySQL packets (header included, so that the sequence id shows) for `Mysql`,
    /// lines otherwise.
    /// `kept` is what the transcript kept of it, `bytes` how many arrived in all.
    pub(crate) fn of(dialect: Dialect, kept: &[u8], bytes: u64) -> Self {
        let pieces: Vec<&[u8]> = match dialect {
            Dialect::Framed => frames(kept),
            Dialect::Postgres => startup_packets(kept),
            Dialect::Mysql => mysql_packets(kept),
            Dialect::Ftp
            | Dialect::Imap
            | Dialect::Irc
            | Dialect::Implicit
            | Dialect::Lmtp
            | Dialect::Nntp
            | Dialect::Pop3
            | Dialect::Sieve
            | Dialect::Smtp => lines(kept),
        };
        let omitted = pieces.len().saturating_sub(MAX_COMMANDS) as u64;
        Self {
            commands: pieces.into_iter().take(MAX_COMMANDS).map(command).collect(),
            omitted,
            bytes: bytes.max(kept.len() as u64),
        }
    }
}

/// Lines without their CRLF (or LF); an unterminated tail is a line too.
fn lines(bytes: &[u8]) -> Vec<&[u8]> {
    // split_inclusive yields nothing for an empty input and no empty tail after a last LF.
    bytes
        .split_inclusive(|&b| b == b'\n')
        .map(|line| {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            line.strip_suffix(b"\r").unwrap_or(line)
        })
        .collect()
}

/// The seed's frames (4-byte big-endian length, payload); a truncated tail is a frame too.
fn frames(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let Some((len, rest)) = bytes.split_first_chunk::<4>() else {
            out.push(bytes);
            break;
        };
        let len = usize::try_from(u32::from_be_bytes(*len)).unwrap_or(usize::MAX);
        let (payload, next) = rest.split_at(len.min(rest.len()));
        out.push(payload);
        bytes = next;
    }
    out
}

/// PostgreSQL's startup packets (an Int32 length that counts itself), whole; a truncated or
/// impossible one is kept with everything after it.
fn startup_packets(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let len = bytes
            .first_chunk::<4>()
            .and_then(|len| usize::try_from(u32::from_be_bytes(*len)).ok())
            .filter(|len| (4..=bytes.len()).contains(len))
            .unwrap_or(bytes.len());
        let (packet, next) = bytes.split_at(len);
        out.push(packet);
        bytes = next;
    }
    out
}

/// MySQL packets (3-byte little-endian length, sequence id, payload), each with its header; an
/// incomplete tail is a packet too.
fn mysql_packets(mut bytes: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let declared = match bytes {
            [a, b, c, _, ..] => usize::from(*a) | usize::from(*b) << 8 | usize::from(*c) << 16,
            _ => usize::MAX,
        };
        let (packet, next) = bytes.split_at(declared.saturating_add(4).min(bytes.len()));
        out.push(packet);
        bytes = next;
    }
    out
}

/// One command, cut at [`MAX_COMMAND_BYTES`] and escaped.
fn command(bytes: &[u8]) -> String {
    let cut = bytes.len() > MAX_COMMAND_BYTES;
    let mut out = escape(bytes.get(..MAX_COMMAND_BYTES).unwrap_or(bytes));
    if cut {
        out.push_str("...");
    }
    out
}

/// Printable ASCII as is, `\\`, `\r`, `\n`, `\t`, and `\xNN` for any other byte.
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

impl HelloSummary {
    /// Summarises a parsed ClientHello.
    pub fn of(hello: &ClientHello) -> Self {
        let suites = || {
            hello
                .cipher_suites
                .iter()
                .copied()
                .filter(|&s| !hello::is_grease(s))
        };
        Self {
            versions: hello.offered_versions().map(version_name).collect(),
            cipher_suites: suites().map(suite_name).collect(),
            weak_cipher_suites: suites()
                .filter_map(|s| {
                    let weak: Vec<&str> = hello::weaknesses(s).map(hello::Weakness::name).collect();
                    (!weak.is_empty()).then(|| format!("{} ({})", suite_name(s), weak.join(", ")))
                })
                .collect(),
            groups: names(&hello.supported_groups, |g| {
                rustls::NamedGroup::from(g).as_str()
            }),
            signature_algorithms: names(&hello.signature_algorithms, |s| {
                rustls::SignatureScheme::from(s).as_str()
            }),
            alpn: hello.alpn.iter().map(|p| escape(p)).collect(),
            sni: hello.server_name.as_deref().map(escape),
            extensions: hello.extensions.clone(),
            ja4: hello::ja4::fingerprint(hello),
        }
    }
}

/// The names of code points, GREASE left out.
fn names(codes: &[u16], name: impl Fn(u16) -> Option<&'static str>) -> Vec<String> {
    codes
        .iter()
        .copied()
        .filter(|&c| !hello::is_grease(c))
        .map(|c| name(c).map_or_else(|| hex(c), str::to_owned))
        .collect()
}

fn suite_name(suite: u16) -> String {
    rustls::CipherSuite::from(suite)
        .as_str()
        .map_or_else(|| hex(suite), str::to_owned)
}

fn version_name(version: u16) -> String {
    match version {
        0x0300 => "SSLv3".to_owned(),
        0x0301 => "TLSv1.0".to_owned(),
        0x0302 => "TLSv1.1".to_owned(),
        0x0303 => TlsVersion::Tls12.to_string(),
        0x0304 => TlsVersion::Tls13.to_string(),
        other => hex(other),
    }
}

fn hex(code: u16) -> String {
    format!("0x{code:04x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_lose_their_crlf_and_keep_an_unterminated_tail() {
        let p = Plaintext::of(Dialect::Smtp, b"EHLO a\r\nSTARTTLS\r\nQU", 20);
        assert_eq!(p.commands, ["EHLO a", "STARTTLS", "QU"]);
        assert_eq!((p.omitted, p.bytes), (0, 20));
        assert_eq!(
            Plaintext::of(Dialect::Smtp, b"", 0).commands,
            Vec::<String>::new()
        );
        assert_eq!(Plaintext::of(Dialect::Pop3, b"\r\n", 0).commands, [""]);
    }

    #[test]
    fn frames_are_split_by_their_length_and_a_truncated_one_is_kept() {
        let bytes = b"\x00\x00\x00\x02hi\x00\x00\x00\x05wor";
        let p = Plaintext::of(Dialect::Framed, bytes, 0);
        assert_eq!(p.commands, ["hi", "wor"]);
        assert_eq!(
            Plaintext::of(Dialect::Framed, b"\x00\x00", 3).commands,
            ["\\x00\\x00"]
        );
        assert_eq!(Plaintext::of(Dialect::Framed, b"\x00\x00", 5).bytes, 5);
    }

    #[test]
    fn postgres_packets_are_split_by_their_length_which_counts_itself() {
        let ssl_request = b"\x00\x00\x00\x08\x04\xd2\x16\x2f";
        let bytes = [&ssl_request[..], b"\x00\x00\x00\x09user\x00\x00\x00"].concat();
        let p = Plaintext::of(Dialect::Postgres, &bytes, 0);
        assert_eq!(
            p.commands,
            [
                "\\x00\\x00\\x00\\x08\\x04\\xd2\\x16/",
                "\\x00\\x00\\x00\\tuser\\x00",
                "\\x00\\x00"
            ]
        );
    }

    #[test]
    fn commands_are_escaped_cut_and_counted() {
        assert_eq!(
            escape(b"a\\b\t\x1b[31m\xff\"'"),
            "a\\\\b\\t\\x1b[31m\\xff\"'"
        );
        let long = vec![b'x'; MAX_COMMAND_BYTES + 1];
        let p = Plaintext::of(Dialect::Imap, &long, 0);
        assert_eq!(p.commands[0].len(), MAX_COMMAND_BYTES + 3);
        assert!(p.commands[0].ends_with("x..."));
        let many = "NOOP\r\n".repeat(MAX_COMMANDS + 5);
        let p = Plaintext::of(Dialect::Pop3, many.as_bytes(), many.len() as u64 + 7);
        assert_eq!((p.commands.len(), p.omitted), (MAX_COMMANDS, 5));
        assert_eq!(p.bytes, many.len() as u64 + 7);
    }

    #[test]
    fn handshake_kind_names_are_what_serde_writes() {
        for kind in [
            HandshakeKind::Full,
            HandshakeKind::FullWithHelloRetryRequest,
            HandshakeKind::Resumed,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.name());
        }
    }

    #[test]
    fn a_log_line_is_one_flushed_json_object_that_reads_back() {
        #[derive(Clone, Default)]
        struct Shared(std::sync::Arc<Mutex<Vec<u8>>>);
        impl Write for Shared {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let buffer = Shared::default();
        let log = SessionLog::new(buffer.clone());
        let record = SessionRecord {
            id: 3,
            local: "127.0.0.1:25".parse().unwrap(),
            peer: "[::1]:4000".parse().unwrap(),
            started_unix_ms: 1,
            duration_ms: 2.5,
            dialect: Dialect::Smtp,
            behaviour: Behaviour::StartTlsRefused(crate::Refusal::Temporary),
            scenario: Scenario::Expired,
            key_type: KeyKind::Ed25519,
            plaintext: Plaintext::of(Dialect::Smtp, b"EHLO x\r\nSTARTTLS\r\n", 0),
            starttls: false,
            starttls_ms: None,
            handshake: false,
            handshake_ms: None,
            tls: None,
            client_hello: None,
            client_hello_error: None,
            injected_bytes_discarded: 0,
            bytes_received: 18,
            bytes_sent: 120,
            end: SessionEnd::Machine(proto::starttls::CloseReason::Quit),
        };
        log.write(&record).unwrap();
        log.write(&record).unwrap();
        let bytes = buffer.0.lock().unwrap().clone();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text.lines().count(), 2);
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(line["end"], "quit");
        assert_eq!(line["behaviour"], "starttls-refused");
        assert_eq!(line["plaintext"]["commands"][1], "STARTTLS");
        let back = read(text.as_bytes()).unwrap();
        assert_eq!(back, [record.clone(), record]);
        let err = read(&b"{}\n"[..]).unwrap_err();
        assert!(matches!(err, ReadError::Record { line: 1, .. }), "{err}");
    }
}
