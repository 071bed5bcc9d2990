//! TLS alert descriptions under their registry names.
//!
//! An alert is one byte on the wire (RFC 8446 section 6); the names are those of the IANA
//! "TLS Alerts" registry, which every TLS implementation and RFC uses (`unknown_ca`,
//! `bad_certificate`, ...). They are the stable names the mock server's observations and the
//! audits report, whatever a TLS library calls its own enum variants.
//!
//! ```
//! use streamsocket_proto::alert::Alert;
//!
//! assert_eq!(Alert(48).to_string(), "unknown_ca");
//! assert_eq!(Alert(200).to_string(), "unknown(200)");
//! ```

use std::fmt;

/// A TLS alert description, the byte a peer sent.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd)]
pub struct Alert(pub u8);

/// The registry's codes and names; reserved codes keep the name of the RFC that defined them.
const NAMES: &[(u8, &str)] = &[
    (0, "close_notify"),
    (10, "unexpected_message"),
    (20, "bad_record_mac"),
    (21, "decryption_failed"),
    (22, "record_overflow"),
    (30, "decompression_failure"),
    (40, "handshake_failure"),
    (41, "no_certificate"),
    (42, "bad_certificate"),
    (43, "unsupported_certificate"),
    (44, "certificate_revoked"),
    (45, "certificate_expired"),
    (46, "certificate_unknown"),
    (47, "illegal_parameter"),
    (48, "unknown_ca"),
    (49, "access_denied"),
    (50, "decode_error"),
    (51, "decrypt_error"),
    (60, "export_restriction"),
    (70, "protocol_version"),
    (71, "insufficient_security"),
    (80, "internal_error"),
    (86, "inappropriate_fallback"),
    (90, "user_canceled"),
    (100, "no_renegotiation"),
    (109, "missing_extension"),
    (110, "unsupported_extension"),
    (111, "certificate_unobtainable"),
    (112, "unrecognized_name"),
    (113, "bad_certificate_status_response"),
    (114, "bad_certificate_hash_value"),
    (115, "unknown_psk_identity"),
    (116, "certificate_required"),
    (120, "no_application_protocol"),
    (121, "ech_required"),
];

impl Alert {
    /// `close_notify`: the orderly end of a TLS connection, not an error.
    pub const CLOSE_NOTIFY: Self = Self(0);
    /// `protocol_version`: how a peer refuses the version the other one chose or offered.
    pub const PROTOCOL_VERSION: Self = Self(70);

    /// The registry name, or `None` for a code the registry does not assign.
    pub fn name(self) -> Option<&'static str> {
        NAMES
            .binary_search_by_key(&self.0, |&(code, _)| code)
            .ok()
            .and_then(|i| NAMES.get(i))
            .map(|&(_, name)| name)
    }

    /// The alert of a registry name (`"unknown_ca"`), if the registry has it.
    pub fn from_name(name: &str) -> Option<Self> {
        NAMES
            .iter()
            .find(|&&(_, n)| n == name)
            .map(|&(code, _)| Self(code))
    }
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown({})", self.0),
        }
    }
}

impl Alert {
    /// Reads back what [`Display`](fmt::Display) wrote: a registry name, or `unknown(N)` for a
    /// code the registry does not assign.
    pub fn from_display(s: &str) -> Option<Self> {
        if let Some(code) = s.strip_prefix("unknown(").and_then(|c| c.strip_suffix(')')) {
            return code.parse().ok().map(Self).filter(|a| a.name().is_none());
        }
        Self::from_name(s)
    }
}

impl From<rustls::AlertDescription> for Alert {
    fn from(alert: rustls::AlertDescription) -> Self {
        Self(u8::from(alert))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_reads_back_from_its_display() {
        for code in 0..=u8::MAX {
            let alert = Alert(code);
            assert_eq!(Alert::from_display(&alert.to_string()), Some(alert));
        }
        assert_eq!(Alert::from_display("unknown(48)"), None, "48 has a name");
        assert_eq!(Alert::from_display("unknown(256)"), None);
        assert_eq!(Alert::from_display("nonsense"), None);
    }

    #[test]
    fn the_table_is_sorted_and_names_are_unique() {
        assert!(NAMES.windows(2).all(|w| w[0].0 < w[1].0));
        for &(code, name) in NAMES {
            assert_eq!(Alert::from_name(name), Some(Alert(code)));
        }
    }

    /// rustls knows the same registry under its own variant names; every code it names is
    /// named alike here, up to case, underscores, one British spelling and the ECH abbreviation (its `Debug` only
    /// serves as a second opinion, never as a name).
    #[test]
    fn names_agree_with_rustls_for_every_code() {
        let squash = |s: &str| -> String {
            s.chars()
                .filter(char::is_ascii_alphanumeric)
                .map(|c| c.to_ascii_lowercase())
                .collect::<String>()
                .replace("unrecognised", "unrecognized")
                .replace("encryptedclienthello", "ech")
        };
        let mut compared = 0;
        for code in 0..=u8::MAX {
            let theirs = format!("{:?}", rustls::AlertDescription::from(code));
            if theirs.contains('(') {
                assert_eq!(Alert(code).name(), None, "code {code}: {theirs}");
                continue;
            }
            let ours = Alert(code).name().unwrap_or_default();
            assert_eq!(squash(ours), squash(&theirs), "code {code}");
            compared += 1;
        }
        assert!(compared >= 30, "rustls named only {compared} alerts");
    }

    #[test]
    fn unassigned_codes_print_their_number() {
        assert_eq!(Alert(1).name(), None);
        assert_eq!(Alert(255).to_string(), "unknown(255)");
        assert_eq!(Alert::from_name("no_such_alert"), None);
    }
}
