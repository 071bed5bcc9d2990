//! The seed's DataWriter/DataReader exchange: strings framed as a 4-byte big-endian length and
//! UTF-8 bytes, over the core's frame codec.

use bytes::{Buf, BytesMut};
use proto::codec::{FrameCodec, FrameError};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::Error;

/// Writes `text` as one frame (u32 big-endian length, then UTF-8) and flushes.
pub async fn write_string<W>(writer: &mut W, text: &str) -> Result<(), Error>
where
    W: AsyncWrite + Unpin + ?Sized,
{
    let mut frame = Vec::with_capacity(text.len() + 4);
    FrameCodec::default()
        .encode(text, &mut frame)
        .map_err(Error::from)?;
    writer.write_all(&frame).await?;
    writer.flush().await?;
    Ok(())
}

/// Reads one frame and returns its text. A declared length above the codec's maximum
/// (1 MiB) is refused before anything is allocated for it.
pub async fn read_string<R>(reader: &mut R) -> Result<String, Error>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let codec = FrameCodec::default();
    let mut header = [0u8; 4];
    reader.read_exact(&mut header).await?;
    // The header alone is either incomplete (the usual case) or already too long.
    if let Some((_, text)) = codec.decode(&header).map_err(Error::from)? {
        return Ok(text);
    }
    let declared = u32::from_be_bytes(header);
    let mut frame = Vec::new();
    frame.extend_from_slice(&header);
    let payload_len = usize::try_from(declared).map_err(|_| Error::invalid("frame too long"))?;
    frame.resize(4 + payload_len, 0);
    if let Some(payload) = frame.get_mut(4..) {
        reader.read_exact(payload).await?;
    }
    match codec.decode(&frame).map_err(Error::from)? {
        Some((_, text)) => Ok(text),
        None => Err(Error::invalid(
            "frame incomplete after reading its declared length",
        )),
    }
}

/// A tokio-util codec for the same frames, for `tokio_util::codec::Framed`.
#[derive(Clone, Debug, Default)]
pub struct StringCodec {
    codec: FrameCodec,
}

impl StringCodec {
    /// A codec that refuses frames longer than `max_frame_len` bytes.
    pub fn new(max_frame_len: u32) -> Result<Self, Error> {
        Ok(Self {
            codec: FrameCodec::new(max_frame_len).map_err(Error::from)?,
        })
    }
}

impl tokio_util::codec::Decoder for StringCodec {
    type Item = String;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<String>, Error> {
        match self.codec.decode(src).map_err(Error::from)? {
            Some((consumed, text)) => {
                src.advance(consumed);
                Ok(Some(text))
            }
            None => Ok(None),
        }
    }
}

impl<T: AsRef<str>> tokio_util::codec::Encoder<T> for StringCodec {
    type Error = Error;

    fn encode(&mut self, item: T, dst: &mut BytesMut) -> Result<(), Error> {
        let mut frame = Vec::new();
        self.codec
            .encode(item.as_ref(), &mut frame)
            .map_err(Error::from)?;
        dst.extend_from_slice(&frame);
        Ok(())
    }
}

impl From<FrameError> for Error {
    fn from(err: FrameError) -> Self {
        Self::Frame(err)
    }
}
