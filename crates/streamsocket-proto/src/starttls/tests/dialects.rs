//! The rules of the dialects added after SMTP, IMAP and POP3, one section per dialect, each
//! written from its RFC: what the client sends, what the server answers, and where the
//! go-ahead is.

use super::*;

// ---- LMTP (RFC 2033) ----

#[test]
fn lmtp_client_says_lhlo_never_ehlo_before_and_after_tls() {
    let mut client = client(Dialect::Lmtp);
    client.handle_input(b"220 lmtp.example LMTP ready\r\n");
    assert_eq!(client_sent(&mut client), "LHLO localhost\r\n");
    client.handle_input(b"250-lmtp.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n");
    assert_eq!(client_sent(&mut client), "STARTTLS\r\n");
    client.handle_input(b"220 2.0.0 go ahead\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert!(client.capabilities().is_empty());
    assert_eq!(client_sent(&mut client), "LHLO localhost\r\n");
    client.handle_input(b"250-lmtp.example\r\n250 AUTH PLAIN\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["AUTH PLAIN"])
        }]
    );
}

#[test]
fn lmtp_client_refused_or_not_offered_says_only_quit() {
    for (capabilities, answer, expected) in [
        (
            &b"250-x\r\n250 PIPELINING\r\n"[..],
            &b""[..],
            ClientFailure::NotOffered {
                capabilities: caps(&["PIPELINING"]),
            },
        ),
        (
            b"250-x\r\n250 STARTTLS\r\n",
            b"454 4.7.0 not now\r\n",
            ClientFailure::Refused {
                reply: "454 4.7.0 not now".to_owned(),
            },
        ),
    ] {
        let mut client = client(Dialect::Lmtp);
        client.handle_input(b"220 x LMTP\r\n");
        client_sent(&mut client);
        client.handle_input(capabilities);
        client.handle_input(answer);
        let sent = client_sent(&mut client);
        assert!(sent.ends_with("QUIT\r\n"), "{sent:?}");
        assert!(!sent.contains("MAIL"), "{sent:?}");
        assert_eq!(client_events(&mut client), [failed(expected)]);
    }
}

#[test]
fn lmtp_client_fails_on_bytes_after_the_go_ahead() {
    let mut client = client(Dialect::Lmtp);
    client.handle_input(b"220 x LMTP\r\n250-x\r\n250 STARTTLS\r\n");
    client_sent(&mut client);
    client.handle_input(b"220 go\r\n250 injected\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 14 })]
    );
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn lmtp_server_knows_lhlo_and_not_the_smtp_greetings() {
    let mut server = server_with(Dialect::Lmtp, ServerBehaviour::Honest);
    assert_eq!(
        server_text(&mut server),
        "220 localhost LMTP streamsocket mock ready\r\n"
    );
    for verb in ["EHLO", "HELO"] {
        server.handle_input(format!("{verb} client.example\r\n").as_bytes());
        assert_eq!(
            server_text(&mut server),
            "500 5.5.2 Error: command not recognized\r\n",
            "{verb}"
        );
    }
    // Not greeted: STARTTLS needs LHLO first.
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "503 5.5.1 Error: send LHLO first\r\n"
    );
    server.handle_input(b"LHLO client.example\r\n");
    let reply = server_text(&mut server);
    assert!(reply.contains("250-STARTTLS\r\n"), "{reply:?}");
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(server_text(&mut server), "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
}

#[test]
fn smtp_server_does_not_know_lhlo() {
    let mut server = server_with(Dialect::Smtp, ServerBehaviour::Honest);
    server_text(&mut server);
    server.handle_input(b"LHLO client.example\r\n");
    assert_eq!(
        server_text(&mut server),
        "500 5.5.2 Error: command not recognized\r\n"
    );
}

#[test]
fn lmtp_server_answers_data_once_per_recipient() {
    let mut server = server_with(Dialect::Lmtp, ServerBehaviour::Honest);
    server.handle_input(b"LHLO c\r\n");
    server_text(&mut server);
    server.handle_input(
        b"MAIL FROM:<a@x>\r\nRCPT TO:<b@x>\r\nRCPT TO:<c@x>\r\nRCPT TO:<d@x>\r\nDATA\r\n",
    );
    server_text(&mut server);
    server.handle_input(b"hello\r\n.\r\n");
    assert_eq!(
        server_text(&mut server),
        "250 2.0.0 OK queued\r\n".repeat(3)
    );
    let events = server_events(&mut server);
    let [ServerEvent::Mail { to, .. }] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(to.len(), 3);
}

#[test]
fn lmtp_server_forgets_lhlo_after_tls() {
    let mut server = server_with(Dialect::Lmtp, ServerBehaviour::Honest);
    server.handle_input(b"LHLO c\r\nSTARTTLS\r\n");
    server_text(&mut server);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    server.handle_input(b"MAIL FROM:<a@x>\r\n");
    assert_eq!(
        server_text(&mut server),
        "503 5.5.1 Error: send LHLO first\r\n"
    );
    server.handle_input(b"LHLO c\r\n");
    let reply = server_text(&mut server);
    assert!(!reply.contains("STARTTLS"), "{reply:?}");
}

#[test]
fn lmtp_has_the_refusals_of_smtp() {
    for refusal in Refusal::ALL {
        assert_eq!(
            refusal.applies_to(Dialect::Lmtp),
            refusal.applies_to(Dialect::Smtp),
            "{refusal:?}"
        );
        assert_eq!(
            refusal.reply(Dialect::Lmtp, ""),
            refusal.reply(Dialect::Smtp, ""),
            "{refusal:?}"
        );
    }
}

// ---- NNTP (RFC 3977, RFC 4642) ----

#[test]
fn nntp_client_reads_capabilities_then_upgrades_and_asks_again() {
    let mut client = client(Dialect::Nntp);
    client.handle_input(b"200 news.example ready\r\n");
    assert_eq!(client_sent(&mut client), "CAPABILITIES\r\n");
    client.handle_input(b"101 Capability list:\r\nVERSION 2\r\nREADER\r\nstarttls\r\n.\r\n");
    assert_eq!(client_sent(&mut client), "STARTTLS\r\n");
    client.handle_input(b"382 Continue with TLS negotiation\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert!(client.capabilities().is_empty());
    assert_eq!(client_sent(&mut client), "CAPABILITIES\r\n");
    client.handle_input(b"101 list\r\nVERSION 2\r\nAUTHINFO USER\r\n.\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["VERSION 2", "AUTHINFO USER"])
        }]
    );
}

#[test]
fn nntp_client_without_a_capability_list_or_a_382_only_quits() {
    for (answer_to_capabilities, answer_to_starttls, expected) in [
        (
            &b"500 Unknown command\r\n"[..],
            &b""[..],
            ClientFailure::NotOffered {
                capabilities: vec![],
            },
        ),
        (
            b"101 list\r\nVERSION 2\r\n.\r\n",
            b"",
            ClientFailure::NotOffered {
                capabilities: caps(&["VERSION 2"]),
            },
        ),
        (
            b"101 list\r\nSTARTTLS\r\n.\r\n",
            b"580 Can not initiate TLS negotiation\r\n",
            ClientFailure::Refused {
                reply: "580 Can not initiate TLS negotiation".to_owned(),
            },
        ),
        // A 2xx is no go-ahead: only 382 is (RFC 4642 section 2.2.1).
        (
            b"101 list\r\nSTARTTLS\r\n.\r\n",
            b"200 fine\r\n",
            ClientFailure::Refused {
                reply: "200 fine".to_owned(),
            },
        ),
    ] {
        let mut client = client(Dialect::Nntp);
        client.handle_input(b"201 news ready\r\n");
        client_sent(&mut client);
        client.handle_input(answer_to_capabilities);
        client.handle_input(answer_to_starttls);
        let sent = client_sent(&mut client);
        assert!(sent.ends_with("QUIT\r\n"), "{sent:?}");
        assert_eq!(client_events(&mut client), [failed(expected)]);
    }
}

#[test]
fn nntp_client_takes_no_continuation_line_and_no_refusing_greeting() {
    for (input, expected_goodbye) in [
        (&b"200-more\r\n"[..], "QUIT\r\n"),
        (b"400 not now\r\n", "QUIT\r\n"),
    ] {
        let mut client = client(Dialect::Nntp);
        client.handle_input(input);
        assert_eq!(client_sent(&mut client), expected_goodbye, "{input:?}");
        let events = client_events(&mut client);
        assert!(
            matches!(events.as_slice(), [ClientEvent::Failed(_)]),
            "{events:?}"
        );
    }
}

#[test]
fn nntp_client_fails_on_bytes_after_the_382() {
    let mut client = client(Dialect::Nntp);
    client.handle_input(b"200 x\r\n101 l\r\nSTARTTLS\r\n.\r\n");
    client_sent(&mut client);
    client.handle_input(b"382 go\r\n101 l\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 7 })]
    );
    assert_eq!(client_sent(&mut client), "");
}

fn nntp_server(behaviour: ServerBehaviour) -> ServerMachine {
    let mut server = server_with(Dialect::Nntp, behaviour);
    assert_eq!(
        server_text(&mut server),
        "200 localhost NNTP streamsocket mock ready\r\n"
    );
    server
}

#[test]
fn nntp_server_lists_starttls_and_answers_382() {
    let mut server = nntp_server(ServerBehaviour::Honest);
    server.handle_input(b"CAPABILITIES\r\n");
    assert_eq!(
        server_text(&mut server),
        "101 Capability list:\r\nVERSION 2\r\nREADER\r\nSTARTTLS\r\nAUTHINFO USER\r\n\
         IMPLEMENTATION streamsocket-mock\r\n.\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "382 Continue with TLS negotiation\r\n"
    );
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    assert_eq!(server_text(&mut server), "", "no greeting after TLS");
    server.handle_input(b"CAPABILITIES\r\nSTARTTLS\r\n");
    let reply = server_text(&mut server);
    assert!(!reply.contains("\r\nSTARTTLS\r\n"), "{reply:?}");
    assert!(
        reply.ends_with("502 Command unavailable: TLS already active\r\n"),
        "{reply:?}"
    );
}

#[test]
fn nntp_server_refuses_starttls_after_authentication_and_forgets_it_after_tls() {
    let mut server = nntp_server(ServerBehaviour::Honest);
    server.handle_input(b"AUTHINFO PASS p\r\nAUTHINFO USER u\r\nAUTHINFO PASS p\r\n");
    assert_eq!(
        server_text(&mut server),
        "482 Authentication commands issued out of sequence\r\n381 Password required\r\n\
         281 Authentication accepted\r\n"
    );
    server.handle_input(b"CAPABILITIES\r\nSTARTTLS\r\n");
    let reply = server_text(&mut server);
    assert!(!reply.contains("\r\nSTARTTLS\r\n"), "{reply:?}");
    assert!(
        reply.ends_with("502 Command unavailable after authentication\r\n"),
        "{reply:?}"
    );

    let mut server = nntp_server(ServerBehaviour::Honest);
    server.handle_input(b"AUTHINFO USER u\r\nSTARTTLS\r\n");
    server_text(&mut server);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    // The USER given in plaintext is forgotten.
    server.handle_input(b"AUTHINFO PASS p\r\n");
    assert_eq!(
        server_text(&mut server),
        "482 Authentication commands issued out of sequence\r\n"
    );
}

#[test]
fn nntp_server_requiring_tls_answers_483_until_the_upgrade() {
    let mut server = nntp_server(ServerBehaviour::TlsRequired);
    server.handle_input(b"GROUP misc.test\r\nAUTHINFO USER u\r\nCAPABILITIES\r\n");
    let reply = server_text(&mut server);
    assert!(
        reply.starts_with("483 Encryption required\r\n483 Encryption required\r\n101 "),
        "{reply:?}"
    );
    assert!(!reply.contains("AUTHINFO"), "{reply:?}");
    server.handle_input(b"STARTTLS\r\n");
    server_text(&mut server);
    server.handle_tls_established();
    server.handle_input(b"GROUP misc.test\r\n");
    assert_eq!(server_text(&mut server), "411 No such newsgroup\r\n");
}

#[test]
fn nntp_refusals_are_rfc_4642s_codes() {
    let replies: Vec<Option<String>> = Refusal::ALL
        .into_iter()
        .map(|refusal| refusal.reply(Dialect::Nntp, ""))
        .collect();
    assert_eq!(
        replies,
        [
            Some("580 Can not initiate TLS negotiation".to_owned()),
            Some("501 Syntax error".to_owned()),
            Some("502 Command unavailable".to_owned()),
            Some("Ready when you are".to_owned()),
        ]
    );
    assert!(Refusal::ALL.iter().all(|r| r.applies_to(Dialect::Nntp)));
}

// ---- ManageSieve (RFC 5804) ----

/// The example greeting of RFC 5804 section 1.8, shortened.
const SIEVE_GREETING: &[u8] = b"\"IMPLEMENTATION\" \"Example1 ManageSieved v001\"\r\n\
    \"SASL\" \"DIGEST-MD5 GSSAPI\"\r\n\"SIEVE\" \"fileinto vacation\"\r\n\"StartTLS\"\r\n\
    \"VERSION\" \"1.0\"\r\nOK\r\n";

#[test]
fn sieve_client_upgrades_from_the_greeting_and_waits_for_the_capabilities_unasked() {
    let mut client = client(Dialect::Sieve);
    client.handle_input(SIEVE_GREETING);
    // The capability name is case-insensitive ("StartTLS" in RFC 5804's own example).
    assert_eq!(client_sent(&mut client), "STARTTLS\r\n");
    assert_eq!(client.capabilities().len(), 5);
    client.handle_input(b"OK \"Begin TLS negotiation now\"\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert!(client.capabilities().is_empty());
    // Section 2.2: the server speaks first inside TLS; the client asks nothing.
    assert_eq!(client_sent(&mut client), "");
    client.handle_input(b"\"IMPLEMENTATION\" \"Example1\"\r\n\"SASL\" \"PLAIN\"\r\nOK\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["IMPLEMENTATION Example1", "SASL PLAIN"])
        }]
    );
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn sieve_client_refused_or_not_offered_says_only_logout() {
    for (answer, expected) in [
        (
            &b"NO \"TLS unavailable\"\r\n"[..],
            ClientFailure::Refused {
                reply: "NO \"TLS unavailable\"".to_owned(),
            },
        ),
        (
            b"BYE (TRYLATER) \"going away\"\r\n",
            ClientFailure::Refused {
                reply: "BYE (TRYLATER) \"going away\"".to_owned(),
            },
        ),
    ] {
        let mut client = client(Dialect::Sieve);
        client.handle_input(SIEVE_GREETING);
        assert_eq!(client_sent(&mut client), "STARTTLS\r\n");
        client.handle_input(answer);
        assert_eq!(client_events(&mut client), [ClientEvent::Failed(expected)]);
        assert_eq!(client_sent(&mut client), "LOGOUT\r\n");
    }
    let mut client = client(Dialect::Sieve);
    client.handle_input(b"\"IMPLEMENTATION\" \"x\"\r\n\"VERSION\" \"1.0\"\r\nOK\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Failed(ClientFailure::NotOffered {
            capabilities: caps(&["IMPLEMENTATION x", "VERSION 1.0"])
        })]
    );
    assert_eq!(client_sent(&mut client), "LOGOUT\r\n");
}

#[test]
fn sieve_client_fails_on_bytes_after_the_ok() {
    let mut client = client(Dialect::Sieve);
    client.handle_input(SIEVE_GREETING);
    client_sent(&mut client);
    client.handle_input(b"OK\r\n\"SASL\" \"PLAIN\"\r\nOK\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
            bytes: 20
        })]
    );
    assert_eq!(client_sent(&mut client), "");
}

fn sieve_server(behaviour: ServerBehaviour) -> (ServerMachine, String) {
    let mut server = server_with(Dialect::Sieve, behaviour);
    let greeting = server_text(&mut server);
    assert!(
        greeting.ends_with("OK \"localhost ManageSieve streamsocket mock ready\"\r\n"),
        "{greeting:?}"
    );
    (server, greeting)
}

#[test]
fn sieve_server_greets_with_its_capabilities_and_sends_them_again_inside_tls() {
    let (mut server, greeting) = sieve_server(ServerBehaviour::Honest);
    assert_eq!(
        greeting,
        "\"IMPLEMENTATION\" \"streamsocket mock\"\r\n\"SASL\" \"PLAIN\"\r\n\
         \"SIEVE\" \"fileinto vacation\"\r\n\"STARTTLS\"\r\n\"VERSION\" \"1.0\"\r\n\
         OK \"localhost ManageSieve streamsocket mock ready\"\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "OK \"Begin TLS negotiation now\"\r\n"
    );
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    assert_eq!(
        server_text(&mut server),
        "\"IMPLEMENTATION\" \"streamsocket mock\"\r\n\"SASL\" \"PLAIN\"\r\n\
         \"SIEVE\" \"fileinto vacation\"\r\n\"VERSION\" \"1.0\"\r\n\
         OK \"TLS negotiation successful\"\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(server_text(&mut server), "NO \"TLS already active\"\r\n");
    assert!(server_events(&mut server).is_empty());
}

#[test]
fn sieve_server_refuses_starttls_after_authentication_and_forgets_it_after_tls() {
    let (mut server, _) = sieve_server(ServerBehaviour::Honest);
    server.handle_input(b"AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\nCAPABILITY\r\nSTARTTLS\r\n");
    let reply = server_text(&mut server);
    assert!(reply.starts_with("OK \"Authenticated\"\r\n"), "{reply:?}");
    assert!(!reply.contains("\"STARTTLS\""), "{reply:?}");
    assert!(
        reply.ends_with("NO \"STARTTLS not allowed after authentication\"\r\n"),
        "{reply:?}"
    );
    assert!(server_events(&mut server).is_empty());

    let (mut server, _) = sieve_server(ServerBehaviour::Honest);
    server.handle_input(b"STARTTLS\r\n");
    server_text(&mut server);
    server.handle_tls_established();
    server_text(&mut server);
    // Nothing authenticated in plaintext: AUTHENTICATE is accepted once inside TLS.
    server.handle_input(b"AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\n");
    assert_eq!(server_text(&mut server), "OK \"Authenticated\"\r\n");
}

/// A planting server's injected capabilities stand in for the ones owed inside TLS: it sends
/// nothing there unasked, so that only the planted bytes could make a client speak first; asked,
/// it answers.
#[test]
fn sieve_server_planting_capabilities_withholds_its_own_inside_tls_until_asked() {
    let planted = b"\"INJECTED\"\r\nOK\r\n".to_vec();
    let (mut server, _) = sieve_server(ServerBehaviour::ResponseInjection(planted));
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "OK \"Begin TLS negotiation now\"\r\n\"INJECTED\"\r\nOK\r\n"
    );
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    assert_eq!(server_text(&mut server), "");
    server.handle_input(b"CAPABILITY\r\n");
    let answer = server_text(&mut server);
    assert!(answer.contains("\"SASL\" \"PLAIN\"\r\n"), "{answer:?}");
    assert!(!answer.contains("STARTTLS"), "{answer:?}");
    assert!(
        answer.ends_with("OK \"Capability completed\"\r\n"),
        "{answer:?}"
    );
}

/// RFC 5804 section 2.14: `NOOP` with a tag answers with the TAG response code carrying it; a
/// tag that is not a plain quoted string is refused, never echoed.
#[test]
fn sieve_server_echoes_a_noop_tag_and_refuses_what_is_not_a_plain_quoted_string() {
    let (mut server, _) = sieve_server(ServerBehaviour::Honest);
    server.handle_input(b"NOOP \"STARTTLS-SYNC-42\"\r\n");
    assert_eq!(
        server_text(&mut server),
        "OK (TAG \"STARTTLS-SYNC-42\") \"Done\"\r\n"
    );
    server.handle_input(b"NOOP\r\n");
    assert_eq!(server_text(&mut server), "OK \"NOOP completed\"\r\n");
    for bad in [
        &b"NOOP \"a\" \"b\"\r\n"[..],
        b"NOOP unquoted\r\n",
        b"NOOP \"back\\slash\"\r\n",
        b"NOOP \"\r\n",
    ] {
        server.handle_input(bad);
        assert_eq!(
            server_text(&mut server),
            "NO \"NOOP takes one quoted string\"\r\n",
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn sieve_server_requiring_tls_answers_encrypt_needed_until_the_upgrade() {
    let (mut server, greeting) = sieve_server(ServerBehaviour::TlsRequired);
    assert!(greeting.contains("\"SASL\" \"\"\r\n"), "{greeting:?}");
    server.handle_input(b"AUTHENTICATE \"PLAIN\" \"AGEAYg==\"\r\nLISTSCRIPTS\r\nNOOP\r\n");
    assert_eq!(
        server_text(&mut server),
        "NO (ENCRYPT-NEEDED) \"TLS required\"\r\nNO (ENCRYPT-NEEDED) \"TLS required\"\r\n\
         OK \"NOOP completed\"\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    server_text(&mut server);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    assert!(server_text(&mut server).contains("\"SASL\" \"PLAIN\"\r\n"));
    server.handle_input(b"LISTSCRIPTS\r\nLOGOUT\r\n");
    assert_eq!(
        server_text(&mut server),
        "OK \"Listscripts completed\"\r\nOK \"Logout completed\"\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn sieve_refusals_are_no_with_trylater() {
    let applies: Vec<Refusal> = Refusal::ALL
        .into_iter()
        .filter(|r| r.applies_to(Dialect::Sieve))
        .collect();
    assert_eq!(applies, [Refusal::Temporary, Refusal::Nonsense]);
    assert_eq!(
        Refusal::Temporary.reply(Dialect::Sieve, "").as_deref(),
        Some("NO (TRYLATER) \"TLS not available\"")
    );
    let (mut server, _) = sieve_server(ServerBehaviour::StartTlsRefused(Refusal::Temporary));
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "NO (TRYLATER) \"TLS not available\"\r\n"
    );
    assert!(server_events(&mut server).is_empty());
}

// ---- PostgreSQL (protocol 3.0, "Message Flow: SSL Session Encryption") ----

/// Int32 length 8, Int32 code 80877103, as the documentation's "Message Formats" gives it.
const PG_SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

#[test]
fn postgres_honest_exchange_is_the_ssl_request_and_one_s() {
    let outcome = run_in_memory(
        Dialect::Postgres,
        ClientSettings::default(),
        ServerSettings::default(),
    );
    assert!(outcome.tls_established);
    assert_eq!(outcome.client_plaintext, PG_SSL_REQUEST);
    assert_eq!(outcome.server_plaintext, b"S");
    // Nothing is learnt before TLS, so nothing is asked again inside it.
    assert!(outcome.client_protected.is_empty());
    assert!(outcome.server_protected.is_empty());
    assert_eq!(
        outcome.client_events,
        [
            ClientEvent::StartTls,
            ClientEvent::Ready {
                capabilities: vec![]
            }
        ]
    );
    assert_eq!(outcome.server_events, [ServerEvent::StartTls]);
}

#[test]
fn postgres_client_speaks_first_and_a_refusal_ends_it_silently() {
    let mut client = ClientMachine::new(Dialect::Postgres, ClientSettings::default());
    assert_eq!(client.poll_transmit().as_deref(), Some(&PG_SSL_REQUEST[..]));
    assert!(client_events(&mut client).is_empty());
    client.handle_input(b"N");
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Refused { .. })]
    ));
    assert_eq!(client.poll_transmit(), None);
}

#[test]
fn postgres_refusals_are_n_an_error_response_and_a_nonsense_byte() {
    let applies: Vec<Refusal> = Refusal::ALL
        .into_iter()
        .filter(|r| r.applies_to(Dialect::Postgres))
        .collect();
    assert_eq!(
        applies,
        [Refusal::Temporary, Refusal::Permanent, Refusal::Nonsense]
    );
    for (behaviour, expect) in [
        (ServerBehaviour::StartTlsNotAdvertised, Expect::Refused),
        (
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            Expect::Refused,
        ),
        (
            ServerBehaviour::StartTlsRefused(Refusal::Permanent),
            Expect::Refused,
        ),
        (
            ServerBehaviour::StartTlsRefused(Refusal::Nonsense),
            Expect::Protocol,
        ),
    ] {
        let outcome = run_in_memory(
            Dialect::Postgres,
            ClientSettings::default(),
            ServerSettings {
                behaviour: behaviour.clone(),
                ..ServerSettings::default()
            },
        );
        assert!(!outcome.tls_established, "{behaviour:?}");
        // The client never goes on: only the SSLRequest left it.
        assert_eq!(outcome.client_plaintext, PG_SSL_REQUEST, "{behaviour:?}");
        let failure = outcome.failure().cloned();
        let matches = match expect {
            Expect::Refused => matches!(failure, Some(ClientFailure::Refused { .. })),
            Expect::Protocol => matches!(failure, Some(ClientFailure::Protocol { .. })),
        };
        assert!(matches, "{behaviour:?}: {failure:?}");
    }
}

#[derive(Clone, Copy)]
enum Expect {
    Refused,
    Protocol,
}

// ---- FTP (RFC 959, RFC 2389, RFC 4217) ----

/// A multi-line greeting (RFC 959 section 4.2: only the line with the code and a space ends
/// it) and a FEAT reply shaped as RFC 2389 section 3.2's example, with RFC 4217 section 6's
/// AUTH line.
const FTP_GREETING: &[u8] = b"220-ftp.example FTP server\r\n220-  234 is no go-ahead here\r\n\
    220 ready\r\n";
const FTP_FEAT: &[u8] = b"211-Extensions supported:\r\n MLST size*;create;modify*;perm\r\n\
    \x20SIZE\r\n AUTH TLS;TLS-C;SSL\r\n PBSZ\r\n PROT\r\n211 END\r\n";

#[test]
fn ftp_client_reads_feat_then_upgrades_and_asks_again() {
    let mut client = client(Dialect::Ftp);
    client.handle_input(FTP_GREETING);
    assert_eq!(client_sent(&mut client), "FEAT\r\n");
    client.handle_input(FTP_FEAT);
    assert_eq!(client_sent(&mut client), "AUTH TLS\r\n");
    assert_eq!(client.capabilities().len(), 5);
    client.handle_input(b"234 AUTH TLS OK.\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert!(client.capabilities().is_empty());
    assert_eq!(client_sent(&mut client), "FEAT\r\n");
    client.handle_input(b"211-Features:\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["PBSZ", "PROT", "UTF8"])
        }]
    );
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn ftp_client_asks_for_auth_tls_when_feat_is_unknown_and_takes_only_234() {
    // RFC 2389 section 3: a server without FEAT answers 500 or 502; AUTH (RFC 2228) is older.
    for unknown in [
        "500 'FEAT': command not understood",
        "502 Command not implemented",
    ] {
        let mut ftp = client(Dialect::Ftp);
        ftp.handle_input(b"220 old.example\r\n");
        client_sent(&mut ftp);
        ftp.handle_input(format!("{unknown}\r\n").as_bytes());
        assert_eq!(client_sent(&mut ftp), "AUTH TLS\r\n", "{unknown}");
        assert!(client_events(&mut ftp).is_empty());
        ftp.handle_input(b"234 go\r\n");
        assert_eq!(client_events(&mut ftp), [ClientEvent::StartTls]);
        ftp.handle_tls_established();
        assert_eq!(client_sent(&mut ftp), "FEAT\r\n");
        ftp.handle_input(format!("{unknown}\r\n").as_bytes());
        assert_eq!(
            client_events(&mut ftp),
            [ClientEvent::Ready {
                capabilities: vec![]
            }]
        );
    }
    // Without FEAT, a refusal of AUTH TLS is still a refusal, never plaintext.
    let mut ftp = client(Dialect::Ftp);
    ftp.handle_input(b"220 old.example\r\n500 unknown\r\n");
    assert_eq!(client_sent(&mut ftp), "FEAT\r\nAUTH TLS\r\n");
    ftp.handle_input(b"500 AUTH not understood\r\n");
    assert_eq!(
        client_events(&mut ftp),
        [refused("500 AUTH not understood")]
    );
    assert_eq!(client_sent(&mut ftp), "QUIT\r\n");
    // Any other answer to FEAT is no list and no permission to ask: a refusal.
    let mut ftp = client(Dialect::Ftp);
    ftp.handle_input(b"220 x\r\n");
    assert_eq!(client_sent(&mut ftp), "FEAT\r\n");
    ftp.handle_input(b"421 closing\r\n");
    assert_eq!(client_events(&mut ftp), [refused("421 closing")]);
    assert_eq!(client_sent(&mut ftp), "QUIT\r\n");
}

#[test]
fn ftp_client_waits_through_120_and_refuses_a_greeting_that_is_not_220() {
    // RFC 959 section 5.4: 120 "service ready in nnn minutes", then 220.
    let mut ftp = client(Dialect::Ftp);
    ftp.handle_input(b"120 ready in 2 minutes\r\n");
    assert_eq!(client_sent(&mut ftp), "");
    assert!(client_events(&mut ftp).is_empty());
    ftp.handle_input(b"220 ready\r\n");
    assert_eq!(client_sent(&mut ftp), "FEAT\r\n");

    let mut ftp = client(Dialect::Ftp);
    ftp.handle_input(b"421-too many users\r\n421 try later\r\n");
    assert_eq!(
        client_events(&mut ftp),
        [refused("421-too many users\n421 try later")]
    );
    assert_eq!(client_sent(&mut ftp), "QUIT\r\n");

    let mut ftp = client(Dialect::Ftp);
    ftp.handle_input(b"SSH-2.0-OpenSSH_9.6\r\n");
    assert!(matches!(
        client_events(&mut ftp).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
}

#[test]
fn ftp_client_fails_on_bytes_after_the_234() {
    let mut client = client(Dialect::Ftp);
    client.handle_input(FTP_GREETING);
    client.handle_input(FTP_FEAT);
    client_sent(&mut client);
    client.handle_input(b"234 go\r\n211-Features:\r\n211 End\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
            bytes: 24
        })]
    );
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn ftp_client_bounds_a_multi_line_reply() {
    let mut client = client(Dialect::Ftp);
    client.handle_input(b"220-hello\r\n");
    for _ in 0..MAX_REPLY_LINES {
        client.handle_input(b" more\r\n");
    }
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
    assert_eq!(client_sent(&mut client), "QUIT\r\n");
}

fn ftp_server(behaviour: ServerBehaviour) -> ServerMachine {
    let mut server = server_with(Dialect::Ftp, behaviour);
    assert_eq!(
        server_text(&mut server),
        "220 localhost FTP streamsocket mock ready\r\n"
    );
    server
}

#[test]
fn ftp_server_lists_auth_tls_answers_234_and_not_inside_tls() {
    let mut server = ftp_server(ServerBehaviour::Honest);
    server.handle_input(b"FEAT\r\n");
    assert_eq!(
        server_text(&mut server),
        "211-Features:\r\n AUTH TLS\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n"
    );
    // RFC 2228: PBSZ and PROT only once the security exchange is complete.
    server.handle_input(b"PBSZ 0\r\nPROT P\r\n");
    assert_eq!(
        server_text(&mut server),
        "503 Security data exchange not complete\r\n503 Security data exchange not complete\r\n"
    );
    // The mechanism name is case-insensitive (RFC 2228).
    server.handle_input(b"auth tls\r\n");
    assert_eq!(server_text(&mut server), "234 Proceed with negotiation\r\n");
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    assert_eq!(server_text(&mut server), "", "no greeting inside tls");
    server.handle_input(b"FEAT\r\nPBSZ 0\r\nPROT P\r\nAUTH TLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "211-Features:\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n200 PBSZ=0\r\n\
         200 Protection level set\r\n503 TLS already active\r\n"
    );
    assert!(server_events(&mut server).is_empty());
}

#[test]
fn ftp_server_knows_only_the_tls_mechanism() {
    let mut server = ftp_server(ServerBehaviour::Honest);
    server.handle_input(b"AUTH\r\nAUTH SSL\r\nAUTH TLS-P\r\n");
    assert_eq!(
        server_text(&mut server),
        "501 Syntax error in parameters or arguments\r\n504 Security mechanism not understood\r\n\
         504 Security mechanism not understood\r\n"
    );
    assert!(server_events(&mut server).is_empty());
}

#[test]
fn ftp_server_refuses_auth_after_login_and_forgets_the_login_after_tls() {
    let mut server = ftp_server(ServerBehaviour::Honest);
    server.handle_input(b"USER alice\r\nPASS secret\r\nFEAT\r\nAUTH TLS\r\n");
    let reply = server_text(&mut server);
    assert!(
        reply.starts_with("331 Password required\r\n230 Logged in\r\n"),
        "{reply:?}"
    );
    assert!(!reply.contains("AUTH TLS"), "{reply:?}");
    assert!(
        reply.ends_with("503 AUTH not allowed after login\r\n"),
        "{reply:?}"
    );
    assert!(server_events(&mut server).is_empty());

    let mut server = ftp_server(ServerBehaviour::Honest);
    server.handle_input(b"USER alice\r\nAUTH TLS\r\n");
    server_text(&mut server);
    server.handle_tls_established();
    server.handle_input(b"PASS secret\r\nPWD\r\n");
    assert_eq!(
        server_text(&mut server),
        "503 Login with USER first\r\n530 Please login with USER and PASS\r\n"
    );
}

#[test]
fn ftp_server_requiring_tls_answers_534_to_the_login_until_the_upgrade() {
    let mut server = ftp_server(ServerBehaviour::TlsRequired);
    server.handle_input(b"USER alice\r\nPASS secret\r\nLIST\r\nSYST\r\nFEAT\r\n");
    let reply = server_text(&mut server);
    assert!(
        reply.starts_with(
            "534 Policy requires AUTH TLS before login\r\n\
             534 Policy requires AUTH TLS before login\r\n\
             530 Please login with USER and PASS\r\n215 UNIX Type: L8\r\n"
        ),
        "{reply:?}"
    );
    assert!(reply.contains(" AUTH TLS\r\n"), "{reply:?}");
    server.handle_input(b"AUTH TLS\r\n");
    server_text(&mut server);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    server.handle_input(b"USER alice\r\nPASS secret\r\nQUIT\r\n");
    assert_eq!(
        server_text(&mut server),
        "331 Password required\r\n230 Logged in\r\n221 Goodbye\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn ftp_refusals_are_rfc_2228s_codes() {
    assert!(Refusal::ALL.iter().all(|r| r.applies_to(Dialect::Ftp)));
    let codes: Vec<String> = Refusal::ALL
        .into_iter()
        .filter_map(|refusal| refusal.reply(Dialect::Ftp, ""))
        .map(|reply| reply.chars().take(4).collect())
        .collect();
    assert_eq!(codes, ["431 ", "504 ", "534 ", "Read"]);
    let mut server = ftp_server(ServerBehaviour::StartTlsRefused(Refusal::Permanent));
    server.handle_input(b"FEAT\r\nAUTH TLS\r\n");
    let reply = server_text(&mut server);
    assert!(reply.contains(" AUTH TLS\r\n"), "advertised: {reply:?}");
    assert!(
        reply.ends_with("534 Request denied for policy reasons\r\n"),
        "{reply:?}"
    );
    assert!(server_events(&mut server).is_empty());
    let mut server = ftp_server(ServerBehaviour::StartTlsNotAdvertised);
    server.handle_input(b"FEAT\r\nAUTH TLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "211-Features:\r\n PBSZ\r\n PROT\r\n UTF8\r\n211 End\r\n502 Command not implemented\r\n"
    );
}

#[test]
fn ftp_in_memory_pair_upgrades_and_refuses_injected_commands() {
    let outcome = run_in_memory(
        Dialect::Ftp,
        ClientSettings::default(),
        ServerSettings::default(),
    );
    assert!(outcome.tls_established && outcome.is_ready(), "{outcome:?}");
    assert_eq!(outcome.client_plaintext, b"FEAT\r\nAUTH TLS\r\n");
    assert_eq!(outcome.client_protected, b"FEAT\r\n");
    assert_eq!(outcome.capabilities, caps(&["PBSZ", "PROT", "UTF8"]));
    let outcome = run_in_memory_with(
        Dialect::Ftp,
        ClientSettings::default(),
        ServerSettings::default(),
        &InMemoryOptions {
            inject_after_starttls: b"USER mallory\r\n".to_vec(),
        },
    );
    assert_eq!(outcome.injected_discarded, 14);
    assert!(outcome.is_ready(), "{outcome:?}");
}

// ---- IRC (RFC 2812 messages, IRCv3 capability negotiation and tls) ----

#[test]
fn irc_client_speaks_first_reads_a_multi_line_cap_ls_and_asks_again_inside_tls() {
    let mut client = client(Dialect::Irc);
    assert_eq!(client_sent(&mut client), "CAP LS 302\r\n");
    client.handle_input(b":irc.example.net NOTICE * :*** Looking up your hostname...\r\n");
    client.handle_input(b":irc.example.net CAP * LS * :multi-prefix extended-join\r\n");
    assert_eq!(client_sent(&mut client), "");
    client.handle_input(b":irc.example.net CAP * LS :tls sasl=PLAIN,EXTERNAL\r\n");
    assert_eq!(client_sent(&mut client), "STARTTLS\r\n");
    assert_eq!(client.capabilities().len(), 4);
    client.handle_input(
        b":irc.example.net 670 * :STARTTLS successful, proceed with TLS handshake\r\n",
    );
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert!(client.capabilities().is_empty());
    assert_eq!(client_sent(&mut client), "CAP LS 302\r\n");
    client.handle_input(b":irc.example.net CAP * LS :multi-prefix sasl=PLAIN\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["multi-prefix", "sasl=PLAIN"])
        }]
    );
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn irc_client_takes_only_670_and_refuses_on_691_or_an_error_numeric() {
    for answer in [
        ":irc.example.net 691 * :STARTTLS failure",
        ":irc.example.net 421 * STARTTLS :Unknown command",
    ] {
        let mut irc = client(Dialect::Irc);
        irc.handle_input(b":irc.example.net CAP * LS :tls\r\n");
        assert_eq!(client_sent(&mut irc), "CAP LS 302\r\nSTARTTLS\r\n");
        irc.handle_input(format!("{answer}\r\n").as_bytes());
        assert_eq!(client_events(&mut irc), [refused(answer)]);
        assert_eq!(client_sent(&mut irc), "QUIT\r\n");
    }
    // ERROR closes the link (RFC 2812 section 3.7.4): a failure without a goodbye.
    let mut irc = client(Dialect::Irc);
    client_sent(&mut irc);
    irc.handle_input(b"ERROR :Closing link: too many connections\r\n");
    assert!(matches!(
        client_events(&mut irc).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
    assert_eq!(client_sent(&mut irc), "");
}

#[test]
fn irc_client_fails_on_bytes_after_the_670() {
    let mut client = client(Dialect::Irc);
    client.handle_input(b":s CAP * LS :tls\r\n");
    client_sent(&mut client);
    client.handle_input(b":s 670 * :go\r\n:s CAP * LS :sasl\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
            bytes: 19
        })]
    );
    assert_eq!(client_sent(&mut client), "");
}

fn irc_server(behaviour: ServerBehaviour) -> ServerMachine {
    let mut server = server_with(Dialect::Irc, behaviour);
    assert_eq!(server_text(&mut server), "", "the client speaks first");
    server
}

#[test]
fn irc_server_lists_tls_answers_670_and_not_inside_tls() {
    let mut server = irc_server(ServerBehaviour::Honest);
    server.handle_input(b"CAP LS 302\r\nPING :abc\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost CAP * LS :multi-prefix tls\r\n:localhost PONG localhost :abc\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost 670 * :STARTTLS successful, proceed with TLS handshake\r\n"
    );
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    assert_eq!(server_text(&mut server), "", "nothing unasked inside tls");
    server.handle_input(b"CAP LS 302\r\nSTARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost CAP * LS :multi-prefix\r\n:localhost 691 * :STARTTLS failure: TLS already active\r\n"
    );
    assert!(server_events(&mut server).is_empty());
}

#[test]
fn irc_server_registers_after_cap_end_and_then_refuses_starttls() {
    let mut server = irc_server(ServerBehaviour::Honest);
    server.handle_input(b"CAP LS 302\r\nNICK alice\r\nUSER alice 0 * :Alice\r\n");
    let listed = server_text(&mut server);
    assert!(
        !listed.contains(" 001 "),
        "registration waits for CAP END: {listed:?}"
    );
    server.handle_input(b"CAP END\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost 001 alice :Welcome to the streamsocket mock IRC network\r\n"
    );
    server.handle_input(b"CAP LS\r\nSTARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost CAP * LS :multi-prefix\r\n:localhost 691 * :STARTTLS not allowed once registered\r\n"
    );
    assert!(server_events(&mut server).is_empty());
}

#[test]
fn irc_server_requiring_tls_holds_registration_with_451() {
    let mut server = irc_server(ServerBehaviour::TlsRequired);
    server.handle_input(b"NICK alice\r\nUSER alice 0 * :Alice\r\nCAP LS\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost 451 * :STARTTLS required before registration\r\n\
         :localhost 451 * :STARTTLS required before registration\r\n\
         :localhost CAP * LS :multi-prefix tls\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    server_text(&mut server);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    server.handle_input(b"NICK alice\r\nUSER alice 0 * :Alice\r\nQUIT\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost 001 alice :Welcome to the streamsocket mock IRC network\r\n\
         ERROR :Closing link (Quit)\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn irc_refusals_are_691_and_echo_no_control_characters() {
    let applies: Vec<Refusal> = Refusal::ALL
        .into_iter()
        .filter(|r| r.applies_to(Dialect::Irc))
        .collect();
    assert_eq!(applies, [Refusal::Temporary, Refusal::Nonsense]);
    let mut server = irc_server(ServerBehaviour::StartTlsRefused(Refusal::Temporary));
    server.handle_input(b"CAP LS 302\r\nSTARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        ":localhost CAP * LS :multi-prefix tls\r\n:localhost 691 * :STARTTLS failure\r\n"
    );
    assert!(server_events(&mut server).is_empty());
    let mut server = irc_server(ServerBehaviour::Honest);
    server.handle_input(b"PING :a\rb\r\nCAP REQ :x\x07\r\nBO\rGUS\r\n");
    let text = server_text(&mut server);
    assert!(
        text.split_terminator("\r\n")
            .all(|l| !l.contains(['\r', '\x07'])),
        "{text:?}"
    );
}

#[test]
fn irc_in_memory_pair_upgrades_and_discards_an_injected_ping() {
    let outcome = run_in_memory(
        Dialect::Irc,
        ClientSettings::default(),
        ServerSettings::default(),
    );
    assert!(outcome.tls_established && outcome.is_ready(), "{outcome:?}");
    assert_eq!(outcome.client_plaintext, b"CAP LS 302\r\nSTARTTLS\r\n");
    assert_eq!(outcome.client_protected, b"CAP LS 302\r\n");
    assert_eq!(outcome.capabilities, caps(&["multi-prefix"]));
    let outcome = run_in_memory_with(
        Dialect::Irc,
        ClientSettings::default(),
        ServerSettings::default(),
        &InMemoryOptions {
            inject_after_starttls: b"NICK mallory\r\n".to_vec(),
        },
    );
    assert_eq!(outcome.injected_discarded, 14);
    assert!(outcome.is_ready(), "{outcome:?}");
}
