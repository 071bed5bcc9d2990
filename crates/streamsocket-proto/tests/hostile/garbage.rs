//! Garbage instead of a protocol, oversized lines and frames, truncation.
//!
//! Line-ending policy (the `LineReader`'s, documented there): LF ends a line and a CR right
//! before it is dropped; a bare LF is accepted as a line end; a bare CR is an ordinary byte.

use streamsocket_proto::codec::HEADER_LEN;
use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, CloseReason, DEFAULT_MAX_LINE_LEN, Dialect, MAX_MYSQL_PACKET_LEN,
    MAX_STARTUP_PACKET, MAX_TLS_PREFIX, ServerEvent, ServerSettings,
};

use crate::support::{
    Client, LINE_DIALECTS, Server, client_hello, is_error_line, pseudo_random, script,
};

const MIB: usize = 1 << 20;

/// The garbage, each fed whole and in small pieces.
fn garbage() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "http request",
            b"GET / HTTP/1.1\r\nHost: mail.example\r\nUser-Agent: x\r\n\r\n".to_vec(),
        ),
        ("raw client hello", client_hello()),
        ("1 MiB of random bytes", pseudo_random(MIB, 7)),
        (
            "invalid utf-8",
            b"\xff\xfe\xfd\xc3\x28\xa0\xa1\r\n".to_vec(),
        ),
        ("nul bytes", b"\0\0\0\0\0\0\r\n".to_vec()),
        ("bare cr", b"\r\r\r\r".to_vec()),
        ("bare lf", b"\n\n\n".to_vec()),
        ("10 MiB without crlf", vec![b'A'; 10 * MIB]),
    ]
}

/// What a server may hold for one connection: the line or frame limit, or one TLS prefix.
fn bound(dialect: Dialect, started_tls: bool) -> usize {
    match dialect {
        Dialect::Framed if started_tls => MAX_TLS_PREFIX,
        Dialect::Framed => streamsocket_proto::codec::DEFAULT_MAX_FRAME_LEN as usize + HEADER_LEN,
        Dialect::Implicit => MAX_TLS_PREFIX,
        // PostgreSQL 17's direct TLS: a first byte 0x16 starts TLS, the bytes are its prefix.
        Dialect::Postgres if started_tls => MAX_TLS_PREFIX,
        Dialect::Postgres => MAX_STARTUP_PACKET,
        Dialect::Mysql if started_tls => MAX_TLS_PREFIX,
        Dialect::Mysql => HEADER_LEN + MAX_MYSQL_PACKET_LEN,
        _ => DEFAULT_MAX_LINE_LEN,
    }
}

#[test]
fn servers_answer_garbage_with_errors_or_a_close_and_stay_bounded() {
    let mut cases = 0;
    for dialect in Dialect::ALL {
        for (name, bytes) in garbage() {
            for chunk in [bytes.len().max(1), 1500, 1] {
                if chunk == 1 && bytes.len() > 64 * 1024 {
                    continue;
                }
                cases += 1;
                let what = format!("{dialect} {name} in chunks of {chunk}");
                let mut server = Server::greeted(dialect, ServerSettings::default());
                server.feed_chunked(&bytes, chunk);
                let started_tls = server.events.contains(&ServerEvent::StartTls);
                assert!(
                    server.max_buffered <= bound(dialect, started_tls),
                    "{what}: buffered {}",
                    server.max_buffered
                );
                let pending = server.machine.buffered_len();
                if dialect.is_line_based() {
                    assert!(!started_tls, "{what}: garbage started tls");
                    let lines = server.take_lines();
                    for line in &lines {
                        assert!(is_error_line(dialect, line), "{what}: answered {line:?}");
                    }
                    // Defined: error replies, a close, or a partial line still below the limit;
                    // IRC ignores empty lines silently (RFC 2812 section 2.3.1).
                    let silent = dialect == Dialect::Irc && name == "bare lf";
                    assert!(
                        !lines.is_empty() || server.closed() || pending > 0 || silent,
                        "{what}: no defined outcome"
                    );
                } else if dialect == Dialect::Postgres {
                    // No packet: at most a FATAL ErrorResponse and the close, or a partial
                    // packet still below the limit; a ClientHello starts direct TLS.
                    assert!(
                        !started_tls || bytes.first() == Some(&0x16),
                        "{what}: garbage started tls"
                    );
                    let replies = std::mem::take(&mut server.replies);
                    assert!(
                        replies.is_empty() || replies.first() == Some(&b'E'),
                        "{what}: answered {replies:?}"
                    );
                    assert!(
                        started_tls || server.closed() || pending > 0,
                        "{what}: no defined outcome"
                    );
                } else if dialect == Dialect::Mysql {
                    // An ERR packet (0xff after the 4-byte header) and the close, or a partial
                    // packet still held: never the start of TLS (no SSLRequest was sent).
                    assert!(!started_tls, "{what}: garbage started tls");
                    let replies = std::mem::take(&mut server.replies);
                    assert!(
                        replies.is_empty() || (replies.get(4) == Some(&0xff) && server.closed()),
                        "{what}: answered {replies:?}"
                    );
                    assert!(server.closed() || pending > 0, "{what}: no outcome");
                } else {
                    // Before TLS a framed server never answers; it reports frames, the start of
                    // TLS or a close, or holds a partial frame.
                    assert_eq!(server.take_replies(), "", "{what}");
                    assert!(
                        !server.events.is_empty() || pending > 0,
                        "{what}: no outcome"
                    );
                }
                server.eof();
                assert!(server.closed(), "{what}: eof does not close");
                let closes = server
                    .events
                    .iter()
                    .filter(|event| matches!(event, ServerEvent::Close(_)))
                    .count();
                assert_eq!(closes, 1, "{what}: {:?}", server.events);
            }
        }
    }
    assert!(cases >= 100, "{cases} cases");
}

#[test]
fn clients_fail_on_garbage_and_send_nothing_but_a_goodbye() {
    for dialect in Dialect::ALL {
        for (name, bytes) in garbage() {
            let what = format!("{dialect} client, {name}");
            let mut client = Client::new(dialect);
            let before = client.take_events();
            // What a client says before any input (IRC's CAP LS, PostgreSQL's SSLRequest)
            // answers nothing.
            let first = client.take_sent();
            client.feed(&bytes).eof();
            let events = client.take_events();
            assert!(
                !events.contains(&ClientEvent::StartTls),
                "{what}: {events:?}"
            );
            assert!(
                matches!(events.as_slice(), [ClientEvent::Failed(_)]),
                "{what}: {events:?}"
            );
            let sent = client.take_sent();
            if dialect == Dialect::Mysql {
                // The server speaks first; a client that never read a greeting sends nothing.
                assert_eq!(before, [], "{what}");
                assert_eq!(sent, "", "{what}");
            } else if dialect.is_line_based() {
                let goodbye = script(dialect).goodbye;
                assert!(sent.is_empty() || sent == goodbye, "{what}: sent {sent:?}");
            } else if dialect == Dialect::Postgres {
                // The SSLRequest (Int32 8, Int32 80877103) first and nothing else: no goodbye
                // exists.
                assert_eq!(before, [], "{what}");
                let request = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];
                assert_eq!(first, String::from_utf8_lossy(&request), "{what}");
                assert_eq!(sent, "", "{what}");
            } else {
                // Framed and Implicit: StartTls at once, then every byte is injected plaintext.
                assert_eq!(before, [ClientEvent::StartTls], "{what}");
                assert_eq!(sent, "", "{what}");
                assert!(matches!(
                    events.as_slice(),
                    [ClientEvent::Failed(
                        ClientFailure::PlaintextAfterGoAhead { .. }
                    )]
                ));
            }
        }
    }
}

#[test]
fn lf_ends_a_line_and_a_bare_cr_is_data() {
    let mut server = Server::greeted(Dialect::Smtp, ServerSettings::default());
    server.feed(b"NOOP\nNOOP\r\n");
    assert_eq!(server.take_lines(), ["250 2.0.0 OK", "250 2.0.0 OK"]);
    server.feed(b"NOOP\rNOOP\r\n");
    assert_eq!(
        server.take_lines(),
        ["500 5.5.2 Error: command not recognized"]
    );
}

#[test]
fn an_oversized_line_closes_the_session_without_buffering_it() {
    for dialect in LINE_DIALECTS {
        for chunk in [64 * 1024, 10 * MIB] {
            let mut server = Server::greeted(dialect, ServerSettings::default());
            server.feed_chunked(&vec![b'A'; 10 * MIB], chunk);
            assert_eq!(
                server.take_events(),
                [ServerEvent::Close(CloseReason::LineTooLong)],
                "{dialect}"
            );
            let lines = server.take_lines();
            assert_eq!(lines.len(), 1, "{dialect}: {lines:?}");
            assert!(is_error_line(dialect, &lines[0]), "{dialect}: {lines:?}");
            assert!(server.max_buffered < DEFAULT_MAX_LINE_LEN, "{dialect}");
            assert_eq!(server.machine.buffered_len(), 0);
        }
    }
}

#[test]
fn a_line_of_exactly_the_limit_is_accepted_and_one_more_byte_is_not() {
    for dialect in LINE_DIALECTS {
        let config = ServerSettings {
            max_line_len: 16,
            ..ServerSettings::default()
        };
        // 14 bytes + CRLF = 16.
        let mut server = Server::greeted(dialect, config.clone());
        server.feed(b"NOOP          \r\n");
        assert!(!server.closed(), "{dialect}: {:?}", server.events);
        let mut server = Server::greeted(dialect, config);
        server.feed(b"NOOP           \r\n");
        assert_eq!(
            server.take_events(),
            [ServerEvent::Close(CloseReason::LineTooLong)],
            "{dialect}"
        );
    }
}

#[test]
fn a_frame_declaring_4_gib_is_refused_on_its_header() {
    let mut server = Server::new(Dialect::Framed, ServerSettings::default());
    for byte in [0x00, 0xff, 0xff] {
        server.feed(&[byte]);
        assert!(server.events.is_empty());
    }
    assert_eq!(server.machine.buffered_len(), 3);
    let mut server = Server::new(Dialect::Framed, ServerSettings::default());
    server.feed_chunked(&[0x15, 0xff, 0xff, 0xff, b'x', b'y'], 1);
    assert_eq!(
        server.take_events(),
        [ServerEvent::Close(CloseReason::FrameTooLong)]
    );
    assert!(server.max_buffered <= HEADER_LEN);
    // 0xffffffff starts like a TLS record? No: 0xff is not 0x16, so it is a frame header.
    let mut server = Server::new(Dialect::Framed, ServerSettings::default());
    server.feed(&[0xff, 0xff, 0xff, 0xff]);
    assert_eq!(
        server.take_events(),
        [ServerEvent::Close(CloseReason::FrameTooLong)]
    );
}

#[test]
fn a_zero_length_frame_is_a_frame_and_echoed_only_inside_tls() {
    let mut server = Server::new(Dialect::Framed, ServerSettings::default());
    server.feed(&[0, 0, 0, 0]);
    assert_eq!(server.take_events(), [ServerEvent::Frame(String::new())]);
    assert_eq!(server.take_replies(), "", "no echo before tls");
    let hello = client_hello();
    server.feed(&hello);
    assert_eq!(server.take_events(), [ServerEvent::StartTls]);
    assert_eq!(server.establish(), hello);
    server.feed(&[0, 0, 0, 0]);
    assert_eq!(server.take_events(), [ServerEvent::Frame(String::new())]);
    assert_eq!(server.replies, [0, 0, 0, 0]);
}

#[test]
fn eof_inside_a_length_or_a_payload_closes_without_a_frame() {
    for partial in [&[0u8, 0][..], &[0, 0, 0, 5, b'h', b'e'][..], &[0, 0, 0][..]] {
        let mut server = Server::new(Dialect::Framed, ServerSettings::default());
        server.feed(partial).eof();
        assert_eq!(
            server.take_events(),
            [ServerEvent::Close(CloseReason::Eof)],
            "{partial:?}"
        );
        assert_eq!(server.machine.buffered_len(), 0, "{partial:?}");
    }
}

#[test]
fn a_client_hello_one_byte_at_a_time_is_handed_to_tls_whole() {
    let hello = client_hello();
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let mut server = Server::new(dialect, ServerSettings::default());
        server.feed_chunked(&hello, 1);
        assert_eq!(server.take_events(), [ServerEvent::StartTls], "{dialect}");
        assert_eq!(server.take_replies(), "", "{dialect}");
        assert_eq!(server.machine.buffered_len(), hello.len());
        assert_eq!(server.establish(), hello, "{dialect}");
        assert_eq!(server.machine.buffered_len(), 0);
    }
    for dialect in LINE_DIALECTS {
        let mut server = Server::greeted(dialect, ServerSettings::default());
        server.feed_chunked(&hello, 1);
        assert!(server.max_buffered < DEFAULT_MAX_LINE_LEN, "{dialect}");
        assert!(!server.events.contains(&ServerEvent::StartTls), "{dialect}");
        for line in server.take_lines() {
            assert!(is_error_line(dialect, &line), "{dialect}: {line:?}");
        }
        server.eof();
        assert!(server.closed(), "{dialect}");
    }
}

#[test]
fn a_tls_prefix_beyond_its_limit_closes_the_framed_server() {
    let mut hello = vec![0x16, 0x03, 0x01, 0xff, 0xff];
    hello.extend(pseudo_random(MAX_TLS_PREFIX, 3));
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let mut server = Server::new(dialect, ServerSettings::default());
        server.feed_chunked(&hello, 16 * 1024);
        assert_eq!(
            server.events.last(),
            Some(&ServerEvent::Close(CloseReason::TlsPrefixTooLong)),
            "{dialect}: {:?}",
            server.events
        );
        assert!(server.max_buffered <= MAX_TLS_PREFIX, "{dialect}");
    }
}

#[test]
fn random_bytes_end_a_line_session_with_too_many_errors_or_a_long_line() {
    for dialect in LINE_DIALECTS {
        for seed in 1..=4 {
            let mut server = Server::greeted(dialect, ServerSettings::default());
            server.feed_chunked(&pseudo_random(MIB, seed), 1500);
            assert!(
                matches!(
                    server.events.as_slice(),
                    [ServerEvent::Close(
                        CloseReason::TooManyErrors | CloseReason::LineTooLong
                    )]
                ),
                "{dialect} seed {seed}: {:?}",
                server.events
            );
        }
    }
}
