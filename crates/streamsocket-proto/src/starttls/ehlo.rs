//! The name an SMTP client gives in EHLO, as a type that cannot hold anything else.

use std::fmt;
use std::str::FromStr;

/// A domain name or an address literal (RFC 5321 section 4.1.1.1 and 4.1.3), the only things an
/// SMTP client may put after `EHLO`.
///
/// A domain is dot-separated labels of 1 to 63 letters, digits and inner hyphens; an address
/// literal is `[` letters, digits, `.` and `:` `]` (`[192.0.2.1]`, `[IPv6:2001:db8::1]`); either
/// is at most 255 octets. Nothing that could end the command line or start another (CR, LF,
/// space, ...) can be held, so the line the machine writes is always one EHLO command.
///
/// ```
/// use streamsocket_proto::starttls::EhloName;
///
/// assert_eq!("mail.example.org".parse::<EhloName>().unwrap().as_str(), "mail.example.org");
/// assert!("[IPv6:2001:db8::1]".parse::<EhloName>().is_ok());
/// assert!("a\r\nRCPT TO:<x>".parse::<EhloName>().is_err());
/// assert_eq!(EhloName::default().as_str(), "localhost");
/// ```
#[derive(Clone, Debug, Eq, Hash, PartialEq)]
pub struct EhloName(String);

impl EhloName {
    /// Parses `name`.
    pub fn new(name: impl Into<String>) -> Result<Self, InvalidEhloName> {
        let name = name.into();
        if is_ehlo_name(&name) {
            Ok(Self(name))
        } else {
            Err(InvalidEhloName(name))
        }
    }

    /// The name as it is written after `EHLO`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for EhloName {
    /// `localhost`.
    fn default() -> Self {
        Self("localhost".to_owned())
    }
}

impl fmt::Display for EhloName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for EhloName {
    type Err = InvalidEhloName;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl AsRef<str> for EhloName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<str> for EhloName {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for EhloName {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// A string that is neither a domain name nor an address literal.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{0:?} is neither a domain name nor an address literal")]
pub struct InvalidEhloName(String);

fn is_ehlo_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    if let Some(literal) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        return !literal.is_empty()
            && literal
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b':'));
    }
    name.split('.').all(|label| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn domains_and_address_literals_are_names() {
        for good in [
            "localhost",
            "mail.example.org",
            "client-1",
            "[192.0.2.1]",
            "[IPv6:2001:db8::1]",
        ] {
            assert_eq!(
                EhloName::new(good).map(|n| n.to_string()),
                Ok(good.to_owned())
            );
        }
        let long_label = "a".repeat(64);
        let too_long = ["abc"; 65].join(".");
        for bad in [
            "",
            "a\r\nRCPT TO:<x>",
            "two words",
            "-leading.example",
            "trailing-.example",
            "a..b",
            "[]",
            "[1.2.3.4] x",
            "[1.2.3.4\r\n]",
            "\u{e9}t\u{e9}.example",
            long_label.as_str(),
            too_long.as_str(),
        ] {
            let err = EhloName::new(bad).unwrap_err();
            assert!(err.to_string().contains("neither a domain name"), "{bad:?}");
        }
    }

    proptest! {
        /// Whatever the input, a name that parses is one token of printable ASCII: the EHLO line
        /// built from it is exactly one command line.
        #[test]
        fn a_parsed_name_never_carries_a_line_end_or_a_second_word(input in ".{0,80}") {
            if let Ok(name) = EhloName::new(input.clone()) {
                let line = format!("EHLO {name}\r\n");
                prop_assert_eq!(line.matches("\r\n").count(), 1);
                prop_assert!(!name.as_str().contains(['\r', '\n', ' ', '\t', '\0']));
                prop_assert!(name.as_str().bytes().all(|b| b.is_ascii_graphic()));
                prop_assert_eq!(name.as_str(), input.as_str());
            }
        }

        /// Any ASCII domain of valid labels parses.
        #[test]
        fn valid_label_sequences_parse(labels in prop::collection::vec("[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?", 1..5)) {
            let name = labels.join(".");
            prop_assert!(EhloName::new(name).is_ok());
        }
    }
}
