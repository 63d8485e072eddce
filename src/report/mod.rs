//! Reports: Polars reads every finished cell's logs and computes the spec's metrics per seed
//! ([`metrics`]); they are aggregated over seeds per (environment, algorithm row) with a
//! bootstrap interval, compared with the paper's numbers (a verdict per row), summarised
//! across tasks (IQM), and rendered as `report.md`, `report.csv`, `report.tex` and, when the
//! spec asks for curves, figures ([`figures`]) in PNG and SVG. Grids with more than one
//! point are ranked ([`ranking`]; also `grid_ranking.csv`), and per-update columns are drawn
//! when the spec asks ([`updates`]). [`check`] compares a new run with reference results
//! ([`compare`]: the statistics), for `acktr check`.

pub mod check;
pub mod compare;
pub mod figures;
pub mod metrics;
pub mod ranking;
pub mod updates;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::run::{self, logs};
use crate::spec::{MetricKind, PaperValue, Spec};

pub use metrics::Aggregate;

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
    /// The algorithm is not built.
    NotAvailable,
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
            Verdict::NotAvailable => "not available",
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
    /// False for an algorithm this build does not have (TRPO): no cells, "not available".
    pub available: bool,
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
    /// Rows whose learning-rate schedules anneal over a horizon other than their run:
    /// `(row, timesteps run, schedule horizon)`.
    pub schedules: Vec<(String, u64, u64)>,
    /// Figure files written beside the report (relative names), if any.
    pub figures: Vec<String>,
    /// Rankings of the grid points, when some algorithm has a grid of several points.
    pub grid_rankings: Option<ranking::GridRankings>,
    /// Remarks on what the figures leave out (e.g. a column an algorithm does not log).
    pub notes: Vec<String>,
    /// Other methods' published numbers beside ours (`references:` of the spec).
    pub references: Option<crate::spec::References>,
    /// The builds and machines that made the finished cells, with how many each
    /// ([`made_by`]), most first.
    pub made_by: Vec<(String, usize)>,
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
    // Per-seed values: (env, label, metric index) -> values in seed order.
    let mut per_seed: PerSeed = Default::default();
    for c in cells {
        for (k, m) in spec.metrics.iter().enumerate() {
            let v = cell_value(&m.kind, c, dir)?;
            per_seed.entry((c.env.clone(), c.algorithm.clone(), k)).or_default().push(v);
        }
    }
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
                let paper = spec.paper.get(&(env.clone(), label.clone())).or_else(|| spec.paper.get(&(env.clone(), alg.name.clone())));
                let metrics = spec
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(k, m)| {
                        let values = per_seed.get(&(env.clone(), label.clone(), k)).cloned().unwrap_or_default();
                        let agg = metrics::aggregate(&values, m.best_seeds, m.kind.higher_is_better());
                        let paper = paper.and_then(|p| p.get(&m.name).cloned());
                        let verdict = verdict(spec, &m.kind, &agg, &paper);
                        MetricCell { agg, paper, verdict, missing_is_na: !m.kind.higher_is_better() }
                    })
                    .collect::<Vec<MetricCell>>();
                if let Some(k) = ranking_metric {
                    ranked_points.push((point.label(), metrics[k].agg.clone(), spec.seeds.len()));
                }
                rows.push(ReportRow {
                    env: env.clone(),
                    algorithm: label,
                    available: true,
                    seeds_finished,
                    seeds_total: spec.seeds.len(),
                    metrics,
                });
            }
            if let (Some(k), true) = (ranking_metric, ranked_points.len() > 1) {
                per_env_rankings.push(ranking::rank(env, &alg.name, ranked_points, spec.metrics[k].kind.higher_is_better()));
            }
        }
        for alg in &spec.unavailable {
            rows.push(unavailable_row(spec, env, &alg.name));
        }
    }
    let across_tasks = across_tasks(spec, &labels, &per_seed);
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
        missing: {
            let finished: std::collections::HashSet<&str> = cells.iter().map(|c| c.hash.as_str()).collect();
            plan.iter()
                .enumerate()
                .filter(|(_, p)| !finished.contains(p.hash.as_str()))
                .map(|(i, p)| (i, p.hash.clone(), p.env.clone(), p.row_label(), p.seed))
                .collect()
        },
        budget_timesteps: spec.budget.total_timesteps,
        paper_budget_timesteps: spec.paper_budget.total_timesteps,
        schedules: spec
            .algorithms
            .iter()
            .map(|a| (a.name.clone(), spec.row_budget(a)))
            .filter(|(_, b)| b.schedule_timesteps.is_some())
            .map(|(name, b)| (name, b.total_timesteps, b.schedule_horizon()))
            .collect(),
        figures: Vec::new(),
        grid_rankings,
        notes: Vec::new(),
        references: spec.references.clone(),
        made_by: {
            let mut counts: std::collections::BTreeMap<&str, usize> = Default::default();
            for c in cells {
                *counts.entry(c.made_by.as_str()).or_default() += 1;
            }
            let mut v: Vec<(String, usize)> = counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
            v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            v
        },
    })
}

/// Per-seed metric values: (env, row label, metric index) -> values in seed order.
type PerSeed = std::collections::BTreeMap<(String, String, usize), Vec<Option<f64>>>;

/// The row of an algorithm that is not built yet: the paper's numbers, no runs.
fn unavailable_row(spec: &Spec, env: &str, name: &str) -> ReportRow {
    let paper = spec.paper.get(&(env.to_string(), name.to_string()));
    ReportRow {
        env: env.to_string(),
        algorithm: name.to_string(),
        available: false,
        seeds_finished: 0,
        seeds_total: spec.seeds.len(),
        metrics: spec
            .metrics
            .iter()
            .map(|m| MetricCell {
                agg: metrics::aggregate(&[], None, true),
                paper: paper.and_then(|p| p.get(&m.name).cloned()),
                verdict: Verdict::NotAvailable,
                missing_is_na: !m.kind.higher_is_better(),
            })
            .collect(),
    }
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

/// Decimals suited to a number's size: 0 from 1000, 1 from 10, else 3.
fn decimals(x: f64) -> usize {
    match x.abs() {
        a if a >= 1000.0 => 0,
        a if a >= 10.0 => 1,
        _ => 3,
    }
}

/// A number with precision suited to its size.
pub fn fmt_num(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.*}", decimals(x))
    } else {
        format!("{x}")
    }
}

/// `mean ± std` (the value's precision), "N/A" where a needed seed has no value.
fn fmt_ours(row: &ReportRow, m: &MetricCell) -> String {
    if !row.available {
        return "not available".into();
    }
    match (m.agg.value, m.agg.std) {
        (Some(v), Some(s)) => format!("{} ± {:.*}", fmt_num(v), decimals(v), s),
        (Some(v), None) => fmt_num(v),
        (None, _) if m.agg.n_seeds > 0 && m.missing_is_na => "N/A".into(),
        _ => "—".into(),
    }
}

fn fmt_ci(m: &MetricCell) -> String {
    match m.agg.ci {
        Some((lo, hi)) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
        None => "—".into(),
    }
}

/// The paper's number as the paper prints it (the spec transcribes it; the shortest decimal
/// that reads back as the same number keeps every digit written: 13581.4, 904).
fn fmt_paper(p: &Option<PaperValue>) -> String {
    match p {
        Some(PaperValue::Number(x)) => format!("{x}"),
        Some(PaperValue::Text(t)) => t.clone(),
        None => "—".into(),
    }
}

/// The Markdown report.
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", r.title);
    let _ = writeln!(
        s,
        "Reproduces: {} · spec `{}` · profile `{}` · {}/{} cells finished · {} timesteps per cell\n",
        r.reproduces, r.spec, r.profile, r.cells_finished, r.cells_total, r.budget_timesteps
    );
    if !r.made_by.is_empty() {
        let parts: Vec<String> = r.made_by.iter().map(|(who, n)| format!("{who} ({n})")).collect();
        let _ = writeln!(s, "Cells made by: {}.\n", parts.join("; "));
    }
    if r.partial() {
        let _ = writeln!(
            s,
            "> **Partial report:** {} of {} cells have not finished; rows show the seeds that have.\n",
            r.cells_total - r.cells_finished,
            r.cells_total
        );
    }
    if r.budget_timesteps != r.paper_budget_timesteps {
        let _ = writeln!(
            s,
            "> **Not the paper's budget:** profile `{}` runs {} timesteps per cell, the paper {}; the paper's numbers are shown for reference only.\n",
            r.profile, r.budget_timesteps, r.paper_budget_timesteps
        );
    }
    if !r.schedules.is_empty() {
        let rows: Vec<String> = r.schedules.iter().map(|(name, run, horizon)| format!("{name} runs {run} of {horizon} timesteps")).collect();
        let _ = writeln!(
            s,
            "> **A run cut short:** learning-rate schedules anneal over the experiment's horizon, not the run: {}.\n",
            rows.join("; ")
        );
    }
    for (k, name) in r.metrics.iter().enumerate() {
        let _ = writeln!(s, "## {name}\n");
        let _ = writeln!(s, "| Environment | Algorithm | Seeds | Paper | Ours | 95% CI | Verdict |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---|");
        for row in &r.rows {
            let m = &row.metrics[k];
            let _ = writeln!(
                s,
                "| {} | {} | {}/{} | {} | {} | {} | {} |",
                row.env,
                row.algorithm,
                row.seeds_finished,
                row.seeds_total,
                fmt_paper(&m.paper),
                fmt_ours(row, m),
                fmt_ci(m),
                m.verdict.text()
            );
        }
        s.push('\n');
    }
    if let Some(refs) = &r.references {
        render_references_markdown(&mut s, r, refs);
    }
    if !r.across_tasks.is_empty() {
        let _ = writeln!(s, "## Across tasks\n");
        let _ = writeln!(s, "Interquartile mean of paper-normalised per-seed scores (ours / paper; paper / ours where the paper's number is negative; 1 = the paper), 95% task-stratified bootstrap interval (rliable).\n");
        let _ = writeln!(s, "| Algorithm | Metric | Tasks | Runs | IQM | 95% CI |");
        let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
        for a in &r.across_tasks {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.3} | [{:.3}, {:.3}] |",
                a.algorithm, a.metric, a.tasks, a.runs, a.iqm, a.ci.0, a.ci.1
            );
        }
        s.push('\n');
    }
    if let Some(g) = &r.grid_rankings {
        render_rankings_markdown(&mut s, g);
    }
    if !r.figures.is_empty() {
        let _ = writeln!(s, "## Figures\n");
        for f in r.figures.iter().filter(|f| f.ends_with(".png")) {
            let svg = f.trim_end_matches(".png").to_string() + ".svg";
            let _ = writeln!(s, "![{f}]({f}) ([SVG]({svg}))\n");
        }
    }
    for note in &r.notes {
        let _ = writeln!(s, "> **Note:** {note}\n");
    }
    if !r.missing.is_empty() {
        let _ = writeln!(s, "## Missing cells\n");
        let profile = if r.profile == crate::spec::PAPER_PROFILE { String::new() } else { format!(" --profile {}", r.profile) };
        let _ = writeln!(s, "Not finished when this report was built (`acktr status {}{profile}` says where each stands):\n", r.spec);
        let _ = writeln!(s, "| Index | Hash | Environment | Algorithm | Seed |");
        let _ = writeln!(s, "|---:|---|---|---|---:|");
        for (i, hash, env, alg, seed) in &r.missing {
            let _ = writeln!(s, "| {i} | `{hash}` | {env} | {alg} | {seed} |");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Ours: mean ± sample standard deviation (ddof 1) over the seeds the metric uses (the best ones where the spec says so); 95% CI: percentile bootstrap over seeds ({} resamples). Verdict: where the paper's number lies relative to that interval. N/A: a needed seed never reached the threshold; —: no value (e.g. fewer episodes than the window).",
        metrics::BOOTSTRAP_RESAMPLES
    );
    s
}

/// Other methods' numbers (`references:`), then the paper's and our value of the same
/// metric for every algorithm row, one line per environment.
fn render_references_markdown(s: &mut String, r: &Report, refs: &crate::spec::References) {
    let mut algs: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !algs.contains(&row.algorithm.as_str()) {
            algs.push(&row.algorithm);
        }
    }
    let _ = writeln!(s, "## {}\n", refs.caption);
    let _ = writeln!(s, "Metric `{}`; the published columns as the paper prints them.\n", r.metrics[refs.metric]);
    let mut head = String::from("| Environment |");
    let mut rule = String::from("|---|");
    for c in &refs.columns {
        head += &format!(" {c} |");
        rule += "---:|";
    }
    for a in &algs {
        head += &format!(" {a} (paper) | {a} (ours) |");
        rule += "---:|---:|";
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for (env, values) in &refs.rows {
        let mut line = format!("| {env} |");
        for v in values {
            line += &format!(" {} |", v);
        }
        for a in &algs {
            match r.rows.iter().find(|row| &row.env == env && row.algorithm == *a) {
                Some(row) => {
                    let m = &row.metrics[refs.metric];
                    line += &format!(" {} | {} |", fmt_paper(&m.paper), fmt_ours(row, m));
                }
                None => line += " — | — |",
            }
        }
        let _ = writeln!(s, "{line}");
    }
    s.push('\n');
}

/// The value of a ranked point as printed: mean (N/A or — without one).
fn fmt_ranked_value(p: &ranking::RankedPoint, higher_is_better: bool) -> String {
    match p.agg.value {
        Some(v) => fmt_num(v),
        None if p.agg.n_seeds > 0 && !higher_is_better => "N/A".into(),
        None => "—".into(),
    }
}

fn render_rankings_markdown(s: &mut String, g: &ranking::GridRankings) {
    let _ = writeln!(s, "## Grid ranking: {}\n", g.metric);
    let _ = writeln!(
        s,
        "Each algorithm's grid points ranked by `{}` ({}; a point without a value ranks last; ties share their mean rank): the metric over seeds as in the tables above, with its 95% bootstrap interval. The best point is compared with the runner-up by their intervals. Also in `grid_ranking.csv`.\n",
        g.metric,
        if g.higher_is_better { "higher is better" } else { "lower is better" }
    );
    let _ = writeln!(s, "| Environment | Algorithm | Rank | Grid point | Seeds | {} | 95% CI | Best vs runner-up |", g.metric);
    let _ = writeln!(s, "|---|---|---:|---|---:|---:|---:|---|");
    for rk in &g.per_env {
        for (i, p) in rk.points.iter().enumerate() {
            let best = i == 0 && rk.has_best();
            let point = if best { format!("**{}** (best)", p.point) } else { p.point.clone() };
            let sep = if best { rk.best_vs_runner_up.map(|x| x.text()).unwrap_or("—") } else { "" };
            let ci = match p.agg.ci {
                Some((lo, hi)) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
                None => "—".into(),
            };
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {}/{} | {} | {} | {} |",
                rk.env,
                rk.algorithm,
                ranking::fmt_rank(p.rank),
                point,
                p.agg.n_values,
                p.seeds_total,
                fmt_ranked_value(p, g.higher_is_better),
                ci,
                sep
            );
        }
    }
    s.push('\n');
    if !g.combined.is_empty() {
        let _ = writeln!(s, "### Across environments\n");
        let _ = writeln!(
            s,
            "Mean of each point's per-environment ranks on `{}` (1 = best), over the environments where some point has a value.\n",
            g.metric
        );
        let _ = writeln!(s, "| Algorithm | Grid point | Mean rank | Ranks per environment |");
        let _ = writeln!(s, "|---|---|---:|---|");
        for c in &g.combined {
            for (i, p) in c.points.iter().enumerate() {
                let point = if i == 0 && c.has_best() { format!("**{}** (best)", p.point) } else { p.point.clone() };
                let ranks = p.ranks.iter().map(|(e, k)| format!("{e}: {}", ranking::fmt_rank(*k))).collect::<Vec<_>>().join(", ");
                let mean = if p.mean_rank.is_nan() { "—".to_string() } else { format!("{:.2}", p.mean_rank) };
                let _ = writeln!(s, "| {} | {} | {} | {} |", c.algorithm, point, mean, ranks);
            }
        }
        s.push('\n');
    }
}

/// The grid rankings as CSV (`grid_ranking.csv`): one line per (environment, algorithm,
/// point) with `scope` `environment`, then one per (algorithm, point) with `scope`
/// `across_environments`, best first (`grid_point`, `best` and `mean_rank` there). None
/// without rankings.
pub fn render_grid_csv(r: &Report) -> Option<String> {
    let g = r.grid_rankings.as_ref()?;
    let mut s = String::from(
        "scope,env,algorithm,metric,rank,grid_point,seeds_with_value,seeds_total,value,ci_low,ci_high,best,best_vs_runner_up,mean_rank\n",
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
    for rk in &g.per_env {
        for (i, p) in rk.points.iter().enumerate() {
            let best = i == 0 && rk.has_best();
            let _ = writeln!(
                s,
                "environment,{},{},{},{},{},{},{},{},{},{},{},{},",
                csv_field(&rk.env),
                csv_field(&rk.algorithm),
                csv_field(&g.metric),
                p.rank,
                csv_field(&p.point),
                p.agg.n_values,
                p.seeds_total,
                opt(p.agg.value),
                opt(p.agg.ci.map(|c| c.0)),
                opt(p.agg.ci.map(|c| c.1)),
                best,
                if best { rk.best_vs_runner_up.map(|x| x.code()).unwrap_or("") } else { "" }
            );
        }
    }
    for c in &g.combined {
        for (i, p) in c.points.iter().enumerate() {
            let _ = writeln!(
                s,
                "across_environments,,{},{},,{},,,,,,{},,{}",
                csv_field(&c.algorithm),
                csv_field(&g.metric),
                csv_field(&p.point),
                i == 0 && c.has_best(),
                if p.mean_rank.is_nan() { String::new() } else { format!("{}", p.mean_rank) }
            );
        }
    }
    Some(s)
}

fn csv_field(x: &str) -> String {
    if x.contains([',', '"', '\n']) {
        format!("\"{}\"", x.replace('"', "\"\""))
    } else {
        x.to_string()
    }
}

/// The CSV report: one line per (row, metric); empty fields where there is no value.
pub fn render_csv(r: &Report) -> String {
    let mut s = String::from(
        "env,algorithm,available,metric,seeds_finished,seeds_total,seeds_with_value,ours,std,ci_low,ci_high,paper,verdict\n",
    );
    let opt = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
    for row in &r.rows {
        for (name, m) in r.metrics.iter().zip(&row.metrics) {
            let paper = match &m.paper {
                Some(PaperValue::Number(x)) => format!("{x}"),
                Some(PaperValue::Text(t)) => csv_field(t),
                None => String::new(),
            };
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(&row.env),
                csv_field(&row.algorithm),
                row.available,
                csv_field(name),
                row.seeds_finished,
                row.seeds_total,
                m.agg.n_values,
                opt(m.agg.value),
                opt(m.agg.std),
                opt(m.agg.ci.map(|c| c.0)),
                opt(m.agg.ci.map(|c| c.1)),
                paper,
                csv_field(m.verdict.text())
            );
        }
    }
    s
}

fn tex_escape(x: &str) -> String {
    x.replace('\\', "\\textbackslash{}")
        .replace('&', "\\&")
        .replace('%', "\\%")
        .replace('_', "\\_")
        .replace('#', "\\#")
        .replace('±', "$\\pm$")
        .replace('—', "--")
}

/// The LaTeX report: one booktabs table per metric, environments down, algorithms across,
/// each cell "ours (paper)".
pub fn render_latex(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "% {} -- generated by `acktr report {}` (profile {}); needs \\usepackage{{booktabs}}", r.title, r.spec, r.profile);
    if r.partial() {
        let _ = writeln!(s, "% PARTIAL: {}/{} cells finished", r.cells_finished, r.cells_total);
    }
    let mut algs: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !algs.contains(&row.algorithm.as_str()) {
            algs.push(&row.algorithm);
        }
    }
    let mut envs: Vec<&str> = Vec::new();
    for row in &r.rows {
        if !envs.contains(&row.env.as_str()) {
            envs.push(&row.env);
        }
    }
    for (k, name) in r.metrics.iter().enumerate() {
        let _ = writeln!(s, "\\begin{{table}}[t]\n\\centering\n\\begin{{tabular}}{{l{}}}\n\\toprule", "r".repeat(algs.len()));
        let _ = writeln!(s, "Environment & {} \\\\\n\\midrule", algs.iter().map(|a| tex_escape(a)).collect::<Vec<_>>().join(" & "));
        for env in &envs {
            let cells: Vec<String> = algs
                .iter()
                .map(|a| match r.rows.iter().find(|row| row.env == *env && row.algorithm == *a) {
                    Some(row) => {
                        let m = &row.metrics[k];
                        let ours = if row.available {
                            match m.agg.value {
                                Some(v) => fmt_num(v),
                                None if m.agg.n_seeds > 0 && m.missing_is_na => "N/A".into(),
                                None => "--".into(),
                            }
                        } else {
                            "n/a".into()
                        };
                        format!("{} ({})", tex_escape(&ours), tex_escape(&fmt_paper(&m.paper)))
                    }
                    None => "--".into(),
                })
                .collect();
            let _ = writeln!(s, "{} & {} \\\\", tex_escape(env), cells.join(" & "));
        }
        let _ = writeln!(
            s,
            "\\bottomrule\n\\end{{tabular}}\n\\caption{{{}: {}, ours (paper). {}}}\n\\end{{table}}\n",
            tex_escape(&r.title),
            tex_escape(name),
            if r.budget_timesteps != r.paper_budget_timesteps {
                format!("Profile {} ({} timesteps per cell), not the paper's budget.", tex_escape(&r.profile), r.budget_timesteps)
            } else {
                String::new()
            }
        );
    }
    if let Some(g) = &r.grid_rankings {
        let _ = writeln!(s, "\\begin{{table}}[t]\n\\centering\n\\begin{{tabular}}{{llrlrr}}\n\\toprule");
        let _ = writeln!(s, "Environment & Algorithm & Rank & Grid point & {} & 95\\% CI \\\\\n\\midrule", tex_escape(&g.metric));
        let mut notes = Vec::new();
        for rk in &g.per_env {
            for (i, p) in rk.points.iter().enumerate() {
                let best = i == 0 && rk.has_best();
                let point = if best { format!("\\textbf{{{}}}", tex_escape(&p.point)) } else { tex_escape(&p.point) };
                let ci = match p.agg.ci {
                    Some((lo, hi)) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
                    None => "--".into(),
                };
                let _ = writeln!(
                    s,
                    "{} & {} & {} & {} & {} & {} \\\\",
                    tex_escape(&rk.env),
                    tex_escape(&rk.algorithm),
                    ranking::fmt_rank(p.rank),
                    point,
                    tex_escape(&fmt_ranked_value(p, g.higher_is_better)),
                    ci
                );
            }
            if let Some(sep) = rk.best_vs_runner_up.filter(|_| rk.has_best()) {
                notes.push(format!("{} on {}: {}.", tex_escape(&rk.algorithm), tex_escape(&rk.env), sep.text()));
            }
        }
        for c in &g.combined {
            let order = c.points.iter().map(|p| format!("{} ({:.2})", tex_escape(&p.point), p.mean_rank)).collect::<Vec<_>>().join(", ");
            notes.push(format!("{} across environments, by mean rank: {}.", tex_escape(&c.algorithm), order));
        }
        let _ = writeln!(
            s,
            "\\bottomrule\n\\end{{tabular}}\n\\caption{{{}: grid points ranked by {} (best in bold; ties share their mean rank). {}}}\n\\end{{table}}\n",
            tex_escape(&r.title),
            tex_escape(&g.metric),
            notes.join(" ")
        );
    }
    s
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
    }
    if let Some(uc) = &spec.update_curves {
        let (files, notes) = updates::write_update_curves(spec, uc, &cells, &dir)?;
        report.figures.extend(files);
        report.notes.extend(notes);
    }
    if let Some(csv) = render_grid_csv(&report) {
        write_atomic(&dir.join("grid_ranking.csv"), csv.as_bytes())?;
    }
    let md = dir.join("report.md");
    write_atomic(&dir.join("report.csv"), render_csv(&report).as_bytes())?;
    write_atomic(&dir.join("report.tex"), render_latex(&report).as_bytes())?;
    write_atomic(&md, render_markdown(&report).as_bytes())?;
    Ok((report, md))
}
