//! The report pages in a real browser: headless Chromium renders the conformance runner's
//! `report.html` and an audit's `audit.html`; the counts in each rendered DOM must equal its
//! JSON report's, and a screenshot is kept beside each.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

use super::run_peer;
use crate::util::shown;

/// The cases rendered: a slice of the matrix, enough to fill every mode's column.
const FILTER: &str = "Tls13";

/// The audit cases rendered: the honest servers of one dialect, audited with the project's CLI.
const AUDIT_FILTER: &str = "honest";

/// Runs the conformance runner on [`FILTER`] into `work/conformance`, renders its page with
/// `chromium` and compares; returns whether the page agreed, with what was compared.
pub(super) fn check(bin_dir: &Path, work: &Path) -> anyhow::Result<(bool, String)> {
    let out = work.join("conformance");
    let (_, log) = run_peer(
        Command::new(bin_dir.join("conformance"))
            .args(["--filter", FILTER, "--out"])
            .arg(&out),
        b"",
    )?;
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("report.json"))
            .with_context(|| format!("no report.json after the runner: {log}"))?,
    )?;
    let cases = json["cases"]
        .as_array()
        .context("report.json has no cases")?;
    let pass = cases.iter().filter(|c| c["pass"] == true).count();
    let expected = Counts {
        cases: cases.len(),
        pass,
        fail: cases.len() - pass,
    };
    rendered(&out.join("report.html"), &out.join("report.png"), &expected)
}

/// Audits the project's own CLI over [`AUDIT_FILTER`] in SMTP into `work/audit`, renders
/// `audit.html` with `chromium` and compares its counts with `audit.json`'s.
pub(super) fn check_audit(bin_dir: &Path, work: &Path) -> anyhow::Result<(bool, String)> {
    let out = work.join("audit");
    let client = bin_dir.join("streamsocket");
    let (_, log) = run_peer(
        Command::new(bin_dir.join("streamsocket-audit"))
            .args(["client", "--dialect", "smtp", "--filter", AUDIT_FILTER])
            .args(["--case-timeout", "10", "--report-dir"])
            .arg(&out)
            .arg("--")
            .arg(&client)
            .args([
                "connect",
                "{host}",
                "{port}",
                "--level",
                "Ssl",
                "--starttls",
            ])
            .args(["{dialect}", "--ca", "{ca}", "--handshake-timeout", "5"]),
        b"",
    )?;
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join("audit.json"))
            .with_context(|| format!("no audit.json after the audit: {log}"))?,
    )?;
    let results = json["results"]
        .as_array()
        .context("audit.json has no results")?;
    let with = |verdict: &str| results.iter().filter(|r| r["verdict"] == verdict).count();
    let expected = Counts {
        cases: results.len(),
        pass: with("pass"),
        fail: with("fail"),
    };
    rendered(&out.join("audit.html"), &out.join("audit.png"), &expected)
}

/// Renders `page` with headless Chromium, reads its counts from the DOM and takes a screenshot
/// into `screenshot`; whether the counts are `expected`, with what was compared.
fn rendered(page: &Path, screenshot: &Path, expected: &Counts) -> anyhow::Result<(bool, String)> {
    let page = std::path::absolute(page)?;
    let url = format!("file://{}", page.display());
    let chromium = |extra: &[&str]| {
        let mut cmd = Command::new("chromium");
        // Root on a CI machine: Chromium's sandbox needs an unprivileged user.
        cmd.args(["--headless", "--no-sandbox", "--disable-gpu"])
            .args(extra)
            .arg(&url);
        run_peer(&mut cmd, b"")
    };
    let (rendered, dom) = chromium(&["--dump-dom"])?;
    if !rendered {
        bail!("chromium could not render {}: {dom}", shown(&page));
    }
    let seen = counts_in(&dom)?;
    let (shot, log) = chromium(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1400,1000",
    ])?;
    if !shot || !screenshot.is_file() {
        bail!("chromium took no screenshot: {log}");
    }
    Ok((
        seen == *expected,
        format!(
            "the JSON report {expected}, rendered page {seen}; screenshot {}",
            shown(screenshot)
        ),
    ))
}

/// Case counts, from the JSON or from the page.
#[derive(Debug, Eq, PartialEq)]
struct Counts {
    cases: usize,
    pass: usize,
    fail: usize,
}

impl std::fmt::Display for Counts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} cases, {} pass, {} fail",
            self.cases, self.pass, self.fail
        )
    }
}

/// The counts the rendered page shows: its summary line (text and attributes), which must agree
/// with the sums over the grid's cells.
fn counts_in(dom: &str) -> anyhow::Result<Counts> {
    let summary = tag_at(dom, "id=\"summary\"").context("no summary in the rendered page")?;
    let shown = Counts {
        cases: attribute(summary, "data-cases")?,
        pass: attribute(summary, "data-pass")?,
        fail: attribute(summary, "data-fail")?,
    };
    let text = format!(
        "{} cases: {} pass, {} fail",
        shown.cases, shown.pass, shown.fail
    );
    if !dom.contains(&text) {
        bail!("the summary does not read {text:?}");
    }
    let (mut pass, mut fail) = (0, 0);
    for cell in dom.split("<td class=\"cell ").skip(1) {
        let tag = cell.split('>').next().unwrap_or_default();
        pass += attribute(tag, "data-pass")?;
        fail += attribute(tag, "data-fail")?;
    }
    if (pass, fail) != (shown.pass, shown.fail) {
        bail!("the grid's cells add up to {pass} pass, {fail} fail; the summary says {shown}");
    }
    Ok(shown)
}

/// The start tag containing `marker`.
fn tag_at<'a>(dom: &'a str, marker: &str) -> Option<&'a str> {
    let at = dom.find(marker)?;
    let start = dom[..at].rfind('<')?;
    let end = at + dom[at..].find('>')?;
    dom.get(start..end)
}

/// A numeric attribute of a start tag.
fn attribute(tag: &str, name: &str) -> anyhow::Result<usize> {
    let key = format!("{name}=\"");
    let value = tag
        .split(&key)
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .with_context(|| format!("no {name} in {tag:?}"))?;
    value
        .parse()
        .with_context(|| format!("{name}={value:?} is not a count"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = "<p id=\"summary\" data-cases=\"3\" data-pass=\"2\" data-fail=\"1\">3 cases: \
        2 pass, 1 fail, in 1 s.</p><table><tr><td class=\"cell fail\" data-level=\"Ssl\" \
        data-pass=\"1\" data-fail=\"1\">x</td><td class=\"cell pass\" data-pass=\"1\" \
        data-fail=\"0\">y</td><td class=\"cell none\" data-pass=\"0\" data-fail=\"0\">no</td>";

    #[test]
    fn the_page_counts_are_read_and_checked_against_the_cells() {
        assert_eq!(
            counts_in(PAGE).unwrap(),
            Counts {
                cases: 3,
                pass: 2,
                fail: 1
            }
        );
        let miscounted = PAGE.replace(
            "data-pass=\"1\" data-fail=\"0\"",
            "data-pass=\"2\" data-fail=\"0\"",
        );
        assert!(counts_in(&miscounted).is_err());
        let mislabelled = PAGE.replace("3 cases: 2 pass", "3 cases: 3 pass");
        assert!(counts_in(&mislabelled).is_err());
        assert!(counts_in("<p>nothing</p>").is_err());
    }
}
