//! `cargo xtask tidy`: repository rules that no compiler checks. Also runs as a `#[test]`.
//!
//! - every Rust file opens with a `//!` module comment;
//! - the layer-1 crate depends on no async runtime;
//! - no `should_panic` and no `ignore` test attributes anywhere (assert the behaviour instead);
//! - every certificate scenario of `testpki` is listed in `fixtures/scenarios.json`.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::bail;

use crate::util::project_root;

pub(crate) fn run() -> anyhow::Result<()> {
    let problems = check(&project_root());
    if problems.is_empty() {
        eprintln!("tidy: ok");
        return Ok(());
    }
    for problem in &problems {
        eprintln!("tidy: {problem}");
    }
    bail!("{} tidy problem(s)", problems.len())
}

/// Every rule, as a list of human-readable problems.
fn check(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "benches", "fuzz"] {
        collect_rust_files(&root.join(dir), &mut files);
    }
    // Built by hand so that this file does not flag itself.
    let should_panic = format!("#[{}]", "should_panic");
    let ignore = format!("#[{}]", "ignore");
    for file in &files {
        let Ok(text) = fs::read_to_string(file) else {
            problems.push(format!("{}: not readable as UTF-8", rel(root, file)));
            continue;
        };
        if !text.trim_start().starts_with("//!") {
            problems.push(format!(
                "{}: does not start with a `//!` comment",
                rel(root, file)
            ));
        }
        if text.contains(&should_panic) || text.contains(&ignore) {
            problems.push(format!("{}: uses should_panic or ignore", rel(root, file)));
        }
    }
    let proto_manifest = root.join("crates/streamsocket-proto/Cargo.toml");
    match fs::read_to_string(&proto_manifest) {
        Ok(text) => {
            for runtime in ["tokio", "async-std", "smol", "futures"] {
                if text.lines().any(|l| l.trim_start().starts_with(runtime)) {
                    problems.push(format!("streamsocket-proto depends on {runtime}"));
                }
            }
        }
        Err(err) => problems.push(format!("cannot read {}: {err}", proto_manifest.display())),
    }
    problems.extend(check_scenario_catalogue(root));
    problems
}

/// Where testpki declares `Scenario`.
const SCENARIO_SOURCE: &str = "crates/testpki/src/scenario.rs";

/// Every `Scenario` variant of testpki must appear in `fixtures/scenarios.json`. A source or an
/// enum that cannot be found is a problem too, so that the rule cannot pass by checking nothing.
fn check_scenario_catalogue(root: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(root.join(SCENARIO_SOURCE)) else {
        return vec![format!("cannot read {SCENARIO_SOURCE}")];
    };
    let catalogue = fs::read_to_string(root.join("fixtures/scenarios.json")).unwrap_or_default();
    missing_scenarios(&text, &catalogue)
}

/// The problems of `catalogue` against the `Scenario` enum declared in `source`.
fn missing_scenarios(source: &str, catalogue: &str) -> Vec<String> {
    let Some(variants) = enum_variants(source, "pub enum Scenario") else {
        return vec![format!("no `pub enum Scenario` in {SCENARIO_SOURCE}")];
    };
    if variants.is_empty() {
        return vec![format!(
            "`pub enum Scenario` in {SCENARIO_SOURCE} has no variants"
        )];
    }
    variants
        .into_iter()
        .filter(|v| !catalogue.contains(&format!("\"{}\"", kebab(v))))
        .map(|v| format!("scenario {v} is missing from fixtures/scenarios.json"))
        .collect()
}

/// The variant names of the enum whose declaration starts with `header`.
fn enum_variants(text: &str, header: &str) -> Option<Vec<String>> {
    let start = text.find(header)?;
    let body_start = start + text[start..].find('{')? + 1;
    let body_end = body_start + text[body_start..].find('}')?;
    let variants = text[body_start..body_end]
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("//") && !l.starts_with('#'))
        .filter_map(|l| {
            let name: String = l.chars().take_while(|c| c.is_alphanumeric()).collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    Some(variants)
}

fn kebab(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == "corpus" || name == "artifacts" {
            continue;
        }
        if path.is_dir() {
            collect_rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn rel(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_is_tidy() {
        let problems = check(&project_root());
        assert!(
            problems.is_empty(),
            "tidy problems:\n{}",
            problems.join("\n")
        );
    }

    #[test]
    fn kebab_case_matches_serde() {
        assert_eq!(kebab("MissingIntermediate"), "missing-intermediate");
        assert_eq!(kebab("Valid"), "valid");
    }

    #[test]
    fn the_scenario_rule_reads_the_real_enum_and_flags_a_missing_entry() {
        // Guards the rule itself: pointed at the wrong file, it used to check nothing.
        let source = fs::read_to_string(project_root().join(SCENARIO_SOURCE)).unwrap();
        let catalogue = fs::read_to_string(project_root().join("fixtures/scenarios.json")).unwrap();
        assert_eq!(missing_scenarios(&source, &catalogue), Vec::<String>::new());
        let without_valid = catalogue.replace("\"valid\"", "\"removed\"");
        assert_eq!(
            missing_scenarios(&source, &without_valid),
            vec!["scenario Valid is missing from fixtures/scenarios.json".to_owned()]
        );
        assert_eq!(missing_scenarios("", &catalogue).len(), 1);
    }

    #[test]
    fn enum_variants_skips_comments_and_attributes() {
        let text =
            "pub enum Scenario {\n    /// doc\n    #[serde(x)]\n    Valid,\n    WrongHost,\n}";
        assert_eq!(
            enum_variants(text, "pub enum Scenario"),
            Some(vec!["Valid".to_owned(), "WrongHost".to_owned()])
        );
    }
}
