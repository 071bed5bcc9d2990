//! A loopback TLS echo server for the crate documentation's examples (included by the doc tests;
//! not a test target of its own). It accepts one connection, optionally reads one plaintext frame
//! (u32 big-endian length + payload) first, then runs TLS and echoes until close_notify.

use std::io;
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Starts the server; returns its port and the root certificate that signed its chain.
pub async fn spawn(frame_first: bool) -> io::Result<(u16, CertificateDer<'static>)> {
    let pki = testpki::Pki::shared(testpki::KeyKind::EcdsaP256);
    let identity = pki.server(testpki::Scenario::Valid).map_err(io::Error::other)?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .map_err(io::Error::other)?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        let Ok((mut tcp, _)) = listener.accept().await else { return };
        if frame_first {
            let mut header = [0u8; 4];
            if tcp.read_exact(&mut header).await.is_err() {
                return;
            }
            let len = u32::from_be_bytes(header).min(1 << 16) as usize;
            let mut payload = vec![0u8; len];
            if tcp.read_exact(&mut payload).await.is_err() {
                return;
            }
        }
        let Ok(tls) = acceptor.accept(tcp).await else { return };
        let (mut reader, mut writer) = tokio::io::split(tls);
        let _ = tokio::io::copy(&mut reader, &mut writer).await;
        let _ = writer.shutdown().await;
    });
    Ok((port, pki.root_der()))
}
