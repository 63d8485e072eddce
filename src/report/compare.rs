//! Two sets of seeds compared: whether a metric moved between a reference run and a new one
//! (`acktr check`, [`super::check`]).
//!
//! - The test is a two-sample permutation test of the difference in the row's statistic (the
//!   mean over seeds, or over the best `k` seeds where the metric says so), two-sided: the
//!   p-value is the share of relabellings of the pooled seeds whose difference is at least as
//!   large in absolute value as the observed one (Good 2005, *Permutation, Parametric and
//!   Bootstrap Tests of Hypotheses*, ch. 3; the `imitation` library gates its learning tests
//!   on the same test). Every relabelling is enumerated when there are at most
//!   [`EXACT_LIMIT`]; otherwise [`RANDOM_PERMUTATIONS`] are drawn from a fixed seed and
//!   `p = (1 + hits) / (1 + draws)` (Phipson & Smyth 2010), so a verdict never depends on
//!   the run.
//! - The interval of the difference is a 95% percentile bootstrap, each side resampled on
//!   its own, from the seed the reports use ([`super::metrics::BOOTSTRAP_SEED`]).
//! - Several rows are compared at once; [`holm`] adjusts their p-values (Holm 1979) so that
//!   the chance of flagging any row when nothing changed stays at most the level.

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::metrics::{quantile, statistic, BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED};

/// Relabellings enumerated exactly up to this many (8 + 8 seeds: 12,870).
pub const EXACT_LIMIT: u64 = 50_000;
/// Random relabellings beyond [`EXACT_LIMIT`].
pub const RANDOM_PERMUTATIONS: usize = 20_000;

/// A comparison of one metric between two sets of seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Difference {
    /// `now - reference` of the statistic.
    pub diff: f64,
    /// 95% bootstrap interval of `diff`.
    pub ci: (f64, f64),
    /// Two-sided permutation p-value (unadjusted).
    pub p: f64,
    /// Whether every relabelling was enumerated.
    pub exact: bool,
}

/// The row's statistic of some seeds' values (mean, or mean of the best `best`).
fn stat(values: &[f64], best: Option<usize>, higher_is_better: bool) -> f64 {
    let v: Vec<Option<f64>> = values.iter().copied().map(Some).collect();
    let used = statistic(&v, best, higher_is_better).expect("values are all present");
    used.iter().sum::<f64>() / used.len() as f64
}

/// The share of relabellings of `n` pooled values whose group of `n_now` (given by its
/// indices into the pool) `extreme` accepts, and whether every relabelling was enumerated:
/// all `C(n, n_now)` when there are at most [`EXACT_LIMIT`] (the observed one among them),
/// else [`RANDOM_PERMUTATIONS`] drawn from [`BOOTSTRAP_SEED`] with `p = (1 + hits) / (1 +
/// draws)`.
pub fn relabellings(n: usize, n_now: usize, mut extreme: impl FnMut(&[usize]) -> bool) -> (f64, bool) {
    if choose(n as u64, n_now as u64) <= EXACT_LIMIT {
        let (mut hits, mut total) = (0u64, 0u64);
        let mut idx: Vec<usize> = (0..n_now).collect();
        loop {
            total += 1;
            hits += extreme(&idx) as u64;
            // Next combination in lexicographic order.
            let mut i = n_now;
            while i > 0 && idx[i - 1] == n - n_now + i - 1 {
                i -= 1;
            }
            if i == 0 {
                break;
            }
            idx[i - 1] += 1;
            for j in i..n_now {
                idx[j] = idx[j - 1] + 1;
            }
        }
        (hits as f64 / total as f64, true)
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
        let mut order: Vec<usize> = (0..n).collect();
        let mut hits = 0usize;
        for _ in 0..RANDOM_PERMUTATIONS {
            order.shuffle(&mut rng);
            hits += extreme(&order[..n_now]) as usize;
        }
        ((1 + hits) as f64 / (1 + RANDOM_PERMUTATIONS) as f64, false)
    }
}

/// `n choose k`, saturating.
pub fn choose(n: u64, k: u64) -> u64 {
    let k = k.min(n - k);
    let mut r: u128 = 1;
    for i in 0..k {
        r = r * (n - i) as u128 / (i + 1) as u128;
        if r > u64::MAX as u128 {
            return u64::MAX;
        }
    }
    r as u64
}

/// Compares `now` with `reference` (each at least two finite values).
pub fn compare(reference: &[f64], now: &[f64], best: Option<usize>, higher_is_better: bool) -> Difference {
    assert!(reference.len() >= 2 && now.len() >= 2, "a comparison needs two values on each side");
    let s = |v: &[f64]| stat(v, best, higher_is_better);
    let observed = s(now) - s(reference);
    let pooled: Vec<f64> = reference.iter().chain(now).copied().collect();
    let (n_ref, n) = (reference.len(), pooled.len());
    // A relabelling counts when its difference is at least the observed one, up to rounding
    // (identical samples in another order must count).
    let tol = 1e-9 * (1.0 + observed.abs());
    let extreme = |idx_now: &[usize]| {
        let mut in_now = vec![false; n];
        for &i in idx_now {
            in_now[i] = true;
        }
        let a: Vec<f64> = (0..n).filter(|i| !in_now[*i]).map(|i| pooled[i]).collect();
        let b: Vec<f64> = idx_now.iter().map(|&i| pooled[i]).collect();
        (s(&b) - s(&a)).abs() >= observed.abs() - tol
    };
    let (p, exact) = relabellings(n, n - n_ref, extreme);
    let mut rng = ChaCha8Rng::seed_from_u64(BOOTSTRAP_SEED);
    let mut diffs: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let a: Vec<f64> = (0..reference.len()).map(|_| reference[rng.gen_range(0..reference.len())]).collect();
            let b: Vec<f64> = (0..now.len()).map(|_| now[rng.gen_range(0..now.len())]).collect();
            s(&b) - s(&a)
        })
        .collect();
    diffs.sort_by(f64::total_cmp);
    Difference { diff: observed, ci: (quantile(&diffs, 0.025), quantile(&diffs, 0.975)), p, exact }
}

/// Holm's step-down adjustment of `p` (same order out): the k-th smallest p-value of m is
/// multiplied by `m - k + 1`, made monotone and capped at 1.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let mut out = vec![0.0; m];
    let mut running: f64 = 0.0;
    for (k, &i) in order.iter().enumerate() {
        running = running.max(((m - k) as f64 * p[i]).min(1.0));
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_samples_reach_the_smallest_exact_p_value() {
        // 5 + 5 seeds, fully separated: only the observed split and its mirror are as
        // extreme, 2 of C(10, 5) = 252.
        let d = compare(&[1.0, 2.0, 3.0, 4.0, 5.0], &[11.0, 12.0, 13.0, 14.0, 15.0], None, true);
        assert!(d.exact);
        assert!((d.p - 2.0 / 252.0).abs() < 1e-12, "{}", d.p);
        assert_eq!(d.diff, 10.0);
        assert!(d.ci.0 > 0.0 && d.ci.1 <= 14.0 + 1e-9, "{:?}", d.ci);
    }

    #[test]
    fn the_same_values_give_p_one() {
        let d = compare(&[3.0, 1.0, 2.0], &[1.0, 2.0, 3.0], None, true);
        assert_eq!(d.diff, 0.0);
        assert_eq!(d.p, 1.0);
    }

    #[test]
    fn large_samples_draw_permutations_from_a_fixed_seed() {
        let a: Vec<f64> = (0..12).map(|i| i as f64).collect();
        let b: Vec<f64> = (0..12).map(|i| i as f64 + 0.5).collect();
        let d = compare(&a, &b, None, true);
        assert!(!d.exact);
        assert_eq!(d, compare(&a, &b, None, true), "the same verdict every time");
        assert!(d.p > 0.5, "a shift of half a step among 12 is noise: {}", d.p);
    }

    #[test]
    fn best_seeds_statistic_is_permuted_too() {
        // Best 2 of 4 (higher is better): reference 10, 9; now 20, 19.
        let d = compare(&[10.0, 9.0, 0.0, 1.0], &[20.0, 19.0, 0.0, 1.0], Some(2), true);
        assert_eq!(d.diff, 10.0);
    }

    #[test]
    fn holm_matches_the_textbook_example() {
        // p = 0.01, 0.04, 0.03 (m = 3): sorted 0.01 x 3 = 0.03, 0.03 x 2 = 0.06, 0.04 x 1 ->
        // max(0.06, 0.04) = 0.06.
        let adj = holm(&[0.01, 0.04, 0.03]);
        let want = [0.03, 0.06, 0.06];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adj:?}");
        }
        assert_eq!(holm(&[0.9, 0.8]), vec![1.0, 1.0]);
    }
}
