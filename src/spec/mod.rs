//! Specs: `specs/<name>.yaml` in, a checked [`Spec`] and its [`Cell`]s out.
//!
//! Parsing is two-stage (ripgrep's low/high args): [`raw`] mirrors the YAML with
//! `deny_unknown_fields`; [`check`] fills defaults, applies the chosen profile, resolves
//! names against the registries and rejects bad values. Every error names the file, the
//! line and column where they can be found, and the field path.

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

/// An algorithm row the spec names but this build cannot run yet (TRPO).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnavailableAlgorithm {
    pub name: String,
    /// Which configuration key it used (`trpo`).
    pub kind: String,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    /// Rows for algorithms not built yet: no cells, reported as "not available".
    pub unavailable: Vec<UnavailableAlgorithm>,
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
    /// Which budget fields the profile sets (they then win over an algorithm row's own).
    pub profile_sets: ProfileSets,
    /// `--engine`, when the command line gave one (Slurm passes it on to its tasks).
    #[serde(skip)]
    pub engine_flag: Option<Engine>,
    /// 16 hex digits of the SHA-256 of the spec text this was parsed from (provenance).
    #[serde(skip)]
    pub source_sha256: String,
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
    /// Content hash of everything above but the spec name (16 hex digits).
    pub hash: String,
}

impl Cell {
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
    pub fn with_engine(mut self, engine: Engine) -> Result<Spec, String> {
        if let Some(why) = engine.not_compiled_in() {
            return Err(why.into());
        }
        set_engine(&mut self.algorithms, engine);
        if !engine.is_cpu() {
            for id in &self.envs {
                let e = env::make(id).map_err(|e| e.to_string())?;
                let (obs, act) = (e.observation_space(), e.action_space());
                if let Some((i, _, err)) = first_unfit(&self.algorithms, id, &obs, &act) {
                    return Err(format!("row `{}` on {id}: {err}", self.algorithms[i].name));
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
            for alg in self.algorithms.iter().filter(|a| a.runs_on(env)) {
                for resolved in &alg.grid {
                    let (point, config) = (&resolved.point, &resolved.config);
                    let mut budget = self.row_budget(alg);
                    if let Some(steps) = resolved.steps_per_update {
                        budget.steps_per_update = steps;
                    }
                    for &seed in &self.seeds {
                        let key = CellKey {
                            schema: CELL_SCHEMA,
                            env,
                            algorithm: &alg.name,
                            grid: point,
                            seed,
                            budget: &budget,
                            config,
                        };
                        let json = serde_json::to_vec(&key).expect("cell key serialises");
                        let digest = Sha256::digest(&json);
                        let hash = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
                        out.push(Cell {
                            spec: self.name.clone(),
                            env: env.clone(),
                            algorithm: alg.name.clone(),
                            grid: point.clone(),
                            seed,
                            budget,
                            config: config.clone(),
                            hash,
                        });
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

mod check {
    //! Raw -> checked.
    use super::*;

    struct Checker<'a> {
        path: &'a Path,
        text: &'a str,
    }

    impl Checker<'_> {
        fn err(&self, field: impl Into<String>, message: impl Into<String>) -> SpecError {
            let field = field.into();
            SpecError::Invalid {
                file: self.path.into(),
                line: locate::locate(self.text, &field),
                column: None,
                field,
                message: message.into(),
            }
        }

        fn positive(&self, field: &str, v: i64) -> Result<u64, SpecError> {
            if v > 0 {
                Ok(v as u64)
            } else {
                Err(self.err(field, format!("must be a positive integer, got {v}")))
            }
        }

        fn seeds(&self, field: &str, seeds: &[i64]) -> Result<Vec<u64>, SpecError> {
            if seeds.is_empty() {
                return Err(self.err(field, "the seed list is empty; give at least one seed"));
            }
            let mut out = Vec::with_capacity(seeds.len());
            let mut seen = std::collections::HashSet::with_capacity(seeds.len());
            for (i, &s) in seeds.iter().enumerate() {
                if s < 0 {
                    return Err(self.err(format!("{field}[{i}]"), format!("seeds are non-negative integers, got {s}")));
                }
                if !seen.insert(s) {
                    return Err(self.err(format!("{field}[{i}]"), format!("seed {s} appears twice")));
                }
                out.push(s as u64);
            }
            Ok(out)
        }

        /// The algorithm's defaults, or its `preset`, with the given fields merged over them,
        /// then typed.
        fn configured(&self, at: &str, entry: &crate::algo::AlgorithmEntry, v: &serde_yaml::Value) -> Result<AlgorithmConfig, SpecError> {
            let mut v = v.clone();
            if v.is_null() {
                v = serde_yaml::Value::Mapping(Default::default());
            }
            let base = match v.as_mapping_mut().and_then(|m| m.remove("preset")) {
                Some(p) => (entry.preset)(p)
                    .map_err(|e| self.err(format!("{at}.preset"), format!("{e} (known: {})", entry.presets.join(", "))))?,
                None => (entry.defaults)(),
            };
            let mut merged = base.inner_yaml();
            merge(&mut merged, v);
            (entry.typed)(merged).map_err(|e| self.err(format!("{at}.{}", e.field), strip_location(&e.message)))
        }

        fn algorithm(&self, i: usize, a: &raw::RawAlgorithm, spec_envs: &[String]) -> Result<Option<AlgorithmSpec>, SpecError> {
            let at = format!("algorithms[{i}]");
            if a.name.trim().is_empty() {
                return Err(self.err(format!("{at}.name"), "the algorithm's name is empty"));
            }
            let known = || {
                let mut k: Vec<&str> = crate::algo::ALGORITHMS.iter().map(|e| e.key).collect();
                k.extend_from_slice(crate::algo::NOT_BUILT);
                k.join(", ")
            };
            let (key, v) = match a.configs.iter().collect::<Vec<_>>().as_slice() {
                [one] => *one,
                [] => return Err(self.err(&at, format!("give exactly one algorithm configuration (known: {}), e.g. `a2c: {{}}`", known()))),
                _ => return Err(self.err(&at, "give exactly one algorithm configuration, not several")),
            };
            if crate::algo::NOT_BUILT.contains(&key.as_str()) {
                let empty = v.is_null() || v.as_mapping().is_some_and(|m| m.is_empty());
                if !empty || !a.grid.0.is_empty() {
                    return Err(self.err(
                        format!("{at}.{key}"),
                        format!("{key} is not built yet (its row is reported as not available); give `{key}: {{}}` with no fields and no grid"),
                    ));
                }
                return Ok(None);
            }
            let Some(entry) = crate::algo::lookup(key) else {
                return Err(self.err(format!("{at}.{key}"), format!("unknown field `{key}`, expected `name`, `grid`, `budget`, `envs` or an algorithm ({})", known())));
            };
            let config = self.configured(&format!("{at}.{key}"), entry, v)?;
            self.config_checks(&at, &config)?;
            let grid = self.grid(&at, &config, &a.grid)?;
            let rb = a.budget.clone().unwrap_or_default();
            let budget = AlgorithmBudget {
                total_timesteps: rb.total_timesteps.map(|v| self.positive(&format!("{at}.budget.total_timesteps"), v)).transpose()?,
                steps_per_update: rb.steps_per_update.map(|v| self.positive(&format!("{at}.budget.steps_per_update"), v).map(|v| v as usize)).transpose()?,
                num_envs: rb.num_envs.map(|v| self.positive(&format!("{at}.budget.num_envs"), v).map(|v| v as usize)).transpose()?,
                schedule_timesteps: rb.schedule_timesteps.map(|v| self.positive(&format!("{at}.budget.schedule_timesteps"), v)).transpose()?,
            };
            let envs = match &a.envs {
                None => None,
                Some(list) => {
                    if list.is_empty() {
                        return Err(self.err(format!("{at}.envs"), "the list is empty; remove it to run the row on every environment"));
                    }
                    for (j, e) in list.iter().enumerate() {
                        if !spec_envs.contains(e) {
                            return Err(self.err(format!("{at}.envs[{j}]"), format!("`{e}` is not one of the spec's envs ({})", spec_envs.join(", "))));
                        }
                        if list[..j].contains(e) {
                            return Err(self.err(format!("{at}.envs[{j}]"), format!("`{e}` appears twice")));
                        }
                    }
                    Some(list.clone())
                }
            };
            Ok(Some(AlgorithmSpec { name: a.name.clone(), config, grid, budget, envs }))
        }

        /// The range checks of every field (the base configuration and each grid point's).
        fn config_checks(&self, at: &str, config: &AlgorithmConfig) -> Result<(), SpecError> {
            config.check().map_err(|e| self.err(format!("{at}.{}.{}", config.kind(), e.field), e.message))
        }

        /// Rewrites an error found on a grid point's configuration so that it points at the
        /// grid: `field` (where it is written) and `context` (what was set) before the
        /// original field and message.
        fn regrid(&self, e: SpecError, field: String, expected: &str, context: &str) -> SpecError {
            match e {
                SpecError::Invalid { field: f, message, .. } if f == expected => self.err(field, message),
                SpecError::Invalid { field: f, message, .. } => self.err(field, format!("{context}: {f}: {message}")),
                other => other,
            }
        }

        /// The grid's axes (keys in the order written, values as written), checked value by
        /// value, then every combination resolved and checked as a whole.
        fn grid(&self, at: &str, base: &AlgorithmConfig, raw: &raw::RawGrid) -> Result<Vec<ResolvedPoint>, SpecError> {
            let kind = base.kind();
            let lr_path = grid::lr_path(base);
            let mut axes: Vec<(String, Vec<GridValue>)> = Vec::new();
            for (key, list) in &raw.0 {
                let f = format!("{at}.grid.{key}");
                let Some(items) = list.as_sequence() else {
                    return Err(self.err(f, format!("give a list of values, e.g. `{key}: [0.1, 0.01]`")));
                };
                if items.is_empty() {
                    return Err(self.err(f, "the grid is empty; remove it or give values"));
                }
                if key != "lr" && Some(key.as_str()) == lr_path.as_deref() && raw.0.iter().any(|(k, _)| k == "lr") {
                    return Err(self.err(f, "`lr` is an alias of this field; grid over one of them"));
                }
                let mut values: Vec<GridValue> = Vec::new();
                for (k, item) in items.iter().enumerate() {
                    let fk = format!("{f}[{k}]");
                    let written = serde_yaml::to_string(item).unwrap_or_default().trim().to_string();
                    let Some(v) = GridValue::from_yaml(item) else {
                        return Err(self.err(fk, format!("grid values are numbers, strings or booleans, got `{written}`")));
                    };
                    let v = match key.as_str() {
                        "steps_per_update" => match v {
                            // Stored as a float, as before generic grids, so that cell hashes
                            // of existing results stay the same.
                            GridValue::Int(n) => GridValue::Float(self.positive(&fk, n)? as f64),
                            _ => return Err(self.err(fk, format!("must be a positive integer, got {v}"))),
                        },
                        "lr" => match v.as_f64() {
                            Some(x) => {
                                let mut c = base.clone();
                                *c.lr_mut() = x;
                                let expected = format!("{at}.{kind}.{}", lr_path.as_deref().unwrap_or("lr"));
                                self.config_checks(at, &c).map_err(|e| self.regrid(e, fk.clone(), &expected, &format!("with lr={v}")))?;
                                GridValue::Float(x)
                            }
                            None => return Err(self.err(fk, format!("must be a positive number, got `{v}`"))),
                        },
                        path => {
                            let c = self.with_field(&f, &fk, base, path, &v)?;
                            let expected = format!("{at}.{kind}.{path}");
                            self.config_checks(at, &c).map_err(|e| self.regrid(e, fk.clone(), &expected, &format!("with {path}={v}")))?;
                            v
                        }
                    };
                    if values.contains(&v) {
                        return Err(self.err(fk, format!("{v} appears twice")));
                    }
                    values.push(v);
                }
                axes.push((key.clone(), values));
            }
            // Every axis multiplies the points.
            let mut points = vec![GridPoint::default()];
            for (key, values) in &axes {
                points = points
                    .iter()
                    .flat_map(|p| {
                        values.iter().map(move |v| {
                            let mut q = p.clone();
                            q.0.push((key.clone(), v.clone()));
                            q
                        })
                    })
                    .collect();
            }
            let mut out = Vec::new();
            for point in points {
                let f = format!("{at}.grid");
                let context = format!("point [{}]", point.label());
                let mut config = base.clone();
                let mut steps_per_update = None;
                for (key, v) in &point.0 {
                    match (key.as_str(), v) {
                        ("steps_per_update", v) => steps_per_update = v.as_f64().map(|x| x as usize),
                        ("lr", v) => *config.lr_mut() = v.as_f64().expect("checked: a number"),
                        (path, v) => {
                            config = grid::with_field(&config, path, v)
                                .map_err(|e| self.err(&f, format!("{context}: {}", self.path_message(kind, path, v, e))))?;
                        }
                    }
                }
                self.config_checks(at, &config).map_err(|e| self.regrid(e, f.clone(), "", &context))?;
                out.push(ResolvedPoint { point, config, steps_per_update });
            }
            Ok(out)
        }

        /// `base` with one grid value set at `path`; errors at the key (`f`) or value (`fk`).
        fn with_field(&self, f: &str, fk: &str, base: &AlgorithmConfig, path: &str, v: &GridValue) -> Result<AlgorithmConfig, SpecError> {
            grid::with_field(base, path, v).map_err(|e| {
                let at = if matches!(e, grid::PathError::BadValue { .. }) { fk } else { f };
                self.err(at, self.path_message(base.kind(), path, v, e))
            })
        }

        fn path_message(&self, kind: &str, path: &str, v: &GridValue, e: grid::PathError) -> String {
            use grid::PathError;
            match e {
                PathError::NoSuchField { group, fields } => {
                    let of = if group.is_empty() { String::new() } else { format!(" of `{group}`") };
                    let known = if path.contains('.') || !group.is_empty() { "" } else { "; besides the fields, `lr` and `steps_per_update`" };
                    format!("no such field in the {kind} configuration (fields{of}: {}{known})", fields.join(", "))
                }
                PathError::NotAGroup { at } => format!("`{at}` is a single value in the {kind} configuration, not a group of fields"),
                PathError::NotSet { at } => {
                    format!("`{at}` is not set in this {kind} configuration; set it under `{kind}:` to grid over its fields")
                }
                PathError::BadValue { message } => format!("`{path}` cannot be {v}: {}", strip_location(&message)),
            }
        }
    }

    /// Deep-merges `over` into `base` (mappings key by key; anything else replaces).
    fn merge(base: &mut serde_yaml::Value, over: serde_yaml::Value) {
        match (base, over) {
            (serde_yaml::Value::Mapping(b), serde_yaml::Value::Mapping(o)) => {
                for (k, v) in o {
                    match b.get_mut(&k) {
                        Some(slot) => merge(slot, v),
                        None => {
                            b.insert(k, v);
                        }
                    }
                }
            }
            (b, o) => *b = o,
        }
    }

    pub(super) fn check(raw: RawSpec, name: String, path: &Path, text: &str, profile: &str) -> Result<Spec, SpecError> {
        let c = Checker { path, text };
        let prof = profile_of(&c, &raw, profile)?;
        if raw.title.trim().is_empty() {
            return Err(c.err("title", "the title is empty"));
        }
        envs(&c, &raw.envs)?;
        let (mut algorithms, unavailable) = algorithms(&c, &raw.algorithms, &raw.envs)?;
        if let Some(name) = &raw.engine {
            let engine = Engine::parse(name).map_err(|why| c.err("engine", why))?;
            if let Some(why) = engine.not_compiled_in() {
                return Err(c.err("engine", why));
            }
            set_engine(&mut algorithms, engine);
        }
        let (seeds, budget, paper_budget) = seeds_and_budget(&c, &raw, &algorithms, &prof, profile)?;
        let spaces = spaces(&c, &raw.envs, &algorithms)?;
        memory(&c, &spaces, &algorithms, &budget, &prof, profile)?;
        // Every other profile too: `plan` refuses a spec whose unselected profile is broken.
        for (name, other) in &raw.profiles {
            if name != profile {
                let (_, b, _) = seeds_and_budget(&c, &raw, &algorithms, other, name)?;
                memory(&c, &spaces, &algorithms, &b, other, name)?;
            }
        }
        batches(&c, &algorithms, &budget)?;
        let metrics = metrics(&c, &raw)?;
        for (i, m) in metrics.iter().enumerate() {
            if let Some(k) = m.best_seeds.filter(|&k| k > raw.seeds.len()) {
                return Err(c.err(
                    format!("metrics[{i}].best_seeds"),
                    format!("the best {k} seeds of {} (the spec's `seeds`): give at most {}", raw.seeds.len(), raw.seeds.len()),
                ));
            }
        }
        let curves = curves(&c, &raw)?;
        let grid_ranking = grid_ranking(&c, &raw, &metrics)?;
        let update_curves = update_curves(&c, &raw)?;
        let references = references(&c, &raw, &metrics)?;
        let paper = paper(&c, &raw, &algorithms, &unavailable, &metrics)?;
        let mut profiles: Vec<String> = raw.profiles.keys().cloned().collect();
        if !profiles.iter().any(|p| p == PAPER_PROFILE) {
            profiles.insert(0, PAPER_PROFILE.into());
        }
        Ok(Spec {
            name,
            path: path.into(),
            title: raw.title,
            reproduces: raw.reproduces,
            description: raw.description,
            profile: profile.to_string(),
            envs: raw.envs,
            algorithms,
            seeds,
            budget,
            metrics,
            paper,
            profiles,
            unavailable,
            paper_budget,
            curves,
            grid_ranking,
            update_curves,
            references,
            profile_sets: ProfileSets::of(&prof),
            engine_flag: None,
            source_sha256: String::new(),
        })
    }

    /// The selected profile's overrides.
    fn profile_of(c: &Checker, raw: &RawSpec, profile: &str) -> Result<raw::RawProfile, SpecError> {
        Ok(match raw.profiles.get(profile) {
            Some(p) => p.clone(),
            None if profile == PAPER_PROFILE => raw::RawProfile::default(),
            None => {
                let mut known: Vec<&str> = raw.profiles.keys().map(String::as_str).collect();
                if !known.contains(&PAPER_PROFILE) {
                    known.insert(0, PAPER_PROFILE);
                }
                return Err(c.err("profiles", format!("no profile `{profile}` (known: {})", known.join(", "))));
            }
        })
    }

    /// Registered, and each once.
    fn envs(c: &Checker, envs: &[String]) -> Result<(), SpecError> {
        if envs.is_empty() {
            return Err(c.err("envs", "no environments; name at least one Gymnasium id"));
        }
        for (i, id) in envs.iter().enumerate() {
            env::lookup(id).map_err(|e| c.err(format!("envs[{i}]"), e.to_string()))?;
            if envs[..i].contains(id) {
                return Err(c.err(format!("envs[{i}]"), format!("`{id}` appears twice")));
            }
        }
        Ok(())
    }

    /// Each row typed and checked; rows of algorithms not built yet set aside.
    fn algorithms(c: &Checker, rows: &[raw::RawAlgorithm], spec_envs: &[String]) -> Result<(Vec<AlgorithmSpec>, Vec<UnavailableAlgorithm>), SpecError> {
        if rows.is_empty() {
            return Err(c.err("algorithms", "no algorithms; give at least one"));
        }
        let mut algorithms = Vec::new();
        let mut unavailable: Vec<UnavailableAlgorithm> = Vec::new();
        for (i, a) in rows.iter().enumerate() {
            let twice = |name: &str| {
                algorithms.iter().any(|x: &AlgorithmSpec| x.name == name) || unavailable.iter().any(|x| x.name == name)
            };
            let parsed = c.algorithm(i, a, spec_envs)?;
            if twice(&a.name) {
                return Err(c.err(format!("algorithms[{i}].name"), format!("`{}` appears twice", a.name)));
            }
            match parsed {
                Some(alg) => algorithms.push(alg),
                None => {
                    let kind = a.configs.keys().next().expect("one key, checked").clone();
                    unavailable.push(UnavailableAlgorithm { name: a.name.clone(), kind });
                }
            }
        }
        Ok((algorithms, unavailable))
    }

    /// Seeds and budget with the profile's overrides, and the paper profile's budget.
    fn seeds_and_budget(c: &Checker, raw: &RawSpec, algorithms: &[AlgorithmSpec], prof: &raw::RawProfile, profile: &str) -> Result<(Vec<u64>, Budget, Budget), SpecError> {
        let pf = |field: &str| format!("profiles.{profile}.{field}");
        let seeds = match &prof.seeds {
            Some(s) => c.seeds(&pf("seeds"), s)?,
            None => c.seeds("seeds", &raw.seeds)?,
        };
        let pick = |over: Option<i64>, field: &str, base: i64, base_field: &str| -> Result<u64, SpecError> {
            match over {
                Some(v) => c.positive(&pf(field), v),
                None => c.positive(base_field, base),
            }
        };
        let budget = Budget {
            total_timesteps: pick(prof.total_timesteps, "total_timesteps", raw.budget.total_timesteps, "budget.total_timesteps")?,
            num_envs: pick(prof.num_envs, "num_envs", raw.budget.num_envs, "budget.num_envs")? as usize,
            steps_per_update: pick(prof.steps_per_update, "steps_per_update", raw.budget.steps_per_update, "budget.steps_per_update")?
                as usize,
            schedule_timesteps: raw.budget.schedule_timesteps.map(|v| c.positive("budget.schedule_timesteps", v)).transpose()?,
        };
        let paper_budget = Budget {
            total_timesteps: c.positive("budget.total_timesteps", raw.budget.total_timesteps)?,
            num_envs: c.positive("budget.num_envs", raw.budget.num_envs)? as usize,
            steps_per_update: c.positive("budget.steps_per_update", raw.budget.steps_per_update)? as usize,
            schedule_timesteps: budget.schedule_timesteps,
        };
        // Every row's schedules anneal over a horizon no shorter than its run.
        for (i, a) in algorithms.iter().enumerate() {
            let b = row_budget(a, budget, paper_budget, ProfileSets::of(prof));
            if b.schedule_horizon() < b.total_timesteps {
                // Only a horizon the spec writes can be shorter (the default never is).
                let field = if a.budget.schedule_timesteps.is_some() {
                    format!("algorithms[{i}].budget.schedule_timesteps")
                } else {
                    "budget.schedule_timesteps".to_string()
                };
                return Err(c.err(
                    field,
                    format!(
                        "row `{}` runs {} timesteps, past the {} its learning-rate schedules anneal over (budget.schedule_timesteps)",
                        a.name,
                        b.total_timesteps,
                        b.schedule_horizon()
                    ),
                ));
            }
        }
        Ok((seeds, budget, paper_budget))
    }

    /// A row's budget under a profile ([`Spec::row_budget`]): the row's fields over the
    /// spec's (the profile's win), and the horizon of its schedules: the row's own
    /// `schedule_timesteps`, else the spec's, else the row's budget as the spec writes it
    /// (the paper profile's), so that a profile's shorter run is the paper's run cut short
    /// (a profile's longer run anneals over itself).
    pub(super) fn row_budget(alg: &AlgorithmSpec, budget: Budget, paper_budget: Budget, profile_sets: ProfileSets) -> Budget {
        let mut b = alg.budget.apply(budget, profile_sets);
        let horizon = alg
            .budget
            .schedule_timesteps
            .or(budget.schedule_timesteps)
            .unwrap_or_else(|| alg.budget.total_timesteps.unwrap_or(paper_budget.total_timesteps).max(b.total_timesteps));
        b.schedule_timesteps = (horizon != b.total_timesteps).then_some(horizon);
        b
    }

    /// Every network on every environment's spaces (a conv torso needs images, ...); the
    /// spaces and time limit of each environment.
    fn spaces(c: &Checker, envs: &[String], algorithms: &[AlgorithmSpec]) -> Result<Vec<EnvShape>, SpecError> {
        let mut out = Vec::new();
        for id in envs {
            let e = env::make(id).map_err(|e| c.err("envs", e.to_string()))?;
            let (obs, act) = (e.observation_space(), e.action_space());
            let max_steps = env::lookup(id).map(|e| e.max_episode_steps).unwrap_or(0);
            out.push(EnvShape { id: id.clone(), obs: obs.clone(), act: act.clone(), max_steps });
            if let Some((i, config, err)) = super::first_unfit(algorithms, id, &obs, &act) {
                let field = match err {
                    crate::algo::AlgoError::UnsupportedObservations { .. } => "pipeline",
                    crate::algo::AlgoError::Net(_) => "network.architecture",
                    _ => "network",
                };
                return Err(c.err(format!("algorithms[{i}].{}.{field}", config.kind()), format!("{err} (on {id})")));
            }
        }
        Ok(out)
    }

    /// An environment's spaces, for the memory estimate.
    struct EnvShape {
        id: String,
        obs: env::ObservationSpace,
        act: env::ActionSpace,
        max_steps: usize,
    }

    /// Bytes this machine has (`MemTotal`), or 16 GiB when it cannot be read.
    fn machine_memory() -> u128 {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<u128>().ok()))
            .map(|kib| kib * 1024)
            .unwrap_or(16 << 30)
    }

    /// An estimate of the memory one cell needs, refused before anything is allocated when
    /// it exceeds the machine's: the batch (inputs, actions, distributions, every layer's
    /// activations, trace and gradients for each row) and 1 MiB per environment copy.
    fn memory(c: &Checker, shapes: &[EnvShape], algorithms: &[AlgorithmSpec], budget: &Budget, prof: &raw::RawProfile, profile: &str) -> Result<(), SpecError> {
        let limit = machine_memory();
        for e in shapes {
            for alg in algorithms.iter().filter(|a| a.runs_on(&e.id)) {
                let budget = &alg.budget.apply(*budget, ProfileSets::of(prof));
                for config in std::iter::once(&alg.config).chain(alg.grid.iter().map(|p| &p.config)) {
                    let settings = config.settings();
                    let pipe = settings.pipeline();
                    let input: Vec<usize> = match &e.obs {
                        env::ObservationSpace::Vector { .. } => vec![pipe.input_dim(&e.obs)],
                        env::ObservationSpace::Frames { channels, height, width } => vec![*channels, *height, *width],
                    };
                    let net = settings.network();
                    let layers = net.architecture.layers(&input, net.policy_activation).unwrap_or_default();
                    // Spatial size of each layer's input, walked through the convolutions.
                    let (mut h, mut w) = match input.as_slice() {
                        [_, h, w] => (*h, *w),
                        _ => (1, 1),
                    };
                    let layer_floats: u128 = layers
                        .iter()
                        .map(|l| match l {
                            crate::nets::LayerSpec::Linear { input, output, .. } => (input + output) as u128,
                            crate::nets::LayerSpec::Conv2d { in_channels, out_channels, kernel, stride, padding, .. } => {
                                // The patches of every output position, and the outputs.
                                let out = |x: usize| (x + 2 * padding).saturating_sub(*kernel) / stride.max(&1) + 1;
                                (h, w) = (out(h), out(w));
                                (h * w) as u128 * (in_channels * kernel * kernel + out_channels) as u128
                            }
                            crate::nets::LayerSpec::Flatten => 0,
                        })
                        .sum();
                    let input_floats: u128 = input.iter().product::<usize>() as u128;
                    let act = e.act.stored_dim() as u128;
                    let row_bytes = 4 * (2 * input_floats + 6 * layer_floats + 4 * act + 16);
                    let episode = if pipe.batch == crate::algo::BatchLayout::WholeEpisodes { e.max_steps as u128 } else { 0 };
                    let rows = budget.num_envs as u128 * (budget.steps_per_update as u128 + episode);
                    let need = rows.saturating_mul(row_bytes).saturating_add(budget.num_envs as u128 * (1 << 20));
                    if need > limit {
                        let gib = |b: u128| b as f64 / (1u128 << 30) as f64;
                        let field = if prof.num_envs.is_some() || prof.steps_per_update.is_some() {
                            format!("profiles.{profile}.num_envs")
                        } else {
                            "budget.num_envs".to_string()
                        };
                        return Err(c.err(
                            field,
                            format!(
                                "num_envs {} x steps_per_update {} on {} would need about {:.1} GiB for one cell's batch and environments, more than this machine's {:.1} GiB",
                                budget.num_envs, budget.steps_per_update, e.id, gib(need), gib(limit)
                            ),
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// Whole-episode batches need one environment copy.
    fn batches(c: &Checker, algorithms: &[AlgorithmSpec], budget: &Budget) -> Result<(), SpecError> {
        for (i, alg) in algorithms.iter().enumerate() {
            let batches = std::iter::once(&alg.config).chain(alg.grid.iter().map(|p| &p.config)).map(|c| c.settings().pipeline().batch);
            let whole = batches.into_iter().any(|b| b == crate::algo::BatchLayout::WholeEpisodes);
            if whole && budget.num_envs != 1 {
                let kind = alg.config.kind();
                return Err(c.err(
                    format!("algorithms[{i}].{kind}.pipeline.batch"),
                    format!("whole_episodes batches run one environment copy, but budget.num_envs is {}", budget.num_envs),
                ));
            }
        }
        Ok(())
    }

    fn metrics(c: &Checker, raw: &RawSpec) -> Result<Vec<MetricSpec>, SpecError> {
        let mut metrics = Vec::new();
        for (i, m) in raw.metrics.iter().enumerate() {
            let at = format!("metrics[{i}]");
            let (key, params) = match m.definition.iter().collect::<Vec<_>>().as_slice() {
                [one] => *one,
                [] => return Err(c.err(&at, format!("give exactly one metric definition (known: {})", crate::metric::known()))),
                _ => return Err(c.err(&at, "give exactly one metric definition, not several")),
            };
            let Some(entry) = crate::metric::lookup(key) else {
                return Err(c.err(
                    format!("{at}.{key}"),
                    format!("unknown field `{key}`, expected `name`, `best_seeds`, `min_effect` or a metric ({})", crate::metric::known()),
                ));
            };
            let kind = (entry.parse)(params.clone(), &raw.envs)
                .map_err(|e| c.err(format!("{at}.{key}.{}", e.field).trim_end_matches('.').to_string(), strip_location(&e.message)))?;
            let best_seeds = match m.best_seeds {
                Some(k) => Some(c.positive(&format!("{at}.best_seeds"), k)? as usize),
                None => None,
            };
            if metrics.iter().any(|x: &MetricSpec| x.name == m.name) {
                return Err(c.err(format!("{at}.name"), format!("metric `{}` appears twice", m.name)));
            }
            let min_effect = min_effect(c, &format!("{at}.min_effect"), m.min_effect.as_ref(), &raw.envs)?;
            metrics.push(MetricSpec { name: m.name.clone(), kind, best_seeds, min_effect });
        }
        Ok(metrics)
    }

    /// `min_effect`: one non-negative number for every environment, or one per environment
    /// (every environment named once, no other).
    fn min_effect(c: &Checker, at: &str, raw: Option<&raw::RawMinEffect>, envs: &[String]) -> Result<BTreeMap<String, f64>, SpecError> {
        let check = |field: String, v: f64| crate::check::non_negative("", v).map(|_| v).map_err(|e| c.err(field, e.message));
        Ok(match raw {
            None => BTreeMap::new(),
            Some(raw::RawMinEffect::All(v)) => {
                let v = check(at.to_string(), *v)?;
                envs.iter().map(|e| (e.clone(), v)).collect()
            }
            Some(raw::RawMinEffect::PerEnv(map)) => {
                if let Some(e) = envs.iter().find(|e| !map.contains_key(*e)) {
                    return Err(c.err(at, format!("no value for `{e}`; give one for every environment of the spec, or one number for all")));
                }
                let mut out = BTreeMap::new();
                for (e, v) in map {
                    if !envs.contains(e) {
                        return Err(c.err(format!("{at}.{e}"), format!("`{e}` is not one of the spec's envs")));
                    }
                    out.insert(e.clone(), check(format!("{at}.{e}"), *v)?);
                }
                out
            }
        })
    }

    fn curves(c: &Checker, raw: &RawSpec) -> Result<Option<CurveSpec>, SpecError> {
        Ok(match &raw.curves {
            Some(cv) => Some(CurveSpec {
                smoothing_episodes: c.positive("curves.smoothing_episodes", cv.smoothing_episodes)? as usize,
                points: match cv.points {
                    Some(p) => c.positive("curves.points", p)? as usize,
                    None => 100,
                },
                updates: cv.updates,
            }),
            None => None,
        })
    }

    fn grid_ranking(c: &Checker, raw: &RawSpec, metrics: &[MetricSpec]) -> Result<Option<String>, SpecError> {
        Ok(match &raw.grid_ranking {
            Some(g) => {
                if !metrics.iter().any(|m| m.name == g.metric) {
                    let known: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
                    return Err(c.err(
                        "grid_ranking.metric",
                        format!("`{}` is not one of the spec's metrics (known: {})", g.metric, known.join(", ")),
                    ));
                }
                Some(g.metric.clone())
            }
            None => metrics.first().map(|m| m.name.clone()),
        })
    }

    fn update_curves(c: &Checker, raw: &RawSpec) -> Result<Option<UpdateCurveSpec>, SpecError> {
        Ok(match &raw.update_curves {
            Some(u) => {
                if u.columns.is_empty() {
                    return Err(c.err("update_curves.columns", "no columns; name at least one column of updates.parquet"));
                }
                for (i, col) in u.columns.iter().enumerate() {
                    let f = format!("update_curves.columns[{i}]");
                    if col.trim().is_empty() {
                        return Err(c.err(f, "the column name is empty"));
                    }
                    if u.columns[..i].contains(col) {
                        return Err(c.err(f, format!("`{col}` appears twice")));
                    }
                }
                let x = match u.x.as_deref() {
                    None | Some("update") => UpdateAxis::Update,
                    Some("global_step") => UpdateAxis::GlobalStep,
                    Some(other) => return Err(c.err("update_curves.x", format!("unknown x axis `{other}` (known: update, global_step)"))),
                };
                Some(UpdateCurveSpec { columns: u.columns.clone(), x, log_y: u.log_y })
            }
            None => None,
        })
    }

    /// Other methods' numbers: a metric of the spec, environments of the spec, one finite
    /// number per column.
    fn references(c: &Checker, raw: &RawSpec, metrics: &[MetricSpec]) -> Result<Option<References>, SpecError> {
        let Some(r) = &raw.references else { return Ok(None) };
        let metric = metrics
            .iter()
            .position(|m| m.name == r.metric)
            .ok_or_else(|| c.err("references.metric", format!("`{}` is not one of the spec's metrics", r.metric)))?;
        if r.columns.is_empty() {
            return Err(c.err("references.columns", "name at least one method"));
        }
        for (env, values) in &r.rows {
            if !raw.envs.contains(env) {
                return Err(c.err(format!("references.rows.{env}"), format!("`{env}` is not one of the spec's envs")));
            }
            if values.len() != r.columns.len() {
                return Err(c.err(
                    format!("references.rows.{env}"),
                    format!("{} numbers for {} columns", values.len(), r.columns.len()),
                ));
            }
            if let Some(x) = values.iter().find(|x| !x.is_finite()) {
                return Err(c.err(format!("references.rows.{env}"), format!("{x} is not a finite number")));
            }
        }
        let rows = raw.envs.iter().filter_map(|e| r.rows.get(e).map(|v| (e.clone(), v.clone()))).collect();
        Ok(Some(References { caption: r.caption.clone(), metric, columns: r.columns.clone(), rows }))
    }

    /// The paper's numbers: rows of the spec's envs and algorithms (or grid rows), values of
    /// its metrics.
    fn paper(
        c: &Checker,
        raw: &RawSpec,
        algorithms: &[AlgorithmSpec],
        unavailable: &[UnavailableAlgorithm],
        metrics: &[MetricSpec],
    ) -> Result<BTreeMap<(String, String), BTreeMap<String, PaperValue>>, SpecError> {
        let mut paper = BTreeMap::new();
        for (i, row) in raw.paper.iter().enumerate() {
            let at = format!("paper[{i}]");
            if !raw.envs.contains(&row.env) {
                return Err(c.err(format!("{at}.env"), format!("`{}` is not one of the spec's envs", row.env)));
            }
            // An algorithm's name, or one grid row's label (`ACKTR [steps_per_update=1000]`).
            let is_row = |a: &AlgorithmSpec| {
                a.name == row.algorithm
                    || a.grid.iter().any(|p| !p.point.0.is_empty() && format!("{} [{}]", a.name, p.point.label()) == row.algorithm)
            };
            if !algorithms.iter().any(is_row) && !unavailable.iter().any(|a| a.name == row.algorithm) {
                return Err(c.err(
                    format!("{at}.algorithm"),
                    format!("`{}` is not one of the spec's algorithms or grid rows", row.algorithm),
                ));
            }
            let mut values = BTreeMap::new();
            for (metric, v) in &row.values {
                if !metrics.iter().any(|m| &m.name == metric) {
                    return Err(c.err(format!("{at}.values.{metric}"), format!("`{metric}` is not one of the spec's metrics")));
                }
                values.insert(
                    metric.clone(),
                    match v {
                        RawPaperValue::Number(x) if x.is_finite() => PaperValue::Number(*x),
                        RawPaperValue::Number(x) => {
                            return Err(c.err(format!("{at}.values.{metric}"), format!("{x} is not a finite number")));
                        }
                        RawPaperValue::Text(t) => PaperValue::Text(t.clone()),
                    },
                );
            }
            if paper.insert((row.env.clone(), row.algorithm.clone()), values).is_some() {
                return Err(c.err(&at, format!("a second row for ({}, {})", row.env, row.algorithm)));
            }
        }
        Ok(paper)
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
        let e = cpu.with_engine(Engine::Cuda).err().unwrap();
        assert!(e.contains("row `X` on Pendulum-v1") && e.contains("continuous actions"), "{e}");
        let ok = crate::spec::parse(&spec("a2c: {}", "CartPole-v1", ""), path, "paper").unwrap();
        assert!(ok.with_engine(Engine::Cuda).is_ok());
    }
}
