//! Host and service names: the `HostName` and `ServiceName` halves of a WinRT endpoint.

use std::net::IpAddr;

use rustls_pki_types::ServerName;

use crate::Error;

/// Well-known service names and their TCP ports (IANA registry), sorted by name.
///
/// `smtps` is the common alias of `submissions` (RFC 8314); both name port 465.
pub const SERVICES: &[(&str, u16)] = &[
    ("http", 80),
    ("https", 443),
    ("imap", 143),
    ("imaps", 993),
    ("ldap", 389),
    ("ldaps", 636),
    ("pop3", 110),
    ("pop3s", 995),
    ("postgresql", 5432),
    ("smtp", 25),
    ("smtps", 465),
    ("submission", 587),
    ("submissions", 465),
    ("xmpp-client", 5222),
];

/// The remote service of a connect: a port number, or a name that [`port_for`] reads (a decimal
/// port or a well-known service name). `connect` takes anything that converts into it, so a
/// caller passes `587`, `"submission"` or a `&String` alike.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Service<'a> {
    /// A service name or a decimal port, as text.
    Name(&'a str),
    /// A port number (0 is refused when connecting).
    Port(u16),
}

impl Service<'_> {
    /// The TCP port, or `None` for port 0 and for names [`port_for`] does not know.
    pub fn port(self) -> Option<u16> {
        match self {
            Self::Name(name) => port_for(name),
            Self::Port(0) => None,
            Self::Port(port) => Some(port),
        }
    }
}

impl std::fmt::Display for Service<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Name(name) => write!(f, "{name:?}"),
            Self::Port(port) => write!(f, "{port}"),
        }
    }
}

impl From<u16> for Service<'_> {
    fn from(port: u16) -> Self {
        Self::Port(port)
    }
}

impl<'a> From<&'a str> for Service<'a> {
    fn from(name: &'a str) -> Self {
        Self::Name(name)
    }
}

impl<'a> From<&'a String> for Service<'a> {
    fn from(name: &'a String) -> Self {
        Self::Name(name)
    }
}

/// The TCP port a service names: a decimal port number (1 to 65535) or a name from
/// [`SERVICES`], compared case-insensitively.
pub fn port_for(service: &str) -> Option<u16> {
    let service = service.trim();
    if !service.is_empty() && service.bytes().all(|b| b.is_ascii_digit()) {
        return service.parse::<u16>().ok().filter(|port| *port != 0);
    }
    SERVICES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(service))
        .map(|(_, port)| *port)
}

/// The name a certificate is validated for (and sent as SNI, unless it is an IP address):
/// an IP address, bracketed or not (`127.0.0.1`, `::1`, `[::1]`), or a DNS name. Anything
/// else is an invalid argument; nothing is resolved.
pub fn validation_name(host: &str) -> Result<ServerName<'static>, Error> {
    if let Some(ip) = parse_ip(host) {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_owned()).map_err(|_| {
        Error::invalid(format!(
            "{host:?} is neither an IP address nor a valid DNS name"
        ))
    })
}

/// `host` as an IP literal, brackets allowed.
pub(crate) fn parse_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_names_are_ip_literals_or_dns_names() {
        assert!(matches!(
            validation_name("127.0.0.1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            validation_name("[::1]"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            validation_name("::1"),
            Ok(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            validation_name("mail.example.com"),
            Ok(ServerName::DnsName(_))
        ));
        for bad in ["", "not a name", "exa mple.com", "[::1"] {
            let err = validation_name(bad).unwrap_err();
            assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument, "{bad:?}");
        }
    }

    #[test]
    fn every_required_service_name_has_its_iana_port() {
        let expected = [
            ("http", 80),
            ("https", 443),
            ("smtp", 25),
            ("submission", 587),
            ("submissions", 465),
            ("smtps", 465),
            ("imap", 143),
            ("imaps", 993),
            ("pop3", 110),
            ("pop3s", 995),
            ("ldap", 389),
            ("ldaps", 636),
            ("postgresql", 5432),
            ("xmpp-client", 5222),
        ];
        for (name, port) in expected {
            assert_eq!(port_for(name), Some(port), "{name}");
            assert_eq!(
                port_for(&name.to_uppercase()),
                Some(port),
                "{name} in capitals"
            );
        }
    }

    #[test]
    fn numeric_ports_are_accepted_and_zero_or_overflow_is_not() {
        assert_eq!(port_for("8443"), Some(8443));
        assert_eq!(port_for("65535"), Some(65535));
        assert_eq!(port_for("0"), None);
        assert_eq!(port_for("65536"), None);
        assert_eq!(port_for(""), None);
        assert_eq!(port_for("gopher"), None);
        assert_eq!(port_for("-1"), None);
    }
}
