//! The book's reproductions page (`docs/src/reproductions.md`) and the README's status table,
//! written from the specs and the committed results by `acktr reproductions`, never by hand:
//! every number on them is read from a spec, a cell's `provenance.json` or a report that
//! `acktr report` wrote. `tests/reproductions.rs` fails when the committed page or table
//! differs from what this writes.
//!
//! A results directory's report names its profile in its header line (`· profile `P` ·`,
//! [`super::render`]); the page shows that profile's cells against the spec's own plan.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::run;
use crate::spec::{self, Spec, SpecError};

/// The line before the README's status table.
pub const README_BEGIN: &str = "<!-- status table: written by `acktr reproductions` from specs/ and results/; edit those, not this -->";
/// The line after it.
pub const README_END: &str = "<!-- end of status table -->";

/// What `acktr reproductions` writes.
#[derive(Debug, Clone, PartialEq)]
pub struct Pages {
    /// `docs/src/reproductions.md`.
    pub page: String,
    /// The README's status table (between [`README_BEGIN`] and [`README_END`]).
    pub status: String,
}

/// Errors of [`render`] and [`splice_readme`].
#[derive(Debug, thiserror::Error)]
pub enum ReproductionsError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: {why}", path.display())]
    Results { path: PathBuf, why: String },
}

impl ReproductionsError {
    /// Whether the input (a spec, the README's markers, a report's header) was at fault.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, ReproductionsError::Io { .. })
    }
}

/// One spec and what of it is committed.
struct Entry {
    spec: Spec,
    committed: Option<Committed>,
}

/// A results directory: its report's profile, that profile's plan and finished cells.
struct Committed {
    profile: Spec,
    finished: usize,
    /// `(cpu model, cells)`.
    machines: BTreeMap<String, usize>,
    /// `(the build or checkout that made a cell, cells)` ([`super::made_by`] without the machine).
    builds: BTreeMap<String, usize>,
    /// Median wall-clock seconds of a cell.
    median_wall: Option<f64>,
    /// The report's body: everything after its title but the figures, headings one level down.
    body: String,
    /// The report's figure files (PNG).
    figures: Vec<String>,
}

/// `1M`, `340k`, `2.5M`.
fn count(x: u64) -> String {
    super::figures::tick_count(x as f64)
}

/// The profile a report was written for, from its header line.
fn report_profile(report: &str) -> Option<String> {
    let line = report.lines().find(|l| l.starts_with("Reproduces:"))?;
    let rest = &line[line.find("· profile `")? + "· profile `".len()..];
    Some(rest[..rest.find('`')?].to_string())
}

/// The report's body as the page shows it: after the title, without the figures section,
/// headings one level down.
fn report_body(report: &str) -> (String, Vec<String>) {
    let mut body = String::new();
    let mut figures = Vec::new();
    let mut in_figures = false;
    for line in report.lines().skip(1) {
        if line.starts_with("## ") {
            in_figures = line == "## Figures";
        } else if in_figures && line.starts_with("Ours:") {
            in_figures = false;
        }
        if in_figures {
            if let Some(rest) = line.strip_prefix("![") {
                if let Some(name) = rest.split("](").nth(1).and_then(|r| r.split(')').next()) {
                    figures.push(name.to_string());
                }
            }
            continue;
        }
        if line.starts_with('#') {
            body.push('#');
        }
        body.push_str(line);
        body.push('\n');
    }
    (body.trim().to_string() + "\n", figures)
}

fn read(path: &Path) -> Result<Option<String>, ReproductionsError> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReproductionsError::Io { path: path.to_path_buf(), source }),
    }
}

/// What git tracks under `results` (`git ls-files`): the specs with a report, and the cells
/// (`spec/hash`) with a provenance. A report a user has just written into an uncommitted
/// directory (the README's smoke command writes `results/table2/`), or a cell a run is adding
/// to a committed spec, is not a committed result. `None` outside a git checkout: then every
/// report and cell counts.
pub struct Tracked {
    reports: BTreeSet<String>,
    cells: BTreeSet<String>,
}

/// [`Tracked`] for `results`.
pub fn tracked(results: &Path) -> Option<Tracked> {
    let files = |pattern: &str, suffix: &str| -> Option<BTreeSet<String>> {
        let out = std::process::Command::new("git").arg("-C").arg(results).args(["ls-files", "--", pattern]).output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| l.strip_suffix(suffix)).map(str::to_string).collect())
    };
    Some(Tracked { reports: files("*/report.md", "/report.md")?, cells: files("*/provenance.json", "/provenance.json")? })
}

/// What of `spec` is committed under `results`.
fn committed(spec: &Spec, results: &Path, tracked: Option<&Tracked>) -> Result<Option<Committed>, ReproductionsError> {
    if tracked.is_some_and(|t| !t.reports.contains(&spec.name)) {
        return Ok(None);
    }
    let report_path = results.join(&spec.name).join("report.md");
    let Some(report) = read(&report_path)? else {
        return Ok(None);
    };
    let profile_name = report_profile(&report)
        .ok_or_else(|| ReproductionsError::Results { path: report_path.clone(), why: "no `· profile `P` ·` in its header line".into() })?;
    let profile = spec::load(&spec.path, &profile_name)?;
    let (mut machines, mut builds) = (BTreeMap::new(), BTreeMap::new());
    let mut walls = Vec::new();
    let mut finished = 0;
    for cell in profile.cells() {
        if !run::is_finished(results, &cell) || tracked.is_some_and(|t| !t.cells.contains(&format!("{}/{}", spec.name, cell.hash))) {
            continue;
        }
        finished += 1;
        let path = run::cell_dir(results, &cell).join("provenance.json");
        let text = read(&path)?.unwrap_or_default();
        let prov: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let cpu = prov["machine"]["cpu_model"].as_str().unwrap_or("unknown").to_string();
        let made = super::made_by(&prov);
        let build = made.rsplit_once(" on ").map_or(made.as_str(), |(b, _)| b).to_string();
        *machines.entry(cpu).or_insert(0) += 1;
        *builds.entry(build).or_insert(0) += 1;
        if let Some(w) = prov["wall_seconds"].as_f64() {
            walls.push(w);
        }
    }
    walls.sort_by(f64::total_cmp);
    let median_wall = (!walls.is_empty()).then(|| {
        let n = walls.len();
        if n % 2 == 1 { walls[n / 2] } else { (walls[n / 2 - 1] + walls[n / 2]) / 2.0 }
    });
    let (body, figures) = report_body(&report);
    Ok(Some(Committed { profile, finished, machines, builds, median_wall, body, figures }))
}

/// Paper experiments first (`reproduces: Wu et al. ...`), in the paper's order: tables, then
/// figures, by number (the first `Table N` or `Figure N` the field names), then the rest; the
/// spec that runs a whole table or figure before one that runs a part of it.
fn order(s: &Spec) -> (bool, u8, u32, bool, String) {
    let paper = s.reproduces.starts_with("Wu et al.");
    let numbered = |word: &str| {
        let at = s.reproduces.find(word)? + word.len();
        let digits: String = s.reproduces[at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    };
    let (kind, n) = match (numbered("Table "), numbered("Figure ")) {
        (Some(t), _) if paper => (0, t),
        (None, Some(f)) if paper => (1, f),
        _ => (2, 0),
    };
    let whole = s.name.starts_with("table") || s.name.starts_with("fig");
    (!paper, kind, n, !whole, s.name.clone())
}

fn entries(specs_dir: &Path, results: &Path) -> Result<Vec<Entry>, ReproductionsError> {
    let tracked = tracked(results);
    let mut out = Vec::new();
    for name in spec::list_specs(specs_dir) {
        let spec = spec::load(&specs_dir.join(format!("{name}.yaml")), spec::PAPER_PROFILE)?;
        if spec.reproduces.starts_with("none (CI smoke") {
            continue;
        }
        let committed = committed(&spec, results, tracked.as_ref())?;
        out.push(Entry { spec, committed });
    }
    out.sort_by_key(|e| order(&e.spec));
    Ok(out)
}

/// "1M of 2.5M timesteps per cell" or "1M timesteps per cell (the spec's budget)".
fn per_cell(c: &Committed, spec: &Spec) -> String {
    let (ours, full) = (c.profile.budget.total_timesteps, spec.budget.total_timesteps);
    if ours == full {
        format!("{} (the spec's budget)", count(ours))
    } else {
        format!("{} of the spec's {}", count(ours), count(full))
    }
}

/// The status table; `link` turns a spec's report path (relative to the repository) into the
/// table's last column.
fn status_table(entries: &[Entry], link: impl Fn(&str) -> String) -> String {
    let mut t = String::from("| experiment | spec | committed profile | timesteps per cell | cells finished (profile's plan; spec's plan) | report |\n|---|---|---|---|---|---|\n");
    for e in entries {
        let s = &e.spec;
        let title = s.title.replace('|', "\\|");
        match &e.committed {
            None => {
                let _ = writeln!(t, "| {title} | `{}` | not run | — | 0 (—; {}) | — |", s.name, s.cells().len());
            }
            Some(c) => {
                let _ = writeln!(
                    t,
                    "| {title} | `{}` | `{}` | {} | {} ({}; {}) | {} |",
                    s.name,
                    c.profile.profile,
                    per_cell(c, s),
                    c.finished,
                    c.profile.cells().len(),
                    s.cells().len(),
                    link(&format!("results/{}/report.md", s.name))
                );
            }
        }
    }
    t
}

fn joined(m: &BTreeMap<String, usize>) -> String {
    let mut v: Vec<(&String, &usize)> = m.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    v.iter().map(|(k, n)| format!("{k} ({n})")).collect::<Vec<_>>().join("; ")
}

/// The page and the README's table for the specs in `specs_dir` and the results committed
/// under `results` ([`tracked`]).
pub fn render(specs_dir: &Path, results: &Path) -> Result<Pages, ReproductionsError> {
    let entries = entries(specs_dir, results)?;
    let status = status_table(&entries, |p| format!("[report]({p})"));
    let mut page = String::new();
    page.push_str("# Reproductions\n\n");
    page.push_str(
        "Written by `acktr reproductions` from `specs/` and the results committed under `results/`;\n\
         a test fails when this page differs from what the command writes, so every number here is\n\
         read from a spec, a cell's `provenance.json` or a report `acktr report` wrote. Rebuild a\n\
         report with `acktr report <spec> --profile P`; the layout of `results/` is in\n\
         [Results](results.md), and what the numbers say, in words, in [Findings](findings.md).\n\n",
    );
    page.push_str("## Overview\n\n");
    page.push_str(
        "Each spec's committed profile (the one its report was written for), that profile's\n\
         timesteps per cell against the spec's own, and its finished cells against the profile's\n\
         plan and the spec's full plan. Specs that reproduce no paper experiment come last.\n\n",
    );
    page.push_str(&status_table(&entries, |p| format!("`{p}`")));
    page.push_str("\n## Where the cells ran\n\n");
    page.push_str(
        "From the committed cells' `provenance.json`: the machine (`cpu_model`) and the build that\n\
         ran each cell (`build_commit`, `+dirty` when its sources had changes; older cells record only\n\
         the checkout's HEAD when they started, shown as `checkout`, which does not identify the\n\
         build), and the median wall-clock time of a cell.\n\n\
         | spec | cells | machines | builds | median wall clock per cell |\n|---|---:|---|---|---:|\n",
    );
    for e in &entries {
        if let Some(c) = &e.committed {
            let wall = c.median_wall.map_or("—".to_string(), |w| format!("{:.0} s", w));
            let _ = writeln!(page, "| `{}` | {} | {} | {} | {wall} |", e.spec.name, c.finished, joined(&c.machines), joined(&c.builds));
        }
    }
    for e in &entries {
        let Some(c) = &e.committed else { continue };
        let s = &e.spec;
        let _ = write!(page, "\n## {}\n\n`specs/{}.yaml`, `results/{}/report.md`", s.title, s.name, s.name);
        if !c.figures.is_empty() {
            let figs: Vec<String> = c.figures.iter().map(|f| format!("`results/{}/{f}`", s.name)).collect();
            let _ = write!(page, "; figures {}", figs.join(", "));
        }
        page.push_str(".\n\n");
        if let Some(d) = &s.description {
            let _ = writeln!(page, "{}\n", d.trim());
        }
        page.push_str(&c.body);
    }
    let not_run: Vec<String> = entries.iter().filter(|e| e.committed.is_none()).map(|e| format!("`{}`", e.spec.name)).collect();
    if !not_run.is_empty() {
        let _ = write!(page, "\n## Not run yet\n\nNo committed results: {}.\n", not_run.join(", "));
    }
    Ok(Pages { page, status })
}

/// `readme` with its status table replaced by `status`.
pub fn splice_readme(readme: &str, path: &Path, status: &str) -> Result<String, ReproductionsError> {
    let bad = |why: &str| ReproductionsError::Results { path: path.to_path_buf(), why: why.into() };
    let begin = readme.find(README_BEGIN).ok_or_else(|| bad("no status-table start marker (`<!-- status table: ...`)"))?;
    let after = begin + README_BEGIN.len();
    let end = after + readme[after..].find(README_END).ok_or_else(|| bad("no status-table end marker (`<!-- end of status table -->`)"))?;
    Ok(format!("{}{README_BEGIN}\n{status}{}", &readme[..begin], &readme[end..]))
}

/// Writes the page and the README's table (atomically); returns whether either changed.
pub fn write(specs_dir: &Path, results: &Path, page_path: &Path, readme_path: &Path) -> Result<bool, ReproductionsError> {
    let pages = render(specs_dir, results)?;
    let readme = read(readme_path)?.ok_or_else(|| ReproductionsError::Results { path: readme_path.to_path_buf(), why: "not found".into() })?;
    let new_readme = splice_readme(&readme, readme_path, &pages.status)?;
    let old_page = read(page_path)?;
    let mut changed = false;
    for (path, old, new) in [(page_path, old_page.as_deref(), pages.page.as_str()), (readme_path, Some(readme.as_str()), new_readme.as_str())] {
        if old != Some(new) {
            run::write_atomic(path, new.as_bytes()).map_err(|e| ReproductionsError::Results { path: path.to_path_buf(), why: e.to_string() })?;
            changed = true;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_profile_is_read_from_the_report_header() {
        let r = "# T\n\nReproduces: x · spec `s` · profile `first_million` · 2/2 cells finished · 1000000 timesteps per cell\n";
        assert_eq!(report_profile(r).as_deref(), Some("first_million"));
        assert_eq!(report_profile("# T\n"), None);
    }

    #[test]
    fn the_body_drops_the_title_and_the_figures_and_demotes_headings() {
        let r = "# T\n\nhead\n\n## m\n\n| a |\n\n## Figures\n\ncaption\n\n![c.png](c.png) ([SVG](c.svg))\n\nOurs: note\n";
        let (body, figs) = report_body(r);
        assert_eq!(body, "head\n\n### m\n\n| a |\n\nOurs: note\n");
        assert_eq!(figs, vec!["c.png".to_string()]);
    }

    #[test]
    fn the_readme_table_is_spliced_between_its_markers() {
        let readme = format!("top\n{README_BEGIN}\nold\n{README_END}\nbottom\n");
        let out = splice_readme(&readme, Path::new("README.md"), "new\n").unwrap();
        assert_eq!(out, format!("top\n{README_BEGIN}\nnew\n{README_END}\nbottom\n"));
        assert!(splice_readme("no markers", Path::new("README.md"), "x").is_err());
    }
}
