//! `acktr check`: a spec's new results against its reference results, row by row, with a
//! verdict a CI job can act on (book chapter "Regression checks").
//!
//! Rows are matched by (environment, row label, metric), so an edited spec that keeps its
//! row names is compared with the reference it replaces. Per row:
//! - `identical`: the same cells (hashes) with the same logs bit for bit
//!   ([`logs::content_digest`]; wall-clock columns aside);
//! - `better` / `worse`: the permutation test of [`super::compare`] finds a difference at
//!   level [`ALPHA`] after Holm's correction over the rows tested, and the difference is at
//!   least the metric's `min_effect` for that environment;
//! - `same`: anything else with a test (changed numbers, no difference that counts);
//! - `new`: no reference for the row; `untested`: fewer than two seeds with a value on a side.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::compare::{self, Difference};
use super::metrics::{self, Aggregate};
use super::{fmt_num, CellLogs, ReportError};
use crate::run::{self, logs};
use crate::spec::Spec;

/// The level of the test, after Holm's correction (the chance of flagging any row of a run
/// whose learning did not change is at most this).
pub const ALPHA: f64 = 0.05;

/// Files written beside the new run.
pub const CHECK_FILES: [&str; 2] = ["check.md", "check.csv"];

/// Why a check cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{}: holds no finished cells of spec `{spec}`; make a reference with `acktr reproduce {spec}` (results under {}) or `acktr check {spec} --bless`", dir.display(), root.display())]
    NoReference { spec: String, dir: PathBuf, root: PathBuf },
    #[error("{}: none of the reference's rows ({have}) is a row of spec `{spec}` ({want})", dir.display())]
    NoCommonRow { spec: String, dir: PathBuf, have: String, want: String },
    #[error("{}: profile `{profile}` has {n} seed(s); a check compares at least 2 seeds per row (give a profile with more `seeds`)", file.display())]
    TooFewSeeds { file: PathBuf, profile: String, n: usize },
    #[error("{}: {why}", path.display())]
    Damaged { path: PathBuf, why: String },
    #[error(transparent)]
    Report(#[from] ReportError),
}

impl CheckError {
    /// Whether the error comes from what the user gave (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, CheckError::Report(_))
    }
}

/// A row's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckVerdict {
    Identical,
    Same,
    Better,
    Worse,
    New,
    Untested,
}

impl CheckVerdict {
    pub fn text(self) -> &'static str {
        match self {
            CheckVerdict::Identical => "identical",
            CheckVerdict::Same => "same",
            CheckVerdict::Better => "better",
            CheckVerdict::Worse => "worse",
            CheckVerdict::New => "new",
            CheckVerdict::Untested => "untested",
        }
    }
}

/// One (environment, row, metric) compared.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRow {
    pub env: String,
    pub algorithm: String,
    pub metric: String,
    pub higher_is_better: bool,
    /// Over the reference's seeds (None: no reference row).
    pub reference: Option<Aggregate>,
    pub now: Aggregate,
    /// The test, where the row had one.
    pub difference: Option<Difference>,
    /// Holm-adjusted p-value.
    pub p_adjusted: Option<f64>,
    pub min_effect: f64,
    pub verdict: CheckVerdict,
}

/// A whole check.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub spec: String,
    pub profile: String,
    pub reference_dir: PathBuf,
    pub run_dir: PathBuf,
    pub rows: Vec<CheckRow>,
    /// `(env, row)` of the reference that the spec no longer has.
    pub reference_only: Vec<(String, String)>,
}

impl Check {
    /// Rows that got worse.
    pub fn worse(&self) -> Vec<&CheckRow> {
        self.rows.iter().filter(|r| r.verdict == CheckVerdict::Worse).collect()
    }
}

/// One cell's logs read from its directory, with the digests of its two logs.
pub struct ReadCell {
    pub logs: CellLogs,
    pub digest: (String, String),
    pub started_unix: f64,
}

fn damaged(path: &Path, why: impl std::fmt::Display) -> CheckError {
    CheckError::Damaged { path: path.into(), why: why.to_string() }
}

/// The row label a provenance's cell had (`ALGO` or `ALGO [k=v, ...]`, as
/// [`crate::spec::Cell::row_label`]).
fn row_label(cell: &serde_json::Value) -> String {
    let name = cell["algorithm"].as_str().unwrap_or_default().to_string();
    let grid: Vec<String> = cell["grid"]
        .as_array()
        .map(|g| {
            g.iter()
                .filter_map(|kv| {
                    let k = kv.get(0)?.as_str()?;
                    let v = kv.get(1)?;
                    Some(format!("{k}={}", v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())))
                })
                .collect()
        })
        .unwrap_or_default();
    if grid.is_empty() {
        name
    } else {
        format!("{name} [{}]", grid.join(", "))
    }
}

/// Reads a finished cell's directory (its provenance names it; both logs read back).
pub fn read_cell(dir: &Path) -> Result<ReadCell, CheckError> {
    let prov_path = dir.join("provenance.json");
    let text = std::fs::read_to_string(&prov_path).map_err(|e| damaged(&prov_path, e))?;
    let prov: serde_json::Value = serde_json::from_str(&text).map_err(|e| damaged(&prov_path, e))?;
    let cell = &prov["cell"];
    let field = |k: &str| cell[k].as_str().map(str::to_string).ok_or_else(|| damaged(&prov_path, format!("no cell.{k}")));
    let read = |name: &str| {
        let path = dir.join(name);
        logs::read_parquet(&path).map_err(|source| CheckError::Report(ReportError::Polars { path: path.clone(), source }))
    };
    let episodes = read("episodes.parquet")?;
    let updates = read("updates.parquet")?;
    let digest = (
        logs::content_digest(&episodes).map_err(|e| damaged(dir, e))?,
        logs::content_digest(&updates).map_err(|e| damaged(dir, e))?,
    );
    let episodes = episodes
        .sort(["episode"], Default::default())
        .map_err(|e| damaged(dir, e))?;
    Ok(ReadCell {
        logs: CellLogs {
            hash: field("hash")?,
            env: field("env")?,
            algorithm: row_label(cell),
            seed: cell["seed"].as_u64().ok_or_else(|| damaged(&prov_path, "no cell.seed"))?,
            episodes,
            updates: Some(updates),
            made_by: super::made_by(&prov),
        },
        digest,
        started_unix: prov["started_unix"].as_f64().unwrap_or(0.0),
    })
}

/// The finished cells of the spec's plan under `root` (after a run: all of them).
pub fn read_plan_cells(spec: &Spec, root: &Path) -> Result<Vec<ReadCell>, CheckError> {
    spec.cells()
        .iter()
        .filter(|c| run::is_finished(root, c))
        .map(|c| read_cell(&run::cell_dir(root, c)))
        .collect()
}

/// The reference's cells: every finished cell directory under `root/<spec>/`; where two
/// name the same (environment, row, seed), the one of the current plan's hash, else the
/// latest.
pub fn read_reference(spec: &Spec, root: &Path) -> Result<Vec<ReadCell>, CheckError> {
    let dir = run::spec_dir(root, spec);
    let no_reference = || CheckError::NoReference { spec: spec.name.clone(), dir: dir.clone(), root: root.into() };
    let Ok(entries) = std::fs::read_dir(&dir) else { return Err(no_reference()) };
    let plan: Vec<String> = spec.cells().into_iter().map(|c| c.hash).collect();
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("provenance.json").is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
        .collect();
    paths.sort();
    let mut by_key: BTreeMap<(String, String, u64), ReadCell> = BTreeMap::new();
    for p in paths {
        let c = read_cell(&p)?;
        let key = (c.logs.env.clone(), c.logs.algorithm.clone(), c.logs.seed);
        let keep_old = by_key.get(&key).is_some_and(|old| {
            let (old_in, new_in) = (plan.contains(&old.logs.hash), plan.contains(&c.logs.hash));
            old_in && !new_in || old_in == new_in && old.started_unix >= c.started_unix
        });
        if !keep_old {
            by_key.insert(key, c);
        }
    }
    if by_key.is_empty() {
        return Err(no_reference());
    }
    Ok(by_key.into_values().collect())
}

/// Per (env, row): the cells in seed order.
fn rows_of(cells: &[ReadCell]) -> BTreeMap<(String, String), Vec<&ReadCell>> {
    let mut out: BTreeMap<(String, String), Vec<&ReadCell>> = BTreeMap::new();
    for c in cells {
        out.entry((c.logs.env.clone(), c.logs.algorithm.clone())).or_default().push(c);
    }
    for v in out.values_mut() {
        v.sort_by_key(|c| c.logs.seed);
    }
    out
}

/// Compares the new cells with the reference's, row by row in the spec's order.
pub fn compare(spec: &Spec, reference: &[ReadCell], now: &[ReadCell], reference_dir: &Path, run_dir: &Path) -> Result<Check, CheckError> {
    let (ref_rows, now_rows) = (rows_of(reference), rows_of(now));
    if !now_rows.keys().any(|k| ref_rows.contains_key(k)) {
        let names = |m: &BTreeMap<(String, String), Vec<&ReadCell>>| m.keys().map(|(e, a)| format!("{e} {a}")).collect::<Vec<_>>().join(", ");
        return Err(CheckError::NoCommonRow { spec: spec.name.clone(), dir: reference_dir.into(), have: names(&ref_rows), want: names(&now_rows) });
    }
    // Row order: the plan's.
    let mut order: Vec<(String, String)> = Vec::new();
    for c in spec.cells() {
        let k = (c.env.clone(), c.row_label());
        if !order.contains(&k) {
            order.push(k);
        }
    }
    let mut rows = Vec::new();
    for key in &order {
        let Some(now_cells) = now_rows.get(key) else { continue };
        let ref_cells = ref_rows.get(key);
        let identical = ref_cells.is_some_and(|r| {
            r.len() == now_cells.len()
                && r.iter().zip(now_cells.iter()).all(|(a, b)| a.logs.hash == b.logs.hash && a.digest == b.digest)
        });
        for m in &spec.metrics {
            let hib = m.kind.higher_is_better();
            let values = |cells: &[&ReadCell]| -> Result<Vec<Option<f64>>, CheckError> {
                cells.iter().map(|c| super::cell_value(&m.kind, &c.logs, run_dir).map_err(CheckError::from)).collect()
            };
            let now_values = values(now_cells)?;
            let ref_values = ref_cells.map(|r| values(r)).transpose()?;
            let now_agg = metrics::aggregate(&now_values, m.best_seeds, hib);
            let ref_agg = ref_values.as_ref().map(|v| metrics::aggregate(v, m.best_seeds, hib));
            let present = |v: &[Option<f64>]| v.iter().flatten().copied().collect::<Vec<f64>>();
            let (verdict, difference) = match &ref_values {
                None => (CheckVerdict::New, None),
                Some(_) if identical => (CheckVerdict::Identical, None),
                Some(rv) => {
                    let (a, b) = (present(rv), present(&now_values));
                    // A seed without a value (a threshold never reached) cannot be tested
                    // by a difference of means.
                    if a.len() < 2 || b.len() < 2 || a.len() < rv.len() || b.len() < now_values.len() {
                        (CheckVerdict::Untested, None)
                    } else {
                        (CheckVerdict::Same, Some(compare::compare(&a, &b, m.best_seeds, hib)))
                    }
                }
            };
            rows.push(CheckRow {
                env: key.0.clone(),
                algorithm: key.1.clone(),
                metric: m.name.clone(),
                higher_is_better: hib,
                reference: ref_agg,
                now: now_agg,
                difference,
                p_adjusted: None,
                min_effect: m.min_effect_on(&key.0),
                verdict,
            });
        }
    }
    // Holm over the rows tested.
    let tested: Vec<usize> = rows.iter().enumerate().filter(|(_, r)| r.difference.is_some()).map(|(i, _)| i).collect();
    let adjusted = compare::holm(&tested.iter().map(|&i| rows[i].difference.as_ref().unwrap().p).collect::<Vec<_>>());
    for (&i, p) in tested.iter().zip(adjusted) {
        let r = &mut rows[i];
        r.p_adjusted = Some(p);
        let d = r.difference.as_ref().unwrap().diff;
        if p < ALPHA && d.abs() >= r.min_effect && d != 0.0 {
            r.verdict = if (d > 0.0) == r.higher_is_better { CheckVerdict::Better } else { CheckVerdict::Worse };
        }
    }
    let reference_only = ref_rows.keys().filter(|k| !order.contains(k)).cloned().collect();
    Ok(Check {
        spec: spec.name.clone(),
        profile: spec.profile.clone(),
        reference_dir: reference_dir.into(),
        run_dir: run_dir.into(),
        rows,
        reference_only,
    })
}

fn fmt_agg(a: &Aggregate) -> String {
    match (a.value, a.ci) {
        (Some(v), Some((lo, hi))) => format!("{} [{}, {}] ({})", fmt_num(v), fmt_num(lo), fmt_num(hi), a.n_seeds),
        (Some(v), None) => format!("{} ({})", fmt_num(v), a.n_seeds),
        (None, _) => format!("— ({})", a.n_seeds),
    }
}

fn fmt_p(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

/// The check as Markdown (also what `acktr check` prints).
pub fn render_markdown(c: &Check) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# Check of `{}` (profile `{}`)\n", c.spec, c.profile);
    let _ = writeln!(s, "Reference: `{}` · new run: `{}`\n", c.reference_dir.display(), c.run_dir.display());
    let _ = writeln!(
        s,
        "Two-sided permutation test of the difference over seeds, Holm-corrected over the {} rows tested, level {ALPHA}; `better`/`worse` also need a difference of at least the metric's minimum effect. Intervals: 95% bootstrap over seeds; (n) seeds.\n",
        c.rows.iter().filter(|r| r.difference.is_some()).count()
    );
    let _ = writeln!(s, "| Environment | Algorithm | Metric | Reference | Now | Difference [95% CI] | p (Holm) | Min effect | Verdict |");
    let _ = writeln!(s, "|---|---|---|---:|---:|---:|---:|---:|---|");
    for r in &c.rows {
        let diff = r
            .difference
            .as_ref()
            .map(|d| format!("{:+} [{}, {}]", FmtSigned(d.diff), fmt_num(d.ci.0), fmt_num(d.ci.1)))
            .unwrap_or_else(|| "—".into());
        let verdict = match r.verdict {
            CheckVerdict::Worse => "**worse**".to_string(),
            v => v.text().to_string(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.env,
            r.algorithm,
            r.metric,
            r.reference.as_ref().map(fmt_agg).unwrap_or_else(|| "—".into()),
            fmt_agg(&r.now),
            diff,
            r.p_adjusted.map(fmt_p).unwrap_or_else(|| "—".into()),
            fmt_num(r.min_effect),
            verdict
        );
    }
    for (e, a) in &c.reference_only {
        let _ = writeln!(s, "\nIn the reference only (not compared): {e} {a}");
    }
    let worse = c.worse();
    let _ = writeln!(
        s,
        "\n{}",
        if worse.is_empty() {
            "No row is worse.".to_string()
        } else {
            format!("{} row(s) worse: {}.", worse.len(), worse.iter().map(|r| format!("{} {} {}", r.env, r.algorithm, r.metric)).collect::<Vec<_>>().join("; "))
        }
    );
    s
}

/// A signed number with [`fmt_num`]'s precision.
struct FmtSigned(f64);

impl std::fmt::Display for FmtSigned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = fmt_num(self.0);
        if f.sign_plus() && self.0 >= 0.0 {
            write!(f, "+{s}")
        } else {
            write!(f, "{s}")
        }
    }
}

/// The check as CSV: one line per (row, metric); empty fields where there is no value.
pub fn render_csv(c: &Check) -> String {
    let mut s = String::from("env,algorithm,metric,reference,reference_ci_low,reference_ci_high,reference_seeds,now,now_ci_low,now_ci_high,now_seeds,difference,difference_ci_low,difference_ci_high,p,p_holm,min_effect,verdict\n");
    let opt = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
    let q = |x: &str| if x.contains([',', '"']) { format!("\"{}\"", x.replace('"', "\"\"")) } else { x.to_string() };
    for r in &c.rows {
        let ra = r.reference.as_ref();
        let d = r.difference.as_ref();
        let _ = writeln!(
            s,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            q(&r.env),
            q(&r.algorithm),
            q(&r.metric),
            opt(ra.and_then(|a| a.value)),
            opt(ra.and_then(|a| a.ci.map(|c| c.0))),
            opt(ra.and_then(|a| a.ci.map(|c| c.1))),
            ra.map(|a| a.n_seeds.to_string()).unwrap_or_default(),
            opt(r.now.value),
            opt(r.now.ci.map(|c| c.0)),
            opt(r.now.ci.map(|c| c.1)),
            r.now.n_seeds,
            opt(d.map(|d| d.diff)),
            opt(d.map(|d| d.ci.0)),
            opt(d.map(|d| d.ci.1)),
            opt(d.map(|d| d.p)),
            opt(r.p_adjusted),
            r.min_effect,
            r.verdict.text()
        );
    }
    s
}

/// Writes `check.md` and `check.csv` into `dir` (atomically).
pub fn write(c: &Check, dir: &Path) -> Result<(), CheckError> {
    std::fs::create_dir_all(dir).map_err(|source| ReportError::Io { path: dir.into(), source })?;
    super::write_atomic(&dir.join(CHECK_FILES[0]), render_markdown(c).as_bytes())?;
    super::write_atomic(&dir.join(CHECK_FILES[1]), render_csv(c).as_bytes())?;
    Ok(())
}

/// What `--bless` did.
#[derive(Debug, Default)]
pub struct Blessed {
    pub added: Vec<String>,
    pub replaced: Vec<String>,
    pub removed: Vec<String>,
}

/// Makes the new run the reference: every cell of the plan copied from `run_root` into
/// `reference_root/<spec>/` (each through a temporary directory and a rename), every other
/// cell directory there removed, and the spec's report rewritten there.
pub fn bless(spec: &Spec, run_root: &Path, reference_root: &Path) -> Result<Blessed, CheckError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| CheckError::Report(ReportError::Io { path, source })
    };
    let dest = run::spec_dir(reference_root, spec);
    std::fs::create_dir_all(&dest).map_err(io(&dest))?;
    let cells = spec.cells();
    let mut out = Blessed::default();
    for c in &cells {
        let from = run::cell_dir(run_root, c);
        let to = run::cell_dir(reference_root, c);
        let tmp = dest.join(format!(".tmp-bless-{}-{}", c.hash, run::temp_owner()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        for f in std::fs::read_dir(&from).map_err(io(&from))? {
            let f = f.map_err(io(&from))?.path();
            if f.is_file() {
                std::fs::copy(&f, tmp.join(f.file_name().unwrap())).map_err(io(&f))?;
            }
        }
        if to.exists() {
            std::fs::remove_dir_all(&to).map_err(io(&to))?;
            out.replaced.push(c.hash.clone());
        } else {
            out.added.push(c.hash.clone());
        }
        std::fs::rename(&tmp, &to).map_err(io(&to))?;
    }
    for e in std::fs::read_dir(&dest).map_err(io(&dest))? {
        let p = e.map_err(io(&dest))?.path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if p.join("provenance.json").is_file() && !name.starts_with('.') && !cells.iter().any(|c| c.hash == name) {
            std::fs::remove_dir_all(&p).map_err(io(&p))?;
            out.removed.push(name);
        }
    }
    super::write(spec, reference_root)?;
    Ok(out)
}
