//! The MySQL targets (`mysql_client`, `mysql_server`): the binary dialect has its own observers,
//! since its bytes are packets, not lines. The packet layout is read here from the protocol
//! documentation ("Protocol::Packet", "Protocol::SSLRequest"), not through the machines.

use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, ClientMachine, ClientSettings, CloseReason, Dialect,
    InjectionPolicy, MAX_MYSQL_PACKET_LEN, MAX_TLS_PREFIX, ServerBehaviour, ServerEvent,
    ServerMachine,
};

use super::script::{Script, chunk_lens};
use super::server::{INJECTED_RESPONSE, ServerFlags};

/// An SSLRequest as a client sends it (32 bytes at sequence 1, `CLIENT_SSL` and
/// `CLIENT_PROTOCOL_41` set): the honest client of the server reference.
const SSL_REQUEST: &[u8] = b"\x20\x00\x00\x01\x85\xae\x7f\x00\x00\x00\x00\x01\x21\
    \x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";

/// `mysql_client`: the MySQL client machine fed scripted server bytes.
///
/// Oracles: no panic; `StartTls` at most once, only with the SSLRequest in the same drain; the
/// client sends nothing but that one SSLRequest (36 bytes, sequence 1, `CLIENT_SSL` and
/// `CLIENT_PROTOCOL_41` set, 23 zero bytes), never inside TLS, never after a failure; after
/// `StartTls` and before TLS every byte fails it with `PlaintextAfterGoAhead`; `Ready` only
/// after TLS, at once and empty; bytes after `Ready` are kept whole for the application; the
/// events do not depend on the split up to the go-ahead.
pub fn mysql_client(data: &[u8]) {
    let script = Script::parse(data);
    let tls = script.flags & 1 == 0;
    let eof = script.flags & 2 != 0;
    run_client(&script.chunks, tls, eof);
    let split = run_client(&script.chunks, false, eof);
    let whole = run_client(&[script.stream], false, eof);
    let cut = |events: &[ClientEvent]| {
        events
            .iter()
            .position(|event| {
                matches!(
                    event,
                    ClientEvent::StartTls
                        | ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead { .. })
                )
            })
            .unwrap_or(events.len())
    };
    let (a, b) = (cut(&split), cut(&whole));
    assert_eq!(
        split[..a],
        whole[..b],
        "events depend on the split {:?}",
        chunk_lens(&script)
    );
    assert_eq!(
        a == split.len(),
        b == whole.len(),
        "go-ahead depends on the split {:?}: {split:?} vs {whole:?}",
        chunk_lens(&script)
    );
}

fn check_ssl_request(bytes: &[u8]) {
    assert_eq!(bytes.len(), 36, "SSLRequest {bytes:?}");
    assert_eq!(bytes.get(..4), Some(&[32, 0, 0, 1][..]), "header {bytes:?}");
    let flags = bytes
        .get(4..8)
        .map_or(0, |f| u32::from_le_bytes(f.try_into().unwrap_or_default()));
    assert_ne!(flags & 0x0800, 0, "CLIENT_SSL missing: {flags:#x}");
    assert_ne!(flags & 0x0200, 0, "CLIENT_PROTOCOL_41 missing: {flags:#x}");
    assert!(
        bytes
            .get(13..)
            .is_some_and(|filler| filler.iter().all(|&b| b == 0)),
        "filler {bytes:?}"
    );
}

fn run_client(chunks: &[&[u8]], tls: bool, eof: bool) -> Vec<ClientEvent> {
    let mut machine = ClientMachine::new(Dialect::Mysql, ClientSettings::default());
    let mut events = Vec::new();
    let (mut go_ahead, mut established, mut finished) = (false, false, false);
    let mut after_ready = Vec::new();
    let mut kept = Vec::new();
    let step = |machine: &mut ClientMachine,
                chunk: Option<&[u8]>,
                events: &mut Vec<ClientEvent>,
                go_ahead: &mut bool,
                established: bool,
                finished: &mut bool| {
        let awaiting = *go_ahead && !established && !*finished;
        let transmit = machine.poll_transmit();
        assert_eq!(
            machine.poll_transmit(),
            None,
            "transmit not drained at once"
        );
        let mut new = Vec::new();
        while let Some(event) = machine.poll_event() {
            assert!(!*finished, "event after the end: {event:?}");
            match &event {
                ClientEvent::StartTls => {
                    assert!(!*go_ahead, "second StartTls");
                    assert!(transmit.is_some(), "StartTls without the SSLRequest");
                    *go_ahead = true;
                }
                ClientEvent::Ready { capabilities } => {
                    assert!(established, "Ready before tls");
                    assert!(capabilities.is_empty(), "capabilities {capabilities:?}");
                    *finished = true;
                }
                ClientEvent::Failed(failure) => {
                    if awaiting {
                        let expected = match chunk {
                            Some(_) => {
                                matches!(failure, ClientFailure::PlaintextAfterGoAhead { .. })
                            }
                            None => *failure == ClientFailure::Closed,
                        };
                        assert!(expected, "failure after the go-ahead is {failure:?}");
                    }
                    *finished = true;
                }
            }
            new.push(event);
        }
        if awaiting && chunk.is_some_and(|c| !c.is_empty()) {
            assert!(
                matches!(
                    new.as_slice(),
                    [ClientEvent::Failed(
                        ClientFailure::PlaintextAfterGoAhead { .. }
                    )]
                ),
                "bytes after StartTls were accepted: {new:?}"
            );
        }
        assert_eq!(machine.is_finished(), *finished, "is_finished disagrees");
        if let Some(bytes) = transmit {
            assert!(
                new.first() == Some(&ClientEvent::StartTls),
                "sent {bytes:?} without the go-ahead"
            );
            check_ssl_request(&bytes);
        }
        events.extend(new);
    };
    step(
        &mut machine,
        None,
        &mut events,
        &mut go_ahead,
        established,
        &mut finished,
    );
    for chunk in chunks {
        if tls && go_ahead && !established && !finished {
            machine.handle_tls_established();
            established = true;
            assert!(
                machine.capabilities().is_empty(),
                "capabilities kept over tls"
            );
            step(
                &mut machine,
                None,
                &mut events,
                &mut go_ahead,
                established,
                &mut finished,
            );
            assert!(finished, "not ready at once inside tls");
        }
        let ready = events
            .iter()
            .any(|e| matches!(e, ClientEvent::Ready { .. }));
        machine.handle_input(chunk);
        if ready {
            after_ready.extend_from_slice(chunk);
            kept.extend(machine.take_leftover());
        }
        step(
            &mut machine,
            Some(chunk),
            &mut events,
            &mut go_ahead,
            established,
            &mut finished,
        );
    }
    assert_eq!(kept, after_ready, "bytes after Ready not kept whole");
    if eof {
        machine.handle_eof();
        step(
            &mut machine,
            None,
            &mut events,
            &mut go_ahead,
            established,
            &mut finished,
        );
        assert!(machine.is_finished(), "eof did not finish the machine");
    }
    events
}

/// `mysql_server`: the MySQL server machine fed client bytes split at chosen points, under the
/// server targets' flags ([`ServerFlags`]).
///
/// Oracles: no panic; what it sends is whole packets of at most [`MAX_MYSQL_PACKET_LEN`]
/// bytes (the first at sequence 0), and the response injection right after the greeting;
/// `buffered_len()` stays within a packet, the TLS prefix and a `Vulnerable` replay;
/// `StartTls` at most once, and between it and TLS nothing is sent and only a close reported
/// (`Reject` of plaintext, an over-long prefix, the end of file); a TLS prefix starts with
/// `0x16`; after `Close` nothing; events and replies do not depend on the split; inside TLS
/// (not `Vulnerable`) the same events and replies as a fresh server brought to TLS by an honest
/// SSLRequest and fed the same protected bytes.
pub fn mysql_server(data: &[u8]) {
    let script = Script::parse(data);
    let flags = ServerFlags::new(script.flags);
    run_server(&flags, &script.chunks, !flags.no_tls);
    let split = run_server(&flags, &script.chunks, false);
    let whole = run_server(&flags, &[script.stream], false);
    assert_eq!(
        split,
        whole,
        "events or replies depend on the split {:?}",
        chunk_lens(&script)
    );
}

/// Events, bytes sent, bytes discarded.
type Run = (Vec<ServerEvent>, Vec<u8>, usize);

/// Checks that `bytes` are whole packets of bounded length.
fn check_packets(bytes: &[u8]) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = rest.get(..4).expect("a whole header");
        let len = header
            .iter()
            .take(3)
            .rev()
            .fold(0usize, |acc, &b| acc << 8 | usize::from(b));
        assert!(len <= MAX_MYSQL_PACKET_LEN, "packet of {len} bytes");
        rest = rest.get(4 + len..).expect("a whole payload");
    }
}

fn run_server(flags: &ServerFlags, chunks: &[&[u8]], drive_tls: bool) -> Run {
    let config = flags.config();
    let mut machine = ServerMachine::new(Dialect::Mysql, config.clone());
    let injection = matches!(config.behaviour, ServerBehaviour::ResponseInjection(_));
    let vulnerable = config.injection_policy == InjectionPolicy::Vulnerable;
    let (mut go_ahead, mut tls, mut closed) = (false, false, false);
    let mut run: Run = (Vec::new(), Vec::new(), 0);
    let mut tls_at = None;
    let mut protected = Vec::new();
    let step = |machine: &mut ServerMachine,
                chunk: Option<&[u8]>,
                run: &mut Run,
                go_ahead: &mut bool,
                tls: bool,
                closed: &mut bool| {
        let awaiting = *go_ahead && !tls;
        let transmit = machine.poll_transmit();
        let mut events = Vec::new();
        while let Some(event) = machine.poll_event() {
            events.push(event);
        }
        if *closed {
            assert!(
                events.is_empty() && transmit.is_none(),
                "activity after close"
            );
        }
        let mut saw_start = false;
        for event in &events {
            if awaiting || saw_start {
                let allowed = match event {
                    ServerEvent::Close(CloseReason::InjectionRejected) => {
                        config.injection_policy == InjectionPolicy::Reject
                    }
                    ServerEvent::Close(CloseReason::TlsPrefixTooLong) => true,
                    ServerEvent::Close(CloseReason::Eof) => chunk.is_none(),
                    _ => false,
                };
                assert!(allowed, "{event:?} between StartTls and tls");
            }
            match event {
                ServerEvent::StartTls => {
                    assert!(!*go_ahead, "second StartTls");
                    *go_ahead = true;
                    saw_start = true;
                }
                ServerEvent::Close(_) => *closed = true,
                ServerEvent::Frame(_) | ServerEvent::Mail { .. } => {
                    panic!("{event:?} from the mysql server")
                }
            }
        }
        if let Some(bytes) = &transmit {
            assert!(!awaiting, "sent {bytes:?} between StartTls and tls");
            if run.1.is_empty() && injection {
                let body = bytes
                    .strip_suffix(INJECTED_RESPONSE)
                    .expect("the injection after the greeting");
                check_packets(body);
            } else {
                check_packets(bytes);
            }
            if run.1.is_empty() {
                assert_eq!(bytes.get(3), Some(&0), "the greeting's sequence id");
            }
            run.1.extend_from_slice(bytes);
        }
        let bound = 4 + MAX_MYSQL_PACKET_LEN + 2 * MAX_TLS_PREFIX;
        assert!(
            machine.buffered_len() <= bound,
            "buffers {}",
            machine.buffered_len()
        );
        run.0.extend(events);
    };
    step(
        &mut machine,
        None,
        &mut run,
        &mut go_ahead,
        tls,
        &mut closed,
    );
    for chunk in chunks {
        if drive_tls && go_ahead && !tls && !closed {
            let prefix = machine.take_tls_prefix();
            assert!(
                prefix.is_empty() || prefix.first() == Some(&0x16),
                "prefix {prefix:?}"
            );
            tls_at = Some((run.0.len(), run.1.len()));
            machine.handle_tls_established();
            tls = true;
            if !vulnerable {
                assert_eq!(
                    machine.poll_transmit(),
                    None,
                    "answered on its own after tls"
                );
            }
            step(
                &mut machine,
                None,
                &mut run,
                &mut go_ahead,
                tls,
                &mut closed,
            );
        }
        if tls_at.is_some() {
            protected.push(*chunk);
        }
        machine.handle_input(chunk);
        step(
            &mut machine,
            Some(chunk),
            &mut run,
            &mut go_ahead,
            tls,
            &mut closed,
        );
    }
    if flags.eof {
        machine.handle_eof();
        step(
            &mut machine,
            None,
            &mut run,
            &mut go_ahead,
            tls,
            &mut closed,
        );
        assert!(closed, "eof did not close");
    }
    if let Some((events_at, sent_at)) = tls_at
        && !vulnerable
        && let Some(reference) = reference_server(flags, &protected)
    {
        assert_eq!(
            run.0.get(events_at..),
            Some(reference.0.as_slice()),
            "what happened before tls changed the server's events inside tls"
        );
        assert_eq!(
            run.1.get(sent_at..),
            Some(reference.1.as_slice()),
            "what happened before tls changed the server's replies inside tls"
        );
    }
    run.2 = machine.injected_discarded();
    run
}

/// A fresh server brought to TLS by an honest SSLRequest, then fed `protected`; `None` when the
/// behaviour refuses the honest upgrade.
fn reference_server(flags: &ServerFlags, protected: &[&[u8]]) -> Option<Run> {
    let mut machine = ServerMachine::new(Dialect::Mysql, flags.config());
    machine.handle_input(SSL_REQUEST);
    while machine.poll_transmit().is_some() {}
    let mut started = false;
    while let Some(event) = machine.poll_event() {
        started = event == ServerEvent::StartTls;
    }
    if !started {
        return None;
    }
    machine.take_tls_prefix();
    machine.handle_tls_established();
    let mut run: Run = (Vec::new(), Vec::new(), 0);
    let mut drain = |machine: &mut ServerMachine| {
        while let Some(bytes) = machine.poll_transmit() {
            run.1.extend_from_slice(&bytes);
        }
        while let Some(event) = machine.poll_event() {
            run.0.push(event);
        }
    };
    drain(&mut machine);
    for chunk in protected {
        machine.handle_input(chunk);
        drain(&mut machine);
    }
    if flags.eof {
        machine.handle_eof();
        drain(&mut machine);
    }
    Some(run)
}
