//! Integration tests: the mock server driven by a plain tokio `TcpStream` and a tokio-rustls
//! client (not the project's client, which must be testable against this server).

mod dialect;
mod support;

mod behaviours;
mod binary;
mod catalogue;
mod certificates;
mod client_hello;
mod framed;
mod hostile;
mod implicit;
mod injection;
mod limits;
mod postgres_direct;
mod psql;
mod session_log;
mod sessions;
mod shutdown;
mod smtp;
mod tls_policy;
