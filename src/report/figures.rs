//! Learning curves (paper Figures 1, 3, ...): episode return against timesteps and against
//! wall-clock time, one panel per task, one line per algorithm row: the mean over seeds with a
//! shaded band of one standard deviation. Each seed's returns are first smoothed by a
//! trailing mean over `curves.smoothing_episodes` episodes (Polars `rolling_mean`), then read
//! at `curves.points` evenly spaced x values (the smoothed return of the last episode that
//! ended by then). Drawn with `plotters` as PNG and SVG.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use polars::prelude::*;

use super::{CellLogs, ReportError};
use crate::spec::{CurveSpec, MetricKind, Spec};

/// The font every figure uses (DejaVu Sans, embedded: no system font libraries needed;
/// licence in `assets/fonts/DejaVuSans.LICENSE`).
static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Twelve distinguishable colours (matplotlib's tab10, then two of tab20's dark shades),
/// for grids and ablations with many rows. The paper's three algorithms keep theirs in
/// every figure ([`color_of`]).
pub(super) const COLORS: [RGBColor; 12] = [
    RGBColor(214, 39, 40),
    RGBColor(31, 119, 180),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(57, 59, 121),
    RGBColor(99, 121, 57),
];

/// The colour of the `i`-th of a figure's rows `labels`, labelled `label`: ACKTR red, A2C
/// blue, TRPO green wherever they appear (a row label starting with the name, e.g. `ACKTR
/// mujoco`; the first such row of each), other rows the palette's remaining colours in order,
/// the paper's colours included when no row of the figure claims them (so twelve rows get
/// twelve colours).
pub(super) fn color_of(label: &str, i: usize, labels: &[&str]) -> RGBColor {
    const FIXED: [(&str, usize); 3] = [("ACKTR", 0), ("A2C", 1), ("TRPO", 2)];
    let fixed = |l: &str| FIXED.iter().find(|(name, _)| l == *name || l.starts_with(&format!("{name} "))).map(|(_, c)| *c);
    // The row that claims a fixed colour: the first one labelled with its algorithm.
    let claims = |k: usize| fixed(labels[k]).filter(|c| labels[..k].iter().all(|l| fixed(l) != Some(*c)));
    debug_assert_eq!(labels.get(i), Some(&label), "the label is the i-th row's");
    if let Some(c) = claims(i) {
        return COLORS[c];
    }
    let claimed: Vec<usize> = (0..labels.len()).filter_map(claims).collect();
    let free: Vec<usize> = (0..COLORS.len()).filter(|c| !claimed.contains(c)).collect();
    let others = (0..i).filter(|&k| claims(k).is_none()).count();
    COLORS[free[others % free.len()]]
}

/// Which x axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum XAxis {
    Timesteps,
    WallClock,
    /// Updates done when the episode ended: timesteps over the row's batch
    /// (`num_envs x steps_per_update`).
    Updates,
}

/// One line of one panel: x values and the mean and standard deviation over seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub algorithm: String,
    pub points: Vec<(f64, f64, f64)>,
}

/// One seed's smoothed returns against the x axis, in episode order.
/// `batch` is the cell's timesteps per update (read for [`XAxis::Updates`] only).
pub fn smoothed(logs: &CellLogs, smoothing: usize, axis: XAxis, batch: f64) -> PolarsResult<Vec<(f64, f64)>> {
    let x = match axis {
        XAxis::Timesteps => col("global_step").cast(DataType::Float64),
        XAxis::WallClock => col("wall_seconds"),
        // Divided and floored below (Polars' `floor` needs a feature we do not build).
        XAxis::Updates => col("global_step").cast(DataType::Float64),
    };
    let out = logs
        .episodes
        .clone()
        .lazy()
        .select([
            x.alias("x"),
            col("return")
                .rolling_mean(RollingOptionsFixedWindow { window_size: smoothing, min_periods: 1, ..Default::default() })
                .alias("y"),
        ])
        .collect()?;
    let xs = out.column("x")?.f64()?.clone();
    let ys = out.column("y")?.f64()?.clone();
    let to_x = |x: f64| if axis == XAxis::Updates { (x / batch).floor() } else { x };
    Ok(xs.iter().zip(ys.iter()).filter_map(|(x, y)| Some((to_x(x?), y?))).collect())
}

/// Mean and standard deviation (ddof 0 across seeds, 0 for one seed) of the seeds' smoothed
/// returns at `points` evenly spaced x values in (0, x_max]; x values where no seed has
/// finished an episode yet are left out. A seed counts from its first episode to one grid
/// step past its last: a run that ended (on the wall-clock axis, a faster run) is not
/// drawn on as if it continued.
pub fn average(seeds: &[Vec<(f64, f64)>], x_max: f64, points: usize) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::new();
    let step = x_max / points as f64;
    for j in 1..=points {
        let x = x_max * j as f64 / points as f64;
        let at: Vec<f64> = seeds
            .iter()
            .filter(|s| s.last().is_some_and(|(end, _)| x <= end + step))
            .filter_map(|s| s.iter().take_while(|(sx, _)| *sx <= x).last().map(|p| p.1))
            .collect();
        if at.is_empty() {
            continue;
        }
        let mean = at.iter().sum::<f64>() / at.len() as f64;
        let var = at.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / at.len() as f64;
        out.push((x, mean, var.sqrt()));
    }
    out
}

/// The curves of every (task, algorithm row) on one x axis.
pub fn curves(spec: &Spec, cs: &CurveSpec, cells: &[CellLogs], axis: XAxis) -> Result<Vec<(String, Vec<Curve>)>, String> {
    let mut panels = Vec::new();
    for env in &spec.envs {
        let mut labels: Vec<&str> = Vec::new();
        for c in cells.iter().filter(|c| &c.env == env) {
            if !labels.contains(&c.algorithm.as_str()) {
                labels.push(&c.algorithm);
            }
        }
        let mut lines = Vec::new();
        let mut per_alg = Vec::new();
        let mut x_max: f64 = 0.0;
        for label in &labels {
            let mut seeds = Vec::new();
            for c in cells.iter().filter(|c| &c.env == env && c.algorithm == *label) {
                let batch = spec
                    .algorithms
                    .iter()
                    .find(|a| a.name == c.algorithm)
                    .map(|a| spec.row_budget(a))
                    .unwrap_or(spec.budget);
                let batch = (batch.num_envs * batch.steps_per_update).max(1) as f64;
                let s = smoothed(c, cs.smoothing_episodes, axis, batch).map_err(|e| e.to_string())?;
                if let Some(last) = s.last() {
                    x_max = x_max.max(last.0);
                }
                seeds.push(s);
            }
            per_alg.push((label.to_string(), seeds));
        }
        if axis == XAxis::Timesteps {
            // Rows may have budgets of their own (Table 2's TRPO): the longest sets the axis.
            x_max = spec.algorithms.iter().map(|a| spec.row_budget(a).total_timesteps).max().unwrap_or(spec.budget.total_timesteps) as f64;
        }
        for (label, seeds) in per_alg {
            lines.push(Curve { algorithm: label, points: average(&seeds, x_max, cs.points) });
        }
        panels.push((env.clone(), lines));
    }
    Ok(panels)
}

/// An axis tick with the decimals the axis's span needs (the same for every tick of the
/// axis: no `-50.0` beside `100`).
pub(super) fn tick_for_span(x: f64, span: f64) -> String {
    let d = match span.abs() {
        a if a >= 20.0 => 0,
        a if a >= 2.0 => 1,
        a if a >= 0.2 => 2,
        _ => 3,
    };
    let s = format!("{x:.d$}");
    if s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') { s.trim_start_matches('-').to_string() } else { s }
}

/// A count in human units: 1M, 2.5M, 500k, 750, 0.
pub(super) fn tick_count(x: f64) -> String {
    let trim = |v: f64| {
        let s = format!("{v:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    };
    match x.abs() {
        a if a >= 1e6 => format!("{}M", trim(x / 1e6)),
        a if a >= 1e3 => format!("{}k", trim(x / 1e3)),
        _ => format!("{x:.0}"),
    }
}

pub(super) fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; it parses.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Every row label of the figure, in order of first appearance: one colour per row across
/// all panels ([`color_of`] over this list), and one legend.
pub(super) fn figure_labels<'a>(panels: impl IntoIterator<Item = &'a [Curve]>) -> Vec<String> {
    let mut labels: Vec<String> = Vec::new();
    for lines in panels {
        for l in lines {
            if !labels.contains(&l.algorithm) {
                labels.push(l.algorithm.clone());
            }
        }
    }
    labels
}

/// Height in pixels of the legend strip for `entries` (label, drawn as a dashed line) in a
/// figure `width` pixels wide.
pub(super) fn legend_height(entries: &[(String, RGBColor, bool)], width: u32) -> u32 {
    legend_rows(entries, width).len() as u32 * LEGEND_ROW + 8
}

const LEGEND_ROW: u32 = 20;

/// The legend's entries laid out in rows that fit `width`: each row, its entries' indices and
/// x offsets.
fn legend_rows(entries: &[(String, RGBColor, bool)], width: u32) -> Vec<Vec<(usize, i32)>> {
    let mut rows: Vec<Vec<(usize, i32)>> = vec![Vec::new()];
    let mut x = 10i32;
    for (i, (label, _, _)) in entries.iter().enumerate() {
        // About 7 px per character at 12 px, a 22 px line sample, 18 px of gap.
        let w = 22 + 6 + 7 * label.chars().count() as i32 + 18;
        if x + w > width as i32 - 10 && !rows.last().expect("a row").is_empty() {
            rows.push(Vec::new());
            x = 10;
        }
        rows.last_mut().expect("a row").push((i, x));
        x += w;
    }
    rows
}

/// Draws the legend strip: one entry per row of the figure (and per reference line), outside
/// every panel's data.
pub(super) fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[(String, RGBColor, bool)]) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    let width = area.dim_in_pixel().0;
    for (r, row) in legend_rows(entries, width).iter().enumerate() {
        let y = 4 + (r as u32 * LEGEND_ROW + LEGEND_ROW / 2) as i32;
        for &(i, x) in row {
            let (label, color, dashed) = &entries[i];
            if *dashed {
                area.draw(&DashedPathElement::new(vec![(x, y), (x + 22, y)], 5, 3, color.stroke_width(2))).map_err(err)?;
            } else {
                area.draw(&PathElement::new(vec![(x, y), (x + 22, y)], color.stroke_width(2))).map_err(err)?;
            }
            area.draw(&Text::new(label.clone(), (x + 28, y - 7), ("sans-serif", 12).into_font())).map_err(err)?;
        }
    }
    Ok(())
}

/// The colour of a reference line (a threshold, a trust radius).
pub(super) const REFERENCE: RGBColor = RGBColor(80, 80, 80);

fn draw<DB: DrawingBackend>(root: DrawingArea<DB, Shift>, panels: &[(String, Vec<Curve>)], axis: XAxis, thresholds: &BTreeMap<String, f64>) -> Result<(), String> {
    let err = |e: DrawingAreaErrorKind<DB::ErrorType>| format!("{e:?}");
    root.fill(&WHITE).map_err(err)?;
    let labels = figure_labels(panels.iter().map(|(_, l)| l.as_slice()));
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let entries = legend_entries(panels, thresholds);
    let (w, h) = root.dim_in_pixel();
    let (plots, legend) = root.split_vertically(h.saturating_sub(legend_height(&entries, w)));
    draw_legend(&legend, &entries)?;
    let cols = panels.len().clamp(1, 4);
    let rows = panels.len().div_ceil(cols).max(1);
    let areas = plots.split_evenly((rows, cols));
    let x_desc = match axis {
        XAxis::Timesteps => "timesteps",
        XAxis::WallClock => "wall-clock seconds",
        XAxis::Updates => "updates",
    };
    for (area, (env, lines)) in areas.iter().zip(panels) {
        let threshold = thresholds.get(env).copied();
        let pts = lines.iter().flat_map(|l| l.points.iter());
        let (mut x1, mut y0, mut y1) = (0.0f64, f64::INFINITY, f64::NEG_INFINITY);
        for &(x, m, s) in pts {
            x1 = x1.max(x);
            y0 = y0.min(m - s);
            y1 = y1.max(m + s);
        }
        if !y0.is_finite() {
            (y0, y1, x1) = (0.0, 1.0, 1.0);
        }
        if let Some(t) = threshold {
            (y0, y1) = (y0.min(t), y1.max(t));
        }
        if y1 - y0 < 1e-9 {
            (y0, y1) = (y0 - 1.0, y1 + 1.0);
        }
        let pad = 0.05 * (y1 - y0);
        let span = y1 - y0 + 2.0 * pad;
        let mut chart = ChartBuilder::on(area)
            .caption(env, ("sans-serif", 18))
            .margin(10)
            // Room for the last x tick's label.
            .margin_right(28)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(0.0..x1.max(1e-9), (y0 - pad)..(y1 + pad))
            .map_err(err)?;
        chart
            .configure_mesh()
            .x_desc(x_desc)
            .y_desc("episode return")
            .x_labels(4)
            .y_labels(5)
            .x_label_formatter(&|x| tick_count(*x))
            .y_label_formatter(&|y| tick_for_span(*y, span))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        if let Some(t) = threshold {
            chart.draw_series(DashedLineSeries::new([(0.0, t), (x1.max(1e-9), t)], 5, 3, REFERENCE.stroke_width(2))).map_err(err)?;
        }
        for line in lines {
            let i = labels.iter().position(|l| *l == line.algorithm).expect("every line is labelled");
            let color = color_of(&line.algorithm, i, &label_refs);
            let mut band: Vec<(f64, f64)> = line.points.iter().map(|&(x, m, s)| (x, m + s)).collect();
            band.extend(line.points.iter().rev().map(|&(x, m, s)| (x, m - s)));
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled()))).map_err(err)?;
            chart.draw_series(LineSeries::new(line.points.iter().map(|&(x, m, _)| (x, m)), color.stroke_width(2))).map_err(err)?;
        }
    }
    root.present().map_err(err)
}

/// The legend of a learning-curve figure: its rows in their colours, then a dashed
/// "threshold" when a panel has one.
fn legend_entries(panels: &[(String, Vec<Curve>)], thresholds: &BTreeMap<String, f64>) -> Vec<(String, RGBColor, bool)> {
    let labels = figure_labels(panels.iter().map(|(_, l)| l.as_slice()));
    let label_refs: Vec<&str> = labels.iter().map(String::as_str).collect();
    let mut entries: Vec<(String, RGBColor, bool)> = labels.iter().enumerate().map(|(i, l)| (l.clone(), color_of(l, i, &label_refs), false)).collect();
    if panels.iter().any(|(env, _)| thresholds.contains_key(env)) {
        entries.push(("threshold".to_string(), REFERENCE, true));
    }
    entries
}

/// The spec's per-task thresholds (an `episodes_to_threshold` metric's), drawn as dashed
/// lines on the learning curves.
fn thresholds_of(spec: &Spec) -> BTreeMap<String, f64> {
    spec.metrics
        .iter()
        .find_map(|m| match &m.kind {
            MetricKind::EpisodesToThreshold { thresholds, .. } => Some(thresholds.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Writes `curves_timesteps.{png,svg}`, `curves_wallclock.{png,svg}` and, with
/// `curves.updates`, `curves_updates.{png,svg}` into `dir`
/// (each through a temporary file renamed into place); returns the file names.
pub fn write_curves(spec: &Spec, cs: &CurveSpec, cells: &[CellLogs], dir: &Path) -> Result<Vec<String>, ReportError> {
    register_font();
    let mut written = Vec::new();
    let mut axes = vec![(XAxis::Timesteps, "curves_timesteps"), (XAxis::WallClock, "curves_wallclock")];
    if cs.updates {
        axes.push((XAxis::Updates, "curves_updates"));
    }
    for (axis, stem) in axes {
        let plot_err = |why: String| ReportError::Plot { path: dir.join(stem), why };
        let panels = curves(spec, cs, cells, axis).map_err(plot_err)?;
        let thresholds = thresholds_of(spec);
        let cols = panels.len().clamp(1, 4) as u32;
        let rows = panels.len().div_ceil(cols as usize).max(1) as u32;
        let width = 400 * cols;
        let size = (width, 300 * rows + legend_height(&legend_entries(&panels, &thresholds), width));
        for ext in ["png", "svg"] {
            let name = format!("{stem}.{ext}");
            let tmp = dir.join(format!(".{name}.tmp-{}.{ext}", crate::run::temp_owner()));
            let result = if ext == "png" {
                draw(BitMapBackend::new(&tmp, size).into_drawing_area(), &panels, axis, &thresholds)
            } else {
                draw(SVGBackend::new(&tmp, size).into_drawing_area(), &panels, axis, &thresholds)
            };
            result.map_err(|why| ReportError::Plot { path: dir.join(&name), why })?;
            std::fs::rename(&tmp, dir.join(&name)).map_err(|source| ReportError::Io { path: dir.join(&name), source })?;
            written.push(name);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_reads_each_seed_at_the_grid_and_skips_empty_points() {
        // Seed a: episodes end at x = 10 (return 1) and 30 (return 3); seed b at 20 (return 5).
        let seeds = vec![vec![(10.0, 1.0), (30.0, 3.0)], vec![(20.0, 5.0)]];
        let got = average(&seeds, 40.0, 4);
        // x = 10: only a (1); x = 20: a 1, b 5 -> mean 3, std 2; x = 30: 3 and 5 -> 4, 1
        // (b ended at 20, one step back); x = 40: a only (b's run is over), 3.
        assert_eq!(got, vec![(10.0, 1.0, 0.0), (20.0, 3.0, 2.0), (30.0, 4.0, 1.0), (40.0, 3.0, 0.0)]);
        // Before any episode ends there is no point.
        assert!(average(&seeds, 8.0, 2).is_empty());
    }

    #[test]
    fn ticks_read_as_people_write_them() {
        let xs: Vec<String> = [0.0, 750.0, 50_000.0, 500_000.0, 1_000_000.0, 2_500_000.0, 10_000_000.0].iter().map(|x| tick_count(*x)).collect();
        assert_eq!(xs, ["0", "750", "50k", "500k", "1M", "2.5M", "10M"]);
        // One number of decimals per axis, from its span.
        assert_eq!([-50.0, 0.0, 100.0].map(|y| tick_for_span(y, 200.0)), ["-50", "0", "100"]);
        assert_eq!([-20.0, -17.5].map(|y| tick_for_span(y, 5.0)), ["-20.0", "-17.5"]);
        assert_eq!(tick_for_span(-0.0001, 1.0), "0.00");
    }

    #[test]
    fn the_papers_algorithms_keep_their_colours() {
        let labels = ["A2C", "TRPO", "ACKTR mujoco", "lr=0.1"];
        let c: Vec<RGBColor> = labels.iter().enumerate().map(|(i, l)| color_of(l, i, &labels)).collect();
        assert_eq!(c, vec![COLORS[1], COLORS[2], COLORS[0], COLORS[3]]);
        // An ablation: ACKTR and eleven variants, twelve colours.
        let variants: Vec<String> = (0..11).map(|i| format!("variant {i}")).collect();
        let mut labels: Vec<&str> = vec!["ACKTR"];
        labels.extend(variants.iter().map(String::as_str));
        let c: std::collections::HashSet<(u8, u8, u8)> = labels.iter().enumerate().map(|(i, l)| { let k = color_of(l, i, &labels); (k.0, k.1, k.2) }).collect();
        assert_eq!(c.len(), 12);
        assert_eq!(color_of("ACKTR", 0, &labels), COLORS[0]);
        // Twelve rows with all three paper algorithms: twelve different colours once the fixed ones are taken.
        let rows: Vec<String> = (0..9).map(|i| format!("row {i}")).collect();
        let mut labels: Vec<&str> = vec!["ACKTR", "A2C", "TRPO"];
        labels.extend(rows.iter().map(String::as_str));
        let c: std::collections::HashSet<(u8, u8, u8)> = labels.iter().enumerate().map(|(i, l)| { let k = color_of(l, i, &labels); (k.0, k.1, k.2) }).collect();
        assert_eq!(c.len(), 12);
    }
}
