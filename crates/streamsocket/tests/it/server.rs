//! A small loopback TLS server for the tests: one listener, a fixed number of connections, each
//! played in one `Mode`; it records every plaintext byte it receives before TLS.

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedProtocolVersion};
use testpki::{KeyKind, Pki, Scenario, ServerIdentity};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// What the server does with each connection.
#[derive(Clone, Debug)]
pub(crate) enum Mode {
    /// TLS from the first byte; echo until close_notify, then send close_notify.
    Echo,
    /// Read exactly this many plaintext bytes, then TLS and echo (the raw upgrade).
    PlainThenTls(usize),
    /// TLS, send these bytes, then close TCP without close_notify.
    Truncate(Vec<u8>),
    /// Accept TCP and read, but never answer.
    Silent,
    /// TLS, then write these bytes and a close_notify, then wait for the client to finish.
    SendThenClose(Vec<u8>),
    /// An SMTP server that takes this long before each reply to EHLO and STARTTLS, in
    /// plaintext and inside TLS (the greeting comes at once).
    SlowSmtp(std::time::Duration),
}

/// How the server is set up.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    pub(crate) scenario: Scenario,
    pub(crate) key_kind: KeyKind,
    pub(crate) versions: &'static [&'static SupportedProtocolVersion],
    pub(crate) kx_groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
    pub(crate) client_auth: bool,
    pub(crate) alpn: Vec<Vec<u8>>,
    pub(crate) mode: Mode,
    pub(crate) connections: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            scenario: Scenario::Valid,
            key_kind: KeyKind::EcdsaP256,
            versions: rustls::ALL_VERSIONS,
            kx_groups: None,
            client_auth: false,
            alpn: Vec::new(),
            mode: Mode::Echo,
            connections: 1,
        }
    }
}

/// What happened on one connection.
#[derive(Clone, Debug, Default)]
pub(crate) struct Record {
    /// Every byte received before the TLS handshake began.
    pub(crate) plaintext: Vec<u8>,
    /// Whether the handshake completed.
    pub(crate) tls_established: bool,
    /// The server's handshake error, if any.
    pub(crate) tls_error: Option<String>,
    /// Whether the client sent a certificate.
    pub(crate) client_cert_presented: bool,
    /// Whether the echo ended with the client's close_notify (not an error).
    pub(crate) clean_close: bool,
}

/// A running test server.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) identity: ServerIdentity,
    task: JoinHandle<Vec<Record>>,
}

impl TestServer {
    pub(crate) async fn start(options: Options) -> Self {
        let pki = Pki::shared(options.key_kind);
        let identity = pki
            .server(options.scenario)
            .expect("testpki issues every scenario");
        let provider = rustls::crypto::aws_lc_rs::default_provider();
        let provider = match &options.kx_groups {
            Some(groups) => rustls::crypto::CryptoProvider {
                kx_groups: groups.clone(),
                ..provider
            },
            None => provider,
        };
        let provider = Arc::new(provider);
        let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(options.versions)
            .expect("versions are supported");
        let builder = if options.client_auth {
            let mut roots = RootCertStore::empty();
            roots.add(pki.client_ca_der()).expect("client CA parses");
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .expect("client verifier builds");
            builder.with_client_cert_verifier(verifier)
        } else {
            builder.with_no_client_auth()
        };
        let mut config = builder
            .with_single_cert(identity.chain.clone(), identity.key.clone_key())
            .expect("server key matches");
        config.alpn_protocols = options.alpn.clone();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let task = tokio::spawn(async move {
            // Connections are served side by side; records come back in accept order.
            let mut handles = Vec::new();
            for _ in 0..options.connections {
                let Ok((tcp, _)) = listener.accept().await else {
                    break;
                };
                let acceptor = acceptor.clone();
                let mode = options.mode.clone();
                handles.push(tokio::spawn(
                    async move { serve(tcp, &acceptor, &mode).await },
                ));
            }
            let mut records = Vec::new();
            for handle in handles {
                records.push(handle.await.expect("a connection task does not panic"));
            }
            records
        });
        Self {
            addr,
            identity,
            task,
        }
    }

    pub(crate) fn port(&self) -> String {
        self.addr.port().to_string()
    }

    /// Waits for every connection to finish and returns what happened on each.
    pub(crate) async fn records(self) -> Vec<Record> {
        self.task.await.expect("server task does not panic")
    }
}

async fn serve(mut tcp: TcpStream, acceptor: &TlsAcceptor, mode: &Mode) -> Record {
    let mut record = Record::default();
    match mode {
        Mode::Silent => {
            let mut buf = [0u8; 4096];
            while let Ok(n) = tcp.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                record.plaintext.extend_from_slice(&buf[..n]);
            }
            return record;
        }
        Mode::PlainThenTls(len) => {
            let mut plain = vec![0u8; *len];
            if tcp.read_exact(&mut plain).await.is_err() {
                return record;
            }
            record.plaintext = plain;
        }
        Mode::SlowSmtp(delay) => {
            let _ = tcp.write_all(b"220 slow.example ESMTP\r\n").await;
            for reply in [
                &b"250-slow.example\r\n250 STARTTLS\r\n"[..],
                b"220 go ahead\r\n",
            ] {
                if read_line(&mut tcp, &mut record.plaintext).await.is_err() {
                    return record;
                }
                tokio::time::sleep(*delay).await;
                let _ = tcp.write_all(reply).await;
            }
        }
        _ => {}
    }
    let mut tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(err) => {
            record.tls_error = Some(err.to_string());
            return record;
        }
    };
    record.tls_established = true;
    record.client_cert_presented = tls.get_ref().1.peer_certificates().is_some();
    match mode {
        Mode::Truncate(bytes) => {
            let _ = tls.write_all(bytes).await;
            let _ = tls.flush().await;
            // Drop the TLS state and close TCP without close_notify.
            let (mut tcp, _) = tls.into_inner();
            let _ = tcp.shutdown().await;
        }
        Mode::SlowSmtp(delay) => {
            let mut inside = Vec::new();
            if read_line(&mut tls, &mut inside).await.is_ok() {
                tokio::time::sleep(*delay).await;
                let _ = tls.write_all(b"250 slow.example\r\n").await;
                let _ = tls.flush().await;
                let mut rest = Vec::new();
                record.clean_close = tls.read_to_end(&mut rest).await.is_ok();
            }
        }
        Mode::SendThenClose(bytes) => {
            let _ = tls.write_all(bytes).await;
            let _ = tls.shutdown().await;
            let mut rest = Vec::new();
            let _ = tls.read_to_end(&mut rest).await;
        }
        _ => {
            let (mut reader, mut writer) = tokio::io::split(tls);
            record.clean_close = tokio::io::copy(&mut reader, &mut writer).await.is_ok();
            let _ = writer.shutdown().await;
        }
    }
    record
}

/// Reads one CRLF-terminated line into `into`, byte by byte (bounded at 1 KiB).
async fn read_line(io: &mut (impl AsyncRead + Unpin), into: &mut Vec<u8>) -> std::io::Result<()> {
    for _ in 0..1024 {
        let byte = io.read_u8().await?;
        into.push(byte);
        if into.ends_with(b"\r\n") {
            return Ok(());
        }
    }
    Err(std::io::ErrorKind::InvalidData.into())
}
