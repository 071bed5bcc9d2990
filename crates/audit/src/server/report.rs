//! The server audit's outputs: the terminal table, Markdown, JUnit, and the report files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Finding, ServerAudit, ServerError, Severity};

impl ServerAudit {
    /// The failures, which decide the exit status.
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Fail)
    }

    /// The exit status: 1 when anything failed, 0 otherwise (warnings do not fail).
    pub fn exit_code(&self) -> u8 {
        u8::from(self.failures().next().is_some())
    }

    /// The terminal table: the levels, then one line per finding and a summary.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "server {} ({}), certificates validated for {}\n",
            self.address, self.dialect, self.name
        );
        let _ = writeln!(out, "{:<44} {:<15} detail", "level", "status");
        for row in &self.levels {
            let _ = writeln!(
                out,
                "{:<44} {:<15} {}",
                row.level.to_string(),
                row.status.to_string(),
                row.detail
            );
        }
        out.push('\n');
        let obs = &self.observations;
        let named = |accepted: bool, names: Vec<&str>| {
            let word = if accepted { " accepted" } else { "; refused" };
            if names.is_empty() {
                String::new()
            } else {
                format!("{word} {}", names.join(", "))
            }
        };
        if !obs.suites.is_empty() {
            for version in ["TLS 1.3", "TLS 1.2"] {
                let pick = |want: bool| {
                    obs.suites
                        .iter()
                        .filter(|p| p.version == version && p.accepted == Some(want))
                        .map(|p| p.suite.as_str())
                        .collect::<Vec<_>>()
                };
                let (yes, no) = (pick(true), pick(false));
                if !yes.is_empty() || !no.is_empty() {
                    let _ = writeln!(
                        out,
                        "suites {version}:{}{}",
                        named(true, yes),
                        named(false, no)
                    );
                }
            }
        }
        let pick = |want: bool| {
            obs.groups
                .iter()
                .filter(|p| p.accepted == Some(want))
                .map(|p| p.group.as_str())
                .collect::<Vec<_>>()
        };
        let (yes, no) = (pick(true), pick(false));
        if !yes.is_empty() || !no.is_empty() {
            let _ = writeln!(out, "groups:{}{}", named(true, yes), named(false, no));
        }
        for line in self.handshake_lines() {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
        if let Some(cert) = &self.observations.certificate {
            if let Some(leaf) = cert.chain.first() {
                let _ = writeln!(
                    out,
                    "certificate {} (issuer {}), {} in chain, SANs {}",
                    leaf.subject,
                    leaf.issuer,
                    cert.chain.len(),
                    leaf.subject_alt_names.join(", ")
                );
            }
            let errors: Vec<String> = cert.errors.iter().map(ToString::to_string).collect();
            let _ = writeln!(
                out,
                "  errors {}; expires {}{}\n",
                if errors.is_empty() {
                    "none".to_owned()
                } else {
                    errors.join(", ")
                },
                cert.chain.first().map_or("", |c| c.not_after.as_str()),
                cert.days_until_expiry
                    .map(|d| format!(" ({d} days)"))
                    .unwrap_or_default()
            );
        }
        for f in &self.findings {
            let _ = writeln!(out, "{} {}: {}", f.severity, f.kind, f.message);
        }
        let fails = self.failures().count();
        let _ = writeln!(
            out,
            "{} findings: {fails} fail, {} warn",
            self.findings.len(),
            self.findings.len() - fails
        );
        out
    }

    /// The observations of the handshake probes, one line each, as the table and the
    /// Markdown show them: the HelloRetryRequest, session resumption, and ALPN (only when
    /// protocols were offered).
    fn handshake_lines(&self) -> Vec<String> {
        let obs = &self.observations;
        let retry = &obs.hello_retry;
        let mut lines = vec![match (retry.retried, &retry.group) {
            (Some(true), Some(group)) => {
                format!("hello retry request: yes, for {group} (a hello with no key share)")
            }
            (Some(true), None) => "hello retry request: yes (naming no group)".to_owned(),
            (Some(false), _) => format!("hello retry request: no ({})", retry.reply),
            (None, _) => format!("hello retry request: {}", retry.reply),
        }];
        let word = |v: Option<bool>| match v {
            Some(true) => "yes",
            Some(false) => "no",
            None => "not tested",
        };
        let r = obs.resumption;
        lines.push(format!(
            "resumption: TLS 1.2 session id {}, ticket {}, resumed {}; TLS 1.3 ticket resumed {}",
            word(r.tls12_session_id),
            word(r.tls12_ticket),
            word(r.tls12_resumed),
            word(r.tls13_resumed)
        ));
        if let Some(alpn) = &obs.alpn {
            let offered = alpn.offered.join(",");
            lines.push(match (&alpn.chosen, &alpn.refused) {
                (Some(chosen), _) => format!("alpn: offered {offered}, chose {chosen}"),
                (None, None) => format!("alpn: offered {offered}, chose none"),
                (None, Some(why)) => format!("alpn: offered {offered}, refused: {why}"),
            });
        }
        lines
    }

    /// The report as Markdown.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# streamsocket-audit server\n\n");
        let _ = writeln!(
            out,
            "Server `{}` ({}), certificates validated for `{}`.\n",
            self.address, self.dialect, self.name
        );
        out.push_str("| level | status | detail |\n|---|---|---|\n");
        for row in &self.levels {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                row.level,
                row.status,
                md(&row.detail)
            );
        }
        out.push('\n');
        for line in self.handshake_lines() {
            let _ = writeln!(out, "- {}", md(&line));
        }
        out.push_str("\n| severity | finding | message |\n|---|---|---|\n");
        for f in &self.findings {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} |",
                f.severity,
                f.kind,
                md(&f.message)
            );
        }
        out
    }

    /// The report as JUnit XML: one test case per finding (a failure, or a warning in
    /// `system-out`), and one passing case per level that was judged.
    pub fn junit(&self) -> String {
        let fails = self.failures().count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuite name=\"streamsocket-audit server\" tests=\"{}\" failures=\"{fails}\">",
            self.findings.len() + self.levels.len()
        );
        for row in &self.levels {
            let _ = writeln!(
                out,
                "  <testcase classname=\"level\" name=\"{}\"><system-out>{}: {}</system-out></testcase>",
                row.level,
                row.status,
                crate::report::xml(&row.detail)
            );
        }
        for f in &self.findings {
            let message = crate::report::xml(&f.message);
            match f.severity {
                Severity::Fail => {
                    let _ = writeln!(
                        out,
                        "  <testcase classname=\"finding\" name=\"{}\"><failure message=\"{message}\">{message}</failure></testcase>",
                        f.kind
                    );
                }
                Severity::Warn => {
                    let _ = writeln!(
                        out,
                        "  <testcase classname=\"finding\" name=\"{}\"><system-out>warn: {message}</system-out></testcase>",
                        f.kind
                    );
                }
            }
        }
        out.push_str("</testsuite>\n");
        out
    }

    /// Writes `server-audit.json`, `server-audit.md` and `server-junit.xml` into `dir`
    /// (created if needed); returns the path of the JSON report.
    ///
    /// # Errors
    ///
    /// If the directory or a file cannot be written.
    pub fn write_reports(&self, dir: &Path) -> Result<PathBuf, ServerError> {
        std::fs::create_dir_all(dir).map_err(ServerError::Io)?;
        let path = dir.join("server-audit.json");
        let json = serde_json::to_vec_pretty(self).map_err(ServerError::Json)?;
        std::fs::write(&path, json).map_err(ServerError::Io)?;
        std::fs::write(dir.join("server-audit.md"), self.markdown()).map_err(ServerError::Io)?;
        std::fs::write(dir.join("server-junit.xml"), self.junit()).map_err(ServerError::Io)?;
        Ok(path)
    }
}

fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}
