//! Malformed and oversized input at the mock server over TCP. Every input gets a defined reply
//! (well-formed lines of the dialect) or a close, never a panic or a hang: each case waits for
//! the server to record the session's close reason, which a panicking session never does. The
//! memory a session holds is bounded: `peak_buffered_bytes` (the most input bytes the dialect
//! machine held between two reads, over all sessions) stays within the line or frame limit.
//!
//! Line-ending policy (the proto crate's `LineReader`, checked here over TCP): LF ends a line
//! and a CR before it is dropped, so a bare LF is accepted as a line end; a bare CR is data, so
//! `NOOP\rQUIT\r\n` is one (unknown) command and can never smuggle a second one.

use mockserver::stats::{Phase, SessionEnd};
use mockserver::testing::{self, RunningServer};
use mockserver::{Limits, MockConfig};
use streamsocket::Dialect;
use streamsocket::proto::starttls::CloseReason;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hostile_tests::{
    LINE_DIALECTS, RawPeer, Trickle, client_hello, frame, go_ahead, mock, random_bytes,
    read_greeting, read_reply, spawn_flood, starttls_command, tls_client, valid_identity, within,
};

/// Whether `line` is a well-formed reply line of `dialect`.
fn well_formed(dialect: Dialect, line: &str) -> bool {
    if !line.ends_with("\r\n") {
        return false;
    }
    let b = line.as_bytes();
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => {
            b.len() >= 5
                && b.iter().take(3).all(u8::is_ascii_digit)
                && matches!(b.get(3), Some(b' ' | b'-'))
        }
        Dialect::Nntp => {
            b.len() >= 5 && b.iter().take(3).all(u8::is_ascii_digit) && b.get(3) == Some(&b' ')
        }
        Dialect::Imap => {
            line.starts_with("* ") || matches!(line.split(' ').nth(1), Some("OK" | "NO" | "BAD"))
        }
        // A capability line (a quoted string) or a response (RFC 5804 section 4).
        Dialect::Sieve => ["\"", "OK", "NO", "BYE"]
            .iter()
            .any(|p| line.starts_with(p)),
        _ => line.starts_with("+OK") || line.starts_with("-ERR"),
    }
}

/// The goodbye a raw client sends to end a line session.
fn quit(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Imap => b"Z9 LOGOUT\r\n",
        Dialect::Sieve => b"LOGOUT\r\n",
        Dialect::Smtp | Dialect::Lmtp | Dialect::Pop3 | Dialect::Nntp => b"QUIT\r\n",
        _ => b"",
    }
}

/// Sends `input` (then, for line dialects and if `goodbye`, a goodbye) from a separate task
/// and closes the write half; reads everything the server answers until it closes; waits
/// until the server recorded the close. Returns the answer after the greeting and the close
/// reason.
async fn feed(
    server: &RunningServer,
    dialect: Dialect,
    input: &[u8],
    goodbye: bool,
) -> (Vec<u8>, SessionEnd) {
    let mut peer = RawPeer::connect(server.addr()).await.unwrap();
    if dialect.is_line_based() {
        read_greeting(&mut peer, dialect).await.unwrap();
    }
    let (mut rd, wr) = peer.into_inner().into_split();
    let mut bytes = input.to_vec();
    if goodbye {
        bytes.extend_from_slice(quit(dialect));
    }
    let writer = spawn_flood(wr, bytes);
    let mut answer = Vec::new();
    // A reset also ends the answer: the server may close while we are still writing.
    let _ = within(rd.read_to_end(&mut answer)).await.unwrap();
    within(server.wait_closed(1)).await.unwrap();
    writer.abort();
    let reason = server.transcripts()[0].end.unwrap();
    (answer, reason)
}

fn assert_well_formed(dialect: Dialect, case: &str, answer: &[u8]) {
    if dialect.is_line_based() {
        let text = String::from_utf8_lossy(answer);
        for line in text.split_inclusive("\r\n") {
            assert!(
                well_formed(dialect, line),
                "{dialect}, {case}: {line:?} in {text:?}"
            );
        }
    } else {
        // Framed servers answer nothing in plaintext (an answer would land in the handshake).
        assert_eq!(answer, b"", "{dialect}, {case}");
    }
}

/// The limit the machine's buffers must stay within for `dialect`.
fn buffer_limit(dialect: Dialect, limits: &Limits) -> u64 {
    if dialect.is_line_based() {
        limits.line_len as u64
    } else {
        u64::from(limits.frame_len)
    }
}

#[tokio::test]
async fn garbage_instead_of_a_protocol_gets_a_defined_reply_or_a_close() {
    let identity = valid_identity();
    let hello = client_hello(&identity);
    let http: &[u8] = b"GET / HTTP/1.1\r\nHost: mock\r\nUser-Agent: hostile\r\n\r\n";
    let random = random_bytes(7, 1 << 20);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("http request", http.to_vec()),
        ("1 MiB random", random),
        ("invalid utf-8", b"\xff\xfe\xc0\xaf \x80\r\n".to_vec()),
        ("nul bytes", b"NO\0OP\r\n\0\0\0\r\n".to_vec()),
        ("bare cr", b"NOOP\rQUIT\r\n".to_vec()),
        ("bare lf", b"NOOP\n".to_vec()),
        ("eof mid-line", b"EHL".to_vec()),
    ];
    for dialect in [Dialect::Smtp, Dialect::Imap, Dialect::Pop3, Dialect::Framed] {
        let mut all = cases.clone();
        if dialect.is_line_based() {
            // A ClientHello on a port that has not given the go-ahead is not TLS.
            all.push(("raw client hello", hello.clone()));
        }
        for (case, input) in all {
            let server = testing::spawn(mock(dialect)).await;
            let mid_line = case == "eof mid-line";
            let (answer, reason) = feed(&server, dialect, &input, !mid_line).await;
            assert_well_formed(dialect, case, &answer);
            if mid_line && dialect.is_line_based() {
                assert_eq!(reason, SessionEnd::Machine(CloseReason::Eof), "{dialect}");
            }
            let stats = server.snapshot();
            assert!(
                !matches!(reason, SessionEnd::IdleTimeout | SessionEnd::RequestTimeout),
                "{dialect}, {case}: {reason:?}"
            );
            if dialect.is_line_based() {
                assert_eq!(stats.upgrades, 0, "{dialect}, {case}");
            }
            assert_eq!(stats.handshakes_ok, 0, "{dialect}, {case}");
            assert!(
                stats.peak_buffered_bytes <= buffer_limit(dialect, &server.config().limits),
                "{dialect}, {case}: {} bytes held",
                stats.peak_buffered_bytes
            );
            server.shutdown().await;
        }
    }
}

/// A command with an odd byte inside, and a command that must then still work.
fn probe(dialect: Dialect) -> &'static [u8] {
    hostile_tests::harmless(dialect)
}

fn is_error(dialect: Dialect, line: &str) -> bool {
    hostile_tests::negative(dialect, line)
}

#[tokio::test]
async fn odd_bytes_in_a_line_are_an_error_and_never_split_a_command() {
    for dialect in LINE_DIALECTS {
        let bare_cr: &[u8] = match dialect {
            Dialect::Smtp | Dialect::Lmtp => b"NOOP\rQUIT\r\n",
            Dialect::Imap => b"A1 NOOP\rA2 LOGOUT\r\n",
            Dialect::Nntp => b"MODE READER\rQUIT\r\n",
            Dialect::Sieve => b"NOOP\rLOGOUT\r\n",
            _ => b"CAPA\rQUIT\r\n",
        };
        let inputs: [&[u8]; 4] = [
            b"\xff\xfe\xc0\xaf \x80\r\n",
            b"NO\0OP\r\n",
            b"\0\r\n",
            bare_cr,
        ];
        let server = testing::spawn(mock(dialect)).await;
        let mut peer = RawPeer::connect(server.addr()).await.unwrap();
        read_greeting(&mut peer, dialect).await.unwrap();
        for input in inputs {
            peer.send(input).await.unwrap();
            let line = peer.line().await.unwrap();
            assert!(is_error(dialect, &line), "{dialect}, {input:?}: {line:?}");
        }
        // The session survived all of them (no QUIT or LOGOUT was smuggled by the bare CR).
        peer.send(probe(dialect)).await.unwrap();
        let reply = read_reply(&mut peer, dialect, true).await.unwrap();
        assert!(!is_error(dialect, &reply[0]), "{dialect}: {reply:?}");

        // A bare LF ends a line.
        let mut bare_lf = probe(dialect).to_vec();
        bare_lf.truncate(bare_lf.len() - 2);
        bare_lf.push(b'\n');
        peer.send(&bare_lf).await.unwrap();
        let reply = read_reply(&mut peer, dialect, true).await.unwrap();
        assert!(!is_error(dialect, &reply[0]), "{dialect}: {reply:?}");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn ten_mib_without_a_line_end_is_cut_at_the_limit() {
    let flood = vec![b'A'; 10 << 20];
    for dialect in [
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
        Dialect::Framed,
        Dialect::Implicit,
    ] {
        let server = testing::spawn(mock(dialect)).await;
        let (answer, reason) = feed(&server, dialect, &flood, true).await;
        match dialect {
            Dialect::Framed => {
                assert_eq!(reason, SessionEnd::Machine(CloseReason::FrameTooLong));
            }
            Dialect::Implicit => {
                assert!(matches!(reason, SessionEnd::HandshakeFailed(_)), "{reason}");
            }
            _ => assert_eq!(
                reason,
                SessionEnd::Machine(CloseReason::LineTooLong),
                "{dialect}"
            ),
        }
        if dialect != Dialect::Implicit {
            assert_well_formed(dialect, "flood", &answer);
        }
        let stats = server.snapshot();
        assert!(
            stats.peak_buffered_bytes <= buffer_limit(dialect, &server.config().limits),
            "{dialect}: {} bytes held",
            stats.peak_buffered_bytes
        );
        // The server stopped reading long before the end.
        let t = &server.transcripts()[0];
        let read = t.bytes(Phase::Plaintext).len() as u64 + t.dropped_bytes;
        assert!(read < 4 << 20, "{dialect}: read {read} bytes");
        server.shutdown().await;
    }
}

#[tokio::test]
async fn a_frame_declaring_4_gib_is_refused_before_any_allocation() {
    let identity = valid_identity();
    // Framed, in plaintext.
    let server = testing::spawn(mock(Dialect::Framed)).await;
    let (answer, reason) = feed(&server, Dialect::Framed, &[0xff, 0xff, 0xff, 0xff], false).await;
    assert_eq!(answer, b"");
    assert_eq!(reason, SessionEnd::Machine(CloseReason::FrameTooLong));
    assert!(server.snapshot().peak_buffered_bytes <= 4);
    server.shutdown().await;

    // Framed after the upgrade, and Implicit: inside TLS.
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let server = testing::spawn(mock(dialect)).await;
        let tcp = RawPeer::connect(server.addr()).await.unwrap().into_inner();
        let mut tls = tls_client(tcp, &identity).await.unwrap();
        within(tls.write_all(&[0xff, 0xff, 0xff, 0xff]))
            .await
            .unwrap()
            .unwrap();
        let mut rest = Vec::new();
        // The server closes with close_notify: a clean end, nothing answered.
        within(tls.read_to_end(&mut rest)).await.unwrap().unwrap();
        assert_eq!(rest, b"", "{dialect}");
        within(server.wait_closed(1)).await.unwrap();
        assert_eq!(
            server.transcripts()[0].end,
            Some(SessionEnd::Machine(CloseReason::FrameTooLong)),
            "{dialect}"
        );
        // The header, plus (Framed) the ClientHello kept from the plaintext phase: at most one
        // TLS record.
        let peak = server.snapshot().peak_buffered_bytes;
        assert!(peak <= 4 + ONE_TLS_RECORD, "{dialect}: {peak}");
        server.shutdown().await;
    }
}

/// The largest TLS plaintext record with its header (RFC 8446 section 5.1).
const ONE_TLS_RECORD: u64 = 5 + (1 << 14);

#[tokio::test]
async fn zero_length_frames_are_frames_before_and_inside_tls() {
    let identity = valid_identity();
    let server = testing::spawn(mock(Dialect::Framed)).await;
    let mut peer = RawPeer::connect(server.addr()).await.unwrap();
    peer.send(&frame(b"")).await.unwrap();
    let mut tls = RawPeer::new(tls_client(peer.into_inner(), &identity).await.unwrap());
    tls.send(&frame(b"")).await.unwrap();
    tls.send(&frame(b"after")).await.unwrap();
    let mut echo = [0u8; 4 + 4 + 5];
    within(tls.io_mut().read_exact(&mut echo))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&echo[..], &[frame(b""), frame(b"after")].concat()[..]);
    assert_eq!(server.snapshot().frames, 3);
    server.shutdown().await;
}

#[tokio::test]
async fn an_eof_inside_a_length_or_a_payload_ends_the_session() {
    let identity = valid_identity();
    let partials: [&[u8]; 3] = [&[0, 0], &[0, 0, 0, 10, b'a', b'b', b'c'], &[0, 0, 0]];
    for input in partials {
        // In plaintext (Framed) ...
        let server = testing::spawn(mock(Dialect::Framed)).await;
        let (answer, reason) = feed(&server, Dialect::Framed, input, false).await;
        assert_eq!(answer, b"", "{input:?}");
        assert_eq!(reason, SessionEnd::Machine(CloseReason::Eof), "{input:?}");
        assert!(server.snapshot().peak_buffered_bytes <= 10, "{input:?}");
        server.shutdown().await;

        // ... and inside TLS (Implicit), ended by close_notify or by a bare FIN.
        for clean in [true, false] {
            let server = testing::spawn(mock(Dialect::Implicit)).await;
            let tcp = RawPeer::connect(server.addr()).await.unwrap().into_inner();
            let mut tls = tls_client(tcp, &identity).await.unwrap();
            within(tls.write_all(input)).await.unwrap().unwrap();
            within(tls.flush()).await.unwrap().unwrap();
            if clean {
                within(tls.shutdown()).await.unwrap().unwrap();
            } else {
                within(tls.get_mut().0.shutdown()).await.unwrap().unwrap();
            }
            within(server.wait_closed(1)).await.unwrap();
            let expected = if clean {
                SessionEnd::Machine(CloseReason::Eof)
            } else {
                SessionEnd::Truncated
            };
            assert_eq!(
                server.transcripts()[0].end,
                Some(expected),
                "{input:?}, clean {clean}"
            );
            server.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_client_hello_written_one_byte_at_a_time_completes_the_handshake() {
    let identity = valid_identity();
    for dialect in [
        Dialect::Framed,
        Dialect::Implicit,
        Dialect::Smtp,
        Dialect::Imap,
        Dialect::Pop3,
    ] {
        let config = MockConfig {
            limits: Limits {
                handshake_timeout: hostile_tests::LONG,
                ..Limits::default()
            },
            ..mock(dialect)
        };
        let server = testing::spawn(config).await;
        let mut peer = RawPeer::connect(server.addr()).await.unwrap();
        if dialect.is_line_based() {
            read_greeting(&mut peer, dialect).await.unwrap();
            peer.send(starttls_command(dialect)).await.unwrap();
            // SMTP wants EHLO first.
            let mut line = peer.line().await.unwrap();
            if dialect == Dialect::Smtp {
                assert!(line.starts_with("503"), "{line:?}");
                peer.send(b"EHLO raw.test\r\n").await.unwrap();
                read_reply(&mut peer, dialect, false).await.unwrap();
                peer.send(starttls_command(dialect)).await.unwrap();
                line = peer.line().await.unwrap();
            }
            assert_eq!(line.as_bytes(), go_ahead(dialect), "{dialect}");
        }
        let slow = Trickle::new(peer.into_inner());
        let mut tls = RawPeer::new(tls_client(slow, &identity).await.unwrap());
        if dialect.is_line_based() {
            tls.send(probe(dialect)).await.unwrap();
            let reply = read_reply(&mut tls, dialect, true).await.unwrap();
            assert!(!is_error(dialect, &reply[0]), "{dialect}: {reply:?}");
        } else {
            tls.send(&frame(b"slow")).await.unwrap();
            let mut echo = [0u8; 8];
            within(tls.io_mut().read_exact(&mut echo))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(&echo[..], &frame(b"slow")[..], "{dialect}");
        }
        assert_eq!(server.snapshot().handshakes_ok, 1, "{dialect}");
        server.shutdown().await;
    }
}
