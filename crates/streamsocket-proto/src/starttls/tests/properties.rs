//! Property tests: splitting never changes the outcome, no input panics, memory stays bounded.

use proptest::prelude::*;

use super::*;
use crate::codec::HEADER_LEN;

/// Cuts `input` at `points` (taken modulo its length).
fn split<'a>(input: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = points.iter().map(|p| p % (input.len() + 1)).collect();
    cuts.sort_unstable();
    cuts.dedup();
    let mut pieces = Vec::new();
    let mut start = 0;
    for cut in cuts {
        pieces.push(&input[start..cut]);
        start = cut;
    }
    pieces.push(&input[start..]);
    pieces
}

/// Feeds a client the server's bytes in the given pieces (before TLS, then inside TLS once the
/// client asks for it) and records its events and transmits.
fn drive_client(dialect: Dialect, pre: &[&[u8]], post: &[&[u8]]) -> (Vec<ClientEvent>, String) {
    let mut client = client(dialect);
    let mut events = client_events(&mut client);
    let mut sent = client_sent(&mut client);
    for piece in pre {
        client.handle_input(piece);
        events.extend(client_events(&mut client));
        sent.push_str(&client_sent(&mut client));
    }
    if events.last() == Some(&ClientEvent::StartTls) {
        client.handle_tls_established();
        events.extend(client_events(&mut client));
        sent.push_str(&client_sent(&mut client));
        for piece in post {
            client.handle_input(piece);
            events.extend(client_events(&mut client));
            sent.push_str(&client_sent(&mut client));
        }
    }
    (events, sent)
}

type ServerRun = (Vec<ServerEvent>, Vec<u8>, Vec<u8>);

/// Feeds a server the client's bytes in the given pieces and records events, transmits and the
/// TLS prefix.
fn drive_server(
    dialect: Dialect,
    behaviour: &ServerBehaviour,
    pre: &[&[u8]],
    post: &[&[u8]],
) -> ServerRun {
    let mut server = server_with(dialect, behaviour.clone());
    let mut events = server_events(&mut server);
    let mut sent = server_sent(&mut server);
    for piece in pre {
        server.handle_input(piece);
        events.extend(server_events(&mut server));
        sent.extend(server_sent(&mut server));
    }
    let mut prefix = Vec::new();
    let closed = events
        .iter()
        .any(|event| matches!(event, ServerEvent::Close(_)));
    if events.contains(&ServerEvent::StartTls) && !closed {
        prefix = server.take_tls_prefix();
        server.handle_tls_established();
        for piece in post {
            server.handle_input(piece);
            events.extend(server_events(&mut server));
            sent.extend(server_sent(&mut server));
        }
    }
    (events, sent, prefix)
}

/// The go-ahead is the one point where splitting matters (see the module docs): bytes in the same
/// read fail at once, bytes in a later read fail after `StartTls`. Byte counts depend on reads.
fn normalise_client(events: Vec<ClientEvent>) -> Vec<ClientEvent> {
    let mut out: Vec<ClientEvent> = Vec::new();
    for event in events {
        let event = match event {
            ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead { .. }) => {
                if out.last() == Some(&ClientEvent::StartTls) {
                    out.pop();
                }
                ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead { bytes: 0 })
            }
            other => other,
        };
        out.push(event);
    }
    out
}

/// The server's counterpart: with `Reject`, bytes in the same read as STARTTLS close at once,
/// bytes in a later read close after `StartTls`.
fn normalise_server(events: Vec<ServerEvent>) -> Vec<ServerEvent> {
    let mut out: Vec<ServerEvent> = Vec::new();
    for event in events {
        if event == ServerEvent::Close(CloseReason::InjectionRejected)
            && out.last() == Some(&ServerEvent::StartTls)
        {
            out.pop();
        }
        out.push(event);
    }
    out
}

const BEHAVIOURS: [ServerBehaviour; 8] = [
    ServerBehaviour::Honest,
    ServerBehaviour::StartTlsNotAdvertised,
    ServerBehaviour::StartTlsRefused(Refusal::Temporary),
    ServerBehaviour::StartTlsRefused(Refusal::Syntax),
    ServerBehaviour::StartTlsRefused(Refusal::Permanent),
    ServerBehaviour::StartTlsRefused(Refusal::Nonsense),
    ServerBehaviour::TlsRequired,
    ServerBehaviour::Preauth,
];

/// A MySQL SSLRequest: flags `0x007fae85` (with `CLIENT_SSL`, `CLIENT_PROTOCOL_41`), a 16 MiB
/// maximum packet, character set 33, 23 zero bytes; at sequence 1.
const MYSQL_SSL_REQUEST: &[u8] = b"\x20\x00\x00\x01\x85\xae\x7f\x00\x00\x00\x00\x01\x21\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

/// A MySQL HandshakeResponse41 at sequence 1 without `CLIENT_SSL` (flags `0x007fa685`), user
/// `u`, an empty auth response.
const MYSQL_LOGIN: &[u8] = b"\x23\x00\x00\x01\x85\xa6\x7f\x00\x00\x00\x00\x01\x21\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00u\x00\x00";

/// Scripts a client could send: (dialect, before TLS, inside TLS).
fn server_scripts() -> Vec<(Dialect, Vec<u8>, Vec<u8>)> {
    let mut framed = Vec::new();
    let codec = crate::codec::FrameCodec::default();
    codec.encode("hello", &mut framed).unwrap();
    codec.encode("", &mut framed).unwrap();
    framed.extend_from_slice(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01]);
    let mut echo = Vec::new();
    codec.encode("inside", &mut echo).unwrap();
    codec.encode("again", &mut echo).unwrap();
    // MySQL: an SSLRequest (32 bytes at sequence 1) and the ClientHello's start; inside TLS a
    // HandshakeResponse41 at sequence 2, COM_PING, an unknown command, COM_QUIT.
    let mut mysql_ssl_request = MYSQL_SSL_REQUEST.to_vec();
    mysql_ssl_request.extend_from_slice(&[0x16, 0x03, 0x01, 0x00, 0x10, 0x01]);
    let mut mysql_commands = MYSQL_LOGIN.to_vec();
    mysql_commands[3] = 2;
    mysql_commands
        .extend_from_slice(b"\x01\x00\x00\x00\x0e\x01\x00\x00\x00\x63\x01\x00\x00\x00\x01");
    let mut mysql_plaintext_login = MYSQL_LOGIN.to_vec();
    mysql_plaintext_login.extend_from_slice(b"\x01\x00\x00\x00\x0e\x01\x00\x00\x00\x01");
    vec![
        (
            Dialect::Smtp,
            b"EHLO a\r\nNOOP\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\nx\r\n..y\nz\r\n.\r\n\
              RSET\r\nBOGUS\r\nSTARTTLS\r\n"
                .to_vec(),
            b"EHLO b\r\nMAIL FROM:<c>\r\nRCPT TO:<d>\r\nDATA\r\nbody\r\n.\r\nQUIT\r\n".to_vec(),
        ),
        (
            Dialect::Lmtp,
            b"LHLO a\r\nEHLO a\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nRCPT TO:<c>\r\nDATA\r\nx\r\n\
              ..y\nz\r\n.\r\nBOGUS\r\nSTARTTLS\r\n"
                .to_vec(),
            b"LHLO b\r\nMAIL FROM:<c>\r\nRCPT TO:<d>\r\nDATA\r\nbody\r\n.\r\nQUIT\r\n".to_vec(),
        ),
        (
            Dialect::Nntp,
            b"CAPABILITIES\r\nMODE READER\r\nAUTHINFO PASS x\r\nAUTHINFO USER u\r\nBOGUS\r\n\
              STARTTLS\r\n"
                .to_vec(),
            b"CAPABILITIES\r\nAUTHINFO USER a\r\nAUTHINFO PASS b\r\nSTARTTLS\r\nQUIT\r\n".to_vec(),
        ),
        (
            Dialect::Sieve,
            b"CAPABILITY\r\nNOOP\r\nAUTHENTICATE \"X\"\r\nLISTSCRIPTS\r\nBOGUS\r\nSTARTTLS\r\n"
                .to_vec(),
            b"CAPABILITY\r\nAUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\nSTARTTLS\r\nLOGOUT\r\n".to_vec(),
        ),
        (
            Dialect::Irc,
            b"CAP LS 302\r\nPING :x\r\nNICK a\r\nUSER a 0 * :A\r\nBOGUS\r\nCAP END\r\nSTARTTLS\r\n"
                .to_vec(),
            b"CAP LS 302\r\nNICK b\r\nUSER b 0 * :B\r\nCAP END\r\nSTARTTLS\r\nQUIT\r\n".to_vec(),
        ),
        (
            Dialect::Ftp,
            b"FEAT\r\nSYST\r\nUSER u\r\nPASS p\r\nPBSZ 0\r\nAUTH SSL\r\nBOGUS\r\nAUTH TLS\r\n"
                .to_vec(),
            b"FEAT\r\nPBSZ 0\r\nPROT P\r\nUSER a\r\nPASS b\r\nPWD\r\nAUTH TLS\r\nQUIT\r\n".to_vec(),
        ),
        (
            Dialect::Imap,
            b"a CAPABILITY\r\nb NOOP\r\n* BAD\r\nc STARTTLS\r\n".to_vec(),
            b"d CAPABILITY\r\ne LOGIN u \"p w\"\r\nf LOGOUT\r\n".to_vec(),
        ),
        (
            Dialect::Pop3,
            b"CAPA\r\nUSER x\r\nSTAT\r\nSTLS\r\n".to_vec(),
            b"CAPA\r\nUSER a\r\nPASS b\r\nSTAT\r\nQUIT\r\n".to_vec(),
        ),
        (Dialect::Mysql, mysql_ssl_request, mysql_commands),
        (Dialect::Mysql, mysql_plaintext_login, Vec::new()),
        (Dialect::Framed, framed, echo.clone()),
        (Dialect::Implicit, vec![0x16, 0x03, 0x01, 0x00, 0x00], echo),
    ]
}

/// Pieces of protocol-looking input, to reach deep states quickly.
fn fuzz_input() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12),
        proptest::sample::select(vec![
            &b"EHLO x\r\n"[..],
            b"HELO x\r\n",
            b"LHLO x\r\n",
            b"CAPABILITIES\r\n",
            b"AUTHINFO USER u\r\n",
            b"101 list\r\n",
            b"200 hi\r\n",
            b"382 go\r\n",
            b"\"STARTTLS\"\r\n",
            b"\"SASL\" \"PLAIN\"\r\n",
            b"OK \"go\"\r\n",
            b"NO \"no\"\r\n",
            b"CAPABILITY\r\n",
            b"FEAT\r\n",
            b"AUTH TLS\r\n",
            b"211-x\r\n",
            b" AUTH TLS\r\n",
            b"211 End\r\n",
            b"234 go\r\n",
            b":s CAP * LS :tls sasl\r\n",
            b":s CAP * LS * :a\r\n",
            b":s 670 * :go\r\n",
            b":s 691 * :no\r\n",
            b":s NOTICE * :hi\r\n",
            b"CAP LS 302\r\n",
            b"NICK n\r\n",
            b"STARTTLS\r\n",
            b"220 ok\r\n",
            b"220-more\r\n",
            b"250-STARTTLS\r\n",
            b"250 x\r\n",
            b"454 no\r\n",
            b"* OK [CAPABILITY IMAP4rev1 STARTTLS] hi\r\n",
            b"* PREAUTH hi\r\n",
            b"* CAPABILITY STARTTLS\r\n",
            b"A1 OK\r\n",
            b"A2 OK\r\n",
            b"A3 OK\r\n",
            b"a STARTTLS\r\n",
            b"a LOGIN u p\r\n",
            b"+OK\r\n",
            b"-ERR\r\n",
            b"STLS\r\n",
            b"CAPA\r\n",
            b"USER u\r\n",
            b"PASS p\r\n",
            b".\r\n",
            b"..\r\n",
            b"\r\n",
            b"\n",
            b"\r",
            b"DATA\r\n",
            b"MAIL FROM:<a>\r\n",
            b"RCPT TO:<b>\r\n",
            b"QUIT\r\n",
            b"\x16",
            // PostgreSQL: answer bytes, the SSLRequest, a StartupMessage, a Query, Terminate.
            b"S",
            b"N",
            b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
            b"\x00\x00\x00\x0d\x00\x03\x00\x00user\x00u\x00\x00",
            b"Q\x00\x00\x00\x05x",
            b"X\x00\x00\x00\x04",
            b"\x00\x00\x00\x03abc",
            b"\x00\x00\x00\x00",
            b"\xff\xff\xff\xff",
            MYSQL_SSL_REQUEST,
            MYSQL_LOGIN,
            b"\x17\x00\x00\x00\xff\x10\x04Too many connections",
            b"\x01\x00\x00\x00\x01",
            b"\x0e\x00\x00\x00\x0a5.5.2\x00\x00\x00\x00\x00",
            b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x08",
        ])
        .prop_map(<[u8]>::to_vec),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|pieces| pieces.concat())
}

/// `base` with up to four edits: each deletes a few bytes at some position and inserts a
/// protocol-looking token or random bytes there. Reaches deep states that random input rarely does.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let edit = (
        any::<usize>(),
        0usize..4,
        fuzz_input().prop_map(|t| t.into_iter().take(24).collect::<Vec<u8>>()),
    );
    proptest::collection::vec(edit, 0..4).prop_map(move |edits| {
        let mut out = base.clone();
        for (position, delete, insert) in edits {
            let at = position % (out.len() + 1);
            let end = (at + delete).min(out.len());
            out.splice(at..end, insert);
        }
        out
    })
}

/// A server transcript (before TLS, inside TLS) from an in-memory run, mutated.
fn client_case() -> impl Strategy<Value = (Dialect, Vec<u8>, Vec<u8>)> {
    (dialect(), proptest::sample::select(BEHAVIOURS.to_vec())).prop_flat_map(
        |(dialect, behaviour)| {
            let config = ServerSettings {
                behaviour,
                ..ServerSettings::default()
            };
            let outcome = run_in_memory(dialect, ClientSettings::default(), config);
            (
                Just(dialect),
                mutated(outcome.server_plaintext),
                mutated(outcome.server_protected),
            )
        },
    )
}

/// A client script (before TLS, inside TLS), mutated.
fn server_case() -> impl Strategy<Value = (Dialect, Vec<u8>, Vec<u8>)> {
    proptest::sample::select(server_scripts())
        .prop_flat_map(|(dialect, pre, post)| (Just(dialect), mutated(pre), mutated(post)))
}

fn dialect() -> impl Strategy<Value = Dialect> {
    proptest::sample::select(Dialect::ALL.to_vec())
}

fn behaviour() -> impl Strategy<Value = ServerBehaviour> {
    prop_oneof![
        proptest::sample::select(BEHAVIOURS.to_vec()),
        Just(ServerBehaviour::ResponseInjection(b"250 x\r\n".to_vec())),
    ]
}

fn policy() -> impl Strategy<Value = InjectionPolicy> {
    proptest::sample::select(vec![
        InjectionPolicy::Discard,
        InjectionPolicy::Reject,
        InjectionPolicy::Vulnerable,
    ])
}

fn points() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..12)
}

proptest! {

    #[test]
    fn client_events_do_not_depend_on_how_server_bytes_are_split(
        dialect in dialect(),
        behaviour in proptest::sample::select(BEHAVIOURS.to_vec()),
        pre_points in points(),
        post_points in points(),
    ) {
        let config = ServerSettings { behaviour, ..ServerSettings::default() };
        let outcome = run_in_memory(dialect, ClientSettings::default(), config);
        let whole = drive_client(dialect, &[&outcome.server_plaintext], &[&outcome.server_protected]);
        prop_assert_eq!(&whole.0, &outcome.client_events);
        let pieces = drive_client(
            dialect,
            &split(&outcome.server_plaintext, &pre_points),
            &split(&outcome.server_protected, &post_points),
        );
        prop_assert_eq!(&pieces.0, &whole.0);
        if outcome.failure().is_none() {
            prop_assert_eq!(pieces.1, whole.1);
        } else {
            // Commands queued in the same read as the failing reply are superseded by the
            // failure; whatever else left, the last thing sent is the same goodbye (or nothing).
            // What a client says before any reply (IRC's CAP LS) leads both runs.
            let first = client_sent(&mut client(dialect));
            let whole_after = whole.1.strip_prefix(first.as_str());
            prop_assert!(pieces.1.starts_with(first.as_str()) && whole_after.is_some());
            let pieces_after = pieces.1.get(first.len()..).unwrap_or_default();
            prop_assert!(
                pieces_after.ends_with(whole_after.unwrap_or_default()),
                "{:?} vs {:?}", pieces.1, whole.1
            );
        }
    }

    #[test]
    fn server_events_do_not_depend_on_how_client_bytes_are_split(
        script in proptest::sample::select(server_scripts()),
        behaviour in proptest::sample::select(BEHAVIOURS.to_vec()),
        pre_points in points(),
        post_points in points(),
    ) {
        let (dialect, pre, post) = script;
        let whole = drive_server(dialect, &behaviour, &[&pre], &[&post]);
        let pieces =
            drive_server(dialect, &behaviour, &split(&pre, &pre_points), &split(&post, &post_points));
        prop_assert_eq!(pieces, whole);
    }

    #[test]
    fn injected_responses_never_reach_a_ready_client_however_split(
        dialect in proptest::sample::select(vec![Dialect::Smtp, Dialect::Lmtp, Dialect::Imap, Dialect::Pop3, Dialect::Nntp, Dialect::Sieve, Dialect::Ftp, Dialect::Irc, Dialect::Mysql]),
        injected in proptest::collection::vec(any::<u8>(), 1..40),
        pre_points in points(),
    ) {
        let config = ServerSettings {
            behaviour: ServerBehaviour::ResponseInjection(injected),
            ..ServerSettings::default()
        };
        let outcome = run_in_memory(dialect, ClientSettings::default(), config);
        let (events, _) = drive_client(
            dialect,
            &split(&outcome.server_plaintext, &pre_points),
            &[&outcome.server_protected],
        );
        prop_assert!(
            matches!(
                events.as_slice(),
                [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead { .. })]
                    | [ClientEvent::StartTls, ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead { .. })]
            ),
            "{:?}", events
        );
    }

    #[test]
    fn arbitrary_input_never_panics_and_a_failed_client_only_says_goodbye(
        dialect in dialect(),
        input in fuzz_input(),
        pieces in points(),
        establish in any::<bool>(),
    ) {
        let mut client = client(dialect);
        let mut failed = false;
        let mut after_failure = String::new();
        for piece in split(&input, &pieces) {
            client.handle_input(piece);
            let sent = client_sent(&mut client);
            if failed {
                after_failure.push_str(&sent);
            }
            for event in client_events(&mut client) {
                match event {
                    ClientEvent::StartTls if establish => client.handle_tls_established(),
                    ClientEvent::Failed(_) => {
                        failed = true;
                        after_failure.push_str(&client_sent(&mut client));
                    }
                    _ => {}
                }
            }
        }
        client.handle_eof();
        after_failure.push_str(&client_sent(&mut client));
        prop_assert!(
            ["", "QUIT\r\n", "A4 LOGOUT\r\n"].contains(&after_failure.as_str()),
            "{:?}", after_failure
        );
    }

    #[test]
    fn arbitrary_input_never_panics_the_server_and_memory_stays_bounded(
        dialect in dialect(),
        behaviour in behaviour(),
        policy in policy(),
        input in fuzz_input(),
        pieces in points(),
    ) {
        let config = ServerSettings {
            behaviour,
            injection_policy: policy,
            max_line_len: 64,
            max_frame_len: 64,
            ..ServerSettings::default()
        };
        let mut server = ServerMachine::new(dialect, config);
        let mut closed = false;
        for piece in split(&input, &pieces) {
            server.handle_input(piece);
            server_sent(&mut server);
            for event in server_events(&mut server) {
                match event {
                    ServerEvent::StartTls => {
                        server.take_tls_prefix();
                        server.handle_tls_established();
                    }
                    ServerEvent::Close(_) => closed = true,
                    _ => {}
                }
            }
            // A Vulnerable server processes the kept bytes inside `handle_tls_established`,
            // which may close it.
            closed |= server_events(&mut server)
                .iter()
                .any(|event| matches!(event, ServerEvent::Close(_)));
            // Beyond one line (or frame) only data the client really sent is kept: an SMTP body
            // (a bare LF grows into CR LF), a TLS prefix, or a Vulnerable server's replay.
            prop_assert!(server.buffered_len() <= 64 + HEADER_LEN + 2 * input.len());
        }
        server.handle_eof();
        let expected = if closed { vec![] } else { vec![ServerEvent::Close(CloseReason::Eof)] };
        prop_assert_eq!(server_events(&mut server), expected);
    }

    #[test]
    fn an_over_limit_frame_length_never_buffers_its_payload(
        max in 0u32..4096,
        excess in 1u32..0x1000_0000,
        tail in proptest::collection::vec(any::<u8>(), 0..256),
        pieces in points(),
        inside_tls in any::<bool>(),
    ) {
        let config = ServerSettings { max_frame_len: max, ..ServerSettings::default() };
        let mut server = ServerMachine::new(Dialect::Framed, config);
        if inside_tls {
            server.handle_input(&[0x16]);
            server.handle_tls_established();
            server_events(&mut server);
        }
        let declared = max.saturating_add(excess);
        let mut input = declared.to_be_bytes().to_vec();
        input.extend_from_slice(&tail);
        let mut events = Vec::new();
        for piece in split(&input, &pieces) {
            server.handle_input(piece);
            events.extend(server_events(&mut server));
            prop_assert!(server.buffered_len() < HEADER_LEN);
        }
        prop_assert_eq!(events, vec![ServerEvent::Close(CloseReason::FrameTooLong)]);
    }

    #[test]
    fn arbitrary_client_input_gives_the_same_events_however_split(
        case in prop_oneof![
            (dialect(), fuzz_input(), fuzz_input()),
            client_case(),
        ],
        pre_points in points(),
        post_points in points(),
    ) {
        let (dialect, pre, post) = case;
        let (whole, _) = drive_client(dialect, &[&pre], &[&post]);
        let (split_events, _) =
            drive_client(dialect, &split(&pre, &pre_points), &split(&post, &post_points));
        prop_assert_eq!(normalise_client(split_events), normalise_client(whole));
    }

    #[test]
    fn arbitrary_server_input_gives_the_same_events_however_split(
        case in prop_oneof![
            (dialect(), fuzz_input(), fuzz_input()),
            server_case(),
        ],
        behaviour in behaviour(),
        policy in policy(),
        pre_points in points(),
        post_points in points(),
    ) {
        let (dialect, pre, post) = case;
        let run = |pre_chunks: &[&[u8]], post_chunks: &[&[u8]]| {
            let config = ServerSettings {
                behaviour: behaviour.clone(),
                injection_policy: policy,
                max_line_len: 64,
                max_frame_len: 64,
                ..ServerSettings::default()
            };
            let mut server = ServerMachine::new(dialect, config);
            let mut events = server_events(&mut server);
            for chunk in pre_chunks {
                server.handle_input(chunk);
                events.extend(server_events(&mut server));
            }
            let closed = events.iter().any(|event| matches!(event, ServerEvent::Close(_)));
            if events.contains(&ServerEvent::StartTls) && !closed {
                server.handle_tls_established();
                events.extend(server_events(&mut server));
                for chunk in post_chunks {
                    server.handle_input(chunk);
                    events.extend(server_events(&mut server));
                }
            }
            server.handle_eof();
            events.extend(server_events(&mut server));
            events
        };
        let whole = run(&[&pre], &[&post]);
        let split_events = run(&split(&pre, &pre_points), &split(&post, &post_points));
        prop_assert_eq!(normalise_server(split_events), normalise_server(whole));
    }

    #[test]
    fn line_reader_yields_the_same_lines_however_split(
        input in fuzz_input(),
        pieces in points(),
        max in 1usize..80,
    ) {
        let read = |chunks: &[&[u8]]| {
            let mut reader = LineReader::new(max);
            let mut lines = Vec::new();
            for chunk in chunks {
                let mut rest: &[u8] = chunk;
                while !rest.is_empty() {
                    let (consumed, line) = reader.feed(rest);
                    rest = &rest[consumed..];
                    // Stop at the first error, as every machine does.
                    match line {
                        Some(Err(error)) => {
                            lines.push(Err(error));
                            return lines;
                        }
                        Some(Ok(line)) => lines.push(Ok(line)),
                        None => {}
                    }
                    assert!(reader.buffered_len() < max);
                }
            }
            lines
        };
        prop_assert_eq!(read(&split(&input, &pieces)), read(&[&input]));
    }
}
