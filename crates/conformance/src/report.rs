//! Reports: the summary tables on stdout and `report.json`, `report.md`, `junit.xml` and
//! `report.html`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::Path;
use std::time::Duration;

use proto::ProtectionLevel;
use serde::Serialize;

use crate::case::{Case, Mode, ServerTls};
use crate::inmemory::Check;
use crate::oracle::{Expected, Outcome};

mod html;

/// What one case did.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case's identifier.
    pub id: String,
    /// Its axes.
    pub case: Case,
    /// The oracle's verdict.
    pub expected: Expected,
    /// What happened.
    pub observed: Outcome,
    /// Contract violations found besides the outcome (e.g. plaintext after a failure).
    pub violations: Vec<String>,
    /// Whether the case passed.
    pub pass: bool,
    /// The negotiated parameters the client reported (its `SocketInformation`), if any.
    pub information: Option<serde_json::Value>,
    /// Each certificate error in its own words, one line each ("Expired: leaf expired ...").
    pub certificate_errors: Vec<String>,
    /// The client's error kind (`ErrorKind` name), if it failed.
    pub error_kind: Option<String>,
    /// The client's error message with its sources, if it failed.
    pub error: Option<String>,
    /// Wall time of the case.
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1e3)
}

/// The whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// The in-memory checks.
    pub in_memory: Vec<Check>,
    /// The loopback cases.
    pub cases: Vec<CaseResult>,
    /// Wall time of the loopback matrix.
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
}

impl Report {
    /// Failed in-memory checks plus failed cases.
    pub fn failures(&self) -> usize {
        self.in_memory.iter().filter(|c| !c.pass).count()
            + self.cases.iter().filter(|c| !c.pass).count()
    }

    /// The summary tables, as printed on stdout.
    pub fn tables(&self) -> String {
        let mut out = String::new();
        let passed = self.in_memory.iter().filter(|c| c.pass).count();
        let _ = writeln!(
            out,
            "in-memory checks (policy table, dialect machines): {passed}/{} pass",
            self.in_memory.len()
        );
        for check in self.in_memory.iter().filter(|c| !c.pass) {
            let _ = writeln!(
                out,
                "  FAIL {}: expected {}, observed {}",
                check.name, check.expected, check.observed
            );
        }
        if self.cases.is_empty() {
            return out;
        }
        out.push('\n');
        out.push_str(&self.table("mode", &Mode::ALL.map(|m| m.name()), |c| c.mode.name()));
        out.push('\n');
        out.push_str(
            &self.table("server TLS", &ServerTls::ALL.map(|s| s.name()), |c| {
                c.server.name()
            }),
        );
        let contexts = self.certificate_contexts();
        if !contexts.is_empty() {
            out.push_str(
                "\ncertificate errors in their own words (first case of each scenario and key):\n",
            );
            for (scenario, lines) in contexts {
                let _ = writeln!(out, "  {scenario}");
                for line in lines {
                    let _ = writeln!(out, "    {line}");
                }
            }
        }
        let failed: Vec<&CaseResult> = self.cases.iter().filter(|c| !c.pass).collect();
        let _ = writeln!(
            out,
            "\n{} cases, {} passed, {} failed, in {:.1} s",
            self.cases.len(),
            self.cases.len() - failed.len(),
            failed.len(),
            self.duration.as_secs_f64()
        );
        for case in failed {
            let _ = writeln!(out, "FAIL {}", case.id);
            let _ = writeln!(out, "  expected: {}", compact(&case.expected.any_of));
            let _ = writeln!(
                out,
                "  observed: {}",
                compact(std::slice::from_ref(&case.observed))
            );
            for v in &case.violations {
                let _ = writeln!(out, "  violation: {v}");
            }
            if let Some(err) = &case.error {
                let _ = writeln!(out, "  error: {err}");
            }
        }
        out
    }

    /// The certificate error lines of the first case of each scenario and key that reported
    /// any, in scenario then key order: `("expired ed25519", ["Expired: leaf expired ..."])`.
    pub fn certificate_contexts(&self) -> Vec<(String, &[String])> {
        let mut first: BTreeMap<(crate::case::Scenario, crate::case::Key), &[String]> =
            BTreeMap::new();
        for result in &self.cases {
            if !result.certificate_errors.is_empty() {
                first
                    .entry((result.case.scenario, result.case.key))
                    .or_insert(&result.certificate_errors);
            }
        }
        first
            .into_iter()
            .map(|((scenario, key), lines)| (format!("{scenario} {key}"), lines))
            .collect()
    }

    /// One table: rows are client levels, columns the values of one axis; cells are
    /// `passed/total`, with `!` where a case failed.
    fn table(&self, axis: &str, columns: &[&str], column_of: impl Fn(&Case) -> &str) -> String {
        let mut cells: BTreeMap<(ProtectionLevel, &str), (usize, usize)> = BTreeMap::new();
        for result in &self.cases {
            let cell = cells
                .entry((result.case.level, column_of(&result.case)))
                .or_default();
            cell.1 += 1;
            if result.pass {
                cell.0 += 1;
            }
        }
        let width = ProtectionLevel::ALL
            .iter()
            .map(|l| l.name().len())
            .max()
            .unwrap_or(10);
        let mut out = format!("{:width$} | {axis}\n", "level");
        let _ = write!(out, "{:width$}", "");
        for column in columns {
            let _ = write!(out, " | {column:>9}");
        }
        out.push('\n');
        for level in ProtectionLevel::ALL {
            let _ = write!(out, "{:width$}", level.name());
            for column in columns {
                let cell = match cells.get(&(level, *column)) {
                    None => "-".to_owned(),
                    Some((pass, total)) if pass == total => format!("{pass}/{total}"),
                    Some((pass, total)) => format!("!{pass}/{total}"),
                };
                let _ = write!(out, " | {cell:>9}");
            }
            out.push('\n');
        }
        out
    }

    /// Writes `report.json`, `report.md` and `junit.xml` into `dir`.
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        fs::create_dir_all(dir)?;
        fs::write(dir.join("report.json"), serde_json::to_vec_pretty(self)?)?;
        fs::write(dir.join("report.md"), self.markdown())?;
        fs::write(dir.join("junit.xml"), self.junit())?;
        fs::write(dir.join("report.html"), self.html())?;
        Ok(())
    }

    fn markdown(&self) -> String {
        let mut out = String::from("# Conformance report\n\n```text\n");
        out.push_str(&self.tables());
        out.push_str(
            "```\n\n## Cases\n\n| case | expected | observed | pass |\n|---|---|---|---|\n",
        );
        for case in &self.cases {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                case.id,
                compact(&case.expected.any_of),
                compact(std::slice::from_ref(&case.observed)),
                if case.pass { "yes" } else { "**NO**" }
            );
        }
        out
    }

    fn junit(&self) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuites><testsuite name=\"conformance\" tests=\"{}\" failures=\"{}\" time=\"{:.3}\">",
            self.cases.len() + self.in_memory.len(),
            self.failures(),
            self.duration.as_secs_f64()
        );
        for check in &self.in_memory {
            let _ = write!(
                out,
                "<testcase classname=\"in-memory\" name=\"{}\">",
                xml_escape(&check.name)
            );
            if !check.pass {
                let _ = write!(
                    out,
                    "<failure message=\"expected {} observed {}\"/>",
                    xml_escape(&check.expected),
                    xml_escape(&check.observed)
                );
            }
            out.push_str("</testcase>\n");
        }
        for case in &self.cases {
            let _ = write!(
                out,
                "<testcase classname=\"loopback.{}\" name=\"{}\" time=\"{:.3}\">",
                case.case.mode.name(),
                xml_escape(&case.id),
                case.duration.as_secs_f64()
            );
            if !case.pass {
                let message = format!(
                    "expected {} observed {} {}",
                    compact(&case.expected.any_of),
                    compact(std::slice::from_ref(&case.observed)),
                    case.violations.join("; ")
                );
                let _ = write!(out, "<failure message=\"{}\"/>", xml_escape(&message));
            }
            out.push_str("</testcase>\n");
        }
        out.push_str("</testsuite></testsuites>\n");
        out
    }
}

/// One line per outcome: `secured Tls13 []`, `failed StartTlsRefused []`, `plaintext`.
pub fn compact(outcomes: &[Outcome]) -> String {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Plaintext => "plaintext".to_owned(),
            Outcome::Secured {
                version,
                cert_errors,
            } => {
                format!("secured {version:?} {:?}", cert_errors)
            }
            Outcome::Failed {
                failure,
                cert_errors,
            } => {
                format!("failed {failure:?} {:?}", cert_errors)
            }
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl CaseResult {
    /// One stable line for the matrix snapshot: the case, then what was negotiated (level,
    /// version, cipher suite, key-exchange group, certificate errors) or the error kind.
    pub fn snapshot_line(&self) -> String {
        let field = |name: &str| {
            self.information
                .as_ref()
                .and_then(|i| i.get(name))
                .filter(|v| !v.is_null())
                .map_or_else(|| "-".to_owned(), |v| v.to_string().replace('"', ""))
        };
        let errors = field("server_certificate_errors");
        match &self.error_kind {
            None => format!(
                "{} -> {} {} {} {} {}",
                self.id,
                field("protection_level"),
                field("protocol_version"),
                field("cipher_suite"),
                field("key_exchange_group"),
                errors
            ),
            Some(kind) => format!("{} -> error {kind} {errors}", self.id),
        }
    }
}
