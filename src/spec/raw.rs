//! The YAML as written: `serde` structs with `deny_unknown_fields`. Nothing here is checked
//! beyond types; [`super::check`] turns a [`RawSpec`] into a [`super::Spec`].

use std::collections::BTreeMap;

use serde::Deserialize;


/// A whole spec file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    /// Human title.
    pub title: String,
    /// The paper's table or figure it reproduces ("Table 2", "Figure 3", "none").
    pub reproduces: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// Gymnasium ids.
    pub envs: Vec<String>,
    /// Algorithms (rows of the report).
    pub algorithms: Vec<RawAlgorithm>,
    /// Seeds.
    pub seeds: Vec<i64>,
    /// Budget and batch layout.
    pub budget: RawBudget,
    /// Metrics to report.
    #[serde(default)]
    pub metrics: Vec<RawMetric>,
    /// The paper's published numbers.
    #[serde(default)]
    pub paper: Vec<RawPaperRow>,
    /// Named profiles that scale the spec (`paper` is the spec as written).
    #[serde(default)]
    pub profiles: BTreeMap<String, RawProfile>,
    /// Learning curves to draw (figures).
    #[serde(default)]
    pub curves: Option<RawCurves>,
    /// Which metric ranks the points of a grid (default: the first metric).
    #[serde(default)]
    pub grid_ranking: Option<RawGridRanking>,
    /// Columns of `updates.parquet` to plot against the update index (figures).
    #[serde(default)]
    pub update_curves: Option<RawUpdateCurves>,
    /// Other methods' published numbers, shown beside ours (paper Table 4).
    #[serde(default)]
    pub references: Option<RawReferences>,
    /// The tensor engine of every row's network (`cpu`, the default, or `cuda`; README
    /// "GPU engine"). `--engine` overrides it.
    #[serde(default)]
    pub engine: Option<crate::nets::Engine>,
    /// What the paper says of its results, each with the check that decides it here
    /// ([`super::claims`]).
    #[serde(default)]
    pub claims: Vec<RawClaim>,
    /// Observe the (MuJoCo) tasks through rendered frames (paper appendix A.2, Figure 4).
    #[serde(default)]
    pub pixels: Option<RawPixels>,
}

/// `pixels:` as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPixels {
    /// The frame's width and height in pixels (paper appendix A.2: 42).
    pub size: i64,
    /// `default` (the model's visual quality) or `fast` (no multisampling, shadows or
    /// reflections: a departure for speed).
    pub visuals: crate::env::Visuals,
    /// Each environment's camera: `free` (Gymnasium's default) or a camera of the model by
    /// name (`track`); an environment not listed uses `free`.
    #[serde(default)]
    pub cameras: BTreeMap<String, crate::env::PixelCamera>,
}

/// One claim of the paper: its words, where it says them, the metric, the environments, and
/// exactly one check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClaim {
    /// The paper's words.
    pub says: String,
    /// Where ("section 5.2", "appendix E, Figure 9").
    pub source: String,
    /// A metric of the spec.
    pub metric: String,
    /// The environments it is about (default: every environment of the spec).
    #[serde(default)]
    pub envs: Option<Vec<String>>,
    /// The row is ahead of every row of `vs` on every environment.
    #[serde(default)]
    pub ahead: Option<RawComparison>,
    /// The row is not behind any row of `vs` by more than `margin`.
    #[serde(default)]
    pub not_behind: Option<RawComparison>,
    /// The row and every row of `vs` are within `margin` of each other.
    #[serde(default)]
    pub on_par: Option<RawComparison>,
    /// The row's value lies in `range`.
    #[serde(default)]
    pub within: Option<RawWithin>,
}

/// A comparison of one row with others.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawComparison {
    pub row: String,
    pub vs: Vec<String>,
    /// In the metric's units: one number, or one per environment of the claim.
    #[serde(default)]
    pub margin: Option<RawMinEffect>,
}

/// A range for one row's value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWithin {
    pub row: String,
    pub range: Vec<f64>,
}

/// Published numbers of methods the spec does not run (paper Table 4's human, DQN, ...),
/// one list per environment in the order of `columns`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReferences {
    /// Section heading in the report.
    pub caption: String,
    /// The metric they are comparable with.
    pub metric: String,
    /// Method names.
    pub columns: Vec<String>,
    /// Environment -> one number per column.
    pub rows: BTreeMap<String, Vec<f64>>,
}

/// The ranking of grid points in reports.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGridRanking {
    /// A metric name from `metrics`.
    pub metric: String,
}

/// Figures of per-update columns (paper Figure 9: exact KL and its quadratic model).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpdateCurves {
    /// Column names of `updates.parquet` (`exact_kl`, `quadratic_kl`, `nu`, ...).
    pub columns: Vec<String>,
    /// `update` (default) or `global_step`.
    #[serde(default)]
    pub x: Option<super::UpdateAxis>,
    /// Logarithmic y axis (default false).
    #[serde(default)]
    pub log_y: bool,
    /// The y axis's label (default: the column names).
    #[serde(default)]
    pub y_label: Option<String>,
    /// The first update drawn (default 0).
    #[serde(default)]
    pub from_update: u64,
    /// Horizontal reference lines (a trust radius, a target), drawn dashed and named in the
    /// legend.
    #[serde(default)]
    pub lines: Vec<RawReferenceLine>,
}

/// One reference line of `update_curves.lines`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawReferenceLine {
    pub value: f64,
    pub label: String,
}

/// Learning-curve figures: episode return against timesteps and wall-clock time.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCurves {
    /// Each seed's returns are smoothed by a trailing mean over this many episodes.
    pub smoothing_episodes: i64,
    /// Points along the x axis where the seeds are averaged.
    #[serde(default)]
    pub points: Option<i64>,
    /// Also draw the curves against the number of updates (paper Figure 5(d)).
    #[serde(default)]
    pub updates: bool,
}

/// One algorithm row: a label, exactly one algorithm configuration under its registry key
/// (`a2c`, `acktr`, ...; `crate::algo::ALGORITHMS`), and an optional grid.
#[derive(Debug, Clone, Deserialize)]
pub struct RawAlgorithm {
    /// Row label in reports ("ACKTR", "A2C").
    pub name: String,
    /// Hyperparameter grid over this algorithm.
    #[serde(default)]
    pub grid: RawGrid,
    /// The spec's environments this row runs on (default: all of them).
    #[serde(default)]
    pub envs: Option<Vec<String>>,
    /// This row's own budget fields (TRPO's 10M timesteps and batch 25000 in Table 2), over
    /// the spec's `budget`; a profile's fields still win.
    #[serde(default)]
    pub budget: Option<RawAlgorithmBudget>,
    /// Every other key: the algorithm's configuration (an optional `preset` plus overrides,
    /// merged in the checker, so kept as YAML here). The checker refuses keys that name no
    /// algorithm.
    #[serde(flatten)]
    pub configs: std::collections::BTreeMap<String, serde_yaml::Value>,
}

/// Values to sweep, in the order written: each key is `lr` (the learning rate: A2C `lr`,
/// ACKTR `kfac.lr`), `steps_per_update` (a budget axis) or a dotted path into the
/// algorithm's configuration (`kfac.kl_clip`, `network.policy_activation`); each value is a
/// list of YAML scalars. Every combination becomes a grid point. Values are kept as YAML here
/// and checked against the configuration by [`super::check`].
#[derive(Debug, Clone, Default)]
pub struct RawGrid(pub Vec<(String, serde_yaml::Value)>);

impl<'de> Deserialize<'de> for RawGrid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = serde_yaml::Mapping::deserialize(d)?;
        let mut out = Vec::with_capacity(map.len());
        for (k, v) in map {
            let Some(key) = k.as_str() else {
                return Err(serde::de::Error::custom(format!(
                    "grid keys are field paths such as `kfac.kl_clip`, got {}",
                    serde_yaml::to_string(&k).unwrap_or_default().trim()
                )));
            };
            out.push((key.to_string(), v));
        }
        Ok(RawGrid(out))
    }
}

/// An algorithm row's budget fields.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlgorithmBudget {
    #[serde(default)]
    pub total_timesteps: Option<i64>,
    #[serde(default)]
    pub steps_per_update: Option<i64>,
    #[serde(default)]
    pub num_envs: Option<i64>,
    /// The row's schedule horizon (as the spec's `budget.schedule_timesteps`).
    #[serde(default)]
    pub schedule_timesteps: Option<i64>,
}

/// Budget and batch layout.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBudget {
    /// Environment timesteps per cell (all copies together).
    pub total_timesteps: i64,
    /// Parallel environment copies.
    pub num_envs: i64,
    /// Steps of every copy per update (batch = num_envs x steps_per_update).
    pub steps_per_update: i64,
    /// Timesteps the learning-rate schedules anneal over (default: each row's budget as
    /// written; a profile's shorter run keeps it).
    #[serde(default)]
    pub schedule_timesteps: Option<i64>,
}

/// A metric to report: a column name and exactly one definition, under its registry key
/// (`crate::metric::METRICS`: `last_episodes_mean: {episodes}`, `first_episodes_mean:
/// {episodes}`, `best_window_mean:
/// {window}`, `episodes_to_threshold: {window, thresholds}`, `timesteps_per_second: {}`).
#[derive(Debug, Clone, Deserialize)]
pub struct RawMetric {
    /// Column name in reports and in `paper` rows.
    pub name: String,
    /// Aggregate over seeds: the mean over the `best_seeds` best seeds (paper Table 2: 3);
    /// all seeds when absent.
    #[serde(default)]
    pub best_seeds: Option<i64>,
    /// The smallest difference `acktr check` calls better or worse: one number in the
    /// metric's units, or one per environment (`{Reacher-v5: 3, CartPole-v1: 50}`).
    #[serde(default)]
    pub min_effect: Option<RawMinEffect>,
    /// Every other key: the definition, checked against the registry by the checker.
    #[serde(flatten)]
    pub definition: BTreeMap<String, serde_yaml::Value>,
}

/// `min_effect`: one number, or one per environment.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawMinEffect {
    All(f64),
    PerEnv(BTreeMap<String, f64>),
}

/// A published number, or "N/A" where the paper prints that.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawPaperValue {
    Number(f64),
    Text(String),
}

/// The paper's numbers for one (environment, algorithm).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPaperRow {
    pub env: String,
    pub algorithm: String,
    pub values: BTreeMap<String, RawPaperValue>,
}

/// Overrides a profile applies to the spec as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProfile {
    #[serde(default)]
    pub total_timesteps: Option<i64>,
    #[serde(default)]
    pub seeds: Option<Vec<i64>>,
    #[serde(default)]
    pub num_envs: Option<i64>,
    #[serde(default)]
    pub steps_per_update: Option<i64>,
    /// Some of the spec's environments, to run only those (in the spec's order).
    #[serde(default)]
    pub envs: Option<Vec<String>>,
}
