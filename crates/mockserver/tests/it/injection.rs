//! Command injection (CVE-2011-0411 class): one write holding the STARTTLS command and a
//! further command, under each policy, in each line dialect.

use mockserver::{MockConfig, SessionEnd, testing};
use proto::starttls::{CloseReason, Dialect, InjectionPolicy};
use testpki::{KeyKind, Scenario};

use crate::dialect::{
    LINE_DIALECTS, capability_command, command, greeting, is_ok, reply, starttls_command,
};
use crate::support::{client_config, connect, read_line, read_to_eof, send, tls};

/// The pipelined command and the start of its reply if it were processed.
fn injected(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Smtp | Dialect::Lmtp => ("NOOP", "250 "),
        Dialect::Imap => ("A3 NOOP", "A3 OK"),
        Dialect::Nntp => ("HELP", "100 "),
        Dialect::Ftp => ("NOOP", "200 "),
        Dialect::Irc => ("PING :injected", ":mock.streamsocket.test PONG"),
        _ => ("PASS evil", "-ERR"),
    }
}

fn config(dialect: Dialect, policy: InjectionPolicy) -> MockConfig {
    let mut config = testing::config(dialect, Scenario::Valid, KeyKind::EcdsaP256);
    config.injection_policy = policy;
    config
}

/// Greeting and capabilities, then STARTTLS and the injected command in one write.
async fn inject(d: Dialect, server: &testing::RunningServer) -> tokio::net::TcpStream {
    let mut tcp = connect(server.addr()).await;
    greeting(d, &mut tcp).await;
    command(d, &mut tcp, capability_command(d)).await;
    let (cmd, _) = injected(d);
    send(
        &mut tcp,
        format!("{}\r\n{cmd}\r\n", starttls_command(d)).as_bytes(),
    )
    .await;
    tcp
}

#[tokio::test]
async fn discard_drops_and_counts_the_injected_command() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(config(d, InjectionPolicy::Discard)).await;
        let mut tcp = inject(d, &server).await;
        let go = reply(d, &mut tcp, starttls_command(d)).await;
        assert!(is_ok(d, &go), "{d}: {go:?}");
        let mut stream = tls(tcp, client_config(&server.config().identity))
            .await
            .unwrap();
        // The first reply inside TLS answers our command, not the injected one.
        let caps = command(d, &mut stream, capability_command(d)).await;
        let (cmd, processed) = injected(d);
        assert!(!caps[0].starts_with(processed), "{d}: {caps:?}");
        assert!(is_ok(d, &caps), "{d}: {caps:?}");
        assert_eq!(
            server.snapshot().injected_bytes_discarded,
            cmd.len() as u64 + 2,
            "{d}"
        );
    }
}

#[tokio::test]
async fn reject_closes_without_upgrading() {
    for (d, rejection) in [
        (Dialect::Smtp, "421 "),
        (Dialect::Imap, "* BYE"),
        (Dialect::Pop3, "-ERR"),
    ] {
        let server = testing::spawn(config(d, InjectionPolicy::Reject)).await;
        let mut tcp = inject(d, &server).await;
        let answer = String::from_utf8(read_to_eof(&mut tcp).await).unwrap();
        assert!(answer.starts_with(rejection), "{d}: {answer:?}");
        server.wait_closed(1).await;
        assert_eq!(
            server.transcripts()[0].end,
            Some(SessionEnd::Machine(CloseReason::InjectionRejected))
        );
        assert_eq!(server.snapshot().upgrades, 0);
    }
}

#[tokio::test]
async fn vulnerable_processes_the_injected_command_inside_tls() {
    for d in LINE_DIALECTS {
        let server = testing::spawn(config(d, InjectionPolicy::Vulnerable)).await;
        let mut tcp = inject(d, &server).await;
        let go = reply(d, &mut tcp, starttls_command(d)).await;
        assert!(is_ok(d, &go), "{d}: {go:?}");
        let mut stream = tls(tcp, client_config(&server.config().identity))
            .await
            .unwrap();
        // Unasked, the server answers the command it took as protected.
        let (_, processed) = injected(d);
        let line = read_line(&mut stream).await;
        assert!(line.starts_with(processed), "{d}: {line:?}");
        assert_eq!(server.snapshot().injected_bytes_discarded, 0);
    }
}
