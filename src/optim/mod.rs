//! First-order optimizers on flat parameter vectors, and gradient clipping.
//! (K-FAC, which needs each layer's activations, lives in its own layer-aware module.)

pub mod adam;
pub mod rmsprop;
pub mod schedule;
pub mod trust_sgd;

pub use adam::Adam;
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{LrSchedule, Progress};
pub use trust_sgd::{trust_region, TrustSgd, TrustSgdConfig};

/// Scales `grads` so that their global L2 norm is at most `max_norm`, as TensorFlow's
/// `tf.clip_by_global_norm` (openai/baselines `a2c/a2c.py`). Returns the norm before
/// clipping.
pub fn clip_by_global_norm(grads: &mut [f32], max_norm: f64) -> f64 {
    let norm = grads.iter().map(|&g| f64::from(g) * f64::from(g)).sum::<f64>().sqrt();
    if norm > max_norm && norm.is_finite() {
        let scale = (max_norm / norm) as f32;
        for g in grads.iter_mut() {
            *g *= scale;
        }
    }
    norm
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_rescales_to_the_max_norm_and_leaves_small_gradients() {
        let mut g = vec![3.0f32, 4.0];
        assert_eq!(clip_by_global_norm(&mut g, 1.0), 5.0);
        assert!((g[0] - 0.6).abs() < 1e-6 && (g[1] - 0.8).abs() < 1e-6);
        let mut g = vec![0.3f32, 0.4];
        clip_by_global_norm(&mut g, 1.0);
        assert_eq!(g, vec![0.3, 0.4]);
    }
}
