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

#[cfg(test)]
mod tests {
    use super::*;

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
