//! Adam on a flat parameter vector, as openai/baselines `common/mpi_adam.py::MpiAdam` (one
//! process): `t += 1`, `a = lr sqrt(1 - beta2^t) / (1 - beta1^t)`,
//! `m = beta1 m + (1 - beta1) g`, `v = beta2 v + (1 - beta2) g^2`,
//! `step = -a m / (sqrt(v) + eps)`, with beta1 0.9, beta2 0.999, eps 1e-8. TRPO fits its
//! value function with it (`trpo_mpi.py`: `vfadam.update(g, vf_stepsize)`).
//!
//! baselines keeps `m` and `v` in float32; here they are float64 (a departure below float32
//! rounding: the parameters themselves stay float32).

use serde::{Deserialize, Serialize};

/// Adam's state for `n` parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
    pub beta1: f64,
    pub beta2: f64,
    pub epsilon: f64,
}

impl Adam {
    /// Fresh state for `n` parameters with baselines' defaults.
    pub fn new(n: usize) -> Self {
        Self { m: vec![0.0; n], v: vec![0.0; n], t: 0, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 }
    }

    /// The change to add to the parameters for gradient `g` at step size `lr`.
    pub fn step(&mut self, g: &[f64], lr: f64) -> Vec<f64> {
        assert_eq!(g.len(), self.m.len(), "Adam: gradient of the wrong size");
        self.t += 1;
        let t = self.t as i32;
        let a = lr * (1.0 - self.beta2.powi(t)).sqrt() / (1.0 - self.beta1.powi(t));
        let mut out = Vec::with_capacity(g.len());
        for ((m, v), &g) in self.m.iter_mut().zip(self.v.iter_mut()).zip(g) {
            *m = self.beta1 * *m + (1.0 - self.beta1) * g;
            *v = self.beta2 * *v + (1.0 - self.beta2) * g * g;
            out.push(-a * *m / (v.sqrt() + self.epsilon));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_steps_match_the_closed_form() {
        // Step 1: m = 0.1 g, v = 0.001 g^2, a = lr sqrt(0.001) / 0.1, so the step is
        // -lr g / (|g| + eps/sqrt(0.001)) ~ -lr sign(g).
        let mut adam = Adam::new(2);
        let s = adam.step(&[2.0, -0.5], 0.01);
        assert!((s[0] + 0.01).abs() < 1e-7 && (s[1] - 0.01).abs() < 1e-7, "{s:?}");
        // Step 2 with the same gradient: still ~ -lr sign(g).
        let s = adam.step(&[2.0, -0.5], 0.01);
        assert!((s[0] + 0.01).abs() < 1e-6 && (s[1] - 0.01).abs() < 1e-6, "{s:?}");
        // A gradient that flips sign: m = 0.9 * 0.19 g0 ... computed by hand.
        let mut adam = Adam::new(1);
        adam.step(&[1.0], 1.0);
        let s = adam.step(&[-1.0], 1.0)[0];
        let (m, v) = (0.9 * 0.1 - 0.1, 0.999 * 0.001 + 0.001);
        let a = (1.0 - 0.999f64.powi(2)).sqrt() / (1.0 - 0.9f64.powi(2));
        assert!((s - (-a * m / (f64::sqrt(v) + 1e-8))).abs() < 1e-12);
    }
}
