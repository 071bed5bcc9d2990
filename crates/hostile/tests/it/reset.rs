//! State after the upgrade: nothing learnt in plaintext survives on either side, a second
//! STARTTLS inside TLS is refused, and the name the client validates is always the caller's,
//! never one the server announced.

use mockserver::MockConfig;
use mockserver::stats::Phase;
use mockserver::testing;
use streamsocket::{Dialect, ErrorKind, ProtectionLevel};
use testpki::{KeyKind, Scenario, WRONG_HOST};

use hostile_tests::{
    LINE_DIALECTS, RawPeer, ScriptedServer, control_for, go_ahead, greeting, harmless, mock,
    plain_socket, positive, read_greeting, read_reply, starttls_command, tls_acceptor, tls_client,
    valid_identity, within,
};

/// Capability replies that differ before and after TLS, with untagged noise before it.
fn pre_and_post(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => (
            "250-scripted\r\n250-PRE-ONLY\r\n250 STARTTLS\r\n",
            "250-scripted\r\n250 POST-ONLY\r\n",
        ),
        Dialect::Nntp => (
            "101 list\r\nVERSION 2\r\nSTARTTLS\r\nPRE-ONLY\r\n.\r\n",
            "101 list\r\nVERSION 2\r\nPOST-ONLY\r\n.\r\n",
        ),
        // The greeting itself, and what the server re-sends unasked inside TLS.
        Dialect::Sieve => (
            "\"IMPLEMENTATION\" \"x\"\r\n\"STARTTLS\"\r\n\"PRE-ONLY\"\r\nOK\r\n",
            "\"IMPLEMENTATION\" \"x\"\r\n\"POST-ONLY\"\r\nOK\r\n",
        ),
        Dialect::Imap => (
            "* 1 EXISTS\r\n* CAPABILITY IMAP4rev1 STARTTLS PRE-ONLY\r\n* OK [ALERT] noise\r\nA1 OK done\r\n",
            "* CAPABILITY IMAP4rev1 POST-ONLY\r\nA3 OK done\r\n",
        ),
        _ => (
            "+OK\r\nUSER\r\nSTLS\r\nPRE-ONLY\r\n.\r\n",
            "+OK\r\nUSER\r\nPOST-ONLY\r\n.\r\n",
        ),
    }
}

#[tokio::test]
async fn the_client_forgets_plaintext_capabilities_and_asks_again_inside_tls() {
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        let acceptor = tls_acceptor(&identity);
        let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
            let (pre, post) = pre_and_post(dialect);
            if dialect != Dialect::Sieve {
                peer.send(greeting(dialect, "scripted.test").as_bytes())
                    .await?;
                peer.line().await?;
            }
            peer.send(pre.as_bytes()).await?;
            peer.line().await?;
            peer.send(go_ahead(dialect)).await?;
            let tls = within(acceptor.accept(peer.into_inner())).await??;
            let mut inside = RawPeer::new(tls);
            if dialect != Dialect::Sieve {
                inside.line().await?;
            }
            inside.send(post.as_bytes()).await?;
            inside.drain().await?;
            Ok(inside.received().to_vec())
        })
        .await
        .unwrap();
        let mut socket = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap();
        let caps = socket.capabilities().to_vec();
        assert!(caps.iter().any(|c| c == "POST-ONLY"), "{dialect}: {caps:?}");
        assert!(
            !caps
                .iter()
                .any(|c| c == "PRE-ONLY" || c == "STARTTLS" || c == "STLS"),
            "{dialect}: plaintext capabilities survived: {caps:?}"
        );
        drop(socket);
        // Inside TLS the client asked again, first thing; a ManageSieve client asked nothing
        // and waited for what the server re-sends unasked.
        let inside = String::from_utf8(server.finish().await.unwrap()).unwrap();
        let asked = match dialect {
            Dialect::Smtp => "EHLO ",
            Dialect::Lmtp => "LHLO ",
            Dialect::Imap => "A3 CAPABILITY\r\n",
            Dialect::Nntp => "CAPABILITIES\r\n",
            Dialect::Sieve => "",
            _ => "CAPA\r\n",
        };
        assert!(inside.starts_with(asked), "{dialect}: {inside:?}");
        if dialect == Dialect::Sieve {
            assert_eq!(inside, "", "{dialect}");
        }
    }
}

/// Raw plaintext commands that set session state, the upgrade, then a command inside TLS that
/// would succeed only if that state had survived, and the reply it must get instead.
fn state_probe(dialect: Dialect) -> (&'static [&'static str], &'static str, &'static str) {
    match dialect {
        Dialect::Smtp => (&["EHLO before.test"], "MAIL FROM:<a@example.test>", "503 "),
        Dialect::Lmtp => (&["LHLO before.test"], "MAIL FROM:<a@example.test>", "503 "),
        // A password is out of sequence once the user name is forgotten (RFC 4643 2.3).
        Dialect::Nntp => (&["AUTHINFO USER alice"], "AUTHINFO PASS secret", "482 "),
        // Only the capability list again, read past the one re-sent unasked: no STARTTLS.
        Dialect::Sieve => (&["CAPABILITY"], "CAPABILITY", "\"IMPLEMENTATION\""),
        // The server's IMAP state before TLS is only the capability list; check that the list
        // inside TLS no longer offers STARTTLS.
        Dialect::Imap => (&["A1 CAPABILITY"], "A5 CAPABILITY", "* CAPABILITY"),
        _ => (&["CAPA", "USER alice"], "PASS secret", "-ERR"),
    }
}

#[tokio::test]
async fn the_mock_server_forgets_the_plaintext_session_after_the_upgrade() {
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let mut peer = RawPeer::connect(server.addr()).await.unwrap();
        read_greeting(&mut peer, dialect).await.unwrap();
        let (before, probe, expected) = state_probe(dialect);
        for command in before {
            peer.send(format!("{command}\r\n").as_bytes())
                .await
                .unwrap();
            let list = *command == "CAPA";
            let reply = read_reply(&mut peer, dialect, list).await.unwrap();
            assert!(
                !reply.concat().contains("-ERR") && !reply.concat().starts_with('5'),
                "{dialect}: {reply:?}"
            );
        }
        peer.send(starttls_command(dialect)).await.unwrap();
        assert_eq!(peer.line().await.unwrap().as_bytes(), go_ahead(dialect));
        let mut inside = RawPeer::new(tls_client(peer.into_inner(), &identity).await.unwrap());
        if dialect == Dialect::Sieve {
            // The capabilities re-sent unasked (RFC 5804 section 2.2), without STARTTLS.
            let unasked = read_reply(&mut inside, dialect, false).await.unwrap();
            assert!(!unasked.concat().contains("STARTTLS"), "{unasked:?}");
        }
        inside
            .send(format!("{probe}\r\n").as_bytes())
            .await
            .unwrap();
        let reply = read_reply(&mut inside, dialect, false).await.unwrap();
        assert!(reply[0].starts_with(expected), "{dialect}: {reply:?}");
        let text = reply.concat();
        assert!(
            !text.contains("STARTTLS") && !text.contains("STLS"),
            "{dialect}: {reply:?}"
        );
        server.shutdown().await;
    }
}

/// A second STARTTLS command inside TLS, and the start of the refusal each dialect gives.
fn second_starttls(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => ("STARTTLS", "554 "),
        Dialect::Imap => ("A9 STARTTLS", "A9 BAD"),
        Dialect::Nntp => ("STARTTLS", "502 "),
        Dialect::Sieve => ("STARTTLS", "NO "),
        _ => ("STLS", "-ERR"),
    }
}

#[tokio::test]
async fn a_second_starttls_inside_tls_is_refused_on_both_sides() {
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let mut socket = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap();

        // The client refuses to upgrade twice, sends nothing for it, and stays usable.
        for err in [
            within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
                .await
                .unwrap()
                .unwrap_err(),
            within(socket.upgrade_to_ssl(ProtectionLevel::Ssl, "localhost"))
                .await
                .unwrap()
                .unwrap_err(),
        ] {
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{dialect}: {err}");
        }
        assert!(socket.failure().is_none(), "{dialect}");

        // The server refuses a STARTTLS sent inside TLS, and the session goes on.
        let mut inside = RawPeer::new(socket);
        let (command, refusal) = second_starttls(dialect);
        inside
            .send(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
        let reply = read_reply(&mut inside, dialect, false).await.unwrap();
        assert!(reply[0].starts_with(refusal), "{dialect}: {reply:?}");
        // POP3 allows NOOP only once authenticated; CAPA always.
        inside.send(harmless(dialect)).await.unwrap();
        let reply = read_reply(&mut inside, dialect, true).await.unwrap();
        assert!(
            positive(dialect, &reply[0]) || (dialect == Dialect::Imap && reply[0].contains("OK")),
            "{dialect}: {reply:?}"
        );
        let socket = inside.into_inner();
        assert!(socket.failure().is_none(), "{dialect}");
        drop(socket);
        server.wait_closed(1).await;
        // Inside TLS the server saw the client's CAPABILITY/EHLO/CAPA, our STARTTLS and NOOP:
        // nothing from the refused client-side upgrades.
        let tls = server.transcripts()[0].bytes(Phase::Tls);
        let starttls_count = String::from_utf8_lossy(&tls)
            .lines()
            .filter(|l| l.contains("STARTTLS") || l.trim() == "STLS")
            .count();
        assert_eq!(
            starttls_count,
            1,
            "{dialect}: {:?}",
            String::from_utf8_lossy(&tls)
        );
        server.shutdown().await;
    }
}

fn announcing(dialect: Dialect, scenario: Scenario) -> MockConfig {
    MockConfig {
        // The greeting (and SMTP's EHLO reply) name another host.
        hostname: WRONG_HOST.to_owned(),
        ..testing::config(dialect, scenario, KeyKind::EcdsaP256)
    }
}

#[tokio::test]
async fn the_validation_name_is_the_callers_whatever_the_banner_says() {
    for dialect in LINE_DIALECTS {
        // A certificate for the caller's name: accepted, and the SNI is the caller's name.
        let server = testing::spawn(announcing(dialect, Scenario::Valid)).await;
        let identity = server.config().identity.clone();
        let mut socket = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap();
        let info = socket.information();
        assert_eq!(info.server_name_indication.as_deref(), Some("localhost"));
        assert!(info.server_certificate_errors.is_empty(), "{dialect}");
        drop(socket);
        server.shutdown().await;

        // A certificate valid only for the host the banner names: refused as the wrong name,
        // however often the server repeats it.
        let server = testing::spawn(announcing(dialect, Scenario::WrongHost)).await;
        let identity = server.config().identity.clone();
        let mut socket = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(
            err.kind(),
            ErrorKind::CertificateCommonNameIsIncorrect,
            "{dialect}: {err}"
        );
        assert_eq!(
            socket.information().server_name_indication.as_deref(),
            Some("localhost")
        );
        server.shutdown().await;
    }
}

#[tokio::test]
async fn imap_capabilities_from_the_greeting_are_forgotten_too() {
    let identity = valid_identity();
    let acceptor = tls_acceptor(&identity);
    let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
        peer.send(b"* OK [CAPABILITY IMAP4rev1 STARTTLS PRE-ONLY] ready\r\n* 2 EXISTS\r\n")
            .await?;
        // The greeting offered STARTTLS, so the client skips A1 CAPABILITY.
        let command = peer.line().await?;
        assert_eq!(command, "A2 STARTTLS\r\n");
        peer.send(go_ahead(Dialect::Imap)).await?;
        let mut inside = RawPeer::new(within(acceptor.accept(peer.into_inner())).await??);
        inside.line().await?;
        inside
            .send(b"* CAPABILITY IMAP4rev1 POST-ONLY\r\nA3 OK done\r\n")
            .await?;
        inside.drain().await
    })
    .await
    .unwrap();
    let mut socket = plain_socket(server.addr(), control_for(&identity))
        .await
        .unwrap();
    within(socket.upgrade_with(Dialect::Imap, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(socket.capabilities(), ["IMAP4rev1", "POST-ONLY"]);
    drop(socket);
    server.finish().await.unwrap();
}
