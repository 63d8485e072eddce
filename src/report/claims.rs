//! The paper's claims decided on our seeds ([`crate::spec::claims`] states them).
//!
//! - **Comparisons** (`ahead`, `not_behind`, `on_par`) are decided per environment and per
//!   pair of rows by a one-sided two-sample permutation test of the rank sum (Wilcoxon-Mann-
//!   Whitney; mid-ranks for ties), exact over every relabelling up to
//!   [`super::compare::EXACT_LIMIT`] ([`super::compare::relabellings`]), at level [`LEVEL`].
//!   A margin shifts one side's values before ranking (the usual test of a location shift),
//!   so `not_behind` is a non-inferiority test and `on_par` two of them (TOST, Schuirmann
//!   1987). A seed without a value (a threshold never reached) ranks below every value.
//! - **Ranges** (`within`) hold when the 95% bootstrap interval of the mean over seeds
//!   ([`super::metrics::aggregate`]) lies inside the range, and fail when it lies outside.
//! - A part **holds** when its test rejects the claim's null hypothesis, **does not hold**
//!   when the opposite test rejects (the other row significantly ahead, by more than the
//!   margin), and is **inconclusive** otherwise: "too few seeds" when no result of these
//!   seeds could reach the level (3 + 3 seeds can: the smallest one-sided p-value is 1/20).
//! - A claim holds when every part holds (an intersection-union test, Berger 1982: no
//!   correction for the number of parts is needed, and none is made). It does not hold when a
//!   comparison part's p-value against it stays at most [`LEVEL`] after Holm's correction over
//!   the claim's parts, or a range part's interval lies outside its range. Otherwise it is
//!   inconclusive or waiting for results. `on_par` refutes with twice the smaller of its two
//!   one-sided p-values (Bonferroni over the directions).

use super::compare::{choose, holm, relabellings, EXACT_LIMIT, RANDOM_PERMUTATIONS};
use super::metrics::aggregate;
use super::{fmt_num, PerSeed};
use crate::spec::{ClaimCheck, Comparison, Spec};

/// The level of every test.
pub const LEVEL: f64 = 0.05;

/// What our seeds say of a claim, or of one of its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimVerdict {
    Holds,
    DoesNotHold,
    Inconclusive,
    /// No result of this many seeds could reach [`LEVEL`].
    TooFewSeeds,
    /// A row has no finished seed yet.
    NoResults,
}

impl ClaimVerdict {
    pub fn text(self) -> &'static str {
        match self {
            ClaimVerdict::Holds => "holds",
            ClaimVerdict::DoesNotHold => "does not hold",
            ClaimVerdict::Inconclusive => "inconclusive",
            ClaimVerdict::TooFewSeeds => "inconclusive (too few seeds)",
            ClaimVerdict::NoResults => "no results yet",
        }
    }

    /// A claim's verdict from its parts' and whether the claim is refuted (a part that does
    /// not hold after the correction for the claim's number of parts).
    fn combine(parts: &[ClaimVerdict], refuted: bool) -> ClaimVerdict {
        use ClaimVerdict::*;
        if refuted {
            DoesNotHold
        } else if parts.iter().all(|p| *p == Holds) {
            Holds
        } else if parts.contains(&NoResults) {
            NoResults
        } else if parts.contains(&TooFewSeeds) {
            TooFewSeeds
        } else {
            Inconclusive
        }
    }
}

/// One environment and pair of rows (or one row, for a range).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimPart {
    pub env: String,
    /// "ACKTR ahead of A2C", "ACKTR in [0.005, 0.02]".
    pub what: String,
    /// Our numbers: each row's mean over seeds (with its seed count), or the mean and its
    /// interval.
    pub ours: String,
    /// The p-value for the claim, and against it (comparisons only).
    pub p_for: Option<f64>,
    pub p_against: Option<f64>,
    /// `p_against` after Holm's correction over the claim's parts: the claim does not hold
    /// when one of these is at most [`LEVEL`].
    pub p_against_holm: Option<f64>,
    pub verdict: ClaimVerdict,
}

/// One claim with its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimResult {
    pub says: String,
    pub source: String,
    pub metric: String,
    /// The check in words.
    pub check: String,
    pub parts: Vec<ClaimPart>,
    pub verdict: ClaimVerdict,
}

/// Mid-ranks (1-based) of `x`: tied values share the mean of their ranks.
fn mid_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let mut ranks = vec![0.0; x.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && x[order[j + 1]].total_cmp(&x[order[i]]).is_eq() {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = rank;
        }
        i = j + 1;
    }
    ranks
}

/// One-sided permutation p-value that `a`'s values tend to lie above `b`'s (the rank sum of
/// `a` at least the observed one).
pub fn p_ahead(a: &[f64], b: &[f64]) -> f64 {
    let pooled: Vec<f64> = a.iter().chain(b).copied().collect();
    let ranks = mid_ranks(&pooled);
    let observed: f64 = ranks[..a.len()].iter().sum();
    relabellings(pooled.len(), a.len(), |idx| idx.iter().map(|&i| ranks[i]).sum::<f64>() >= observed - 1e-9).0
}

/// The smallest p-value [`p_ahead`] can give with `n_a` and `n_b` seeds.
pub fn smallest_p(n_a: usize, n_b: usize) -> f64 {
    let c = choose((n_a + n_b) as u64, n_a as u64);
    if c <= EXACT_LIMIT {
        1.0 / c as f64
    } else {
        1.0 / (1 + RANDOM_PERMUTATIONS) as f64
    }
}

/// "1659 (3 seeds)", "N/A in 1 of 3 seeds", "—".
fn fmt_row(values: &[Option<f64>]) -> String {
    let got: Vec<f64> = values.iter().flatten().copied().collect();
    let missing = values.len() - got.len();
    match (got.is_empty(), missing) {
        (true, 0) => "—".into(),
        (true, m) => format!("N/A ({m} seeds)"),
        (false, 0) => format!("{} ({} seeds)", fmt_num(got.iter().sum::<f64>() / got.len() as f64), got.len()),
        (false, m) => format!("{} ({} seeds; N/A in {m})", fmt_num(got.iter().sum::<f64>() / got.len() as f64), got.len()),
    }
}

/// Seeds' values as "goodness" (higher is better; a seed without a value ranks last).
fn goodness(values: &[Option<f64>], higher_is_better: bool) -> Vec<f64> {
    values.iter().map(|v| v.map_or(f64::NEG_INFINITY, |x| if higher_is_better { x } else { -x })).collect()
}

/// `a` shifted up by `d` (`-inf` stays).
fn shifted(a: &[f64], d: f64) -> Vec<f64> {
    a.iter().map(|x| x + d).collect()
}

/// One comparison of `row` (values `a`) with another row (values `b`) on one environment.
fn compare_part(kind: Comparison, a: &[Option<f64>], b: &[Option<f64>], margin: f64, higher_is_better: bool) -> (Option<f64>, Option<f64>, ClaimVerdict) {
    if a.is_empty() || b.is_empty() {
        return (None, None, ClaimVerdict::NoResults);
    }
    let (ga, gb) = (goodness(a, higher_is_better), goodness(b, higher_is_better));
    // "x ahead of y by more than d": p_ahead(x - d, y).
    let ahead = |x: &[f64], y: &[f64], d: f64| p_ahead(&shifted(x, -d), y);
    let (p_for, p_against) = match kind {
        Comparison::Ahead => (ahead(&ga, &gb, margin), ahead(&gb, &ga, -margin)),
        Comparison::NotBehind => (ahead(&ga, &gb, -margin), ahead(&gb, &ga, margin)),
        // Equivalence needs both one-sided tests; either direction refutes it (Bonferroni
        // over the two).
        Comparison::OnPar => (
            ahead(&ga, &gb, -margin).max(ahead(&gb, &ga, -margin)),
            (2.0 * ahead(&ga, &gb, margin).min(ahead(&gb, &ga, margin))).min(1.0),
        ),
    };
    let verdict = if p_for <= LEVEL {
        ClaimVerdict::Holds
    } else if p_against <= LEVEL {
        ClaimVerdict::DoesNotHold
    } else if smallest_p(a.len(), b.len()) > LEVEL {
        ClaimVerdict::TooFewSeeds
    } else {
        ClaimVerdict::Inconclusive
    };
    (Some(p_for), Some(p_against), verdict)
}

/// A range part: the 95% interval of the mean over seeds inside, outside, or across it.
fn within_part(values: &[Option<f64>], lo: f64, hi: f64) -> (String, ClaimVerdict) {
    if values.is_empty() {
        return ("—".into(), ClaimVerdict::NoResults);
    }
    let agg = aggregate(values, None, true);
    let Some(mean) = agg.value else {
        return (fmt_row(values), ClaimVerdict::Inconclusive);
    };
    match agg.ci {
        Some((a, b)) => {
            let verdict = if lo <= a && b <= hi {
                ClaimVerdict::Holds
            } else if b < lo || a > hi {
                ClaimVerdict::DoesNotHold
            } else {
                ClaimVerdict::Inconclusive
            };
            (format!("{} [{}, {}] ({} seeds)", fmt_num(mean), fmt_num(a), fmt_num(b), values.len()), verdict)
        }
        None => (format!("{} ({} seed)", fmt_num(mean), values.len()), ClaimVerdict::TooFewSeeds),
    }
}

/// "ACKTR and TRPO", "A, B and C".
fn and_list(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The margins as the spec gives them: "300", or "Walker2d-v5: 300, Swimmer-v5: 9".
fn fmt_margin(margin: &std::collections::BTreeMap<String, f64>, envs: &[String]) -> String {
    let values: Vec<f64> = envs.iter().filter_map(|e| margin.get(e).copied()).collect();
    match values.first() {
        None => String::new(),
        Some(first) if values.iter().all(|v| v == first) => format!("{first}"),
        Some(_) => envs.iter().filter_map(|e| margin.get(e).map(|m| format!("{e}: {m}"))).collect::<Vec<_>>().join(", "),
    }
}

/// Decides every claim of `spec` on the per-seed values.
pub(super) fn decide(spec: &Spec, per_seed: &PerSeed) -> Vec<ClaimResult> {
    let values = |env: &str, row: &str, k: usize| per_seed.get(&(env.to_string(), row.to_string(), k)).cloned().unwrap_or_default();
    spec.claims
        .iter()
        .map(|claim| {
            let metric = &spec.metrics[claim.metric];
            let higher = metric.kind.higher_is_better();
            let mut parts = Vec::new();
            let check = match &claim.check {
                ClaimCheck::Compare { kind, row, vs, margin } => {
                    for env in &claim.envs {
                        let a = values(env, row, claim.metric);
                        for other in vs {
                            let b = values(env, other, claim.metric);
                            let m = margin.get(env).copied().unwrap_or(0.0);
                            let (p_for, p_against, verdict) = compare_part(*kind, &a, &b, m, higher);
                            parts.push(ClaimPart {
                                env: env.clone(),
                                what: format!("{row} {} {other}", words(*kind)),
                                ours: format!("{} vs {}", fmt_row(&a), fmt_row(&b)),
                                p_for,
                                p_against,
                                p_against_holm: None,
                                verdict,
                            });
                        }
                    }
                    let m = fmt_margin(margin, &claim.envs);
                    let by = match (kind, m.is_empty()) {
                        (_, true) => String::new(),
                        (Comparison::Ahead, false) => format!(" by more than {m}"),
                        (Comparison::NotBehind, false) => format!(" by more than {m}"),
                        (Comparison::OnPar, false) => format!(" (margin {m})"),
                    };
                    let lower = if higher { "" } else { " (lower is better)" };
                    format!("{row} {} {}{by} on `{}`{lower}", words(*kind), and_list(vs), metric.name)
                }
                ClaimCheck::Within { row, lo, hi } => {
                    for env in &claim.envs {
                        let (ours, verdict) = within_part(&values(env, row, claim.metric), *lo, *hi);
                        parts.push(ClaimPart {
                            env: env.clone(),
                            what: format!("{row} in [{lo}, {hi}]"),
                            ours,
                            p_for: None,
                            p_against: None,
                            p_against_holm: None,
                            verdict,
                        });
                    }
                    format!("{row}'s `{}` in [{lo}, {hi}] (95% interval of the mean over seeds)", metric.name)
                }
            };
            // A comparison part refutes the claim only after Holm's correction over the
            // claim's parts (the chance that some part of many fails by luck); a range part
            // refutes it when its interval lies outside the range.
            let raw: Vec<f64> = parts.iter().filter_map(|p| p.p_against).collect();
            let mut adjusted = holm(&raw).into_iter();
            for part in parts.iter_mut().filter(|p| p.p_against.is_some()) {
                part.p_against_holm = adjusted.next();
            }
            let refuted = parts.iter().any(|p| match p.p_against_holm {
                Some(q) => q <= LEVEL,
                None => p.p_against.is_none() && p.verdict == ClaimVerdict::DoesNotHold,
            });
            let verdict = ClaimVerdict::combine(&parts.iter().map(|p| p.verdict).collect::<Vec<_>>(), refuted);
            ClaimResult { says: claim.says.clone(), source: claim.source.clone(), metric: metric.name.clone(), check, parts, verdict }
        })
        .collect()
}

fn words(kind: Comparison) -> &'static str {
    match kind {
        Comparison::Ahead => "ahead of",
        Comparison::NotBehind => "not behind",
        Comparison::OnPar => "on par with",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mid_ranks_share_ties() {
        assert_eq!(mid_ranks(&[10.0, 20.0, 10.0, f64::NEG_INFINITY]), vec![2.5, 4.0, 2.5, 1.0]);
    }

    #[test]
    fn three_seeds_apart_reach_the_level_and_no_fewer_can() {
        // All of a above all of b: only the observed split of C(6, 3) = 20 is as extreme.
        assert_eq!(p_ahead(&[4.0, 5.0, 6.0], &[1.0, 2.0, 3.0]), 1.0 / 20.0);
        assert_eq!(p_ahead(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]), 1.0);
        assert_eq!(smallest_p(3, 3), 0.05);
        assert!(smallest_p(2, 2) > LEVEL && smallest_p(1, 8) > LEVEL);
        // One seed each: nothing can be shown either way.
        let (_, _, v) = compare_part(Comparison::Ahead, &[Some(9.0)], &[Some(1.0)], 0.0, true);
        assert_eq!(v, ClaimVerdict::TooFewSeeds);
    }

    #[test]
    fn a_comparison_holds_fails_or_stays_open() {
        let hi = [Some(10.0), Some(11.0), Some(12.0)];
        let lo = [Some(1.0), Some(2.0), Some(3.0)];
        let mixed = [Some(2.5), Some(10.5), Some(0.0)];
        assert_eq!(compare_part(Comparison::Ahead, &hi, &lo, 0.0, true).2, ClaimVerdict::Holds);
        assert_eq!(compare_part(Comparison::Ahead, &lo, &hi, 0.0, true).2, ClaimVerdict::DoesNotHold);
        assert_eq!(compare_part(Comparison::Ahead, &mixed, &lo, 0.0, true).2, ClaimVerdict::Inconclusive);
        // Lower is better (episodes to a threshold): the low row is ahead, and a seed that
        // never reached it (None) ranks last.
        assert_eq!(compare_part(Comparison::Ahead, &lo, &hi, 0.0, false).2, ClaimVerdict::Holds);
        assert_eq!(compare_part(Comparison::Ahead, &lo, &[None, None, Some(4.0)], 0.0, false).2, ClaimVerdict::Holds);
        // Ahead by more than a margin of 20: not shown, and refuted (the other row plus 20
        // is significantly ahead).
        assert_eq!(compare_part(Comparison::Ahead, &hi, &lo, 20.0, true).2, ClaimVerdict::DoesNotHold);
    }

    #[test]
    fn margins_make_non_inferiority_and_equivalence() {
        let a = [Some(100.0), Some(101.0), Some(102.0)];
        let b = [Some(103.0), Some(104.0), Some(105.0)];
        // a is behind b by 3, within a margin of 10: not behind, and on par.
        assert_eq!(compare_part(Comparison::NotBehind, &a, &b, 10.0, true).2, ClaimVerdict::Holds);
        assert_eq!(compare_part(Comparison::OnPar, &a, &b, 10.0, true).2, ClaimVerdict::Holds);
        // With a margin of 0.5 it is behind by more than the margin: not behind fails. On par
        // refutes with twice the smaller one-sided p-value, 2/20 with 3 + 3 seeds: open.
        assert_eq!(compare_part(Comparison::NotBehind, &a, &b, 0.5, true).2, ClaimVerdict::DoesNotHold);
        assert_eq!(compare_part(Comparison::OnPar, &a, &b, 0.5, true), (Some(1.0), Some(0.1), ClaimVerdict::Inconclusive));
        // With 4 + 4 seeds (2/70) it fails.
        let a4 = [Some(100.0), Some(101.0), Some(102.0), Some(100.5)];
        let b4 = [Some(103.0), Some(104.0), Some(105.0), Some(103.5)];
        assert_eq!(compare_part(Comparison::OnPar, &a4, &b4, 0.5, true).2, ClaimVerdict::DoesNotHold);
        // Far ahead: not behind holds, on par does not.
        let c4 = [Some(200.0), Some(201.0), Some(202.0), Some(200.5)];
        assert_eq!(compare_part(Comparison::NotBehind, &c4, &b4, 10.0, true).2, ClaimVerdict::Holds);
        assert_eq!(compare_part(Comparison::OnPar, &c4, &b4, 10.0, true).2, ClaimVerdict::DoesNotHold);
    }

    #[test]
    fn a_range_holds_when_the_interval_is_inside() {
        let v = [Some(0.009), Some(0.010), Some(0.011)];
        assert_eq!(within_part(&v, 0.005, 0.02).1, ClaimVerdict::Holds);
        assert_eq!(within_part(&v, 0.02, 0.04).1, ClaimVerdict::DoesNotHold);
        assert_eq!(within_part(&v, 0.0095, 0.04).1, ClaimVerdict::Inconclusive);
        assert_eq!(within_part(&v[..1], 0.005, 0.02).1, ClaimVerdict::TooFewSeeds);
        assert_eq!(within_part(&[], 0.005, 0.02).1, ClaimVerdict::NoResults);
    }

    #[test]
    fn a_claim_holds_only_when_every_part_does() {
        use ClaimVerdict::*;
        assert_eq!(ClaimVerdict::combine(&[Holds, Holds], false), Holds);
        assert_eq!(ClaimVerdict::combine(&[Holds, DoesNotHold, NoResults], true), DoesNotHold);
        // A part that fails on its own but not after the correction leaves the claim open.
        assert_eq!(ClaimVerdict::combine(&[Holds, DoesNotHold], false), Inconclusive);
        assert_eq!(ClaimVerdict::combine(&[Holds, NoResults, TooFewSeeds], false), NoResults);
        assert_eq!(ClaimVerdict::combine(&[Holds, TooFewSeeds, Inconclusive], false), TooFewSeeds);
        assert_eq!(ClaimVerdict::combine(&[Holds, Inconclusive], false), Inconclusive);
    }

    #[test]
    fn small_values_keep_three_significant_digits() {
        assert_eq!(fmt_num(0.002134), "0.00213");
        assert_eq!(fmt_num(0.05), "0.0500");
        assert_eq!(fmt_num(0.5), "0.500");
        assert_eq!(fmt_num(0.0), "0.000");
        assert_eq!(fmt_num(1659.4), "1659");
    }
}
