//! `report.html`: the matrix as a grid a person reads in a browser, one self-contained file.
//!
//! Rows are the client's requested levels, columns the modes; each cell is green when all its
//! cases pass, red when one fails, grey when it has none, and opens (`<details>`, no script) to
//! its cases with what was expected, what was observed and what was negotiated. No network,
//! script, font or image is referenced, so the file reads the same anywhere; cells stay closed
//! until opened, so a run of thousands of cases stays readable. The counts are also in
//! `data-pass` and `data-fail` attributes, for checks that read the page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proto::ProtectionLevel;

use super::{CaseResult, Report, compact};
use crate::case::Mode;

/// Style for the whole page; system fonts only.
const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}\
h1{font-size:1.4rem}\
table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}\
.grid>tbody>tr>td{min-width:9rem}\
.pass{background:#d9f2d9}.fail{background:#f7d4d4}.none{background:#eee;color:#777}\
summary{cursor:pointer;font-weight:600}\
.cases{font-size:.8rem;margin-top:.4rem;background:#fff}\
.cases td{font-family:ui-monospace,monospace}\
tr.failed td{background:#fbe9e9}";

impl Report {
    /// The whole page.
    pub fn html(&self) -> String {
        let failed = self.cases.iter().filter(|c| !c.pass).count();
        let in_memory_pass = self.in_memory.iter().filter(|c| c.pass).count();
        let mut out = String::from(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>Conformance report</title>\n",
        );
        let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
        out.push_str("<h1>Conformance report</h1>\n");
        let _ = writeln!(
            out,
            "<p id=\"summary\" data-cases=\"{}\" data-pass=\"{}\" data-fail=\"{failed}\">{} cases: \
             {} pass, {failed} fail, in {:.1} s. In-memory checks (policy table, dialect \
             machines): {in_memory_pass}/{} pass.</p>",
            self.cases.len(),
            self.cases.len() - failed,
            self.cases.len(),
            self.cases.len() - failed,
            self.duration.as_secs_f64(),
            self.in_memory.len(),
        );
        for check in self.in_memory.iter().filter(|c| !c.pass) {
            let _ = writeln!(
                out,
                "<p class=\"fail\">in-memory check {} failed: expected {}, observed {}</p>",
                escape(&check.name),
                escape(&check.expected),
                escape(&check.observed)
            );
        }
        out.push_str(&self.grid());
        let contexts = self.certificate_contexts();
        if !contexts.is_empty() {
            out.push_str(
                "<h2>Certificate errors in their own words</h2>\n<table class=\"contexts\">\
                 <tr><th>scenario and key</th><th>errors</th></tr>\n",
            );
            for (scenario, lines) in &contexts {
                let lines: Vec<String> = lines.iter().map(|line| escape(line)).collect();
                let _ = writeln!(
                    out,
                    "<tr data-scenario=\"{}\"><td>{}</td><td>{}</td></tr>",
                    escape(scenario),
                    escape(scenario),
                    lines.join("<br>")
                );
            }
            out.push_str("</table>\n");
        }
        if failed > 0 {
            out.push_str("<h2>Failed cases</h2>\n");
            out.push_str(&cases_table(self.cases.iter().filter(|c| !c.pass)));
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// Level x mode, every cell with its cases.
    fn grid(&self) -> String {
        let mut cells: BTreeMap<(ProtectionLevel, Mode), Vec<&CaseResult>> = BTreeMap::new();
        for result in &self.cases {
            cells
                .entry((result.case.level, result.case.mode))
                .or_default()
                .push(result);
        }
        let mut out = String::from("<table class=\"grid\">\n<thead><tr><th>level \\ mode</th>");
        for mode in Mode::ALL {
            let _ = write!(out, "<th>{}</th>", escape(mode.name()));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for level in ProtectionLevel::ALL {
            let _ = write!(out, "<tr><th>{}</th>", escape(level.name()));
            for mode in Mode::ALL {
                let cases = cells.get(&(level, mode)).map_or(&[][..], Vec::as_slice);
                let fail = cases.iter().filter(|c| !c.pass).count();
                let pass = cases.len() - fail;
                let class = match (cases.len(), fail) {
                    (0, _) => "none",
                    (_, 0) => "pass",
                    _ => "fail",
                };
                let _ = write!(
                    out,
                    "<td class=\"cell {class}\" data-level=\"{}\" data-mode=\"{}\" \
                     data-pass=\"{pass}\" data-fail=\"{fail}\">",
                    escape(level.name()),
                    escape(mode.name())
                );
                if cases.is_empty() {
                    out.push_str("no cases");
                } else {
                    let _ = write!(
                        out,
                        "<details><summary>{pass} pass, {fail} fail</summary>{}</details>",
                        cases_table(cases.iter().copied())
                    );
                }
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody>\n</table>\n");
        out
    }
}

/// A table of cases: id, expected, observed (with violations and the error), negotiated.
fn cases_table<'a>(cases: impl Iterator<Item = &'a CaseResult>) -> String {
    let mut out = String::from(
        "<table class=\"cases\"><tr><th>case</th><th>expected</th><th>observed</th>\
         <th>negotiated</th></tr>",
    );
    for case in cases {
        let mut observed = escape(&compact(std::slice::from_ref(&case.observed)));
        for violation in &case.violations {
            let _ = write!(observed, "<br>violation: {}", escape(violation));
        }
        if let Some(error) = &case.error {
            let _ = write!(observed, "<br>error: {}", escape(error));
        }
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{observed}</td><td>{}</td></tr>",
            if case.pass { "passed" } else { "failed" },
            escape(&case.id),
            escape(&compact(&case.expected.any_of)),
            escape(&negotiated(case)),
        );
    }
    out.push_str("</table>");
    out
}

/// Version, suite, group and the certificate errors the client reported, from its
/// `SocketInformation`.
fn negotiated(case: &CaseResult) -> String {
    let Some(info) = &case.information else {
        return String::new();
    };
    let field = |name: &str| match info.get(name) {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Null) | None => None,
        Some(other) => Some(other.to_string()),
    };
    let mut parts: Vec<String> = ["protocol_version", "cipher_suite", "key_exchange_group"]
        .into_iter()
        .filter_map(field)
        .collect();
    if let Some(serde_json::Value::Array(errors)) = info.get("server_certificate_errors")
        && !errors.is_empty()
    {
        let names: Vec<String> = errors
            .iter()
            .map(|e| e.as_str().map_or_else(|| e.to_string(), str::to_owned))
            .collect();
        parts.push(format!("certificate errors: {}", names.join(", ")));
    }
    parts.join(" ")
}

/// Text made safe inside HTML elements and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::case::{Case, ServerTls};
    use crate::oracle::{Expected, Outcome};

    fn result(level: ProtectionLevel, mode: Mode, pass: bool) -> CaseResult {
        let case = Case::core(level, mode, ServerTls::ALL[0]);
        CaseResult {
            id: format!("{case}<&>"),
            case,
            expected: Expected {
                any_of: vec![Outcome::Plaintext],
                silent: false,
                contexts: Vec::new(),
            },
            observed: Outcome::Plaintext,
            violations: if pass {
                Vec::new()
            } else {
                vec!["sent <script> in plaintext".to_owned()]
            },
            pass,
            information: Some(serde_json::json!({
                "protocol_version": "Tls13",
                "cipher_suite": "TLS13_AES_128_GCM_SHA256",
                "key_exchange_group": null,
                "server_certificate_errors": ["Expired"],
            })),
            certificate_errors: if pass {
                Vec::new()
            } else {
                vec!["Expired: leaf <b> expired".to_owned()]
            },
            error_kind: None,
            error: None,
            duration: Duration::from_millis(3),
        }
    }

    #[test]
    fn the_grid_counts_every_case_in_its_cell_and_escapes_what_it_shows() {
        let (ssl, tls13) = (ProtectionLevel::Ssl, ProtectionLevel::Tls13);
        let report = Report {
            in_memory: Vec::new(),
            cases: vec![
                result(ssl, Mode::ALL[0], true),
                result(ssl, Mode::ALL[0], false),
                result(ssl, Mode::ALL[1], true),
                result(tls13, Mode::ALL[0], true),
            ],
            duration: Duration::from_secs(2),
        };
        let html = report.html();
        assert!(
            html.contains("data-cases=\"4\" data-pass=\"3\" data-fail=\"1\""),
            "{html}"
        );
        let cell = |level: ProtectionLevel, mode: Mode| {
            let key = format!(
                "data-level=\"{}\" data-mode=\"{}\" ",
                level.name(),
                mode.name()
            );
            let at = html.find(&key).unwrap_or_else(|| panic!("{key}"));
            html[at + key.len()..].split('>').next().unwrap().to_owned()
        };
        assert_eq!(cell(ssl, Mode::ALL[0]), "data-pass=\"1\" data-fail=\"1\"");
        assert_eq!(cell(ssl, Mode::ALL[1]), "data-pass=\"1\" data-fail=\"0\"");
        assert_eq!(cell(tls13, Mode::ALL[1]), "data-pass=\"0\" data-fail=\"0\"");
        assert!(
            html.contains("class=\"cell fail\" data-level=\"Ssl\""),
            "{html}"
        );
        assert_eq!(
            html.matches("class=\"cell ").count(),
            ProtectionLevel::ALL.len() * Mode::ALL.len()
        );
        // Nothing the cases carry becomes markup; nothing is fetched from elsewhere.
        assert!(!html.contains("<script") && !html.contains("<&>"), "{html}");
        assert!(html.contains("&lt;&amp;&gt;") && html.contains("sent &lt;script&gt;"));
        assert!(!html.contains("http") && !html.contains("<link") && !html.contains("src="));
        assert!(html.contains("Tls13 TLS13_AES_128_GCM_SHA256 certificate errors: Expired"));
        // The failed case is listed again under its own heading.
        assert_eq!(html.matches("<tr class=\"failed\">").count(), 2);
        // Its certificate error, in its own words and escaped, once per scenario and key.
        assert_eq!(html.matches("<tr data-scenario=").count(), 1, "{html}");
        assert!(html.contains("Expired: leaf &lt;b&gt; expired"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
    }
}
