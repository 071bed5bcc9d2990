//! The catalogue's expectations hold: a strict scripted client, run against every entry,
//! reaches exactly the outcome the manifest promises.

use std::time::Duration;

use mockserver::catalogue::{self, Entry, ErrorClass, Expect};
use mockserver::testing;
use proto::starttls::Dialect;
use rustls::AlertDescription;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::certificates::{acceptable, verifying_client};
use crate::dialect::{
    capability_command, command, greeting, is_ok, offers_starttls, sieve_reply, starttls_command,
};
use crate::support::{connect, frame, read_frame};

/// How long the client waits for a handshake before calling it stalled; the servers here
/// stall for longer (their default handshake timeout), so the client's timer decides. The
/// clock is paused, so time moves only when every task waits: no honest handshake, however
/// slow the machine, can hit this.
const CLIENT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the scripted client concluded.
#[derive(Debug)]
enum Outcome {
    Succeeded,
    Failed(ErrorClass),
}

async fn run_client(entry: &Entry, server: &testing::RunningServer) -> Outcome {
    let d = entry.dialect;
    let mut tcp = connect(server.addr()).await;
    if d == Dialect::Mysql {
        let (seq, payload) = mysql_packet(&mut tcp).await;
        assert_eq!(seq, 0, "{}", entry.name);
        // An ERR packet, or no HandshakeV10 at all, is no invitation to TLS.
        if payload.first() != Some(&10) {
            return Outcome::Failed(ErrorClass::StartTlsRefused);
        }
        // The lower capability flags follow the NUL-terminated version, 4 + 8 bytes and a
        // filler; CLIENT_SSL is 0x0800.
        let nul = payload.iter().position(|&b| b == 0).unwrap();
        if payload[nul + 1 + 4 + 8 + 1 + 1] & 0x08 == 0 {
            return Outcome::Failed(ErrorClass::StartTlsNotOffered);
        }
        let mut extra = [0u8; 64];
        if tcp.try_read(&mut extra).is_ok_and(|n| n > 0) {
            return Outcome::Failed(ErrorClass::PlaintextAfterGoAhead);
        }
        tcp.write_all(&mysql_request(1, false)).await.unwrap();
    }
    if d.is_line_based() {
        let hello = greeting(d, &mut tcp).await;
        if hello.first().is_some_and(|l| l.starts_with("* PREAUTH")) {
            return Outcome::Failed(ErrorClass::Preauth);
        }
        let caps = command(d, &mut tcp, capability_command(d)).await;
        if !offers_starttls(d, &caps) {
            return Outcome::Failed(ErrorClass::StartTlsNotOffered);
        }
        if !is_ok(d, &command(d, &mut tcp, starttls_command(d)).await) {
            return Outcome::Failed(ErrorClass::StartTlsRefused);
        }
        // Anything already waiting after the go-ahead came in the same write: injected.
        let mut extra = [0u8; 64];
        if tcp.try_read(&mut extra).is_ok_and(|n| n > 0) {
            return Outcome::Failed(ErrorClass::PlaintextAfterGoAhead);
        }
    }
    if d == Dialect::Postgres {
        // The SSLRequest; one byte answers it, `S` alone being the go-ahead.
        tcp.write_all(&[0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])
            .await
            .unwrap();
        let mut answer = [0u8; 1];
        tcp.read_exact(&mut answer).await.unwrap();
        if answer != *b"S" {
            return Outcome::Failed(ErrorClass::StartTlsRefused);
        }
        let mut extra = [0u8; 64];
        if tcp.try_read(&mut extra).is_ok_and(|n| n > 0) {
            return Outcome::Failed(ErrorClass::PlaintextAfterGoAhead);
        }
    }
    handshake(entry, tcp, server).await
}

async fn handshake(entry: &Entry, tcp: TcpStream, server: &testing::RunningServer) -> Outcome {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let config = verifying_client(&server.config().identity);
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let result = tokio::time::timeout(CLIENT_HANDSHAKE_TIMEOUT, connector.connect(name, tcp)).await;
    let mut stream = match result {
        Err(_) => return Outcome::Failed(ErrorClass::HandshakeTimeout),
        Ok(Err(err)) => {
            let tls = err
                .get_ref()
                .and_then(|e| e.downcast_ref::<rustls::Error>());
            return Outcome::Failed(match tls {
                Some(rustls::Error::InvalidCertificate(cert)) => {
                    let class = proto::cert::classify(cert);
                    let expected = match entry.error_class {
                        Some(ErrorClass::Certificate(e)) if acceptable(e).contains(&class) => e,
                        _ => panic!("{}: unexpected certificate error {cert:?}", entry.name),
                    };
                    ErrorClass::Certificate(expected)
                }
                // The old server's alert, or its ServerHello of an old version refused here.
                Some(
                    rustls::Error::AlertReceived(AlertDescription::ProtocolVersion)
                    | rustls::Error::PeerIncompatible(
                        rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13,
                    ),
                ) => ErrorClass::ProtocolVersion,
                _ => ErrorClass::HandshakeFailed,
            });
        }
        Ok(Ok(stream)) => stream,
    };
    // One round trip inside TLS.
    match entry.dialect {
        Dialect::Framed | Dialect::Implicit => {
            stream.write_all(&frame("ping")).await.unwrap();
            assert_eq!(read_frame(&mut stream).await, "ping", "{}", entry.name);
        }
        Dialect::Postgres => {
            // A StartupMessage (protocol 3.0, user "u"): AuthenticationOk, ReadyForQuery.
            let startup = [
                0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
            ];
            stream.write_all(&startup[..]).await.unwrap();
            let mut reply = [0u8; 15];
            stream.read_exact(&mut reply).await.unwrap();
            assert_eq!(reply, *b"R\0\0\0\x08\0\0\0\0Z\0\0\0\x05I", "{}", entry.name);
        }
        Dialect::Mysql => {
            // The HandshakeResponse41 at sequence 2; the mock's OK comes at 3.
            stream.write_all(&mysql_request(2, true)).await.unwrap();
            let (seq, payload) = mysql_packet(&mut stream).await;
            assert_eq!((seq, payload.first()), (3, Some(&0)), "{}", entry.name);
        }
        d => {
            if d == Dialect::Sieve {
                // RFC 5804 section 2.2: the capabilities again, unasked, without STARTTLS.
                let unasked = sieve_reply(&mut stream).await;
                assert!(is_ok(d, &unasked), "{}: {unasked:?}", entry.name);
                assert!(!offers_starttls(d, &unasked), "{}: {unasked:?}", entry.name);
            }
            let caps = command(d, &mut stream, capability_command(d)).await;
            assert!(is_ok(d, &caps), "{}: {caps:?}", entry.name);
        }
    }
    Outcome::Succeeded
}

/// One MySQL packet: its sequence id and payload (at most 1 KiB here).
async fn mysql_packet(io: &mut (impl tokio::io::AsyncRead + Unpin)) -> (u8, Vec<u8>) {
    let mut header = [0u8; 4];
    io.read_exact(&mut header).await.unwrap();
    let len = usize::from(header[0]) | usize::from(header[1]) << 8 | usize::from(header[2]) << 16;
    assert!(len <= 1024, "packet of {len} bytes");
    let mut payload = vec![0u8; len];
    io.read_exact(&mut payload).await.unwrap();
    (header[3], payload)
}

/// The SSLRequest (flags with CLIENT_SSL and CLIENT_PROTOCOL_41, 16 MiB, charset 33, 23 zero
/// bytes) at sequence `seq`, followed by a user name and an empty auth response when `login`.
fn mysql_request(seq: u8, login: bool) -> Vec<u8> {
    let mut payload = vec![0x85, 0xae, 0x7f, 0x00, 0x00, 0x00, 0x00, 0x01, 0x21];
    payload.extend_from_slice(&[0; 23]);
    if login {
        payload.extend_from_slice(b"u\0\0");
    }
    let mut packet = vec![payload.len() as u8, 0, 0, seq];
    packet.extend_from_slice(&payload);
    packet
}

#[tokio::test(start_paused = true)]
async fn a_strict_client_gets_what_every_entry_promises() {
    let mut runs = tokio::task::JoinSet::new();
    for entry in catalogue::entries() {
        runs.spawn(async move {
            let server = testing::spawn(entry.config().unwrap()).await;
            let outcome = run_client(&entry, &server).await;
            (entry, outcome)
        });
    }
    let mut checked = 0;
    while let Some(run) = runs.join_next().await {
        let (entry, outcome) = run.unwrap();
        match (entry.expect, &outcome) {
            (Expect::Succeed, Outcome::Succeeded) => {}
            (Expect::Fail, Outcome::Failed(class)) => {
                assert_eq!(Some(*class), entry.error_class, "{}", entry.name);
            }
            _ => panic!(
                "{}: expected {:?} {:?}, got {outcome:?}",
                entry.name, entry.expect, entry.error_class
            ),
        }
        checked += 1;
    }
    assert_eq!(checked, catalogue::entries().len());
}
