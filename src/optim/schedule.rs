//! Learning-rate schedules and the training progress they read (shared by the first-order
//! optimizers, K-FAC and the algorithms, so it lives at the bottom of the module graph).

use serde::{Deserialize, Serialize};

/// Where training stands, for schedules.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Timesteps collected before this update.
    pub timesteps_done: u64,
    /// The horizon the schedules anneal over: the cell's budget, or the budget of the
    /// experiment it is a shortened run of (`budget.schedule_timesteps`).
    pub schedule_timesteps: u64,
}

impl Progress {
    /// `1 - done/horizon`, the factor of baselines' `linear` schedule (`common/schedules.py`).
    pub fn remaining(&self) -> f64 {
        1.0 - self.timesteps_done as f64 / self.schedule_timesteps.max(1) as f64
    }
}

/// Learning-rate schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LrSchedule {
    /// The same rate throughout.
    #[default]
    Constant,
    /// Linear decay to 0 over the schedule's horizon (baselines `lrschedule='linear'`, over
    /// `learn`'s `total_timesteps`).
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

