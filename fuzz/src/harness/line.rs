//! The `line_reader` target: the bounded line reader against an independent model.

use streamsocket_proto::starttls::{Line, LineReader, LineTooLong};

use super::script::{Script, chunk_lens};

/// `line_reader`: byte 0 is the line limit (0..=255, terminator included); the chunks are fed
/// to a [`LineReader`]. Oracles: no panic, every call consumes, the buffer stays below the
/// limit, and the lines (and errors) equal an independent model of the whole stream, whatever
/// the split: a too-long line gives exactly one error and its tail is never read as a line.
pub fn line_reader(data: &[u8]) {
    let script = Script::parse(data);
    let max = usize::from(script.flags);
    let mut reader = LineReader::new(max);
    let mut got = Vec::new();
    for chunk in &script.chunks {
        let mut rest: &[u8] = chunk;
        loop {
            let (consumed, line) = reader.feed(rest);
            assert!(consumed <= rest.len(), "consumed more than given");
            assert!(
                consumed > 0 || rest.is_empty(),
                "feed made no progress on {} bytes",
                rest.len()
            );
            assert!(
                reader.buffered_len() <= max,
                "buffer {} above limit {max}",
                reader.buffered_len()
            );
            if let Some(line) = line {
                if let Ok(line) = &line {
                    assert!(!line.bytes.contains(&b'\n'), "line holds a LF");
                    let terminator = if line.crlf { 2 } else { 1 };
                    assert!(line.bytes.len() + terminator <= max, "line above limit");
                }
                got.push(line);
            }
            rest = rest.get(consumed..).unwrap_or_default();
            if rest.is_empty() {
                break;
            }
        }
    }
    assert_eq!(
        got,
        line_model(script.stream, max),
        "split {:?}",
        chunk_lens(&script)
    );
}

/// The independent model of [`LineReader`] over a whole stream.
fn line_model(stream: &[u8], max: usize) -> Vec<Result<Line, LineTooLong>> {
    let mut out = Vec::new();
    let mut rest = stream;
    while let Some(lf) = rest.iter().position(|&b| b == b'\n') {
        let (line, tail) = rest.split_at(lf + 1);
        rest = tail;
        if line.len() > max {
            out.push(Err(LineTooLong));
            continue;
        }
        let body = &line[..lf];
        let (bytes, crlf) = match body.strip_suffix(b"\r") {
            Some(bytes) => (bytes, true),
            None => (body, false),
        };
        out.push(Ok(Line {
            bytes: bytes.to_vec(),
            crlf,
        }));
    }
    // A partial line that already fills the limit cannot end within it: reported at once.
    if !rest.is_empty() && rest.len() >= max {
        out.push(Err(LineTooLong));
    }
    out
}
