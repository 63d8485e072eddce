//! Specs: `specs/<name>.yaml` in, a checked [`Spec`] and its [`Cell`]s out.
//!
//! Parsing is two-stage (ripgrep's low/high args): [`raw`] mirrors the YAML with
//! `deny_unknown_fields`; [`check`] fills defaults, applies the chosen profile, resolves
//! names against the registries and rejects bad values. Every error names the file, the
//! line and column where they can be found, and the field path.

mod check;
mod checker;
pub mod claims;
pub mod grid;
pub mod locate;
pub mod raw;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::algo::AlgorithmConfig;
use crate::env;
use crate::nets::Engine;
pub use claims::{Claim, ClaimCheck, Comparison};
pub use grid::{GridPoint, GridValue};
use raw::{RawPaperValue, RawSpec};

/// The profile that runs the spec as written.
pub const PAPER_PROFILE: &str = "paper";

/// Bumped when the meaning of a cell's configuration changes, so old results are not
/// mistaken for new ones.
const CELL_SCHEMA: u32 = 1;

/// A spec that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{}: cannot read spec: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("unknown spec `{name}`: no file {} (known: {known})", path.display())]
    NotFound { name: String, path: PathBuf, known: String },
    #[error("{}{}: {field}: {message}", file.display(), position(*line, *column))]
    Invalid { file: PathBuf, line: Option<usize>, column: Option<usize>, field: String, message: String },
}

fn position(line: Option<usize>, column: Option<usize>) -> String {
    match (line, column) {
        (Some(l), Some(c)) => format!(":{l}:{c}"),
        (Some(l), None) => format!(":{l}"),
        _ => String::new(),
    }
}

/// Why a spec cannot run on an engine ([`Spec::with_engine`]).
#[derive(Debug, thiserror::Error)]
pub enum EngineRefusal {
    /// This binary was built without the engine (how to build one that has it).
    #[error("{0}")]
    NotCompiledIn(&'static str),
    #[error(transparent)]
    Env(#[from] env::EnvError),
    /// A row's network cannot run on the engine on one of the spec's environments.
    #[error("row `{row}` on {env}: {source}")]
    Unfit { row: String, env: String, source: crate::algo::AlgoError },
}

/// Budget and batch layout of a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    pub total_timesteps: u64,
    pub num_envs: usize,
    pub steps_per_update: usize,
    /// The horizon learning-rate schedules anneal over, where it is not `total_timesteps`
    /// (`budget.schedule_timesteps`; by default the budget of the experiment the spec
    /// reproduces, so a profile's shorter run is that run cut short). Not written when it
    /// equals the budget, so such cells keep their hashes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_timesteps: Option<u64>,
}

impl Budget {
    /// The horizon the learning-rate schedules anneal over.
    pub fn schedule_horizon(&self) -> u64 {
        self.schedule_timesteps.unwrap_or(self.total_timesteps)
    }
}

pub use crate::metric::MetricKind;

/// A named metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricSpec {
    pub name: String,
    pub kind: MetricKind,
    /// Aggregate over the `best_seeds` best seeds (None: all seeds).
    pub best_seeds: Option<usize>,
    /// The smallest difference `acktr check` calls better or worse, per environment (an
    /// environment not named: 0, any significant difference).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub min_effect: BTreeMap<String, f64>,
}

impl MetricSpec {
    /// The smallest difference that counts on `env` (0 when the spec states none).
    pub fn min_effect_on(&self, env: &str) -> f64 {
        self.min_effect.get(env).copied().unwrap_or(0.0)
    }
}

/// Learning-curve figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurveSpec {
    /// Trailing mean over this many episodes, per seed.
    pub smoothing_episodes: usize,
    /// Points along the x axis.
    pub points: usize,
    /// Also against the number of updates (`curves_updates.{png,svg}`; paper Figure 5(d)).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub updates: bool,
}

/// `pixels:` checked: every environment observed through frames of `size` pixels with
/// `visuals`, each from its camera.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PixelSpec {
    pub size: usize,
    pub visuals: env::Visuals,
    /// Environments not listed use the free camera.
    pub cameras: BTreeMap<String, env::PixelCamera>,
}

/// How a spec with `pixels` (or without, `None`) observes `env`.
pub fn observe_of(pixels: Option<&PixelSpec>, env: &str) -> env::Observe {
    match pixels {
        None => env::Observe::State,
        Some(p) => env::Observe::Pixels(env::PixelSettings {
            size: p.size,
            camera: p.cameras.get(env).cloned().unwrap_or(env::PixelCamera::Free),
            visuals: p.visuals,
        }),
    }
}

/// A published number.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum PaperValue {
    Number(f64),
    /// What the paper prints instead of a number ("N/A").
    Text(String),
}

/// One algorithm row of the spec.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlgorithmSpec {
    pub name: String,
    /// The configuration as written (preset merged, defaults filled), before any grid value.
    pub config: AlgorithmConfig,
    /// Grid points with their resolved configurations; one empty point without a grid.
    pub grid: Vec<ResolvedPoint>,
    /// The row's own budget fields (`budget:` under the row), checked.
    #[serde(skip_serializing_if = "AlgorithmBudget::is_empty")]
    pub budget: AlgorithmBudget,
    /// The spec's environments this row runs on (`envs:` under the row; None: all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envs: Option<Vec<String>>,
}

impl AlgorithmSpec {
    /// Whether the row runs on `env` (a row without `envs:` runs on every environment).
    pub fn runs_on(&self, env: &str) -> bool {
        self.envs.as_ref().is_none_or(|e| e.iter().any(|x| x == env))
    }
}

/// An algorithm row's own budget fields, over the spec's `budget` (a profile's fields win).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlgorithmBudget {
    pub total_timesteps: Option<u64>,
    pub steps_per_update: Option<usize>,
    /// The row's own batch layout (paper Table 1: ACKTR 32 environments, A2C 16).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_envs: Option<usize>,
    /// The row's own schedule horizon ([`Budget::schedule_timesteps`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_timesteps: Option<u64>,
}

/// Which budget fields the chosen profile sets (they then win over a row's own).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProfileSets {
    pub total_timesteps: bool,
    pub steps_per_update: bool,
    pub num_envs: bool,
}

impl ProfileSets {
    fn of(prof: &raw::RawProfile) -> Self {
        Self {
            total_timesteps: prof.total_timesteps.is_some(),
            steps_per_update: prof.steps_per_update.is_some(),
            num_envs: prof.num_envs.is_some(),
        }
    }
}

impl AlgorithmBudget {
    fn is_empty(&self) -> bool {
        self.total_timesteps.is_none() && self.steps_per_update.is_none() && self.num_envs.is_none() && self.schedule_timesteps.is_none()
    }

    /// `base` with this row's fields, except those the profile sets.
    fn apply(&self, base: Budget, profile_sets: ProfileSets) -> Budget {
        let mut b = base;
        if let (Some(t), false) = (self.total_timesteps, profile_sets.total_timesteps) {
            b.total_timesteps = t;
        }
        if let (Some(s), false) = (self.steps_per_update, profile_sets.steps_per_update) {
            b.steps_per_update = s;
        }
        if let (Some(n), false) = (self.num_envs, profile_sets.num_envs) {
            b.num_envs = n;
        }
        b
    }
}

/// One grid point of an algorithm row with everything it changes, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResolvedPoint {
    pub point: GridPoint,
    /// The row's configuration with the point's values applied.
    pub config: AlgorithmConfig,
    /// The point's `steps_per_update`, when it sets one (a budget axis, not a field).
    pub steps_per_update: Option<usize>,
}

/// Which x axis the update curves use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateAxis {
    /// The update index (0, 1, ...).
    Update,
    /// Timesteps collected by the end of the update.
    GlobalStep,
}

/// Figures of per-update columns of `updates.parquet` (paper Figure 9).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UpdateCurveSpec {
    /// Column names (`exact_kl`, `quadratic_kl`, ...), one line per (algorithm row, column).
    pub columns: Vec<String>,
    pub x: UpdateAxis,
    pub log_y: bool,
    /// The y axis's label.
    pub y_label: String,
    /// Updates before this one are not drawn.
    pub from_update: u64,
    /// Horizontal reference lines `(value, label)`.
    pub lines: Vec<(f64, String)>,
}

/// A checked spec with one profile applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spec {
    /// File stem (`smoke`), used for `results/<name>/`.
    pub name: String,
    #[serde(skip)]
    pub path: PathBuf,
    pub title: String,
    pub reproduces: String,
    pub description: Option<String>,
    pub profile: String,
    pub envs: Vec<String>,
    pub algorithms: Vec<AlgorithmSpec>,
    pub seeds: Vec<u64>,
    pub budget: Budget,
    pub metrics: Vec<MetricSpec>,
    /// `(env, algorithm) -> metric -> value`.
    pub paper: BTreeMap<(String, String), BTreeMap<String, PaperValue>>,
    /// Profiles the file defines (for `acktr list`).
    pub profiles: Vec<String>,
    /// The spec's own budget (profile `paper`): what the paper's numbers are comparable to.
    pub paper_budget: Budget,
    /// Learning curves to draw, if any.
    pub curves: Option<CurveSpec>,
    /// The metric that ranks grid points (`grid_ranking.metric`, default the first metric;
    /// None without metrics).
    pub grid_ranking: Option<String>,
    /// Per-update columns to draw, if any.
    pub update_curves: Option<UpdateCurveSpec>,
    /// Other methods' published numbers to show beside ours.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub references: Option<References>,
    /// What the paper says of its results, with the checks that decide them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<Claim>,
    /// Which budget fields the profile sets (they then win over an algorithm row's own).
    pub profile_sets: ProfileSets,
    /// `--engine`, when the command line gave one (Slurm passes it on to its tasks).
    #[serde(skip)]
    pub engine_flag: Option<Engine>,
    /// 16 hex digits of the SHA-256 of the spec text this was parsed from (provenance).
    #[serde(skip)]
    pub source_sha256: String,
    /// How every environment is observed (`pixels:`; the task's own observation without).
    pub pixels: Option<PixelSpec>,
}

/// Published numbers of other methods (`references:`), checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct References {
    pub caption: String,
    /// Index into the spec's metrics.
    pub metric: usize,
    pub columns: Vec<String>,
    /// Rows in the spec's environment order.
    pub rows: Vec<(String, Vec<f64>)>,
}

/// One unit of work: environment x algorithm x seed x grid point.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    pub spec: String,
    pub env: String,
    /// Algorithm row label.
    pub algorithm: String,
    pub grid: GridPoint,
    pub seed: u64,
    pub budget: Budget,
    /// Resolved configuration (grid applied).
    pub config: AlgorithmConfig,
    /// How the environment is observed.
    pub observe: env::Observe,
    /// Content hash of everything above but the spec name (16 hex digits).
    pub hash: String,
}

impl Cell {
    /// 16 hex digits of the SHA-256 of the cell's key with `budget` in place of its own.
    /// The horizon (`schedule_timesteps`) is left out where no schedule of the
    /// configuration reads it ([`crate::algo::Settings::anneals`]): such a cell computes the
    /// same whatever its horizon, so a spec's profile cut short from a longer experiment
    /// shares its cells with a spec that runs the same budget as its own (Table 2's `quick`
    /// profile and Figure 3).
    fn key_hash(&self, budget: &Budget) -> String {
        let budget = &if self.config.settings().anneals() { *budget } else { Budget { schedule_timesteps: None, ..*budget } };
        let key = CellKey {
            schema: CELL_SCHEMA,
            env: &self.env,
            algorithm: &self.algorithm,
            grid: &self.grid,
            seed: self.seed,
            budget,
            config: &self.config,
            observe: &self.observe,
        };
        let json = serde_json::to_vec(&key).expect("cell key serialises");
        Sha256::digest(&json).iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// What the cell computes whatever its budget: the hash of its key with the budget's
    /// `total_timesteps` left out and the schedule horizon written out. Two cells with the
    /// same lineage run the same updates up to the smaller budget (the training loop reads
    /// the budget only to stop), so the longer one can continue from the shorter one's end
    /// (book: Running locally, "Extending a finished run"). A cell whose schedules anneal
    /// over its own budget shares its lineage with no cell of another budget.
    pub fn lineage(&self) -> String {
        let budget = Budget { total_timesteps: 0, schedule_timesteps: Some(self.budget.schedule_horizon()), ..self.budget };
        self.key_hash(&budget)
    }

    /// `ALGO` or `ALGO [lr=0.25]`: the row label in reports.
    pub fn row_label(&self) -> String {
        if self.grid.0.is_empty() {
            self.algorithm.clone()
        } else {
            format!("{} [{}]", self.algorithm, self.grid.label())
        }
    }
}

#[derive(Serialize)]
struct CellKey<'a> {
    schema: u32,
    env: &'a str,
    algorithm: &'a str,
    grid: &'a GridPoint,
    seed: u64,
    budget: &'a Budget,
    config: &'a AlgorithmConfig,
    /// Left out for the task's own observation, so those cells keep their hashes.
    #[serde(skip_serializing_if = "env::Observe::is_state")]
    observe: &'a env::Observe,
}

/// Runs every row's network, and every grid point's, on `engine`.
fn set_engine(algorithms: &mut [AlgorithmSpec], engine: Engine) {
    for a in algorithms {
        a.config.set_engine(engine);
        for p in &mut a.grid {
            p.config.set_engine(engine);
        }
    }
}

/// The first row or grid point whose network cannot run on these spaces (a conv torso
/// needs images, ...): the row's index, the configuration and why.
fn first_unfit<'a>(algorithms: &'a [AlgorithmSpec], env: &str, obs: &env::ObservationSpace, act: &env::ActionSpace) -> Option<(usize, &'a AlgorithmConfig, crate::algo::AlgoError)> {
    algorithms.iter().enumerate().filter(|(_, alg)| alg.runs_on(env)).find_map(|(i, alg)| {
        std::iter::once(&alg.config).chain(alg.grid.iter().map(|p| &p.config)).find_map(|c| c.check_spaces(obs, act).err().map(|e| (i, c, e)))
    })
}

impl Spec {
    /// The spec with every network on `engine` (`--engine`, over the spec's `engine:`), or
    /// why this binary cannot run it, or why the engine cannot run one of its rows on one
    /// of its environments (the spec's own check of the spaces, again with the engine).
    pub fn with_engine(mut self, engine: Engine) -> Result<Spec, EngineRefusal> {
        if let Some(why) = engine.not_compiled_in() {
            return Err(EngineRefusal::NotCompiledIn(why));
        }
        set_engine(&mut self.algorithms, engine);
        if !engine.is_cpu() {
            for id in &self.envs {
                let e = env::make_observed(id, &observe_of(self.pixels.as_ref(), id))?;
                let (obs, act) = (e.observation_space(), e.action_space());
                if let Some((i, _, source)) = first_unfit(&self.algorithms, id, &obs, &act) {
                    return Err(EngineRefusal::Unfit { row: self.algorithms[i].name.clone(), env: id.clone(), source });
                }
            }
        }
        self.engine_flag = Some(engine);
        Ok(self)
    }

    /// The spec with every seed shifted by `offset` (`acktr check --seed-offset`: new
    /// seeds, so new cells, for measuring how often a check flags a row by chance).
    pub fn with_seed_offset(mut self, offset: u64) -> Spec {
        for s in &mut self.seeds {
            *s += offset;
        }
        self
    }

    /// The budget of an algorithm row's cells: the spec's, with the row's own fields where
    /// the profile sets none.
    pub fn row_budget(&self, alg: &AlgorithmSpec) -> Budget {
        check::row_budget(alg, self.budget, self.paper_budget, self.profile_sets)
    }

    /// Every cell, in a stable order (env, algorithm, grid point, seed).
    pub fn cells(&self) -> Vec<Cell> {
        let mut out = Vec::new();
        for env in &self.envs {
            let observe = observe_of(self.pixels.as_ref(), env);
            for alg in self.algorithms.iter().filter(|a| a.runs_on(env)) {
                for resolved in &alg.grid {
                    let (point, config) = (&resolved.point, &resolved.config);
                    let mut budget = self.row_budget(alg);
                    if let Some(steps) = resolved.steps_per_update {
                        budget.steps_per_update = steps;
                    }
                    for &seed in &self.seeds {
                        let mut cell = Cell {
                            spec: self.name.clone(),
                            env: env.clone(),
                            algorithm: alg.name.clone(),
                            grid: point.clone(),
                            seed,
                            budget,
                            config: config.clone(),
                            observe: observe.clone(),
                            hash: String::new(),
                        };
                        cell.hash = cell.key_hash(&budget);
                        out.push(cell);
                    }
                }
            }
        }
        out
    }
}

/// Resolves a spec argument: a path to a file, or a name under `specs_dir`.
pub fn resolve_path(arg: &str, specs_dir: &Path) -> Result<PathBuf, SpecError> {
    let p = Path::new(arg);
    if p.extension().is_some_and(|e| e == "yaml" || e == "yml") || arg.contains('/') {
        return Ok(p.to_path_buf());
    }
    let path = specs_dir.join(format!("{arg}.yaml"));
    if path.exists() {
        Ok(path)
    } else {
        let known = list_specs(specs_dir).join(", ");
        Err(SpecError::NotFound { name: arg.into(), path, known })
    }
}

/// Names of the specs in `specs_dir`, sorted.
pub fn list_specs(specs_dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(specs_dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let p = e.path();
                    (p.extension().is_some_and(|x| x == "yaml")).then(|| p.file_stem()?.to_str().map(String::from))?
                })
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Reads, parses and checks a spec file with `profile` applied.
pub fn load(path: &Path, profile: &str) -> Result<Spec, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Io { path: path.into(), source })?;
    parse(&text, path, profile)
}

/// Parses and checks spec text (`path` names it in errors and gives the spec its name).
pub fn parse(text: &str, path: &Path, profile: &str) -> Result<Spec, SpecError> {
    let mut spec = parse_text(text, path, profile)?;
    spec.source_sha256 = Sha256::digest(text.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    Ok(spec)
}

fn parse_text(text: &str, path: &Path, profile: &str) -> Result<Spec, SpecError> {
    if let Some((line, column)) = too_deep(text, MAX_FLOW_DEPTH) {
        return Err(SpecError::Invalid {
            file: path.into(),
            line: Some(line),
            column: Some(column),
            field: "(YAML syntax)".into(),
            message: format!("brackets or braces nested deeper than {MAX_FLOW_DEPTH} levels"),
        });
    }
    if let Some(e) = duplicate_key(text, path) {
        return Err(e);
    }
    let de = serde_yaml::Deserializer::from_str(text);
    let raw: RawSpec = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let inner = e.into_inner();
        let raw_message = inner.to_string();
        let (positions, message) = yaml_positions(&raw_message);
        // A construct left open (an unclosed quote, brace or bracket) is reported where the
        // scanner gave up (the end of the file, or the next line); where it began is the line
        // to show (libyaml's context mark).
        let unclosed = raw_message.contains("end of stream") || raw_message.contains("while parsing a flow");
        let loc = match (positions.as_slice(), unclosed) {
            ([_, context, ..], true) => Some(*context),
            _ => inner.location().map(|l| (l.line(), l.column())),
        };
        // serde_yaml prefixes the path itself; we print it once, as the field.
        let message = message.strip_prefix(&format!("{field}: ")).map(str::to_string).unwrap_or(message);
        let field = match field.as_str() {
            "." => "(document)".to_string(),
            "?" => "(YAML syntax)".to_string(),
            _ => field,
        };
        SpecError::Invalid { file: path.into(), line: loc.map(|l| l.0), column: loc.map(|l| l.1), field, message }
    })?;
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_string();
    if !plain_name(&name) {
        return Err(SpecError::Invalid {
            file: path.into(),
            line: None,
            column: None,
            field: "(file name)".into(),
            message: format!(
                "the spec's name `{name}` (its file name without .yaml) names its results directory; use letters, digits, `-`, `_` and `.`, not leading `.`"
            ),
        });
    }
    check::check(raw, name, path, text, profile)
}

/// A key given twice in one mapping (serde fills maps and structs' maps last-one-wins, so
/// `profiles` with two `quick:` would silently keep the second), as an error naming the key's
/// path and both lines; `None` when there is none (or the text has other errors, which the
/// typed parse reports).
fn duplicate_key(text: &str, path: &Path) -> Option<SpecError> {
    let de = serde_yaml::Deserializer::from_str(text);
    let e = serde_path_to_error::deserialize::<_, serde_yaml::Value>(de).err()?;
    let message = e.inner().to_string();
    let rest = &message[message.find("duplicate entry with key ")? + "duplicate entry with key ".len()..];
    let key = match rest.strip_prefix('"') {
        Some(quoted) => quoted[..quoted.find('"')?].to_string(),
        None => rest.split_whitespace().next()?.trim_matches('`').to_string(),
    };
    let parent = e.path().to_string();
    let field = if parent == "." { key.clone() } else { format!("{parent}.{key}") };
    let found = locate::key_lines(text, &parent, &key);
    let lines = match found.as_slice() {
        [a, b, ..] => format!(" (lines {a} and {b})"),
        _ => String::new(),
    };
    Some(SpecError::Invalid {
        file: path.into(),
        line: found.get(1).copied().or_else(|| e.inner().location().map(|l| l.line())),
        column: None,
        field,
        message: format!("`{key}` is given twice in one mapping{lines}; keep one"),
    })
}

/// How deep `[` and `{` may nest. serde_yaml refuses deeper documents anyway (its recursion
/// limit is 128), but only after libyaml's scanner has spent time quadratic in the depth on
/// them (a 200,000-deep list took minutes), so deeper text is refused before parsing.
const MAX_FLOW_DEPTH: usize = 128;

/// The line and column (1-based) where flow collections first nest deeper than `limit`, in
/// one linear pass that skips quoted scalars and comments.
fn too_deep(text: &str, limit: usize) -> Option<(usize, usize)> {
    let (mut depth, mut line, mut column) = (0usize, 1usize, 0usize);
    let (mut single, mut double, mut escaped, mut comment) = (false, false, false, false);
    let mut previous = '\n';
    for c in text.chars() {
        column += 1;
        if c == '\n' {
            (line, column, comment) = (line + 1, 0, false);
            previous = c;
            continue;
        }
        if comment {
            continue;
        }
        if double {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => double = false,
                _ => {}
            }
        } else if single {
            if c == '\'' {
                single = false;
            }
        } else {
            match c {
                '#' if previous.is_whitespace() => comment = true,
                '"' => double = true,
                '\'' if !previous.is_alphanumeric() => single = true,
                '[' | '{' => {
                    depth += 1;
                    if depth > limit {
                        return Some((line, column));
                    }
                }
                ']' | '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        previous = c;
    }
    None
}

/// A spec name that is a plain directory name inside `--results`: letters, digits, `-`,
/// `_`, `.` (not leading, so never `.` or `..`).
pub fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 128
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The `at line L column C` marks of a libyaml message (problem, then context), and the
/// message without them (we print the position ourselves).
fn yaml_positions(msg: &str) -> (Vec<(usize, usize)>, String) {
    let mut positions = Vec::new();
    let mut out = String::new();
    let mut rest = msg;
    while let Some(i) = rest.find(" at line ") {
        let after = &rest[i + " at line ".len()..];
        let line: String = after.chars().take_while(char::is_ascii_digit).collect();
        let tail = &after[line.len()..];
        let Some(col_part) = tail.strip_prefix(" column ") else {
            out.push_str(&rest[..i + 1]);
            rest = &rest[i + 1..];
            continue;
        };
        let column: String = col_part.chars().take_while(char::is_ascii_digit).collect();
        if let (Ok(l), Ok(c)) = (line.parse(), column.parse()) {
            positions.push((l, c));
        }
        out.push_str(&rest[..i]);
        rest = &col_part[column.len()..];
    }
    out.push_str(rest);
    (positions, out)
}

/// serde_yaml appends " at line L column C"; we print the position ourselves.
fn strip_location(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}


#[cfg(all(test, feature = "cuda"))]
mod cuda_tests {
    use std::path::Path;

    use crate::nets::Engine;

    /// `engine: cuda` for the whole spec, and `--engine cuda`, are refused before anything
    /// runs where a row cannot run on the device; a shared network on discrete actions
    /// passes.
    #[test]
    fn the_whole_spec_on_cuda_is_checked_against_its_rows_and_environments() {
        let spec = |algo: &str, env: &str, engine: &str| {
            format!(
                "title: t\nreproduces: none\n{engine}envs: [{env}]\nalgorithms:\n  - name: X\n    {algo}\nseeds: [0]\nbudget: {{total_timesteps: 100, num_envs: 1, steps_per_update: 5}}\n"
            )
        };
        let path = Path::new("t.yaml");
        let e = crate::spec::parse(&spec("a2c: {network: {shared: false}}", "CartPole-v1", "engine: cuda\n"), path, "paper").unwrap_err().to_string();
        assert!(e.contains("separate networks run on `--engine cpu`"), "{e}");
        let e = crate::spec::parse(&spec("a2c: {}", "Pendulum-v1", "engine: cuda\n"), path, "paper").unwrap_err().to_string();
        assert!(e.contains("continuous actions run on `--engine cpu`"), "{e}");
        crate::spec::parse(&spec("a2c: {}", "CartPole-v1", "engine: cuda\n"), path, "paper").unwrap();
        // --engine, over a spec written for the CPU.
        let cpu = crate::spec::parse(&spec("a2c: {}", "Pendulum-v1", ""), path, "paper").unwrap();
        let e = cpu.with_engine(Engine::Cuda).err().unwrap().to_string();
        assert!(e.contains("row `X` on Pendulum-v1") && e.contains("continuous actions"), "{e}");
        let ok = crate::spec::parse(&spec("a2c: {}", "CartPole-v1", ""), path, "paper").unwrap();
        assert!(ok.with_engine(Engine::Cuda).is_ok());
    }
}
