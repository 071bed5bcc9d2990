//! Every line dialect's honest session: greeting, capabilities, upgrade, the session starting
//! over inside TLS, a refused second STARTTLS, commands, and the goodbye.

use mockserver::{Phase, SessionEnd, testing};
use proto::starttls::{CloseReason, Dialect};
use testpki::{KeyKind, Scenario};

use crate::dialect::{
    LINE_DIALECTS, capability_command, command, greeting, is_ok, offers_starttls, starttls_command,
    upgrade,
};
use crate::support::{client_config, connect, read_to_eof, send, tls};

fn server_config(dialect: Dialect) -> mockserver::MockConfig {
    testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256)
}

#[tokio::test]
async fn imap_honest_session() {
    let d = Dialect::Imap;
    let server = testing::spawn(server_config(d)).await;
    let mut stream = upgrade(d, connect(server.addr()).await, &server.config().identity).await;
    let caps = command(d, &mut stream, "A3 CAPABILITY").await;
    assert!(is_ok(d, &caps) && !offers_starttls(d, &caps), "{caps:?}");
    assert!(
        !caps.iter().any(|l| l.contains("LOGINDISABLED")),
        "{caps:?}"
    );
    let again = command(d, &mut stream, "A4 STARTTLS").await;
    assert!(again.last().unwrap().starts_with("A4 BAD"), "{again:?}");
    assert!(is_ok(
        d,
        &command(d, &mut stream, "A5 LOGIN user secret").await
    ));
    assert!(is_ok(d, &command(d, &mut stream, "A6 NOOP").await));
    let bye = command(d, &mut stream, "A7 LOGOUT").await;
    assert!(bye[0].starts_with("* BYE") && is_ok(d, &bye), "{bye:?}");
    assert_eq!(read_to_eof(&mut stream).await, b"");
    server.wait_closed(1).await;
    let transcript = &server.transcripts()[0];
    assert_eq!(
        transcript.bytes(Phase::Plaintext),
        b"A1 CAPABILITY\r\nA2 STARTTLS\r\n"
    );
    assert_eq!(transcript.end, Some(SessionEnd::Machine(CloseReason::Quit)));
}

#[tokio::test]
async fn pop3_honest_session() {
    let d = Dialect::Pop3;
    let server = testing::spawn(server_config(d)).await;
    let mut stream = upgrade(d, connect(server.addr()).await, &server.config().identity).await;
    let caps = command(d, &mut stream, "CAPA").await;
    assert!(is_ok(d, &caps) && !offers_starttls(d, &caps), "{caps:?}");
    assert!(command(d, &mut stream, "STLS").await[0].starts_with("-ERR"));
    assert!(is_ok(d, &command(d, &mut stream, "USER user").await));
    assert!(is_ok(d, &command(d, &mut stream, "PASS secret").await));
    assert!(is_ok(d, &command(d, &mut stream, "STAT").await));
    assert!(is_ok(d, &command(d, &mut stream, "QUIT").await));
    assert_eq!(read_to_eof(&mut stream).await, b"");
    server.wait_closed(1).await;
    assert_eq!(
        server.transcripts()[0].bytes(Phase::Plaintext),
        b"CAPA\r\nSTLS\r\n"
    );
}

#[tokio::test]
async fn pre_tls_state_is_forgotten_after_the_upgrade() {
    // SMTP: EHLO and MAIL FROM before TLS do not count inside it.
    let d = Dialect::Smtp;
    let server = testing::spawn(server_config(d)).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    assert!(is_ok(
        d,
        &command(d, &mut tcp, "MAIL FROM:<a@client.test>").await
    ));
    assert!(is_ok(d, &command(d, &mut tcp, starttls_command(d)).await));
    let mut stream = tls(tcp, client_config(&server.config().identity))
        .await
        .unwrap();
    let rcpt = command(d, &mut stream, "RCPT TO:<b@mock.test>").await;
    assert!(rcpt[0].starts_with("503"), "{rcpt:?}");

    // POP3: USER before TLS does not count inside it.
    let d = Dialect::Pop3;
    let server = testing::spawn(server_config(d)).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    assert!(is_ok(d, &command(d, &mut tcp, "USER user").await));
    assert!(is_ok(d, &command(d, &mut tcp, starttls_command(d)).await));
    let mut stream = tls(tcp, client_config(&server.config().identity))
        .await
        .unwrap();
    assert!(command(d, &mut stream, "PASS secret").await[0].starts_with("-ERR"));
}

#[tokio::test]
async fn every_line_dialect_upgrades_with_every_key_kind() {
    for d in LINE_DIALECTS {
        for key in KeyKind::ALL {
            let server = testing::spawn(testing::config(d, Scenario::Valid, key)).await;
            let mut stream =
                upgrade(d, connect(server.addr()).await, &server.config().identity).await;
            let caps = command(d, &mut stream, capability_command(d)).await;
            assert!(
                is_ok(d, &caps) && !offers_starttls(d, &caps),
                "{d} {key}: {caps:?}"
            );
            let quit = if d == Dialect::Imap {
                "A9 LOGOUT"
            } else {
                "QUIT"
            };
            send(&mut stream, format!("{quit}\r\n").as_bytes()).await;
            read_to_eof(&mut stream).await;
            server.wait_closed(1).await;
            let stats = server.snapshot();
            assert_eq!((stats.upgrades, stats.handshakes_ok), (1, 1), "{d} {key}");
        }
    }
}
