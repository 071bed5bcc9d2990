//! STARTTLS injection in both directions (CVE-2011-0411 class).
//!
//! - Response injection against the client: a scripted server plants bytes after its go-ahead,
//!   in the same write (complete lines, or a partial line) or in a later write that reaches the
//!   client after it has started its handshake. The client never hands an injected byte on as
//!   data: the first two fail with `PlaintextAfterGoAhead` before any ClientHello byte is sent,
//!   the third fails the handshake; the scripted server sees no application byte afterwards.
//! - Command injection against the mock server: the same two variants not covered by the mock
//!   server's own tests (a partial line in the STARTTLS write; a command written after the
//!   go-ahead), under each injection policy.

use mockserver::testing::{self, RunningServer};
use mockserver::{MockConfig, SessionEnd};
use streamsocket::proto::starttls::{CloseReason, InjectionPolicy};
use streamsocket::{Dialect, ErrorKind, ProtectionLevel};

use hostile_tests::{
    LINE_DIALECTS, RawPeer, ScriptedServer, control_for, frame, go_ahead, handshake_records_only,
    mock, offer, plain_socket, read_greeting, read_reply, starttls_command, tls_client,
    valid_identity, within,
};

/// Complete reply lines a man in the middle would plant after the go-ahead.
fn injected_lines(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => b"250-INJECTED\r\n250 AUTH PLAIN\r\n",
        Dialect::Imap => b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\nA3 OK injected\r\n",
        Dialect::Nntp => b"101 list\r\nVERSION 2\r\nAUTHINFO USER\r\n.\r\n",
        Dialect::Sieve => b"\"SASL\" \"PLAIN\"\r\nOK\r\n",
        _ => b"+OK INJECTED\r\n",
    }
}

/// The start of a reply line, without its CRLF.
fn injected_partial(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => b"250 AUTH PL",
        Dialect::Imap => b"* CAPABILITY IMAP4rev1",
        Dialect::Nntp => b"101 cap",
        Dialect::Sieve => b"\"SASL\" \"PL",
        _ => b"+OK INJ",
    }
}

/// A scripted server that offers STARTTLS, then writes the go-ahead and `injection` with one
/// `write_all`, and reports what the client sent after its STARTTLS command.
async fn same_write(dialect: Dialect, injection: &'static [u8]) -> ScriptedServer {
    ScriptedServer::start(move |mut peer: RawPeer| async move {
        offer(&mut peer, dialect, true).await?;
        let mut write = go_ahead(dialect).to_vec();
        write.extend_from_slice(injection);
        peer.send(&write).await?;
        peer.drain().await
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn injected_lines_or_a_partial_line_after_the_go_ahead_fail_before_the_handshake() {
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        for injection in [injected_lines(dialect), injected_partial(dialect)] {
            let case = format!("{dialect}, {:?}", String::from_utf8_lossy(injection));
            let server = same_write(dialect, injection).await;
            let mut socket = plain_socket(server.addr(), control_for(&identity))
                .await
                .unwrap();
            let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
                .await
                .unwrap()
                .unwrap_err();
            assert_eq!(
                err.kind(),
                ErrorKind::PlaintextAfterGoAhead,
                "{case}: {err}"
            );
            let streamsocket::Error::PlaintextAfterGoAhead { bytes, .. } = err else {
                unreachable!("the kind says so")
            };
            assert_eq!(
                bytes,
                injection.len(),
                "{case}: every injected byte counted"
            );
            assert_eq!(socket.information().bytes_sent_after_upgrade, 0, "{case}");
            assert_eq!(socket.information().protocol_version, None, "{case}");
            drop(socket);
            // Nothing at all followed the STARTTLS command: no ClientHello, no goodbye (the
            // connection is presumed hijacked), and so certainly no application byte.
            let after = server.finish().await.unwrap();
            assert!(
                !after.contains(&0x16),
                "{case}: a ClientHello byte was sent"
            );
            assert_eq!(after, b"", "{case}: bytes after STARTTLS");
        }
    }
}

#[tokio::test]
async fn injected_bytes_written_after_the_go_ahead_fail_the_handshake() {
    let identity = valid_identity();
    for dialect in hostile_tests::STARTTLS_DIALECTS {
        let injection: &'static [u8] = if dialect == Dialect::Framed {
            // A frame the client might take for the server's reply.
            b"\x00\x00\x00\x08INJECTED"
        } else {
            injected_lines(dialect)
        };
        let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
            if dialect != Dialect::Framed {
                offer(&mut peer, dialect, true).await?;
                peer.send(go_ahead(dialect)).await?;
            }
            // Wait until the client has begun its handshake (the ClientHello's first byte),
            // then plant the bytes where the ServerHello should be.
            peer.until(&[0x16]).await?;
            let mark = peer.received().len() - 1;
            peer.send(injection).await?;
            peer.drain().await?;
            Ok(peer.received()[mark..].to_vec())
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
        // Text where the ServerHello was due is named as plaintext; the frame's binary header
        // is only a failed handshake. Neither is ever read as data.
        let expected = if dialect == Dialect::Framed {
            ErrorKind::HandshakeFailed
        } else {
            ErrorKind::PlaintextInsteadOfTls
        };
        assert_eq!(err.kind(), expected, "{dialect}: {err}");
        assert_eq!(socket.information().protocol_version, None, "{dialect}");
        assert!(socket.capabilities().is_empty(), "{dialect}");
        drop(socket);
        // From the ClientHello on, the client sent TLS handshake records (and maybe an alert),
        // never application data and never plaintext.
        let after = server.finish().await.unwrap();
        let types = handshake_records_only(&after).unwrap_or_else(|e| panic!("{dialect}: {e}"));
        assert_eq!(types.first(), Some(&0x16), "{dialect}");
        assert!(!types.contains(&0x17), "{dialect}: application data sent");
    }
}

#[tokio::test]
async fn a_framed_server_speaking_first_fails_the_handshake() {
    // The framed client starts its handshake at once: bytes the server wrote before it (in the
    // same write as nothing else: the framed dialect has no go-ahead) are read where the
    // ServerHello should be, and refused by rustls.
    let identity = valid_identity();
    let server = ScriptedServer::start(|mut peer: RawPeer| async move {
        peer.send(&frame(b"INJECTED")).await?;
        peer.drain().await
    })
    .await
    .unwrap();
    let mut socket = plain_socket(server.addr(), control_for(&identity))
        .await
        .unwrap();
    let err = within(socket.upgrade_with(Dialect::Framed, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::HandshakeFailed, "{err}");
    drop(socket);
    let sent = server.finish().await.unwrap();
    let types = handshake_records_only(&sent).unwrap();
    assert!(!types.contains(&0x17));
}

/// A command whose reply is distinctive inside TLS (so that answering it is visible), and the
/// start of that reply.
fn probe(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => ("NOOP", "250 "),
        Dialect::Imap => ("X9 NOOP", "X9 OK"),
        Dialect::Nntp => ("MODE READER", "201 "),
        // The tag comes back in the answer (RFC 5804 section 2.14).
        Dialect::Sieve => ("NOOP \"X9\"", "OK (TAG \"X9\")"),
        _ => ("CAPA", "+OK"),
    }
}

/// The capability command, as a raw client sends it.
fn capability(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Smtp => "EHLO raw.test",
        Dialect::Lmtp => "LHLO raw.test",
        Dialect::Imap => "A1 CAPABILITY",
        Dialect::Nntp => "CAPABILITIES",
        Dialect::Sieve => "CAPABILITY",
        _ => "CAPA",
    }
}

fn policy_config(dialect: Dialect, policy: InjectionPolicy) -> MockConfig {
    MockConfig {
        injection_policy: policy,
        ..mock(dialect)
    }
}

/// Reads what a ManageSieve server sends unasked as the first protected bytes: its
/// capabilities again (RFC 5804 section 2.2). Nothing for the other dialects.
async fn skip_unasked<S>(tls: &mut RawPeer<S>, dialect: Dialect)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    if dialect == Dialect::Sieve {
        let caps = read_reply(tls, dialect, false).await.unwrap();
        assert!(caps.last().is_some_and(|l| l.starts_with("OK")), "{caps:?}");
    }
}

/// Greeting and capabilities, as a raw client.
async fn raw_session(dialect: Dialect, server: &RunningServer) -> RawPeer {
    let mut peer = RawPeer::connect(server.addr()).await.unwrap();
    read_greeting(&mut peer, dialect).await.unwrap();
    peer.send(format!("{}\r\n", capability(dialect)).as_bytes())
        .await
        .unwrap();
    read_reply(&mut peer, dialect, true).await.unwrap();
    peer
}

#[tokio::test]
async fn a_partial_command_after_starttls_is_never_completed_inside_tls() {
    // `STARTTLS\r\nNOOP` in one write, then, inside TLS, a lone CRLF: a server that kept the
    // partial line would now read `NOOP` and answer it.
    let identity = valid_identity();
    for policy in [
        InjectionPolicy::Discard,
        InjectionPolicy::Reject,
        InjectionPolicy::Vulnerable,
    ] {
        for dialect in LINE_DIALECTS {
            let case = format!("{dialect}, {policy:?}");
            let server = testing::spawn(policy_config(dialect, policy)).await;
            let mut peer = raw_session(dialect, &server).await;
            let (command, answered) = probe(dialect);
            let mut write = starttls_command(dialect).to_vec();
            write.extend_from_slice(command.as_bytes());
            peer.send(&write).await.unwrap();
            // The go-ahead, or (Reject) the refusal: one line either way.
            let reply = peer.line().await.unwrap();
            if policy == InjectionPolicy::Reject {
                // Refused and closed: nothing answered, no upgrade.
                assert!(
                    ["421 ", "* BYE", "-ERR", "400 ", "BYE "]
                        .iter()
                        .any(|r| reply.starts_with(r)),
                    "{case}: {reply:?}"
                );
                assert_eq!(peer.drain().await.unwrap(), b"", "{case}");
                server.wait_closed(1).await;
                assert_eq!(
                    server.transcripts()[0].end,
                    Some(SessionEnd::Machine(CloseReason::InjectionRejected)),
                    "{case}"
                );
                assert_eq!(server.snapshot().upgrades, 0, "{case}");
                continue;
            }
            assert_eq!(reply.as_bytes(), go_ahead(dialect), "{case}");
            let tcp = peer.into_inner();
            let mut tls = RawPeer::new(tls_client(tcp, &identity).await.unwrap());
            skip_unasked(&mut tls, dialect).await;
            tls.send(b"\r\n").await.unwrap();
            // One line: the answer to the planted command, or the error for an empty line.
            let first = tls.line().await.unwrap();
            let took_injection = first.starts_with(answered);
            match policy {
                InjectionPolicy::Vulnerable => {
                    // The control: this server completes the planted command.
                    assert!(took_injection, "{case}: {first:?}");
                }
                _ => {
                    assert!(!took_injection, "{case}: {first:?}");
                    assert_eq!(
                        server.snapshot().injected_bytes_discarded,
                        command.len() as u64,
                        "{case}"
                    );
                    // The session goes on inside TLS.
                    tls.send(format!("{}\r\n", capability(dialect)).as_bytes())
                        .await
                        .unwrap();
                    let caps = read_reply(&mut tls, dialect, true).await.unwrap();
                    assert!(
                        caps.iter().any(|l| l.contains("OK")
                            || l.starts_with("250")
                            || l.starts_with("101")),
                        "{case}: {caps:?}"
                    );
                }
            }
            server.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_command_written_after_the_go_ahead_lands_in_the_handshake_and_is_never_answered() {
    // The honest order of a man in the middle: wait for the go-ahead, then write a command
    // before the client's ClientHello. An honest server has handed the connection to rustls by
    // then, under `Discard` and `Reject`: the command is a broken record, the handshake fails,
    // nothing is answered. The control: a `Vulnerable` server reads on to the ClientHello (a
    // CVE-2011-0411 server with a read-ahead buffer), and answers the command inside TLS.
    let identity = valid_identity();
    for policy in [
        InjectionPolicy::Discard,
        InjectionPolicy::Reject,
        InjectionPolicy::Vulnerable,
    ] {
        for dialect in LINE_DIALECTS {
            let case = format!("{dialect}, {policy:?}");
            let server = testing::spawn(policy_config(dialect, policy)).await;
            let mut peer = raw_session(dialect, &server).await;
            peer.send(starttls_command(dialect)).await.unwrap();
            let go = read_reply(&mut peer, dialect, false).await.unwrap();
            assert_eq!(go.concat().as_bytes(), go_ahead(dialect), "{case}");
            let (command, answered) = probe(dialect);
            peer.send(format!("{command}\r\n").as_bytes())
                .await
                .unwrap();
            let tcp = peer.into_inner();
            if policy == InjectionPolicy::Vulnerable {
                let mut tls = RawPeer::new(tls_client(tcp, &identity).await.unwrap());
                skip_unasked(&mut tls, dialect).await;
                let first = tls.line().await.unwrap();
                assert!(first.starts_with(answered), "{case}: {first:?}");
                server.shutdown().await;
                continue;
            }
            assert!(tls_client(tcp, &identity).await.is_err(), "{case}");
            server.wait_closed(1).await;
            let transcript = &server.transcripts()[0];
            assert!(
                matches!(transcript.end, Some(SessionEnd::HandshakeFailed(_))),
                "{case}: {:?}",
                transcript.end
            );
            assert_eq!(server.snapshot().handshakes_ok, 0, "{case}");
            server.shutdown().await;
        }
    }
}

#[tokio::test]
async fn a_go_ahead_split_across_writes_with_bytes_after_its_end_fails_before_the_handshake() {
    // The go-ahead's line end and the injection arrive together in a second write: however
    // the reads fall, the bytes after the line end are seen before the handshake starts.
    let identity = valid_identity();
    for dialect in LINE_DIALECTS {
        let server = ScriptedServer::start(move |mut peer: RawPeer| async move {
            offer(&mut peer, dialect, true).await?;
            let go = go_ahead(dialect);
            let (head, tail) = go.split_at(go.len() - 2);
            peer.send(head).await?;
            let mut rest = tail.to_vec();
            rest.extend_from_slice(injected_lines(dialect));
            peer.send(&rest).await?;
            peer.drain().await
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
        assert_eq!(
            err.kind(),
            ErrorKind::PlaintextAfterGoAhead,
            "{dialect}: {err}"
        );
        drop(socket);
        assert_eq!(server.finish().await.unwrap(), b"", "{dialect}");
    }
}
