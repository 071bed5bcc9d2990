//! Host and service names: the `HostName` and `ServiceName` halves of a WinRT endpoint, read
//! without resolving anything.
//!
//! ```
//! use rustls::pki_types::ServerName;
//! use streamsocket_proto::service::{Service, port_for, validation_name};
//!
//! assert_eq!(port_for("submission"), Some(587));
//! assert_eq!(Service::from("IMAPS").port(), Ok(993));
//! assert!(Service::from(0).port().is_err());
//! assert!(matches!(validation_name("[::1]"), Ok(ServerName::IpAddress(_))));
//! assert!(validation_name("exa mple.com").is_err());
//! ```

use std::fmt;
use std::net::IpAddr;

use rustls::pki_types::ServerName;

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
    ("mysql", 3306),
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
/// port or a well-known service name). A client's `connect` takes anything that converts into
/// it, so a caller passes `587`, `"submission"` or a `&String` alike.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Service<'a> {
    /// A service name or a decimal port, as text.
    Name(&'a str),
    /// A port number (0 is refused when connecting).
    Port(u16),
}

impl Service<'_> {
    /// The TCP port; port 0 and names [`port_for`] does not know are refused.
    pub fn port(self) -> Result<u16, UnknownService> {
        let port = match self {
            Self::Name(name) => port_for(name),
            Self::Port(0) => None,
            Self::Port(port) => Some(port),
        };
        port.ok_or_else(|| UnknownService(self.to_string()))
    }
}

impl fmt::Display for Service<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
/// else is refused; nothing is resolved.
pub fn validation_name(host: &str) -> Result<ServerName<'static>, InvalidHostName> {
    if let Some(ip) = parse_ip(host) {
        return Ok(ServerName::IpAddress(ip.into()));
    }
    ServerName::try_from(host.to_owned()).map_err(|_| InvalidHostName(host.to_owned()))
}

/// `host` as an IP literal, brackets allowed (`127.0.0.1`, `::1`, `[::1]`).
pub fn parse_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// A host that is neither an IP address nor a valid DNS name.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{0:?} is neither an IP address nor a valid DNS name")]
pub struct InvalidHostName(String);

impl InvalidHostName {
    /// The host as given.
    pub fn host(&self) -> &str {
        &self.0
    }
}

/// A service that is neither a port number (1 to 65535) nor a name in [`SERVICES`].
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("service {0} is neither a port number (1-65535) nor a known service name")]
pub struct UnknownService(String);

impl UnknownService {
    /// The service as given (a name quoted, a number bare).
    pub fn service(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests;
