//! PostgreSQL's SSLRequest against hostile peers, both directions. PostgreSQL is no line
//! dialect, so it has its own module; the expectations come from the protocol documentation
//! ("Message Flow: SSL Session Encryption", "Message Formats") and the two CVEs of 2021:
//! CVE-2021-23222 (libpq read what a man in the middle sent after `S` as if it came from inside
//! TLS) and CVE-2021-23214 (the server did the same with what came after the SSLRequest).

use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, ClientMachine, ClientSettings, CloseReason, Dialect,
    InjectionPolicy, MAX_STARTUP_PACKET, Refusal, ServerBehaviour, ServerEvent, ServerSettings,
};

use crate::support::Server;

/// Int32 length 8, Int32 code 80877103.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];
/// Int32 length 8, Int32 code 80877104.
const GSSENC_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x30];

/// A StartupMessage of protocol 3.0 with these parameters.
fn startup(parameters: &[(&str, &str)]) -> Vec<u8> {
    let mut body = 196_608u32.to_be_bytes().to_vec();
    for (name, value) in parameters {
        body.extend_from_slice(name.as_bytes());
        body.push(0);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut packet = u32::try_from(body.len() + 4)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    packet.extend_from_slice(&body);
    packet
}

/// The typed messages of `bytes`, as (type, body), read as the documentation lays them out.
fn messages(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while let [kind, a, b, c, d, rest @ ..] = bytes {
        let len = usize::try_from(u32::from_be_bytes([*a, *b, *c, *d])).unwrap();
        assert!(len >= 4 && rest.len() >= len - 4, "truncated message");
        out.push((*kind, rest[..len - 4].to_vec()));
        bytes = &rest[len - 4..];
    }
    assert!(bytes.is_empty(), "bytes after the last message: {bytes:?}");
    out
}

/// An ErrorResponse body's field `field` (`S`, `C`, `M`, ...).
fn error_field(body: &[u8], field: u8) -> Option<String> {
    body.split(|&b| b == 0)
        .find(|f| f.first() == Some(&field))
        .map(|f| String::from_utf8_lossy(&f[1..]).into_owned())
}

fn client() -> ClientMachine {
    let mut client = ClientMachine::new(Dialect::Postgres, ClientSettings::default());
    assert_eq!(client.poll_transmit().as_deref(), Some(&SSL_REQUEST[..]));
    client
}

fn events(client: &mut ClientMachine) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn server(behaviour: ServerBehaviour, injection_policy: InjectionPolicy) -> Server {
    Server::new(
        Dialect::Postgres,
        ServerSettings {
            behaviour,
            injection_policy,
            ..ServerSettings::default()
        },
    )
}

#[test]
fn a_refusal_sends_nothing_more_whatever_the_settings() {
    for quit_on_failure in [true, false] {
        for answer in [&b"N"[..], b"E\x00\x00\x00\x08S\x00\x00\x00"] {
            let config = ClientSettings {
                quit_on_failure,
                ..ClientSettings::default()
            };
            let mut client = ClientMachine::new(Dialect::Postgres, config);
            assert_eq!(client.poll_transmit().as_deref(), Some(&SSL_REQUEST[..]));
            client.handle_input(answer);
            assert!(
                matches!(
                    events(&mut client).as_slice(),
                    [ClientEvent::Failed(ClientFailure::Refused { .. })]
                ),
                "{answer:?}"
            );
            // No StartupMessage, no Terminate: the client just closes.
            assert_eq!(client.poll_transmit(), None, "{answer:?}");
            client.handle_input(b"S");
            assert!(events(&mut client).is_empty());
        }
    }
}

#[test]
fn bytes_after_the_go_ahead_fail_the_client_however_they_arrive() {
    // What a man in the middle would plant: AuthenticationOk and ReadyForQuery.
    let planted: &[u8] = b"R\x00\x00\x00\x08\x00\x00\x00\x00Z\x00\x00\x00\x05I";
    let mut same_read = client();
    same_read.handle_input(&[b"S", planted].concat());
    assert_eq!(
        events(&mut same_read),
        [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
            bytes: planted.len()
        })]
    );
    for split in 1..planted.len() {
        let mut later = client();
        later.handle_input(b"S");
        assert_eq!(events(&mut later), [ClientEvent::StartTls]);
        later.handle_input(&planted[..split]);
        later.handle_input(&planted[split..]);
        assert_eq!(
            events(&mut later),
            [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
                bytes: split
            })],
            "split {split}"
        );
        assert_eq!(later.poll_transmit(), None);
        later.handle_tls_established();
        assert!(events(&mut later).is_empty(), "ready after the failure");
    }
}

#[test]
fn an_answer_byte_other_than_s_n_or_e_is_never_a_go_ahead() {
    for byte in 0..=u8::MAX {
        if matches!(byte, b'S' | b'N' | b'E') {
            continue;
        }
        let mut client = client();
        client.handle_input(&[byte]);
        assert!(
            matches!(
                events(&mut client).as_slice(),
                [ClientEvent::Failed(ClientFailure::Protocol { .. })]
            ),
            "{byte:#04x}"
        );
        assert_eq!(client.poll_transmit(), None);
    }
}

#[test]
fn a_stalling_or_closing_server_never_readies_the_client_in_plaintext() {
    let mut silent = client();
    silent.handle_input(b"");
    assert!(events(&mut silent).is_empty());
    silent.handle_eof();
    assert_eq!(
        events(&mut silent),
        [ClientEvent::Failed(ClientFailure::Closed)]
    );
    let mut stalled = client();
    stalled.handle_input(b"S");
    assert_eq!(events(&mut stalled), [ClientEvent::StartTls]);
    stalled.handle_eof();
    assert_eq!(
        events(&mut stalled),
        [ClientEvent::Failed(ClientFailure::Closed)]
    );
    assert_eq!(stalled.poll_transmit(), None);
}

#[test]
fn bytes_after_the_ssl_request_meet_each_policy() {
    let injected = startup(&[("user", "mallory"), ("database", "postgres")]);
    let request: Vec<u8> = [&SSL_REQUEST[..], &injected].concat();
    // Discard: the go-ahead, the bytes counted and never read, inside TLS a fresh start.
    let mut discard = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    discard.feed(&request);
    assert_eq!(discard.take_replies(), "S");
    assert_eq!(discard.take_events(), [ServerEvent::StartTls]);
    assert_eq!(discard.machine.injected_discarded(), injected.len());
    assert!(discard.establish().is_empty());
    assert_eq!(
        discard.take_replies(),
        "",
        "the injected startup was answered"
    );
    // Reject: a FATAL ErrorResponse instead of `S`, and the close.
    let mut reject = server(ServerBehaviour::Honest, InjectionPolicy::Reject);
    reject.feed(&request);
    let sent = std::mem::take(&mut reject.replies);
    let replies = messages(&sent);
    assert_eq!(replies.len(), 1, "{sent:?}");
    let (kind, body) = &replies[0];
    assert_eq!(*kind, b'E');
    assert_eq!(error_field(body, b'S').as_deref(), Some("FATAL"));
    assert_eq!(error_field(body, b'C').as_deref(), Some("08P01"));
    assert_eq!(
        reject.take_events(),
        [ServerEvent::Close(CloseReason::InjectionRejected)]
    );
    // The same bytes in a later read, before the handshake: closed, nothing said.
    let mut later = server(ServerBehaviour::Honest, InjectionPolicy::Reject);
    later.feed(&SSL_REQUEST);
    assert_eq!(later.take_replies(), "S");
    later.feed(&injected);
    assert_eq!(later.take_replies(), "");
    assert_eq!(
        later.take_events(),
        [
            ServerEvent::StartTls,
            ServerEvent::Close(CloseReason::InjectionRejected)
        ]
    );
    // Vulnerable (the server of CVE-2021-23214, kept for testing other tools): the plaintext
    // startup is answered inside TLS although the client sent nothing there.
    let mut vulnerable = server(ServerBehaviour::Honest, InjectionPolicy::Vulnerable);
    vulnerable.feed(&request);
    assert_eq!(vulnerable.take_replies(), "S");
    vulnerable.establish();
    let inside = std::mem::take(&mut vulnerable.replies);
    let kinds: Vec<u8> = messages(&inside).into_iter().map(|(k, _)| k).collect();
    assert_eq!(kinds, [b'R', b'Z']);
}

#[test]
fn a_gssenc_request_is_refused_and_tls_may_follow() {
    let mut server = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    server.feed(&GSSENC_REQUEST);
    assert_eq!(server.take_replies(), "N");
    assert!(server.take_events().is_empty());
    server.feed(&SSL_REQUEST);
    assert_eq!(server.take_replies(), "S");
    assert_eq!(server.take_events(), [ServerEvent::StartTls]);
}

#[test]
fn a_server_requiring_tls_refuses_a_plaintext_startup_with_fatal_28000() {
    for before in [&[][..], &GSSENC_REQUEST[..]] {
        let mut server = server(ServerBehaviour::TlsRequired, InjectionPolicy::Discard);
        server.feed(before);
        server.take_replies();
        server.feed(&startup(&[("user", "alice"), ("database", "db")]));
        let sent = std::mem::take(&mut server.replies);
        let replies = messages(&sent);
        let [(b'E', body)] = replies.as_slice() else {
            panic!("not one ErrorResponse: {sent:?}");
        };
        assert_eq!(error_field(body, b'S').as_deref(), Some("FATAL"));
        assert_eq!(error_field(body, b'C').as_deref(), Some("28000"));
        let message = error_field(body, b'M').unwrap();
        assert!(message.contains("no encryption"), "{message}");
        assert_eq!(
            server.take_events(),
            [ServerEvent::Close(CloseReason::Fatal)]
        );
    }
    // Inside TLS the same startup is accepted: AuthenticationOk, ReadyForQuery.
    let mut server = server(ServerBehaviour::TlsRequired, InjectionPolicy::Discard);
    server.feed(&SSL_REQUEST);
    server.take_replies();
    server.establish();
    server.feed(&startup(&[("user", "alice")]));
    let sent = std::mem::take(&mut server.replies);
    assert_eq!(
        messages(&sent),
        [(b'R', vec![0, 0, 0, 0]), (b'Z', b"I".to_vec())]
    );
}

#[test]
fn a_second_ssl_request_is_a_protocol_violation() {
    let mut after_refusal = server(
        ServerBehaviour::StartTlsNotAdvertised,
        InjectionPolicy::Discard,
    );
    after_refusal.feed(&SSL_REQUEST);
    assert_eq!(after_refusal.take_replies(), "N");
    after_refusal.feed(&SSL_REQUEST);
    let sent = std::mem::take(&mut after_refusal.replies);
    assert_eq!(messages(&sent).first().map(|m| m.0), Some(b'E'));
    assert_eq!(
        after_refusal.take_events(),
        [ServerEvent::Close(CloseReason::Fatal)]
    );
    let mut inside_tls = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    inside_tls.feed(&SSL_REQUEST);
    inside_tls.take_replies();
    inside_tls.take_events();
    inside_tls.establish();
    inside_tls.feed(&SSL_REQUEST);
    let sent = std::mem::take(&mut inside_tls.replies);
    assert_eq!(messages(&sent).first().map(|m| m.0), Some(b'E'));
    assert_eq!(
        inside_tls.take_events(),
        [ServerEvent::Close(CloseReason::Fatal)]
    );
}

#[test]
fn each_refusal_is_its_own_answer() {
    let cases: [(ServerBehaviour, &[u8], bool); 4] = [
        (ServerBehaviour::StartTlsNotAdvertised, b"N", false),
        (
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            b"N",
            false,
        ),
        (
            ServerBehaviour::StartTlsRefused(Refusal::Nonsense),
            b"Y",
            false,
        ),
        (
            ServerBehaviour::StartTlsRefused(Refusal::Permanent),
            b"E",
            true,
        ),
    ];
    for (behaviour, first, closes) in cases {
        let mut server = server(behaviour.clone(), InjectionPolicy::Discard);
        server.feed(&SSL_REQUEST);
        let sent = std::mem::take(&mut server.replies);
        assert_eq!(sent.first(), first.first(), "{behaviour:?}");
        let ended = server.take_events();
        assert!(!ended.contains(&ServerEvent::StartTls), "{behaviour:?}");
        assert_eq!(
            ended == [ServerEvent::Close(CloseReason::Fatal)],
            closes,
            "{behaviour:?}: {ended:?}"
        );
        // Every refusal in the client's eyes.
        let mut client = client();
        client.handle_input(&sent);
        let failed = events(&mut client);
        assert!(
            matches!(
                failed.as_slice(),
                [ClientEvent::Failed(
                    ClientFailure::Refused { .. } | ClientFailure::Protocol { .. }
                )]
            ),
            "{behaviour:?}: {failed:?}"
        );
    }
}

#[test]
fn declared_lengths_never_make_the_server_buffer_more_than_a_startup_packet() {
    // A length beyond the limit closes at once.
    let mut huge = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    huge.feed(&[0x7F, 0xFF, 0xFF, 0xFF]);
    assert_eq!(huge.take_events(), [ServerEvent::Close(CloseReason::Fatal)]);
    // The longest allowed startup packet, fed a byte at a time, stays within it.
    let mut longest = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    let mut packet = u32::try_from(MAX_STARTUP_PACKET)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    packet.extend_from_slice(&196_608u32.to_be_bytes());
    packet.resize(MAX_STARTUP_PACKET - 1, b'x');
    longest.feed_chunked(&packet, 1);
    assert!(longest.max_buffered <= MAX_STARTUP_PACKET);
    assert!(longest.take_events().is_empty());
    // After the startup a message's body is skipped, never kept, whatever its length says.
    let mut session = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    let packet = startup(&[("user", "alice")]);
    session.feed(&packet);
    session.take_replies();
    session.feed(&[b'Q', 0x40, 0, 0, 0]);
    session.feed_chunked(&vec![b'x'; 1 << 20], 4096);
    // The startup packet was the most ever held.
    assert!(session.max_buffered <= packet.len());
    assert!(session.take_events().is_empty());
}

#[test]
fn direct_tls_starts_at_the_first_byte_without_an_s_and_needs_the_alpn_protocol() {
    // PostgreSQL 17: a ClientHello as the connection's first bytes, on the same port.
    let hello = crate::support::client_hello();
    for chunk in [hello.len(), 1] {
        let mut direct = server(ServerBehaviour::Honest, InjectionPolicy::Reject);
        direct.feed_chunked(&hello, chunk);
        assert_eq!(direct.take_replies(), "", "no S before a direct handshake");
        assert_eq!(direct.take_events(), [ServerEvent::StartTls]);
        // The ClientHello is the handshake's, not injected plaintext, whatever the policy.
        assert_eq!(direct.establish(), hello);
        assert_eq!(direct.machine.injected_discarded(), 0);
        assert!(!direct.machine.accepts_alpn(None));
        assert!(!direct.machine.accepts_alpn(Some(b"h2")));
        assert!(direct.machine.accepts_alpn(Some(b"postgresql")));
        direct.feed(&startup(&[("user", "alice")]));
        let sent = std::mem::take(&mut direct.replies);
        let kinds: Vec<u8> = messages(&sent).into_iter().map(|(k, _)| k).collect();
        assert_eq!(kinds, [b'R', b'Z']);
    }
    // After the SSLRequest no ALPN is needed (libpq before 17 offers none).
    let mut upgraded = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    upgraded.feed(&SSL_REQUEST);
    upgraded.establish();
    assert!(upgraded.machine.accepts_alpn(None));
    // A ClientHello after an SSLRequest's `N`, or to a server without SSL, is no startup
    // packet: its length (0x1603....) is impossible.
    let mut late = server(ServerBehaviour::Honest, InjectionPolicy::Discard);
    late.feed(&GSSENC_REQUEST);
    late.take_replies();
    late.feed(&hello);
    assert_eq!(late.take_events(), [ServerEvent::Close(CloseReason::Fatal)]);
    let mut without_ssl = server(
        ServerBehaviour::StartTlsNotAdvertised,
        InjectionPolicy::Discard,
    );
    without_ssl.feed(&hello);
    assert_eq!(
        without_ssl.take_events(),
        [ServerEvent::Close(CloseReason::Fatal)]
    );
}
