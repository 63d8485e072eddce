//! Reports: Polars reads every finished cell's `episodes.parquet`, computes the spec's
//! metrics per seed, aggregates them over seeds (mean and sample standard deviation,
//! ddof 1) per (environment, algorithm row), and renders Markdown and CSV beside the
//! paper's numbers.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::run::{self, logs};
use crate::spec::{MetricKind, PaperValue, Spec};

/// Errors while building a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{}: {source}", path.display())]
    Polars { path: PathBuf, source: PolarsError },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
}

/// One metric of one row.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricCell {
    /// Mean over seeds (None when no seed has a value yet).
    pub mean: Option<f64>,
    /// Sample standard deviation over seeds (None with fewer than two).
    pub std: Option<f64>,
    /// Seeds that contributed.
    pub n: usize,
    /// The paper's number.
    pub paper: Option<PaperValue>,
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

/// A whole report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub spec: String,
    pub title: String,
    pub reproduces: String,
    pub profile: String,
    pub metrics: Vec<String>,
    pub rows: Vec<ReportRow>,
    pub cells_finished: usize,
    pub cells_total: usize,
}

fn pe(path: &Path) -> impl FnOnce(PolarsError) -> ReportError + '_ {
    move |source| ReportError::Polars { path: path.into(), source }
}

/// The expression of a metric over one seed's episodes (sorted by episode).
fn metric_expr(kind: &MetricKind) -> Expr {
    match kind {
        MetricKind::LastEpisodesMean { episodes } => col("return").tail(Some(*episodes)).mean(),
    }
}

/// Reads the finished cells of `spec` under `root` and aggregates the metrics.
pub fn build(spec: &Spec, root: &Path) -> Result<Report, ReportError> {
    let cells = spec.cells();
    let mut frames = Vec::new();
    let mut finished = Vec::new();
    for cell in &cells {
        if !run::is_finished(root, cell) {
            continue;
        }
        let path = run::cell_dir(root, cell).join("episodes.parquet");
        let df = logs::read_parquet(&path).map_err(pe(&path))?;
        frames.push(df.lazy().with_columns([
            lit(cell.env.clone()).alias("env"),
            lit(cell.row_label()).alias("algorithm"),
            lit(cell.seed).alias("seed"),
        ]));
        finished.push(cell);
    }
    let dir = run::spec_dir(root, spec);
    // (env, algorithm) -> per-metric (mean, std, n)
    let mut values: Vec<Vec<((String, String), (Option<f64>, Option<f64>, usize))>> = Vec::new();
    if !frames.is_empty() {
        let all = concat(&frames, UnionArgs::default()).map_err(pe(&dir))?.sort(
            ["env", "algorithm", "seed", "episode"],
            SortMultipleOptions::default().with_maintain_order(true),
        );
        for m in &spec.metrics {
            let per_seed = all
                .clone()
                .group_by_stable([col("env"), col("algorithm"), col("seed")])
                .agg([metric_expr(&m.kind).alias("value")]);
            let agg = per_seed
                .group_by_stable([col("env"), col("algorithm")])
                .agg([
                    col("value").mean().alias("mean"),
                    col("value").std(1).alias("std"),
                    col("value").count().cast(DataType::Float64).alias("n"),
                ])
                .collect()
                .map_err(pe(&dir))?;
            let get = |name: &str| -> Result<Column, ReportError> { agg.column(name).cloned().map_err(pe(&dir)) };
            let (env, alg, mean, std, n) = (get("env")?, get("algorithm")?, get("mean")?, get("std")?, get("n")?);
            let (env, alg) = (env.str().map_err(pe(&dir))?, alg.str().map_err(pe(&dir))?);
            let (mean, std, n) = (mean.f64().map_err(pe(&dir))?, std.f64().map_err(pe(&dir))?, n.f64().map_err(pe(&dir))?);
            let mut rows = Vec::new();
            for i in 0..agg.height() {
                let key = (env.get(i).unwrap_or_default().to_string(), alg.get(i).unwrap_or_default().to_string());
                let n = n.get(i).unwrap_or(0.0) as usize;
                rows.push((key, (mean.get(i), if n > 1 { std.get(i) } else { None }, n)));
            }
            values.push(rows);
        }
    }
    let mut rows = Vec::new();
    for env in &spec.envs {
        for alg in &spec.algorithms {
            for point in &alg.grid {
                let label = cells
                    .iter()
                    .find(|c| &c.env == env && c.algorithm == alg.name && &c.grid == point)
                    .map(|c| c.row_label())
                    .unwrap_or_else(|| alg.name.clone());
                let seeds_finished = finished.iter().filter(|c| &c.env == env && c.row_label() == label).count();
                let paper = spec.paper.get(&(env.clone(), alg.name.clone()));
                let metrics = spec
                    .metrics
                    .iter()
                    .enumerate()
                    .map(|(k, m)| {
                        let found = values
                            .get(k)
                            .and_then(|rows| rows.iter().find(|(key, _)| key.0 == *env && key.1 == label))
                            .map(|(_, v)| *v);
                        let (mean, std, n) = found.unwrap_or((None, None, 0));
                        MetricCell { mean, std, n, paper: paper.and_then(|p| p.get(&m.name).cloned()) }
                    })
                    .collect();
                rows.push(ReportRow {
                    env: env.clone(),
                    algorithm: label,
                    seeds_finished,
                    seeds_total: spec.seeds.len(),
                    metrics,
                });
            }
        }
    }
    Ok(Report {
        spec: spec.name.clone(),
        title: spec.title.clone(),
        reproduces: spec.reproduces.clone(),
        profile: spec.profile.clone(),
        metrics: spec.metrics.iter().map(|m| m.name.clone()).collect(),
        rows,
        cells_finished: finished.len(),
        cells_total: cells.len(),
    })
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

/// `mean ± std`, both with the mean's precision.
fn fmt_ours(m: &MetricCell) -> String {
    match (m.mean, m.std) {
        (Some(mean), Some(std)) => format!("{} ± {:.*}", fmt_num(mean), decimals(mean), std),
        (Some(mean), None) => fmt_num(mean),
        _ => "—".into(),
    }
}

fn fmt_paper(p: &Option<PaperValue>) -> String {
    match p {
        Some(PaperValue::Number(x)) => fmt_num(*x),
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
        "Reproduces: {} · spec `{}` · profile `{}` · {}/{} cells finished\n",
        r.reproduces, r.spec, r.profile, r.cells_finished, r.cells_total
    );
    if r.cells_finished < r.cells_total {
        let _ = writeln!(s, "> **Partial report:** {} of {} cells have not finished; their rows are incomplete.\n", r.cells_total - r.cells_finished, r.cells_total);
    }
    let mut header = String::from("| Environment | Algorithm | Seeds |");
    let mut rule = String::from("|---|---|---|");
    for m in &r.metrics {
        let _ = write!(header, " {m} (ours) | {m} (paper) |");
        rule.push_str("---:|---:|");
    }
    let _ = writeln!(s, "{header}\n{rule}");
    for row in &r.rows {
        let _ = write!(s, "| {} | {} | {}/{} |", row.env, row.algorithm, row.seeds_finished, row.seeds_total);
        for m in &row.metrics {
            let _ = write!(s, " {} | {} |", fmt_ours(m), fmt_paper(&m.paper));
        }
        s.push('\n');
    }
    let _ = writeln!(s, "\nOurs: mean ± sample standard deviation (ddof 1) over finished seeds; — where there is no value.");
    s
}

fn csv_field(x: &str) -> String {
    if x.contains([',', '"', '\n']) {
        format!("\"{}\"", x.replace('"', "\"\""))
    } else {
        x.to_string()
    }
}

/// The CSV report (one line per row; empty fields where there is no value).
pub fn render_csv(r: &Report) -> String {
    let mut s = String::from("env,algorithm,seeds_finished,seeds_total");
    for m in &r.metrics {
        let _ = write!(s, ",{m}_mean,{m}_std,{m}_seeds,{m}_paper");
    }
    s.push('\n');
    let opt = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
    for row in &r.rows {
        let _ = write!(s, "{},{},{},{}", csv_field(&row.env), csv_field(&row.algorithm), row.seeds_finished, row.seeds_total);
        for m in &row.metrics {
            let paper = match &m.paper {
                Some(PaperValue::Number(x)) => format!("{x}"),
                Some(PaperValue::Text(t)) => csv_field(t),
                None => String::new(),
            };
            let _ = write!(s, ",{},{},{},{}", opt(m.mean), opt(m.std), m.n, paper);
        }
        s.push('\n');
    }
    s
}

/// Writes `path` atomically (temporary file, then rename).
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), ReportError> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, contents).map_err(|source| ReportError::Io { path: tmp.clone(), source })?;
    std::fs::rename(&tmp, path).map_err(|source| ReportError::Io { path: path.into(), source })
}

/// Builds the report and writes `report.md` and `report.csv` into the spec's results.
pub fn write(spec: &Spec, root: &Path) -> Result<(Report, PathBuf), ReportError> {
    let report = build(spec, root)?;
    let dir = run::spec_dir(root, spec);
    std::fs::create_dir_all(&dir).map_err(|source| ReportError::Io { path: dir.clone(), source })?;
    let md = dir.join("report.md");
    write_atomic(&md, &render_markdown(&report))?;
    write_atomic(&dir.join("report.csv"), &render_csv(&report))?;
    Ok((report, md))
}
