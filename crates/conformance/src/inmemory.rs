//! Checks that need no socket: the core's policy table against the oracle's, for every level
//! and minimum.

use proto::level::{Decision, decide};
use proto::{ProtectionLevel, TlsVersion};
use serde::Serialize;

use crate::oracle::{Failure, LevelVerdict, Version, level_verdict};

/// One in-memory check: what the oracle expects, what the core did.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Which table and row.
    pub name: String,
    /// The oracle's verdict, printed.
    pub expected: String,
    /// The implementation's result, printed.
    pub observed: String,
    /// Whether they agree.
    pub pass: bool,
}

/// Every level with every minimum (none, and each level), in connect and in upgrade form.
pub fn policy_table() -> Vec<Check> {
    let minimums = std::iter::once(None).chain(ProtectionLevel::ALL.map(Some));
    let mut checks = Vec::new();
    for minimum in minimums {
        for level in ProtectionLevel::ALL {
            for upgrade in [false, true] {
                let expected = level_verdict(level, minimum, upgrade);
                let observed = observe(decide(level, minimum), upgrade);
                checks.push(Check {
                    name: format!(
                        "policy {level} min={} {}",
                        minimum.map_or_else(|| "none".to_owned(), |m| m.to_string()),
                        if upgrade { "upgrade" } else { "connect" }
                    ),
                    expected: format!("{expected:?}"),
                    observed: format!("{observed:?}"),
                    pass: expected == observed,
                });
            }
        }
    }
    checks
}

/// The core's decision in the oracle's vocabulary. Upgrading with `PlainSocket` is the
/// client's rule (an invalid argument), applied here as the client applies it.
fn observe(decision: Decision, upgrade: bool) -> LevelVerdict {
    match decision {
        Decision::Plaintext if upgrade => LevelVerdict::Refuse(Failure::InvalidArgument),
        Decision::Plaintext => LevelVerdict::Plaintext,
        Decision::Tls(set) => LevelVerdict::Offer(
            set.versions()
                .into_iter()
                .map(|v| match v {
                    TlsVersion::Tls12 => Version::Tls12,
                    TlsVersion::Tls13 => Version::Tls13,
                })
                .collect(),
        ),
        Decision::Unsupported(_) => LevelVerdict::Refuse(Failure::UnsupportedLevel),
        Decision::Invalid(_) => LevelVerdict::Refuse(Failure::InvalidArgument),
    }
}
