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
