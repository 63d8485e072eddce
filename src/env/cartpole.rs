//! `CartPole-v1`, a line-for-line port of Gymnasium 1.4.0
//! `gymnasium/envs/classic_control/cartpole.py` (Barto, Sutton & Anderson 1983) with its
//! default options: Euler integration, reward 1 per step including the terminating one,
//! reset state uniform in [-0.05, 0.05]^4, time limit 500 (applied by the registry).
//! The state is float64; observations are returned as float32, as Gymnasium does.

use rand::Rng;

use super::{Action, ActionSpace, Env, EnvError, EnvRng, EnvState, Observation, ObservationSpace, Step};

const GRAVITY: f64 = 9.8;
const MASSCART: f64 = 1.0;
const MASSPOLE: f64 = 0.1;
const TOTAL_MASS: f64 = MASSPOLE + MASSCART;
const LENGTH: f64 = 0.5; // half the pole's length
const POLEMASS_LENGTH: f64 = MASSPOLE * LENGTH;
const FORCE_MAG: f64 = 10.0;
const TAU: f64 = 0.02;
const THETA_THRESHOLD: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;
const X_THRESHOLD: f64 = 2.4;

/// The cart-pole system; `state = [x, x_dot, theta, theta_dot]`.
#[derive(Debug, Clone, Default)]
pub struct CartPole {
    state: [f64; 4],
    steps_beyond_terminated: Option<u32>,
}

impl CartPole {
    /// Builds a boxed, unwrapped instance (registry constructor).
    pub fn boxed() -> Result<Box<dyn Env>, EnvError> {
        Ok(Box::new(Self::default()))
    }

    fn obs(&self) -> Observation {
        Observation::Vector(self.state.iter().map(|&x| f64::from(x as f32)).collect())
    }
}

impl Env for CartPole {
    fn id(&self) -> &str {
        "CartPole-v1"
    }
    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Vector { dim: 4 }
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Discrete { n: 2 }
    }
    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        for s in &mut self.state {
            *s = rng.gen_range(-0.05..0.05);
        }
        self.steps_beyond_terminated = None;
        self.obs()
    }
    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        let force = match action {
            Action::Discrete(1) => FORCE_MAG,
            Action::Discrete(0) => -FORCE_MAG,
            other => {
                return Err(EnvError::BadAction {
                    env: self.id().into(),
                    action: other.clone(),
                    why: "CartPole takes the discrete actions 0 or 1".into(),
                })
            }
        };
        let [x, x_dot, theta, theta_dot] = self.state;
        let (sintheta, costheta) = (theta.sin(), theta.cos());
        let temp = (force + POLEMASS_LENGTH * theta_dot * theta_dot * sintheta) / TOTAL_MASS;
        let thetaacc = (GRAVITY * sintheta - costheta * temp)
            / (LENGTH * (4.0 / 3.0 - MASSPOLE * costheta * costheta / TOTAL_MASS));
        let xacc = temp - POLEMASS_LENGTH * thetaacc * costheta / TOTAL_MASS;
        // kinematics_integrator == "euler"
        self.state = [x + TAU * x_dot, x_dot + TAU * xacc, theta + TAU * theta_dot, theta_dot + TAU * thetaacc];
        let [x, _, theta, _] = self.state;
        let terminated = !(-X_THRESHOLD..=X_THRESHOLD).contains(&x)
            || !(-THETA_THRESHOLD..=THETA_THRESHOLD).contains(&theta);
        let reward = if !terminated {
            1.0
        } else if self.steps_beyond_terminated.is_none() {
            self.steps_beyond_terminated = Some(0);
            1.0
        } else {
            // Gymnasium warns here: stepping after termination is undefined behaviour.
            *self.steps_beyond_terminated.get_or_insert(0) += 1;
            0.0
        };
        Ok(Step { obs: self.obs(), reward, terminated, truncated: false })
    }
    fn snapshot(&self) -> super::EnvSnapshot {
        super::EnvSnapshot { values: self.state.to_vec(), counters: vec![self.steps_beyond_terminated.map_or(0, |n| u64::from(n) + 1)] }
    }
    fn restore(&mut self, s: &super::EnvSnapshot) -> Result<(), EnvError> {
        match (s.values.as_slice(), s.counters.as_slice()) {
            ([a, b, c, d], [beyond]) => {
                self.state = [*a, *b, *c, *d];
                self.steps_beyond_terminated = beyond.checked_sub(1).map(|n| n as u32);
                Ok(())
            }
            _ => Err(super::bad_snapshot("CartPole-v1", "expected 4 values and 1 counter")),
        }
    }
    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        match state {
            EnvState::Classic(v) if v.len() == 4 => {
                self.state.copy_from_slice(v);
                self.steps_beyond_terminated = None;
                Ok(self.obs())
            }
            other => Err(EnvError::BadState {
                env: self.id().into(),
                state: other.clone(),
                why: "expected {\"state\": [x, x_dot, theta, theta_dot]}".into(),
            }),
        }
    }
}
