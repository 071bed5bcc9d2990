//! SMTP (RFC 3207): the honest session, upgrade and post-TLS commands.

use mockserver::{Phase, SessionEnd, testing};
use proto::starttls::{CloseReason, Dialect};
use testpki::{KeyKind, Scenario};

use crate::support::{client_config, connect, read_to_eof, send, smtp_reply, tls};

#[tokio::test]
async fn honest_session_upgrades_resets_and_accepts_mail_inside_tls() {
    let server = testing::spawn(testing::config(
        Dialect::Smtp,
        Scenario::Valid,
        KeyKind::EcdsaP256,
    ))
    .await;
    let mut tcp = connect(server.addr()).await;
    assert!(smtp_reply(&mut tcp).await[0].starts_with("220 "));
    send(&mut tcp, b"EHLO client.test\r\n").await;
    let caps = smtp_reply(&mut tcp).await;
    assert!(caps.iter().any(|l| l[4..].trim() == "STARTTLS"), "{caps:?}");
    send(&mut tcp, b"STARTTLS\r\n").await;
    assert!(smtp_reply(&mut tcp).await[0].starts_with("220 "));

    let mut stream = tls(tcp, client_config(&server.config().identity))
        .await
        .unwrap();
    // No greeting inside TLS; EHLO again, and STARTTLS is no longer offered.
    send(&mut stream, b"EHLO client.test\r\n").await;
    let caps = smtp_reply(&mut stream).await;
    assert!(caps[0].starts_with("250"), "{caps:?}");
    assert!(!caps.iter().any(|l| l.contains("STARTTLS")), "{caps:?}");
    send(&mut stream, b"STARTTLS\r\n").await;
    let again = smtp_reply(&mut stream).await;
    assert!(
        again[0].starts_with('5'),
        "a second STARTTLS must be refused: {again:?}"
    );
    for (command, code) in [
        (&b"NOOP\r\n"[..], "250"),
        (b"MAIL FROM:<a@client.test>\r\n", "250"),
        (b"RCPT TO:<b@mock.test>\r\n", "250"),
        (b"DATA\r\n", "354"),
        (b"Subject: hi\r\n\r\nbody\r\n.\r\n", "250"),
        (b"RSET\r\n", "250"),
        (b"QUIT\r\n", "221"),
    ] {
        send(&mut stream, command).await;
        let reply = smtp_reply(&mut stream).await;
        assert!(
            reply[0].starts_with(code),
            "{:?}: {reply:?}",
            String::from_utf8_lossy(command)
        );
    }
    assert_eq!(read_to_eof(&mut stream).await, b"");
    server.wait_closed(1).await;

    let stats = server.snapshot();
    assert_eq!(
        (stats.upgrades, stats.handshakes_ok, stats.mails),
        (1, 1, 1)
    );
    let transcript = &server.transcripts()[0];
    assert_eq!(
        transcript.bytes(Phase::Plaintext),
        b"EHLO client.test\r\nSTARTTLS\r\n"
    );
    assert!(
        transcript
            .bytes(Phase::Tls)
            .starts_with(b"EHLO client.test\r\nSTARTTLS\r\nNOOP")
    );
    assert_eq!(transcript.end, Some(SessionEnd::Machine(CloseReason::Quit)));
}
