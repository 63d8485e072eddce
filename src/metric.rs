//! The paper's metrics, each defined once: its spec form, its checks, and the Polars
//! expression that computes it from one seed's logs. Adding a metric is a variant of
//! [`MetricKind`] with its arms here, and one line in [`METRICS`].
//!
//! Per seed, each metric is a Polars expression over that seed's logs, episodes sorted by
//! episode index ([`per_seed_expr`]):
//! - `last_episodes_mean {episodes}`: mean return of the last `episodes` episodes (paper
//!   Table 1 reward, 100 episodes).
//! - `first_episodes_mean {episodes}`: mean return of the first `episodes` episodes, the
//!   policy as initialised: what a short run's later returns are read against (our
//!   addition; the paper reports no such number).
//! - `best_window_mean {window}`: the best mean return over `window` consecutive episodes
//!   attained within the budget (paper Table 2 reward, "top 10 consecutive-episode average").
//! - `episodes_to_threshold {window, thresholds}`: the smallest N (1-based) such that the mean
//!   return of episodes N..N+window-1 reaches the task's threshold; none ("N/A") if never
//!   (paper Table 2 episodes, window 10; Table 1 episodes, window 100 and the human level).
//!   Reading "the N-th to the (N+10)-th episode" as a window of `window` episodes starting at
//!   N is our choice, stated in the README.
//! - `timesteps_per_second {}`: the last update's `global_step` over its `wall_seconds`
//!   (paper Table 3), from `updates.parquet`.
//! - `all_episodes_mean {}`: the mean return of every episode of the run, the area under the
//!   per-episode learning curve over its length (the "sample efficiency" of paper section
//!   5.3, where the curves are compared over the whole run).
//! - `update_statistic {column, divided_by, from_update, statistic}`: the median, mean or
//!   maximum over updates (from `from_update` on) of a column of `updates.parquet`, or of its
//!   ratio to another column (paper Figure 9: the exact KL of an update, and its ratio to
//!   the quadratic model's).

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::check::FieldError;

/// How a metric is computed from a cell's episodes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricKind {
    /// Mean return of the last `episodes` finished episodes (paper Table 1 reward: 100).
    LastEpisodesMean { episodes: usize },
    /// Mean return of the first `episodes` finished episodes (the policy as initialised).
    FirstEpisodesMean { episodes: usize },
    /// The best mean return over `window` consecutive episodes (paper Table 2 reward: 10).
    BestWindowMean { window: usize },
    /// The first episode N (1-based) whose mean return over episodes N..N+window-1 reaches
    /// the task's threshold; none when never reached (paper Table 2 episodes: window 10;
    /// Table 1 episodes: window 100, human level).
    EpisodesToThreshold { window: usize, thresholds: BTreeMap<String, f64> },
    /// Timesteps per second of training: the last update's `global_step` over its
    /// `wall_seconds` (paper Table 3).
    TimestepsPerSecond,
    /// Mean return over every episode of the run (area under the per-episode curve).
    AllEpisodesMean,
    /// `statistic` over updates `from_update..` of `column` (divided by `divided_by` first).
    UpdateStatistic { column: String, divided_by: Option<String>, from_update: u64, statistic: UpdateReduction },
}

/// How `update_statistic` reduces a column over updates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateReduction {
    Median,
    Mean,
    Max,
}

/// One metric a spec can name: `metrics: [{name: N, <key>: {parameters}}]`.
pub struct MetricEntry {
    pub key: &'static str,
    /// Types and checks the parameters; `envs` are the spec's environments.
    pub parse: fn(serde_yaml::Value, &[String]) -> Result<MetricKind, FieldError>,
}

/// Every metric, by the key a spec uses.
pub static METRICS: &[MetricEntry] = &[
    MetricEntry { key: "last_episodes_mean", parse: last_episodes_mean },
    MetricEntry { key: "first_episodes_mean", parse: first_episodes_mean },
    MetricEntry { key: "best_window_mean", parse: best_window_mean },
    MetricEntry { key: "episodes_to_threshold", parse: episodes_to_threshold },
    MetricEntry { key: "timesteps_per_second", parse: timesteps_per_second },
    MetricEntry { key: "all_episodes_mean", parse: all_episodes_mean },
    MetricEntry { key: "update_statistic", parse: update_statistic },
];

/// The entry for `key`.
pub fn lookup(key: &str) -> Option<&'static MetricEntry> {
    METRICS.iter().find(|m| m.key == key)
}

/// The registered keys, comma separated (for messages).
pub fn known() -> String {
    METRICS.iter().map(|m| m.key).collect::<Vec<_>>().join(", ")
}

fn typed<T: serde::de::DeserializeOwned>(v: serde_yaml::Value) -> Result<T, FieldError> {
    let v = if v.is_null() { serde_yaml::Value::Mapping(Default::default()) } else { v };
    serde_path_to_error::deserialize(v).map_err(|e| FieldError::new(e.path().to_string(), e.into_inner().to_string()))
}

fn positive(field: &str, v: i64) -> Result<usize, FieldError> {
    if v > 0 {
        Ok(v as usize)
    } else {
        Err(FieldError::new(field, format!("must be a positive integer, got {v}")))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Episodes {
    episodes: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Window {
    window: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Threshold {
    window: i64,
    /// Gymnasium id -> threshold.
    thresholds: BTreeMap<String, f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

fn last_episodes_mean(v: serde_yaml::Value, _: &[String]) -> Result<MetricKind, FieldError> {
    let p: Episodes = typed(v)?;
    Ok(MetricKind::LastEpisodesMean { episodes: positive("episodes", p.episodes)? })
}

fn first_episodes_mean(v: serde_yaml::Value, _: &[String]) -> Result<MetricKind, FieldError> {
    let p: Episodes = typed(v)?;
    Ok(MetricKind::FirstEpisodesMean { episodes: positive("episodes", p.episodes)? })
}

fn best_window_mean(v: serde_yaml::Value, _: &[String]) -> Result<MetricKind, FieldError> {
    let p: Window = typed(v)?;
    Ok(MetricKind::BestWindowMean { window: positive("window", p.window)? })
}

fn episodes_to_threshold(v: serde_yaml::Value, envs: &[String]) -> Result<MetricKind, FieldError> {
    let p: Threshold = typed(v)?;
    let window = positive("window", p.window)?;
    if let Some(env) = envs.iter().find(|e| !p.thresholds.contains_key(*e)) {
        return Err(FieldError::new("thresholds", format!("no threshold for `{env}`; give one for every environment of the spec")));
    }
    for (env, v) in &p.thresholds {
        let f = format!("thresholds.{env}");
        if !envs.contains(env) {
            return Err(FieldError::new(f, format!("`{env}` is not one of the spec's envs")));
        }
        if !v.is_finite() {
            return Err(FieldError::new(f, format!("{v} is not a finite number")));
        }
    }
    Ok(MetricKind::EpisodesToThreshold { window, thresholds: p.thresholds })
}

fn timesteps_per_second(v: serde_yaml::Value, _: &[String]) -> Result<MetricKind, FieldError> {
    let _: Empty = typed(v)?;
    Ok(MetricKind::TimestepsPerSecond)
}

fn all_episodes_mean(v: serde_yaml::Value, _: &[String]) -> Result<MetricKind, FieldError> {
    let _: Empty = typed(v)?;
    Ok(MetricKind::AllEpisodesMean)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateStatistic {
    column: String,
    #[serde(default)]
    divided_by: Option<String>,
    #[serde(default)]
    from_update: i64,
    statistic: UpdateReduction,
}

fn update_statistic(v: serde_yaml::Value, _: &[String]) -> Result<MetricKind, FieldError> {
    let p: UpdateStatistic = typed(v)?;
    if p.column.trim().is_empty() {
        return Err(FieldError::new("column", "the column name is empty"));
    }
    if p.divided_by.as_ref().is_some_and(|d| d.trim().is_empty()) {
        return Err(FieldError::new("divided_by", "the column name is empty"));
    }
    if p.from_update < 0 {
        return Err(FieldError::new("from_update", format!("must be a non-negative integer, got {}", p.from_update)));
    }
    Ok(MetricKind::UpdateStatistic { column: p.column, divided_by: p.divided_by, from_update: p.from_update as u64, statistic: p.statistic })
}

impl MetricKind {
    /// Whether a larger value is better (for "best seeds" and verdicts).
    pub fn higher_is_better(&self) -> bool {
        !matches!(self, MetricKind::EpisodesToThreshold { .. })
    }

    /// Whether the metric reads `updates.parquet` instead of `episodes.parquet`.
    pub fn reads_updates(&self) -> bool {
        matches!(self, MetricKind::TimestepsPerSecond | MetricKind::UpdateStatistic { .. })
    }

    /// The columns of `updates.parquet` an algorithm must log for this metric (the run's own
    /// `update`, `global_step` and `wall_seconds` are always there).
    pub fn logged_columns(&self) -> Vec<&str> {
        match self {
            MetricKind::UpdateStatistic { column, divided_by, .. } => std::iter::once(column.as_str()).chain(divided_by.as_deref()).collect(),
            _ => Vec::new(),
        }
    }

    /// The metric of one seed, as a one-row Polars aggregation over its episodes (sorted by
    /// `episode`) or, for `timesteps_per_second`, its updates. `env` picks the threshold.
    pub fn per_seed_expr(&self, env: &str) -> Expr {
        match self {
            MetricKind::LastEpisodesMean { episodes } => col("return").tail(Some(*episodes)).mean(),
            MetricKind::FirstEpisodesMean { episodes } => col("return").head(Some(*episodes)).mean(),
            MetricKind::BestWindowMean { window } => col("return").rolling_mean(rolling(*window)).max(),
            MetricKind::EpisodesToThreshold { window, thresholds } => {
                let threshold = thresholds.get(env).copied().unwrap_or(f64::INFINITY);
                let reached = col("return").rolling_mean(rolling(*window)).gt_eq(lit(threshold));
                // The window ending at 0-based row i starts at episode i - window + 1, which
                // is episode number i - window + 2 counting from 1.
                (col("episode").cast(DataType::Float64).filter(reached).first() - lit(*window as f64 - 2.0)).alias("value")
            }
            MetricKind::TimestepsPerSecond => col("global_step").cast(DataType::Float64).last() / col("wall_seconds").last(),
            MetricKind::AllEpisodesMean => col("return").mean(),
            MetricKind::UpdateStatistic { column, divided_by, from_update, statistic } => {
                let value = col(column.as_str()).cast(DataType::Float64);
                let value = match divided_by {
                    Some(d) => value / col(d.as_str()).cast(DataType::Float64),
                    None => value,
                };
                let value = value.filter(col("update").cast(DataType::Float64).gt_eq(lit(*from_update as f64)));
                match statistic {
                    UpdateReduction::Median => value.median(),
                    UpdateReduction::Mean => value.mean(),
                    UpdateReduction::Max => value.max(),
                }
            }
        }
    }
}

fn rolling(window: usize) -> RollingOptionsFixedWindow {
    RollingOptionsFixedWindow { window_size: window, min_periods: window, ..Default::default() }
}
