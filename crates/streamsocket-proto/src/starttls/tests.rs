//! Tests of the dialect machines: one module per side, the in-memory matrix and properties.

use super::*;

mod client;
mod in_memory;
mod line;
mod properties;
mod server;

/// Drains every event of a client machine.
fn client_events(client: &mut ClientMachine) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

/// Drains every event of a server machine.
fn server_events(server: &mut ServerMachine) -> Vec<ServerEvent> {
    std::iter::from_fn(|| server.poll_event()).collect()
}

/// Drains every transmit of a client machine into one string.
fn client_sent(client: &mut ClientMachine) -> String {
    let bytes: Vec<u8> = std::iter::from_fn(|| client.poll_transmit())
        .flatten()
        .collect();
    String::from_utf8(bytes).expect("the client sends text")
}

/// Drains every transmit of a server machine.
fn server_sent(server: &mut ServerMachine) -> Vec<u8> {
    std::iter::from_fn(|| server.poll_transmit())
        .flatten()
        .collect()
}

/// Drains every transmit of a server machine as text.
fn server_text(server: &mut ServerMachine) -> String {
    String::from_utf8(server_sent(server)).expect("the server sends text")
}

fn server_with(dialect: Dialect, behaviour: ServerBehaviour) -> ServerMachine {
    ServerMachine::new(
        dialect,
        ServerConfig {
            behaviour,
            ..ServerConfig::default()
        },
    )
}

fn client(dialect: Dialect) -> ClientMachine {
    ClientMachine::new(dialect, ClientConfig::default())
}

fn failed(failure: ClientFailure) -> ClientEvent {
    ClientEvent::Failed(failure)
}

fn refused(reply: &str) -> ClientEvent {
    failed(ClientFailure::Refused {
        reply: reply.to_owned(),
    })
}

fn caps(list: &[&str]) -> Vec<String> {
    list.iter().map(|cap| (*cap).to_owned()).collect()
}
