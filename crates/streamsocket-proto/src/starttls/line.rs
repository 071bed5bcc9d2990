//! A bounded line reader for the text dialects (SMTP, IMAP, POP3).

/// Splits a byte stream into lines, never buffering more than one line's limit.
///
/// # Line-ending policy
///
/// - A line ends at LF. A CR immediately before the LF belongs to the terminator and is removed.
/// - A bare LF (without CR) is accepted as a line end, as Postfix, Dovecot and most clients do:
///   the state machines never compare terminators, so strictness would only break sloppy peers.
///   [`Line::crlf`] tells which terminator was seen, and the SMTP server uses it where it
///   matters: the end of DATA is recognised only as `<CR><LF>.<CR><LF>` (no SMTP smuggling).
/// - A bare CR is an ordinary byte of the line.
///
/// # Length policy
///
/// `max_line_len` bounds a line **including** its terminator (RFC 5321 counts the CRLF in its
/// 512 and 1000 octet limits; the default [`DEFAULT_MAX_LINE_LEN`](super::DEFAULT_MAX_LINE_LEN)
/// of 2048 accepts both). As soon as a line cannot fit any more, [`LineReader::feed`] reports
/// [`LineTooLong`] without waiting for its end, so the buffer never holds more than
/// `max_line_len` bytes. The rest of that line, up to and including its LF, is then skipped:
/// each too-long line gives exactly one error and its tail is never read as a line of its own,
/// however the stream is split.
#[derive(Clone, Debug)]
pub struct LineReader {
    buf: Vec<u8>,
    max_line_len: usize,
    /// A too-long line was reported before its end: skip input up to its LF.
    skipping: bool,
}

impl LineReader {
    /// A reader that accepts lines of at most `max_line_len` bytes, terminator included.
    pub fn new(max_line_len: usize) -> Self {
        Self {
            buf: Vec::new(),
            max_line_len,
            skipping: false,
        }
    }

    /// The line limit, terminator included.
    pub fn max_line_len(&self) -> usize {
        self.max_line_len
    }

    /// How many bytes of an incomplete line are buffered (never more than the limit).
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// The bytes of the unfinished line held now.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Forgets any partial line (and the rest of a too-long one).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.skipping = false;
    }

    /// Consumes bytes from `input` up to and including the first line end.
    ///
    /// Returns how many bytes of `input` were consumed and, if a line was completed, the line
    /// (or [`LineTooLong`], after which the partial line is forgotten and the rest of it, up to
    /// its LF, is skipped). When no line end is in `input`, all of it is consumed and buffered.
    pub fn feed(&mut self, input: &[u8]) -> (usize, Option<Result<Line, LineTooLong>>) {
        let lf = input.iter().position(|&b| b == b'\n');
        if self.skipping {
            // The tail of a line already reported as too long.
            let Some(lf) = lf else {
                return (input.len(), None);
            };
            self.skipping = false;
            return (lf + 1, None);
        }
        if input.is_empty() {
            return (0, None);
        }
        match lf {
            Some(lf) => {
                let consumed = lf + 1;
                if self.buf.len() + consumed > self.max_line_len {
                    self.buf.clear();
                    return (consumed, Some(Err(LineTooLong)));
                }
                let mut bytes = std::mem::take(&mut self.buf);
                bytes.extend_from_slice(input.get(..lf).unwrap_or_default());
                let crlf = bytes.last() == Some(&b'\r');
                if crlf {
                    bytes.pop();
                }
                (consumed, Some(Ok(Line { bytes, crlf })))
            }
            None => {
                // A line that already holds `max_line_len` bytes cannot end within the limit.
                if self.buf.len() + input.len() >= self.max_line_len {
                    self.buf.clear();
                    self.skipping = true;
                    return (input.len(), Some(Err(LineTooLong)));
                }
                self.buf.extend_from_slice(input);
                (input.len(), None)
            }
        }
    }
}

/// One line, without its terminator.
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct Line {
    /// The bytes of the line, without the CR LF or LF that ended it.
    pub bytes: Vec<u8>,
    /// Whether the line ended with CR LF (false: a bare LF).
    pub crlf: bool,
}

impl Line {
    /// The line as text; bytes that are not UTF-8 become U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

/// A line longer than the reader's limit.
#[derive(Clone, Copy, Debug, Eq, PartialEq, thiserror::Error)]
#[error("line too long")]
pub struct LineTooLong;
