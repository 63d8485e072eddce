//! Grid rankings: the points of every algorithm grid with more than one point, ranked on one
//! metric (`grid_ranking.metric`, default the spec's first metric) per environment, best
//! first, and combined across environments.
//!
//! Per environment: each point's value is the metric's aggregate over seeds (the mean, or the
//! mean of the best seeds where the metric says so) with its 95% percentile-bootstrap
//! interval ([`super::metrics::aggregate`]). Higher is better except for
//! `episodes_to_threshold`; a point without a value (N/A, no finished seed) ranks last. Tied
//! values share the mean of their positions (fractional ranking). The best point is
//! compared with the runner-up by their intervals: overlapping intervals mean the best is
//! not distinguishable from the runner-up.
//!
//! Across environments (our choice, stated in the README): a point's mean rank over the
//! environments where at least one point of the grid has a value; lower is better, ties keep
//! the grid's order.

use super::metrics::Aggregate;

/// One grid point's place in a ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedPoint {
    /// The point's label (`lr=0.1`, `kfac.kl_clip=0.01, value_kfac.damping=0.1`).
    pub point: String,
    /// 1 = best; tied values share the mean of their positions.
    pub rank: f64,
    pub agg: Aggregate,
    /// Seeds in the plan (finished or not).
    pub seeds_total: usize,
}

/// How the best point's interval relates to the runner-up's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separation {
    /// The intervals do not overlap.
    Distinct,
    /// The intervals overlap: the best is not distinguishable from the runner-up.
    Overlap,
    /// One of the two has no interval (one seed, or a seed without a value).
    NoInterval,
}

impl Separation {
    /// Plain words for reports.
    pub fn text(self) -> &'static str {
        match self {
            Separation::Distinct => "intervals do not overlap: better than the runner-up",
            Separation::Overlap => "intervals overlap: not distinguishable from the runner-up",
            Separation::NoInterval => "no interval to compare with the runner-up",
        }
    }

    /// One word for CSV.
    pub fn code(self) -> &'static str {
        match self {
            Separation::Distinct => "distinct",
            Separation::Overlap => "overlap",
            Separation::NoInterval => "no_interval",
        }
    }
}

/// The ranking of one algorithm's grid on one environment.
#[derive(Debug, Clone, PartialEq)]
pub struct GridRanking {
    pub env: String,
    /// The algorithm's name (without the grid label).
    pub algorithm: String,
    /// Best first.
    pub points: Vec<RankedPoint>,
    /// Best against runner-up; None when no point has a value.
    pub best_vs_runner_up: Option<Separation>,
}

impl GridRanking {
    /// Whether the first point is the best: it has a value and shares it with no other.
    pub fn has_best(&self) -> bool {
        self.points.first().is_some_and(|p| p.agg.value.is_some() && p.rank == 1.0)
    }
}

/// One grid point across environments.
#[derive(Debug, Clone, PartialEq)]
pub struct CombinedPoint {
    pub point: String,
    /// Mean of the per-environment ranks.
    pub mean_rank: f64,
    /// Rank on each environment that counts, in the spec's order.
    pub ranks: Vec<(String, f64)>,
}

/// The ranking of one algorithm's grid across environments (best first).
#[derive(Debug, Clone, PartialEq)]
pub struct CombinedRanking {
    pub algorithm: String,
    pub points: Vec<CombinedPoint>,
}

impl CombinedRanking {
    /// Whether the first point is the best: a mean rank lower than every other's.
    pub fn has_best(&self) -> bool {
        match self.points.as_slice() {
            [first, second, ..] => first.mean_rank < second.mean_rank,
            [first] => !first.mean_rank.is_nan(),
            [] => false,
        }
    }
}

/// Every grid ranking of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct GridRankings {
    /// The metric that ranks.
    pub metric: String,
    pub higher_is_better: bool,
    /// Per (environment, algorithm), in report order.
    pub per_env: Vec<GridRanking>,
    /// Per algorithm, when the spec has several environments.
    pub combined: Vec<CombinedRanking>,
}

/// Ranks one grid: `points` are (label, aggregate, seeds in the plan) in grid order.
pub fn rank(env: &str, algorithm: &str, points: Vec<(String, Aggregate, usize)>, higher_is_better: bool) -> GridRanking {
    let mut order: Vec<usize> = (0..points.len()).collect();
    let key = |i: usize| points[i].1.value;
    // Stable: equal values keep the grid's order.
    order.sort_by(|&a, &b| match (key(a), key(b)) {
        (Some(x), Some(y)) if higher_is_better => y.total_cmp(&x),
        (Some(x), Some(y)) => x.total_cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    // Fractional ranks over runs of equal values.
    let mut ranks = vec![0.0; order.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i + 1;
        while j < order.len() && key(order[j]) == key(order[i]) {
            j += 1;
        }
        let shared = (i + 1 + j) as f64 / 2.0;
        ranks[i..j].iter_mut().for_each(|r| *r = shared);
        i = j;
    }
    let ranked: Vec<RankedPoint> = order
        .iter()
        .zip(ranks)
        .map(|(&k, rank)| RankedPoint { point: points[k].0.clone(), rank, agg: points[k].1.clone(), seeds_total: points[k].2 })
        .collect();
    let best_vs_runner_up = match ranked.as_slice() {
        [best, runner_up, ..] if best.agg.value.is_some() && best.rank == 1.0 => Some(match (best.agg.ci, runner_up.agg.ci) {
            (Some((l1, h1)), Some((l2, h2))) if l1 <= h2 && l2 <= h1 => Separation::Overlap,
            (Some(_), Some(_)) => Separation::Distinct,
            _ => Separation::NoInterval,
        }),
        _ => None,
    };
    GridRanking { env: env.to_string(), algorithm: algorithm.to_string(), points: ranked, best_vs_runner_up }
}

/// Combines the per-environment rankings of `algorithm` (in the spec's environment order)
/// whose points are `labels` (in grid order): mean rank over the environments where some
/// point has a value.
pub fn combine(algorithm: &str, labels: &[String], per_env: &[&GridRanking]) -> CombinedRanking {
    let counted: Vec<&&GridRanking> = per_env.iter().filter(|g| g.points.iter().any(|p| p.agg.value.is_some())).collect();
    let mut points: Vec<CombinedPoint> = labels
        .iter()
        .map(|label| {
            let ranks: Vec<(String, f64)> = counted
                .iter()
                .filter_map(|g| g.points.iter().find(|p| &p.point == label).map(|p| (g.env.clone(), p.rank)))
                .collect();
            let mean_rank = if ranks.is_empty() { f64::NAN } else { ranks.iter().map(|r| r.1).sum::<f64>() / ranks.len() as f64 };
            CombinedPoint { point: label.clone(), mean_rank, ranks }
        })
        .collect();
    // Stable: equal mean ranks keep the grid's order.
    points.sort_by(|a, b| a.mean_rank.total_cmp(&b.mean_rank));
    CombinedRanking { algorithm: algorithm.to_string(), points }
}

/// A rank as printed: `1`, `2.5`.
pub fn fmt_rank(r: f64) -> String {
    if r.is_nan() {
        "—".into()
    } else if r.fract() == 0.0 {
        format!("{r:.0}")
    } else {
        format!("{r:.2}").trim_end_matches('0').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::metrics::aggregate;

    fn pt(label: &str, values: &[Option<f64>], higher: bool) -> (String, Aggregate, usize) {
        (label.to_string(), aggregate(values, None, higher), values.len())
    }

    #[test]
    fn higher_is_better_ranks_descending_with_na_last_and_ties_shared() {
        let g = rank(
            "E",
            "A",
            vec![
                pt("a", &[Some(1.0), Some(2.0)], true),
                pt("b", &[Some(10.0), Some(11.0)], true),
                pt("c", &[None, None], true),
                pt("d", &[Some(1.0), Some(2.0)], true),
            ],
            true,
        );
        let order: Vec<(&str, f64)> = g.points.iter().map(|p| (p.point.as_str(), p.rank)).collect();
        assert_eq!(order, vec![("b", 1.0), ("a", 2.5), ("d", 2.5), ("c", 4.0)]);
        // b's interval [10, 11] lies above a's [1, 2].
        assert_eq!(g.best_vs_runner_up, Some(Separation::Distinct));
    }

    #[test]
    fn lower_is_better_for_episodes_and_overlap_is_reported() {
        let g = rank(
            "E",
            "A",
            vec![pt("slow", &[Some(50.0), Some(70.0)], false), pt("fast", &[Some(40.0), Some(60.0)], false), pt("never", &[None, Some(3.0)], false)],
            false,
        );
        let order: Vec<&str> = g.points.iter().map(|p| p.point.as_str()).collect();
        assert_eq!(order, vec!["fast", "slow", "never"]);
        assert_eq!(g.best_vs_runner_up, Some(Separation::Overlap));
        // One seed: no interval.
        let g = rank("E", "A", vec![pt("x", &[Some(1.0)], true), pt("y", &[Some(2.0)], true)], true);
        assert_eq!(g.best_vs_runner_up, Some(Separation::NoInterval));
    }

    #[test]
    fn combined_rank_is_the_mean_of_ranks_over_environments_with_values() {
        let e1 = rank("E1", "A", vec![pt("p", &[Some(1.0)], true), pt("q", &[Some(2.0)], true), pt("r", &[Some(3.0)], true)], true);
        let e2 = rank("E2", "A", vec![pt("p", &[Some(3.0)], true), pt("q", &[Some(2.0)], true), pt("r", &[Some(1.0)], true)], true);
        let e3 = rank("E3", "A", vec![pt("p", &[Some(1.0)], true), pt("q", &[Some(3.0)], true), pt("r", &[Some(2.0)], true)], true);
        let none = rank("E4", "A", vec![pt("p", &[None], true), pt("q", &[None], true), pt("r", &[None], true)], true);
        let labels = ["p", "q", "r"].map(String::from);
        let c = combine("A", &labels, &[&e1, &e2, &e3, &none]);
        // p: 3, 1, 3 -> 7/3; q: 2, 2, 1 -> 5/3; r: 1, 3, 2 -> 2. E4 has no values: left out.
        let got: Vec<(&str, f64)> = c.points.iter().map(|p| (p.point.as_str(), p.mean_rank)).collect();
        assert_eq!(got, vec![("q", 5.0 / 3.0), ("r", 2.0), ("p", 7.0 / 3.0)]);
        assert_eq!(c.points[0].ranks.len(), 3);
        assert!(c.has_best());
        // A tie at the top: no best.
        let tie = rank("E", "A", vec![pt("x", &[Some(1.0)], true), pt("y", &[Some(1.0)], true)], true);
        assert!(!tie.has_best() && tie.best_vs_runner_up.is_none());
        assert_eq!(fmt_rank(2.5), "2.5");
        assert_eq!(fmt_rank(5.0 / 3.0), "1.67");
        assert_eq!(fmt_rank(2.0), "2");
    }
}
