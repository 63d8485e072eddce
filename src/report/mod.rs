//! Reports: Polars reads every finished cell's logs and computes the spec's metrics per seed
//! ([`metrics`]); they are aggregated over seeds per (environment, algorithm row) with a
//! bootstrap interval, compared with the paper's numbers (a verdict per row), summarised
//! across tasks (IQM), and rendered ([`render`]) as `report.md`, `report.csv`, `report.tex` and, when the
//! spec asks for curves, figures ([`figures`]) in PNG and SVG. Grids with more than one
//! point are ranked ([`ranking`]; also `grid_ranking.csv`), and per-update columns are drawn
//! when the spec asks ([`updates`]). [`check`] compares a new run with reference results
//! ([`compare`]: the statistics), for `acktr check`.

pub mod check;
pub mod claims;
pub mod compare;
pub mod figures;
pub mod metrics;
pub mod ranking;
pub mod render;
pub mod reproductions;
pub mod updates;

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::run::{self, logs};
use crate::spec::{MetricKind, PaperValue, Spec};

pub use metrics::Aggregate;
pub use render::{fmt_num, render_csv, render_grid_csv, render_latex, render_markdown};

/// Errors while building a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Polars { path: PathBuf, source: PolarsError },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: cannot draw: {why}", path.display())]
    Plot { path: PathBuf, why: String },
}

/// How our number compares with the paper's.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The paper's number lies in our 95% interval.
    Within,
    /// Our interval lies above the paper's number.
    Above,
    /// Our interval lies below the paper's number.
    Below,
    /// One seed only: no interval to judge with.
    NoInterval,
    /// The profile's budget is not the paper's.
    NotComparable,
    /// No number from us yet, or none from the paper.
    Nothing,
}

impl Verdict {
    /// Plain words for reports.
    pub fn text(&self) -> &'static str {
        match self {
            Verdict::Within => "within the interval",
            Verdict::Above => "above",
            Verdict::Below => "below",
            Verdict::NoInterval => "no interval (one seed)",
            Verdict::NotComparable => "not comparable at this profile's budget",
            Verdict::Nothing => "—",
        }
    }
}

/// One metric of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricCell {
    pub agg: Aggregate,
    /// A missing value means "never reached" (threshold metrics: printed N/A) rather than
    /// "not enough episodes yet" (printed —).
    pub missing_is_na: bool,
    /// The paper's number.
    pub paper: Option<PaperValue>,
    pub verdict: Verdict,
}

/// One (environment, algorithm) row.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRow {
    pub env: String,
    pub algorithm: String,
    pub seeds_finished: usize,
    pub seeds_total: usize,
    pub metrics: Vec<MetricCell>,
}

/// The interquartile mean of paper-normalised scores across tasks, per algorithm and metric.
#[derive(Debug, Clone, PartialEq)]
pub struct AcrossTasks {
    pub algorithm: String,
    pub metric: String,
    pub tasks: usize,
    pub runs: usize,
    pub iqm: f64,
    pub ci: (f64, f64),
}

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub spec: String,
    pub title: String,
    pub reproduces: String,
    pub profile: String,
    pub metrics: Vec<String>,
    pub rows: Vec<ReportRow>,
    pub across_tasks: Vec<AcrossTasks>,
    pub cells_finished: usize,
    pub cells_total: usize,
    /// The plan's cells without finished results: `(plan index, hash, env, row label, seed)`.
    pub missing: Vec<(usize, String, String, String, u64)>,
    /// Timesteps per cell at this profile, and in the spec as written (the paper's budget).
    pub budget_timesteps: u64,
    pub paper_budget_timesteps: u64,
    /// Rows with a learning-rate schedule that anneals over a horizon other than their run
    /// (rows with constant rates compute the same whatever the horizon):
    /// `(row, timesteps run, schedule horizon)`.
    pub schedules: Vec<(String, u64, u64)>,
    /// Figure files written beside the report (relative names), if any.
    pub figures: Vec<String>,
    /// What the learning-curve figures draw (smoothing, line, band), when there are any.
    pub figure_caption: Option<String>,
    /// Rankings of the grid points, when some algorithm has a grid of several points.
    pub grid_rankings: Option<ranking::GridRankings>,
    /// Remarks on what the figures leave out (e.g. a column an algorithm does not log).
    pub notes: Vec<String>,
    /// Other methods' published numbers beside ours (`references:` of the spec).
    pub references: Option<crate::spec::References>,
    /// The builds and machines that made the finished cells, with how many each
    /// ([`made_by`]), most first.
    pub made_by: Vec<(String, usize)>,
    /// The paper's claims (`claims:` of the spec), decided on our seeds.
    pub claims: Vec<claims::ClaimResult>,
}

impl Report {
    /// Whether some cells have not finished.
    pub fn partial(&self) -> bool {
        self.cells_finished < self.cells_total
    }
}

fn pe(path: &Path) -> impl FnOnce(PolarsError) -> ReportError + '_ {
    move |source| ReportError::Polars { path: path.into(), source }
}

/// One finished cell's logs.
pub struct CellLogs {
    pub hash: String,
    pub env: String,
    pub algorithm: String,
    pub seed: u64,
    pub episodes: DataFrame,
    pub updates: Option<DataFrame>,
    /// Which build on which machine made it ([`made_by`]).
    pub made_by: String,
}

/// "build 7ee584b on AMD EPYC" from a cell's `provenance.json` (`build 7ee584b+dirty`
/// when the build's sources differed from its commit); cells from before builds were
/// recorded name the checkout instead: "checkout f1870af (dirty) on ...".
pub fn made_by(prov: &serde_json::Value) -> String {
    let short = |c: &str| c.chars().take(7).collect::<String>();
    let cpu = prov["machine"]["cpu_model"].as_str().unwrap_or("an unknown CPU");
    match prov["build_commit"].as_str() {
        Some(c) => {
            let dirty = match prov["build_dirty"].as_str() {
                Some("false") => "",
                Some("true") => "+dirty",
                _ => "+unknown",
            };
            format!("build {}{dirty} on {cpu}", short(c))
        }
        None => format!(
            "checkout {}{} on {cpu}",
            short(prov["git_commit"].as_str().unwrap_or("unknown")),
            if prov["git_dirty"].as_bool().unwrap_or(false) { " (dirty)" } else { "" }
        ),
    }
}

/// A cell's `provenance.json`, parsed (Null when it does not read).
fn read_provenance(dir: &Path) -> serde_json::Value {
    std::fs::read_to_string(dir.join("provenance.json")).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or_default()
}

/// Reads the finished cells of `spec` under `root`, in plan order.
pub fn read_cells(spec: &Spec, root: &Path) -> Result<Vec<CellLogs>, ReportError> {
    let needs_updates = spec.metrics.iter().any(|m| metrics::reads_updates(&m.kind)) || spec.update_curves.is_some();
    let mut out = Vec::new();
    for cell in spec.cells() {
        if !run::is_finished(root, &cell) {
            continue;
        }
        let dir = run::cell_dir(root, &cell);
        let path = dir.join("episodes.parquet");
        let episodes = logs::read_parquet(&path)
            .and_then(|df| df.sort(["episode"], SortMultipleOptions::default()))
            .map_err(pe(&path))?;
        let updates = if needs_updates {
            let path = dir.join("updates.parquet");
            Some(logs::read_parquet(&path).map_err(pe(&path))?)
        } else {
            None
        };
        let made_by = made_by(&read_provenance(&dir));
        out.push(CellLogs { hash: cell.hash.clone(), env: cell.env.clone(), algorithm: cell.row_label(), seed: cell.seed, episodes, updates, made_by });
    }
    Ok(out)
}

/// The value of `kind` for one cell.
fn cell_value(kind: &MetricKind, logs: &CellLogs, path: &Path) -> Result<Option<f64>, ReportError> {
    let frame = if metrics::reads_updates(kind) { logs.updates.as_ref() } else { Some(&logs.episodes) };
    let Some(frame) = frame else { return Ok(None) };
    let out = frame
        .clone()
        .lazy()
        .select([metrics::per_seed_expr(kind, &logs.env).alias("value")])
        .collect()
        .map_err(pe(path))?;
    let col = out.column("value").map_err(pe(path))?.cast(&DataType::Float64).map_err(pe(path))?;
    Ok(col.f64().map_err(pe(path))?.get(0).filter(|v| v.is_finite()))
}

fn verdict(spec: &Spec, kind: &MetricKind, agg: &Aggregate, paper: &Option<PaperValue>) -> Verdict {
    let Some(paper) = paper else { return Verdict::Nothing };
    if agg.n_seeds == 0 {
        return Verdict::Nothing;
    }
    if spec.budget.total_timesteps != spec.paper_budget.total_timesteps {
        return Verdict::NotComparable;
    }
    let higher_better = kind.higher_is_better();
    match (paper, agg.value) {
        // The paper printed N/A (never reached) and so did we.
        (PaperValue::Text(_), None) => Verdict::Within,
        (PaperValue::Text(_), Some(_)) => {
            if higher_better {
                Verdict::Nothing
            } else {
                Verdict::Below
            }
        }
        (PaperValue::Number(_), None) => {
            if higher_better {
                Verdict::Nothing
            } else {
                Verdict::Above
            }
        }
        (PaperValue::Number(p), Some(_)) => match agg.ci {
            None => Verdict::NoInterval,
            Some((lo, _)) if *p < lo => Verdict::Above,
            Some((_, hi)) if *p > hi => Verdict::Below,
            Some(_) => Verdict::Within,
        },
    }
}

/// Reads the finished cells and builds the report (no files written).
pub fn build(spec: &Spec, root: &Path) -> Result<Report, ReportError> {
    build_from(spec, &read_cells(spec, root)?, &run::spec_dir(root, spec))
}

/// Builds the report from cells already read (`dir` names the spec's results in errors).
fn build_from(spec: &Spec, cells: &[CellLogs], dir: &Path) -> Result<Report, ReportError> {
    let per_seed = per_seed_values(spec, cells, dir)?;
    let plan = spec.cells();
    let mut rows = Vec::new();
    // (row label, algorithm name) of every runnable row, in report order, once each.
    let mut labels: Vec<(String, String)> = Vec::new();
    let ranking_metric = spec.grid_ranking.as_ref().and_then(|name| spec.metrics.iter().position(|m| &m.name == name));
    let mut per_env_rankings = Vec::new();
    for env in &spec.envs {
        for alg in spec.algorithms.iter().filter(|a| a.runs_on(env)) {
            // (grid point label, aggregate of the ranking metric, seeds in the plan).
            let mut ranked_points = Vec::new();
            for resolved in &alg.grid {
                let point = &resolved.point;
                let label = plan
                    .iter()
                    .find(|c| &c.env == env && c.algorithm == alg.name && c.grid == *point)
                    .map(|c| c.row_label())
                    .unwrap_or_else(|| alg.name.clone());
                if !labels.iter().any(|(l, _)| *l == label) {
                    labels.push((label.clone(), alg.name.clone()));
                }
                let seeds_finished = cells.iter().filter(|c| &c.env == env && c.algorithm == label).count();
                // The grid row's own paper numbers, else the algorithm's.
                let metrics = row_metrics(spec, &per_seed, env, &label, &alg.name);
                if let Some(k) = ranking_metric {
                    ranked_points.push((point.label(), metrics[k].agg.clone(), spec.seeds.len()));
                }
                rows.push(ReportRow {
                    env: env.clone(),
                    algorithm: label,
                    seeds_finished,
                    seeds_total: spec.seeds.len(),
                    metrics,
                });
            }
            if let (Some(k), true) = (ranking_metric, ranked_points.len() > 1) {
                per_env_rankings.push(ranking::rank(env, &alg.name, ranked_points, spec.metrics[k].kind.higher_is_better()));
            }
        }
    }
    let across_tasks = across_tasks(spec, &labels, &per_seed);
    let claims = claims::decide(spec, &per_seed);
    let grid_rankings = ranking_metric.filter(|_| !per_env_rankings.is_empty()).map(|k| grid_rankings(spec, k, per_env_rankings));
    Ok(Report {
        spec: spec.name.clone(),
        title: spec.title.clone(),
        reproduces: spec.reproduces.clone(),
        profile: spec.profile.clone(),
        metrics: spec.metrics.iter().map(|m| m.name.clone()).collect(),
        rows,
        across_tasks,
        cells_finished: cells.len(),
        cells_total: plan.len(),
        missing: missing_cells(&plan, cells),
        budget_timesteps: spec.budget.total_timesteps,
        paper_budget_timesteps: spec.paper_budget.total_timesteps,
        schedules: spec
            .algorithms
            .iter()
            .filter(|a| std::iter::once(&a.config).chain(a.grid.iter().map(|p| &p.config)).any(|c| c.settings().anneals()))
            .map(|a| (a.name.clone(), spec.row_budget(a)))
            .filter(|(_, b)| b.schedule_timesteps.is_some())
            .map(|(name, b)| (name, b.total_timesteps, b.schedule_horizon()))
            .collect(),
        figures: Vec::new(),
        figure_caption: None,
        grid_rankings,
        notes: Vec::new(),
        references: spec.references.clone(),
        made_by: made_by_counts(cells),
        claims,
    })
}

/// Per-seed metric values: (env, row label, metric index) -> values in seed order.
type PerSeed = std::collections::BTreeMap<(String, String, usize), Vec<Option<f64>>>;

/// Every finished cell's value of every metric, by row and metric, in seed order.
fn per_seed_values(spec: &Spec, cells: &[CellLogs], dir: &Path) -> Result<PerSeed, ReportError> {
    let mut per_seed: PerSeed = Default::default();
    for c in cells {
        for (k, m) in spec.metrics.iter().enumerate() {
            let v = cell_value(&m.kind, c, dir)?;
            per_seed.entry((c.env.clone(), c.algorithm.clone(), k)).or_default().push(v);
        }
    }
    Ok(per_seed)
}

/// One row's metrics over its seeds, beside the paper's numbers: the grid row's own
/// (`label`), else its algorithm's (`algorithm`).
fn row_metrics(spec: &Spec, per_seed: &PerSeed, env: &str, label: &str, algorithm: &str) -> Vec<MetricCell> {
    let paper = spec.paper.get(&(env.to_string(), label.to_string())).or_else(|| spec.paper.get(&(env.to_string(), algorithm.to_string())));
    spec.metrics
        .iter()
        .enumerate()
        .map(|(k, m)| {
            let values = per_seed.get(&(env.to_string(), label.to_string(), k)).cloned().unwrap_or_default();
            let agg = metrics::aggregate(&values, m.best_seeds, m.kind.higher_is_better());
            let paper = paper.and_then(|p| p.get(&m.name).cloned());
            let verdict = verdict(spec, &m.kind, &agg, &paper);
            MetricCell { agg, paper, verdict, missing_is_na: !m.kind.higher_is_better() }
        })
        .collect()
}

/// The planned cells not among the finished ones: (index, hash, env, row, seed).
fn missing_cells(plan: &[crate::spec::Cell], cells: &[CellLogs]) -> Vec<(usize, String, String, String, u64)> {
    let finished: std::collections::HashSet<&str> = cells.iter().map(|c| c.hash.as_str()).collect();
    plan.iter()
        .enumerate()
        .filter(|(_, p)| !finished.contains(p.hash.as_str()))
        .map(|(i, p)| (i, p.hash.clone(), p.env.clone(), p.row_label(), p.seed))
        .collect()
}

/// Who made the cells (checkout and machine), most cells first.
fn made_by_counts(cells: &[CellLogs]) -> Vec<(String, usize)> {
    let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
    for c in cells {
        *counts.entry(c.made_by.as_str()).or_default() += 1;
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// Across tasks: per algorithm row and higher-is-better metric with paper numbers, the
/// stratified IQM of paper-normalised scores.
fn across_tasks(spec: &Spec, labels: &[(String, String)], per_seed: &PerSeed) -> Vec<AcrossTasks> {
    let mut out = Vec::new();
    for (k, m) in spec.metrics.iter().enumerate() {
        if !m.kind.higher_is_better() || metrics::reads_updates(&m.kind) {
            continue;
        }
        for (label, alg_name) in labels {
            let mut tasks = Vec::new();
            for env in &spec.envs {
                let paper = spec.paper.get(&(env.clone(), label.clone())).or_else(|| spec.paper.get(&(env.clone(), alg_name.clone())));
                let Some(PaperValue::Number(p)) = paper.and_then(|v| v.get(&m.name)) else {
                    continue;
                };
                let scores: Vec<f64> = per_seed
                    .get(&(env.clone(), label.clone(), k))
                    .map(|v| v.iter().flatten().map(|x| metrics::paper_normalised(*x, *p)).collect())
                    .unwrap_or_default();
                tasks.push(scores);
            }
            let runs = tasks.iter().map(Vec::len).sum();
            let n_tasks = tasks.iter().filter(|t| !t.is_empty()).count();
            if let Some((iqm, ci)) = metrics::iqm_stratified(&tasks) {
                out.push(AcrossTasks { algorithm: label.clone(), metric: m.name.clone(), tasks: n_tasks, runs, iqm, ci });
            }
        }
    }
    out
}

/// The grid rankings on metric `k`: per environment, and combined across environments.
fn grid_rankings(spec: &Spec, k: usize, per_env: Vec<ranking::GridRanking>) -> ranking::GridRankings {
    let mut combined = Vec::new();
    if spec.envs.len() > 1 {
        for alg in spec.algorithms.iter().filter(|a| a.grid.len() > 1) {
            let per: Vec<&ranking::GridRanking> = per_env.iter().filter(|g| g.algorithm == alg.name).collect();
            let labels: Vec<String> = alg.grid.iter().map(|r| r.point.label()).collect();
            combined.push(ranking::combine(&alg.name, &labels, &per));
        }
    }
    ranking::GridRankings {
        metric: spec.metrics[k].name.clone(),
        higher_is_better: spec.metrics[k].kind.higher_is_better(),
        per_env,
        combined,
    }
}

/// Writes `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<(), ReportError> {
    run::write_atomic(path, contents).map_err(|e| match e {
        run::RunError::Io { path, source } => ReportError::Io { path, source },
        other => ReportError::Io { path: path.into(), source: std::io::Error::other(other.to_string()) },
    })
}

/// Builds the report and writes `report.md`, `report.csv`, `report.tex` and the figures
/// into the spec's results.
pub fn write(spec: &Spec, root: &Path) -> Result<(Report, PathBuf), ReportError> {
    let dir = run::spec_dir(root, spec);
    let cells = read_cells(spec, root)?;
    let mut report = build_from(spec, &cells, &dir)?;
    std::fs::create_dir_all(&dir).map_err(|source| ReportError::Io { path: dir.clone(), source })?;
    // Report files half-written by a killed `report` or `reproduce`.
    run::remove_stale_temporaries(&dir).map_err(|e| ReportError::Io { path: dir.clone(), source: std::io::Error::other(e.to_string()) })?;
    if let Some(curves) = &spec.curves {
        report.figures = figures::write_curves(spec, curves, &cells, &dir)?;
        report.figure_caption = Some(format!(
            "Learning curves: each seed's episode returns smoothed by a trailing mean over {} episodes and read at {} points along the x axis; the line is the mean over seeds, the band one standard deviation over seeds (population, ddof 0) either side; a seed counts until one point past the end of its run, so on the wall-clock axis each run's curve ends where it ended.",
            curves.smoothing_episodes, curves.points
        ));
    }
    if let Some(uc) = &spec.update_curves {
        let (files, notes) = updates::write_update_curves(spec, uc, &cells, &dir)?;
        report.figures.extend(files);
        report.notes.extend(notes);
    }
    if let Some(csv) = render_grid_csv(&report) {
        write_atomic(&dir.join("grid_ranking.csv"), csv.as_bytes())?;
    }
    if !report.claims.is_empty() {
        write_atomic(&dir.join("claims.csv"), render::render_claims_csv(&report).as_bytes())?;
    }
    let md = dir.join("report.md");
    write_atomic(&dir.join("report.csv"), render_csv(&report).as_bytes())?;
    write_atomic(&dir.join("report.tex"), render_latex(&report).as_bytes())?;
    write_atomic(&md, render_markdown(&report).as_bytes())?;
    Ok((report, md))
}
