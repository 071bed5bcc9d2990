//! `audit.html`: the audit as a grid a person reads in a browser, one self-contained file.
//!
//! Rows are the dialects, columns the categories; each cell is red when a case in it failed,
//! amber when one warned or was inconclusive, green when all passed (or were informational),
//! grey when it has none, and opens (`<details>`, no script) to its cases: verdict, reason and
//! what the server saw of each connection. No network, script, font or image is referenced;
//! cells stay closed until opened, so thousands of cases stay readable. The counts are also in
//! `data-*` attributes, for checks that read the page.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use proto::starttls::Dialect;

use super::{Audit, CaseResult, xml};
use crate::case::Category;
use crate::verdict::Verdict;

/// Style for the whole page; system fonts only.
const STYLE: &str = "\
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}\
h1{font-size:1.4rem}\
table{border-collapse:collapse}\
th,td{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top;text-align:left}\
.grid>tbody>tr>td{min-width:9rem}\
.pass{background:#d9f2d9}.fail{background:#f7d4d4}.warn{background:#fbeccb}\
.none{background:#eee;color:#777}\
pre{white-space:pre-wrap;font-size:.85rem}\
summary{cursor:pointer;font-weight:600}\
.cases{font-size:.8rem;margin-top:.4rem;background:#fff}\
.cases td{font-family:ui-monospace,monospace}\
tr.fail td{background:#fbe9e9}tr.warn td,tr.inconclusive td{background:#fdf5e2}";

impl Audit {
    /// The whole page.
    pub fn html(&self) -> String {
        let count = |v| self.with(v).count();
        let mut out = String::from(
            "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <title>streamsocket-audit</title>\n",
        );
        let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
        out.push_str("<h1>streamsocket-audit</h1>\n");
        let _ = writeln!(
            out,
            "<p>Command: <code>{}</code></p>",
            xml(&self.command.join(" "))
        );
        let _ = writeln!(
            out,
            "<p id=\"summary\" data-cases=\"{}\" data-pass=\"{}\" data-fail=\"{}\" \
             data-warn=\"{}\" data-info=\"{}\" data-inconclusive=\"{}\">{} cases: {} pass, {} \
             fail, {} warn, {} info, {} inconclusive.</p>",
            self.results.len(),
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::Warn),
            count(Verdict::Info),
            count(Verdict::Inconclusive),
            self.results.len(),
            count(Verdict::Pass),
            count(Verdict::Fail),
            count(Verdict::Warn),
            count(Verdict::Info),
            count(Verdict::Inconclusive),
        );
        if let Some(profile) = &self.client_profile {
            let _ = writeln!(out, "<pre>{}</pre>", xml(&profile.block()));
        }
        out.push_str(&self.grid());
        let findings: Vec<&CaseResult> = self
            .results
            .iter()
            .filter(|r| r.judgement.verdict == Verdict::Fail)
            .collect();
        if !findings.is_empty() {
            out.push_str("<h2>Failed cases</h2>\n");
            out.push_str(&cases_table(&findings));
        }
        out.push_str("</body>\n</html>\n");
        out
    }

    /// Dialect x category, every cell with its cases.
    fn grid(&self) -> String {
        let mut cells: BTreeMap<(Dialect, Category), Vec<&CaseResult>> = BTreeMap::new();
        for r in &self.results {
            cells.entry((r.dialect, r.category)).or_default().push(r);
        }
        let dialects: Vec<Dialect> = Dialect::ALL
            .into_iter()
            .filter(|d| self.results.iter().any(|r| r.dialect == *d))
            .collect();
        let mut out =
            String::from("<table class=\"grid\">\n<thead><tr><th>dialect \\ category</th>");
        for category in Category::ALL {
            let _ = write!(out, "<th>{}</th>", xml(category.name()));
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for dialect in dialects {
            let _ = write!(out, "<tr><th>{}</th>", xml(dialect.name()));
            for category in Category::ALL {
                let cases = cells
                    .get(&(dialect, category))
                    .map_or(&[][..], Vec::as_slice);
                let n = |v: Verdict| cases.iter().filter(|r| r.judgement.verdict == v).count();
                let (pass, fail) = (n(Verdict::Pass), n(Verdict::Fail));
                let (warn, info, inconclusive) =
                    (n(Verdict::Warn), n(Verdict::Info), n(Verdict::Inconclusive));
                let class = if cases.is_empty() {
                    "none"
                } else if fail > 0 {
                    "fail"
                } else if warn + inconclusive > 0 {
                    "warn"
                } else {
                    "pass"
                };
                let _ = write!(
                    out,
                    "<td class=\"cell {class}\" data-dialect=\"{}\" data-category=\"{}\" \
                     data-pass=\"{pass}\" data-fail=\"{fail}\" data-warn=\"{warn}\" \
                     data-info=\"{info}\" data-inconclusive=\"{inconclusive}\">",
                    xml(dialect.name()),
                    xml(category.name())
                );
                if cases.is_empty() {
                    out.push_str("no cases");
                } else {
                    let _ = write!(
                        out,
                        "<details><summary>{pass} pass, {fail} fail, {warn} warn, {info} info, \
                         {inconclusive} inconclusive</summary>{}</details>",
                        cases_table(cases)
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

/// A table of cases: id, verdict, reason, and each connection as the server saw it.
fn cases_table(cases: &[&CaseResult]) -> String {
    let mut out = String::from(
        "<table class=\"cases\"><tr><th>case</th><th>verdict</th><th>reason</th>\
         <th>server saw</th></tr>",
    );
    for r in cases {
        let mut seen = String::new();
        for c in &r.connections {
            let _ = write!(
                seen,
                "connection {}: go-ahead {}, handshake {}, ended {}<br>plaintext: {}<br>inside \
                 TLS ({} bytes): {}<br>",
                c.id,
                if c.upgraded { "yes" } else { "no" },
                if c.handshake_completed {
                    "completed"
                } else {
                    "not completed"
                },
                xml(c.end.as_deref().unwrap_or("-")),
                xml(&c.plaintext),
                c.tls_bytes,
                xml(&c.tls),
            );
        }
        let verdict = r.judgement.verdict.name();
        let _ = write!(
            out,
            "<tr class=\"{verdict}\"><td>{}</td><td>{verdict}{}</td><td>{}</td><td>{seen}</td>\
             </tr>",
            xml(&r.id),
            if r.judgement.critical {
                " (critical)"
            } else {
                ""
            },
            xml(&r.judgement.reason),
        );
    }
    out.push_str("</table>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{audit, result};

    #[test]
    fn the_grid_counts_every_verdict_in_its_cell_and_escapes_what_it_shows() {
        let mut warned = result("w<1>", Verdict::Warn, true);
        warned.category = Category::Stripping;
        let mut imap = result("imap-x", Verdict::Pass, true);
        imap.dialect = Dialect::Imap;
        let a = audit(vec![
            result("a", Verdict::Fail, true),
            result("b", Verdict::Pass, true),
            warned,
            imap,
        ]);
        let html = a.html();
        assert!(
            html.contains(
                "data-cases=\"4\" data-pass=\"2\" data-fail=\"1\" data-warn=\"1\" data-info=\"0\" \
                 data-inconclusive=\"0\">4 cases: 2 pass, 1 fail, 1 warn"
            ),
            "{html}"
        );
        let cell = |dialect: &str, category: &str| {
            let key = format!("data-dialect=\"{dialect}\" data-category=\"{category}\" ");
            let at = html.find(&key).unwrap_or_else(|| panic!("{key}"));
            let before = &html[..at];
            let class = &before[before.rfind("class=\"cell ").unwrap() + 12..];
            let attrs = html[at + key.len()..].split('>').next().unwrap();
            format!("{} {attrs}", class.trim_end_matches("\" "))
        };
        assert_eq!(
            cell("smtp", "bad-certificate"),
            "fail data-pass=\"1\" data-fail=\"1\" data-warn=\"0\" data-info=\"0\" data-inconclusive=\"0\""
        );
        assert!(
            cell("smtp", "stripping")
                .starts_with("warn data-pass=\"0\" data-fail=\"0\" data-warn=\"1\"")
        );
        assert!(cell("imap", "bad-certificate").starts_with("pass "));
        assert!(cell("imap", "stripping").starts_with("none "));
        // Two dialects seen, every category a column.
        assert_eq!(
            html.matches("class=\"cell ").count(),
            2 * Category::ALL.len()
        );
        // Nothing the cases carry becomes markup; nothing is fetched from elsewhere.
        assert!(
            !html.contains("w<1>") && html.contains("w&lt;1&gt;"),
            "{html}"
        );
        assert!(
            html.contains("reason of &lt;a&gt; &amp; &quot;fail&quot;"),
            "{html}"
        );
        assert!(!html.contains("<script") && !html.contains("http") && !html.contains("src="));
        // The failed case is listed again under its own heading.
        assert_eq!(html.matches("<tr class=\"fail\">").count(), 2);
    }
}
