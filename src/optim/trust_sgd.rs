//! The paper's step rule (section 3.2) under the Euclidean metric: ACKTR's update with the
//! identity in place of K-FAC's Fisher, for a first-order baseline tuned the way the paper
//! tunes "all models" (appendix A.2: the maximum learning rate with the trust region radius
//! set). As openai/baselines `acktr/kfac.py` applies the rule (`clip_kl`, momentum through
//! `MomentumOptimizer(lr (1 - momentum), momentum)`):
//!
//! `nu = min(1, sqrt(radius / (lr^2 g.g)))`, `buf <- momentum buf + nu g`,
//! `theta <- theta - lr (1 - momentum) buf`,
//!
//! where `g` is the loss gradient, so the quadratic model's change `lr^2 nu^2 g.g` of one
//! step is at most `radius` ([`trust_region`], which [`crate::kfac`] applies with the
//! Fisher). With `momentum: 0` it is the paper's rule as printed,
//! `theta <- theta - min(lr, sqrt(radius / g.g)) g`.

use serde::{Deserialize, Serialize};

/// The trust-region rule: given the model's `V.D` (`g.F^-1 g` for K-FAC, `g.g` here),
/// returns `(nu, vFv)` with `vFv = lr^2 V.D` and `nu = min(1, sqrt(radius / vFv))`.
pub fn trust_region(vd: f64, lr: f64, radius: f64) -> (f64, f64) {
    let vfv = lr * lr * vd;
    ((radius / vfv).sqrt().min(1.0), vfv)
}

/// Settings of [`TrustSgd`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrustSgdConfig {
    /// The bound on `lr^2 nu^2 g.g`: 0.001, the radius of the paper's tuning (appendix A.2).
    pub radius: f64,
    /// Momentum: 0.9, as ACKTR's (`acktr_disc.py`, `acktr_cont.py`).
    pub momentum: f64,
}

impl Default for TrustSgdConfig {
    fn default() -> Self {
        Self { radius: 0.001, momentum: 0.9 }
    }
}

impl TrustSgdConfig {
    /// Fresh state for `n` parameters.
    pub fn build(&self, n: usize) -> TrustSgd {
        TrustSgd { cfg: *self, buf: vec![0.0; n] }
    }
}

/// The rule's state: the momentum buffer (float64, as K-FAC's).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustSgd {
    cfg: TrustSgdConfig,
    buf: Vec<f64>,
}

impl TrustSgd {
    /// One step at learning rate `lr`; returns `nu`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f64) -> f64 {
        let gg: f64 = grads.iter().map(|&g| f64::from(g) * f64::from(g)).sum();
        let (nu, _) = trust_region(gg, lr, self.cfg.radius);
        // A zero gradient (gg = 0) gives nu = inf: no step along it either way.
        let nu = if nu.is_finite() { nu } else { 1.0 };
        let m = self.cfg.momentum;
        let scale = lr * (1.0 - m);
        for ((p, &g), b) in params.iter_mut().zip(grads).zip(self.buf.iter_mut()) {
            *b = m * *b + nu * f64::from(g);
            *p = (f64::from(*p) - scale * *b) as f32;
        }
        nu
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_gradient_is_scaled_to_the_radius_and_a_small_one_is_not() {
        // g = (3, 4): g.g = 25; lr 1, radius 1: nu = min(1, sqrt(1 / 25)) = 0.2, so the step
        // (no momentum) is 0.2 g = (0.6, 0.8), whose quadratic model is 1 = the radius.
        let mut opt = TrustSgdConfig { radius: 1.0, momentum: 0.0 }.build(2);
        let mut p = [0.0f32, 0.0];
        let nu = opt.step(&mut p, &[3.0, 4.0], 1.0);
        assert!((nu - 0.2).abs() < 1e-12);
        assert!((p[0] + 0.6).abs() < 1e-6 && (p[1] + 0.8).abs() < 1e-6, "{p:?}");
        // A small gradient: the plain step lr g.
        let mut p = [0.0f32];
        assert_eq!(opt.step(&mut p, &[0.1], 1.0), 1.0);
        assert!((p[0] + 0.1).abs() < 1e-7);
    }

    #[test]
    fn momentum_accumulates_as_baselines_momentum_optimizer() {
        // momentum 0.9, lr 0.1, a small constant gradient 1 (nu = 1): buf 1 then 1.9; the
        // steps are 0.1 * 0.1 * 1 and 0.1 * 0.1 * 1.9.
        let mut opt = TrustSgdConfig { radius: 10.0, momentum: 0.9 }.build(1);
        let mut p = [0.0f32];
        opt.step(&mut p, &[1.0], 0.1);
        assert!((f64::from(p[0]) + 0.01).abs() < 1e-7);
        opt.step(&mut p, &[1.0], 0.1);
        assert!((f64::from(p[0]) + 0.01 + 0.019).abs() < 1e-7, "{}", p[0]);
    }
}
