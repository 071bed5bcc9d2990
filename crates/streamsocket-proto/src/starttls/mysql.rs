//! MySQL's connection phase as far as TLS, shared by both machines.
//!
//! From the MySQL client/server protocol documentation ("Protocol::Packet",
//! "Protocol::HandshakeV10", "Protocol::SSLRequest", "Protocol::ERR_Packet", "Capabilities
//! Flags"): every packet is a 3-byte little-endian payload length, a 1-byte sequence id, then
//! the payload. The server speaks first, with its greeting at sequence 0 (protocol version 10,
//! its capability flags: `CLIENT_SSL` advertises TLS) or with an ERR packet (`0xFF`). A client
//! that wants TLS answers with the 32-byte SSLRequest at sequence 1 (its flags with
//! `CLIENT_SSL` and `CLIENT_PROTOCOL_41`, the maximum packet size, the character set, 23 zero
//! bytes) and starts its handshake at once: there is no go-ahead, the ClientHello (`0x16`)
//! follows the SSLRequest. Inside TLS the client sends its HandshakeResponse41 at sequence 2;
//! that is the application's, not the machines'.

/// The length of a packet header: 3 bytes of payload length, 1 of sequence id.
pub(crate) const HEADER_LEN: usize = 4;

/// The largest payload accepted before TLS, from either side (the greeting, an ERR packet with
/// its at most 512-byte message, an SSLRequest, a HandshakeResponse41): a longer declared
/// length is refused as soon as the header is read, before anything is buffered.
pub const MAX_MYSQL_PACKET_LEN: usize = 1024;

/// The SSLRequest's payload length (with `CLIENT_PROTOCOL_41`).
pub(crate) const SSL_REQUEST_LEN: usize = 32;

/// The first byte of an ERR packet.
pub(crate) const ERR_HEADER: u8 = 0xff;

/// The only protocol version this layer speaks (HandshakeV10).
pub(crate) const PROTOCOL_VERSION: u8 = 10;

/// `CLIENT_LONG_PASSWORD` (MariaDB: `CLIENT_MYSQL`).
pub(crate) const CLIENT_LONG_PASSWORD: u32 = 0x0000_0001;
/// `CLIENT_PROTOCOL_41`: the 4.1 protocol, whose SSLRequest is 32 bytes.
pub(crate) const CLIENT_PROTOCOL_41: u32 = 0x0000_0200;
/// `CLIENT_SSL`: the server can, the client will, switch to TLS after the greeting.
pub(crate) const CLIENT_SSL: u32 = 0x0000_0800;
/// `CLIENT_TRANSACTIONS`.
pub(crate) const CLIENT_TRANSACTIONS: u32 = 0x0000_2000;
/// `CLIENT_SECURE_CONNECTION` (`CLIENT_RESERVED2`).
pub(crate) const CLIENT_SECURE_CONNECTION: u32 = 0x0000_8000;
/// `CLIENT_PLUGIN_AUTH`.
pub(crate) const CLIENT_PLUGIN_AUTH: u32 = 0x0008_0000;

/// The names of the 32 capability flags, bit 0 first, as the documentation spells them.
const CAPABILITY_NAMES: [&str; 32] = [
    "CLIENT_LONG_PASSWORD",
    "CLIENT_FOUND_ROWS",
    "CLIENT_LONG_FLAG",
    "CLIENT_CONNECT_WITH_DB",
    "CLIENT_NO_SCHEMA",
    "CLIENT_COMPRESS",
    "CLIENT_ODBC",
    "CLIENT_LOCAL_FILES",
    "CLIENT_IGNORE_SPACE",
    "CLIENT_PROTOCOL_41",
    "CLIENT_INTERACTIVE",
    "CLIENT_SSL",
    "CLIENT_IGNORE_SIGPIPE",
    "CLIENT_TRANSACTIONS",
    "CLIENT_RESERVED",
    "CLIENT_SECURE_CONNECTION",
    "CLIENT_MULTI_STATEMENTS",
    "CLIENT_MULTI_RESULTS",
    "CLIENT_PS_MULTI_RESULTS",
    "CLIENT_PLUGIN_AUTH",
    "CLIENT_CONNECT_ATTRS",
    "CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA",
    "CLIENT_CAN_HANDLE_EXPIRED_PASSWORDS",
    "CLIENT_SESSION_TRACK",
    "CLIENT_DEPRECATE_EOF",
    "CLIENT_OPTIONAL_RESULTSET_METADATA",
    "CLIENT_ZSTD_COMPRESSION_ALGORITHM",
    "CLIENT_QUERY_ATTRIBUTES",
    "MULTI_FACTOR_AUTHENTICATION",
    "CLIENT_CAPABILITY_EXTENSION",
    "CLIENT_SSL_VERIFY_SERVER_CERT",
    "CLIENT_REMEMBER_OPTIONS",
];

/// The names of the flags set in `flags`, lowest bit first.
pub(crate) fn capability_names(flags: u32) -> Vec<String> {
    CAPABILITY_NAMES
        .iter()
        .enumerate()
        .filter(|(bit, _)| flags & (1u32 << bit) != 0)
        .map(|(_, name)| (*name).to_owned())
        .collect()
}

/// One packet: its sequence id and payload.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Packet {
    pub(crate) seq: u8,
    pub(crate) payload: Vec<u8>,
}

/// A packet header declared more than the reader's limit.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub(crate) struct PacketTooLong {
    pub(crate) declared: usize,
}

/// Splits a byte stream into packets, never buffering more than one header and one payload of
/// at most the limit; the declared length is compared with the limit before a byte of the
/// payload is kept, and the buffer grows only with bytes that arrived.
#[derive(Clone, Debug)]
pub(crate) struct PacketReader {
    header: [u8; HEADER_LEN],
    header_len: usize,
    payload: Vec<u8>,
    max_len: usize,
}

impl PacketReader {
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            header: [0; HEADER_LEN],
            header_len: 0,
            payload: Vec::new(),
            max_len,
        }
    }

    /// How many bytes of an unfinished packet are held.
    pub(crate) fn buffered_len(&self) -> usize {
        self.header_len + self.payload.len()
    }

    /// The bytes of the unfinished header held now.
    pub(crate) fn buffered_header(&self) -> &[u8] {
        self.header.get(..self.header_len).unwrap_or_default()
    }

    pub(crate) fn clear(&mut self) {
        self.header_len = 0;
        self.payload.clear();
    }

    /// Consumes bytes of `input` up to the end of one packet at most; returns how many were
    /// consumed and the packet if it is complete. After an error the reader is cleared; the
    /// caller stops reading.
    pub(crate) fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Packet, PacketTooLong>>) {
        let mut consumed = 0;
        while self.header_len < HEADER_LEN {
            let (Some(&byte), Some(slot)) =
                (input.get(consumed), self.header.get_mut(self.header_len))
            else {
                return (consumed, None);
            };
            *slot = byte;
            self.header_len += 1;
            consumed += 1;
        }
        let [a, b, c, seq] = self.header;
        let declared = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
        if declared > self.max_len {
            self.clear();
            return (consumed, Some(Err(PacketTooLong { declared })));
        }
        let missing = declared - self.payload.len();
        let rest = input.get(consumed..).unwrap_or_default();
        let take = missing.min(rest.len());
        self.payload
            .extend_from_slice(rest.get(..take).unwrap_or_default());
        consumed += take;
        if self.payload.len() < declared {
            return (consumed, None);
        }
        self.header_len = 0;
        let payload = std::mem::take(&mut self.payload);
        (consumed, Some(Ok(Packet { seq, payload })))
    }
}

/// Appends a packet with `seq` and `payload` (at most [`MAX_MYSQL_PACKET_LEN`] bytes, which
/// every caller's payload is) to `out`.
pub(crate) fn write_packet(seq: u8, payload: &[u8], out: &mut Vec<u8>) {
    let len = u32::try_from(payload.len().min(0x00ff_ffff)).unwrap_or(0x00ff_ffff);
    let [a, b, c, _] = len.to_le_bytes();
    out.extend_from_slice(&[a, b, c, seq]);
    out.extend_from_slice(payload);
}

/// The little-endian `u16` at `at`.
fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    let pair = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*pair.first()?, *pair.get(1)?]))
}

/// The little-endian `u32` at `at`.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let quad = bytes.get(at..at.checked_add(4)?)?;
    let mut le = [0u8; 4];
    le.copy_from_slice(quad);
    Some(u32::from_le_bytes(le))
}

/// What the server said first.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) enum FirstPacket {
    /// A HandshakeV10 greeting.
    Greeting(Greeting),
    /// An ERR packet, written out as `ERR code (state): message`.
    Error(String),
}

/// The parts of a HandshakeV10 greeting that the client uses.
#[derive(Clone, Debug, Eq, PartialEq)]
pub(crate) struct Greeting {
    /// Both halves of the capability flags (the upper half is 0 in a greeting that stops
    /// after the lower one, as the documentation allows).
    pub(crate) capabilities: u32,
    /// The server's default character set, if the greeting has one.
    pub(crate) charset: Option<u8>,
}

/// Reads the server's first packet's payload: a HandshakeV10 greeting (protocol version,
/// NUL-terminated server version, connection id, 8 bytes of auth-plugin data, a zero filler,
/// the lower capability flags, then optionally character set, status flags and the upper
/// capability flags; the rest is not needed) or an ERR packet. The reason of an `Err` names
/// what is malformed.
pub(crate) fn parse_first_packet(payload: &[u8]) -> Result<FirstPacket, String> {
    match payload.first() {
        None => Err("empty greeting packet".to_owned()),
        Some(&ERR_HEADER) => Ok(FirstPacket::Error(describe_err(payload))),
        Some(&PROTOCOL_VERSION) => parse_greeting(payload).map(FirstPacket::Greeting),
        Some(other) => Err(format!(
            "greeting of protocol version {other}, not {PROTOCOL_VERSION}"
        )),
    }
}

fn parse_greeting(payload: &[u8]) -> Result<Greeting, String> {
    let after_version = payload
        .iter()
        .skip(1)
        .position(|&b| b == 0)
        .map(|nul| nul + 2)
        .ok_or("greeting's server version is not NUL-terminated")?;
    // Connection id (4), auth-plugin-data-part-1 (8), filler (1).
    let filler = after_version + 12;
    match payload.get(filler) {
        Some(0) => {}
        Some(_) => return Err("greeting's filler byte is not zero".to_owned()),
        None => return Err("greeting ends before its capability flags".to_owned()),
    }
    let lower = u16_at(payload, filler + 1).ok_or("greeting ends in its capability flags")?;
    let charset = payload.get(filler + 3).copied();
    let upper = if charset.is_some() {
        // Status flags (2), then the upper capability flags.
        u16_at(payload, filler + 6).ok_or("greeting ends in its status or capability flags")?
    } else {
        0
    };
    Ok(Greeting {
        capabilities: u32::from(lower) | u32::from(upper) << 16,
        charset,
    })
}

/// `ERR code (state): message` from an ERR packet's payload (code, then `#` and a 5-character
/// SQL state when the server has one, then the message); control characters become `?`.
fn describe_err(payload: &[u8]) -> String {
    let Some(code) = u16_at(payload, 1) else {
        return "ERR (truncated)".to_owned();
    };
    let rest = payload.get(3..).unwrap_or_default();
    let (state, message) = match rest.split_first() {
        Some((b'#', tail)) if tail.len() >= 5 => (
            Some(String::from_utf8_lossy(tail.get(..5).unwrap_or_default()).into_owned()),
            tail.get(5..).unwrap_or_default(),
        ),
        _ => (None, rest),
    };
    let printable = |text: String| -> String {
        text.chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect()
    };
    let message = printable(String::from_utf8_lossy(message).into_owned());
    match state {
        Some(state) => format!("ERR {code} ({}): {message}", printable(state)),
        None => format!("ERR {code}: {message}"),
    }
}

/// An ERR packet's payload (`CLIENT_PROTOCOL_41` form when `state` is given).
pub(crate) fn err_payload(code: u16, state: Option<&str>, message: &str) -> Vec<u8> {
    let mut payload = vec![ERR_HEADER];
    payload.extend_from_slice(&code.to_le_bytes());
    if let Some(state) = state {
        payload.push(b'#');
        payload.extend_from_slice(state.as_bytes());
    }
    payload.extend_from_slice(message.as_bytes());
    payload
}

/// An OK packet's payload: no rows affected, no insert id, autocommit, no warnings.
pub(crate) fn ok_payload() -> Vec<u8> {
    vec![0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]
}

/// The SSLRequest packet (header included): sequence 1, `flags`, a 16 MiB maximum packet
/// size, `charset`, 23 zero bytes.
pub(crate) fn ssl_request(flags: u32, charset: u8) -> Vec<u8> {
    let mut payload = Vec::with_capacity(SSL_REQUEST_LEN);
    payload.extend_from_slice(&flags.to_le_bytes());
    payload.extend_from_slice(&0x0100_0000u32.to_le_bytes());
    payload.push(charset);
    payload.extend_from_slice(&[0; 23]);
    let mut packet = Vec::with_capacity(HEADER_LEN + SSL_REQUEST_LEN);
    write_packet(1, &payload, &mut packet);
    packet
}
