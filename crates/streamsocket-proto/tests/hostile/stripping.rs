//! STARTTLS stripping: not advertised, refused with each code the RFCs name,
//! answered with nonsense, IMAP PREAUTH. The client fails, and afterwards sends nothing but an
//! optional QUIT or LOGOUT; it never sends STARTTLS when the capability is missing (the
//! contract: `NotOffered` without trying).

use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, ClientSettings, Dialect, Refusal, ServerBehaviour, ServerSettings,
    run_in_memory,
};

use crate::support::{Client, LINE_DIALECTS, client_at_starttls, client_at_starttls_with, script};

/// Refusals of the STARTTLS command, per dialect. SMTP: RFC 3207 (454, 501), RFC 5321 (421,
/// 500, 502, 503, 504, 550, 554), RFC 3207 section 4 and RFC 4954 (530, 538).
fn refusals(dialect: Dialect) -> Vec<&'static str> {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => vec![
            "421 4.3.2 service not available",
            "454 4.7.0 TLS not available due to temporary reason",
            "500 5.5.2 command not recognized",
            "501 5.5.4 syntax error (no parameters allowed)",
            "502 5.5.1 command not implemented",
            "503 5.5.1 bad sequence of commands",
            "504 5.5.4 command parameter not implemented",
            "530 5.7.0 must issue a STARTTLS command first",
            "538 5.7.11 encryption required",
            "550 5.7.1 not allowed",
            "554 5.7.3 TLS already active",
            "250 2.0.0 OK",
        ],
        Dialect::Imap => vec![
            "A2 NO TLS not available",
            "A2 BAD unknown command",
            "A2 NO [PRIVACYREQUIRED] nope",
            "A2 bad lower-case status",
        ],
        // RFC 4642 section 2.2.1 (580, 502) and RFC 3977 section 3.2.1 (400, 401, 403, 480,
        // 483, 500, 501).
        Dialect::Nntp => vec![
            "580 Can not initiate TLS negotiation",
            "502 Command unavailable",
            "400 Service discontinued",
            "401 CAPABILITIES",
            "403 internal fault",
            "480 authentication required",
            "483 encryption required",
            "500 Unknown command",
            "501 Syntax error",
            "200 ready",
            "101 Capability list:",
        ],
        // IRCv3 tls: 691; RFC 2812's 421 (unknown command) and 451 (not registered); any error
        // numeric, with or without a prefix.
        Dialect::Irc => vec![
            ":irc.example 691 * :STARTTLS failure",
            ":irc.example 421 * STARTTLS :Unknown command",
            ":irc.example 451 * :You have not registered",
            "691 * :STARTTLS failure",
            ":irc.example 500 * :odd",
        ],
        // RFC 2228's answers to AUTH (431, 500, 501, 502, 503, 504, 534, and 334, which asks
        // for ADAT and is no go-ahead), RFC 959's 421 and 530, a success that is not 234.
        Dialect::Ftp => vec![
            "431 Need some unavailable resource to process security",
            "500 Syntax error, command unrecognized",
            "501 Syntax error in parameters or arguments",
            "502 Command not implemented",
            "503 Bad sequence of commands",
            "504 Command not implemented for that parameter",
            "534 Request denied for policy reasons",
            "421 Service not available, closing control connection",
            "530 Not logged in",
            "334 ADAT=Zm9v",
            "200 OK",
            "235 almost",
        ],
        // RFC 5804 section 1.3: NO and BYE, with or without a response code, any case.
        Dialect::Sieve => vec![
            r#"NO "TLS not available""#,
            r#"NO (TRYLATER) "later""#,
            r#"BYE "closing""#,
            "no",
            r#"bye (REFERRAL "sieve://elsewhere") "moved""#,
        ],
        _ => vec!["-ERR TLS not available", "-ERR", "-err lower case"],
    }
}

/// Answers to the STARTTLS command that are no protocol at all.
fn nonsense(dialect: Dialect) -> Vec<&'static [u8]> {
    let mut out: Vec<&'static [u8]> = vec![
        b"hello there\r\n",
        b"\r\n",
        b"\x16\x03\x01\x00\x05\r\n",
        b"HTTP/1.1 200 OK\r\n",
    ];
    out.extend(match dialect {
        Dialect::Smtp | Dialect::Lmtp => vec![
            &b"220-go ahead\r\n221 changed code\r\n"[..],
            b"2200 Ready\r\n",
            b"99 x\r\n",
        ],
        Dialect::Imap => vec![&b"A1 OK wrong tag\r\n"[..], b"A2 MAYBE\r\n", b"A2\r\n"],
        Dialect::Nntp => vec![&b"382-continue\r\n"[..], b"3820 go\r\n", b"38 go\r\n"],
        Dialect::Irc => vec![
            &b":irc.example 6700 * :go\r\n"[..],
            b":irc.example 67O * :go\r\n",
            b":irc.example PRIVMSG * :670\r\n",
            b":irc.example\r\n",
        ],
        Dialect::Ftp => vec![
            &b"2340 go\r\n"[..],
            b"23 go\r\n",
            b"634 go\r\n",
            b" 234 go\r\n",
        ],
        Dialect::Sieve => vec![
            &b"OKAY\r\n"[..],
            b"\"STARTTLS\"\r\nOK\r\n",
            b"{2}\r\nOK\r\n",
            b"+OK\r\n",
        ],
        _ => vec![&b"OK\r\n"[..], b"+ OK\r\n"],
    });
    out
}

/// Checks that a client that has just failed sends only the goodbye, now and later.
fn assert_only_goodbye(client: &mut Client, dialect: Dialect, goodbye_expected: bool, what: &str) {
    let goodbye = script(dialect).goodbye;
    let sent = client.take_sent();
    if goodbye_expected {
        assert_eq!(sent, goodbye, "{what}");
    } else {
        assert_eq!(sent, "", "{what}");
    }
    // A late go-ahead, more capabilities, TLS: nothing moves any more.
    let s = script(dialect);
    client
        .feed(s.go_ahead)
        .feed(s.capabilities)
        .establish()
        .feed(s.post_tls)
        .eof();
    assert!(
        client.take_events().is_empty(),
        "{what}: events after failure"
    );
    assert_eq!(client.take_sent(), "", "{what}: sent after failure");
}

#[test]
fn a_refused_starttls_fails_with_refused_and_sends_only_the_goodbye() {
    for dialect in LINE_DIALECTS {
        for refusal in refusals(dialect) {
            for quit in [true, false] {
                let what = format!("{dialect} {refusal:?} quit={quit}");
                let config = ClientSettings {
                    quit_on_failure: quit,
                    ..ClientSettings::default()
                };
                let mut client = client_at_starttls_with(dialect, config);
                client.feed(format!("{refusal}\r\n").as_bytes());
                assert_eq!(
                    client.take_events(),
                    [ClientEvent::Failed(ClientFailure::Refused {
                        reply: refusal.to_owned()
                    })],
                    "{what}"
                );
                assert_only_goodbye(&mut client, dialect, quit, &what);
            }
        }
    }
}

#[test]
fn a_multi_line_smtp_refusal_is_reported_whole() {
    let mut client = client_at_starttls(Dialect::Smtp);
    client.feed(b"454-4.7.0 first\r\n454 4.7.0 second\r\n");
    assert_eq!(
        client.take_events(),
        [ClientEvent::Failed(ClientFailure::Refused {
            reply: "454-4.7.0 first\n454 4.7.0 second".to_owned()
        })]
    );
    assert_only_goodbye(&mut client, Dialect::Smtp, true, "smtp multi-line");
}

/// FTP's own trap: inside a multi-line refusal any line may stand (RFC 959 section 4.2), even
/// one that reads like the go-ahead; only the line with the first line's code and a space ends
/// the reply.
#[test]
fn a_234_line_inside_a_multi_line_ftp_refusal_is_no_go_ahead() {
    let mut client = client_at_starttls(Dialect::Ftp);
    client.feed(b"431-TLS is not available\r\n234 Proceed with negotiation\r\n");
    assert!(client.take_events().is_empty(), "the reply is not over");
    client.feed(b"431 try later\r\n");
    assert_eq!(
        client.take_events(),
        [ClientEvent::Failed(ClientFailure::Refused {
            reply: "431-TLS is not available\n234 Proceed with negotiation\n431 try later"
                .to_owned()
        })]
    );
    assert_only_goodbye(&mut client, Dialect::Ftp, true, "ftp multi-line");
}

/// IRC's own trap: a notice whose text reads like the go-ahead (or a numeric other than 670) is
/// no go-ahead; only the numeric 670 as the command is.
#[test]
fn an_irc_notice_saying_670_is_no_go_ahead() {
    let mut client = client_at_starttls(Dialect::Irc);
    client.feed(b":irc.example NOTICE * :670 STARTTLS successful\r\n:irc.example 020 * :wait\r\n");
    assert!(client.take_events().is_empty());
    assert_eq!(client.take_sent(), "");
    client.feed(b":irc.example 691 * :STARTTLS failure\r\n");
    assert_eq!(
        client.take_events(),
        [ClientEvent::Failed(ClientFailure::Refused {
            reply: ":irc.example 691 * :STARTTLS failure".to_owned()
        })]
    );
    assert_only_goodbye(&mut client, Dialect::Irc, true, "irc notice");
}

#[test]
fn nonsense_instead_of_the_go_ahead_is_a_protocol_failure() {
    for dialect in LINE_DIALECTS {
        for answer in nonsense(dialect) {
            let what = format!("{dialect} {:?}", String::from_utf8_lossy(answer));
            let mut client = client_at_starttls(dialect);
            client.feed(answer);
            let events = client.take_events();
            assert!(
                matches!(
                    events.as_slice(),
                    [ClientEvent::Failed(
                        ClientFailure::Protocol { .. } | ClientFailure::Refused { .. }
                    )]
                ),
                "{what}: {events:?}"
            );
            assert_only_goodbye(&mut client, dialect, true, &what);
        }
    }
}

#[test]
fn starttls_not_advertised_fails_without_sending_starttls() {
    let cases: [(Dialect, &[u8], &[u8], &str); 13] = [
        // IRC: the capability is `tls`, exactly (IRCv3 names are case-sensitive); a server
        // without CAP (421) cannot offer it.
        (
            Dialect::Irc,
            b"",
            b":irc.example CAP * LS :TLS tlsx sts=port=6697\r\n",
            "CAP LS 302\r\nQUIT\r\n",
        ),
        (
            Dialect::Irc,
            b":irc.example NOTICE * :*** hello\r\n",
            b":irc.example 421 * CAP :Unknown command\r\n",
            "CAP LS 302\r\nQUIT\r\n",
        ),
        // FTP: the AUTH feature must name the TLS mechanism (RFC 4217 section 6); a one-line
        // 211 lists no feature at all (RFC 2389 section 3.2).
        (
            Dialect::Ftp,
            b"220 ftp.example\r\n",
            b"211-Features:\r\n AUTH SSL;TLS-C\r\n XAUTH TLS\r\n PBSZ\r\n211 End\r\n",
            "FEAT\r\nQUIT\r\n",
        ),
        (
            Dialect::Ftp,
            b"220 ftp.example\r\n",
            b"211 No features\r\n",
            "FEAT\r\nQUIT\r\n",
        ),
        // ManageSieve: a capability line's first string is its name; a value is no name.
        (
            Dialect::Sieve,
            b"\"IMPLEMENTATION\" \"x\"\r\n\"X-STARTTLS\"\r\n",
            b"\"SASL\" \"STARTTLS\"\r\nOK \"ready\"\r\n",
            "LOGOUT\r\n",
        ),
        (
            Dialect::Nntp,
            b"200 news NNTP\r\n",
            b"101 list\r\nVERSION 2\r\nX-STARTTLS\r\n..STARTTLS\r\n.\r\n",
            "CAPABILITIES\r\nQUIT\r\n",
        ),
        // An NNTP server without CAPABILITIES: no way to know STARTTLS is offered.
        (
            Dialect::Nntp,
            b"200 news NNTP\r\n",
            b"500 Unknown command\r\n",
            "CAPABILITIES\r\nQUIT\r\n",
        ),
        (
            Dialect::Smtp,
            b"220 mx ESMTP\r\n",
            b"250-mx\r\n250-STARTTLSX\r\n250 8BITMIME\r\n",
            "EHLO localhost\r\nQUIT\r\n",
        ),
        (
            Dialect::Lmtp,
            b"220 lmtp LMTP\r\n",
            b"250-lmtp\r\n250-X-STARTTLS\r\n250 PIPELINING\r\n",
            "LHLO localhost\r\nQUIT\r\n",
        ),
        (
            Dialect::Imap,
            b"* OK [CAPABILITY IMAP4rev1 LOGINDISABLED] ready\r\n",
            b"* CAPABILITY IMAP4rev1 LOGINDISABLED X-STARTTLS\r\nA1 OK done\r\n",
            "A1 CAPABILITY\r\nA4 LOGOUT\r\n",
        ),
        (
            Dialect::Pop3,
            b"+OK ready\r\n",
            b"+OK\r\nUSER\r\nSTLSX\r\n.\r\n",
            "CAPA\r\nQUIT\r\n",
        ),
        // POP3 without CAPA: no way to know STLS is offered (RFC 2595 section 4).
        (
            Dialect::Pop3,
            b"+OK ready\r\n",
            b"-ERR unknown command\r\n",
            "CAPA\r\nQUIT\r\n",
        ),
        // Dot-stuffed: "..STLS" is the capability ".STLS", not STLS.
        (
            Dialect::Pop3,
            b"+OK ready\r\n",
            b"+OK\r\n..STLS\r\n.\r\n",
            "CAPA\r\nQUIT\r\n",
        ),
    ];
    for (dialect, greeting, capabilities, transcript) in cases {
        let mut client = Client::new(dialect);
        client.feed(greeting).feed(capabilities);
        let events = client.take_events();
        assert!(
            matches!(
                events.as_slice(),
                [ClientEvent::Failed(ClientFailure::NotOffered { .. })]
            ),
            "{dialect}: {events:?}"
        );
        assert_eq!(client.take_sent(), transcript, "{dialect}");
        assert_only_goodbye(&mut client, dialect, false, "not advertised");
    }
}

#[test]
fn an_imap_preauth_greeting_fails_even_when_it_lists_starttls() {
    for greeting in [
        &b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in\r\n"[..],
        b"* preauth welcome\r\n",
    ] {
        let mut client = Client::new(Dialect::Imap);
        client.feed(greeting);
        let events = client.take_events();
        assert!(
            matches!(
                events.as_slice(),
                [ClientEvent::Failed(ClientFailure::Preauth { .. })]
            ),
            "{events:?}"
        );
        assert_only_goodbye(&mut client, Dialect::Imap, true, "preauth");
    }
}

#[test]
fn an_imap_bye_ends_the_client_without_a_logout() {
    let mut client = Client::new(Dialect::Imap);
    client.feed(b"* BYE overloaded\r\n");
    assert!(matches!(
        client.take_events().as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
    assert_only_goodbye(&mut client, Dialect::Imap, false, "bye greeting");
    let mut client = client_at_starttls(Dialect::Imap);
    client.feed(b"* BYE going away\r\n");
    assert!(matches!(
        client.take_events().as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
    assert_only_goodbye(&mut client, Dialect::Imap, false, "bye after starttls");
}

#[test]
fn a_close_before_the_go_ahead_is_closed_and_silent() {
    for dialect in LINE_DIALECTS {
        let mut client = client_at_starttls(dialect);
        client.eof();
        assert_eq!(
            client.take_events(),
            [ClientEvent::Failed(ClientFailure::Closed)],
            "{dialect}"
        );
        assert_only_goodbye(&mut client, dialect, false, "eof");
    }
}

/// The server's transcript of what the client sent, for each stripping behaviour of the mock.
#[test]
fn against_stripping_servers_the_client_sends_only_its_requests_and_a_goodbye() {
    let mut cases: Vec<(Dialect, ServerBehaviour, &str)> = vec![
        (
            Dialect::Smtp,
            ServerBehaviour::StartTlsNotAdvertised,
            "EHLO localhost\r\nQUIT\r\n",
        ),
        (
            Dialect::Smtp,
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            "EHLO localhost\r\nSTARTTLS\r\nQUIT\r\n",
        ),
        (
            Dialect::Lmtp,
            ServerBehaviour::StartTlsNotAdvertised,
            "LHLO localhost\r\nQUIT\r\n",
        ),
        (
            Dialect::Nntp,
            ServerBehaviour::StartTlsNotAdvertised,
            "CAPABILITIES\r\nQUIT\r\n",
        ),
        (
            Dialect::Nntp,
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            "CAPABILITIES\r\nSTARTTLS\r\nQUIT\r\n",
        ),
        (
            Dialect::Lmtp,
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            "LHLO localhost\r\nSTARTTLS\r\nQUIT\r\n",
        ),
        (
            Dialect::Imap,
            ServerBehaviour::StartTlsNotAdvertised,
            "A1 CAPABILITY\r\nA4 LOGOUT\r\n",
        ),
        (
            Dialect::Imap,
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            "A2 STARTTLS\r\nA4 LOGOUT\r\n",
        ),
        (Dialect::Imap, ServerBehaviour::Preauth, "A4 LOGOUT\r\n"),
        (
            Dialect::Pop3,
            ServerBehaviour::StartTlsNotAdvertised,
            "CAPA\r\nQUIT\r\n",
        ),
        (
            Dialect::Pop3,
            ServerBehaviour::StartTlsRefused(Refusal::Temporary),
            "CAPA\r\nSTLS\r\nQUIT\r\n",
        ),
    ];
    // Every other refusal the server machine can give, each code and the nonsense line, ends
    // in the same transcript as the temporary one.
    for refusal in [Refusal::Syntax, Refusal::Permanent, Refusal::Nonsense] {
        for (dialect, transcript) in [
            (Dialect::Smtp, "EHLO localhost\r\nSTARTTLS\r\nQUIT\r\n"),
            (Dialect::Lmtp, "LHLO localhost\r\nSTARTTLS\r\nQUIT\r\n"),
            (Dialect::Nntp, "CAPABILITIES\r\nSTARTTLS\r\nQUIT\r\n"),
            (Dialect::Imap, "A2 STARTTLS\r\nA4 LOGOUT\r\n"),
            (Dialect::Pop3, "CAPA\r\nSTLS\r\nQUIT\r\n"),
        ] {
            if refusal.applies_to(dialect) {
                cases.push((
                    dialect,
                    ServerBehaviour::StartTlsRefused(refusal),
                    transcript,
                ));
            }
        }
    }
    assert_eq!(cases.len(), 11 + 12);
    for (dialect, behaviour, transcript) in cases {
        let server = ServerSettings {
            behaviour: behaviour.clone(),
            ..ServerSettings::default()
        };
        let outcome = run_in_memory(dialect, ClientSettings::default(), server);
        assert!(outcome.failure().is_some(), "{dialect} {behaviour:?}");
        assert!(!outcome.tls_established, "{dialect} {behaviour:?}");
        assert_eq!(
            String::from_utf8_lossy(&outcome.client_plaintext),
            transcript,
            "{dialect} {behaviour:?}"
        );
        assert!(outcome.client_protected.is_empty());
    }
}
