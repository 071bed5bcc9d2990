//! Host and service parsing, which is layer 1's (`proto::service`), as the socket uses it, and
//! the one place where its errors become the crate's [`Error`].

use proto::service::{InvalidHostName, UnknownService};
pub(crate) use proto::service::{Service, parse_ip, validation_name};

use crate::Error;

/// A host that names nothing is the caller's mistake.
impl From<InvalidHostName> for Error {
    fn from(err: InvalidHostName) -> Self {
        Self::invalid(err.to_string())
    }
}

/// So is a service that names no port.
impl From<UnknownService> for Error {
    fn from(err: UnknownService) -> Self {
        Self::invalid(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn a_host_that_is_neither_an_address_nor_a_dns_name_is_an_invalid_argument() {
        for bad in ["", "not a name", "exa mple.com", "[::1"] {
            let err = Error::from(validation_name(bad).unwrap_err());
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{bad:?}");
            assert_eq!(
                err.to_string(),
                format!("invalid argument: {bad:?} is neither an IP address nor a valid DNS name")
            );
        }
    }
}
