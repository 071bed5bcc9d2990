//! The oracles of the `service_name` and `host_name` targets: layer 1's host and service parsing
//! (`streamsocket_proto::service`), the two halves of an endpoint: the port a service names
//! (`port_for`) and the validation name of a host (`validation_name`), what certificates are
//! checked against and SNI carries.

use std::net::IpAddr;

use rustls::pki_types::ServerName;
use streamsocket_proto::service::{SERVICES, port_for, validation_name};

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

/// `host_name`: the input, as lossy UTF-8, is a host. Oracles: no panic; a refusal names the
/// host as given and is never one of an IP literal; an accepted IP address is exactly what the
/// text (brackets removed) parses to; an accepted DNS name is the input itself (less a final
/// dot), ASCII without spaces, control characters or brackets, at most 253 octets, and it is
/// accepted again (idempotent).
pub fn host_name(data: &[u8]) {
    let host = String::from_utf8_lossy(data);
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    match validation_name(&host) {
        Err(err) => {
            assert_eq!(err.host(), &*host, "a refusal names the host as given");
            assert!(
                bare.parse::<IpAddr>().is_err(),
                "{host:?} is an IP literal and was refused"
            );
        }
        Ok(ServerName::IpAddress(ip)) => {
            let parsed: IpAddr = bare.parse().expect("an accepted IP address parses");
            assert_eq!(IpAddr::from(ip), parsed, "{host:?}");
        }
        Ok(ServerName::DnsName(name)) => {
            let name = name.as_ref();
            // A fully qualified name's final dot is dropped (`example.com.` is `example.com`).
            let given = host.strip_suffix('.').unwrap_or(&host);
            assert_eq!(name, given, "a DNS name is taken as given");
            assert!(name.len() <= 253, "{name:?} is too long for DNS");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_graphic() && b != b'[' && b != b']'),
                "{name:?} has a character no DNS name has"
            );
            assert!(matches!(validation_name(name), Ok(ServerName::DnsName(_))));
        }
        Ok(other) => panic!("unexpected server name kind {other:?} for {host:?}"),
    }
}
