//! The report of a run: `summary.json` and `summary.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use streamsocket_benches::setup::TlsSetup;
use streamsocket_benches::stats::Summary;

use crate::Options;
use crate::figures::FIGURES;
use crate::ratio::{RATIOS, RatioSpec, SUPPLEMENTARY};
use crate::results::{Results, ratio_samples};

/// The figures and ratios of one run, as written to `summary.json`.
#[derive(Serialize)]
pub(crate) struct SummaryFile {
    meta: Value,
    figures: BTreeMap<&'static str, Value>,
    ratios: BTreeMap<&'static str, Value>,
    supplementary: BTreeMap<&'static str, Value>,
}

/// One ratio's JSON: its per-round median and spread, target, and R's value in this run.
fn ratio_entry(results: &Results, spec: &RatioSpec) -> Value {
    let value = ratio_samples(results, spec.numerator, spec.denominator);
    let r_value = spec
        .r_numerator
        .and_then(|r| ratio_samples(results, r, spec.denominator).ok());
    let (summary, reason) = match value {
        Ok(samples) => (Summary::of(&samples), None),
        Err(reason) => (None, Some(reason)),
    };
    let met = summary.as_ref().and_then(|s| spec.target.met(s.median));
    json!({
        "what": spec.what,
        "summary": summary,
        "target": spec.target.describe(),
        "met": met,
        "r_in_this_run": r_value.and_then(|s| Summary::of(&s)),
        "reference_r": spec.reference,
        "reason": reason,
    })
}

pub(crate) fn summarise(
    options: &Options,
    setup: &TlsSetup,
    results: &Results,
    elapsed: Duration,
) -> SummaryFile {
    let mut figures = BTreeMap::new();
    for key in results.samples.keys() {
        if !FIGURES.iter().any(|(k, _, _)| k == key) {
            figures.insert(
                *key,
                json!({ "unit": "?", "what": "a figure missing from the harness's table",
                        "summary": results.samples.get(key).and_then(|s| Summary::of(s)),
                        "reason": null }),
            );
        }
    }
    for (key, unit, what) in FIGURES {
        let summary = results.samples.get(key).and_then(|s| Summary::of(s));
        let reason = results.missing.get(key).cloned().or_else(|| {
            summary
                .is_none()
                .then(|| "not measured in this run".to_owned())
        });
        figures.insert(
            *key,
            json!({ "unit": unit, "what": what, "summary": summary, "reason": reason }),
        );
    }
    let mut ratios = BTreeMap::new();
    for spec in RATIOS {
        ratios.insert(spec.key, ratio_entry(results, spec));
    }
    let supplementary = SUPPLEMENTARY
        .iter()
        .map(|spec| (spec.key, ratio_entry(results, spec)))
        .collect();
    let idle = results
        .samples
        .get("p_idle_conn_heap_bytes")
        .and_then(|s| Summary::of(s));
    ratios.insert(
        "idle_conn_heap_bytes",
        json!({
            "what": "heap held per idle TLS connection on the mock server (1,000 connections)",
            "met": idle.as_ref().map(|s| s.median <= 48.0 * 1024.0),
            "reason": idle.is_none().then(|| results.missing.get("p_idle_conn_heap_bytes").cloned()),
            "summary": idle,
            "target": "<= 49152",
            "r_in_this_run": results.samples.get("r_idle_conn_heap_bytes").and_then(|s| Summary::of(s)),
            "reference_r": Value::Null,
        }),
    );
    ratios.insert("conformance_cases_per_s", conformance_rate(&options.out));
    SummaryFile {
        meta: json!({
            "quick": options.quick,
            "rounds": options.rounds,
            "seconds_per_handshake_sample": options.seconds,
            "slices_per_handshake_sample": options.slices,
            "bulk_bytes_per_sample": options.bulk_bytes,
            "setup": setup,
            "setup_label": setup.label(),
            "elapsed_s": elapsed.as_secs_f64(),
            "notes": results.notes,
            "command": "cargo xtask bench",
        }),
        figures,
        ratios,
        supplementary,
    }
}

/// Conformance cases per second, from `target/conformance/report.json` if a run left one.
fn conformance_rate(out: &Path) -> Value {
    let target = json!({ "what": "conformance matrix cases per second", "target": "reported" });
    let candidates = [
        out.join("../conformance/report.json"),
        PathBuf::from("target/conformance/report.json"),
    ];
    let Some(text) = candidates
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
    else {
        return merge(
            target,
            json!({ "summary": null, "met": null,
                    "reason": "no target/conformance/report.json (run `cargo xtask conformance` first)" }),
        );
    };
    let parsed: Option<(usize, f64)> = serde_json::from_str::<Value>(&text).ok().and_then(|v| {
        let cases = v.get("cases")?.as_array()?.len();
        // The conformance report writes durations in milliseconds (older reports: serde's
        // `{secs, nanos}`).
        let d = v.get("duration")?;
        let secs = match d.as_f64() {
            Some(millis) => millis / 1e3,
            None => d.get("secs")?.as_f64()? + d.get("nanos")?.as_f64()? / 1e9,
        };
        Some((cases, secs))
    });
    match parsed {
        Some((cases, secs)) if secs > 0.0 => merge(
            target,
            json!({ "summary": Summary::of(&[cases as f64 / secs]), "met": null,
                    "cases": cases, "total_s": secs, "reason": null }),
        ),
        _ => merge(
            target,
            json!({ "summary": null, "met": null,
                    "reason": "target/conformance/report.json has no cases or duration" }),
        ),
    }
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Some(a), Value::Object(b)) = (a.as_object_mut(), b) {
        a.extend(b);
    }
    a
}

/// A figure in readable units.
pub(crate) fn human(v: f64) -> String {
    if v >= 1e9 {
        format!("{:.2} G", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2} M", v / 1e6)
    } else {
        format!("{v:.1}")
    }
}

pub(crate) fn markdown(summary: &SummaryFile) -> String {
    let mut md = String::new();
    md.push_str("# Benchmark summary\n\n");
    md.push_str(&format!(
        "Setup: `{}` (testpki pinned keys, aws-lc-rs). {} interleaved rounds, each handshake \
         figure measured in {} interleaved slices per round; `quick` = {}.\n\n",
        summary.meta["setup_label"].as_str().unwrap_or("?"),
        summary.meta["rounds"],
        summary.meta["slices_per_handshake_sample"],
        summary.meta["quick"],
    ));
    md.push_str("## Ratios\n\n");
    ratio_table(&mut md, &summary.ratios);
    md.push_str(
        "\n## Supplementary ratios\n\nThe same ratios per CPU-second of the one thread that \
         runs client and server (much less disturbed by other load on a shared machine), and \
         noise-free counts (callgrind instructions, strace system calls).\n\n",
    );
    ratio_table(&mut md, &summary.supplementary);
    md.push_str("\n## Figures\n\n| key | unit | median | min | max | spread | what |\n|---|---|---|---|---|---|---|\n");
    for (key, figure) in &summary.figures {
        let s = &figure["summary"];
        if s.is_null() {
            md.push_str(&format!(
                "| `{key}` | {} | null: {} | | | | {} |\n",
                figure["unit"].as_str().unwrap_or(""),
                figure["reason"].as_str().unwrap_or("unavailable"),
                figure["what"].as_str().unwrap_or(""),
            ));
        } else {
            md.push_str(&format!(
                "| `{key}` | {} | {} | {} | {} | {} | {} |\n",
                figure["unit"].as_str().unwrap_or(""),
                fmt_num(&s["median"]),
                fmt_num(&s["min"]),
                fmt_num(&s["max"]),
                fmt_pct(&s["spread"]),
                figure["what"].as_str().unwrap_or(""),
            ));
        }
    }
    md.push_str(&format!(
        "\nRun took {:.0} s. Reproduce with `cargo xtask bench{}`.\n",
        summary.meta["elapsed_s"].as_f64().unwrap_or(0.0),
        if summary.meta["quick"].as_bool() == Some(true) {
            " --quick"
        } else {
            ""
        }
    ));
    md
}

fn ratio_table(md: &mut String, ratios: &BTreeMap<&'static str, Value>) {
    md.push_str("| key | median | spread | target | met | R in this run | R reference |\n|---|---|---|---|---|---|---|\n");
    for (key, ratio) in ratios {
        let median = fmt_num(&ratio["summary"]["median"]);
        let spread = fmt_pct(&ratio["summary"]["spread"]);
        let met = match ratio["met"].as_bool() {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "-",
        };
        let value = if ratio["summary"].is_null() {
            format!(
                "null: {}",
                ratio["reason"].as_str().unwrap_or("unavailable")
            )
        } else {
            median
        };
        md.push_str(&format!(
            "| `{key}` | {value} | {spread} | {} | {met} | {} | {} |\n",
            ratio["target"].as_str().unwrap_or("-"),
            fmt_num(&ratio["r_in_this_run"]["median"]),
            fmt_num(&ratio["reference_r"]),
        ));
    }
}

fn fmt_num(v: &Value) -> String {
    match v.as_f64() {
        None => "-".to_owned(),
        Some(x) if x.abs() >= 1e6 => format!("{:.3e}", x),
        Some(x) if x.abs() >= 100.0 => format!("{x:.0}"),
        Some(x) => format!("{x:.3}"),
    }
}

fn fmt_pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1} %", x * 100.0))
        .unwrap_or_else(|| "-".to_owned())
}
