//! The Parquet logs of one cell: `episodes.parquet` and `updates.parquet`.
//!
//! Every column is a pure function of the spec and seed except the ones listed in
//! [`WALL_CLOCK_COLUMNS`], which measure time.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use crate::algo::{EpisodeEvent, UpdateEvent};

/// Columns that hold wall-clock measurements (the only ones that differ between two runs
/// of the same cell).
pub const WALL_CLOCK_COLUMNS: &[&str] = &["wall_seconds"];

/// Accumulates a cell's rows (saved whole in a checkpoint).
#[derive(Debug, Default, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CellLog {
    ep_step: Vec<u64>,
    ep_index: Vec<u64>,
    ep_env: Vec<u32>,
    ep_return: Vec<f64>,
    ep_length: Vec<u64>,
    #[serde(default)]
    ep_learner_return: Vec<f64>,
    ep_wall: Vec<f64>,
    up_index: Vec<u64>,
    up_step: Vec<u64>,
    up_wall: Vec<f64>,
    up_stats: Vec<(String, Vec<f64>)>,
}

impl CellLog {
    /// Records an update and the episodes that ended during its rollout.
    pub fn record(&mut self, update: &UpdateEvent, episodes: &[EpisodeEvent], wall_seconds: f64) {
        for ep in episodes {
            self.ep_index.push(self.ep_step.len() as u64);
            self.ep_step.push(ep.global_step);
            self.ep_env.push(ep.env_index as u32);
            self.ep_return.push(ep.ret);
            self.ep_length.push(ep.length as u64);
            self.ep_learner_return.push(ep.learner_return);
            self.ep_wall.push(wall_seconds);
        }
        self.up_index.push(update.update);
        self.up_step.push(update.global_step);
        self.up_wall.push(wall_seconds);
        if self.up_stats.is_empty() {
            self.up_stats = update.stats.0.iter().map(|(k, _)| (k.to_string(), Vec::new())).collect();
        }
        for ((name, col), (k, v)) in self.up_stats.iter_mut().zip(&update.stats.0) {
            debug_assert_eq!(name.as_str(), *k, "an algorithm must report the same stats every update");
            col.push(*v);
        }
    }

    /// Number of episodes recorded.
    pub fn episodes(&self) -> u64 {
        self.ep_step.len() as u64
    }

    /// The mean return of the last `n` episodes (all of them when fewer); None when there
    /// are none.
    pub fn recent_return_mean(&self, n: usize) -> Option<f64> {
        let last = &self.ep_return[self.ep_return.len().saturating_sub(n)..];
        (!last.is_empty()).then(|| last.iter().sum::<f64>() / last.len() as f64)
    }

    /// Number of updates recorded.
    pub fn updates(&self) -> u64 {
        self.up_index.len() as u64
    }

    /// The episodes table.
    pub fn episodes_frame(&self) -> PolarsResult<DataFrame> {
        DataFrame::new(self.ep_step.len(), vec![
            Column::new("global_step".into(), &self.ep_step),
            Column::new("episode".into(), &self.ep_index),
            Column::new("env_index".into(), &self.ep_env),
            Column::new("return".into(), &self.ep_return),
            Column::new("length".into(), &self.ep_length),
            Column::new("learner_return".into(), &self.ep_learner_return),
            Column::new("wall_seconds".into(), &self.ep_wall),
        ])
    }

    /// The updates table.
    pub fn updates_frame(&self) -> PolarsResult<DataFrame> {
        let mut cols = vec![
            Column::new("update".into(), &self.up_index),
            Column::new("global_step".into(), &self.up_step),
            Column::new("wall_seconds".into(), &self.up_wall),
        ];
        for (name, v) in &self.up_stats {
            cols.push(Column::new(name.as_str().into(), v));
        }
        DataFrame::new(self.up_index.len(), cols)
    }
}

/// Writes `df` as Parquet to `path`.
pub fn write_parquet(df: &mut DataFrame, path: &Path) -> PolarsResult<()> {
    let file = File::create(path)?;
    ParquetWriter::new(file).finish(df)?;
    Ok(())
}

/// Reads a Parquet file.
pub fn read_parquet(path: &Path) -> PolarsResult<DataFrame> {
    let file = File::open(path)?;
    ParquetReader::new(file).finish()
}

/// A SHA-256 digest (16 hex digits) of a log's content: every column but the wall-clock
/// ones ([`WALL_CLOCK_COLUMNS`]), by name, type and the bits of every value, in row order.
/// Two runs of the same cell have the same digest exactly when their logs are the same bit
/// for bit.
pub fn content_digest(df: &DataFrame) -> PolarsResult<String> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for col in df.columns() {
        if WALL_CLOCK_COLUMNS.contains(&col.name().as_str()) {
            continue;
        }
        h.update(col.name().as_bytes());
        h.update([0]);
        h.update(col.dtype().to_string().as_bytes());
        h.update([0]);
        let s = col.as_materialized_series();
        match s.dtype() {
            DataType::Float64 => s.f64()?.iter().for_each(|v| h.update(v.map_or([0xff; 9], |x| bits(x.to_bits())))),
            DataType::Float32 => s.f32()?.iter().for_each(|v| h.update(v.map_or([0xff; 9], |x| bits(x.to_bits() as u64)))),
            _ => {
                let s = s.cast(&DataType::Int64)?;
                s.i64()?.iter().for_each(|v| h.update(v.map_or([0xff; 9], |x| bits(x as u64))));
            }
        }
    }
    Ok(h.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect())
}

/// A present value's 8 bytes behind a 0 marker (a missing value is nine 0xff).
fn bits(x: u64) -> [u8; 9] {
    let mut out = [0u8; 9];
    out[1..].copy_from_slice(&x.to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::algo::UpdateStats;

    fn log_with(returns: &[f64]) -> CellLog {
        let mut log = CellLog::default();
        let episodes: Vec<EpisodeEvent> = returns
            .iter()
            .enumerate()
            .map(|(i, &ret)| EpisodeEvent { global_step: i as u64, env_index: 0, ret, length: 1, learner_return: ret })
            .collect();
        log.record(&UpdateEvent { update: 1, global_step: returns.len() as u64, stats: UpdateStats(vec![]) }, &episodes, 0.0);
        log
    }

    #[test]
    fn the_recent_mean_is_over_the_last_episodes_only() {
        assert_eq!(log_with(&[]).recent_return_mean(100), None);
        assert_eq!(log_with(&[1.0, 3.0]).recent_return_mean(100), Some(2.0));
        assert_eq!(log_with(&[-21.0, 1.0, 3.0, 5.0]).recent_return_mean(3), Some(3.0));
    }
}
