//! What a server sent where TLS was expected, or TLS where plaintext was: the most common
//! TLS set-up mistake (implicit TLS on a STARTTLS port, STARTTLS on an implicit-TLS port),
//! recognised from the first bytes so that the error can name the fix.
//!
//! Only a bounded prefix is ever looked at, and the bytes are never handed on as data.
//!
//! ```
//! use streamsocket_proto::reply::{FirstReply, PlaintextProtocol, classify};
//!
//! let reply = classify(b"220 mail.example ESMTP ready\r\n");
//! assert!(matches!(reply, FirstReply::Plaintext(ref p) if p.protocol == Some(PlaintextProtocol::Smtp)));
//! assert_eq!(classify(&[0x16, 0x03, 0x03, 0x00, 0x7a, 0x02]), FirstReply::Tls);
//! ```

use std::fmt;

/// The most bytes of a reply kept for the message.
pub const PREVIEW_LEN: usize = 80;

/// What the first bytes a server sent are.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum FirstReply {
    /// Nothing arrived.
    Nothing,
    /// A TLS record (or the start of one): not a mode mismatch.
    Tls,
    /// A TLS handshake record carrying a ClientHello: the peer echoes what it receives.
    EchoedClientHello,
    /// Text: a plaintext protocol's greeting or answer.
    Plaintext(PlaintextReply),
    /// Bytes that are neither TLS nor text.
    Binary(String),
}

/// A plaintext reply: the protocol it looks like, and its start, escaped.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PlaintextReply {
    /// The protocol recognised, if any.
    pub protocol: Option<PlaintextProtocol>,
    /// The first line (at most [`PREVIEW_LEN`] bytes), control characters escaped.
    pub preview: String,
}

/// Plaintext protocols recognised by their first words.
#[derive(Clone, Copy, Debug, Eq, Hash, PartialEq)]
pub enum PlaintextProtocol {
    /// `220 ` / `220-` with SMTP in it, or any `220` greeting without FTP in it (RFC 5321).
    Smtp,
    /// `220` with FTP in it (RFC 959).
    Ftp,
    /// `* OK`, `* PREAUTH`, `* BYE` (RFC 3501).
    Imap,
    /// `+OK` (RFC 1939).
    Pop3,
    /// An XML declaration or a `<stream:stream` header (RFC 6120).
    Xmpp,
    /// An HTTP status line.
    Http,
    /// An SSH version string (RFC 4253).
    Ssh,
}

impl PlaintextProtocol {
    /// The protocol's name, as people write it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Smtp => "SMTP",
            Self::Ftp => "FTP",
            Self::Imap => "IMAP",
            Self::Pop3 => "POP3",
            Self::Xmpp => "XMPP",
            Self::Http => "HTTP",
            Self::Ssh => "SSH",
        }
    }

    /// What to do instead: the STARTTLS dialect to use, or the port of implicit TLS.
    pub fn advice(self) -> &'static str {
        match self {
            Self::Smtp => {
                "this port expects STARTTLS: upgrade with the smtp dialect (`--starttls smtp`), \
                 or use port 465 for implicit TLS"
            }
            Self::Imap => {
                "this port expects STARTTLS: upgrade with the imap dialect (`--starttls imap`), \
                 or use port 993 for implicit TLS"
            }
            Self::Pop3 => {
                "this port expects STARTTLS: upgrade with the pop3 dialect (`--starttls pop3`), \
                 or use port 995 for implicit TLS"
            }
            Self::Ftp => "this port speaks FTP, whose TLS begins with AUTH TLS (RFC 4217)",
            Self::Xmpp => "this port speaks XMPP, whose TLS begins with <starttls/> (RFC 6120)",
            Self::Http => "this port speaks HTTP without TLS; HTTPS is usually on port 443",
            Self::Ssh => "this port speaks SSH, not TLS",
        }
    }
}

/// The first byte of each TLS record content type: change_cipher_spec, alert, handshake,
/// application_data, heartbeat.
const TLS_CONTENT_TYPES: std::ops::RangeInclusive<u8> = 0x14..=0x18;

/// Whether `bytes` start like a TLS record: a content type, then major version 3 (every TLS
/// and SSL 3 record). Fewer than two bytes never do: the answer must not depend on how the
/// input was split.
pub fn looks_like_tls(bytes: &[u8]) -> bool {
    matches!(bytes, [first, 3, ..] if TLS_CONTENT_TYPES.contains(first))
}

/// Classifies the first bytes a server sent (only the first [`PREVIEW_LEN`] matter).
pub fn classify(bytes: &[u8]) -> FirstReply {
    if bytes.is_empty() {
        return FirstReply::Nothing;
    }
    if looks_like_tls(bytes) {
        // Handshake record (0x16), then at byte 5 the handshake type: 1 is a ClientHello.
        return if bytes.first() == Some(&0x16) && bytes.get(5) == Some(&0x01) {
            FirstReply::EchoedClientHello
        } else {
            FirstReply::Tls
        };
    }
    let head = bytes.get(..PREVIEW_LEN).unwrap_or(bytes);
    let line_end = head
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(head.len());
    let line = head.get(..line_end).unwrap_or(head);
    let printable = line
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t');
    if !printable || line.is_empty() {
        return FirstReply::Binary(escape(head));
    }
    FirstReply::Plaintext(PlaintextReply {
        protocol: recognise(line),
        preview: escape(line),
    })
}

fn recognise(line: &[u8]) -> Option<PlaintextProtocol> {
    let upper = line.to_ascii_uppercase();
    let has = |needle: &[u8]| upper.windows(needle.len()).any(|w| w == needle);
    let starts = |prefix: &[u8]| upper.starts_with(prefix);
    if starts(b"220 ") || starts(b"220-") {
        return Some(if has(b"FTP") && !has(b"SMTP") {
            PlaintextProtocol::Ftp
        } else {
            PlaintextProtocol::Smtp
        });
    }
    if starts(b"* OK") || starts(b"* PREAUTH") || starts(b"* BYE") {
        return Some(PlaintextProtocol::Imap);
    }
    if starts(b"+OK") {
        return Some(PlaintextProtocol::Pop3);
    }
    if starts(b"<?XML") || starts(b"<STREAM:STREAM") {
        return Some(PlaintextProtocol::Xmpp);
    }
    if starts(b"HTTP/") {
        return Some(PlaintextProtocol::Http);
    }
    if starts(b"SSH-") {
        return Some(PlaintextProtocol::Ssh);
    }
    None
}

/// Printable ASCII as itself, everything else as `\xNN` (a backslash too).
fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (b.is_ascii_graphic() && b != b'\\') || b == b' ' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// "the server answered in plaintext with an SMTP greeting (`220 ...`): this port expects ..."
impl fmt::Display for PlaintextReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.protocol {
            Some(p) => write!(
                f,
                "the server answered in plaintext with {} {} {} (`{}`): {}",
                if p == PlaintextProtocol::Pop3 {
                    "a"
                } else {
                    "an"
                },
                p.name(),
                if p == PlaintextProtocol::Http {
                    "response"
                } else {
                    "greeting"
                },
                self.preview,
                p.advice()
            ),
            None => write!(
                f,
                "the server answered in plaintext (`{}`), not with TLS: this port does not speak \
                 TLS at once; check the port and whether it expects a STARTTLS dialect",
                self.preview
            ),
        }
    }
}

#[cfg(test)]
mod tests;
