//! Integration tests of the client on loopback, against an in-process tokio-rustls server.

mod certs;
mod cli;
mod connect;
mod dialects;
mod mysql;
mod openssl;
mod postgresql;
mod server;
mod snapshots;
mod stream;
mod timeouts;
mod upgrade;

use streamsocket::{SocketControl, StreamSocket, TrustAnchors};
use testpki::ServerIdentity;

/// A socket that trusts what `identity` says a client must trust (roots and CRLs).
pub(crate) fn socket_for(identity: &ServerIdentity) -> StreamSocket {
    StreamSocket::with_control(control_for(identity))
}

/// Options that trust what `identity` says a client must trust.
pub(crate) fn control_for(identity: &ServerIdentity) -> SocketControl {
    let mut control = SocketControl::default();
    control
        .set_trust_anchors(TrustAnchors::from_der(identity.trust_anchors.clone()))
        .expect("fresh control");
    if !identity.crls.is_empty() {
        control
            .set_crls(identity.crls.clone())
            .expect("testpki CRLs parse");
    }
    control
}
