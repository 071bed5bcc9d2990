//! The STARTTLS behaviours in every line dialect, and the byte-level ones after a go-ahead.

use mockserver::{Behaviour, LegacyVersion, MockConfig, Phase, Refusal, SessionEnd, testing};
use proto::starttls::Dialect;
use testpki::{KeyKind, Scenario};
use tokio::io::AsyncReadExt;

use crate::dialect::{
    LINE_DIALECTS, capability_command, command, greeting, is_ok, offers_starttls, starttls_command,
};
use crate::support::{
    client_config, client_hello, connect, read_line, read_to_eof, send, tls, within,
};

fn config(dialect: Dialect, behaviour: Behaviour) -> MockConfig {
    let mut config = testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256);
    config.behaviour = behaviour;
    config
}

#[tokio::test]
async fn starttls_not_advertised_is_neither_offered_nor_accepted() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(config(d, Behaviour::StartTlsNotAdvertised)).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        let caps = command(d, &mut tcp, capability_command(d)).await;
        assert!(
            is_ok(d, &caps) && !offers_starttls(d, &caps),
            "{d}: {caps:?}"
        );
        let answer = command(d, &mut tcp, starttls_command(d)).await;
        assert!(!is_ok(d, &answer), "{d}: {answer:?}");
        assert_eq!(server.snapshot().upgrades, 0);
    }
}

#[tokio::test]
async fn starttls_refused_is_offered_then_refused_and_nothing_follows_in_plaintext() {
    let nonsense = "Ready when you are";
    for (d, refusal, answer) in [
        (Dialect::Smtp, Refusal::Temporary, "454 4.7.0"),
        (Dialect::Smtp, Refusal::Syntax, "501 5.5.4"),
        (Dialect::Smtp, Refusal::Permanent, "554 5.7.3"),
        (Dialect::Smtp, Refusal::Nonsense, nonsense),
        (Dialect::Lmtp, Refusal::Temporary, "454 4.7.0"),
        (Dialect::Lmtp, Refusal::Permanent, "554 5.7.3"),
        (Dialect::Nntp, Refusal::Temporary, "580 "),
        (Dialect::Nntp, Refusal::Syntax, "501 "),
        (Dialect::Nntp, Refusal::Permanent, "502 "),
        (Dialect::Imap, Refusal::Temporary, "A2 NO"),
        (Dialect::Imap, Refusal::Syntax, "A2 BAD"),
        (Dialect::Imap, Refusal::Nonsense, nonsense),
        (Dialect::Pop3, Refusal::Temporary, "-ERR"),
        (Dialect::Pop3, Refusal::Nonsense, nonsense),
    ] {
        let server = testing::spawn(config(d, Behaviour::StartTlsRefused(refusal))).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        let caps = command(d, &mut tcp, capability_command(d)).await;
        assert!(offers_starttls(d, &caps), "{d}: {caps:?}");
        // The nonsense line is no reply the dialect's reader could end on: read one line.
        send(&mut tcp, format!("{}\r\n", starttls_command(d)).as_bytes()).await;
        let line = read_line(&mut tcp).await;
        assert!(line.starts_with(answer), "{d} {refusal:?}: {line:?}");
        // A correct client hangs up here.
        drop(tcp);
        server.wait_closed(1).await;
        let transcript = &server.transcripts()[0];
        let marker = format!("{}\r\n", starttls_command(d));
        assert_eq!(
            transcript.plaintext_after(marker.as_bytes()),
            Some(0),
            "{d}"
        );
        assert_eq!(transcript.bytes(Phase::Tls), b"");
        assert_eq!(server.snapshot().upgrades, 0);
    }
}

#[tokio::test]
async fn tls_required_refuses_commands_until_the_upgrade() {
    for (d, cmd, refusal) in [
        (Dialect::Smtp, "MAIL FROM:<a@client.test>", "530"),
        (Dialect::Lmtp, "MAIL FROM:<a@client.test>", "530"),
        (Dialect::Nntp, "HELP", "483"),
        (Dialect::Imap, "A3 LOGIN user secret", "A3 NO"),
        (Dialect::Pop3, "USER user", "-ERR"),
    ] {
        let server = testing::spawn(config(d, Behaviour::TlsRequired)).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        let caps = command(d, &mut tcp, capability_command(d)).await;
        if d == Dialect::Imap {
            assert!(caps.iter().any(|l| l.contains("LOGINDISABLED")), "{caps:?}");
        }
        let refused = command(d, &mut tcp, cmd).await;
        assert!(
            refused.last().unwrap().starts_with(refusal),
            "{d}: {refused:?}"
        );
        assert!(is_ok(d, &command(d, &mut tcp, starttls_command(d)).await));
        let mut stream = tls(tcp, client_config(&server.config().identity))
            .await
            .unwrap();
        if d.is_smtp_like() {
            command(d, &mut stream, capability_command(d)).await;
        }
        if d == Dialect::Pop3 {
            let caps = command(d, &mut stream, "CAPA").await;
            assert!(caps.iter().any(|l| l == "USER\r\n"), "{caps:?}");
        }
        let accepted = command(d, &mut stream, cmd).await;
        assert!(is_ok(d, &accepted), "{d}: {accepted:?}");
    }
}

#[tokio::test]
async fn response_injection_appends_plaintext_to_the_go_ahead() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(config(d, Behaviour::ResponseInjection)).await;
        let mut tcp = connect(server.addr()).await;
        greeting(d, &mut tcp).await;
        command(d, &mut tcp, capability_command(d)).await;
        let go = command(d, &mut tcp, starttls_command(d)).await;
        assert!(is_ok(d, &go), "{d}: {go:?}");
        let injected = mockserver::injected_response(d);
        let mut extra = vec![0u8; injected.len()];
        within(tcp.read_exact(&mut extra)).await.unwrap();
        assert_eq!(extra, injected, "{d}");
    }
}

#[tokio::test]
async fn preauth_greets_authenticated_and_refuses_starttls() {
    let d = Dialect::Imap;
    let server = testing::spawn(config(d, Behaviour::Preauth)).await;
    let mut tcp = connect(server.addr()).await;
    assert!(read_line(&mut tcp).await.starts_with("* PREAUTH"));
    let answer = command(d, &mut tcp, starttls_command(d)).await;
    assert!(!is_ok(d, &answer), "{answer:?}");
}

/// Plaintext up to the go-ahead, then a real ClientHello; returns what came back before EOF.
async fn after_go_ahead(d: Dialect, behaviour: Behaviour) -> (Vec<u8>, Option<SessionEnd>) {
    let server = testing::spawn(config(d, behaviour)).await;
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    assert!(is_ok(d, &command(d, &mut tcp, starttls_command(d)).await));
    send(&mut tcp, &client_hello(&server.config().identity)).await;
    let answer = read_to_eof(&mut tcp).await;
    server.wait_closed(1).await;
    (answer, server.transcripts()[0].end)
}

#[tokio::test]
async fn byte_level_behaviours_act_after_the_go_ahead_in_every_line_dialect() {
    for d in LINE_DIALECTS {
        let (answer, _) = after_go_ahead(d, Behaviour::LegacyOnly(LegacyVersion::Tls11)).await;
        assert_eq!(answer, [0x15, 3, 2, 0, 2, 2, 70], "{d}");
        let (answer, _) = after_go_ahead(d, Behaviour::GarbageInsteadOfServerHello).await;
        assert!(!answer.is_empty() && answer[0] != 0x16, "{d}");
        let (answer, reason) = after_go_ahead(d, Behaviour::CloseMidHandshake).await;
        assert_eq!(answer, b"", "{d}");
        assert_eq!(
            reason,
            Some(SessionEnd::Behaviour(Behaviour::CloseMidHandshake))
        );
    }
}

#[tokio::test(start_paused = true)]
async fn stall_after_go_ahead_in_a_line_dialect_times_out() {
    let (answer, reason) = after_go_ahead(Dialect::Smtp, Behaviour::StallAfterGoAhead).await;
    assert_eq!(answer, b"");
    assert_eq!(reason, Some(SessionEnd::HandshakeTimeout));
}
