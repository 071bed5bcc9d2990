//! Tests of the dialect machines: one module per side, the in-memory matrix and properties.

use super::*;

mod client;
mod dialects;
mod in_memory;
mod line;
mod mysql;
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

/// Drains every transmit of a client machine into one string; PostgreSQL's binary SSLRequest
/// (Int32 8, Int32 80877103) reads `<SSLRequest>`, MySQL's binary packets are in hex.
fn client_sent(client: &mut ClientMachine) -> String {
    let bytes: Vec<u8> = std::iter::from_fn(|| client.poll_transmit())
        .flatten()
        .collect();
    if client.dialect() == Dialect::Mysql {
        return bytes.iter().map(|b| format!("{b:02x}")).collect();
    }
    if let Some(rest) = bytes.strip_prefix(&[0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F]) {
        let rest = String::from_utf8(rest.to_vec()).expect("the client sends text");
        return format!("<SSLRequest>{rest}");
    }
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
        ServerSettings {
            behaviour,
            ..ServerSettings::default()
        },
    )
}

fn client(dialect: Dialect) -> ClientMachine {
    ClientMachine::new(dialect, ClientSettings::default())
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

#[test]
fn dialect_names_round_trip_through_display_from_str_and_serde() {
    for dialect in Dialect::ALL {
        let name = dialect.to_string();
        assert_eq!(name, name.to_lowercase());
        assert_eq!(name.parse::<Dialect>(), Ok(dialect));
        assert_eq!(name.to_uppercase().parse::<Dialect>(), Ok(dialect));
        let json = serde_json::to_string(&dialect).unwrap();
        assert_eq!(json, format!("\"{name}\""));
        assert_eq!(serde_json::from_str::<Dialect>(&json).unwrap(), dialect);
    }
    let error = "gopher".parse::<Dialect>().unwrap_err().to_string();
    assert!(error.starts_with("unknown dialect"), "{error}");
    assert_eq!(
        Dialect::ALL.map(Dialect::is_line_based),
        [
            false, true, true, false, true, true, false, true, true, false, true, true
        ]
    );
}

/// `ALL` holds every reason once, at the place the exhaustive match below gives it (a new variant
/// does not compile until it is placed), and every name reads back.
#[test]
fn every_close_reason_is_listed_once_and_its_name_reads_back() {
    fn place(reason: CloseReason) -> usize {
        match reason {
            CloseReason::Quit => 0,
            CloseReason::TooManyErrors => 1,
            CloseReason::LineTooLong => 2,
            CloseReason::FrameTooLong => 3,
            CloseReason::InjectionRejected => 4,
            CloseReason::Eof => 5,
            CloseReason::TlsPrefixTooLong => 6,
            CloseReason::InvalidUtf8Frame => 7,
            CloseReason::Fatal => 8,
            CloseReason::HandshakeRejected => 9,
        }
    }
    for (i, reason) in CloseReason::ALL.into_iter().enumerate() {
        assert_eq!(place(reason), i, "{reason:?}");
        assert_eq!(CloseReason::from_name(reason.name()), Some(reason));
    }
    assert_eq!(CloseReason::from_name("Quit"), None);
}

#[test]
fn default_configs_match_the_contract() {
    let client = ClientSettings::default();
    assert_eq!(client.ehlo_name, "localhost");
    assert_eq!(client.max_line_len, 2048);
    assert!(client.quit_on_failure);
    let server = ServerSettings::default();
    assert_eq!(server.hostname, "localhost");
    assert_eq!(server.behaviour, ServerBehaviour::Honest);
    assert_eq!(server.injection_policy, InjectionPolicy::Discard);
    assert_eq!(server.max_line_len, DEFAULT_MAX_LINE_LEN);
    assert_eq!(server.max_frame_len, 1 << 20);
    assert_eq!(server.max_errors, 20);
}
