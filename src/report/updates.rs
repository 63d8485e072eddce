//! Update curves (paper Figure 9: the exact KL of each update against its Kronecker-factored
//! quadratic approximation): named columns of each cell's `updates.parquet` against the
//! update index (or `global_step`), one panel per task, one line per (algorithm row, column):
//! at every update index the mean over the seeds whose value there is finite (and positive
//! on a logarithmic axis); x is the mean of the seeds' x there (the same for every seed of a
//! row). Drawn with `plotters` as PNG and SVG, in the style of [`super::figures`].
//!
//! A column missing from a cell's log (an algorithm that does not compute it, e.g. A2C and
//! `exact_kl`) is not drawn for that cell; the report says so in a note rather than failing,
//! so one spec can set algorithms with different logs side by side.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use polars::prelude::*;

use super::figures::{draw_legend, legend_height, register_font, tick_count, COLORS, REFERENCE};
use super::{CellLogs, ReportError};
use crate::spec::{Spec, UpdateAxis, UpdateCurveSpec};

/// One line of one panel: `row: column` and its (x, mean over seeds) points.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateLine {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// One seed's (x, y) per update, in update order; None when the column is missing.
fn seed_series(logs: &CellLogs, x: UpdateAxis, column: &str) -> PolarsResult<Option<Vec<(f64, Option<f64>)>>> {
    let Some(updates) = &logs.updates else { return Ok(None) };
    if updates.column(column).is_err() {
        return Ok(None);
    }
    let x_col = match x {
        UpdateAxis::Update => "update",
        UpdateAxis::GlobalStep => "global_step",
    };
    let out = updates
        .clone()
        .lazy()
        .sort([x_col], SortMultipleOptions::default())
        .select([col(x_col).cast(DataType::Float64).alias("x"), col(column).cast(DataType::Float64).alias("y")])
        .collect()?;
    let xs = out.column("x")?.f64()?.clone();
    let ys = out.column("y")?.f64()?.clone();
    Ok(Some(xs.iter().zip(ys.iter()).filter_map(|(x, y)| Some((x?, y))).collect()))
}

/// The mean over seeds at each update index of the values that count (finite; positive on a
/// logarithmic axis), with x the mean of the seeds' x there.
pub fn mean_over_seeds(seeds: &[Vec<(f64, Option<f64>)>], log_y: bool) -> Vec<(f64, f64)> {
    let n = seeds.iter().map(Vec::len).max().unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..n {
        let at: Vec<(f64, Option<f64>)> = seeds.iter().filter_map(|s| s.get(i).copied()).collect();
        let ys: Vec<f64> = at.iter().filter_map(|p| p.1).filter(|y| y.is_finite() && (!log_y || *y > 0.0)).collect();
        if ys.is_empty() {
            continue;
        }
        let x = at.iter().map(|p| p.0).sum::<f64>() / at.len() as f64;
        out.push((x, ys.iter().sum::<f64>() / ys.len() as f64));
    }
    out
}

/// The lines of every task, and notes on the columns some cells do not have.
pub fn update_lines(spec: &Spec, uc: &UpdateCurveSpec, cells: &[CellLogs]) -> Result<(Vec<(String, Vec<UpdateLine>)>, Vec<String>), String> {
    let mut panels = Vec::new();
    let mut notes = Vec::new();
    for env in &spec.envs {
        let mut labels: Vec<&str> = Vec::new();
        for c in cells.iter().filter(|c| &c.env == env) {
            if !labels.contains(&c.algorithm.as_str()) {
                labels.push(&c.algorithm);
            }
        }
        let mut lines = Vec::new();
        for label in &labels {
            for column in &uc.columns {
                let mut seeds = Vec::new();
                let mut missing = Vec::new();
                for c in cells.iter().filter(|c| &c.env == env && c.algorithm == *label) {
                    match seed_series(c, uc.x, column).map_err(|e| e.to_string())? {
                        Some(s) => seeds.push(s),
                        None => missing.push(c.seed.to_string()),
                    }
                }
                if !missing.is_empty() {
                    notes.push(format!(
                        "update curves: `{column}` is not a column of updates.parquet for {label} on {env} (seed {}); not drawn there.",
                        missing.join(", ")
                    ));
                }
                let from = uc.from_update as f64;
                let seeds: Vec<Vec<(f64, Option<f64>)>> = match uc.x {
                    UpdateAxis::Update => seeds.into_iter().map(|s| s.into_iter().filter(|p| p.0 >= from).collect()).collect(),
                    UpdateAxis::GlobalStep => seeds.into_iter().map(|s| s.into_iter().skip(uc.from_update as usize).collect()).collect(),
                };
                if !seeds.is_empty() {
                    lines.push(UpdateLine { label: format!("{label}: {column}"), points: mean_over_seeds(&seeds, uc.log_y) });
                }
            }
        }
        panels.push((env.clone(), lines));
    }
    Ok((panels, notes))
}

/// Draws the panels on a linear or logarithmic y axis (the chart types differ, so the body
/// is written once as a macro): the lines, then the dashed reference lines.
macro_rules! draw_panel {
    ($chart:ident, $lines:expr, $refs:expr, $x1:expr, $x_desc:expr, $y_desc:expr, $err:expr) => {{
        $chart
            .configure_mesh()
            .x_desc($x_desc)
            .y_desc($y_desc)
            .x_labels(4)
            .y_labels(5)
            .x_label_formatter(&|x| tick_count(*x))
            .y_label_formatter(&|y| format!("{y:.2e}"))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err($err)?;
        for &(line, color) in $lines {
            $chart.draw_series(LineSeries::new(line.points.iter().copied(), color.stroke_width(2))).map_err($err)?;
        }
        for &(value, color) in $refs {
            $chart.draw_series(DashedLineSeries::new([(0.0, value), ($x1, value)], 5, 3, color.stroke_width(2))).map_err($err)?;
        }
    }};
}

/// Reference lines' colours: grey, then darker greys.
const REFERENCE_SHADES: [RGBColor; 3] = [REFERENCE, RGBColor(30, 30, 30), RGBColor(150, 150, 150)];

/// The legend's entries: every line label of the figure (one colour each, the same in every
/// panel), then the reference lines.
fn legend_entries(panels: &[(String, Vec<UpdateLine>)], uc: &UpdateCurveSpec) -> Vec<(String, RGBColor, bool)> {
    let mut labels: Vec<String> = Vec::new();
    for l in panels.iter().flat_map(|(_, lines)| lines) {
        if !labels.contains(&l.label) {
            labels.push(l.label.clone());
        }
    }
    let mut entries: Vec<(String, RGBColor, bool)> = labels.into_iter().enumerate().map(|(i, l)| (l, COLORS[i % COLORS.len()], false)).collect();
    entries.extend(uc.lines.iter().enumerate().map(|(i, (_, l))| (l.clone(), REFERENCE_SHADES[i % REFERENCE_SHADES.len()], true)));
    entries
}

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[(String, Vec<UpdateLine>)], uc: &UpdateCurveSpec) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let entries = legend_entries(panels, uc);
    let (w, h) = root.dim_in_pixel();
    let (plots, legend) = root.split_vertically(h.saturating_sub(legend_height(&entries, w)));
    draw_legend(&legend, &entries)?;
    let cols = panels.len().clamp(1, 4);
    let rows = panels.len().div_ceil(cols).max(1);
    let areas = plots.split_evenly((rows, cols));
    let x_desc = match uc.x {
        UpdateAxis::Update => "update",
        UpdateAxis::GlobalStep => "timesteps",
    };
    let refs: Vec<(f64, RGBColor)> = uc.lines.iter().zip(entries.iter().filter(|e| e.2)).map(|((v, _), e)| (*v, e.1)).collect();
    for (area, (env, lines)) in areas.iter().zip(panels) {
        let colored: Vec<(&UpdateLine, RGBColor)> =
            lines.iter().map(|l| (l, entries.iter().find(|e| e.0 == l.label).map_or(BLACK, |e| e.1))).collect();
        let (mut x1, mut y0, mut y1) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, y) in lines.iter().flat_map(|l| l.points.iter()).chain(refs.iter().map(|(v, _)| (0.0, *v)).collect::<Vec<_>>().iter()) {
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if !y0.is_finite() {
            (y0, y1, x1) = (if uc.log_y { 1e-3 } else { 0.0 }, 1.0, 1.0);
        }
        let x1 = x1.max(1e-9);
        let mut builder = ChartBuilder::on(area);
        builder.caption(env, ("sans-serif", 18)).margin(10).x_label_area_size(35).y_label_area_size(65);
        if uc.log_y {
            let (lo, hi) = if y1 / y0 < 1.0 + 1e-9 { (y0 / 2.0, y1 * 2.0) } else { (y0 / 1.2, y1 * 1.2) };
            let mut chart = builder.build_cartesian_2d(0.0..x1, (lo..hi).log_scale()).map_err(err)?;
            draw_panel!(chart, &colored, &refs, x1, x_desc, &uc.y_label, err);
        } else {
            if y1 - y0 < 1e-12 {
                (y0, y1) = (y0 - 1.0, y1 + 1.0);
            }
            let pad = 0.05 * (y1 - y0);
            let mut chart = builder.build_cartesian_2d(0.0..x1, (y0 - pad)..(y1 + pad)).map_err(err)?;
            draw_panel!(chart, &colored, &refs, x1, x_desc, &uc.y_label, err);
        }
    }
    root.present().map_err(err)
}

/// Writes `updates_<columns>.{png,svg}` into `dir` (through temporary files renamed into
/// place); returns the file names and the notes for the report.
pub fn write_update_curves(spec: &Spec, uc: &UpdateCurveSpec, cells: &[CellLogs], dir: &Path) -> Result<(Vec<String>, Vec<String>), ReportError> {
    register_font();
    let stem = format!("updates_{}", uc.columns.join("_"));
    let (panels, notes) = update_lines(spec, uc, cells).map_err(|why| ReportError::Plot { path: dir.join(&stem), why })?;
    let cols = panels.len().clamp(1, 4) as u32;
    let rows = panels.len().div_ceil(cols as usize).max(1) as u32;
    let width = 400 * cols;
    let size = (width, 300 * rows + legend_height(&legend_entries(&panels, uc), width));
    let mut written = Vec::new();
    for ext in ["png", "svg"] {
        let name = format!("{stem}.{ext}");
        let tmp = dir.join(format!(".{name}.tmp-{}.{ext}", crate::run::temp_owner()));
        let result = if ext == "png" {
            draw(BitMapBackend::new(&tmp, size).into_drawing_area(), &panels, uc)
        } else {
            draw(SVGBackend::new(&tmp, size).into_drawing_area(), &panels, uc)
        };
        result.map_err(|why| ReportError::Plot { path: dir.join(&name), why })?;
        std::fs::rename(&tmp, dir.join(&name)).map_err(|source| ReportError::Io { path: dir.join(&name), source })?;
        written.push(name);
    }
    Ok((written, notes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_over_seeds_skips_values_that_do_not_count() {
        let seeds = vec![
            vec![(0.0, Some(1.0)), (1.0, Some(f64::NAN)), (2.0, Some(-1.0))],
            vec![(0.0, Some(3.0)), (1.0, Some(4.0))],
        ];
        // Update 0: (1 + 3) / 2; update 1: only the finite 4; update 2: -1 (linear axis).
        assert_eq!(mean_over_seeds(&seeds, false), vec![(0.0, 2.0), (1.0, 4.0), (2.0, -1.0)]);
        // On a log axis the non-positive value leaves update 2 empty.
        assert_eq!(mean_over_seeds(&seeds, true), vec![(0.0, 2.0), (1.0, 4.0)]);
    }
}
