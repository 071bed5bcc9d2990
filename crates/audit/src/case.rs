//! The audit's cases, derived from the mock server's catalogue (never a second list): each
//! catalogue entry gets a [`Category`] that says which verdict rule judges it, plus one
//! informational client-certificate case per dialect.

use std::fmt;
use std::time::Duration;

use mockserver::catalogue::{self, Entry};
use mockserver::{Behaviour, ClientAuth, MockConfig, VersionSet};
use proto::starttls::Dialect;
use serde::Serialize;
use testpki::{KeyKind, Scenario};

/// Which verdict rule judges a case.
#[derive(Clone, Copy, Debug, Eq, Hash, Ord, PartialEq, PartialOrd, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// A certificate chain that a correct client must refuse.
    BadCertificate,
    /// The server stalls after the go-ahead, answers the ClientHello with garbage or closes
    /// mid-handshake.
    BrokenHandshake,
    /// What the client supports (single-version servers, a required client certificate);
    /// never a finding.
    Informational,
    /// Plaintext appended to the go-ahead.
    Injection,
    /// The server answers as an SSL 3.0, TLS 1.0 or TLS 1.1 server would: with that version's
    /// `protocol_version` alert, or with a ServerHello of that version.
    Legacy,
    /// STARTTLS not advertised, refused (with each code, or a nonsense line), or made moot by
    /// IMAP `PREAUTH`.
    Stripping,
    /// The valid chain from an honest server (or one that requires TLS before anything else).
    ValidChain,
}

/// One audit case: a mock server to start and the rule that judges what it saw.
#[derive(Clone, Debug, Eq, PartialEq, Serialize)]
pub struct Case {
    /// Unique, stable name: the catalogue entry's name, with `-client-cert-required` for the
    /// client-certificate variant.
    pub id: String,
    /// The catalogue entry served.
    pub entry: Entry,
    /// The rule that judges it.
    pub category: Category,
    /// Whether the server requires a client certificate (the entry's honest server otherwise).
    pub client_cert_required: bool,
}

impl Category {
    /// Every category, in table order.
    pub const ALL: [Self; 7] = [
        Self::ValidChain,
        Self::BadCertificate,
        Self::Stripping,
        Self::Injection,
        Self::Legacy,
        Self::BrokenHandshake,
        Self::Informational,
    ];

    /// The kebab-case name, as serde writes it.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadCertificate => "bad-certificate",
            Self::BrokenHandshake => "broken-handshake",
            Self::Informational => "informational",
            Self::Injection => "injection",
            Self::Legacy => "legacy",
            Self::Stripping => "stripping",
            Self::ValidChain => "valid-chain",
        }
    }

    /// The rule for a catalogue entry.
    pub fn of(entry: &Entry) -> Self {
        match entry.behaviour {
            Behaviour::Honest | Behaviour::TlsRequired => {
                if entry.scenario != Scenario::Valid {
                    Self::BadCertificate
                } else if entry.tls != VersionSet::BOTH.to_string() {
                    Self::Informational
                } else {
                    Self::ValidChain
                }
            }
            Behaviour::StartTlsNotAdvertised
            | Behaviour::StartTlsRefused(_)
            | Behaviour::Preauth => Self::Stripping,
            Behaviour::ResponseInjection => Self::Injection,
            Behaviour::LegacyOnly(_) | Behaviour::LegacyServerHello(_) => Self::Legacy,
            Behaviour::StallAfterGoAhead
            | Behaviour::GarbageInsteadOfServerHello
            | Behaviour::CloseMidHandshake => Self::BrokenHandshake,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Every case for `dialects` (all of them when empty) whose id or category contains `filter`
/// (case-insensitive), in catalogue order.
pub fn cases(dialects: &[Dialect], filter: Option<&str>) -> Vec<Case> {
    let filter = filter.map(str::to_ascii_lowercase);
    let mut out = Vec::new();
    for entry in catalogue::entries() {
        if !dialects.is_empty() && !dialects.contains(&entry.dialect) {
            continue;
        }
        let client_cert_variant = entry.scenario == Scenario::Valid
            && entry.behaviour == Behaviour::Honest
            && entry.key_type == KeyKind::EcdsaP256
            && entry.tls == VersionSet::BOTH.to_string();
        let variant = client_cert_variant.then(|| Case {
            id: format!("{}-client-cert-required", entry.name),
            entry: entry.clone(),
            category: Category::Informational,
            client_cert_required: true,
        });
        out.push(Case {
            id: entry.name.clone(),
            category: Category::of(&entry),
            entry,
            client_cert_required: false,
        });
        out.extend(variant);
    }
    if let Some(filter) = filter {
        out.retain(|case| case.id.contains(&filter) || case.category.name().contains(&filter));
    }
    out
}

impl Case {
    /// The mock server's configuration for this case.
    ///
    /// A stalling server outlasts the case timeout, so that a client without a handshake
    /// timeout of its own is caught hanging instead of being released by the server.
    ///
    /// # Errors
    ///
    /// If testpki cannot issue the scenario.
    pub fn config(&self, case_timeout: Duration) -> Result<MockConfig, testpki::Error> {
        let mut config = self.entry.config()?;
        if self.client_cert_required {
            config.tls.client_auth = ClientAuth::Required;
        }
        if self.entry.behaviour == Behaviour::StallAfterGoAhead {
            config.limits.handshake_timeout = case_timeout + Duration::from_secs(5);
        }
        Ok(config)
    }

    /// The dialect spoken before TLS.
    pub fn dialect(&self) -> Dialect {
        self.entry.dialect
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_catalogue_entry_is_a_case_with_unique_ids() {
        let all = cases(&[], None);
        let ids: HashSet<_> = all.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids.len(), all.len());
        assert_eq!(
            all.iter().filter(|c| !c.client_cert_required).count(),
            catalogue::entries().len()
        );
        assert_eq!(
            all.iter().filter(|c| c.client_cert_required).count(),
            Dialect::ALL.len()
        );
        for category in Category::ALL {
            assert!(all.iter().any(|c| c.category == category), "{category}");
        }
    }

    #[test]
    fn dialects_and_filters_narrow_the_cases() {
        let smtp = cases(&[Dialect::Smtp], None);
        assert!(smtp.iter().all(|c| c.dialect() == Dialect::Smtp));
        let expired = cases(&[Dialect::Smtp], Some("EXPIRED"));
        assert!(!expired.is_empty());
        assert!(expired.iter().all(|c| c.id.contains("expired")));
        let legacy = cases(&[], Some("legacy"));
        assert!(legacy.iter().all(|c| c.category == Category::Legacy));
        // Per dialect: each old version as an alert and as a ServerHello.
        assert_eq!(legacy.len(), 6 * Dialect::ALL.len());
    }

    #[test]
    fn catalogue_expectations_agree_with_the_categories() {
        for case in cases(&[], None) {
            let must_fail = case.entry.expect == catalogue::Expect::Fail;
            match case.category {
                Category::ValidChain | Category::Informational => {
                    assert!(!must_fail, "{}", case.id);
                }
                _ => assert!(must_fail, "{}", case.id),
            }
        }
    }
}
