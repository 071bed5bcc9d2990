//! The in-memory checks without the matrix: the core's policy table agrees with the oracle's.

use super::*;

#[test]
fn every_policy_row_agrees_with_the_oracle() {
    let checks = policy_table();
    assert_eq!(checks.len(), 11 * 12 * 2 + 11, "every operation is a row");
    let failed: Vec<String> = checks
        .iter()
        .filter(|c| !c.pass)
        .map(|c| {
            format!(
                "{}: expected {}, observed {}",
                c.name, c.expected, c.observed
            )
        })
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
