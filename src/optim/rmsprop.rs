//! RMSProp as TensorFlow 1's `tf.train.RMSPropOptimizer`, which openai/baselines
//! `a2c/a2c.py` uses (`decay=alpha=0.99, epsilon=1e-5`):
//!
//! `ms <- rho ms + (1 - rho) g^2`, `theta <- theta - lr g / sqrt(ms + eps)`,
//! with `ms` initialised to 1 and epsilon inside the square root (TF1's slot initialiser and
//! kernel). Departure available by config: PyTorch's `torch.optim.RMSprop` (used by
//! ikostrikov's `pytorch-a2c-ppo-acktr-gail`) initialises `ms` to 0 and adds epsilon
//! outside the root; set `initial_mean_square: 0` and `epsilon_inside_sqrt: false`.

use serde::{Deserialize, Serialize};

/// RMSProp hyperparameters (defaults: openai/baselines `a2c/a2c.py::learn`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RmsPropConfig {
    /// Decay of the running mean square (`alpha` in baselines): 0.99.
    pub alpha: f64,
    /// Numerical floor: 1e-5.
    pub epsilon: f64,
    /// Initial running mean square: 1.0 (TF1's `ones_initializer` for the `rms` slot).
    pub initial_mean_square: f64,
    /// TF1 puts epsilon inside the square root; PyTorch outside.
    pub epsilon_inside_sqrt: bool,
}

impl Default for RmsPropConfig {
    fn default() -> Self {
        Self { alpha: 0.99, epsilon: 1e-5, initial_mean_square: 1.0, epsilon_inside_sqrt: true }
    }
}

impl RmsPropConfig {
    /// Builds the optimizer for `n` parameters.
    pub fn build(&self, n: usize) -> RmsProp {
        RmsProp { cfg: *self, mean_square: vec![self.initial_mean_square as f32; n] }
    }
}

/// RMSProp state (serialisable: a checkpoint's part).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RmsProp {
    cfg: RmsPropConfig,
    mean_square: Vec<f32>,
}

impl RmsProp {
    /// One step with learning rate `lr`.
    pub fn step(&mut self, params: &mut [f32], grads: &[f32], lr: f64) {
        let rho = self.cfg.alpha as f32;
        let eps = self.cfg.epsilon as f32;
        let lr = lr as f32;
        for ((p, g), ms) in params.iter_mut().zip(grads).zip(self.mean_square.iter_mut()) {
            *ms = rho * *ms + (1.0 - rho) * g * g;
            let denom = if self.cfg.epsilon_inside_sqrt { (*ms + eps).sqrt() } else { ms.sqrt() + eps };
            *p -= lr * g / denom;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_matches_tf1_by_hand() {
        // ms = 0.99 * 1 + 0.01 * 4 = 1.03; theta = 1 - 0.1 * 2 / sqrt(1.03 + 1e-5)
        let mut opt = RmsPropConfig::default().build(1);
        let mut p = [1.0f32];
        opt.step(&mut p, &[2.0], 0.1);
        let expected = 1.0 - 0.1 * 2.0 / (1.03f64 + 1e-5).sqrt();
        assert!((f64::from(p[0]) - expected).abs() < 1e-6, "{} vs {expected}", p[0]);
    }
}
