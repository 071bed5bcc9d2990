//! The samples of a run, the models derived from them per round, and the per-round ratios.

use std::collections::BTreeMap;

use streamsocket_benches::stats;

use crate::ratio::Denominator;

/// Samples per figure, and the reason for each figure that could not be measured.
#[derive(Default)]
pub(crate) struct Results {
    pub(crate) samples: BTreeMap<&'static str, Vec<f64>>,
    pub(crate) missing: BTreeMap<&'static str, String>,
    pub(crate) notes: Vec<String>,
}

impl Results {
    pub(crate) fn record(&mut self, key: &'static str, result: anyhow::Result<f64>) {
        match result {
            Ok(value) => self.samples.entry(key).or_default().push(value),
            Err(err) => {
                eprintln!("  {key}: unavailable: {err:#}");
                self.missing
                    .entry(key)
                    .or_insert_with(|| format!("{err:#}"));
            }
        }
    }
}

/// Per-round ratio samples, or why there are none.
pub(crate) fn ratio_samples(
    results: &Results,
    numerator: &str,
    denominator: Denominator,
) -> Result<Vec<f64>, String> {
    let get = |key: &str| -> Result<&Vec<f64>, String> {
        results.samples.get(key).ok_or_else(|| {
            let reason = results
                .missing
                .get(key)
                .cloned()
                .unwrap_or_else(|| "not measured".to_owned());
            format!("{key}: {reason}")
        })
    };
    let num = get(numerator)?;
    match denominator {
        Denominator::Figure(key) => Ok(stats::ratios(num, get(key)?)),
        Denominator::AdditiveModel { m, tcp } => {
            let model = additive(get(m)?, get(tcp)?);
            Ok(stats::ratios(num, &model))
        }
    }
}

/// The per-round models computed from measured figures: the loopback ceilings (in-memory
/// work plus a bare TCP unit) and P direct plus the SMTP exchange's round trips.
pub(crate) fn derive_models(results: &mut Results) {
    for (model, m, tcp) in [
        (
            "model_handshake_per_s",
            "m_handshake_per_s",
            "tcp_connect_per_s",
        ),
        (
            "model_resumed_per_s",
            "m_resumed_per_s",
            "tcp_connect_per_s",
        ),
    ] {
        let derived = match (results.samples.get(m), results.samples.get(tcp)) {
            (Some(m), Some(tcp)) if m.len() == tcp.len() => Ok(additive(m, tcp)),
            (Some(_), Some(_)) => Err("a round is missing one of its two parts".to_owned()),
            _ => Err(format!("needs {m} and {tcp}")),
        };
        match derived {
            Ok(samples) => {
                results.samples.insert(model, samples);
            }
            Err(reason) => {
                results.missing.insert(model, reason);
            }
        }
    }
    // P direct, plus what the dialect's plaintext round trips cost on bare sockets.
    let starttls = [
        "p_handshake_per_s",
        "tcp_starttls_like_per_s",
        "tcp_connect_per_s",
    ]
    .map(|key| results.samples.get(key).cloned().unwrap_or_default());
    let [p, like, tcp] = &starttls;
    if !p.is_empty() && p.len() == like.len() && p.len() == tcp.len() {
        let model = p
            .iter()
            .zip(like)
            .zip(tcp)
            .map(|((p, like), tcp)| 1.0 / (1.0 / p + 1.0 / like - 1.0 / tcp))
            .collect();
        results.samples.insert("model_starttls_per_s", model);
    } else {
        results.missing.insert(
            "model_starttls_per_s",
            "needs P, the starttls-like and the plain TCP units in every round".to_owned(),
        );
    }
}

/// 1/(1/a + 1/b) per round: the rate of doing both pieces of work one after the other.
fn additive(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(a, b)| 1.0 / (1.0 / a + 1.0 / b))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_are_derived_per_round_or_said_missing() {
        let mut results = Results::default();
        for (key, samples) in [
            ("m_handshake_per_s", vec![1000.0, 2000.0]),
            ("tcp_connect_per_s", vec![1000.0, 2000.0]),
            ("p_handshake_per_s", vec![500.0, 500.0]),
            ("tcp_starttls_like_per_s", vec![500.0, 1000.0]),
        ] {
            results.samples.insert(key, samples);
        }
        derive_models(&mut results);
        assert_eq!(results.samples["model_handshake_per_s"], [500.0, 1000.0]);
        // 1 / (1/500 + 1/500 - 1/1000) = 1000/3; 1 / (1/500 + 1/1000 - 1/2000) = 400.
        let starttls = &results.samples["model_starttls_per_s"];
        assert!((starttls[0] - 1000.0 / 3.0).abs() < 1e-9 && (starttls[1] - 400.0).abs() < 1e-9);
        assert!(
            results.missing.contains_key("model_resumed_per_s"),
            "no M resumed"
        );
    }

    #[test]
    fn the_additive_model_is_the_rate_of_both_pieces_in_turn() {
        // 1,000 units/s of crypto and 1,000 units/s of sockets: 500 units/s for both.
        assert_eq!(additive(&[1000.0, 300.0], &[1000.0, 600.0]), [500.0, 200.0]);
    }
}
