//! Response injection against the client and command injection against the server, three
//! variants each.
//!
//! The variants: extra complete lines after the go-ahead in the same read; a partial line (no
//! CRLF) after it; bytes arriving in a later read, after `StartTls` and before TLS.

use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, CloseReason, Dialect, InjectionPolicy, MAX_TLS_PREFIX,
    ServerBehaviour, ServerEvent, ServerSettings, run_in_memory,
};

use crate::support::{
    Client, LINE_DIALECTS, Server, client_at_starttls, client_hello, is_error_line, probe,
    server_at_starttls, starttls_command,
};

#[derive(Clone, Copy, Debug)]
enum Variant {
    CompleteLines,
    PartialLine,
    LaterRead,
}

const VARIANTS: [Variant; 3] = [
    Variant::CompleteLines,
    Variant::PartialLine,
    Variant::LaterRead,
];

const POLICIES: [InjectionPolicy; 3] = [
    InjectionPolicy::Discard,
    InjectionPolicy::Reject,
    InjectionPolicy::Vulnerable,
];

/// What a man in the middle appends after the server's go-ahead.
fn injected_response(dialect: Dialect, variant: Variant) -> &'static [u8] {
    match (dialect, variant) {
        (Dialect::Smtp | Dialect::Lmtp, Variant::PartialLine) => b"250-STARTTLS",
        (Dialect::Smtp | Dialect::Lmtp, _) => b"250-mx.example\r\n250 AUTH PLAIN\r\n",
        (Dialect::Imap, Variant::PartialLine) => b"* CAPABILITY IMAP4rev1 AUTH=PL",
        (Dialect::Imap, _) => b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK done\r\n",
        (Dialect::Nntp, Variant::PartialLine) => b"101 Capability li",
        (Dialect::Nntp, _) => b"101 Capability list:\r\nAUTHINFO USER\r\n.\r\n",
        (Dialect::Irc, Variant::PartialLine) => b":irc.example CAP * LS :sas",
        (Dialect::Irc, _) => b":irc.example CAP * LS :sasl=PLAIN AUTH\r\n",
        (Dialect::Ftp, Variant::PartialLine) => b"211-Features:\r\n AUTH TL",
        (Dialect::Ftp, _) => b"211-Features:\r\n AUTH PLAIN\r\n211 End\r\n",
        (Dialect::Sieve, Variant::PartialLine) => b"\"SASL\" \"PL",
        (Dialect::Sieve, _) => b"\"SASL\" \"PLAIN\"\r\nOK\r\n",
        (Dialect::Pop3, Variant::PartialLine) => b"+OK list",
        (Dialect::Pop3, _) => b"+OK list\r\nUSER\r\n.\r\n",
        (Dialect::Postgres, _) => panic!("postgres has its own module: postgres.rs"),
        (Dialect::Framed | Dialect::Implicit, Variant::PartialLine) => &[0, 0, 0, 9, b'h'],
        (Dialect::Framed | Dialect::Implicit, _) => b"\x00\x00\x00\x02hi",
        // MySQL's injection cases are in `mysql.rs`.
        (Dialect::Mysql, _) => panic!("{dialect} is not a line dialect"),
    }
}

#[test]
fn response_injection_never_reaches_the_client_as_data() {
    for dialect in LINE_DIALECTS {
        for variant in VARIANTS {
            let what = format!("{dialect} {variant:?}");
            let mut client = client_at_starttls(dialect);
            let go_ahead = crate::support::script(dialect).go_ahead;
            let injected = injected_response(dialect, variant);
            let expected_bytes = injected.len();
            match variant {
                Variant::CompleteLines | Variant::PartialLine => {
                    client.feed(&[go_ahead, injected].concat());
                    assert_eq!(
                        client.take_events(),
                        [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
                            bytes: expected_bytes
                        })],
                        "{what}: no StartTls, a failure"
                    );
                }
                Variant::LaterRead => {
                    client.feed(go_ahead);
                    assert_eq!(client.take_events(), [ClientEvent::StartTls], "{what}");
                    client.feed(injected);
                    assert_eq!(
                        client.take_events(),
                        [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
                            bytes: expected_bytes
                        })],
                        "{what}"
                    );
                }
            }
            // Nothing is sent, nothing more is surfaced, and TLS cannot be started any more.
            assert_eq!(client.take_sent(), "", "{what}");
            client.establish().feed(b"250 OK\r\n").eof();
            assert!(client.take_events().is_empty(), "{what}");
            assert_eq!(client.take_sent(), "", "{what}");
            assert!(client.machine.is_finished());
            assert!(
                !client
                    .machine
                    .capabilities()
                    .iter()
                    // FTP's plaintext FEAT lists "AUTH TLS" itself; the injected list says PLAIN.
                    .any(|c| c.contains("AUTH") && c != "AUTH TLS"),
                "{what}: injected capabilities surfaced"
            );
        }
    }
}

#[test]
fn a_framed_client_refuses_every_plaintext_byte_before_the_handshake() {
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        for variant in VARIANTS {
            let mut client = Client::new(dialect);
            assert_eq!(client.take_events(), [ClientEvent::StartTls]);
            let injected = injected_response(dialect, variant);
            client.feed(injected);
            assert_eq!(
                client.take_events(),
                [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
                    bytes: injected.len()
                })],
                "{dialect} {variant:?}"
            );
            client.establish();
            assert!(
                client.take_events().is_empty(),
                "{dialect}: ready after failure"
            );
            assert_eq!(client.take_sent(), "");
        }
    }
}

#[test]
fn a_response_injecting_server_fails_every_dialect_in_memory() {
    for dialect in Dialect::ALL {
        let server = ServerSettings {
            behaviour: ServerBehaviour::ResponseInjection(b"250 injected\r\n".to_vec()),
            ..ServerSettings::default()
        };
        let outcome = run_in_memory(dialect, Default::default(), server);
        assert!(!outcome.tls_established, "{dialect}");
        assert!(
            matches!(
                outcome.failure(),
                Some(ClientFailure::PlaintextAfterGoAhead { .. })
            ),
            "{dialect}: {outcome:?}"
        );
        assert!(outcome.client_protected.is_empty(), "{dialect}");
    }
}

/// A command whose reply shows that it was executed, and that reply's start.
fn injected_command(dialect: Dialect, variant: Variant) -> (&'static [u8], &'static str) {
    let (probe, reply) = probe(dialect);
    match variant {
        Variant::PartialLine => (&probe[..probe.len() - 2], reply),
        _ => (probe, reply),
    }
}

#[test]
fn command_injection_meets_each_policy() {
    let mut cases = 0;
    for dialect in LINE_DIALECTS {
        for policy in POLICIES {
            for variant in VARIANTS {
                cases += 1;
                check_command_injection(dialect, policy, variant);
            }
        }
    }
    assert_eq!(cases, 72);
}

fn check_command_injection(dialect: Dialect, policy: InjectionPolicy, variant: Variant) {
    let what = format!("{dialect} {policy:?} {variant:?}");
    let config = ServerSettings {
        injection_policy: policy,
        ..ServerSettings::default()
    };
    let mut server = server_at_starttls(dialect, config);
    let (injected, executed_reply) = injected_command(dialect, variant);
    let starttls = starttls_command(dialect);
    let same_read = !matches!(variant, Variant::LaterRead);
    if same_read {
        server.feed(&[starttls, injected].concat());
    } else {
        server.feed(starttls);
        assert_eq!(server.take_events(), [ServerEvent::StartTls], "{what}");
        assert!(!server.take_lines().is_empty(), "{what}: the go-ahead");
        server.feed(injected);
    }
    let lines = server.take_lines();
    let events = server.take_events();
    match policy {
        InjectionPolicy::Reject => {
            if same_read {
                // The error instead of the go-ahead, then the close.
                assert_eq!(lines.len(), 1, "{what}: {lines:?}");
                assert!(is_error_line(dialect, &lines[0]), "{what}: {lines:?}");
                assert_eq!(
                    events,
                    [ServerEvent::Close(CloseReason::InjectionRejected)],
                    "{what}"
                );
            } else {
                assert!(lines.is_empty(), "{what}: {lines:?}");
                assert_eq!(
                    events,
                    [ServerEvent::Close(CloseReason::InjectionRejected)],
                    "{what}"
                );
            }
            // Closed: TLS never starts, nothing is ever answered.
            server.establish();
            server.feed(b"NOOP\r\n");
            assert!(server.take_lines().is_empty(), "{what}");
            assert!(!server.machine.is_tls(), "{what}");
            return;
        }
        InjectionPolicy::Discard | InjectionPolicy::Vulnerable => {
            if same_read {
                assert_eq!(events, [ServerEvent::StartTls], "{what}");
                assert_eq!(lines.len(), 1, "{what}: only the go-ahead: {lines:?}");
            } else {
                assert!(events.is_empty() && lines.is_empty(), "{what}");
            }
        }
    }
    assert_eq!(
        server.establish(),
        b"",
        "{what}: no tls prefix for a line dialect"
    );
    let answered_at_once = server.take_lines();
    let buffered = server.machine.buffered_len();
    // The client's first protected bytes: the end of the partial line, or a fresh probe.
    let protected: &[u8] = match variant {
        Variant::PartialLine => b"\r\n",
        _ => b"",
    };
    server.feed(protected);
    let answered_after = server.take_lines();
    let executed = answered_at_once
        .iter()
        .chain(&answered_after)
        .any(|line| line.starts_with(executed_reply));
    match policy {
        InjectionPolicy::Discard => {
            assert_eq!(
                server.machine.injected_discarded(),
                injected.len(),
                "{what}"
            );
            assert!(!executed, "{what}: {answered_at_once:?} {answered_after:?}");
            assert_eq!(buffered, 0, "{what}: injected bytes kept");
            // The session goes on inside TLS.
            let (probe, reply) = probe(dialect);
            server.feed(probe);
            let lines = server.take_lines();
            assert!(
                lines.iter().any(|line| line.starts_with(reply)),
                "{what}: {lines:?}"
            );
        }
        InjectionPolicy::Vulnerable => {
            // The test proves it can fail: the injected command is answered inside TLS.
            assert!(executed, "{what}: {answered_at_once:?} {answered_after:?}");
            assert_eq!(server.machine.injected_discarded(), 0, "{what}");
        }
        InjectionPolicy::Reject => unreachable!("returned above"),
    }
}

#[test]
fn bytes_after_a_framed_client_hello_belong_to_tls_not_to_the_frame_reader() {
    let hello = client_hello();
    // The injection policy is about STARTTLS commands: for these dialects every policy behaves
    // the same, the bytes are TLS's.
    for (dialect, policy, variant) in [Dialect::Framed, Dialect::Implicit]
        .into_iter()
        .flat_map(|d| POLICIES.into_iter().map(move |p| (d, p)))
        .flat_map(|(d, p)| VARIANTS.into_iter().map(move |v| (d, p, v)))
    {
        let what = format!("{dialect} {policy:?} {variant:?}");
        let config = ServerSettings {
            injection_policy: policy,
            ..ServerSettings::default()
        };
        let mut server = Server::new(dialect, config);
        let injected = injected_response(dialect, variant);
        match variant {
            Variant::LaterRead => {
                server.feed(&hello).feed(injected);
            }
            _ => {
                server.feed(&[&hello[..], injected].concat());
            }
        }
        assert_eq!(server.take_events(), [ServerEvent::StartTls], "{what}");
        assert_eq!(server.take_replies(), "", "{what}");
        let prefix = server.establish();
        assert_eq!(prefix, [&hello[..], injected].concat(), "{what}");
        assert!(server.take_events().is_empty(), "{what}: a frame surfaced");
        assert_eq!(server.take_replies(), "", "{what}: echoed");
    }
}

#[test]
fn a_vulnerable_server_keeps_at_most_one_tls_prefix_of_injected_bytes() {
    for dialect in LINE_DIALECTS {
        let config = ServerSettings {
            injection_policy: InjectionPolicy::Vulnerable,
            ..ServerSettings::default()
        };
        let mut server = server_at_starttls(dialect, config);
        server.feed(starttls_command(dialect));
        server.take_replies();
        server.feed_chunked(&vec![b'x'; 4 * MAX_TLS_PREFIX], 4096);
        assert!(server.max_buffered <= MAX_TLS_PREFIX, "{dialect}");
    }
}
