//! The error limit: after the configured number of bad commands the server
//! closes the session; another session is unaffected.

use streamsocket_proto::starttls::{CloseReason, ServerEvent, ServerSettings};

use crate::support::{LINE_DIALECTS, Server, is_error_line, probe};

#[test]
fn the_error_limit_closes_after_n_bad_commands_and_only_that_session() {
    for dialect in LINE_DIALECTS {
        for max_errors in [1, 3, 20] {
            let what = format!("{dialect} max_errors={max_errors}");
            let config = ServerSettings {
                max_errors,
                ..ServerSettings::default()
            };
            let mut bad = Server::greeted(dialect, config.clone());
            let mut good = Server::greeted(dialect, config);
            for round in 1..=max_errors {
                bad.feed(b"BOGUS COMMAND\r\n");
                let (probe, reply) = probe(dialect);
                good.feed(probe);
                let lines = good.take_lines();
                assert!(
                    lines.iter().any(|l| l.starts_with(reply)),
                    "{what}: {lines:?}"
                );
                if round < max_errors {
                    assert!(!bad.closed(), "{what}: closed after {round}");
                }
            }
            assert_eq!(
                bad.take_events(),
                [ServerEvent::Close(CloseReason::TooManyErrors)],
                "{what}"
            );
            let lines = bad.take_lines();
            assert_eq!(lines.len(), max_errors as usize + 1, "{what}: {lines:?}");
            for line in &lines {
                assert!(is_error_line(dialect, line), "{what}: {line:?}");
            }
            // Nothing more is read from the closed session; the other goes on.
            bad.feed(b"NOOP\r\n");
            assert!(bad.take_lines().is_empty(), "{what}");
            assert!(!good.closed(), "{what}");
        }
    }
}

#[test]
fn errors_in_one_read_stop_at_the_limit() {
    for dialect in LINE_DIALECTS {
        let config = ServerSettings {
            max_errors: 3,
            ..ServerSettings::default()
        };
        let mut server = Server::greeted(dialect, config);
        server.feed(&b"X Y\r\n".repeat(1000));
        assert_eq!(
            server.take_events(),
            [ServerEvent::Close(CloseReason::TooManyErrors)],
            "{dialect}"
        );
        // Three errors and the goodbye, not a thousand replies.
        assert_eq!(server.take_lines().len(), 4, "{dialect}");
    }
}

#[test]
fn a_reply_with_endless_lines_fails_the_client_without_growing() {
    use streamsocket_proto::starttls::{ClientEvent, ClientFailure, Dialect};

    use crate::support::{Client, script};

    let endless: [(Dialect, Vec<u8>); 3] = [
        (Dialect::Smtp, b"250-X-CAPABILITY\r\n".repeat(10_000)),
        (
            Dialect::Imap,
            b"* CAPABILITY A B C D E F G H\r\n".repeat(10_000),
        ),
        (
            Dialect::Pop3,
            [&b"+OK\r\n"[..], &b"X-CAPABILITY\r\n".repeat(10_000)].concat(),
        ),
    ];
    for (dialect, flood) in endless {
        let mut client = Client::new(dialect);
        client.feed(script(dialect).greeting);
        client.take_sent();
        client.feed(&flood);
        let events = client.take_events();
        assert!(
            matches!(
                events.as_slice(),
                [ClientEvent::Failed(ClientFailure::Protocol { .. })]
            ),
            "{dialect}: {events:?}"
        );
        assert_eq!(client.take_sent(), script(dialect).goodbye, "{dialect}");
        assert!(client.machine.capabilities().is_empty(), "{dialect}");
    }
}

#[test]
fn an_oversized_message_is_refused_and_not_kept() {
    use streamsocket_proto::starttls::{Dialect, MAX_MAIL_LEN};

    let mut server = Server::greeted(Dialect::Smtp, ServerSettings::default());
    server.feed(b"EHLO c\r\nMAIL FROM:<a@example>\r\nRCPT TO:<b@example>\r\nDATA\r\n");
    server.take_replies();
    server.feed_chunked(
        &b"0123456789abcdef0123456789abcdef\r\n".repeat(64 * 1024),
        4096,
    );
    assert!(
        server.max_buffered <= MAX_MAIL_LEN,
        "{}",
        server.max_buffered
    );
    server.feed(b".\r\n");
    assert_eq!(server.take_lines(), ["552 5.3.4 Error: message too big"]);
    assert!(server.take_events().is_empty(), "no mail event");
    assert_eq!(server.machine.buffered_len(), 0);
}

#[test]
fn recipients_beyond_the_limit_are_refused() {
    use streamsocket_proto::starttls::{Dialect, MAX_RECIPIENTS};

    let config = ServerSettings {
        max_errors: 1000,
        ..ServerSettings::default()
    };
    let mut server = Server::greeted(Dialect::Smtp, config);
    server.feed(b"EHLO c\r\nMAIL FROM:<a@example>\r\n");
    server.take_replies();
    server.feed(&b"RCPT TO:<b@example>\r\n".repeat(MAX_RECIPIENTS + 5));
    let lines = server.take_lines();
    assert_eq!(lines.len(), MAX_RECIPIENTS + 5);
    assert!(lines[..MAX_RECIPIENTS].iter().all(|l| l.starts_with("250")));
    assert!(
        lines[MAX_RECIPIENTS..].iter().all(|l| l.starts_with("452")),
        "{lines:?}"
    );
}
