//! Nothing is lost at the seams of the upgrade: what the server sends inside TLS right after
//! the reply that ends the client's post-TLS exchange (an IMAP server's unsolicited untagged
//! data, a POP3, NNTP, SMTP or ManageSieve server's next line) reaches the application.

use streamsocket::{Dialect, ProtectionLevel};
use tokio::io::AsyncReadExt;

use hostile_tests::{
    LINE_DIALECTS, RawPeer, ScriptedServer, control_for, go_ahead, offer, plain_socket,
    tls_acceptor, valid_identity, within,
};

/// The post-TLS capability reply, with `extra` in the same write.
fn post_tls_reply(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => (
            "250-scripted\r\n250 SIZE 1000\r\n",
            "421 4.3.2 going down now\r\n",
        ),
        Dialect::Imap => (
            "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK done\r\n",
            "* 5 EXISTS\r\n",
        ),
        Dialect::Nntp => ("101 list\r\nVERSION 2\r\n.\r\n", "400 going down now\r\n"),
        // Sent unasked (RFC 5804 section 2.2).
        Dialect::Sieve => (
            "\"IMPLEMENTATION\" \"scripted\"\r\nOK\r\n",
            "BYE \"going down now\"\r\n",
        ),
        _ => ("+OK\r\nUSER\r\n.\r\n", "-ERR going down now\r\n"),
    }
}

#[tokio::test]
async fn data_right_after_the_post_tls_capabilities_reaches_the_application() {
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        let acceptor = tls_acceptor(&identity);
        let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
            offer(&mut peer, dialect, true).await?;
            peer.send(go_ahead(dialect)).await?;
            let mut inside = RawPeer::new(within(acceptor.accept(peer.into_inner())).await??);
            // The client asks again, but for ManageSieve, whose server speaks first.
            if dialect != Dialect::Sieve {
                inside.line().await?;
            }
            let (reply, extra) = post_tls_reply(dialect);
            // One write, hence one TLS record: the client reads both at once.
            inside.send(format!("{reply}{extra}").as_bytes()).await?;
            inside.drain().await
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
        let (_, extra) = post_tls_reply(dialect);
        let mut got = vec![0u8; extra.len()];
        within(socket.read_exact(&mut got)).await.unwrap().unwrap();
        assert_eq!(String::from_utf8_lossy(&got), extra, "{dialect}");
        drop(socket);
        server.finish().await.unwrap();
    }
}

#[tokio::test]
async fn a_server_that_closes_inside_tls_before_its_capabilities_fails_the_upgrade() {
    let identity = valid_identity();
    for (dialect, clean) in [
        (Dialect::Smtp, true),
        (Dialect::Lmtp, false),
        (Dialect::Imap, false),
        (Dialect::Pop3, true),
        (Dialect::Nntp, true),
        (Dialect::Sieve, false),
        (Dialect::Sieve, true),
    ] {
        let acceptor = tls_acceptor(&identity);
        let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
            offer(&mut peer, dialect, true).await?;
            peer.send(go_ahead(dialect)).await?;
            let mut tls = within(acceptor.accept(peer.into_inner())).await??;
            if clean {
                // close_notify, then FIN.
                within(tokio::io::AsyncWriteExt::shutdown(&mut tls)).await??;
            } else {
                let (mut tcp, _) = tls.into_inner();
                within(tokio::io::AsyncWriteExt::shutdown(&mut tcp)).await??;
            }
            Ok(Vec::new())
        })
        .await
        .unwrap();
        let mut socket = plain_socket(server.addr(), control_for(&identity))
            .await
            .unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        let expected = if clean {
            streamsocket::ErrorKind::Protocol
        } else {
            streamsocket::ErrorKind::Truncated
        };
        assert_eq!(err.kind(), expected, "{dialect}: {err}");
        // The message says where it happened: after the handshake, not before the go-ahead.
        assert!(
            !err.to_string().contains("before the STARTTLS go-ahead"),
            "{dialect}: {err}"
        );
        assert!(socket.capabilities().is_empty(), "{dialect}");
        server.finish().await.unwrap();
    }
}
