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
