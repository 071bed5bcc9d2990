//! Known deviations, as TLS-Anvil's expected results are: a baseline lists the cases that
//! failed when it was written. Against it, a run fails only on new findings; listed cases
//! that fail again are known, listed cases that no longer fail are reported as fixed.
//!
//! ```
//! use streamsocket_audit::expect::Baseline;
//!
//! let baseline: Baseline = serde_json::from_str(r#"{"failing": ["smtp-expired-honest"]}"#)?;
//! assert!(baseline.failing.contains("smtp-expired-honest"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::report::{Audit, Outcome};
use crate::verdict::Verdict;

/// The cases known to fail, by id.
#[derive(Clone, Debug, Default, Deserialize, Eq, PartialEq, Serialize)]
pub struct Baseline {
    /// The ids of the cases whose verdict was `fail`.
    pub failing: BTreeSet<String>,
}

/// A run compared with a baseline.
#[derive(Clone, Debug, Default, Eq, PartialEq, Serialize)]
pub struct Comparison {
    /// Failing now and listed: known deviations, not findings.
    pub known: Vec<String>,
    /// Failing now and not listed: findings.
    pub new: Vec<String>,
    /// Listed, run, and no longer failing.
    pub fixed: Vec<String>,
}

impl Baseline {
    /// Today's failures, to be written with `--write-expect`.
    pub fn of(audit: &Audit) -> Self {
        Self {
            failing: audit.with(Verdict::Fail).map(|r| r.id.clone()).collect(),
        }
    }

    /// Reads a baseline file.
    ///
    /// # Errors
    ///
    /// If it cannot be read or is not a baseline.
    pub fn read(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read(path).map_err(Error::Io)?;
        serde_json::from_slice(&text).map_err(Error::Json)
    }

    /// Writes the baseline as JSON.
    ///
    /// # Errors
    ///
    /// If the file cannot be written.
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        let mut json = serde_json::to_vec_pretty(self).map_err(Error::Json)?;
        json.push(b'\n');
        std::fs::write(path, json).map_err(Error::Io)
    }

    /// Sorts the run's failures into known and new, and the listed cases that now pass (or
    /// warn, or are informational) into fixed. Listed cases that did not run are left out.
    pub fn compare(&self, audit: &Audit) -> Comparison {
        let mut out = Comparison::default();
        for result in &audit.results {
            let listed = self.failing.contains(&result.id);
            match (result.judgement.verdict == Verdict::Fail, listed) {
                (true, true) => out.known.push(result.id.clone()),
                (true, false) => out.new.push(result.id.clone()),
                (false, true) => out.fixed.push(result.id.clone()),
                (false, false) => {}
            }
        }
        out
    }
}

impl Comparison {
    /// The exit status's outcome: findings only when a failure is new; a run that never
    /// connected stays a set-up problem whatever the baseline says.
    pub fn outcome(&self, audit: &Audit) -> Outcome {
        match audit.outcome() {
            Outcome::NeverConnected => Outcome::NeverConnected,
            Outcome::Clean | Outcome::Findings if self.new.is_empty() => Outcome::Clean,
            Outcome::Clean | Outcome::Findings => Outcome::Findings,
        }
    }

    /// One line per new, known and fixed case, for the terminal.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        for (label, ids) in [
            ("NEW", &self.new),
            ("KNOWN", &self.known),
            ("FIXED", &self.fixed),
        ] {
            for id in ids {
                out.push_str(label);
                out.push(' ');
                out.push_str(id);
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "against the baseline: {} new, {} known, {} fixed\n",
            self.new.len(),
            self.known.len(),
            self.fixed.len()
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{audit, result};

    #[test]
    fn only_new_failures_are_findings_and_fixed_ones_are_reported() {
        let run = audit(vec![
            result("known", Verdict::Fail, true),
            result("new", Verdict::Fail, true),
            result("fixed", Verdict::Pass, true),
            result("quiet", Verdict::Pass, true),
        ]);
        let baseline = Baseline {
            failing: ["known", "fixed", "not-run"].map(str::to_owned).into(),
        };
        let cmp = baseline.compare(&run);
        assert_eq!(cmp.known, ["known"]);
        assert_eq!(cmp.new, ["new"]);
        assert_eq!(cmp.fixed, ["fixed"]);
        assert_eq!(cmp.outcome(&run), Outcome::Findings);
        assert!(
            cmp.summary().contains("1 new, 1 known, 1 fixed"),
            "{}",
            cmp.summary()
        );

        // Today's failures as the baseline: the same run is clean against it.
        let today = Baseline::of(&run);
        assert_eq!(today.failing, ["known", "new"].map(str::to_owned).into());
        assert_eq!(today.compare(&run).outcome(&run), Outcome::Clean);
    }

    #[test]
    fn a_run_that_never_connected_stays_a_set_up_problem() {
        let run = audit(vec![result("x", Verdict::Inconclusive, false)]);
        let cmp = Baseline::default().compare(&run);
        assert_eq!(cmp.outcome(&run), Outcome::NeverConnected);
    }

    #[test]
    fn a_baseline_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("expect.json");
        let baseline = Baseline {
            failing: ["smtp-expired"].map(str::to_owned).into(),
        };
        baseline.write(&path).unwrap();
        assert_eq!(Baseline::read(&path).unwrap(), baseline);
        std::fs::write(&path, "not json").unwrap();
        assert!(matches!(Baseline::read(&path), Err(Error::Json(_))));
    }
}
