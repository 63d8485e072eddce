//! Statistics around the paper's metrics (each metric itself is defined in
//! [`crate::metric`]).
//!
//! Across seeds ([`aggregate`]): the mean over all seeds, or over the `best_seeds` best
//! (paper Table 2: "averaged over the best 3 of 8 seeds"), with the sample standard deviation
//! and a 95% percentile-bootstrap interval over seeds (the same statistic recomputed on
//! resampled seeds). Across tasks ([`iqm_stratified`]): the interquartile mean of
//! paper-normalised scores with a task-stratified bootstrap interval, as
//! google-research/rliable's `aggregate_iqm` and `StratifiedBootstrap` do.

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metric::MetricKind;

/// Bootstrap resamples for every interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2000;
/// Seed of the bootstrap stream: reports are deterministic.
pub const BOOTSTRAP_SEED: u64 = 0x5eed_ac7e;

/// The metric of one seed ([`MetricKind::per_seed_expr`]).
pub fn per_seed_expr(kind: &MetricKind, env: &str) -> Expr {
    kind.per_seed_expr(env)
}

/// Whether the metric reads `updates.parquet` instead of `episodes.parquet`.
pub fn reads_updates(kind: &MetricKind) -> bool {
    kind.reads_updates()
}

/// One metric of one (environment, algorithm) row, over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregate {
    /// The reported value: mean over all seeds or over the best `k`; None when a seed it
    /// needs has no value (never reached the threshold, no episode yet).
    pub value: Option<f64>,
    /// Sample standard deviation (ddof 1) of the seeds the value uses.
    pub std: Option<f64>,
    /// 95% percentile-bootstrap interval of the value over seeds (two seeds or more).
    pub ci: Option<(f64, f64)>,
    /// Seeds with a value / seeds finished.
    pub n_values: usize,
    pub n_seeds: usize,
}

/// The value from per-seed values: the mean over the `best` best seeds (by
/// `higher_is_better`; a seed without a value ranks last) or over all seeds.
pub fn statistic(values: &[Option<f64>], best: Option<usize>, higher_is_better: bool) -> Option<Vec<f64>> {
    let mut v: Vec<Option<f64>> = values.to_vec();
    if v.is_empty() {
        return None;
    }
    if let Some(k) = best {
        v.sort_by(|a, b| match (a, b) {
            (Some(x), Some(y)) => {
                if higher_is_better {
                    y.total_cmp(x)
                } else {
                    x.total_cmp(y)
                }
            }
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        v.truncate(k.min(v.len()));
    }
    v.into_iter().collect()
}

fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

fn sample_std(x: &[f64]) -> Option<f64> {
    (x.len() > 1).then(|| {
        let m = mean(x);
        (x.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (x.len() - 1) as f64).sqrt()
    })
}

/// Linear-interpolated quantile of sorted data (numpy's default `percentile`).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    let pos = q * (sorted.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f64)
}

/// Aggregates per-seed values of one row.
pub fn aggregate(values: &[Option<f64>], best: Option<usize>, higher_is_better: bool) -> Aggregate {
    let used = statistic(values, best, higher_is_better);
    let value = used.as_ref().map(|u| mean(u));
    let std = used.as_ref().and_then(|u| sample_std(u));
    let ci = if values.len() >= 2 && values.iter().all(Option::is_some) {
        let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
        let mut stats: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
            .filter_map(|_| {
                let sample: Vec<Option<f64>> = (0..values.len()).map(|_| values[rng.gen_range(0..values.len())]).collect();
                statistic(&sample, best, higher_is_better).map(|u| mean(&u))
            })
            .collect();
        stats.sort_by(f64::total_cmp);
        Some((quantile(&stats, 0.025), quantile(&stats, 0.975)))
    } else {
        None
    };
    Aggregate {
        value,
        std,
        ci,
        n_values: values.iter().filter(|v| v.is_some()).count(),
        n_seeds: values.len(),
    }
}

/// Interquartile mean: the mean of the middle half, dropping `floor(n / 4)` values at each end
/// (scipy's `trim_mean(x, 0.25)`, which rliable's `aggregate_iqm` calls).
pub fn iqm(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let cut = v.len() / 4;
    mean(&v[cut..v.len() - cut])
}

/// A score normalised by the paper's number, 1 meaning "as in the paper" and larger better:
/// `ours / paper` for a positive paper number, `paper / ours` for a negative one (Reacher's
/// rewards are negative). rliable normalises by random and reference scores; the paper
/// gives no random scores, so this is our (stated) choice.
pub fn paper_normalised(ours: f64, paper: f64) -> f64 {
    if paper >= 0.0 {
        ours / paper
    } else {
        paper / ours
    }
}

/// IQM over every (task, seed) score with a 95% interval from a task-stratified bootstrap
/// (seeds resampled with replacement within each task), as rliable does. `tasks` holds the
/// scores of each task's seeds; tasks without scores are ignored.
pub fn iqm_stratified(tasks: &[Vec<f64>]) -> Option<(f64, (f64, f64))> {
    let tasks: Vec<&Vec<f64>> = tasks.iter().filter(|t| !t.is_empty()).collect();
    if tasks.is_empty() {
        return None;
    }
    let all: Vec<f64> = tasks.iter().flat_map(|t| t.iter().copied()).collect();
    let point = iqm(&all);
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut stats: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let sample: Vec<f64> =
                tasks.iter().flat_map(|t| (0..t.len()).map(|_| t[rng.gen_range(0..t.len())]).collect::<Vec<_>>()).collect();
            iqm(&sample)
        })
        .collect();
    stats.sort_by(f64::total_cmp);
    Some((point, (quantile(&stats, 0.025), quantile(&stats, 0.975))))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metric::UpdateReduction;

    /// One seed's episodes with these returns.
    fn episodes(returns: &[f64]) -> LazyFrame {
        let n = returns.len() as u64;
        df!("episode" => (0..n).collect::<Vec<u64>>(), "return" => returns.to_vec()).unwrap().lazy()
    }

    fn eval(kind: &MetricKind, env: &str, returns: &[f64]) -> Option<f64> {
        let out = episodes(returns).select([per_seed_expr(kind, env).alias("value")]).collect().unwrap();
        out.column("value").unwrap().cast(&DataType::Float64).unwrap().f64().unwrap().get(0)
    }

    #[test]
    fn last_episodes_mean_takes_the_tail() {
        let k = MetricKind::LastEpisodesMean { episodes: 3 };
        // Last three of 1..=6: (4 + 5 + 6) / 3 = 5.
        assert_eq!(eval(&k, "X", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), Some(5.0));
        // Fewer episodes than the window: the mean of those there are.
        assert_eq!(eval(&k, "X", &[2.0, 4.0]), Some(3.0));
    }

    #[test]
    fn first_episodes_mean_takes_the_head() {
        let k = MetricKind::FirstEpisodesMean { episodes: 3 };
        // First three of 1..=6: (1 + 2 + 3) / 3 = 2.
        assert_eq!(eval(&k, "X", &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]), Some(2.0));
        // Fewer episodes than asked: the mean of those there are.
        assert_eq!(eval(&k, "X", &[2.0, 4.0]), Some(3.0));
    }

    #[test]
    fn best_window_mean_is_the_best_run_of_consecutive_episodes() {
        let k = MetricKind::BestWindowMean { window: 3 };
        // Windows: (0,10,20)=10, (10,20,30)=20, (20,30,-60)=-3.33, (30,-60,0)=-10 -> 20.
        assert_eq!(eval(&k, "X", &[0.0, 10.0, 20.0, 30.0, -60.0, 0.0]), Some(20.0));
        // Fewer episodes than the window: no value.
        assert_eq!(eval(&k, "X", &[5.0, 6.0]), None);
    }

    #[test]
    fn episodes_to_threshold_counts_from_one_at_the_window_start() {
        let thresholds = BTreeMap::from([("A".to_string(), 10.0), ("B".to_string(), 100.0)]);
        let k = MetricKind::EpisodesToThreshold { window: 2, thresholds };
        // Windows of 2: (0,4)=2, (4,12)=8, (12,9)=10.5 >= 10 -> starts at the 3rd episode.
        assert_eq!(eval(&k, "A", &[0.0, 4.0, 12.0, 9.0, 50.0]), Some(3.0));
        // Reached by the very first window: N = 1.
        assert_eq!(eval(&k, "A", &[10.0, 10.0]), Some(1.0));
        // Never reached: N/A.
        assert_eq!(eval(&k, "B", &[0.0, 4.0, 12.0, 9.0, 50.0]), None);
    }

    #[test]
    fn timesteps_per_second_is_last_step_over_last_wall_time() {
        let df = df!("global_step" => [2500u64, 5000, 7500], "wall_seconds" => [1.0, 2.5, 3.0]).unwrap();
        let out = df.lazy().select([per_seed_expr(&MetricKind::TimestepsPerSecond, "X").alias("v")]).collect().unwrap();
        assert_eq!(out.column("v").unwrap().f64().unwrap().get(0), Some(2500.0));
    }

    #[test]
    fn all_episodes_mean_is_the_mean_of_every_episode() {
        assert_eq!(eval(&MetricKind::AllEpisodesMean, "X", &[1.0, 2.0, 3.0, 10.0]), Some(4.0));
    }

    #[test]
    fn update_statistics_skip_the_first_updates_and_divide_when_asked() {
        let df = df!(
            "update" => [0u64, 1, 2, 3, 4],
            "exact_kl" => [1.0, 0.004, 0.001, 0.002, 0.003],
            "quadratic_kl" => [1.0, 0.002, 0.002, 0.001, 0.001]
        )
        .unwrap();
        let median = |kind: MetricKind| {
            let out = df.clone().lazy().select([per_seed_expr(&kind, "X").alias("v")]).collect().unwrap();
            out.column("v").unwrap().f64().unwrap().get(0)
        };
        // Updates 1..: 0.004, 0.001, 0.002, 0.003 -> median 0.0025.
        let kind = |divided_by: Option<&str>, from_update, statistic| MetricKind::UpdateStatistic {
            column: "exact_kl".into(),
            divided_by: divided_by.map(String::from),
            from_update,
            statistic,
        };
        let plain = median(kind(None, 1, UpdateReduction::Median)).unwrap();
        assert!((plain - 0.0025).abs() < 1e-15, "{plain}");
        assert_eq!(median(kind(None, 1, UpdateReduction::Max)), Some(0.004));
        assert!((median(kind(None, 1, UpdateReduction::Mean)).unwrap() - 0.0025).abs() < 1e-15);
        // Ratios from update 2: 0.5, 2, 3 -> median 2, max 3.
        let ratio = median(kind(Some("quadratic_kl"), 2, UpdateReduction::Median)).unwrap();
        assert!((ratio - 2.0).abs() < 1e-12, "{ratio}");
        assert_eq!(median(kind(Some("quadratic_kl"), 2, UpdateReduction::Max)), Some(3.0));
    }

    #[test]
    fn best_seeds_mean_and_interval() {
        // Paper Table 2: the mean of the 3 best seeds. Best 3 of (1, 9, 4, 7, 3) = (9, 7, 4).
        let v = [Some(1.0), Some(9.0), Some(4.0), Some(7.0), Some(3.0)];
        let a = aggregate(&v, Some(3), true);
        assert_eq!(a.value, Some(20.0 / 3.0));
        // Sample std of (9, 7, 4): mean 20/3, squares (49+1+64)/9 / 2 = 114/18.
        assert!((a.std.unwrap() - (114.0f64 / 18.0).sqrt()).abs() < 1e-12);
        let (lo, hi) = a.ci.unwrap();
        assert!(lo <= a.value.unwrap() && a.value.unwrap() <= hi && lo >= 1.0 && hi <= 9.0);
        // Lower is better for episodes: the 2 best of (50, N/A, 20, 30) are (20, 30).
        let e = aggregate(&[Some(50.0), None, Some(20.0), Some(30.0)], Some(2), false);
        assert_eq!(e.value, Some(25.0));
        assert_eq!((e.n_values, e.n_seeds), (3, 4));
        // A needed seed without a value: no value (the paper's N/A).
        assert_eq!(aggregate(&[Some(50.0), None], Some(2), false).value, None);
        // All seeds: plain mean; one seed has no interval.
        assert_eq!(aggregate(&[Some(2.0), Some(4.0)], None, true).value, Some(3.0));
        assert_eq!(aggregate(&[Some(2.0)], None, true).ci, None);
    }

    #[test]
    fn iqm_trims_a_quarter_at_each_end() {
        // 8 values, sorted -50, 1, 2, 3, 4, 5, 6, 100: drop 2 at each end -> mean of
        // (2, 3, 4, 5) = 3.5.
        assert_eq!(iqm(&[100.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, -50.0]), 3.5);
        // 3 values: floor(3/4) = 0 dropped.
        assert_eq!(iqm(&[1.0, 2.0, 6.0]), 3.0);
        let (point, (lo, hi)) = iqm_stratified(&[vec![1.0, 1.2, 0.8], vec![0.5, 0.7, 0.6]]).unwrap();
        assert!(lo <= point && point <= hi && lo >= 0.5 && hi <= 1.2);
        // Identical seeds: a zero-width interval.
        assert_eq!(iqm_stratified(&[vec![2.0, 2.0]]), Some((2.0, (2.0, 2.0))));
    }

    #[test]
    fn paper_normalised_is_one_at_the_paper_and_larger_when_better() {
        assert_eq!(paper_normalised(4700.0, 4700.0), 1.0);
        assert!(paper_normalised(5000.0, 4700.0) > 1.0);
        assert_eq!(paper_normalised(-1.5, -1.5), 1.0);
        assert!(paper_normalised(-3.0, -1.5) < 1.0);
    }
}
