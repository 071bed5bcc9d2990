//! The PostgreSQL targets (`postgres_client`, `postgres_server`). PostgreSQL is no line
//! dialect: the client sends an 8-byte SSLRequest and reads one answer byte, the server reads
//! length-prefixed packets. The oracles are written from the protocol documentation ("Message
//! Flow: SSL Session Encryption", "Message Formats"), not from the machines.

use streamsocket_proto::starttls::{
    ClientEvent, ClientFailure, ClientMachine, ClientSettings, CloseReason, Dialect,
    InjectionPolicy, MAX_STARTUP_PACKET, MAX_TLS_PREFIX, ServerBehaviour, ServerEvent,
    ServerMachine, ServerSettings,
};

use super::client::ClientFlags;
use super::script::{Script, chunk_lens};
use super::server::{INJECTED_RESPONSE, ServerFlags};

/// Int32 length 8, Int32 code 80877103, big-endian.
const SSL_REQUEST: [u8; 8] = [0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F];

/// `postgres_client`: the PostgreSQL client machine fed scripted server bytes. Checks:
///
/// - the client sends the SSLRequest once, at once, and nothing else ever (no goodbye exists
///   before a StartupMessage);
/// - the first answer byte decides: `S` alone in its read is the go-ahead, `S` with more bytes
///   fails with `PlaintextAfterGoAhead` counting them, `N` and `E` are refusals, anything else a
///   protocol error; the end of the stream before an answer is `Closed`;
/// - after the go-ahead every further byte before TLS fails the machine; inside TLS it is ready
///   at once with no capabilities, and what follows is the application's, byte for byte;
/// - the events do not depend on how the stream is split, up to the go-ahead.
pub fn postgres_client(data: &[u8]) {
    let script = Script::parse(data);
    let flags = ClientFlags::new(script.flags);
    let driven = run_client(flags, &script.chunks, !flags.no_tls);
    let split = run_client(flags, &script.chunks, false);
    let whole = run_client(flags, &[script.stream], false);
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
    assert!(driven.len() <= 2, "more than two events: {driven:?}");
}

fn run_client(flags: ClientFlags, chunks: &[&[u8]], drive_tls: bool) -> Vec<ClientEvent> {
    let config = ClientSettings {
        max_line_len: flags.max_line_len,
        quit_on_failure: !flags.no_quit,
        ..ClientSettings::default()
    };
    let mut machine = ClientMachine::new(Dialect::Postgres, config);
    assert_eq!(
        machine.poll_transmit().as_deref(),
        Some(&SSL_REQUEST[..]),
        "the SSLRequest first"
    );
    assert_eq!(machine.poll_event(), None, "an event before any answer");
    let mut events = Vec::new();
    let (mut answered, mut go_ahead, mut tls, mut finished) = (false, false, false, false);
    let mut expected_leftover = Vec::new();
    for chunk in chunks {
        if drive_tls && go_ahead && !tls && !finished {
            machine.handle_tls_established();
            tls = true;
            assert_eq!(
                machine.poll_event(),
                Some(ClientEvent::Ready {
                    capabilities: Vec::new()
                }),
                "ready at once inside tls"
            );
            assert!(machine.capabilities().is_empty());
            finished = true;
        }
        machine.handle_input(chunk);
        assert_eq!(machine.poll_transmit(), None, "sent {chunk:?}");
        let mut now = Vec::new();
        while let Some(event) = machine.poll_event() {
            now.push(event);
        }
        if tls {
            assert!(now.is_empty(), "an event inside tls: {now:?}");
            expected_leftover.extend_from_slice(chunk);
        } else if finished {
            assert!(now.is_empty(), "an event after the end: {now:?}");
        } else if go_ahead && !chunk.is_empty() {
            assert_eq!(
                now,
                [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
                    bytes: chunk.len()
                })],
                "bytes after the go-ahead"
            );
            finished = true;
        } else if let Some((&first, rest)) = chunk.split_first().filter(|_| !answered) {
            answered = true;
            match first {
                b'S' if rest.is_empty() => {
                    assert_eq!(now, [ClientEvent::StartTls], "a lone S");
                }
                b'S' => assert_eq!(
                    now,
                    [ClientEvent::Failed(ClientFailure::PlaintextAfterGoAhead {
                        bytes: rest.len()
                    })],
                    "bytes with the S"
                ),
                b'N' | b'E' => assert!(
                    matches!(
                        now.as_slice(),
                        [ClientEvent::Failed(ClientFailure::Refused { .. })]
                    ),
                    "answer {first:#04x}: {now:?}"
                ),
                _ => assert!(
                    matches!(
                        now.as_slice(),
                        [ClientEvent::Failed(ClientFailure::Protocol { .. })]
                    ),
                    "answer {first:#04x}: {now:?}"
                ),
            }
            go_ahead = now == [ClientEvent::StartTls];
            finished = !go_ahead;
        } else {
            assert!(now.is_empty(), "an event for an empty read: {now:?}");
        }
        assert_eq!(machine.is_finished(), finished, "is_finished disagrees");
        events.extend(now);
    }
    if flags.eof {
        machine.handle_eof();
        let now: Vec<ClientEvent> = std::iter::from_fn(|| machine.poll_event()).collect();
        if finished {
            assert!(now.is_empty(), "an event at eof after the end: {now:?}");
        } else {
            assert_eq!(now, [ClientEvent::Failed(ClientFailure::Closed)]);
        }
        assert!(machine.is_finished(), "eof did not finish the machine");
        events.extend(now);
    }
    assert_eq!(machine.poll_transmit(), None, "sent something at the end");
    assert_eq!(machine.take_leftover(), expected_leftover, "leftover bytes");
    events
}

/// `postgres_server`: the PostgreSQL server machine fed client bytes split at random points.
/// Checks:
///
/// - no panic; `buffered_len()` stays within one startup packet (or message header) plus what
///   a `Vulnerable` server keeps after the go-ahead;
/// - `StartTls` at most once, with `S` the last byte sent (then the planted response of a
///   `ResponseInjection` server), or with nothing sent when the stream began with `0x16`
///   (direct TLS, whose bytes are then the TLS prefix); between `StartTls` and TLS nothing is sent and nothing
///   reported but the `Reject` close or the end of the stream; after `Close` nothing at all;
/// - inside TLS nothing is sent unasked unless the policy is `Vulnerable`;
/// - events and bytes sent do not depend on how the stream is split (up to the go-ahead under
///   `Reject`);
/// - inside TLS the server behaves like a fresh server brought to TLS by an honest SSLRequest
///   and fed the same protected bytes (unless `Vulnerable`, or errors were counted before).
pub fn postgres_server(data: &[u8]) {
    let script = Script::parse(data);
    let flags = ServerFlags::new(script.flags);
    run_server(&flags, &script.chunks, !flags.no_tls);
    let split = run_server(&flags, &script.chunks, false);
    let whole = run_server(&flags, &[script.stream], false);
    if flags.policy == InjectionPolicy::Reject {
        let cut = |events: &[ServerEvent]| {
            events
                .iter()
                .position(|event| {
                    matches!(
                        event,
                        ServerEvent::StartTls | ServerEvent::Close(CloseReason::InjectionRejected)
                    )
                })
                .unwrap_or(events.len())
        };
        let (a, b) = (cut(&split.0), cut(&whole.0));
        assert_eq!(
            split.0[..a],
            whole.0[..b],
            "events depend on the split {:?}",
            chunk_lens(&script)
        );
    } else {
        assert_eq!(split, whole, "events or bytes depend on the split");
    }
}

/// The events and the bytes sent of one run.
type ServerRun = (Vec<ServerEvent>, Vec<u8>);

/// What the server observer knows.
#[derive(Default)]
struct ServerObserver {
    events: Vec<ServerEvent>,
    sent: Vec<u8>,
    go_ahead: bool,
    tls: bool,
    closed: bool,
    after_go_ahead: usize,
    /// Bytes fed so far.
    fed: usize,
    /// TLS began with the first byte (PostgreSQL 17's direct TLS): no `S`, a TLS prefix.
    direct: bool,
}

impl ServerObserver {
    fn step(&mut self, machine: &mut ServerMachine, config: &ServerSettings, chunk: Option<&[u8]>) {
        let transmit = machine.poll_transmit().unwrap_or_default();
        assert_eq!(
            machine.poll_transmit(),
            None,
            "transmit not drained at once"
        );
        let now: Vec<ServerEvent> = std::iter::from_fn(|| machine.poll_event()).collect();
        let fed = chunk.map_or(0, <[u8]>::len);
        let fed_before = self.fed;
        self.fed += fed;
        if self.closed {
            assert!(now.is_empty() && transmit.is_empty(), "after close");
        }
        let awaiting = self.go_ahead && !self.tls;
        if awaiting {
            assert!(transmit.is_empty(), "sent {transmit:?} before tls");
            self.after_go_ahead += fed;
        }
        for event in &now {
            if awaiting {
                let allowed = match event {
                    ServerEvent::Close(CloseReason::InjectionRejected) => {
                        config.injection_policy == InjectionPolicy::Reject
                            && fed > 0
                            && !self.direct
                    }
                    ServerEvent::Close(CloseReason::TlsPrefixTooLong) => self.direct,
                    ServerEvent::Close(CloseReason::Eof) => chunk.is_none(),
                    _ => false,
                };
                assert!(allowed, "{event:?} between StartTls and tls");
            }
            match event {
                ServerEvent::StartTls => {
                    assert!(!self.go_ahead, "second StartTls");
                    self.go_ahead = true;
                    let body = match &config.behaviour {
                        ServerBehaviour::ResponseInjection(_) => {
                            transmit.strip_suffix(INJECTED_RESPONSE).unwrap_or_default()
                        }
                        _ => &transmit[..],
                    };
                    if fed_before == 0 && chunk.and_then(<[u8]>::first) == Some(&0x16) {
                        // Direct TLS: the ClientHello is the request, nothing is answered.
                        self.direct = true;
                        assert!(body.is_empty(), "direct tls answered {body:?}");
                    } else {
                        assert_eq!(body.last(), Some(&b'S'), "StartTls without S last");
                    }
                }
                ServerEvent::Close(CloseReason::LineTooLong | CloseReason::InvalidUtf8Frame)
                | ServerEvent::Frame(_)
                | ServerEvent::Mail { .. } => panic!("{event:?} from postgres"),
                ServerEvent::Close(_) => self.closed = true,
            }
        }
        let kept = if self.direct {
            MAX_TLS_PREFIX
        } else if config.injection_policy == InjectionPolicy::Vulnerable {
            self.after_go_ahead.min(MAX_TLS_PREFIX)
        } else {
            0
        };
        assert!(
            machine.buffered_len() <= MAX_STARTUP_PACKET + kept,
            "server buffers {} bytes",
            machine.buffered_len()
        );
        self.sent.extend_from_slice(&transmit);
        self.events.extend(now);
    }
}

fn run_server(flags: &ServerFlags, chunks: &[&[u8]], drive_tls: bool) -> ServerRun {
    let config = flags.config();
    let mut machine = ServerMachine::new(Dialect::Postgres, config.clone());
    assert_eq!(machine.poll_transmit(), None, "a greeting");
    let mut observer = ServerObserver::default();
    let mut tls_at = None;
    let mut protected: Vec<&[u8]> = Vec::new();
    for chunk in chunks {
        if drive_tls && observer.go_ahead && !observer.tls && !observer.closed {
            tls_at = Some((observer.events.len(), observer.sent.len()));
            let prefix = machine.take_tls_prefix();
            if observer.direct {
                assert_eq!(prefix.first(), Some(&0x16), "direct tls prefix {prefix:?}");
            } else {
                assert!(prefix.is_empty(), "a tls prefix after the SSLRequest");
            }
            machine.handle_tls_established();
            observer.tls = true;
            if config.injection_policy != InjectionPolicy::Vulnerable {
                assert_eq!(
                    machine.poll_transmit(),
                    None,
                    "answered on its own after tls"
                );
                assert_eq!(machine.poll_event(), None, "event on its own after tls");
            }
            observer.step(&mut machine, &config, None);
        }
        if tls_at.is_some() {
            protected.push(chunk);
        }
        machine.handle_input(chunk);
        observer.step(&mut machine, &config, Some(chunk));
    }
    if flags.eof {
        machine.handle_eof();
        observer.step(&mut machine, &config, None);
    }
    if let Some((events_at, sent_at)) = tls_at {
        // Errors count per connection, a Vulnerable server replays on purpose, and a direct
        // connection is compared with a fresh direct one.
        let comparable = config.injection_policy != InjectionPolicy::Vulnerable
            && !observer.sent[..sent_at].contains(&b'E')
            && !observer.direct;
        if comparable {
            let reference = reference_server(flags, &protected, flags.eof);
            assert_eq!(
                (&observer.events[events_at..], &observer.sent[sent_at..]),
                (&reference.0[..], &reference.1[..]),
                "what happened before tls changed the server inside tls"
            );
        }
    }
    (observer.events, observer.sent)
}

/// A fresh server brought to TLS by an honest SSLRequest, then fed `protected`.
fn reference_server(flags: &ServerFlags, protected: &[&[u8]], eof: bool) -> ServerRun {
    let mut machine = ServerMachine::new(Dialect::Postgres, flags.config());
    machine.handle_input(&SSL_REQUEST);
    while machine.poll_transmit().is_some() {}
    while machine.poll_event().is_some() {}
    machine.handle_tls_established();
    let (mut events, mut sent) = (Vec::new(), Vec::new());
    let mut drain = |machine: &mut ServerMachine| {
        while let Some(bytes) = machine.poll_transmit() {
            sent.extend_from_slice(&bytes);
        }
        events.extend(std::iter::from_fn(|| machine.poll_event()));
    };
    for chunk in protected {
        machine.handle_input(chunk);
        drain(&mut machine);
    }
    if eof {
        machine.handle_eof();
        drain(&mut machine);
    }
    (events, sent)
}
