//! Action distributions in engine-neutral form: what acting samples from, what a batch's
//! KL compares, and the value features baselines' continuous-control critic reads.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::env::Action;

/// A batch of actions as stored in a rollout.
#[derive(Debug, Clone)]
pub enum ActionBatch<'a> {
    /// One index per row.
    Discrete(&'a [f32]),
    /// `dim` reals per row, row-major.
    Continuous { values: &'a [f32], dim: usize },
}

/// Distribution parameters of a batch, for acting.
#[derive(Debug, Clone, PartialEq)]
pub enum DistParams {
    Categorical { logits: Vec<f32>, n: usize },
    Gaussian { mean: Vec<f32>, log_std: Vec<f32> },
}

impl DistParams {
    /// Appends the rows of `other` (same kind of distribution).
    pub fn extend(&mut self, other: &DistParams) {
        match (self, other) {
            (DistParams::Categorical { logits, .. }, DistParams::Categorical { logits: l, .. }) => logits.extend_from_slice(l),
            (DistParams::Gaussian { mean, .. }, DistParams::Gaussian { mean: m, .. }) => mean.extend_from_slice(m),
            _ => panic!("cannot join different distributions"),
        }
    }

    /// Samples one action per row: the environment's action and its stored form.
    pub fn sample(&self, rng: &mut impl Rng) -> (Vec<Action>, Vec<f32>) {
        match self {
            DistParams::Categorical { logits, n } => {
                let rows = logits.len() / n;
                let mut actions = Vec::with_capacity(rows);
                let mut stored = Vec::with_capacity(rows);
                for row in logits.chunks(*n) {
                    let a = sample_categorical(row, rng);
                    actions.push(Action::Discrete(a));
                    stored.push(a as f32);
                }
                (actions, stored)
            }
            DistParams::Gaussian { mean, log_std } => {
                let dim = log_std.len();
                let mut actions = Vec::with_capacity(mean.len() / dim);
                let mut stored = Vec::with_capacity(mean.len());
                for row in mean.chunks(dim) {
                    let a: Vec<f32> = row
                        .iter()
                        .zip(log_std)
                        .map(|(m, ls)| m + ls.exp() * rng.sample::<f32, _>(StandardNormal))
                        .collect();
                    actions.push(Action::Continuous(a.iter().map(|&x| f64::from(x)).collect()));
                    stored.extend_from_slice(&a);
                }
                (actions, stored)
            }
        }
    }

    /// Mean KL(self || new) over the batch's rows, in float64 (NaN for different kinds).
    pub fn mean_kl(&self, new: &DistParams) -> f64 {
        match (self, new) {
            (DistParams::Categorical { logits: a, n }, DistParams::Categorical { logits: b, .. }) => {
                let rows = a.len() / n;
                let lsm = log_softmax;
                let mut kl = 0.0;
                for (ra, rb) in a.chunks(*n).zip(b.chunks(*n)) {
                    let (la, lb) = (lsm(ra), lsm(rb));
                    kl += la.iter().zip(&lb).map(|(x, y)| x.exp() * (x - y)).sum::<f64>();
                }
                kl / rows as f64
            }
            (DistParams::Gaussian { mean: ma, log_std: sa }, DistParams::Gaussian { mean: mb, log_std: sb }) => {
                let dim = sa.len();
                let rows = ma.len() / dim;
                let mut kl = 0.0;
                for (ra, rb) in ma.chunks(dim).zip(mb.chunks(dim)) {
                    for j in 0..dim {
                        let (la, lb) = (f64::from(sa[j]), f64::from(sb[j]));
                        let d = f64::from(ra[j]) - f64::from(rb[j]);
                        kl += lb - la + ((2.0 * la).exp() + d * d) / (2.0 * (2.0 * lb).exp()) - 0.5;
                    }
                }
                kl / rows as f64
            }
            _ => f64::NAN,
        }
    }
}

impl DistParams {
    /// Per-row log-probabilities of `actions`, in float64.
    pub fn log_probs(&self, actions: &ActionBatch) -> Vec<f64> {
        match (self, actions) {
            (DistParams::Categorical { logits, n }, ActionBatch::Discrete(idx)) => logits
                .chunks(*n)
                .zip(idx.iter())
                .map(|(row, &a)| log_softmax(row)[a as usize])
                .collect(),
            (DistParams::Gaussian { mean, log_std }, ActionBatch::Continuous { values, dim }) => mean
                .chunks(*dim)
                .zip(values.chunks(*dim))
                .map(|(m, a)| {
                    (0..*dim)
                        .map(|j| {
                            let ls = f64::from(log_std[j]);
                            let z = (f64::from(a[j]) - f64::from(m[j])) / ls.exp();
                            -0.5 * z * z - ls - 0.5 * (2.0 * std::f64::consts::PI).ln()
                        })
                        .sum()
                })
                .collect(),
            _ => panic!("the actions do not match the distribution"),
        }
    }

    /// Per-row entropies, in float64.
    pub fn entropies(&self) -> Vec<f64> {
        match self {
            DistParams::Categorical { logits, n } => logits
                .chunks(*n)
                .map(|row| {
                    let l = log_softmax(row);
                    -l.iter().map(|x| x.exp() * x).sum::<f64>()
                })
                .collect(),
            DistParams::Gaussian { mean, log_std } => {
                let h: f64 = log_std.iter().map(|&ls| f64::from(ls) + 0.5 * (1.0 + (2.0 * std::f64::consts::PI).ln())).sum();
                vec![h; mean.len() / log_std.len().max(1)]
            }
        }
    }
}

/// `log softmax` of one row, in float64.
fn log_softmax(x: &[f32]) -> Vec<f64> {
    let m = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let z = x.iter().map(|v| f64::from(v - m).exp()).sum::<f64>().ln();
    x.iter().map(|v| f64::from(v - m) - z).collect()
}

/// Inverse-CDF sample from softmax(logits).
fn sample_categorical(logits: &[f32], rng: &mut impl Rng) -> usize {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let w: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
    let total: f64 = w.iter().sum();
    let mut u = rng.gen::<f64>() * total;
    for (i, wi) in w.iter().enumerate() {
        if u < *wi {
            return i;
        }
        u -= wi;
    }
    w.len() - 1
}

/// baselines `acktr/value_functions.py::_preproc` (l. 34-39): per row, the policy's input,
/// the acting distribution's mean and standard deviation, the step within the episode / 10,
/// and a constant 1 (`od + 2 ad + 2` columns). `None` for a categorical distribution.
pub fn value_features(obs: &[f32], dist: &DistParams, episode_steps: &[u32], rows: usize) -> Option<Vec<f32>> {
    let DistParams::Gaussian { mean, log_std } = dist else {
        return None;
    };
    let od = obs.len() / rows.max(1);
    let ad = log_std.len();
    let std: Vec<f32> = log_std.iter().map(|l| l.exp()).collect();
    let mut out = Vec::with_capacity(rows * (od + 2 * ad + 2));
    for r in 0..rows {
        out.extend_from_slice(&obs[r * od..(r + 1) * od]);
        out.extend_from_slice(&mean[r * ad..(r + 1) * ad]);
        out.extend_from_slice(&std);
        out.push(episode_steps[r] as f32 / 10.0);
        out.push(1.0);
    }
    Some(out)
}
