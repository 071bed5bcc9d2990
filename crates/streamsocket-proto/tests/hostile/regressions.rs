//! Bugs the fuzzers found, each as a readable test; the crashing inputs
//! themselves are replayed from `fixtures/fuzz/<target>/regress-*` by `corpus.rs`.

use streamsocket_proto::starttls::{Dialect, LineReader, LineTooLong, ServerSettings};

use crate::support::Server;

/// `line_reader`, input `01 01 01 00 0d`: a line reported too long before its end had its
/// tail read again, as a second error or as a line of its own (a desynchronisation that
/// depends on how TCP splits the stream). Now the tail up to its LF is skipped.
#[test]
fn the_tail_of_a_too_long_line_is_never_read_as_a_line() {
    let mut reader = LineReader::new(8);
    assert_eq!(reader.feed(b"abcdefgh"), (8, Some(Err(LineTooLong))));
    assert_eq!(reader.feed(b"ef"), (2, None));
    assert_eq!(reader.feed(b"QUIT\r\nNOOP\r\n"), (6, None));
    let (consumed, line) = reader.feed(b"NOOP\r\n");
    assert_eq!(consumed, 6);
    assert_eq!(
        line.and_then(Result::ok).map(|l| l.bytes),
        Some(b"NOOP".to_vec())
    );
    // One error per too-long line, split or not.
    let mut reader = LineReader::new(1);
    assert_eq!(reader.feed(b"\0"), (1, Some(Err(LineTooLong))));
    assert_eq!(reader.feed(b"\r"), (1, None));
}

/// `line_reader`, the empty input: with a limit of 0, feeding nothing reported a too-long line.
#[test]
fn feeding_nothing_reports_nothing() {
    for max in [0, 1, 2048] {
        let mut reader = LineReader::new(max);
        assert_eq!(reader.feed(b""), (0, None), "limit {max}");
    }
}

/// `smtp_server`: the EHLO argument is echoed in the 250 reply, and a bare CR (or NUL) in it
/// ended up inside a reply line, which a client that treats CR as a line end reads as two
/// replies. Control characters in the argument are now refused with 501.
#[test]
fn an_ehlo_argument_with_control_characters_is_refused_not_echoed() {
    for argument in [&b"a\rb"[..], b"c\0d", b"e\x1bf", b"g\x7fh"] {
        let mut server = Server::greeted(Dialect::Smtp, ServerSettings::default());
        server.feed(&[&b"EHLO "[..], argument, b"\r\n"].concat());
        assert_eq!(
            server.take_lines(),
            ["501 5.5.4 Syntax: EHLO hostname"],
            "{argument:?}"
        );
    }
    let mut server = Server::greeted(Dialect::Smtp, ServerSettings::default());
    server.feed(b"EHLO client.example\r\n");
    assert!(server.take_lines()[0].ends_with("greets client.example"));
}
