//! The seed's frame codec: a 4-byte big-endian length, then that many bytes of UTF-8.
//!
//! This is what the WinRT sample writes with `DataWriter.WriteUInt32` (big-endian by default)
//! followed by `WriteString`. The codec is sans-IO: [`FrameCodec::decode`] looks at a buffer and
//! says whether a complete frame starts it; [`FrameCodec::encode`] appends one frame to a vector.
//! The async crates may wrap it in a tokio-util `Decoder`/`Encoder`.
//!
//! # Limits
//!
//! The maximum frame length defaults to [`DEFAULT_MAX_FRAME_LEN`] (1 MiB) and is always below
//! [`FRAME_LEN_CEILING`] (`0x1600_0000`): the first byte of a legitimate frame is then always
//! below `0x16`, the first byte of a TLS handshake record, so a server can tell a frame from a
//! ClientHello by one byte. A declared length above the maximum is an error as soon as the four
//! length bytes are seen, before anything of that size is allocated.
//!
//! ```
//! use streamsocket_proto::codec::FrameCodec;
//!
//! let codec = FrameCodec::default();
//! let mut wire = Vec::new();
//! codec.encode("hello", &mut wire)?;
//! assert_eq!(wire, b"\x00\x00\x00\x05hello");
//! assert_eq!(codec.decode(&wire)?, Some((9, "hello".to_owned())));
//! assert_eq!(codec.decode(&wire[..3])?, None);
//! # Ok::<(), streamsocket_proto::codec::FrameError>(())
//! ```

/// The default maximum payload length of a frame: 1 MiB.
pub const DEFAULT_MAX_FRAME_LEN: u32 = 1 << 20;

/// Every maximum frame length must be strictly below this value, so that no frame starts with
/// the TLS handshake content type `0x16`.
pub const FRAME_LEN_CEILING: u32 = 0x1600_0000;

/// The length of the big-endian length prefix.
pub const HEADER_LEN: usize = 4;

/// Encodes and decodes the seed's length-prefixed UTF-8 frames, with a maximum payload length.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct FrameCodec {
    max_frame_len: u32,
}

impl FrameCodec {
    /// A codec that accepts payloads of at most `max_frame_len` bytes.
    ///
    /// Fails with [`FrameError::LimitTooHigh`] when `max_frame_len >= FRAME_LEN_CEILING`.
    pub fn new(max_frame_len: u32) -> Result<Self, FrameError> {
        if max_frame_len >= FRAME_LEN_CEILING {
            return Err(FrameError::LimitTooHigh(max_frame_len));
        }
        Ok(Self { max_frame_len })
    }

    /// The maximum payload length this codec accepts.
    pub fn max_frame_len(&self) -> u32 {
        self.max_frame_len
    }

    /// Checks a declared payload length against the maximum.
    pub fn check_len(&self, declared: u32) -> Result<usize, FrameError> {
        if declared > self.max_frame_len {
            return Err(FrameError::TooLong {
                declared: u64::from(declared),
                max: self.max_frame_len,
            });
        }
        // A u32 below the ceiling always fits in usize on the platforms Rust supports (>= 32 bits).
        usize::try_from(declared).map_err(|_| FrameError::TooLong {
            declared: u64::from(declared),
            max: self.max_frame_len,
        })
    }

    /// How many more bytes the frame at the start of `buf` needs before [`decode`] returns it
    /// (0: it is complete), so that a reader never takes bytes beyond its frame. Fails as soon
    /// as the header declares a length above the maximum.
    ///
    /// [`decode`]: Self::decode
    pub fn missing(&self, buf: &[u8]) -> Result<usize, FrameError> {
        let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
            return Ok(HEADER_LEN - buf.len());
        };
        let len = self.check_len(u32::from_be_bytes(*header))?;
        Ok((HEADER_LEN + len).saturating_sub(buf.len()))
    }

    /// Decodes the frame at the start of `buf`.
    ///
    /// Returns `Ok(None)` while the frame is incomplete, `Ok(Some((consumed, payload)))` once it
    /// is complete (`consumed` counts the header too), and an error as soon as the header
    /// declares a length above the maximum or the complete payload is not UTF-8. Nothing is
    /// allocated before the payload is complete and within the limit.
    pub fn decode(&self, buf: &[u8]) -> Result<Option<(usize, String)>, FrameError> {
        let Some(header) = buf.first_chunk::<HEADER_LEN>() else {
            return Ok(None);
        };
        let len = self.check_len(u32::from_be_bytes(*header))?;
        let Some(payload) = buf.get(HEADER_LEN..HEADER_LEN + len) else {
            return Ok(None);
        };
        let text = std::str::from_utf8(payload).map_err(|_| FrameError::InvalidUtf8)?;
        Ok(Some((HEADER_LEN + len, text.to_owned())))
    }

    /// Appends one frame carrying `payload` to `out`.
    ///
    /// Fails with [`FrameError::TooLong`] (and appends nothing) when the payload is longer than
    /// the maximum.
    pub fn encode(&self, payload: &str, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let too_long = || FrameError::TooLong {
            declared: u64::try_from(payload.len()).unwrap_or(u64::MAX),
            max: self.max_frame_len,
        };
        let len = u32::try_from(payload.len()).map_err(|_| too_long())?;
        if len > self.max_frame_len {
            return Err(too_long());
        }
        out.reserve(HEADER_LEN + payload.len());
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(payload.as_bytes());
        Ok(())
    }
}

impl Default for FrameCodec {
    /// A codec with the default maximum of 1 MiB.
    fn default() -> Self {
        Self {
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
        }
    }
}

/// Why a frame could not be encoded or decoded, or a codec not built.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
pub enum FrameError {
    /// The declared (or given) payload length is above the maximum.
    #[error("frame length {declared} exceeds the maximum of {max} bytes")]
    TooLong {
        /// The length the header declared, or the length of the payload to encode.
        declared: u64,
        /// The codec's maximum.
        max: u32,
    },
    /// The payload is not valid UTF-8.
    #[error("frame payload is not valid utf-8")]
    InvalidUtf8,
    /// The requested maximum is not below [`FRAME_LEN_CEILING`].
    #[error("maximum frame length {0:#x} is not below 0x16000000")]
    LimitTooHigh(u32),
}

#[cfg(test)]
mod tests;
