//! Medians and spreads over interleaved rounds.

use serde::Serialize;

/// A figure measured once per round: its samples, median and spread.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// The median of the samples.
    pub median: f64,
    /// The smallest sample.
    pub min: f64,
    /// The largest sample.
    pub max: f64,
    /// `(max - min) / median`: how far apart the rounds were, relative to the median.
    pub spread: f64,
    /// Every sample, in round order.
    pub samples: Vec<f64>,
}

impl Summary {
    /// Summarises `samples`; `None` when there are none (or one is not a finite number).
    pub fn of(samples: &[f64]) -> Option<Self> {
        if samples.is_empty() || samples.iter().any(|s| !s.is_finite()) {
            return None;
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 {
            sorted[mid]
        } else {
            (sorted[mid - 1] + sorted[mid]) / 2.0
        };
        let min = sorted[0];
        let max = sorted[sorted.len() - 1];
        let spread = if median == 0.0 {
            0.0
        } else {
            (max - min) / median.abs()
        };
        Some(Self {
            median,
            min,
            max,
            spread,
            samples: samples.to_vec(),
        })
    }
}

/// Per-round ratios `numerator[i] / denominator[i]` (rounds where both were measured).
pub fn ratios(numerator: &[f64], denominator: &[f64]) -> Vec<f64> {
    numerator
        .iter()
        .zip(denominator)
        .filter(|(_, d)| **d != 0.0)
        .map(|(n, d)| n / d)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_spread_of_odd_and_even_counts() {
        let odd = Summary::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((odd.median, odd.min, odd.max), (2.0, 1.0, 3.0));
        assert_eq!(odd.spread, 1.0);
        assert_eq!(odd.samples, vec![3.0, 1.0, 2.0]);
        let even = Summary::of(&[4.0, 1.0, 2.0, 3.0]).unwrap();
        assert_eq!(even.median, 2.5);
    }

    #[test]
    fn nothing_to_summarise_is_none() {
        assert_eq!(Summary::of(&[]), None);
        assert_eq!(Summary::of(&[1.0, f64::NAN]), None);
    }

    #[test]
    fn ratios_pair_rounds() {
        assert_eq!(ratios(&[2.0, 3.0, 4.0], &[1.0, 0.0, 2.0]), vec![2.0, 2.0]);
    }
}
