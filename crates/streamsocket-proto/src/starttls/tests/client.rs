//! The client machine against scripted servers.

use super::*;

/// Runs a client to just after its go-ahead, asserting what it sends on the way.
fn smtp_to_go_ahead() -> ClientMachine {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx ESMTP\r\n");
    assert_eq!(client_sent(&mut client), "EHLO localhost\r\n");
    client.handle_input(b"250-mx\r\n250-SIZE 10\r\n250 STARTTLS\r\n");
    assert_eq!(client_sent(&mut client), "STARTTLS\r\n");
    client.handle_input(b"220 2.0.0 go ahead\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client
}

#[test]
fn smtp_client_upgrades_and_asks_for_fresh_capabilities() {
    let mut client = smtp_to_go_ahead();
    assert_eq!(client.capabilities(), caps(&["SIZE 10", "STARTTLS"]));
    assert_eq!(client_sent(&mut client), "");
    client.handle_tls_established();
    // Pre-TLS capabilities are forgotten at once.
    assert!(client.capabilities().is_empty());
    assert_eq!(client_sent(&mut client), "EHLO localhost\r\n");
    client.handle_input(b"250-mx\r\n250 AUTH PLAIN\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["AUTH PLAIN"])
        }]
    );
    assert_eq!(client.capabilities(), caps(&["AUTH PLAIN"]));
    assert!(client.is_finished());
}

#[test]
fn smtp_multi_line_greeting_is_read_to_its_last_line() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220-mx first line\r\n220-second\r\n");
    assert_eq!(client_sent(&mut client), "");
    client.handle_input(b"220 last\r\n");
    assert_eq!(client_sent(&mut client), "EHLO localhost\r\n");
}

#[test]
fn smtp_ehlo_name_comes_from_the_config() {
    let config = ClientSettings {
        ehlo_name: "client.example".parse().expect("a domain"),
        ..ClientSettings::default()
    };
    let mut client = ClientMachine::new(Dialect::Smtp, config);
    client.handle_input(b"220 mx\r\n");
    assert_eq!(client_sent(&mut client), "EHLO client.example\r\n");
}

#[test]
fn smtp_starttls_not_advertised_fails_and_only_quits() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx\r\n");
    client_sent(&mut client);
    client.handle_input(b"250-mx\r\n250 8BITMIME\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::NotOffered {
            capabilities: caps(&["8BITMIME"])
        })]
    );
    assert_eq!(client_sent(&mut client), "QUIT\r\n");
    // Whatever the server says next, the client stays silent.
    client.handle_input(b"221 bye\r\n220 ready\r\n");
    assert_eq!(client_sent(&mut client), "");
    assert_eq!(client_events(&mut client), []);
}

#[test]
fn smtp_stripped_starttls_is_not_offered() {
    // A man in the middle that overwrites STARTTLS (the classic stripping attack).
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx\r\n250-mx\r\n250 XXXXXXXA\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::NotOffered {
            capabilities: caps(&["XXXXXXXA"])
        })]
    );
    assert_eq!(client_sent(&mut client), "QUIT\r\n");
}

#[test]
fn smtp_every_refusal_code_fails_without_plaintext() {
    for reply in [
        "454 4.7.0 TLS not available",
        "501 5.5.4 syntax",
        "502 5.5.1 not implemented",
        "530 5.7.0 must issue STARTTLS",
        "554 5.5.1 TLS already active",
    ] {
        let mut client = client(Dialect::Smtp);
        client.handle_input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
        assert_eq!(client_sent(&mut client), "EHLO localhost\r\nSTARTTLS\r\n");
        client.handle_input(format!("{reply}\r\n").as_bytes());
        assert_eq!(client_events(&mut client), [refused(reply)], "{reply}");
        assert_eq!(client_sent(&mut client), "QUIT\r\n", "{reply}");
    }
}

#[test]
fn smtp_multi_line_refusal_keeps_every_line() {
    let mut client = client(Dialect::Smtp);
    client
        .handle_input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n454-4.7.0 no\r\n454 4.7.0 really\r\n");
    assert_eq!(
        client_events(&mut client),
        [refused("454-4.7.0 no\n454 4.7.0 really")]
    );
}

#[test]
fn smtp_refusing_greeting_fails() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"554 5.3.2 go away\r\n");
    assert_eq!(client_events(&mut client), [refused("554 5.3.2 go away")]);
    assert_eq!(client_sent(&mut client), "QUIT\r\n");
}

#[test]
fn smtp_response_injection_in_the_same_read_fails_before_starttls() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
    client_sent(&mut client);
    client.handle_input(b"220 go ahead\r\n250-evil\r\n250 AUTH\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 20 })]
    );
    // No QUIT: the server expects a ClientHello now, and nothing more may leave in plaintext.
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn smtp_partial_line_after_the_go_ahead_counts_as_injection() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx\r\n250-mx\r\n250 STARTTLS\r\n");
    client.handle_input(b"220 go ahead\r\n25");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 2 })]
    );
}

#[test]
fn response_injection_in_a_later_read_fails_after_starttls() {
    let mut client = smtp_to_go_ahead();
    client.handle_input(b"250 fake\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 10 })]
    );
    client.handle_tls_established();
    assert_eq!(client_sent(&mut client), "");
    assert_eq!(client_events(&mut client), []);
}

#[test]
fn smtp_unparsable_reply_is_a_protocol_error() {
    for reply in ["hello", "22", "2x0 ok", "220x", "620 what", "099 what"] {
        let mut client = client(Dialect::Smtp);
        client.handle_input(format!("{reply}\r\n").as_bytes());
        let events = client_events(&mut client);
        assert!(
            matches!(
                events.as_slice(),
                [ClientEvent::Failed(ClientFailure::Protocol { .. })]
            ),
            "{reply}: {events:?}"
        );
        assert_eq!(client_sent(&mut client), "QUIT\r\n");
    }
}

#[test]
fn smtp_reply_code_may_not_change_within_a_reply() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220-mx\r\n250 ok\r\n");
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
}

#[test]
fn over_long_reply_line_fails_without_buffering_it() {
    let config = ClientSettings {
        max_line_len: 64,
        ..ClientSettings::default()
    };
    let mut client = ClientMachine::new(Dialect::Smtp, config);
    client.handle_input(&[b'2'; 63]);
    assert_eq!(client_events(&mut client), []);
    client.handle_input(b"0");
    let events = client_events(&mut client);
    assert!(
        matches!(events.as_slice(), [ClientEvent::Failed(ClientFailure::Protocol { reason })] if reason.contains("longer than 64")),
        "{events:?}"
    );
}

#[test]
fn smtp_replies_ending_in_bare_lf_are_accepted() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx\n250-mx\n250 STARTTLS\n220 go\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
}

/// A TLS record where the greeting was due (a port of implicit TLS that answered first, or an
/// alert): the machine fails without a word, not even its goodbye, whether the record comes
/// whole or one byte at a time; text that merely contains such bytes later is not a record.
#[test]
fn a_tls_record_instead_of_the_greeting_fails_silently() {
    let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    for dialect in [Dialect::Smtp, Dialect::Imap, Dialect::Pop3] {
        for chunk in [alert.len(), 1] {
            let mut client = client(dialect);
            for piece in alert.chunks(chunk) {
                client.handle_input(piece);
            }
            assert_eq!(
                client_events(&mut client),
                [failed(ClientFailure::TlsInsteadOfGreeting)],
                "{dialect}, chunks of {chunk}"
            );
            assert_eq!(client_sent(&mut client), "", "{dialect}");
        }
    }
    // Control bytes inside a greeting line are the line's problem, not a TLS record.
    let mut smtp = client(Dialect::Smtp);
    smtp.handle_input(b"220 x\x16\x03 ready\r\n");
    assert!(
        !client_events(&mut smtp).contains(&failed(ClientFailure::TlsInsteadOfGreeting)),
        "a record inside a line"
    );
}

#[test]
fn eof_before_the_go_ahead_is_closed_and_silent() {
    for dialect in [Dialect::Smtp, Dialect::Imap, Dialect::Pop3] {
        let mut client = client(dialect);
        client.handle_eof();
        assert_eq!(
            client_events(&mut client),
            [failed(ClientFailure::Closed)],
            "{dialect}"
        );
        assert_eq!(client_sent(&mut client), "", "{dialect}");
        assert!(client.is_finished());
    }
}

#[test]
fn tls_established_before_the_go_ahead_is_refused() {
    let mut client = client(Dialect::Smtp);
    client.handle_input(b"220 mx\r\n");
    client_sent(&mut client);
    client.handle_tls_established();
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn post_tls_failure_ends_the_machine() {
    let mut client = smtp_to_go_ahead();
    client.handle_tls_established();
    client_sent(&mut client);
    client.handle_input(b"421 shutting down\r\n");
    assert_eq!(client_events(&mut client), [refused("421 shutting down")]);
    // The QUIT goes inside TLS.
    assert_eq!(client_sent(&mut client), "QUIT\r\n");
}

#[test]
fn quit_on_failure_can_be_switched_off() {
    let config = ClientSettings {
        quit_on_failure: false,
        ..ClientSettings::default()
    };
    let mut client = ClientMachine::new(Dialect::Smtp, config);
    client.handle_input(b"220 mx\r\n");
    client_sent(&mut client);
    client.handle_input(b"250 mx\r\n");
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::NotOffered { .. })]
    ));
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn imap_client_uses_greeting_capabilities_when_they_offer_starttls() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n");
    assert_eq!(client_sent(&mut client), "A2 STARTTLS\r\n");
    client.handle_input(b"A2 OK begin\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert_eq!(client_sent(&mut client), "A3 CAPABILITY\r\n");
    client.handle_input(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK done\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["IMAP4rev1", "AUTH=PLAIN"])
        }]
    );
}

#[test]
fn imap_client_asks_for_capabilities_without_a_greeting_code() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* OK ready\r\n");
    assert_eq!(client_sent(&mut client), "A1 CAPABILITY\r\n");
    client.handle_input(b"* CAPABILITY IMAP4rev1 STARTTLS\r\n* OK [ALERT] hi\r\nA1 OK done\r\n");
    assert_eq!(client_sent(&mut client), "A2 STARTTLS\r\n");
    assert_eq!(client.capabilities(), caps(&["IMAP4rev1", "STARTTLS"]));
    // Untagged data before the tagged OK is harmless.
    client.handle_input(b"* OK still here\r\nA2 OK go\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
}

#[test]
fn imap_greeting_code_without_starttls_still_asks() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* OK [CAPABILITY IMAP4rev1] ready\r\n");
    assert_eq!(client_sent(&mut client), "A1 CAPABILITY\r\n");
    client.handle_input(b"* CAPABILITY IMAP4rev1\r\nA1 OK done\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::NotOffered {
            capabilities: caps(&["IMAP4rev1"])
        })]
    );
    assert_eq!(client_sent(&mut client), "A4 LOGOUT\r\n");
}

#[test]
fn imap_preauth_greeting_fails_and_logs_out() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::Preauth {
            greeting: "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome".to_owned()
        })]
    );
    assert_eq!(client_sent(&mut client), "A4 LOGOUT\r\n");
}

#[test]
fn imap_starttls_no_and_bad_are_refusals() {
    for status in ["NO", "BAD"] {
        let mut client = client(Dialect::Imap);
        client.handle_input(b"* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
        client_sent(&mut client);
        client.handle_input(format!("A2 {status} nope\r\n").as_bytes());
        assert_eq!(
            client_events(&mut client),
            [refused(&format!("A2 {status} nope"))]
        );
        assert_eq!(client_sent(&mut client), "A4 LOGOUT\r\n");
    }
}

#[test]
fn imap_bye_is_a_silent_protocol_failure() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* BYE overloaded\r\n");
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { reason })] if reason.contains("overloaded")
    ));
    assert_eq!(client_sent(&mut client), "");
}

#[test]
fn imap_unexpected_tag_is_a_protocol_error() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* OK [CAPABILITY STARTTLS] ready\r\nA1 OK what\r\n");
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
}

#[test]
fn imap_response_injection_fails() {
    let mut client = client(Dialect::Imap);
    client.handle_input(b"* OK [CAPABILITY STARTTLS] ready\r\n");
    client.handle_input(b"A2 OK go\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 35 })]
    );
}

#[test]
fn pop3_client_reads_dot_terminated_capabilities() {
    let mut client = client(Dialect::Pop3);
    client.handle_input(b"+OK ready\r\n");
    assert_eq!(client_sent(&mut client), "CAPA\r\n");
    client.handle_input(b"+OK list\r\nUSER\r\n..DOTTED\r\nSTLS\r\n.\r\n");
    assert_eq!(client.capabilities(), caps(&["USER", ".DOTTED", "STLS"]));
    assert_eq!(client_sent(&mut client), "STLS\r\n");
    client.handle_input(b"+OK begin\r\n");
    assert_eq!(client_events(&mut client), [ClientEvent::StartTls]);
    client.handle_tls_established();
    assert_eq!(client_sent(&mut client), "CAPA\r\n");
    client.handle_input(b"+OK list\r\nUSER\r\n.\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["USER"])
        }]
    );
}

#[test]
fn pop3_without_stls_or_capa_is_not_offered() {
    let mut client = client(Dialect::Pop3);
    client.handle_input(b"+OK ready\r\n+OK list\r\nUSER\r\n.\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::NotOffered {
            capabilities: caps(&["USER"])
        })]
    );
    // The CAPA queued in the same read is superseded by the failure: only the goodbye leaves.
    assert_eq!(client_sent(&mut client), "QUIT\r\n");

    let mut client = super::client(Dialect::Pop3);
    client.handle_input(b"+OK ready\r\n-ERR no CAPA here\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::NotOffered {
            capabilities: Vec::new()
        })]
    );
}

#[test]
fn pop3_stls_refused_and_bad_greeting_fail() {
    let mut client = client(Dialect::Pop3);
    client.handle_input(b"+OK ready\r\n");
    assert_eq!(client_sent(&mut client), "CAPA\r\n");
    client.handle_input(b"+OK\r\nSTLS\r\n.\r\n");
    assert_eq!(client_sent(&mut client), "STLS\r\n");
    client.handle_input(b"-ERR not now\r\n");
    assert_eq!(client_events(&mut client), [refused("-ERR not now")]);
    assert_eq!(client_sent(&mut client), "QUIT\r\n");

    let mut client = super::client(Dialect::Pop3);
    client.handle_input(b"-ERR busy\r\n");
    assert_eq!(client_events(&mut client), [refused("-ERR busy")]);

    // Not a status indicator: another protocol, or a word that merely begins like one.
    for greeting in [&b"* OK imap?\r\n"[..], b"+OKAY ready\r\n", b"-ERRATIC\r\n"] {
        let mut client = super::client(Dialect::Pop3);
        client.handle_input(greeting);
        assert!(
            matches!(
                client_events(&mut client).as_slice(),
                [ClientEvent::Failed(ClientFailure::Protocol { .. })]
            ),
            "{}",
            String::from_utf8_lossy(greeting)
        );
    }

    // "+OKAY" in answer to STLS is no go-ahead either.
    let mut client = super::client(Dialect::Pop3);
    client.handle_input(b"+OK ready\r\n");
    client_sent(&mut client);
    client.handle_input(b"+OK\r\nSTLS\r\n.\r\n");
    assert_eq!(client_sent(&mut client), "STLS\r\n");
    client.handle_input(b"+OKAY begin\r\n");
    assert!(matches!(
        client_events(&mut client).as_slice(),
        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
    ));
}

#[test]
fn pop3_response_injection_fails() {
    let mut client = client(Dialect::Pop3);
    client.handle_input(b"+OK ready\r\n+OK\r\nSTLS\r\n.\r\n+OK go\r\n+OK\r\n");
    assert_eq!(
        client_events(&mut client),
        [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 5 })]
    );
}

#[test]
fn framed_and_implicit_clients_start_tls_at_once() {
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let mut client = client(dialect);
        assert_eq!(
            client_events(&mut client),
            [ClientEvent::StartTls],
            "{dialect}"
        );
        assert_eq!(client_sent(&mut client), "");
        client.handle_tls_established();
        assert_eq!(
            client_events(&mut client),
            [ClientEvent::Ready {
                capabilities: Vec::new()
            }],
            "{dialect}"
        );
        assert!(client.is_finished());
    }
}

#[test]
fn framed_client_rejects_any_plaintext_from_the_server() {
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let mut client = client(dialect);
        client_events(&mut client);
        client.handle_input(b"\x00\x00\x00\x02hi");
        assert_eq!(
            client_events(&mut client),
            [failed(ClientFailure::PlaintextAfterGoAhead { bytes: 6 })],
            "{dialect}"
        );
        assert_eq!(client_sent(&mut client), "");
    }
}

#[test]
fn failure_messages_are_lowercase_without_final_period() {
    for failure in [
        ClientFailure::NotOffered {
            capabilities: Vec::new(),
        },
        ClientFailure::Refused {
            reply: "454 no".to_owned(),
        },
        ClientFailure::Preauth {
            greeting: "* PREAUTH".to_owned(),
        },
        ClientFailure::PlaintextAfterGoAhead { bytes: 3 },
        ClientFailure::Protocol {
            reason: "x".to_owned(),
        },
        ClientFailure::Closed,
    ] {
        let message = failure.to_string();
        assert!(
            message.starts_with(|c: char| c.is_lowercase() || c.is_ascii_digit()),
            "{message}"
        );
        assert!(!message.ends_with('.'), "{message}");
    }
}

#[test]
fn bytes_after_the_post_tls_reply_are_kept_for_the_application() {
    let mut client = smtp_to_go_ahead();
    client.handle_tls_established();
    assert_eq!(client_sent(&mut client), "EHLO localhost\r\n");
    assert!(client.take_leftover().is_empty());
    client.handle_input(b"250-mx\r\n250 AUTH PLAIN\r\n421 going down\r\n");
    assert_eq!(
        client_events(&mut client),
        [ClientEvent::Ready {
            capabilities: caps(&["AUTH PLAIN"])
        }]
    );
    client.handle_input(b"more");
    assert_eq!(client.take_leftover(), b"421 going down\r\nmore");
    assert!(client.take_leftover().is_empty());
}
