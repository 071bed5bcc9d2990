//! The bounded line reader.

use super::*;

/// Feeds `input` in one piece and collects every line (or error).
fn lines(reader: &mut LineReader, mut input: &[u8]) -> Vec<Result<Line, LineTooLong>> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (consumed, line) = reader.feed(input);
        input = &input[consumed..];
        out.extend(line);
    }
    out
}

fn line(bytes: &[u8], crlf: bool) -> Result<Line, LineTooLong> {
    Ok(Line {
        bytes: bytes.to_vec(),
        crlf,
    })
}

#[test]
fn crlf_and_bare_lf_end_lines_and_bare_cr_is_data() {
    let mut reader = LineReader::new(DEFAULT_MAX_LINE_LEN);
    assert_eq!(
        lines(&mut reader, b"one\r\ntwo\nthree\rstill three\r\n\r\n"),
        [
            line(b"one", true),
            line(b"two", false),
            line(b"three\rstill three", true),
            line(b"", true)
        ]
    );
    assert_eq!(reader.buffered_len(), 0);
}

#[test]
fn partial_lines_are_buffered_until_their_end() {
    let mut reader = LineReader::new(16);
    assert_eq!(reader.feed(b"abc"), (3, None));
    assert_eq!(reader.feed(b"de\r"), (3, None));
    assert_eq!(reader.buffered_len(), 6);
    assert_eq!(reader.feed(b"\nrest"), (1, Some(line(b"abcde", true))));
    reader.clear();
    assert_eq!(reader.buffered_len(), 0);
}

#[test]
fn limit_counts_the_terminator() {
    let mut reader = LineReader::new(6);
    assert_eq!(lines(&mut reader, b"abcd\r\n"), [line(b"abcd", true)]);
    assert_eq!(lines(&mut reader, b"abcde\r\n"), [Err(LineTooLong)]);
    // Reported as soon as the line cannot fit any more, before its end arrives.
    assert_eq!(reader.feed(b"abcdef"), (6, Some(Err(LineTooLong))));
    assert_eq!(reader.buffered_len(), 0);
    assert_eq!(reader.max_line_len(), 6);
}

#[test]
fn lines_split_anywhere_are_the_same_lines() {
    let input = b"EHLO x\r\nMAIL FROM:<a>\nDATA\r\n";
    let whole = lines(&mut LineReader::new(64), input);
    for split in 0..=input.len() {
        let mut reader = LineReader::new(64);
        let mut got = lines(&mut reader, &input[..split]);
        got.extend(lines(&mut reader, &input[split..]));
        assert_eq!(got, whole, "split at {split}");
    }
}

#[test]
fn text_replaces_invalid_utf8() {
    assert_eq!(
        Line {
            bytes: b"a\xffb".to_vec(),
            crlf: true
        }
        .text(),
        "a\u{fffd}b"
    );
}
