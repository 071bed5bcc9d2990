//! The server machine against scripted clients.

use super::*;
use crate::codec::FrameCodec;

fn smtp(behaviour: ServerBehaviour) -> ServerMachine {
    let mut server = server_with(Dialect::Smtp, behaviour);
    assert_eq!(
        server_text(&mut server),
        "220 localhost ESMTP streamsocket mock ready\r\n"
    );
    server
}

fn smtp_with_policy(policy: InjectionPolicy) -> ServerMachine {
    let config = ServerSettings {
        injection_policy: policy,
        ..ServerSettings::default()
    };
    let mut server = ServerMachine::new(Dialect::Smtp, config);
    server_text(&mut server);
    server.handle_input(b"EHLO c\r\n");
    server_text(&mut server);
    server
}

fn frame(payload: &str) -> Vec<u8> {
    let mut out = Vec::new();
    FrameCodec::default().encode(payload, &mut out).unwrap();
    out
}

#[test]
fn smtp_ehlo_advertises_starttls_and_the_go_ahead_starts_tls() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(b"EHLO client.example\r\n");
    assert_eq!(
        server_text(&mut server),
        "250-localhost greets client.example\r\n250-SIZE 1048576\r\n250-8BITMIME\r\n\
         250-STARTTLS\r\n250 ENHANCEDSTATUSCODES\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(server_text(&mut server), "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    assert!(!server.is_tls());
    assert!(server.take_tls_prefix().is_empty());
    server.handle_tls_established();
    assert!(server.is_tls());
    // No new greeting after TLS (RFC 3207 section 4.2).
    assert_eq!(server_text(&mut server), "");
}

#[test]
fn smtp_session_starts_over_after_tls() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(b"EHLO c\r\nMAIL FROM:<a@x>\r\nSTARTTLS\r\n");
    server_text(&mut server);
    server_events(&mut server);
    server.handle_tls_established();
    // The pre-TLS EHLO and transaction are forgotten.
    server.handle_input(b"MAIL FROM:<b@x>\r\n");
    assert_eq!(
        server_text(&mut server),
        "503 5.5.1 Error: send HELO/EHLO first\r\n"
    );
    server.handle_input(b"EHLO c\r\n");
    let ehlo = server_text(&mut server);
    assert!(!ehlo.contains("STARTTLS"), "{ehlo}");
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "554 5.5.1 Error: TLS already active\r\n"
    );
    assert_eq!(server_events(&mut server), []);
}

#[test]
fn smtp_starttls_needs_ehlo_and_no_arguments() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "503 5.5.1 Error: send HELO/EHLO first\r\n"
    );
    server.handle_input(b"HELO c\r\nSTARTTLS now\r\n");
    assert_eq!(
        server_text(&mut server),
        "250 localhost\r\n501 5.5.4 Syntax: STARTTLS\r\n"
    );
    server.handle_input(b"starttls\r\n");
    assert_eq!(server_text(&mut server), "220 2.0.0 Ready to start TLS\r\n");
}

#[test]
fn smtp_mail_transaction_is_dot_unstuffed_and_delivered() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(
        b"EHLO c\r\nMAIL FROM:<a@x> SIZE=10\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@y>\r\nDATA\r\n",
    );
    assert!(server_text(&mut server).ends_with(
        "250 2.1.0 OK\r\n250 2.1.5 OK\r\n250 2.1.5 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
    ));
    server.handle_input(b"Subject: hi\r\n\r\n..leading dot\r\nbare\nline\r\n.\r\n");
    assert_eq!(server_text(&mut server), "250 2.0.0 OK queued\r\n");
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Mail {
            from: "a@x".to_owned(),
            to: vec!["b@y".to_owned(), "c@y".to_owned()],
            data: b"Subject: hi\r\n\r\n.leading dot\r\nbare\r\nline\r\n".to_vec(),
        }]
    );
    // The transaction is over: a new MAIL is accepted, DATA without RCPT is not.
    server.handle_input(b"MAIL FROM:<>\r\nDATA\r\n");
    assert_eq!(
        server_text(&mut server),
        "250 2.1.0 OK\r\n503 5.5.1 Error: need RCPT command\r\n"
    );
}

#[test]
fn smtp_data_end_needs_crlf_on_both_sides_of_the_dot() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(b"EHLO c\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n");
    server_text(&mut server);
    // SMTP smuggling attempts: <LF>.<LF> and <CR><LF>.<LF> do not end the message.
    server.handle_input(b"one\n.\nMAIL FROM:<evil>\r\n.\nRCPT TO:<x>\r\n");
    assert_eq!(server_text(&mut server), "");
    assert_eq!(server_events(&mut server), []);
    server.handle_input(b"end\r\n.\r\n");
    assert_eq!(server_text(&mut server), "250 2.0.0 OK queued\r\n");
    let events = server_events(&mut server);
    let [ServerEvent::Mail { data, .. }] = events.as_slice() else {
        panic!("expected one mail, got {events:?}");
    };
    assert_eq!(
        data,
        b"one\r\n\r\nMAIL FROM:<evil>\r\n\r\nRCPT TO:<x>\r\nend\r\n"
    );
}

#[test]
fn smtp_oversized_message_is_refused_and_memory_stays_bounded() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(b"EHLO c\r\nMAIL FROM:<a>\r\nRCPT TO:<b>\r\nDATA\r\n");
    server_text(&mut server);
    let line = [b'x'; 1000];
    for _ in 0..(MAX_MAIL_LEN / 1000 + 10) {
        server.handle_input(&line);
        server.handle_input(b"\r\n");
        assert!(server.buffered_len() <= MAX_MAIL_LEN + 2048);
    }
    server.handle_input(b".\r\n");
    assert_eq!(
        server_text(&mut server),
        "552 5.3.4 Error: message too big\r\n"
    );
    assert_eq!(server_events(&mut server), []);
    assert_eq!(server.buffered_len(), 0);
}

#[test]
fn smtp_basic_commands_answer() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_input(
        b"NOOP\r\nRSET\r\nEHLO\r\nHELP\r\nVRFY x\r\nVRFY\r\nEXPN x\r\nFOO\r\nQUIT\r\nNOOP\r\n",
    );
    assert_eq!(
        server_text(&mut server),
        "250 2.0.0 OK\r\n250 2.0.0 OK\r\n501 5.5.4 Syntax: EHLO hostname\r\n\
         214 2.0.0 streamsocket mock, see RFC 5321\r\n\
         252 2.0.0 Cannot VRFY user, but will accept message\r\n501 5.5.4 Syntax: VRFY address\r\n\
         502 5.5.1 Error: command not implemented\r\n500 5.5.2 Error: command not recognized\r\n\
         221 2.0.0 Bye\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn smtp_mail_and_rcpt_check_sequence_and_syntax() {
    let mut server = smtp(ServerBehaviour::Honest);
    server
        .handle_input(b"MAIL FROM:<a>\r\nEHLO c\r\nRCPT TO:<b>\r\nMAIL TO:<a>\r\nMAIL FROM:a\r\n");
    let text = server_text(&mut server);
    assert!(
        text.starts_with("503 5.5.1 Error: send HELO/EHLO first\r\n250-"),
        "{text}"
    );
    assert!(
        text.ends_with(
            "503 5.5.1 Error: need MAIL command\r\n501 5.5.4 Syntax: MAIL FROM:<address>\r\n\
             501 5.5.4 Syntax: MAIL FROM:<address>\r\n"
        ),
        "{text}"
    );
    server.handle_input(b"MAIL FROM:<a>\r\nMAIL FROM:<a>\r\n");
    assert_eq!(
        server_text(&mut server),
        "250 2.1.0 OK\r\n503 5.5.1 Error: nested MAIL command\r\n"
    );
}

#[test]
fn smtp_tls_required_answers_530_until_tls() {
    let mut server = smtp(ServerBehaviour::TlsRequired);
    server.handle_input(b"EHLO c\r\n");
    assert!(server_text(&mut server).contains("250-STARTTLS\r\n"));
    server.handle_input(b"MAIL FROM:<a>\r\nVRFY x\r\nNOOP\r\nRSET\r\n");
    assert_eq!(
        server_text(&mut server),
        "530 5.7.0 Must issue a STARTTLS command first\r\n\
         530 5.7.0 Must issue a STARTTLS command first\r\n250 2.0.0 OK\r\n250 2.0.0 OK\r\n"
    );
    server.handle_input(b"STARTTLS\r\n");
    server_text(&mut server);
    server.handle_tls_established();
    server.handle_input(b"EHLO c\r\nMAIL FROM:<a>\r\n");
    assert!(server_text(&mut server).ends_with("250 2.1.0 OK\r\n"));
}

#[test]
fn smtp_not_advertised_and_refused_behaviours() {
    let mut server = smtp(ServerBehaviour::StartTlsNotAdvertised);
    server.handle_input(b"EHLO c\r\n");
    assert!(!server_text(&mut server).contains("STARTTLS"));
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "502 5.5.1 Error: command not implemented\r\n"
    );
    assert_eq!(server_events(&mut server), []);

    let mut server = smtp(ServerBehaviour::StartTlsRefused(Refusal::Temporary));
    server.handle_input(b"EHLO c\r\n");
    assert!(server_text(&mut server).contains("250-STARTTLS\r\n"));
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "454 4.7.0 TLS not available due to temporary reason\r\n"
    );
    assert_eq!(server_events(&mut server), []);
}

#[test]
fn smtp_response_injection_is_sent_with_the_go_ahead() {
    let mut server = smtp(ServerBehaviour::ResponseInjection(
        b"250 injected\r\n".to_vec(),
    ));
    server.handle_input(b"EHLO c\r\n");
    server_text(&mut server);
    server.handle_input(b"STARTTLS\r\n");
    assert_eq!(
        server.poll_transmit().as_deref(),
        Some(&b"220 2.0.0 Ready to start TLS\r\n250 injected\r\n"[..])
    );
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn injected_commands_are_discarded_and_counted_by_default() {
    let mut server = smtp_with_policy(InjectionPolicy::Discard);
    server.handle_input(b"STARTTLS\r\nRSET\r\nMAIL FROM:<evil>\r\n");
    assert_eq!(server_text(&mut server), "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    assert_eq!(server.injected_discarded(), 24);
    // Later bytes before the handshake are discarded too.
    server.handle_input(b"NOOP\r\n");
    assert_eq!(server.injected_discarded(), 30);
    server.handle_tls_established();
    assert_eq!(server_text(&mut server), "");
    assert_eq!(server.buffered_len(), 0);
}

#[test]
fn injected_commands_are_rejected_with_the_reject_policy() {
    let mut server = smtp_with_policy(InjectionPolicy::Reject);
    server.handle_input(b"STARTTLS\r\nRSET\r\n");
    assert_eq!(
        server_text(&mut server),
        "421 4.7.0 localhost data after STARTTLS rejected\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::InjectionRejected)]
    );

    // In a later read, after the go-ahead: the close follows StartTls and wins.
    let mut server = smtp_with_policy(InjectionPolicy::Reject);
    server.handle_input(b"STARTTLS\r\n");
    server.handle_input(b"RSET\r\n");
    assert_eq!(
        server_events(&mut server),
        [
            ServerEvent::StartTls,
            ServerEvent::Close(CloseReason::InjectionRejected)
        ]
    );
    server.handle_tls_established();
    assert!(!server.is_tls());
}

#[test]
fn vulnerable_policy_processes_injected_commands_inside_tls() {
    let mut server = smtp_with_policy(InjectionPolicy::Vulnerable);
    server.handle_input(b"STARTTLS\r\nEHLO evil\r\nMAIL FROM:<evil>\r\n");
    assert_eq!(server_text(&mut server), "220 2.0.0 Ready to start TLS\r\n");
    assert_eq!(server.injected_discarded(), 0);
    server.handle_tls_established();
    // CVE-2011-0411: the plaintext commands are answered as if they came through TLS.
    let text = server_text(&mut server);
    assert!(text.starts_with("250-localhost greets evil\r\n"), "{text}");
    assert!(text.ends_with("250 2.1.0 OK\r\n"), "{text}");
}

#[test]
fn too_many_errors_close_the_connection() {
    let config = ServerSettings {
        max_errors: 3,
        ..ServerSettings::default()
    };
    let mut server = ServerMachine::new(Dialect::Smtp, config);
    server_text(&mut server);
    server.handle_input(b"X\r\nY\r\nZ\r\nQUIT\r\n");
    assert_eq!(
        server_text(&mut server),
        "500 5.5.2 Error: command not recognized\r\n500 5.5.2 Error: command not recognized\r\n\
         500 5.5.2 Error: command not recognized\r\n421 4.7.0 localhost too many errors\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::TooManyErrors)]
    );
}

#[test]
fn default_error_limit_is_twenty() {
    let mut server = server_with(Dialect::Pop3, ServerBehaviour::Honest);
    server_text(&mut server);
    for _ in 0..19 {
        server.handle_input(b"BOGUS\r\n");
    }
    assert_eq!(server_events(&mut server), []);
    server.handle_input(b"BOGUS\r\n");
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::TooManyErrors)]
    );
}

#[test]
fn over_long_command_line_closes_without_buffering_it() {
    for (dialect, answer) in [
        (Dialect::Smtp, "500 5.5.0 line too long\r\n"),
        (Dialect::Imap, "* BYE line too long\r\n"),
        (Dialect::Pop3, "-ERR line too long\r\n"),
    ] {
        let config = ServerSettings {
            max_line_len: 512,
            ..ServerSettings::default()
        };
        let mut server = ServerMachine::new(dialect, config);
        server_text(&mut server);
        for _ in 0..11 {
            server.handle_input(&[b'A'; 50]);
            assert!(server.buffered_len() <= 512, "{dialect}");
        }
        assert_eq!(server_text(&mut server), answer, "{dialect}");
        assert_eq!(
            server_events(&mut server),
            [ServerEvent::Close(CloseReason::LineTooLong)],
            "{dialect}"
        );
        assert_eq!(server.buffered_len(), 0);
    }
}

#[test]
fn rfc_5321_minimum_line_lengths_are_accepted_by_default() {
    let mut server = smtp(ServerBehaviour::Honest);
    let mut line = b"NOOP ".to_vec();
    line.resize(998, b'x');
    line.extend_from_slice(b"\r\n");
    server.handle_input(&line);
    assert_eq!(server_text(&mut server), "250 2.0.0 OK\r\n");
}

#[test]
fn eof_closes_and_later_input_is_ignored() {
    let mut server = smtp(ServerBehaviour::Honest);
    server.handle_eof();
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Eof)]
    );
    server.handle_input(b"EHLO c\r\n");
    server.handle_eof();
    assert_eq!(server_text(&mut server), "");
    assert_eq!(server_events(&mut server), []);
}

#[test]
fn shutdown_messages_per_dialect() {
    let message =
        |dialect| ServerMachine::new(dialect, ServerSettings::default()).shutdown_message();
    assert_eq!(
        message(Dialect::Smtp).as_deref(),
        Some(&b"421 4.3.2 localhost service shutting down\r\n"[..])
    );
    assert_eq!(
        message(Dialect::Imap).as_deref(),
        Some(&b"* BYE server shutting down\r\n"[..])
    );
    assert_eq!(
        message(Dialect::Pop3).as_deref(),
        Some(&b"-ERR server shutting down\r\n"[..])
    );
    assert_eq!(message(Dialect::Framed), None);
    assert_eq!(message(Dialect::Implicit), None);
}

#[test]
fn imap_greeting_lists_capabilities_and_login_is_disabled_until_tls() {
    let mut server = server_with(Dialect::Imap, ServerBehaviour::TlsRequired);
    assert_eq!(
        server_text(&mut server),
        "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] localhost IMAP4rev1 mock ready\r\n"
    );
    server.handle_input(b"a LOGIN user pass\r\nb SELECT inbox\r\nc NOOP\r\n");
    assert_eq!(
        server_text(&mut server),
        "a NO [PRIVACYREQUIRED] TLS required\r\nb NO [PRIVACYREQUIRED] TLS required\r\n\
         c OK NOOP completed\r\n"
    );
    server.handle_input(b"d STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "d OK Begin TLS negotiation now\r\n"
    );
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    server.handle_input(b"e CAPABILITY\r\nf LOGIN user \"pass word\"\r\ng STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "* CAPABILITY IMAP4rev1\r\ne OK CAPABILITY completed\r\nf OK LOGIN completed\r\n\
         g BAD TLS already active\r\n"
    );
}

#[test]
fn imap_honest_server_allows_plaintext_login_and_logout() {
    let mut server = server_with(Dialect::Imap, ServerBehaviour::Honest);
    server_text(&mut server);
    server.handle_input(b"a CAPABILITY\r\n");
    assert_eq!(
        server_text(&mut server),
        "* CAPABILITY IMAP4rev1 STARTTLS\r\na OK CAPABILITY completed\r\n"
    );
    server
        .handle_input(b"b LOGIN user\r\nc LOGIN {4}\r\nd LOGIN u p\r\ne STARTTLS\r\nf LOGOUT\r\n");
    assert_eq!(
        server_text(&mut server),
        "b BAD Syntax: LOGIN user password\r\nc NO literals are not supported\r\n\
         d OK LOGIN completed\r\ne BAD STARTTLS not allowed in authenticated state\r\n\
         * BYE logging out\r\nf OK LOGOUT completed\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn imap_preauth_greeting_forbids_starttls() {
    let mut server = server_with(Dialect::Imap, ServerBehaviour::Preauth);
    assert_eq!(
        server_text(&mut server),
        "* PREAUTH [CAPABILITY IMAP4rev1] localhost logged in\r\n"
    );
    server.handle_input(b"a STARTTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "a BAD STARTTLS not allowed in authenticated state\r\n"
    );
    assert_eq!(server_events(&mut server), []);
}

#[test]
fn imap_refusals_and_syntax_errors() {
    let mut server = server_with(
        Dialect::Imap,
        ServerBehaviour::StartTlsRefused(Refusal::Temporary),
    );
    server_text(&mut server);
    server.handle_input(b"a STARTTLS\r\n\r\n* NOOP\r\nb\r\nc FETCH 1\r\n");
    assert_eq!(
        server_text(&mut server),
        "a NO TLS not available\r\n* BAD missing tag or command\r\n\
         * BAD missing tag or command\r\n* BAD missing tag or command\r\nc BAD unknown command\r\n"
    );

    let mut server = server_with(Dialect::Imap, ServerBehaviour::StartTlsNotAdvertised);
    assert!(!server_text(&mut server).contains("STARTTLS"));
    server.handle_input(b"a STARTTLS\r\n");
    assert_eq!(server_text(&mut server), "a BAD unknown command\r\n");
}

#[test]
fn imap_injection_after_starttls_is_discarded() {
    let mut server = server_with(Dialect::Imap, ServerBehaviour::Honest);
    server_text(&mut server);
    server.handle_input(b"a STARTTLS\r\nb LOGIN u p\r\n");
    assert_eq!(
        server_text(&mut server),
        "a OK Begin TLS negotiation now\r\n"
    );
    assert_eq!(server.injected_discarded(), 13);
}

#[test]
fn pop3_session_with_tls_required() {
    let mut server = server_with(Dialect::Pop3, ServerBehaviour::TlsRequired);
    assert_eq!(
        server_text(&mut server),
        "+OK localhost POP3 mock ready\r\n"
    );
    server.handle_input(b"CAPA\r\nUSER bob\r\n");
    assert_eq!(
        server_text(&mut server),
        "+OK capability list follows\r\nSTLS\r\nIMPLEMENTATION streamsocket-mock\r\n.\r\n\
         -ERR TLS required\r\n"
    );
    server.handle_input(b"STLS\r\n");
    assert_eq!(server_text(&mut server), "+OK Begin TLS negotiation\r\n");
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    server.handle_tls_established();
    server
        .handle_input(b"CAPA\r\nSTAT\r\nPASS x\r\nUSER bob\r\nPASS x\r\nSTAT\r\nSTLS\r\nQUIT\r\n");
    assert_eq!(
        server_text(&mut server),
        "+OK capability list follows\r\nUSER\r\nIMPLEMENTATION streamsocket-mock\r\n.\r\n\
         -ERR command not valid in this state\r\n-ERR USER first\r\n+OK\r\n+OK logged in\r\n\
         +OK 0 0\r\n-ERR TLS already active\r\n+OK bye\r\n"
    );
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::Quit)]
    );
}

#[test]
fn pop3_not_advertised_and_refused() {
    let mut server = server_with(Dialect::Pop3, ServerBehaviour::StartTlsNotAdvertised);
    server_text(&mut server);
    server.handle_input(b"CAPA\r\nSTLS\r\n");
    assert_eq!(
        server_text(&mut server),
        "+OK capability list follows\r\nUSER\r\nIMPLEMENTATION streamsocket-mock\r\n.\r\n\
         -ERR unknown command\r\n"
    );
    let mut server = server_with(
        Dialect::Pop3,
        ServerBehaviour::StartTlsRefused(Refusal::Temporary),
    );
    server_text(&mut server);
    server.handle_input(b"STLS\r\n");
    assert_eq!(server_text(&mut server), "-ERR TLS not available\r\n");
}

#[test]
fn framed_server_records_frames_and_never_answers_in_plaintext() {
    let mut server = server_with(Dialect::Framed, ServerBehaviour::Honest);
    assert_eq!(server.poll_transmit(), None);
    let mut input = frame("hello");
    input.extend(frame(""));
    input.extend(frame("\u{16}starts with SYN"));
    server.handle_input(&input);
    assert_eq!(
        server_events(&mut server),
        [
            ServerEvent::Frame("hello".to_owned()),
            ServerEvent::Frame(String::new()),
            ServerEvent::Frame("\u{16}starts with SYN".to_owned()),
        ]
    );
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn framed_server_starts_tls_on_a_client_hello_at_a_frame_boundary() {
    let mut server = server_with(Dialect::Framed, ServerBehaviour::Honest);
    let mut input = frame("hi");
    input.extend_from_slice(&[0x16, 0x03, 0x01, 0x00]);
    server.handle_input(&input);
    server.handle_input(&[0x05, 0xaa]);
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Frame("hi".to_owned()), ServerEvent::StartTls]
    );
    assert_eq!(
        server.take_tls_prefix(),
        [0x16, 0x03, 0x01, 0x00, 0x05, 0xaa]
    );
    assert_eq!(server.injected_discarded(), 0);
    server.handle_tls_established();
    // Inside TLS frames are echoed.
    server.handle_input(&frame("echo me"));
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Frame("echo me".to_owned())]
    );
    assert_eq!(server_sent(&mut server), frame("echo me"));
}

#[test]
fn framed_server_rejects_over_limit_lengths_before_buffering() {
    let config = ServerSettings {
        max_frame_len: 100,
        ..ServerSettings::default()
    };
    let mut server = ServerMachine::new(Dialect::Framed, config);
    server.handle_input(&[0x00, 0x00, 0x00]);
    assert_eq!(server.buffered_len(), 3);
    server.handle_input(&[101, b'x', b'y']);
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::FrameTooLong)]
    );
    assert_eq!(server.buffered_len(), 0);
    assert_eq!(server.poll_transmit(), None);
}

#[test]
fn framed_server_limit_is_capped_below_the_handshake_byte() {
    let config = ServerSettings {
        max_frame_len: u32::MAX,
        ..ServerSettings::default()
    };
    let mut server = ServerMachine::new(Dialect::Framed, config);
    server.handle_input(&[0x17, 0x00, 0x00, 0x00]);
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::FrameTooLong)]
    );
}

#[test]
fn framed_server_inside_tls_treats_0x16_as_a_length() {
    let mut server = server_with(Dialect::Framed, ServerBehaviour::Honest);
    server.handle_input(&[0x16]);
    server.handle_tls_established();
    server_events(&mut server);
    server.handle_input(&[0x16, 0x03, 0x01, 0x00]);
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::FrameTooLong)]
    );
}

#[test]
fn framed_server_closes_on_invalid_utf8() {
    let mut server = server_with(Dialect::Framed, ServerBehaviour::Honest);
    server.handle_input(&[0, 0, 0, 1, 0xff]);
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::InvalidUtf8Frame)]
    );
}

#[test]
fn framed_server_response_injection_goes_out_before_the_handshake() {
    let mut server = server_with(
        Dialect::Framed,
        ServerBehaviour::ResponseInjection(b"oops".to_vec()),
    );
    server.handle_input(&[0x16, 0x03]);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    assert_eq!(server_sent(&mut server), b"oops");
}

#[test]
fn implicit_server_starts_tls_at_once_and_keeps_the_hello() {
    let mut server = server_with(Dialect::Implicit, ServerBehaviour::Honest);
    assert_eq!(server_events(&mut server), [ServerEvent::StartTls]);
    assert_eq!(server.poll_transmit(), None);
    server.handle_input(&[0x16, 0x03, 0x01]);
    assert_eq!(server.take_tls_prefix(), [0x16, 0x03, 0x01]);
    server.handle_tls_established();
    server.handle_input(&frame("x"));
    assert_eq!(server_sent(&mut server), frame("x"));
}

#[test]
fn tls_prefix_is_bounded() {
    let mut server = server_with(Dialect::Implicit, ServerBehaviour::Honest);
    server_events(&mut server);
    let chunk = vec![0u8; 4096];
    for _ in 0..(MAX_TLS_PREFIX / 4096) {
        server.handle_input(&chunk);
    }
    assert_eq!(server_events(&mut server), []);
    server.handle_input(&[0]);
    assert_eq!(
        server_events(&mut server),
        [ServerEvent::Close(CloseReason::TlsPrefixTooLong)]
    );
    assert!(server.buffered_len() <= MAX_TLS_PREFIX);
}

#[test]
fn pop3_transaction_state_sees_an_empty_maildrop() {
    let mut server = server_with(Dialect::Pop3, ServerBehaviour::Honest);
    server_text(&mut server);
    server.handle_input(
        b"LIST\r\nUSER u\r\nPASS p\r\nLIST\r\nUIDL\r\nLIST 1\r\nRETR 1\r\nNOOP\r\nRSET\r\n",
    );
    assert_eq!(
        server_text(&mut server),
        "-ERR command not valid in this state\r\n+OK\r\n+OK logged in\r\n\
         +OK 0 messages\r\n.\r\n+OK 0 messages\r\n.\r\n-ERR no such message\r\n\
         -ERR no such message\r\n+OK\r\n+OK\r\n"
    );
}

#[test]
fn imap_authenticated_state_sees_one_empty_inbox() {
    let mut server = server_with(Dialect::Imap, ServerBehaviour::Honest);
    server_text(&mut server);
    server.handle_input(b"a LIST \"\" *\r\nb LOGIN u p\r\n");
    assert_eq!(
        server_text(&mut server),
        "a BAD command not valid in this state\r\nb OK LOGIN completed\r\n"
    );
    server.handle_input(b"c LIST \"\" \"\"\r\nd LIST \"\" *\r\ne LSUB \"\" *\r\nf SELECT INBOX\r\ng EXAMINE INBOX\r\n");
    assert_eq!(
        server_text(&mut server),
        "* LIST (\\Noselect) \"/\" \"\"\r\nc OK LIST completed\r\n\
         * LIST (\\HasNoChildren) \"/\" INBOX\r\nd OK LIST completed\r\ne OK LSUB completed\r\n\
         * FLAGS (\\Seen)\r\n* 0 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n\
         f OK [READ-WRITE] SELECT completed\r\n\
         * FLAGS (\\Seen)\r\n* 0 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\n\
         g OK [READ-ONLY] EXAMINE completed\r\n"
    );
}
