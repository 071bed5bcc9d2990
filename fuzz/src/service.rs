//! The oracle of the `service_name` target: the client crate's service-name parsing
//! (`streamsocket::port_for`). It lives apart from `harness.rs` because it needs the client
//! crate, which the layer-1 replay test cannot depend on.
//!
//! Host-name parsing (the client's validation name: an IP address, bracketed or not, or a DNS
//! name) is private to `streamsocket` (`socket::server_name`) and only reachable through
//! `connect`, which does I/O; it has no target until it is exposed.

use streamsocket::{SERVICES, port_for};

/// `service_name`: the input, as lossy UTF-8, is a service. Oracles: no panic; a port is never
/// 0; all-digit services (after trimming) are exactly the ports 1..=65535; any other service is
/// a known name, compared case-insensitively; a port's decimal form names that port again.
pub fn service_name(data: &[u8]) {
    let service = String::from_utf8_lossy(data);
    let port = port_for(&service);
    let trimmed = service.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        let expected = trimmed.parse::<u16>().ok().filter(|p| *p != 0);
        assert_eq!(port, expected, "numeric service {trimmed:?}");
    } else {
        let expected = SERVICES
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(trimmed))
            .map(|(_, port)| *port);
        assert_eq!(port, expected, "named service {trimmed:?}");
    }
    if let Some(port) = port {
        assert_ne!(port, 0);
        assert_eq!(port_for(&port.to_string()), Some(port));
    }
}
