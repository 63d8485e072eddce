//! `Pendulum-v1`, a line-for-line port of Gymnasium 1.4.0
//! `gymnasium/envs/classic_control/pendulum.py` with its default options (g = 10):
//! torque clipped to [-2, 2], cost `angle_normalize(th)^2 + 0.1 thdot^2 + 0.001 u^2`,
//! angular speed clipped to [-8, 8], reset state uniform in [-pi, pi] x [-1, 1],
//! observation `[cos th, sin th, thdot]` as float32, time limit 200 (registry).

use rand::Rng;

use super::{Action, ActionSpace, Env, EnvError, EnvRng, EnvState, Observation, ObservationSpace, Step};

const MAX_SPEED: f64 = 8.0;
const MAX_TORQUE: f64 = 2.0;
const DT: f64 = 0.05;
const G: f64 = 10.0;
const M: f64 = 1.0;
const L: f64 = 1.0;

/// The pendulum; `state = [theta, theta_dot]`.
#[derive(Debug, Clone, Default)]
pub struct Pendulum {
    state: [f64; 2],
}

/// Python's `((x + pi) % (2 pi)) - pi` (floored modulo, as numpy's `%`).
fn angle_normalize(x: f64) -> f64 {
    let two_pi = 2.0 * std::f64::consts::PI;
    let y = x + std::f64::consts::PI;
    let r = y % two_pi;
    let r = if r != 0.0 && r < 0.0 { r + two_pi } else { r };
    r - std::f64::consts::PI
}

impl Pendulum {
    /// Builds a boxed, unwrapped instance (registry constructor).
    pub fn boxed() -> Result<Box<dyn Env>, EnvError> {
        Ok(Box::new(Self::default()))
    }

    fn obs(&self) -> Observation {
        let [th, thdot] = self.state;
        Observation::Vector(vec![
            f64::from(th.cos() as f32),
            f64::from(th.sin() as f32),
            f64::from(thdot as f32),
        ])
    }
}

impl Env for Pendulum {
    fn id(&self) -> &str {
        "Pendulum-v1"
    }
    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Vector { dim: 3 }
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Continuous { dim: 1, low: vec![-MAX_TORQUE], high: vec![MAX_TORQUE] }
    }
    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        self.state = [rng.gen_range(-std::f64::consts::PI..std::f64::consts::PI), rng.gen_range(-1.0..1.0)];
        self.obs()
    }
    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        let u = match action {
            Action::Continuous(v) if v.len() == 1 => v[0].clamp(-MAX_TORQUE, MAX_TORQUE),
            other => {
                return Err(EnvError::BadAction {
                    env: self.id().into(),
                    action: other.clone(),
                    why: "Pendulum takes one continuous torque".into(),
                })
            }
        };
        let [th, thdot] = self.state;
        let costs = angle_normalize(th).powi(2) + 0.1 * thdot.powi(2) + 0.001 * u.powi(2);
        let newthdot = thdot + (3.0 * G / (2.0 * L) * th.sin() + 3.0 / (M * L * L) * u) * DT;
        let newthdot = newthdot.clamp(-MAX_SPEED, MAX_SPEED);
        let newth = th + newthdot * DT;
        self.state = [newth, newthdot];
        Ok(Step { obs: self.obs(), reward: -costs, terminated: false, truncated: false })
    }
    fn snapshot(&self) -> super::EnvSnapshot {
        super::EnvSnapshot { values: self.state.to_vec(), counters: vec![] }
    }
    fn restore(&mut self, s: &super::EnvSnapshot) -> Result<(), EnvError> {
        match s.values.as_slice() {
            [a, b] if s.counters.is_empty() => {
                self.state = [*a, *b];
                Ok(())
            }
            _ => Err(super::bad_snapshot("Pendulum-v1", "expected 2 values")),
        }
    }
    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        match state {
            EnvState::Classic(v) if v.len() == 2 => {
                self.state.copy_from_slice(v);
                Ok(self.obs())
            }
            other => Err(EnvError::BadState {
                env: self.id().into(),
                state: other.clone(),
                why: "expected {\"state\": [theta, theta_dot]}".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::angle_normalize;

    #[test]
    fn angle_normalize_matches_python_floored_modulo() {
        let pi = std::f64::consts::PI;
        assert!((angle_normalize(0.0)).abs() < 1e-15);
        assert!((angle_normalize(2.0 * pi + 0.5) - 0.5).abs() < 1e-12);
        assert!((angle_normalize(-2.0 * pi - 0.5) + 0.5).abs() < 1e-12);
        assert!((angle_normalize(-0.5) + 0.5).abs() < 1e-12);
    }
}
