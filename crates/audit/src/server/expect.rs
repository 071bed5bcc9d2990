//! A saved server audit to compare against (`--write-expect FILE`, then `--expect FILE`), as
//! TLS-Anvil compares runs: the failures it lists are known and do not fail the run, a new one
//! does, and so does a level that was refused and is accepted now.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use proto::ProtectionLevel;
use serde::{Deserialize, Serialize};

use super::{FindingKind, LevelStatus, ServerAudit};

/// What a baseline keeps: each level's status and the kinds of the failures.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct ServerBaseline {
    /// Each level's status when the baseline was written.
    pub levels: BTreeMap<ProtectionLevel, LevelStatus>,
    /// The kinds of the failures then.
    pub failures: BTreeSet<FindingKind>,
}

/// Why a baseline could not be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExpectError {
    /// The file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a baseline.
    #[error("{path} is not a server audit baseline")]
    Format {
        /// The file.
        path: String,
        /// What went wrong.
        #[source]
        source: serde_json::Error,
    },
}

/// An audit against a baseline.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Comparison {
    /// Failures the baseline does not list.
    pub new: Vec<FindingKind>,
    /// Failures it lists.
    pub known: Vec<FindingKind>,
    /// Failures it lists that are gone.
    pub fixed: Vec<FindingKind>,
    /// Levels whose status changed: level, then, now.
    pub changed: Vec<(ProtectionLevel, LevelStatus, LevelStatus)>,
}

impl ServerBaseline {
    /// The baseline of `audit`.
    pub fn of(audit: &ServerAudit) -> Self {
        Self {
            levels: audit.levels.iter().map(|r| (r.level, r.status)).collect(),
            failures: audit.failures().map(|f| f.kind).collect(),
        }
    }

    /// Reads a baseline written by [`ServerBaseline::write`].
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a baseline.
    pub fn read(path: &Path) -> Result<Self, ExpectError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ExpectError::Io {
            path: name.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ExpectError::Format { path: name, source })
    }

    /// Writes the baseline as JSON.
    ///
    /// # Errors
    ///
    /// When the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), ExpectError> {
        let io = |source| ExpectError::Io {
            path: path.display().to_string(),
            source,
        };
        let json = serde_json::to_vec_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(path, json).map_err(io)
    }

    /// Compares `audit` with this baseline.
    pub fn compare(&self, audit: &ServerAudit) -> Comparison {
        let now: BTreeSet<FindingKind> = audit.failures().map(|f| f.kind).collect();
        let changed = audit
            .levels
            .iter()
            .filter_map(|row| {
                let then = *self.levels.get(&row.level)?;
                (then != row.status).then_some((row.level, then, row.status))
            })
            .collect();
        Comparison {
            new: now.difference(&self.failures).copied().collect(),
            known: now.intersection(&self.failures).copied().collect(),
            fixed: self.failures.difference(&now).copied().collect(),
            changed,
        }
    }
}

impl Comparison {
    /// Whether the run fails against the baseline: a new failure, or a level refused then and
    /// accepted now.
    pub fn fails(&self) -> bool {
        !self.new.is_empty()
            || self
                .changed
                .iter()
                .any(|&(_, then, now)| then == LevelStatus::Refused && now == LevelStatus::Accepted)
    }

    /// The exit status against the baseline: 1 when it fails, 0 otherwise.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.fails())
    }

    /// One line per difference, for the terminal.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let list =
            |kinds: &[FindingKind]| kinds.iter().map(|k| k.id()).collect::<Vec<_>>().join(", ");
        for (word, kinds) in [
            ("new", &self.new),
            ("known", &self.known),
            ("fixed", &self.fixed),
        ] {
            if !kinds.is_empty() {
                let _ = writeln!(out, "expect: {word} {}", list(kinds));
            }
        }
        for (level, then, now) in &self.changed {
            let _ = writeln!(out, "expect: {level} was {then}, is {now}");
        }
        if out.is_empty() {
            out.push_str("expect: as expected\n");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::judge::{Finding, LevelRow, Severity};

    fn audit(levels: &[(ProtectionLevel, LevelStatus)], failures: &[FindingKind]) -> ServerAudit {
        ServerAudit {
            host: "127.0.0.1".into(),
            address: "127.0.0.1:25".parse().expect("an address"),
            dialect: proto::starttls::Dialect::Smtp,
            name: "localhost".into(),
            levels: levels
                .iter()
                .map(|&(level, status)| LevelRow {
                    level,
                    status,
                    detail: String::new(),
                })
                .collect(),
            findings: failures
                .iter()
                .map(|&kind| Finding {
                    kind,
                    severity: Severity::Fail,
                    message: String::new(),
                })
                .collect(),
            observations: crate::server::judge::tests::safe(),
        }
    }

    #[test]
    fn known_failures_pass_new_ones_fail_and_fixed_ones_are_named() {
        let then = audit(
            &[(ProtectionLevel::Tls10, LevelStatus::Accepted)],
            &[FindingKind::InjectionSameWrite],
        );
        let baseline = ServerBaseline::of(&then);
        let same = baseline.compare(&then);
        assert!(!same.fails());
        assert_eq!(same.known, [FindingKind::InjectionSameWrite]);
        assert_eq!(same.summary(), "expect: known injection-same-write\n");
        let now = audit(
            &[(ProtectionLevel::Tls10, LevelStatus::Refused)],
            &[FindingKind::InjectionLaterWrite],
        );
        let comparison = baseline.compare(&now);
        assert!(comparison.fails());
        assert_eq!(comparison.new, [FindingKind::InjectionLaterWrite]);
        assert_eq!(comparison.fixed, [FindingKind::InjectionSameWrite]);
        assert_eq!(
            comparison.changed,
            [(
                ProtectionLevel::Tls10,
                LevelStatus::Accepted,
                LevelStatus::Refused
            )]
        );
    }

    #[test]
    fn a_level_refused_then_and_accepted_now_fails() {
        let then = audit(&[(ProtectionLevel::Tls11, LevelStatus::Refused)], &[]);
        let now = audit(&[(ProtectionLevel::Tls11, LevelStatus::Accepted)], &[]);
        let comparison = ServerBaseline::of(&then).compare(&now);
        assert!(comparison.fails());
        assert_eq!(comparison.exit_code(), 1);
        // The other way round is an improvement.
        let comparison = ServerBaseline::of(&now).compare(&then);
        assert!(!comparison.fails());
    }

    #[test]
    fn a_baseline_survives_its_file() {
        let then = audit(
            &[(ProtectionLevel::Ssl, LevelStatus::Accepted)],
            &[FindingKind::WeakSuite],
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let path = dir.path().join("expect.json");
        let baseline = ServerBaseline::of(&then);
        baseline.write(&path).expect("written");
        assert_eq!(ServerBaseline::read(&path).expect("read"), baseline);
        std::fs::write(&path, b"[1, 2]").expect("overwritten");
        assert!(matches!(
            ServerBaseline::read(&path),
            Err(ExpectError::Format { .. })
        ));
    }
}
