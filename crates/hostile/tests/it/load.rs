//! Load: stalled clients do not hold up an honest one, and 500 simultaneous full STARTTLS
//! sessions across the four dialects complete with zero failures and leave nothing behind
//! (file descriptors, tasks, the server's active sessions). Times are measured and printed,
//! never asserted (beyond generous bounds that only catch a hang).
//!
//! Reproduce with the figures printed:
//! `cargo test -p hostile-tests --test it load -- --nocapture`

use std::time::{Duration, Instant};

use mockserver::testing::{self, RunningServer};
use mockserver::{Limits, MockConfig};
use streamsocket::Dialect;
use tokio::task::JoinSet;

use hostile_tests::{
    RawPeer, STARTTLS_DIALECTS, client_hello, control_for, full_session, go_ahead, mock,
    open_sockets_on, read_greeting, read_reply, starttls_command, valid_identity, within,
};

/// Ways a staller hangs.
#[derive(Clone, Copy, Debug)]
enum Stall {
    /// Connects and sends nothing.
    Silent,
    /// Sends half a request (a line without its end, or half a frame header).
    HalfRequest,
    /// Gets the go-ahead, then sends the first bytes of a ClientHello and stops.
    MidHandshake,
}

async fn staller(server: &RunningServer, dialect: Dialect, stall: Stall, hello: &[u8]) -> RawPeer {
    let mut peer = RawPeer::connect(server.addr()).await.unwrap();
    let line = dialect.is_line_based();
    match (stall, line) {
        (Stall::Silent, _) => {}
        (Stall::HalfRequest, true) => {
            read_greeting(&mut peer, dialect).await.unwrap();
            peer.send(b"EHLO half-way").await.unwrap();
        }
        (Stall::HalfRequest, false) => peer.send(&[0, 0]).await.unwrap(),
        (Stall::MidHandshake, true) => {
            read_greeting(&mut peer, dialect).await.unwrap();
            if dialect.is_smtp_like() {
                let verb = if dialect == Dialect::Lmtp {
                    "LHLO"
                } else {
                    "EHLO"
                };
                peer.send(format!("{verb} staller.test\r\n").as_bytes())
                    .await
                    .unwrap();
                read_reply(&mut peer, dialect, false).await.unwrap();
            }
            peer.send(starttls_command(dialect)).await.unwrap();
            assert_eq!(peer.line().await.unwrap().as_bytes(), go_ahead(dialect));
            peer.send(&hello[..10]).await.unwrap();
        }
        (Stall::MidHandshake, false) => peer.send(&hello[..10]).await.unwrap(),
    }
    peer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_stalled_clients_do_not_hold_up_an_honest_one() {
    const STALLERS: usize = 50;
    let identity = valid_identity();
    let hello = client_hello(&identity);
    for dialect in STARTTLS_DIALECTS {
        let server = testing::spawn(mock(dialect)).await;
        let limit = server.config().limits.handshake_timeout;
        let mut stalled = Vec::new();
        for i in 0..STALLERS {
            let stall = [Stall::Silent, Stall::HalfRequest, Stall::MidHandshake][i % 3];
            stalled.push(staller(&server, dialect, stall, &hello).await);
        }
        let started = Instant::now();
        let session = full_session(server.addr(), dialect, control_for(&identity));
        let outcome = tokio::time::timeout(limit, session).await;
        let took = started.elapsed();
        eprintln!(
            "stall isolation, {dialect}: honest session beside {STALLERS} stalled ones in {took:?}"
        );
        outcome
            .unwrap_or_else(|_| panic!("{dialect}: not done within {limit:?}"))
            .unwrap_or_else(|e| panic!("{dialect}: {e}"));
        // The stallers were still hanging all along.
        assert_eq!(server.snapshot().active, STALLERS as u64, "{dialect}");
        drop(stalled);
        server.shutdown().await;
    }
}

/// Sessions per dialect in the concurrency test (four dialects: 500 in all).
const PER_DIALECT: usize = 125;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_simultaneous_starttls_sessions_complete_and_leave_nothing_behind() {
    let identity = valid_identity();
    let mut servers = Vec::new();
    for dialect in STARTTLS_DIALECTS {
        // Generous handshake limits: 500 handshakes at once on two cores in a debug build.
        let config = MockConfig {
            limits: Limits {
                handshake_timeout: Duration::from_secs(60),
                ..Limits::default()
            },
            ..mock(dialect)
        };
        servers.push((dialect, testing::spawn(config).await));
    }
    let runtime = tokio::runtime::Handle::current().metrics();
    let ports: Vec<u16> = servers.iter().map(|(_, s)| s.addr().port()).collect();
    // The four listeners.
    let fds_before = open_sockets_on(&ports);
    assert_eq!(fds_before, Some(servers.len()));
    let tasks_before = runtime.num_alive_tasks();

    let started = Instant::now();
    let mut sessions = JoinSet::new();
    for i in 0..PER_DIALECT {
        for (dialect, server) in &servers {
            let (dialect, addr) = (*dialect, server.addr());
            let mut control = control_for(&identity);
            control
                .set_handshake_timeout(Duration::from_secs(60))
                .unwrap();
            sessions.spawn(async move {
                full_session(addr, dialect, control)
                    .await
                    .map_err(|e| format!("{dialect} #{i}: {e}"))
            });
        }
    }
    let mut failures = Vec::new();
    let mut done = 0usize;
    while let Some(joined) = sessions.join_next().await {
        done += 1;
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(e),
            Err(e) => failures.push(format!("task: {e}")),
        }
    }
    let took = started.elapsed();
    eprintln!(
        "concurrency: {done} sessions, {} failures, {took:?} ({:.0} sessions/s)",
        failures.len(),
        done as f64 / took.as_secs_f64()
    );
    assert_eq!(done, PER_DIALECT * STARTTLS_DIALECTS.len());
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.iter().take(5).collect::<Vec<_>>()
    );

    for (dialect, server) in &servers {
        within(server.wait_closed(PER_DIALECT as u64))
            .await
            .unwrap();
        let stats = server.snapshot();
        assert_eq!(stats.handshakes_ok, PER_DIALECT as u64, "{dialect}");
        assert_eq!(stats.active, 0, "{dialect}");
        assert_eq!(stats.refused_connections, 0, "{dialect}");
    }
    // A session is recorded as closed just before its socket is; wait (bounded) until the last
    // sockets and tasks are gone, then compare with the baseline.
    let settled = within(async {
        while open_sockets_on(&ports) != fds_before || runtime.num_alive_tasks() != tasks_before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert!(
        settled.is_ok(),
        "sockets {:?} -> {:?}, tasks {tasks_before} -> {}",
        fds_before,
        open_sockets_on(&ports),
        runtime.num_alive_tasks()
    );
    for (_, server) in servers {
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_upgrades_leave_nothing_behind() {
    // Every error path closes its sockets on both sides and ends its tasks.
    const CLIENTS: usize = 20;
    let identity = valid_identity();
    let runtime = tokio::runtime::Handle::current().metrics();
    let cases = [
        (Dialect::Smtp, mockserver::Behaviour::ResponseInjection),
        (
            Dialect::Imap,
            mockserver::Behaviour::StartTlsRefused(mockserver::Refusal::Temporary),
        ),
        (Dialect::Pop3, mockserver::Behaviour::StartTlsNotAdvertised),
        (Dialect::Imap, mockserver::Behaviour::Preauth),
        (
            Dialect::Smtp,
            mockserver::Behaviour::GarbageInsteadOfServerHello,
        ),
        (Dialect::Framed, mockserver::Behaviour::CloseMidHandshake),
        (
            Dialect::Pop3,
            mockserver::Behaviour::LegacyOnly(mockserver::LegacyVersion::Tls10),
        ),
    ];
    for (dialect, behaviour) in cases {
        let server = testing::spawn(MockConfig {
            behaviour,
            ..mock(dialect)
        })
        .await;
        let ports = [server.addr().port()];
        let sockets_before = open_sockets_on(&ports);
        let tasks_before = runtime.num_alive_tasks();
        let mut clients = JoinSet::new();
        for _ in 0..CLIENTS {
            let (addr, control) = (server.addr(), control_for(&identity));
            clients.spawn(async move { full_session(addr, dialect, control).await });
        }
        let mut failed = 0;
        while let Some(joined) = clients.join_next().await {
            if joined.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, CLIENTS, "{dialect}, {behaviour}");
        within(server.wait_closed(CLIENTS as u64)).await.unwrap();
        assert_eq!(server.snapshot().active, 0, "{dialect}, {behaviour}");
        let settled = within(async {
            while open_sockets_on(&ports) != sockets_before
                || runtime.num_alive_tasks() != tasks_before
            {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
        assert!(
            settled.is_ok(),
            "{dialect}, {behaviour}: sockets {sockets_before:?} -> {:?}, tasks {tasks_before} -> {}",
            open_sockets_on(&ports),
            runtime.num_alive_tasks()
        );
        server.shutdown().await;
    }
}
