//! STARTTLS stripping: a server (or a man in the middle) that does not offer STARTTLS, refuses
//! it with each reply the RFCs name, answers it with nonsense, or pre-authenticates (IMAP).
//! The client, which demanded TLS, sends no further byte except an optional QUIT or LOGOUT;
//! the assertion is on everything the scripted server received after that point.
//!
//! Contract checked here: **the client never sends the STARTTLS command when the capability
//! is missing** (SMTP EHLO keywords, IMAP CAPABILITY, POP3 CAPA; a POP3 server that refuses
//! CAPA counts as not offering STLS, RFC 2595 section 4). It fails with `StartTlsNotOffered`
//! after the capability reply and says goodbye.

use streamsocket::{Dialect, ErrorKind, ProtectionLevel};

use hostile_tests::{
    RawPeer, ScriptedServer, control_for, goodbye, greeting, offer, plain_socket, valid_identity,
    within,
};

/// What the scripted server does instead of an honest upgrade.
#[derive(Clone, Copy, Debug)]
enum Strip {
    /// Greeting, then a capability reply without STARTTLS.
    NotOffered,
    /// Greeting, then this answer to the capability command.
    CapabilityReply(&'static str),
    /// Greeting and capabilities with STARTTLS, then this answer to STARTTLS.
    Answer(&'static str),
    /// This greeting, nothing else.
    Greeting(&'static str),
}

/// Plays `strip` and returns the client's error kind and every byte the client sent after the
/// point where it had to stop.
async fn run(dialect: Dialect, strip: Strip) -> (ErrorKind, String, Vec<u8>) {
    let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
        match strip {
            Strip::NotOffered => offer(&mut peer, dialect, false).await?,
            Strip::CapabilityReply(reply) => {
                peer.send(greeting(dialect, "scripted.test").as_bytes())
                    .await?;
                peer.line().await?;
                peer.send(reply.as_bytes()).await?;
            }
            Strip::Answer(reply) => {
                offer(&mut peer, dialect, true).await?;
                peer.send(reply.as_bytes()).await?;
            }
            Strip::Greeting(line) => peer.send(line.as_bytes()).await?,
        }
        peer.drain().await
    })
    .await
    .unwrap();
    let mut socket = plain_socket(server.addr(), control_for(&valid_identity()))
        .await
        .unwrap();
    let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(socket.information().protocol_version, None);
    assert_eq!(socket.information().bytes_sent_after_upgrade, 0);
    drop(socket);
    let after = server.finish().await.unwrap();
    (err.kind(), err.to_string(), after)
}

/// Asserts that `after` is nothing, or the dialect's goodbye, and in particular no STARTTLS
/// command and no TLS byte.
fn only_goodbye(dialect: Dialect, case: &str, after: &[u8]) {
    assert!(
        after.is_empty() || after == goodbye(dialect),
        "{dialect}, {case}: the client sent {:?}",
        String::from_utf8_lossy(after)
    );
}

#[tokio::test]
async fn a_missing_starttls_capability_gets_no_starttls_command() {
    for dialect in hostile_tests::LINE_DIALECTS {
        let (kind, message, after) = run(dialect, Strip::NotOffered).await;
        assert_eq!(kind, ErrorKind::StartTlsNotOffered, "{dialect}: {message}");
        only_goodbye(dialect, "not offered", &after);
        // The client says goodbye (quit_on_failure is on by default).
        assert_eq!(after, goodbye(dialect), "{dialect}");
    }
    // A POP3 server without CAPA: STLS cannot be known to be offered.
    let (kind, message, after) = run(
        Dialect::Pop3,
        Strip::CapabilityReply("-ERR unknown command\r\n"),
    )
    .await;
    assert_eq!(kind, ErrorKind::StartTlsNotOffered, "{message}");
    only_goodbye(Dialect::Pop3, "no CAPA", &after);
}

#[tokio::test]
async fn every_refusal_the_rfcs_name_ends_the_session_in_plaintext() {
    let cases: &[(Dialect, &str)] = &[
        // RFC 3207 section 4: 454 TLS not available, 501 syntax error; RFC 5321: 500, 502,
        // 503 bad sequence, 530 (RFC 3207, in reply to other commands), 554, and 421 (closing).
        (
            Dialect::Smtp,
            "454 4.7.0 TLS not available due to temporary reason\r\n",
        ),
        (
            Dialect::Smtp,
            "501 5.5.4 Syntax error (no parameters allowed)\r\n",
        ),
        (Dialect::Smtp, "500 5.5.2 Command not recognized\r\n"),
        (Dialect::Smtp, "502 5.5.1 Command not implemented\r\n"),
        (Dialect::Smtp, "503 5.5.1 Bad sequence of commands\r\n"),
        (
            Dialect::Smtp,
            "530 5.7.0 Must issue a STARTTLS command first\r\n",
        ),
        (
            Dialect::Smtp,
            "554 5.7.3 Unable to initialize security subsystem\r\n",
        ),
        (
            Dialect::Smtp,
            "421 4.3.2 Service not available, closing channel\r\n",
        ),
        (
            Dialect::Smtp,
            "454-4.7.0 TLS not available\r\n454 4.7.0 try later\r\n",
        ),
        // RFC 3501 section 6.2.1: NO (TLS not available), BAD (command unknown or invalid).
        (Dialect::Imap, "A2 NO TLS not available\r\n"),
        (
            Dialect::Imap,
            "A2 BAD command unknown or arguments invalid\r\n",
        ),
        (Dialect::Imap, "* 3 EXISTS\r\nA2 NO [UNAVAILABLE] later\r\n"),
        // RFC 2595 section 4: -ERR.
        (Dialect::Pop3, "-ERR TLS not available\r\n"),
        (
            Dialect::Pop3,
            "-ERR [SYS/TEMP] command not permitted now\r\n",
        ),
    ];
    for &(dialect, reply) in cases {
        let (kind, message, after) = run(dialect, Strip::Answer(reply)).await;
        assert_eq!(
            kind,
            ErrorKind::StartTlsRefused,
            "{dialect} {reply:?}: {message}"
        );
        only_goodbye(dialect, reply, &after);
    }
}

#[tokio::test]
async fn a_nonsense_answer_to_starttls_ends_the_session_in_plaintext() {
    let cases: &[(Dialect, &str)] = &[
        (Dialect::Smtp, "hello there\r\n"),
        (Dialect::Smtp, "999 what\r\n"),
        (Dialect::Smtp, "220-go ahead\r\n250 changed my mind\r\n"),
        (Dialect::Smtp, "\u{16}\u{3}\u{1}\0\u{5}hello\r\n"),
        (Dialect::Smtp, "2200 Ready\r\n"),
        (Dialect::Imap, "A2 MAYBE later\r\n"),
        (Dialect::Imap, "B7 OK Begin TLS negotiation now\r\n"),
        (Dialect::Imap, "+ go ahead\r\n"),
        (Dialect::Imap, "* BYE not today\r\n"),
        (Dialect::Imap, "A2\r\n"),
        (Dialect::Pop3, "YES\r\n"),
        (Dialect::Pop3, "\r\n"),
        (Dialect::Pop3, "OK Begin TLS\r\n"),
    ];
    for &(dialect, reply) in cases {
        let (kind, message, after) = run(dialect, Strip::Answer(reply)).await;
        assert!(
            matches!(kind, ErrorKind::Protocol | ErrorKind::StartTlsRefused),
            "{dialect} {reply:?}: {kind}: {message}"
        );
        only_goodbye(dialect, reply, &after);
        assert!(!after.contains(&0x16), "{dialect} {reply:?}");
    }
}

#[tokio::test]
async fn an_imap_preauth_greeting_gets_nothing_but_logout() {
    for greeting in [
        "* PREAUTH IMAP4rev1 server logged in as Smith\r\n",
        "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] logged in\r\n",
        "* preauth lower case\r\n",
    ] {
        let (kind, message, after) = run(Dialect::Imap, Strip::Greeting(greeting)).await;
        assert_eq!(
            kind,
            ErrorKind::StartTlsNotOffered,
            "{greeting:?}: {message}"
        );
        assert!(message.contains("PREAUTH"), "{message}");
        only_goodbye(Dialect::Imap, greeting, &after);
    }
}

#[tokio::test]
async fn a_greeting_that_refuses_service_ends_the_session_in_plaintext() {
    for (dialect, line) in [
        (Dialect::Smtp, "554 5.3.2 no service here\r\n"),
        (Dialect::Smtp, "421 4.3.2 too busy\r\n"),
        (Dialect::Imap, "* BYE too busy\r\n"),
        (Dialect::Pop3, "-ERR too busy\r\n"),
    ] {
        let (kind, message, after) = run(dialect, Strip::Greeting(line)).await;
        assert!(
            matches!(kind, ErrorKind::Protocol | ErrorKind::StartTlsRefused),
            "{dialect} {line:?}: {kind}: {message}"
        );
        only_goodbye(dialect, line, &after);
    }
}
