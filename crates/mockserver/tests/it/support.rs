//! The client side the tests share: a rustls client, frame helpers, bounded reads.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Every await on the network is bounded by this, so a broken server fails the test instead
/// of hanging it. Never asserted on.
pub(crate) const LONG: Duration = Duration::from_secs(20);

/// The provider the server uses too, pinned.
pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A client that trusts what `identity` says a client must trust.
pub(crate) fn client_config(identity: &testpki::ServerIdentity) -> ClientConfig {
    client_config_versions(identity, rustls::DEFAULT_VERSIONS)
}

/// As [`client_config`], offering only `versions`.
pub(crate) fn client_config_versions(
    identity: &testpki::ServerIdentity,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> ClientConfig {
    let mut roots = RootCertStore::empty();
    for ca in &identity.trust_anchors {
        roots.add(ca.clone()).unwrap();
    }
    ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(versions)
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Runs the client handshake over `io` for `localhost`.
pub(crate) async fn tls<IO>(io: IO, config: ClientConfig) -> std::io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    tls_arc(io, Arc::new(config)).await
}

/// As [`tls`], with a shared config (for resumption).
pub(crate) async fn tls_arc<IO>(io: IO, config: Arc<ClientConfig>) -> std::io::Result<TlsStream<IO>>
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let name = ServerName::try_from("localhost").unwrap();
    within(TlsConnector::from(config).connect(name, io)).await
}

/// Awaits `fut`, failing the test after [`LONG`].
pub(crate) async fn within<T>(fut: impl Future<Output = T>) -> T {
    tokio::time::timeout(LONG, fut)
        .await
        .expect("the server did not answer in time")
}

/// The seed's frame: 4-byte big-endian length, then the UTF-8 payload.
pub(crate) fn frame(payload: &str) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload.as_bytes());
    out
}

/// Reads one frame.
pub(crate) async fn read_frame(io: &mut (impl AsyncRead + Unpin)) -> String {
    let mut len = [0u8; 4];
    within(io.read_exact(&mut len)).await.unwrap();
    let mut payload = vec![0u8; u32::from_be_bytes(len) as usize];
    within(io.read_exact(&mut payload)).await.unwrap();
    String::from_utf8(payload).unwrap()
}

/// Reads until EOF (a reset counts as EOF), returning what arrived.
pub(crate) async fn read_to_eof(io: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match within(io.read(&mut buf)).await {
            Ok(0) | Err(_) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Reads one CRLF-terminated line (byte by byte: simple and exact).
pub(crate) async fn read_line(io: &mut (impl AsyncRead + Unpin)) -> String {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        let n = within(io.read(&mut byte)).await.unwrap();
        assert_ne!(
            n,
            0,
            "eof in the middle of a line: {:?}",
            String::from_utf8_lossy(&line)
        );
        line.push(byte[0]);
    }
    String::from_utf8(line).unwrap()
}

/// Writes `data` and flushes.
pub(crate) async fn send(io: &mut (impl AsyncWrite + Unpin), data: &[u8]) {
    within(io.write_all(data)).await.unwrap();
    within(io.flush()).await.unwrap();
}

/// A complete ClientHello record, as a real client would send it.
pub(crate) fn client_hello(identity: &testpki::ServerIdentity) -> Vec<u8> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut conn = rustls::ClientConnection::new(Arc::new(client_config(identity)), name).unwrap();
    let mut out = Vec::new();
    while conn.wants_write() {
        conn.write_tls(&mut out).unwrap();
    }
    out
}

/// Connects to the server.
pub(crate) async fn connect(addr: std::net::SocketAddr) -> TcpStream {
    within(TcpStream::connect(addr)).await.unwrap()
}

/// Reads one SMTP reply (all lines of a multi-line reply).
pub(crate) async fn smtp_reply(io: &mut (impl AsyncRead + Unpin)) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let line = read_line(io).await;
        let last = line.as_bytes().get(3) != Some(&b'-');
        lines.push(line);
        if last {
            return lines;
        }
    }
}
