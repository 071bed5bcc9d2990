//! Integration tests: the mock server driven by a plain tokio `TcpStream` and a tokio-rustls
//! client (not the project's client, which must be testable against this server).

mod support;

mod binary;
mod framed;
mod hostile;
mod implicit;
mod smtp;
mod tls_policy;
