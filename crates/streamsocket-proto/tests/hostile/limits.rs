//! The error limit (issue 7, item 6): after the configured number of bad commands the server
//! closes the session; another session is unaffected.

use streamsocket_proto::starttls::{CloseReason, ServerConfig, ServerEvent};

use crate::support::{LINE_DIALECTS, Server, is_error_line, probe};

#[test]
fn the_error_limit_closes_after_n_bad_commands_and_only_that_session() {
    for dialect in LINE_DIALECTS {
        for max_errors in [1, 3, 20] {
            let what = format!("{dialect} max_errors={max_errors}");
            let config = ServerConfig {
                max_errors,
                ..ServerConfig::default()
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
        let config = ServerConfig {
            max_errors: 3,
            ..ServerConfig::default()
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
