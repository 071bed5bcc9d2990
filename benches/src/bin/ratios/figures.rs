//! What every figure means and its unit.

/// The CPU-time twin of a figure key (`x_per_s` -> `x_per_cpu_s`), if the table has one.
pub(crate) fn cpu_key(key: &str) -> Option<&'static str> {
    let twin = key.replace("_per_s", "_per_cpu_s");
    FIGURES
        .iter()
        .map(|(k, _, _)| *k)
        .find(|k| *k == twin && twin != key)
}

/// What every figure means and its unit.
pub(crate) const FIGURES: &[(&str, &str, &str)] = &[
    (
        "m_handshake_per_s",
        "1/s",
        "M: full TLS 1.3 handshake units per second, in memory",
    ),
    (
        "r_handshake_per_s",
        "1/s",
        "R: full TLS 1.3 handshake units per second, tokio-rustls over loopback",
    ),
    (
        "p_handshake_per_s",
        "1/s",
        "P: full TLS 1.3 handshake units per second, StreamSocket + mock server",
    ),
    (
        "tcp_connect_per_s",
        "1/s",
        "plain TCP units per second: connect, 5-byte echo, close, no TLS (the socket floor of a handshake unit)",
    ),
    (
        "tcp_starttls_like_per_s",
        "1/s",
        "plain TCP units after an SMTP-like plaintext exchange (greeting, two line round trips), no TLS",
    ),
    (
        "model_starttls_per_s",
        "1/s",
        "P direct TLS plus the plain-TCP cost of the SMTP exchange's extra round trips: 1/(1/P + 1/starttls-like TCP - 1/plain TCP unit)",
    ),
    (
        "model_handshake_per_s",
        "1/s",
        "1/(1/M + 1/plain TCP unit): the best a client and server over loopback sockets can reach, per round",
    ),
    (
        "model_resumed_per_s",
        "1/s",
        "1/(1/M resumed + 1/plain TCP unit): the same for resumed handshakes",
    ),
    (
        "m_resumed_per_s",
        "1/s",
        "M: resumed TLS 1.3 handshake units per second",
    ),
    (
        "r_resumed_per_s",
        "1/s",
        "R: resumed TLS 1.3 handshake units per second",
    ),
    (
        "p_resumed_per_s",
        "1/s",
        "P: resumed TLS 1.3 handshake units per second",
    ),
    (
        "p_starttls_smtp_per_s",
        "1/s",
        "P: SMTP sessions per second (connect, greeting, EHLO, STARTTLS, handshake, EHLO)",
    ),
    (
        "r_two_workers_per_s",
        "1/s",
        "R: full handshake units per second, 2-worker runtime, 4 concurrent clients",
    ),
    (
        "p_two_workers_per_s",
        "1/s",
        "P: full handshake units per second, 2-worker runtime, 4 concurrent clients",
    ),
    (
        "openssl_handshake_per_s",
        "1/s",
        "openssl s_server + s_time -new -tls1_3, full handshakes per wall-clock second",
    ),
    (
        "m_handshake_default_per_s",
        "1/s",
        "M: full handshakes per second with the provider's default suites and groups",
    ),
    (
        "r_handshake_default_per_s",
        "1/s",
        "R: full handshakes per second with the provider's default suites and groups",
    ),
    (
        "p_handshake_default_per_s",
        "1/s",
        "P: full handshakes per second with the provider's default suites and groups",
    ),
    (
        "m_bulk_bytes_per_s",
        "B/s",
        "M: in-memory encrypt+decrypt, AES-128-GCM, 16 KiB writes, one thread",
    ),
    (
        "tcp_bulk_bytes_per_s",
        "B/s",
        "plain TCP over loopback, 256 KiB socket buffers, 16 KiB writes and reads",
    ),
    (
        "r_bulk_bytes_per_s",
        "B/s",
        "R: tokio-rustls one-way bulk, AES-128-GCM, 16 KiB writes and reads",
    ),
    (
        "p_bulk_bytes_per_s",
        "B/s",
        "P: StreamSocket one-way bulk to a tokio-rustls sink (the mock server has none), AES-128-GCM, 16 KiB",
    ),
    (
        "openssl_bulk_bytes_per_s",
        "B/s",
        "openssl s_server -WWW + s_time -www, one file per connection",
    ),
    (
        "m_instructions_per_handshake",
        "instr",
        "M: callgrind instructions per handshake unit (N=50 minus N=10; --quick: 30 minus 10)",
    ),
    (
        "r_instructions_per_handshake",
        "instr",
        "R: callgrind instructions per handshake unit (N=50 minus N=10; --quick: 30 minus 10)",
    ),
    (
        "p_instructions_per_handshake",
        "instr",
        "P: callgrind instructions per handshake unit (N=50 minus N=10; --quick: 30 minus 10)",
    ),
    (
        "r_idle_conn_heap_bytes",
        "B",
        "R: heap held per idle TLS connection on the tokio-rustls echo server",
    ),
    (
        "p_idle_conn_heap_bytes",
        "B",
        "P: heap held per idle TLS connection on the mock server",
    ),
    (
        "r_allocs_per_mib",
        "1/MiB",
        "R: allocations per MiB of bulk transfer (client and server together)",
    ),
    (
        "p_allocs_per_mib",
        "1/MiB",
        "P: allocations per MiB of bulk transfer (client and server together)",
    ),
    // CPU-time twins: units per CPU-second of the one thread that runs both sides.
    (
        "m_handshake_per_cpu_s",
        "1/cpu-s",
        "M: full handshake units per CPU-second",
    ),
    (
        "r_handshake_per_cpu_s",
        "1/cpu-s",
        "R: full handshake units per CPU-second (client and server thread)",
    ),
    (
        "p_handshake_per_cpu_s",
        "1/cpu-s",
        "P: full handshake units per CPU-second (client and server thread)",
    ),
    (
        "m_resumed_per_cpu_s",
        "1/cpu-s",
        "M: resumed handshake units per CPU-second",
    ),
    (
        "r_resumed_per_cpu_s",
        "1/cpu-s",
        "R: resumed handshake units per CPU-second",
    ),
    (
        "p_resumed_per_cpu_s",
        "1/cpu-s",
        "P: resumed handshake units per CPU-second",
    ),
    (
        "p_starttls_smtp_per_cpu_s",
        "1/cpu-s",
        "P: SMTP STARTTLS sessions per CPU-second",
    ),
    (
        "m_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "M: in-memory bulk bytes per CPU-second",
    ),
    (
        "tcp_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "plain TCP bulk bytes per CPU-second (sender and receiver thread)",
    ),
    (
        "r_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "R: bulk bytes per CPU-second (sender and receiver thread)",
    ),
    (
        "p_bulk_bytes_per_cpu_s",
        "B/cpu-s",
        "P: bulk bytes per CPU-second (sender and receiver thread)",
    ),
    // Callgrind: instructions per unit for the other unit kinds (N=30 minus N=10).
    (
        "m_instructions_per_resumed",
        "instr",
        "M: callgrind instructions per resumed handshake unit (difference of two counts)",
    ),
    (
        "r_instructions_per_resumed",
        "instr",
        "R: callgrind instructions per resumed handshake unit (difference of two counts)",
    ),
    (
        "p_instructions_per_resumed",
        "instr",
        "P: callgrind instructions per resumed handshake unit (difference of two counts)",
    ),
    (
        "p_instructions_per_smtp_session",
        "instr",
        "P: callgrind instructions per SMTP STARTTLS session",
    ),
    // strace -c -f: system calls per full handshake unit (N=100 minus N=0).
    (
        "r_syscalls_per_handshake",
        "calls",
        "R: system calls per full handshake unit (strace -c -f, N units minus none)",
    ),
    (
        "p_syscalls_per_handshake",
        "calls",
        "P: system calls per full handshake unit (strace -c -f, N units minus none)",
    ),
    (
        "p_syscalls_per_smtp_session",
        "calls",
        "P: system calls per SMTP STARTTLS session (strace -c -f)",
    ),
    (
        "p_cert_summaries_per_s",
        "1/s",
        "streamsocket::CertificateSummary::from_der over the served chain (leaf + intermediate), as the client's verifier does per handshake",
    ),
    (
        "p_cert_summaries_per_cpu_s",
        "1/cpu-s",
        "the same per CPU-second",
    ),
    (
        "r_allocs_per_handshake",
        "1/unit",
        "R: heap allocations per full handshake unit (client and server together)",
    ),
    (
        "p_allocs_per_handshake",
        "1/unit",
        "P: heap allocations per full handshake unit (client and server together)",
    ),
    (
        "p_allocs_per_cert_summary",
        "1/chain",
        "allocations of CertificateSummary::from_der over the served chain (part of p_allocs_per_handshake)",
    ),
    (
        "p_instructions_per_framed_session",
        "instr",
        "P: callgrind instructions per Framed upgrade session (plaintext connect, upgrade_with(Framed), echo)",
    ),
    (
        "p_instructions_per_handshake_ignoring",
        "instr",
        "P: callgrind instructions per full handshake unit with every ignorable certificate error class ignored (valid chain)",
    ),
    (
        "p_handshake_localhost_per_s",
        "1/s",
        "P: full handshakes per second connecting to \"localhost\" (resolved on every connect, on tokio's blocking pool)",
    ),
    (
        "x_tokio_client_mock_server_per_s",
        "1/s",
        "a tokio-rustls client against the mock server: full handshake units per second",
    ),
    (
        "x_tokio_client_mock_server_per_cpu_s",
        "1/cpu-s",
        "the same per CPU-second",
    ),
    (
        "x_streamsocket_client_tokio_server_per_s",
        "1/s",
        "a StreamSocket client against the tokio-rustls echo server: full handshake units per second",
    ),
    (
        "x_streamsocket_client_tokio_server_per_cpu_s",
        "1/cpu-s",
        "the same per CPU-second",
    ),
];
