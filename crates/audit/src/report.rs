//! The audit's results: the terminal table (dialect x category), one line per failure,
//! `audit.json`, `audit.md`, `junit.xml`, `audit.html` (module `html`), and the exit status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use mockserver::stats::{Phase, Transcript};
use proto::starttls::Dialect;
use serde::Serialize;

mod html;

use crate::Error;
use crate::case::{Case, Category};
use crate::command::ProcessRun;
use crate::profile::ClientProfile;
use crate::verdict::{Judgement, Observations, ProcessEnd, Verdict};

/// Most bytes of each phase of a connection written to the report (escaped).
pub const REPORT_BYTES: usize = 2048;

/// Every case's result.
#[derive(Clone, Debug, Serialize)]
pub struct Audit {
    /// The command template, program first.
    pub command: Vec<String>,
    /// The time allowed per case.
    #[serde(serialize_with = "millis")]
    pub case_timeout: Duration,
    /// What the client offered, from the first ClientHello of the run; `None` when it never
    /// sent one.
    pub client_profile: Option<ClientProfile>,
    /// One result per case, in catalogue order.
    pub results: Vec<CaseResult>,
}

/// One case's verdict, what it was judged from, and what the process did.
#[derive(Clone, Debug, Serialize)]
pub struct CaseResult {
    /// The case's id.
    pub id: String,
    /// The dialect.
    pub dialect: Dialect,
    /// The rule that judged it.
    pub category: Category,
    /// The certificate scenario.
    pub scenario: testpki::Scenario,
    /// The server's behaviour.
    pub behaviour: mockserver::Behaviour,
    /// The key type of the certificates.
    pub key_type: testpki::KeyKind,
    /// The TLS versions the server enabled.
    pub tls: String,
    /// Whether the server required a client certificate.
    pub client_cert_required: bool,
    /// The verdict, its reason and whether it is critical.
    #[serde(flatten)]
    pub judgement: Judgement,
    /// What the mock server saw, one entry per connection.
    pub connections: Vec<ConnectionReport>,
    /// The process: substituted arguments, how it ended, how long it ran, output tails.
    pub process: ProcessReport,
    /// The profile of this case's first ClientHello, from which the run's is chosen.
    #[serde(skip)]
    pub client_profile: Option<ClientProfile>,
}

/// One connection as the mock server saw it.
#[derive(Clone, Debug, Serialize)]
pub struct ConnectionReport {
    /// Order of acceptance, from 0.
    pub id: u64,
    /// Whether the go-ahead for TLS was given.
    pub upgraded: bool,
    /// Whether the handshake completed.
    pub handshake_completed: bool,
    /// Why the connection ended (the mock server's name for it).
    pub end: Option<String>,
    /// Bytes received in plaintext (escaped, the first [`REPORT_BYTES`]).
    pub plaintext: String,
    /// Bytes received inside TLS (escaped, the first [`REPORT_BYTES`]).
    pub tls: String,
    /// How many bytes arrived inside TLS (of those the server kept).
    pub tls_bytes: usize,
    /// The raw ClientHello as the server received it (hex, at most
    /// `mockserver::MAX_CLIENT_HELLO_BYTES` bytes); `None` when the client began no handshake.
    pub client_hello: Option<String>,
    /// Its JA4 fingerprint, when it parses as a ClientHello.
    pub ja4: Option<String>,
}

/// The process, for the report.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessReport {
    /// The arguments after substitution, the program first.
    pub argv: Vec<String>,
    /// How it ended.
    pub end: ProcessEnd,
    /// How long it ran, in milliseconds.
    #[serde(serialize_with = "millis")]
    pub duration: Duration,
    /// The tail of its stdout.
    pub stdout_tail: String,
    /// The tail of its stderr.
    pub stderr_tail: String,
    /// Why it could not be started.
    pub spawn_error: Option<String>,
}

/// What the audit's exit status says.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Outcome {
    /// Nothing failed (exit 0).
    Clean,
    /// At least one case failed (exit 1).
    Findings,
    /// The command never connected to the server in any case (exit 3): a set-up problem.
    NeverConnected,
}

impl CaseResult {
    /// Puts one case's result together.
    pub fn new(
        case: &Case,
        judgement: Judgement,
        observations: Observations,
        process: ProcessRun,
    ) -> Self {
        Self {
            id: case.id.clone(),
            dialect: case.dialect(),
            category: case.category,
            scenario: case.entry.scenario,
            behaviour: case.entry.behaviour,
            key_type: case.entry.key_type,
            tls: case.entry.tls.clone(),
            client_cert_required: case.client_cert_required,
            judgement,
            client_profile: ClientProfile::first(
                [(case.id.as_str(), &observations.transcripts[..])],
                testpki::TEST_HOST,
            ),
            connections: observations
                .transcripts
                .iter()
                .map(ConnectionReport::of)
                .collect(),
            process: ProcessReport {
                argv: process.argv,
                end: process.end,
                duration: process.duration,
                stdout_tail: process.stdout_tail,
                stderr_tail: process.stderr_tail,
                spawn_error: process.spawn_error,
            },
        }
    }
}

impl ConnectionReport {
    fn of(t: &Transcript) -> Self {
        let tls = t.bytes(Phase::Tls);
        Self {
            id: t.id,
            upgraded: t.upgraded,
            handshake_completed: t.handshake_completed,
            end: t.end.map(|e| e.to_string()),
            plaintext: escape(&t.bytes(Phase::Plaintext)),
            tls: escape(&tls),
            tls_bytes: tls.len(),
            client_hello: t.client_hello.as_deref().map(hex),
            ja4: t
                .client_hello
                .as_deref()
                .and_then(|bytes| proto::hello::parse(bytes).ok())
                .map(|hello| proto::hello::ja4::fingerprint(&hello)),
        }
    }
}

/// Lower-case hex, two digits a byte.
fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

impl Audit {
    /// What the exit status must say.
    pub fn outcome(&self) -> Outcome {
        if !self.results.is_empty() && self.results.iter().all(|r| r.connections.is_empty()) {
            Outcome::NeverConnected
        } else if self
            .results
            .iter()
            .any(|r| r.judgement.verdict == Verdict::Fail)
        {
            Outcome::Findings
        } else {
            Outcome::Clean
        }
    }

    /// The results with this verdict.
    pub fn with(&self, verdict: Verdict) -> impl Iterator<Item = &CaseResult> {
        self.results
            .iter()
            .filter(move |r| r.judgement.verdict == verdict)
    }

    /// The terminal report: the client profile, a table of dialect x category with the count of each verdict, one
    /// line per failure (and warning) with its reason, and a last line in plain words.
    pub fn table(&self) -> String {
        let mut counts: BTreeMap<(Dialect, Category), BTreeMap<Verdict, usize>> = BTreeMap::new();
        for r in &self.results {
            *counts
                .entry((r.dialect, r.category))
                .or_default()
                .entry(r.judgement.verdict)
                .or_default() += 1;
        }
        let mut out = String::new();
        if let Some(profile) = &self.client_profile {
            out.push_str(&profile.block());
            out.push('\n');
        }
        let _ = write!(out, "{:<10} {:<18}", "dialect", "category");
        for v in Verdict::ALL {
            let _ = write!(out, " {:>12}", v.name());
        }
        out.push('\n');
        for ((dialect, category), by) in &counts {
            let _ = write!(out, "{:<10} {:<18}", dialect.name(), category.name());
            for v in Verdict::ALL {
                let _ = write!(out, " {:>12}", by.get(&v).copied().unwrap_or(0));
            }
            out.push('\n');
        }
        for (label, verdict) in [("FAIL", Verdict::Fail), ("WARN", Verdict::Warn)] {
            for r in self.with(verdict) {
                let _ = writeln!(out, "{label} {}: {}", r.id, r.judgement.reason);
            }
        }
        let total = |v| self.with(v).count();
        let _ = writeln!(
            out,
            "{} cases: {} pass, {} fail, {} warn, {} info, {} inconclusive",
            self.results.len(),
            total(Verdict::Pass),
            total(Verdict::Fail),
            total(Verdict::Warn),
            total(Verdict::Info),
            total(Verdict::Inconclusive),
        );
        if self.outcome() == Outcome::NeverConnected {
            let hint = self
                .results
                .iter()
                .find_map(|r| r.process.spawn_error.clone())
                .unwrap_or_else(|| {
                    "check that it connects to {host} {port} (and that its arguments use them)"
                        .to_owned()
                });
            let _ = writeln!(
                out,
                "The command never connected to the mock server in any case, so nothing was \
                 judged: {hint}"
            );
        }
        out
    }

    /// Writes `audit.json`, `audit.md`, `junit.xml` and `audit.html` into `dir` (created if needed);
    /// returns the path of `audit.json`.
    ///
    /// # Errors
    ///
    /// If the directory or a file cannot be written.
    pub fn write_reports(&self, dir: &Path) -> Result<PathBuf, Error> {
        std::fs::create_dir_all(dir).map_err(Error::Io)?;
        let path = dir.join("audit.json");
        let json = serde_json::to_vec_pretty(self).map_err(Error::Json)?;
        std::fs::write(&path, json).map_err(Error::Io)?;
        std::fs::write(dir.join("audit.md"), self.markdown()).map_err(Error::Io)?;
        std::fs::write(dir.join("junit.xml"), self.junit()).map_err(Error::Io)?;
        std::fs::write(dir.join("audit.html"), self.html()).map_err(Error::Io)?;
        Ok(path)
    }

    /// The report as Markdown: the verdict counts, then one row per case that is not a pass.
    pub fn markdown(&self) -> String {
        let mut out = String::from("# streamsocket-audit\n\n");
        let _ = writeln!(out, "Command: `{}`\n", self.command.join(" "));
        out.push_str("| verdict | cases |\n|---|---|\n");
        for v in Verdict::ALL {
            let _ = writeln!(out, "| {v} | {} |", self.with(v).count());
        }
        out.push_str("\n| case | dialect | category | verdict | reason |\n|---|---|---|---|---|\n");
        for r in self
            .results
            .iter()
            .filter(|r| r.judgement.verdict != Verdict::Pass)
        {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {}{} | {} |",
                r.id,
                r.dialect,
                r.category,
                r.judgement.verdict,
                if r.judgement.critical {
                    " (critical)"
                } else {
                    ""
                },
                r.judgement.reason.replace('|', "\\|").replace('\n', " ")
            );
        }
        out
    }

    /// The report as JUnit XML, one test case per audit case: a failure element for `fail`,
    /// skipped for `info` and `inconclusive` (nothing was judged), a pass otherwise (a `warn`
    /// keeps its reason in `system-out`).
    pub fn junit(&self) -> String {
        let failures = self.with(Verdict::Fail).count();
        let skipped = self.with(Verdict::Info).count() + self.with(Verdict::Inconclusive).count();
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            out,
            "<testsuite name=\"streamsocket-audit\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
            self.results.len()
        );
        for r in &self.results {
            let _ = write!(
                out,
                "  <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                r.dialect,
                r.category,
                xml(&r.id),
                r.process.duration.as_secs_f64()
            );
            let reason = xml(&r.judgement.reason);
            match r.judgement.verdict {
                Verdict::Pass => out.push_str("/>\n"),
                Verdict::Warn => {
                    let _ = writeln!(out, "><system-out>warn: {reason}</system-out></testcase>");
                }
                Verdict::Fail => {
                    let _ = writeln!(
                        out,
                        "><failure message=\"{reason}\">{reason}</failure></testcase>"
                    );
                }
                Verdict::Info | Verdict::Inconclusive => {
                    let _ = writeln!(
                        out,
                        "><skipped message=\"{}: {reason}\"/></testcase>",
                        r.judgement.verdict
                    );
                }
            }
        }
        out.push_str("</testsuite>\n");
        out
    }
}

impl Outcome {
    /// The exit status: 0, 1 or 3 (2 is the command line's, before any case runs).
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Clean => 0,
            Self::Findings => 1,
            Self::NeverConnected => 3,
        }
    }
}

/// Printable ASCII as it is, CR and LF as `\r` `\n`, anything else as `\xNN`; bounded.
fn escape(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes.iter().take(REPORT_BYTES) {
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    if bytes.len() > REPORT_BYTES {
        let _ = write!(out, "... ({} bytes more)", bytes.len() - REPORT_BYTES);
    }
    out
}

/// Text for an XML attribute or element.
pub(crate) fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A result as a run would give it, with only what the reports read filled in.
    pub(crate) fn result(id: &str, verdict: Verdict, connected: bool) -> CaseResult {
        CaseResult {
            id: id.to_owned(),
            dialect: Dialect::Smtp,
            category: Category::BadCertificate,
            scenario: testpki::Scenario::Expired,
            behaviour: mockserver::Behaviour::Honest,
            key_type: testpki::KeyKind::EcdsaP256,
            tls: "1.2,1.3".to_owned(),
            client_cert_required: false,
            client_profile: None,
            judgement: Judgement {
                verdict,
                reason: format!("reason of <{id}> & \"{verdict}\" | more"),
                critical: false,
            },
            connections: if connected {
                vec![ConnectionReport {
                    id: 0,
                    upgraded: true,
                    handshake_completed: false,
                    end: None,
                    plaintext: String::new(),
                    tls: String::new(),
                    tls_bytes: 0,
                    client_hello: Some(hex(&[0x16, 0x03, 0xab])),
                    ja4: None,
                }]
            } else {
                Vec::new()
            },
            process: ProcessReport {
                argv: vec!["client".to_owned()],
                end: ProcessEnd::Exited(Some(0)),
                duration: Duration::from_millis(1500),
                stdout_tail: String::new(),
                stderr_tail: String::new(),
                spawn_error: None,
            },
        }
    }

    pub(crate) fn audit(results: Vec<CaseResult>) -> Audit {
        Audit {
            command: vec!["client".to_owned(), "{host}".to_owned()],
            case_timeout: Duration::from_secs(20),
            client_profile: None,
            results,
        }
    }

    #[test]
    fn markdown_lists_what_did_not_pass_and_junit_counts_each_verdict() {
        let a = audit(vec![
            result("a", Verdict::Pass, true),
            result("b", Verdict::Fail, true),
            result("c", Verdict::Warn, true),
            result("d", Verdict::Info, true),
        ]);
        let md = a.markdown();
        assert!(
            md.contains("| fail | 1 |") && md.contains("| pass | 1 |"),
            "{md}"
        );
        assert!(
            md.contains("| `b` | smtp | bad-certificate | fail |"),
            "{md}"
        );
        assert!(!md.contains("| `a` |"), "a pass is only counted: {md}");
        assert!(md.contains("\\| more"), "pipes are escaped: {md}");
        let xml = a.junit();
        assert!(
            xml.contains(r#"tests="4" failures="1" skipped="1""#),
            "{xml}"
        );
        assert!(
            xml.contains(
                r#"<failure message="reason of &lt;b&gt; &amp; &quot;fail&quot; | more">"#
            ),
            "{xml}"
        );
        assert!(xml.contains(r#"name="a" time="1.500"/>"#), "{xml}");
        assert!(xml.contains("<system-out>warn: "), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert_eq!(xml.matches("</testcase>").count(), 3, "{xml}");
    }

    #[test]
    fn the_reports_are_written_together() {
        let dir = tempfile::tempdir().unwrap();
        let a = audit(vec![result("b", Verdict::Fail, true)]);
        let json = a.write_reports(dir.path()).unwrap();
        for name in ["audit.json", "audit.md", "junit.xml", "audit.html"] {
            assert!(dir.path().join(name).is_file(), "{name}");
        }
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
        assert_eq!(value["results"][0]["verdict"], "fail");
    }

    /// A connection that sent only `client_hello`.
    fn hello_only(client_hello: Option<Vec<u8>>) -> Transcript {
        Transcript {
            id: 0,
            chunks: Vec::new(),
            dropped_bytes: 0,
            end: None,
            upgraded: true,
            handshake_completed: false,
            client_hello,
        }
    }

    #[test]
    fn each_connection_keeps_its_raw_client_hello_and_fingerprint() {
        // TLS 1.2, one suite (TLS_RSA_WITH_3DES_EDE_CBC_SHA), no extensions.
        let body = [
            &[0x03, 0x03][..],
            &[0; 32],
            &[0],
            &[0, 2, 0x00, 0x0a],
            &[1, 0],
        ]
        .concat();
        let mut hello = vec![0x16, 0x03, 0x01, 0, 4 + body.len() as u8, 1, 0, 0];
        hello.push(body.len() as u8);
        hello.extend_from_slice(&body);
        let with = hello_only(Some(hello.clone()));
        let report = ConnectionReport::of(&with);
        let hex = report.client_hello.unwrap();
        assert!(hex.starts_with("160301002d0100002903030000"), "{hex}");
        let decoded: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        assert_eq!(decoded, hello);
        let parsed = proto::hello::parse(&hello).unwrap();
        assert_eq!(report.ja4, Some(proto::hello::ja4::fingerprint(&parsed)));
        assert!(report.ja4.unwrap().starts_with("t12i01"));

        let without = ConnectionReport::of(&hello_only(None));
        assert_eq!((without.client_hello, without.ja4), (None, None));
        let garbage = hello_only(Some(vec![0x16, 0x03]));
        let report = ConnectionReport::of(&garbage);
        assert_eq!(report.client_hello.as_deref(), Some("1603"));
        assert_eq!(report.ja4, None);
    }

    #[test]
    fn bytes_are_escaped_and_bounded() {
        assert_eq!(escape(b"EHLO x\r\n\x16\\"), "EHLO x\\r\\n\\x16\\\\");
        let long = escape(&[b'a'; REPORT_BYTES + 5]);
        assert!(long.ends_with("... (5 bytes more)"), "{long}");
    }
}
