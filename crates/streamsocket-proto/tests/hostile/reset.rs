//! The state reset after TLS: capabilities, the EHLO name and IMAP untagged
//! data learnt in plaintext are gone on both sides, and a second STARTTLS inside TLS is refused.
//!
//! The validation host is a layer-2 matter: at this layer `ClientEvent::StartTls` carries no
//! name at all, so nothing from a banner can reach the verifier through it.

use streamsocket_proto::starttls::{ClientEvent, Dialect, ServerEvent, ServerSettings};

use crate::support::{
    Client, LINE_DIALECTS, Server, client_at_starttls, is_error_line, script, server_at_starttls,
    starttls_command,
};

/// A client of a line dialect inside TLS, before the post-TLS capabilities arrive.
fn client_in_tls(dialect: Dialect) -> Client {
    let mut client = client_at_starttls(dialect);
    client.feed(script(dialect).go_ahead);
    assert_eq!(client.take_events(), [ClientEvent::StartTls], "{dialect}");
    assert!(
        client
            .machine
            .capabilities()
            .iter()
            .any(|c| c == "X-PRE-TLS"),
        "{dialect}: the plaintext list was read"
    );
    client.establish();
    client
}

#[test]
fn the_client_forgets_plaintext_capabilities_and_asks_again() {
    for dialect in LINE_DIALECTS {
        let mut client = client_in_tls(dialect);
        assert!(client.machine.capabilities().is_empty(), "{dialect}");
        let again = match dialect {
            Dialect::Smtp => "EHLO localhost\r\n",
            Dialect::Lmtp => "LHLO localhost\r\n",
            Dialect::Nntp => "CAPABILITIES\r\n",
            Dialect::Imap => "A3 CAPABILITY\r\n",
            Dialect::Ftp => "FEAT\r\n",
            Dialect::Irc => "CAP LS 302\r\n",
            // RFC 5804 section 2.2: the server sends them unasked.
            Dialect::Sieve => "",
            _ => "CAPA\r\n",
        };
        assert_eq!(client.take_sent(), again, "{dialect}");
        client.feed(script(dialect).post_tls);
        let events = client.take_events();
        let [ClientEvent::Ready { capabilities }] = events.as_slice() else {
            panic!("{dialect}: {events:?}");
        };
        assert!(!capabilities.iter().any(|c| c == "X-PRE-TLS"), "{dialect}");
        assert!(!capabilities.iter().any(|c| c == "STARTTLS"), "{dialect}");
        assert_eq!(client.machine.capabilities(), capabilities.as_slice());
        // FTP's features name no login mechanism (FEAT lists commands, RFC 2389).
        let fresh = if dialect == Dialect::Ftp {
            "PROT"
        } else {
            "PLAIN"
        };
        assert!(
            capabilities.iter().any(|c| c.contains(fresh)),
            "{dialect}: {capabilities:?}"
        );
    }
}

#[test]
fn imap_untagged_data_before_tls_is_not_kept() {
    let mut client = client_at_starttls(Dialect::Imap);
    client.feed(b"* CAPABILITY X-SNEAKY AUTH=ANONYMOUS\r\n* 3 EXISTS\r\nA2 OK begin\r\n");
    assert_eq!(client.take_events(), [ClientEvent::StartTls]);
    client.establish();
    client.feed(b"* CAPABILITY IMAP4rev1\r\nA3 OK done\r\n");
    assert_eq!(
        client.take_events(),
        [ClientEvent::Ready {
            capabilities: vec!["IMAP4rev1".to_owned()]
        }]
    );
}

#[test]
fn a_client_never_sends_starttls_again_inside_tls() {
    let advertising: [(Dialect, &[u8]); 5] = [
        (Dialect::Nntp, b"101 list\r\nSTARTTLS\r\n.\r\n"),
        (Dialect::Smtp, b"250-mx\r\n250 STARTTLS\r\n"),
        (Dialect::Lmtp, b"250-mx\r\n250 STARTTLS\r\n"),
        (
            Dialect::Imap,
            b"* CAPABILITY IMAP4rev1 STARTTLS\r\nA3 OK done\r\n",
        ),
        (Dialect::Pop3, b"+OK\r\nSTLS\r\n.\r\n"),
    ];
    for (dialect, post_tls) in advertising {
        let mut client = client_in_tls(dialect);
        client.take_sent();
        client.feed(post_tls);
        assert!(
            matches!(client.take_events().as_slice(), [ClientEvent::Ready { .. }]),
            "{dialect}"
        );
        assert_eq!(client.take_sent(), "", "{dialect}");
        // Ready: the connection belongs to the application; the machine reads nothing more.
        client.feed(script(dialect).go_ahead);
        assert!(client.take_events().is_empty());
    }
}

/// A server of a line dialect inside TLS, after an honest STARTTLS.
fn server_in_tls(dialect: Dialect, before: &[u8]) -> Server {
    let mut server = server_at_starttls(dialect, ServerSettings::default());
    server.feed(before);
    server.take_replies();
    server.feed(starttls_command(dialect));
    assert_eq!(server.take_events(), [ServerEvent::StartTls], "{dialect}");
    server.take_replies();
    assert!(server.establish().is_empty());
    let unasked = server.take_lines();
    if dialect == Dialect::Sieve {
        // RFC 5804 section 2.2: the capabilities again, unasked, then OK; without STARTTLS.
        let (last, capabilities) = unasked.split_last().expect("sieve: capabilities");
        assert!(last.starts_with("OK "), "{unasked:?}");
        assert!(
            capabilities.contains(&r#""SASL" "PLAIN""#.to_owned()),
            "{unasked:?}"
        );
        assert!(
            !unasked.iter().any(|l| l.contains("STARTTLS")),
            "{unasked:?}"
        );
    } else {
        assert!(
            unasked.is_empty(),
            "{dialect}: no greeting inside tls: {unasked:?}"
        );
    }
    assert!(server.machine.is_tls());
    server
}

#[test]
fn the_smtp_server_forgets_the_greeting_and_the_transaction() {
    let mut server = server_in_tls(Dialect::Smtp, b"MAIL FROM:<a@example>\r\n");
    server.feed(b"RCPT TO:<b@example>\r\n");
    assert_eq!(server.take_lines(), ["503 5.5.1 Error: need MAIL command"]);
    server.feed(b"MAIL FROM:<a@example>\r\n");
    assert_eq!(
        server.take_lines(),
        ["503 5.5.1 Error: send HELO/EHLO first"]
    );
    server.feed(b"EHLO again.example\r\n");
    let lines = server.take_lines();
    assert!(lines[0].contains("again.example"), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("STARTTLS")), "{lines:?}");
}

#[test]
fn the_pop3_server_forgets_the_user_given_in_plaintext() {
    let mut server = server_in_tls(Dialect::Pop3, b"USER alice\r\n");
    server.feed(b"PASS secret\r\n");
    assert_eq!(server.take_lines(), ["-ERR USER first"]);
}

#[test]
fn the_ftp_server_forgets_the_user_given_in_plaintext() {
    let mut server = server_in_tls(Dialect::Ftp, b"USER alice\r\n");
    server.feed(b"PASS secret\r\n");
    assert_eq!(server.take_lines(), ["503 Login with USER first"]);
}

#[test]
fn the_irc_server_forgets_the_nick_given_in_plaintext() {
    let mut server = server_in_tls(Dialect::Irc, b"NICK alice\r\n");
    server.feed(b"USER alice 0 * :Alice\r\n");
    assert!(
        server.take_lines().is_empty(),
        "no 001 without a NICK inside TLS"
    );
    server.feed(b"NICK bob\r\n");
    assert_eq!(
        server.take_lines(),
        [":localhost 001 bob :Welcome to the streamsocket mock IRC network"]
    );
}

#[test]
fn no_server_offers_or_accepts_starttls_inside_tls() {
    for dialect in LINE_DIALECTS {
        let mut server = server_in_tls(dialect, b"");
        let capabilities: &[u8] = match dialect {
            Dialect::Smtp => b"EHLO again\r\n",
            Dialect::Lmtp => b"LHLO again\r\n",
            Dialect::Nntp => b"CAPABILITIES\r\n",
            Dialect::Imap => b"A5 CAPABILITY\r\n",
            Dialect::Sieve => b"CAPABILITY\r\n",
            Dialect::Ftp => b"FEAT\r\n",
            Dialect::Irc => b"CAP LS 302\r\n",
            _ => b"CAPA\r\n",
        };
        server.feed(capabilities);
        let lines = server.take_lines();
        assert!(
            !lines.iter().any(|l| l.contains("STARTTLS")
                || l == "STLS"
                || l.contains("AUTH TLS")
                || l.split([' ', ':']).any(|w| w == "tls")),
            "{dialect}: {lines:?}"
        );
        server.feed(starttls_command(dialect));
        let lines = server.take_lines();
        assert_eq!(lines.len(), 1, "{dialect}: {lines:?}");
        assert!(is_error_line(dialect, &lines[0]), "{dialect}: {lines:?}");
        assert!(
            server.take_events().is_empty(),
            "{dialect}: second StartTls"
        );
        assert!(server.machine.is_tls());
    }
}

#[test]
fn imap_starttls_after_login_is_refused() {
    let mut server = Server::greeted(Dialect::Imap, ServerSettings::default());
    server.feed(b"A1 LOGIN alice secret\r\n");
    assert_eq!(server.take_lines(), ["A1 OK LOGIN completed"]);
    server.feed(b"A2 STARTTLS\r\n");
    let lines = server.take_lines();
    assert!(lines[0].starts_with("A2 BAD"), "{lines:?}");
    assert!(server.take_events().is_empty());
}
