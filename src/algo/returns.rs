//! Return targets computed from a [`Rollout`].

use serde::{Deserialize, Serialize};

use super::rollout::Rollout;

/// How an episode cut by the time limit is treated when computing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeLimitHandling {
    /// As a terminal state: no bootstrap. This is what openai/baselines does (its `dones`
    /// do not tell the two apart) and ikostrikov's default (`use_proper_time_limits=False`).
    #[default]
    Terminal,
    /// Bootstrap from `V` of the truncated episode's last observation (Pardo et al. 2018;
    /// departure from the reference code, available for ablations).
    Bootstrap,
}

/// n-step bootstrapped returns, as openai/baselines `a2c/runner.py` (`discount_with_dones`):
/// `R_t = r_t + gamma R_{t+1} (1 - done_t)`, `R_T = V(s_T)`.
pub fn nstep_returns(r: &Rollout, gamma: f64, time_limit: TimeLimitHandling) -> Vec<f32> {
    let n = r.num_envs;
    let mut out = vec![0.0f32; r.len()];
    for e in 0..n {
        let mut ret = f64::from(r.last_values[e]);
        for t in (0..r.steps).rev() {
            let i = t * n + e;
            let reward = f64::from(r.rewards[i]);
            ret = if r.terminated[i] {
                reward
            } else if r.truncated[i] {
                match time_limit {
                    TimeLimitHandling::Terminal => reward,
                    TimeLimitHandling::Bootstrap => reward + gamma * f64::from(r.truncation_values[i]),
                }
            } else {
                reward + gamma * ret
            };
            out[i] = ret as f32;
        }
    }
    out
}

/// Generalised advantage estimation (Schulman et al. 2016), as openai/baselines
/// `acktr/acktr_cont.py` uses it (lambda 0.97): `delta_t = r_t + gamma V(s_{t+1}) - V(s_t)`,
/// `A_t = delta_t + gamma lambda A_{t+1}` within an episode. Returns `(advantages,
/// value targets A + V)`.
pub fn gae(r: &Rollout, gamma: f64, lambda: f64, time_limit: TimeLimitHandling) -> (Vec<f32>, Vec<f32>) {
    let n = r.num_envs;
    let mut adv = vec![0.0f32; r.len()];
    let mut targets = vec![0.0f32; r.len()];
    for e in 0..n {
        let mut next_adv = 0.0f64;
        for t in (0..r.steps).rev() {
            let i = t * n + e;
            let v = f64::from(r.values[i]);
            let (next_v, carry) = if r.terminated[i] {
                (0.0, 0.0)
            } else if r.truncated[i] {
                match time_limit {
                    TimeLimitHandling::Terminal => (0.0, 0.0),
                    TimeLimitHandling::Bootstrap => (f64::from(r.truncation_values[i]), 0.0),
                }
            } else if t + 1 == r.steps {
                (f64::from(r.last_values[e]), 1.0)
            } else {
                (f64::from(r.values[i + n]), 1.0)
            };
            let delta = f64::from(r.rewards[i]) + gamma * next_v - v;
            next_adv = delta + gamma * lambda * carry * next_adv;
            adv[i] = next_adv as f32;
            targets[i] = (next_adv + v) as f32;
        }
    }
    (adv, targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gae_with_lambda_one_equals_nstep_advantages() {
        let mut r = rollout();
        r.values = vec![0.5, 0.25, 4.0];
        let (adv, targets) = gae(&r, 0.5, 1.0, TimeLimitHandling::Bootstrap);
        let ret = nstep_returns(&r, 0.5, TimeLimitHandling::Bootstrap);
        for i in 0..3 {
            assert!((targets[i] - ret[i]).abs() < 1e-6, "{targets:?} vs {ret:?}");
            assert!((adv[i] - (ret[i] - r.values[i])).abs() < 1e-6);
        }
        // lambda 0: one-step TD errors. step 0: 1 + 0.5 * 0.25 - 0.5 = 0.625
        let (adv, _) = gae(&r, 0.5, 0.0, TimeLimitHandling::Terminal);
        assert!((adv[0] - 0.625).abs() < 1e-6 && (adv[1] - (2.0 - 0.25)).abs() < 1e-6);
    }

    fn rollout() -> Rollout {
        // one copy, three steps; the episode is cut (truncated) after step 1.
        Rollout {
            num_envs: 1,
            steps: 3,
            rewards: vec![1.0, 2.0, 3.0],
            terminated: vec![false, false, false],
            truncated: vec![false, true, false],
            truncation_values: vec![0.0, 10.0, 0.0],
            last_values: vec![100.0],
            ..Default::default()
        }
    }

    #[test]
    fn returns_by_hand() {
        let r = rollout();
        // step 2: 3 + 0.5 * 100 = 53; step 1 (cut, terminal): 2; step 0: 1 + 0.5 * 2 = 2
        assert_eq!(nstep_returns(&r, 0.5, TimeLimitHandling::Terminal), vec![2.0, 2.0, 53.0]);
        // bootstrap: step 1: 2 + 0.5 * 10 = 7; step 0: 1 + 0.5 * 7 = 4.5
        assert_eq!(nstep_returns(&r, 0.5, TimeLimitHandling::Bootstrap), vec![4.5, 7.0, 53.0]);
        let mut r = r;
        r.terminated[1] = true;
        r.truncated[1] = false;
        assert_eq!(nstep_returns(&r, 0.5, TimeLimitHandling::Bootstrap), vec![2.0, 2.0, 53.0]);
    }
}
