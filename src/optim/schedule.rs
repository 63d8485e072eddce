//! Learning-rate schedules and the training progress they read (shared by the first-order
//! optimizers, K-FAC and the algorithms, so it lives at the bottom of the module graph).

use serde::{Deserialize, Serialize};

/// Where training stands, for schedules.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Timesteps collected before this update.
    pub timesteps_done: u64,
    /// The cell's budget.
    pub total_timesteps: u64,
}

impl Progress {
    /// `1 - done/total`, the factor of baselines' `linear` schedule (`common/schedules.py`).
    pub fn remaining(&self) -> f64 {
        1.0 - self.timesteps_done as f64 / self.total_timesteps.max(1) as f64
    }
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The same rate throughout.
    #[default]
    Constant,
    /// Linear decay to 0 over the budget (baselines `lrschedule='linear'`).
    Linear,
}

impl LrSchedule {
    /// The learning rate at `progress`.
    pub fn at(self, lr: f64, progress: Progress) -> f64 {
        match self {
            LrSchedule::Constant => lr,
            LrSchedule::Linear => lr * progress.remaining(),
        }
    }
}

