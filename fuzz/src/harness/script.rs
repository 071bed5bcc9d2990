//! The input layout the machine targets share:
//!
//! ```text
//! byte 0        flags (meaning per target, see ClientFlags and ServerFlags)
//! byte 1        n = byte % 16: how many explicit chunk lengths follow
//! bytes 2..2+n  chunk lengths (0 = an empty handle_input call)
//! rest          the byte stream; cut into chunks of those lengths, the remainder is a last chunk
//! ```
//!
//! Seeds with `n = 0` are a whole exchange in one read; the fuzzer moves the split points by
//! mutating the length bytes.

/// A fuzz input cut into flags and chunks (see the module documentation).
#[derive(Clone, Debug)]
pub struct Script<'a> {
    /// Byte 0.
    pub flags: u8,
    /// The stream, cut at the requested points.
    pub chunks: Vec<&'a [u8]>,
    /// The whole stream, uncut.
    pub stream: &'a [u8],
}

impl<'a> Script<'a> {
    /// Parses the layout; never fails (missing bytes count as zero).
    pub fn parse(data: &'a [u8]) -> Self {
        let flags = data.first().copied().unwrap_or(0);
        let n = usize::from(data.get(1).copied().unwrap_or(0) % 16);
        let lens_end = (2 + n).min(data.len());
        let lens = data.get(2.min(lens_end)..lens_end).unwrap_or_default();
        let stream = data.get(lens_end..).unwrap_or_default();
        let mut chunks = Vec::new();
        let mut rest = stream;
        for &len in lens {
            let (chunk, tail) = rest.split_at(usize::from(len).min(rest.len()));
            chunks.push(chunk);
            rest = tail;
        }
        if !rest.is_empty() || chunks.is_empty() {
            chunks.push(rest);
        }
        Self {
            flags,
            chunks,
            stream,
        }
    }

    /// Builds a fuzz input: flags, chunk lengths, stream (the inverse of [`Script::parse`]).
    pub fn encode(flags: u8, lens: &[u8], stream: &[u8]) -> Vec<u8> {
        assert!(lens.len() < 16, "at most 15 chunk lengths");
        let mut out = vec![flags, u8::try_from(lens.len()).unwrap_or(0)];
        out.extend_from_slice(lens);
        out.extend_from_slice(stream);
        out
    }
}

/// The chunk lengths of a script, to name the split in a failure.
pub(super) fn chunk_lens(script: &Script<'_>) -> Vec<usize> {
    script.chunks.iter().map(|chunk| chunk.len()).collect()
}
