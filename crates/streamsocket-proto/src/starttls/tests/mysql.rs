//! MySQL's SSL request packet, written from the client/server protocol documentation
//! ("Protocol::Packet", "Protocol::HandshakeV10", "Protocol::SSLRequest", "Protocol::ERR_Packet",
//! "Capabilities Flags"). The bytes here are built by hand from those pages, not by the
//! machines' own encoders.

use super::*;
use crate::starttls::client::has_capability;

/// A packet: 3-byte little-endian payload length, sequence id, payload.
fn packet(seq: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = vec![len as u8, (len >> 8) as u8, (len >> 16) as u8, seq];
    out.extend_from_slice(payload);
    out
}

/// The documentation's own HandshakeV10 example (a 5.5.2-m2 server): capability flags
/// `0xf7ff`, without `CLIENT_SSL` (`0x0800`), character set 8, auth-plugin data length 0.
const DOC_GREETING: &[u8] = b"\x36\x00\x00\x00\x0a\x35\x2e\x35\x2e\x32\x2d\x6d\x32\x00\x0b\x00\
    \x00\x00\x64\x76\x48\x40\x49\x2d\x43\x4a\x00\xff\xf7\x08\x02\x00\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x2a\x34\x64\
    \x7c\x63\x5a\x77\x6b\x34\x5e\x5d\x3a\x00";

/// The same greeting with `CLIENT_SSL` set (lower flags `0xffff`).
fn doc_greeting_with_ssl() -> Vec<u8> {
    let mut greeting = DOC_GREETING.to_vec();
    // Offset 4 + 1 (version) + 9 ("5.5.2-m2\0") + 4 + 8 + 1: the lower flags' second byte.
    assert_eq!(greeting[4 + 1 + 9 + 4 + 8 + 1 + 1], 0xf7);
    greeting[4 + 1 + 9 + 4 + 8 + 1 + 1] = 0xff;
    greeting
}

/// The SSLRequest the client owes that greeting: flags `CLIENT_LONG_PASSWORD` (1),
/// `CLIENT_PROTOCOL_41` (0x200), `CLIENT_SSL` (0x800), `CLIENT_TRANSACTIONS` (0x2000),
/// `CLIENT_SECURE_CONNECTION` (0x8000) = 0xaa01, a 16 MiB maximum packet, the server's
/// character set 8, 23 zero bytes; 32 bytes at sequence 1.
fn expected_ssl_request() -> String {
    format!(
        "20000001{}{}{}{}",
        "01aa0000",
        "00000001",
        "08",
        "00".repeat(23)
    )
}

fn mysql_client() -> ClientMachine {
    client(Dialect::Mysql)
}

// ---- the client ----

#[test]
fn mysql_client_answers_a_client_ssl_greeting_with_the_ssl_request_and_starts_tls_at_once() {
    let mut client = mysql_client();
    assert_eq!(client_sent(&mut client), "", "the server speaks first");
    assert!(client_events(&mut client).is_empty());
    client.handle_input(&doc_greeting_with_ssl());
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    assert_eq!(client_sent(&mut client), expected_ssl_request());
    assert!(has_capability(client.capabilities(), "CLIENT_SSL"));
    assert!(has_capability(client.capabilities(), "CLIENT_PROTOCOL_41"));
    client.handle_tls_established();
    // The HandshakeResponse41 inside TLS is the application's; nothing of the greeting is kept.
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: vec![]
        }]
    );
    assert!(client.capabilities().is_empty());
    assert_eq!(client_sent(&mut client), "");
    client.handle_input(b"\x07\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00");
    assert_eq!(
        client.take_leftover(),
        b"\x07\x00\x00\x03\x00\x00\x00\x02\x00\x00\x00"
    );
}

#[test]
fn mysql_client_takes_the_greeting_however_it_is_split() {
    let greeting = doc_greeting_with_ssl();
    for cut in 0..=greeting.len() {
        let mut client = mysql_client();
        client.handle_input(&greeting[..cut]);
        let early = client_events(&mut client);
        assert_eq!(early.is_empty(), cut < greeting.len(), "cut {cut}");
        client.handle_input(&greeting[cut..]);
        let mut events = early;
        events.extend(client_events(&mut client));
        assert_eq!(events, [ClientEvent::StartTls], "cut {cut}");
        assert_eq!(
            client_sent(&mut client),
            expected_ssl_request(),
            "cut {cut}"
        );
    }
}

#[test]
fn mysql_client_without_client_ssl_in_the_greeting_refuses_and_sends_nothing() {
    let mut client = mysql_client();
    client.handle_input(DOC_GREETING);
    let events = client_events(&mut client);
    let [ClientEvent::Failed(ClientFailure::NotOffered { capabilities })] = events.as_slice()
    else {
        panic!("{events:?}");
    };
    // 0xf7ff: bits 0-10 and 12-15.
    assert_eq!(capabilities.len(), 15, "{capabilities:?}");
    assert!(has_capability(capabilities, "CLIENT_PROTOCOL_41"));
    assert!(!has_capability(capabilities, "CLIENT_SSL"));
    assert_eq!(client_sent(&mut client), "");
    client.handle_input(&doc_greeting_with_ssl());
    assert!(client_events(&mut client).is_empty());
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn mysql_client_reads_an_err_packet_for_greeting_as_a_refusal() {
    // ER_CON_COUNT_ERROR (1040 = 0x0410) before the capabilities: no SQL state.
    let mut payload = vec![0xff, 0x10, 0x04];
    payload.extend_from_slice(b"Too many connections");
    let mut client = mysql_client();
    client.handle_input(&packet(0, &payload));
    assert_eq!(
        client_events(&mut client),
        [refused("ERR 1040: Too many connections")]
    );
    assert_eq!(client_sent(&mut client), "");
    // With the protocol-4.1 marker and SQL state; control characters are not passed on.
    let mut payload = vec![0xff, 0x15, 0x04, b'#'];
    payload.extend_from_slice(b"28000Access\x1b[2J denied");
    let mut client = mysql_client();
    client.handle_input(&packet(0, &payload));
    assert_eq!(
        client_events(&mut client),
        [refused("ERR 1045 (28000): Access?[2J denied")]
    );
}

#[test]
fn mysql_client_refuses_malformed_greetings_without_a_word() {
    let greeting = doc_greeting_with_ssl();
    let payload = &greeting[4..];
    let mut no_nul = payload.to_vec();
    no_nul.retain(|&b| b != 0);
    let mut bad_filler = payload.to_vec();
    bad_filler[1 + 9 + 4 + 8] = 1;
    let mut no_41 = payload.to_vec();
    // The lower flags' first byte without 0x200's bit: 0xfdff.
    no_41[1 + 9 + 4 + 8 + 1 + 1] = 0xfd;
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (packet(0, &[]), "empty greeting"),
        (packet(0, b"\x09old\x00"), "protocol version 9"),
        (packet(0, b"Ready when you are"), "protocol version 82"),
        (packet(1, payload), "sequence id 1"),
        (packet(0, &no_nul), "not NUL-terminated"),
        (packet(0, &bad_filler), "filler"),
        (
            packet(0, &payload[..1 + 9 + 4 + 8 + 1 + 1]),
            "capability flags",
        ),
        (packet(0, &no_41), "protocol 4.1"),
        (packet(0, &[0xff]), "ERR (truncated)"),
    ];
    for (input, reason) in cases {
        let mut client = mysql_client();
        client.handle_input(&input);
        let events = client_events(&mut client);
        let described = format!("{events:?}");
        assert!(described.contains(reason), "{reason}: {described}");
        assert!(
            matches!(
                events.as_slice(),
                [ClientEvent::Failed(
                    ClientFailure::Protocol { .. } | ClientFailure::Refused { .. }
                )]
            ),
            "{reason}: {described}"
        );
        assert_eq!(client_sent(&mut client), "", "{reason}");
    }
}

#[test]
fn mysql_client_refuses_a_long_declared_length_before_buffering_it() {
    // 0xffffff declared (a split packet's length), 100 bytes sent: refused at the header.
    let mut client = mysql_client();
    let mut input = vec![0xff, 0xff, 0xff, 0x00];
    input.extend_from_slice(&[b'x'; 100]);
    client.handle_input(&input[..4]);
    let events = client_events(&mut client);
    assert!(
        matches!(events.as_slice(), [ClientEvent::Failed(ClientFailure::Protocol { reason })]
            if reason.contains("16777215") && reason.contains(&MAX_MYSQL_PACKET_LEN.to_string())),
        "{events:?}"
    );
    client.handle_input(&input[4..]);
    assert!(client_events(&mut client).is_empty());
    assert_eq!(client_sent(&mut client), "");
    // The largest accepted length is the limit itself.
    let mut client = mysql_client();
    let len = MAX_MYSQL_PACKET_LEN;
    client.handle_input(&[len as u8, (len >> 8) as u8, 0, 0, 10]);
    assert!(client_events(&mut client).is_empty());
}

#[test]
fn mysql_client_takes_a_tls_record_for_greeting_as_a_tls_port() {
    let mut client = mysql_client();
    client.handle_input(b"\x16");
    assert!(client_events(&mut client).is_empty());
    client.handle_input(b"\x03\x03\x00\x10");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::TlsInsteadOfGreeting)]
    );
}

#[test]
fn mysql_client_fails_on_any_byte_after_the_greeting() {
    // In the same read: nothing is sent, not even the SSLRequest.
    let mut input = doc_greeting_with_ssl();
    input.extend_from_slice(&packet(2, &[0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]));
    let mut client = mysql_client();
    client.handle_input(&input);
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 11 })]
    );
    assert_eq!(client_sent(&mut client), "");
    // In a later read, after the SSLRequest and before TLS: one byte is enough.
    let mut client = mysql_client();
    client.handle_input(&doc_greeting_with_ssl());
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    assert_eq!(client_sent(&mut client), expected_ssl_request());
    client.handle_input(b"\x00");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 1 })]
    );
    assert_eq!(client_sent(&mut client), "");
    client.handle_tls_established();
    assert!(client_events(&mut client).is_empty(), "failed is final");
}

#[test]
fn mysql_client_fails_on_a_closed_connection_before_the_greeting_ends() {
    let mut client = mysql_client();
    client.handle_input(&DOC_GREETING[..10]);
    client.handle_eof();
    assert_eq!(client_events(&mut client), [failed(ClientFailure::Closed)]);
}

// ---- the server ----

/// Reads every packet of `bytes`, checking that the lengths add up.
fn packets(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        assert!(rest.len() >= 4, "truncated header {rest:?}");
        let len = usize::from(rest[0]) | usize::from(rest[1]) << 8 | usize::from(rest[2]) << 16;
        assert!(rest.len() >= 4 + len, "truncated payload {rest:?}");
        out.push((rest[3], rest[4..4 + len].to_vec()));
        rest = &rest[4 + len..];
    }
    out
}

/// The lower and upper capability flags of a HandshakeV10 payload, read per the documentation.
fn greeting_flags(payload: &[u8]) -> u32 {
    assert_eq!(payload[0], 10, "protocol version");
    let nul = payload
        .iter()
        .position(|&b| b == 0)
        .expect("server version");
    let at = nul + 1 + 4 + 8;
    assert_eq!(payload[at], 0, "filler");
    let lower = u32::from(payload[at + 1]) | u32::from(payload[at + 2]) << 8;
    let upper = u32::from(payload[at + 6]) | u32::from(payload[at + 7]) << 8;
    lower | upper << 16
}

/// An SSLRequest as a client sends it (openssl's flags `0x007fae85`, character set 33).
fn ssl_request() -> Vec<u8> {
    let mut payload = vec![0x85, 0xae, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21];
    payload.extend_from_slice(&[0; 23]);
    packet(1, &payload)
}

/// A HandshakeResponse41 at `seq`: the SSLRequest's fields, then user `u`, an empty auth
/// response.
fn login(seq: u8) -> Vec<u8> {
    let mut payload = vec![0x85, 0xae, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21];
    payload.extend_from_slice(&[0; 23]);
    payload.extend_from_slice(b"u\x00\x00");
    packet(seq, &payload)
}

fn mysql_server(behaviour: ServerBehaviour) -> (ServerMachine, Vec<(u8, Vec<u8>)>) {
    let mut server = server_with(Dialect::Mysql, behaviour);
    let greeting = packets(&server_sent(&mut server));
    (server, greeting)
}

/// The ERR packet's code and message, if `payload` is one.
fn err(payload: &[u8]) -> Option<(u16, String)> {
    (payload.first() == Some(&0xff)).then(|| {
        let code = u16::from(payload[1]) | u16::from(payload[2]) << 8;
        (code, String::from_utf8_lossy(&payload[3..]).into_owned())
    })
}

#[test]
fn mysql_server_greets_with_handshake_v10_advertising_client_ssl() {
    let (mut server, greeting) = mysql_server(ServerBehaviour::Honest);
    let [(0, payload)] = greeting.as_slice() else {
        panic!("{greeting:?}");
    };
    let flags = greeting_flags(payload);
    assert_ne!(flags & 0x0800, 0, "CLIENT_SSL");
    assert_ne!(flags & 0x0200, 0, "CLIENT_PROTOCOL_41");
    assert!(payload.len() <= MAX_MYSQL_PACKET_LEN);
    assert!(server_events(&mut server).is_empty());
    assert_eq!(server.shutdown_message().map(|m| m[3]), Some(0));
}

#[test]
fn mysql_server_takes_the_ssl_request_as_the_go_ahead_and_keeps_the_client_hello() {
    let (mut server, _) = mysql_server(ServerBehaviour::Honest);
    let mut input = ssl_request();
    input.extend_from_slice(SIMULATED_CLIENT_HELLO);
    server.handle_input(&input);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    assert_eq!(server_sent(&mut server), b"", "no answer in plaintext");
    server.handle_input(b"\x03\x03");
    let mut prefix = SIMULATED_CLIENT_HELLO.to_vec();
    prefix.extend_from_slice(b"\x03\x03");
    assert_eq!(server.take_tls_prefix(), prefix);
    assert_eq!(server.injected_discarded(), 0);
    server.handle_tls_established();
    assert_eq!(
        server_sent(&mut server),
        b"",
        "the client speaks first inside TLS"
    );
    // Inside TLS: the HandshakeResponse41 at sequence 2, the OK at 3, then commands.
    server.handle_input(&login(2));
    assert_eq!(packets(&server_sent(&mut server))[0].0, 3);
    server.handle_input(&packet(0, &[0x0e]));
    let ping = packets(&server_sent(&mut server));
    assert_eq!((ping[0].0, ping[0].1[0]), (1, 0x00), "COM_PING's OK");
    server.handle_input(&packet(0, &[0x01]));
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn mysql_server_ssl_request_split_anywhere_gives_the_same_go_ahead() {
    let request = ssl_request();
    for cut in 0..=request.len() {
        let (mut server, _) = mysql_server(ServerBehaviour::Honest);
        server.handle_input(&request[..cut]);
        server.handle_input(&request[cut..]);
        assert_eq!(server_events(&mut server), [ServerEvent::StartTls], "{cut}");
        assert!(server.buffered_len() <= 4 + 32);
    }
}

#[test]
fn mysql_server_not_advertising_leaves_client_ssl_out_and_rejects_the_ssl_request() {
    let (mut server, greeting) = mysql_server(ServerBehaviour::StartTlsNotAdvertised);
    assert_eq!(greeting_flags(&greeting[0].1) & 0x0800, 0);
    server.handle_input(&ssl_request());
    let reply = packets(&server_sent(&mut server));
    assert_eq!(reply[0].0, 2);
    assert_eq!(err(&reply[0].1).map(|e| e.0), Some(1043));
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::HandshakeRejected)]
    );
}

#[test]
fn mysql_server_refuses_with_an_err_greeting_or_a_nonsense_packet() {
    let applies: Vec<Refusal> = Refusal::ALL
        .into_iter()
        .filter(|r| r.applies_to(Dialect::Mysql))
        .collect();
    assert_eq!(applies, [Refusal::Temporary, Refusal::Nonsense]);
    let (mut server, greeting) = mysql_server(ServerBehaviour::StartTlsRefused(Refusal::Temporary));
    assert_eq!(greeting.len(), 1);
    assert_eq!(greeting[0].0, 0);
    assert_eq!(
        err(&greeting[0].1),
        Some((1040, "Too many connections".to_owned()))
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::HandshakeRejected)]
    );
    let (_, greeting) = mysql_server(ServerBehaviour::StartTlsRefused(Refusal::Nonsense));
    assert_eq!(greeting, [(0, b"Ready when you are".to_vec())]);
}

#[test]
fn mysql_server_requiring_tls_refuses_a_plaintext_login_and_an_honest_one_accepts_it() {
    let (mut server, _) = mysql_server(ServerBehaviour::TlsRequired);
    server.handle_input(&login(1));
    let reply = packets(&server_sent(&mut server));
    assert_eq!(err(&reply[0].1).map(|e| e.0), Some(3159));
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::HandshakeRejected)]
    );
    let (mut server, _) = mysql_server(ServerBehaviour::TlsRequired);
    server.handle_input(&ssl_request());
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);

    // Without the requirement the plaintext login is accepted (OK at sequence 2): the session
    // is then past its connection phase, and an SSLRequest is no longer one.
    let (mut server, _) = mysql_server(ServerBehaviour::Honest);
    server.handle_input(&login(1));
    let reply = packets(&server_sent(&mut server));
    assert_eq!((reply[0].0, reply[0].1[0]), (2, 0x00));
    server.handle_input(&ssl_request());
    assert!(!server_events(&mut server).contains(&ServerEvent::StartTls));
}

#[test]
fn mysql_server_rejects_packets_out_of_order_and_bad_handshakes() {
    let mut four_zero = ssl_request();
    four_zero[4 + 1] &= !0x02; // CLIENT_PROTOCOL_41 off
    for (input, code) in [
        (packet(0, &ssl_request()[4..]), 1156),
        (packet(2, &ssl_request()[4..]), 1156),
        (four_zero, 1043),
        (packet(1, &[0x00, 0x0a]), 1043),
        (packet(1, &[0x85, 0xa6, 0x7f, 0x00]), 1043),
    ] {
        let (mut server, _) = mysql_server(ServerBehaviour::Honest);
        server.handle_input(&input);
        let reply = packets(&server_sent(&mut server));
        assert_eq!(err(&reply[0].1).map(|e| e.0), Some(code), "{input:?}");
        assert_eq!(
            server_events(&mut server),
            [ServerEvent::Close(CloseReason::HandshakeRejected)]
        );
    }
}

#[test]
fn mysql_server_refuses_a_long_declared_length_before_buffering_it() {
    let (mut server, _) = mysql_server(ServerBehaviour::Honest);
    server.handle_input(&[0xff, 0xff, 0xff, 0x01]);
    assert_eq!(server.buffered_len(), 0);
    let reply = packets(&server_sent(&mut server));
    assert_eq!(err(&reply[0].1).map(|e| e.0), Some(1153));
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::FrameTooLong)]
    );
}

#[test]
fn mysql_server_meets_plaintext_after_the_ssl_request_with_its_policy() {
    let injected = login(2);
    let mut input = ssl_request();
    input.extend_from_slice(&injected);
    // Discard: counted and dropped, the upgrade goes on, nothing is answered inside TLS.
    let mut server = ServerMachine::new(Dialect::Mysql, ServerSettings::default());
    server_sent(&mut server);
    server.handle_input(&input);
    server.handle_input(SIMULATED_CLIENT_HELLO);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    assert_eq!(
        server.injected_discarded(),
        injected.len() + SIMULATED_CLIENT_HELLO.len()
    );
    assert!(server.take_tls_prefix().is_empty());
    server.handle_tls_established();
    assert_eq!(server_sent(&mut server), b"");
    // Reject: the connection closes.
    let mut server = ServerMachine::new(
        Dialect::Mysql,
        ServerSettings {
            injection_policy: InjectionPolicy::Reject,
            ..ServerSettings::default()
        },
    );
    server_sent(&mut server);
    server.handle_input(&input);
    assert_eq!(
        server_events(&mut server),
        [
            ServerEvent::StartTls,
            ServerEvent::Close(CloseReason::InjectionRejected)
        ]
    );
    assert_eq!(
        server_sent(&mut server),
        b"",
        "nothing lands in the handshake"
    );
    // Vulnerable (CVE-2011-0411 class): the plaintext login is answered inside TLS.
    let mut server = ServerMachine::new(
        Dialect::Mysql,
        ServerSettings {
            injection_policy: InjectionPolicy::Vulnerable,
            ..ServerSettings::default()
        },
    );
    server_sent(&mut server);
    server.handle_input(&input);
    server.handle_tls_established();
    let reply = packets(&server_sent(&mut server));
    assert_eq!((reply[0].0, reply[0].1[0]), (3, 0x00));
}

#[test]
fn mysql_server_with_response_injection_sends_it_right_after_the_greeting() {
    let mut server = server_with(
        Dialect::Mysql,
        ServerBehaviour::ResponseInjection(b"\x01\x00\x00\x02\x00".to_vec()),
    );
    let sent = server_sent(&mut server);
    let greeting_len = 4 + usize::from(sent[0]) + (usize::from(sent[1]) << 8);
    assert_eq!(&sent[greeting_len..], b"\x01\x00\x00\x02\x00");
    assert_eq!(greeting_flags(&sent[4..greeting_len]) & 0x0800, 0x0800);
    server.handle_input(&ssl_request());
    assert_eq!(
        server_sent(&mut server),
        b"",
        "nothing more at the go-ahead"
    );
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
}

#[test]
fn mysql_server_forgets_the_plaintext_after_tls() {
    // Inside TLS the server wants the login again at sequence 2: a command first is out of
    // order, whatever came before.
    let (mut server, _) = mysql_server(ServerBehaviour::Honest);
    server.handle_input(&ssl_request());
    server_events(&mut server);
    server.handle_tls_established();
    server.handle_input(&packet(0, &[0x0e]));
    let reply = packets(&server_sent(&mut server));
    assert_eq!(err(&reply[0].1).map(|e| e.0), Some(1156));
}

// ---- both, in memory ----

#[test]
fn mysql_in_memory_runs_end_as_the_behaviours_say() {
    let run = |behaviour: ServerBehaviour| {
        run_in_memory(
            Dialect::Mysql,
            ClientSettings::default(),
            ServerSettings {
                behaviour,
                ..ServerSettings::default()
            },
        )
    };
    let honest = run(ServerBehaviour::Honest);
    assert!(honest.tls_established && honest.is_ready(), "{honest:?}");
    assert_eq!(honest.client_plaintext.len(), 36, "the SSLRequest alone");
    assert_eq!(honest.tls_prefix, SIMULATED_CLIENT_HELLO);
    assert!(run(ServerBehaviour::TlsRequired).is_ready());
    assert!(run(ServerBehaviour::Preauth).is_ready());
    assert!(matches!(
        run(ServerBehaviour::StartTlsNotAdvertised).failure(),
        Some(ClientFailure::NotOffered { .. })
    ));
    for refusal in [Refusal::Temporary, Refusal::Nonsense] {
        let outcome = run(ServerBehaviour::StartTlsRefused(refusal));
        assert!(!outcome.tls_established);
        assert!(outcome.client_plaintext.is_empty(), "{refusal:?}");
    }
    let injected = run(ServerBehaviour::ResponseInjection(b"\x00".to_vec()));
    assert!(matches!(
        injected.failure(),
        Some(ClientFailure::PlaintextAfterGoAhead { bytes: 1 })
    ));
    assert!(!injected.tls_established);
}
