//! Client machine against server machine, through `run_in_memory`: the dialect matrix.

use super::*;

/// What a run is expected to end in.
#[derive(Debug, PartialEq)]
enum Expect {
    Ready,
    NotOffered,
    Refused,
    Preauth,
    PlaintextAfterGoAhead,
    Protocol,
}

fn check(dialect: Dialect, behaviour: ServerBehaviour, expect: Expect) -> InMemoryOutcome {
    let config = ServerSettings {
        behaviour: behaviour.clone(),
        ..ServerSettings::default()
    };
    let outcome = run_in_memory(dialect, ClientSettings::default(), config);
    let got = match outcome.failure() {
        None if outcome.is_ready() => Expect::Ready,
        None => panic!("{dialect} {behaviour:?}: neither ready nor failed: {outcome:?}"),
        Some(ClientFailure::NotOffered { .. }) => Expect::NotOffered,
        Some(ClientFailure::Refused { .. }) => Expect::Refused,
        Some(ClientFailure::Preauth { .. }) => Expect::Preauth,
        Some(ClientFailure::PlaintextAfterGoAhead { .. }) => Expect::PlaintextAfterGoAhead,
        Some(ClientFailure::Protocol { .. }) => Expect::Protocol,
        Some(ClientFailure::Closed | ClientFailure::TlsInsteadOfGreeting) => {
            panic!("{dialect} {behaviour:?}: {outcome:?}")
        }
    };
    assert_eq!(got, expect, "{dialect} {behaviour:?}: {outcome:?}");
    assert_eq!(
        outcome.tls_established,
        expect == Expect::Ready,
        "{dialect} {behaviour:?}"
    );
    if expect != Expect::Ready {
        // A client that demanded TLS never sends anything protected, and in plaintext nothing
        // but the exchange up to the failure and its goodbye.
        assert!(
            outcome.client_protected.is_empty(),
            "{dialect} {behaviour:?}"
        );
    }
    outcome
}

#[test]
fn honest_and_tls_required_servers_upgrade_every_dialect() {
    for dialect in Dialect::ALL {
        for behaviour in [ServerBehaviour::Honest, ServerBehaviour::TlsRequired] {
            let outcome = check(dialect, behaviour, Expect::Ready);
            // After TLS nobody advertises STARTTLS any more.
            assert!(
                !crate::starttls::client::has_capability(&outcome.capabilities, "STARTTLS"),
                "{dialect}"
            );
            assert!(
                !crate::starttls::client::has_capability(&outcome.capabilities, "STLS"),
                "{dialect}"
            );
        }
    }
}

#[test]
fn honest_transcripts_are_exactly_the_rfc_exchanges() {
    let smtp = check(Dialect::Smtp, ServerBehaviour::Honest, Expect::Ready);
    assert_eq!(smtp.client_plaintext, b"EHLO localhost\r\nSTARTTLS\r\n");
    assert_eq!(smtp.client_protected, b"EHLO localhost\r\n");
    assert_eq!(
        smtp.capabilities,
        caps(&["SIZE 1048576", "8BITMIME", "ENHANCEDSTATUSCODES"])
    );

    let imap = check(Dialect::Imap, ServerBehaviour::Honest, Expect::Ready);
    assert_eq!(imap.client_plaintext, b"A2 STARTTLS\r\n");
    assert_eq!(imap.client_protected, b"A3 CAPABILITY\r\n");
    assert_eq!(imap.capabilities, caps(&["IMAP4rev1"]));

    let pop3 = check(Dialect::Pop3, ServerBehaviour::Honest, Expect::Ready);
    assert_eq!(pop3.client_plaintext, b"CAPA\r\nSTLS\r\n");
    assert_eq!(pop3.client_protected, b"CAPA\r\n");
    assert_eq!(
        pop3.capabilities,
        caps(&["USER", "IMPLEMENTATION streamsocket-mock"])
    );

    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let outcome = check(dialect, ServerBehaviour::Honest, Expect::Ready);
        assert!(outcome.client_plaintext.is_empty());
        assert!(
            outcome.server_plaintext.is_empty(),
            "{dialect}: the server never answers"
        );
        assert_eq!(outcome.tls_prefix, SIMULATED_CLIENT_HELLO, "{dialect}");
    }
}

#[test]
fn starttls_not_advertised_never_continues_in_plaintext() {
    for dialect in [Dialect::Smtp, Dialect::Imap, Dialect::Pop3] {
        check(
            dialect,
            ServerBehaviour::StartTlsNotAdvertised,
            Expect::NotOffered,
        );
    }
    let smtp = check(
        Dialect::Smtp,
        ServerBehaviour::StartTlsNotAdvertised,
        Expect::NotOffered,
    );
    assert_eq!(smtp.client_plaintext, b"EHLO localhost\r\nQUIT\r\n");
    assert_eq!(smtp.close_reason(), Some(&CloseReason::Quit));
    let imap = check(
        Dialect::Imap,
        ServerBehaviour::StartTlsNotAdvertised,
        Expect::NotOffered,
    );
    assert_eq!(imap.client_plaintext, b"A1 CAPABILITY\r\nA4 LOGOUT\r\n");
    let pop3 = check(
        Dialect::Pop3,
        ServerBehaviour::StartTlsNotAdvertised,
        Expect::NotOffered,
    );
    assert_eq!(pop3.client_plaintext, b"CAPA\r\nQUIT\r\n");
}

#[test]
fn refused_starttls_never_continues_in_plaintext() {
    for dialect in [Dialect::Smtp, Dialect::Imap, Dialect::Pop3] {
        for refusal in Refusal::ALL {
            if !refusal.applies_to(dialect) {
                continue;
            }
            // A reply that is no reply of the dialect is a protocol error, not a refusal the
            // client could quote; either way nothing follows but the goodbye.
            let expect = if refusal == Refusal::Nonsense {
                Expect::Protocol
            } else {
                Expect::Refused
            };
            let outcome = check(dialect, ServerBehaviour::StartTlsRefused(refusal), expect);
            let plaintext = String::from_utf8(outcome.client_plaintext).unwrap();
            let last = plaintext.lines().last().unwrap_or_default();
            assert!(
                last == "QUIT" || last == "A4 LOGOUT",
                "{dialect} {refusal:?}: {plaintext}"
            );
        }
    }
    for (dialect, refusal, reply) in [
        (
            Dialect::Smtp,
            Refusal::Temporary,
            "454 4.7.0 TLS not available due to temporary reason",
        ),
        (
            Dialect::Smtp,
            Refusal::Syntax,
            "501 5.5.4 Syntax error in parameters",
        ),
        (
            Dialect::Smtp,
            Refusal::Permanent,
            "554 5.7.3 TLS not available",
        ),
        (Dialect::Imap, Refusal::Temporary, "A2 NO TLS not available"),
        (
            Dialect::Imap,
            Refusal::Syntax,
            "A2 BAD command unknown or arguments invalid",
        ),
        (Dialect::Pop3, Refusal::Temporary, "-ERR TLS not available"),
    ] {
        let outcome = check(
            dialect,
            ServerBehaviour::StartTlsRefused(refusal),
            Expect::Refused,
        );
        assert_eq!(
            outcome.failure(),
            Some(&ClientFailure::Refused {
                reply: reply.to_owned()
            }),
            "{dialect} {refusal:?}"
        );
    }
}

#[test]
fn refusals_exist_only_where_the_dialect_has_them() {
    let smtp: Vec<_> = Refusal::ALL
        .into_iter()
        .filter(|r| r.applies_to(Dialect::Smtp))
        .collect();
    assert_eq!(smtp, Refusal::ALL);
    assert!(!Refusal::Permanent.applies_to(Dialect::Imap));
    assert!(!Refusal::Syntax.applies_to(Dialect::Pop3));
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        for refusal in Refusal::ALL {
            assert!(!refusal.applies_to(dialect), "{dialect} {refusal:?}");
            assert_eq!(refusal.reply(dialect, "A1"), None);
        }
    }
}

#[test]
fn framed_and_implicit_do_not_depend_on_starttls_behaviours() {
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        for behaviour in [
            ServerBehaviour::StartTlsNotAdvertised,
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            ServerBehaviour::Preauth,
        ] {
            check(dialect, behaviour, Expect::Ready);
        }
    }
}

#[test]
fn response_injection_is_detected_in_every_dialect() {
    for dialect in Dialect::ALL {
        let outcome = check(
            dialect,
            ServerBehaviour::ResponseInjection(b"250 injected\r\n".to_vec()),
            Expect::PlaintextAfterGoAhead,
        );
        assert_eq!(
            outcome.failure(),
            Some(&ClientFailure::PlaintextAfterGoAhead { bytes: 14 }),
            "{dialect}"
        );
    }
}

#[test]
fn imap_preauth_is_refused_and_other_dialects_ignore_it() {
    let outcome = check(Dialect::Imap, ServerBehaviour::Preauth, Expect::Preauth);
    assert_eq!(outcome.client_plaintext, b"A4 LOGOUT\r\n");
    check(Dialect::Smtp, ServerBehaviour::Preauth, Expect::Ready);
    check(Dialect::Pop3, ServerBehaviour::Preauth, Expect::Ready);
}

fn inject(dialect: Dialect, policy: InjectionPolicy, bytes: &[u8]) -> InMemoryOutcome {
    let server = ServerSettings {
        injection_policy: policy,
        ..ServerSettings::default()
    };
    let options = InMemoryOptions {
        inject_after_starttls: bytes.to_vec(),
    };
    run_in_memory_with(dialect, ClientSettings::default(), server, &options)
}

#[test]
fn command_injection_is_discarded_and_counted_by_default() {
    for (dialect, bytes) in [
        (Dialect::Smtp, &b"MAIL FROM:<evil>\r\n"[..]),
        (Dialect::Imap, b"X1 LOGIN evil evil\r\n"),
        (Dialect::Pop3, b"USER evil\r\n"),
    ] {
        let outcome = inject(dialect, InjectionPolicy::Discard, bytes);
        assert!(outcome.is_ready(), "{dialect}: {outcome:?}");
        assert_eq!(outcome.injected_discarded, bytes.len(), "{dialect}");
        let protected = String::from_utf8(outcome.server_protected).unwrap();
        assert!(
            !protected.contains("2.1.0") && !protected.contains("X1"),
            "{protected}"
        );
    }
}

#[test]
fn command_injection_closes_with_the_reject_policy() {
    for (dialect, expect) in [
        (Dialect::Smtp, Expect::Refused),
        (Dialect::Imap, Expect::Protocol),
        (Dialect::Pop3, Expect::Refused),
    ] {
        let outcome = inject(dialect, InjectionPolicy::Reject, b"NOOP\r\n");
        assert!(!outcome.tls_established, "{dialect}");
        assert_eq!(
            outcome.close_reason(),
            Some(&CloseReason::InjectionRejected),
            "{dialect}"
        );
        let got = match outcome.failure() {
            Some(ClientFailure::Refused { .. }) => Expect::Refused,
            Some(ClientFailure::Protocol { .. }) => Expect::Protocol,
            other => panic!("{dialect}: {other:?}"),
        };
        assert_eq!(got, expect, "{dialect}");
    }
}

#[test]
fn vulnerable_policy_answers_injected_commands_inside_tls() {
    let outcome = inject(Dialect::Smtp, InjectionPolicy::Vulnerable, b"NOOP\r\n");
    assert!(outcome.tls_established);
    // The plaintext NOOP's answer arrives first inside TLS, where the client takes it for the
    // answer to its EHLO: exactly the confusion CVE-2011-0411 allows.
    assert!(
        outcome.server_protected.starts_with(b"250 2.0.0 OK\r\n"),
        "{outcome:?}"
    );
    assert!(outcome.capabilities.is_empty());
}
