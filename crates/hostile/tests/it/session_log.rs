//! What the mock server's session log says about the real client: an honest STARTTLS session, a
//! stripped and a refused STARTTLS (the client stops, and the log shows it never went on in
//! plaintext), and a plaintext-only session, each read back through `SessionRecord`.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mockserver::session_log::{self, SessionLog, SessionRecord};
use mockserver::testing::{self, RunningServer};
use mockserver::{Behaviour, SessionEnd, Stats};
use streamsocket::proto::starttls::{CloseReason, EhloName};
use streamsocket::{Dialect, ErrorKind, ProtectionLevel, TlsVersion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use hostile_tests::{control_for, mock, plain_socket, within};

/// A writer the test reads back: what the server logged so far.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A mock server of `dialect` with `behaviour`, logging into the returned buffer.
async fn logged(dialect: Dialect, behaviour: Behaviour) -> (RunningServer, Buffer) {
    let buffer = Buffer::default();
    let mut config = mock(dialect);
    config.behaviour = behaviour;
    let log = Arc::new(SessionLog::new(buffer.clone()));
    let server = testing::spawn_with_stats(config, Stats::with_session_log(log)).await;
    (server, buffer)
}

/// The one record of the server's one session, once it has ended.
async fn only_record(server: &RunningServer, buffer: &Buffer) -> SessionRecord {
    within(server.wait_closed(1)).await.unwrap();
    let bytes = buffer.0.lock().unwrap().clone();
    let records = session_log::read(&bytes[..]).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    records.into_iter().next().unwrap()
}

fn ehlo() -> String {
    format!("EHLO {}", EhloName::default())
}

#[tokio::test]
async fn an_honest_upgrade_is_logged_with_what_the_client_offered_and_got() {
    let (server, buffer) = logged(Dialect::Smtp, Behaviour::Honest).await;
    let mut socket = plain_socket(server.addr(), control_for(&server.config().identity))
        .await
        .unwrap();
    within(socket.upgrade_with(Dialect::Smtp, ProtectionLevel::Ssl, "localhost"))
        .await
        .unwrap()
        .unwrap();
    socket.close(Duration::from_secs(5)).await.unwrap();
    let info = socket.information().clone();

    let record = only_record(&server, &buffer).await;
    assert_eq!(record.plaintext.commands, [ehlo(), "STARTTLS".to_owned()]);
    assert_eq!(record.peer, info.local_address.unwrap());
    assert!(record.starttls && record.handshake);
    let tls = record.tls.as_ref().unwrap();
    assert_eq!(tls.version, Some(TlsVersion::Tls13));
    assert_eq!(tls.version, info.protocol_version);
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    let hello = record.client_hello.as_ref().unwrap();
    assert_eq!(hello.versions, ["TLSv1.3", "TLSv1.2"]);
    assert!(hello.weak_cipher_suites.is_empty(), "{hello:?}");
    assert_eq!(record.injected_bytes_discarded, 0);
    // The server's wire counts are the client's, the other way round, except the server's own
    // close_notify: the record is written before the server closes (a TLS 1.3 alert record is
    // 5 header bytes, the 2-byte alert, the content type and a 16-byte tag).
    let client_sent = info.bytes_sent_before_upgrade + info.bytes_sent_after_upgrade;
    let client_received = info.bytes_received_before_upgrade + info.bytes_received_after_upgrade;
    assert_eq!(record.bytes_received, client_sent);
    assert_eq!(record.bytes_sent + 24, client_received);
    assert_eq!(record.end, SessionEnd::Machine(CloseReason::Eof));
}

#[tokio::test]
async fn a_stripped_or_refused_starttls_is_logged_as_no_tls_and_no_plaintext_after_it() {
    for (dialect, behaviour, kind, last) in [
        (
            Dialect::Smtp,
            Behaviour::StartTlsNotAdvertised,
            ErrorKind::StartTlsNotOffered,
            "QUIT",
        ),
        (
            Dialect::Imap,
            Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
            ErrorKind::StartTlsRefused,
            "STARTTLS",
        ),
    ] {
        let (server, buffer) = logged(dialect, behaviour).await;
        let mut socket = plain_socket(server.addr(), control_for(&server.config().identity))
            .await
            .unwrap();
        let err = within(socket.upgrade_with(dialect, ProtectionLevel::Ssl, "localhost"))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{dialect}");
        drop(socket);

        let record = only_record(&server, &buffer).await;
        let commands = &record.plaintext.commands;
        assert!(
            !record.starttls && !record.handshake,
            "{dialect}: {record:?}"
        );
        assert_eq!(
            (&record.tls, &record.client_hello),
            (&None, &None),
            "{dialect}"
        );
        // Stripped: the client never asked. Refused: it asked, then sent at most a goodbye.
        let asked = commands.iter().any(|c| c.ends_with("STARTTLS"));
        assert_eq!(
            asked,
            behaviour == Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
            "{commands:?}"
        );
        let after: Vec<_> = commands
            .iter()
            .skip_while(|c| !c.ends_with(last))
            .skip(1)
            .filter(|c| !c.ends_with("LOGOUT") && !c.ends_with("QUIT"))
            .collect();
        assert!(after.is_empty(), "{dialect}: {commands:?}");
        assert!(commands.iter().any(|c| c.ends_with(last)), "{commands:?}");
    }
}

#[tokio::test]
async fn a_plaintext_only_session_is_logged_command_by_command() {
    let (server, buffer) = logged(Dialect::Pop3, Behaviour::Honest).await;
    let mut socket = plain_socket(server.addr(), control_for(&server.config().identity))
        .await
        .unwrap();
    let sent = b"CAPA\r\nUSER me\xff\r\nQUIT\r\n";
    within(socket.write_all(sent)).await.unwrap().unwrap();
    within(socket.flush()).await.unwrap().unwrap();
    let mut replies = Vec::new();
    within(socket.read_to_end(&mut replies))
        .await
        .unwrap()
        .unwrap();

    let record = only_record(&server, &buffer).await;
    assert_eq!(record.plaintext.commands, ["CAPA", "USER me\\xff", "QUIT"]);
    assert_eq!(record.plaintext.bytes, sent.len() as u64);
    assert_eq!(record.bytes_received, sent.len() as u64);
    assert_eq!(record.bytes_sent, replies.len() as u64);
    assert!(!record.starttls && !record.handshake && record.tls.is_none());
    assert_eq!(record.end, SessionEnd::Machine(CloseReason::Quit));
}
