//! The report rendered: Markdown (`report.md`, [`markdown`]), CSV (`report.csv`,
//! `grid_ranking.csv`, `claims.csv`, [`csv`]) and LaTeX (`report.tex`, [`latex`]), with the
//! number formats they share (here).

mod csv;
mod latex;
mod markdown;

pub use csv::{render_claims_csv, render_csv, render_grid_csv};
pub use latex::render_latex;
pub use markdown::render_markdown;

use super::{ranking, MetricCell};
use crate::spec::PaperValue;

/// Decimals suited to a number's size: 0 from 1000, 1 from 10, 3 from 0.1, and three
/// significant digits below (a KL of 0.00203, not 0.002).
pub(super) fn decimals(x: f64) -> usize {
    match x.abs() {
        a if a >= 1000.0 => 0,
        a if a >= 10.0 => 1,
        a if a >= 0.1 || a == 0.0 || !a.is_finite() => 3,
        a => ((2.0 - a.log10().floor()) as usize).min(12),
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
pub(super) fn fmt_ours(m: &MetricCell) -> String {
    match (m.agg.value, m.agg.std) {
        (Some(v), Some(s)) => format!("{} ± {:.*}", fmt_num(v), decimals(v), s),
        (Some(v), None) => fmt_num(v),
        (None, _) if m.agg.n_seeds > 0 && m.missing_is_na => "N/A".into(),
        _ => "—".into(),
    }
}

pub(super) fn fmt_ci(m: &MetricCell) -> String {
    match m.agg.ci {
        Some((lo, hi)) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
        None => "—".into(),
    }
}

/// The paper's number as the paper prints it (the spec transcribes it; the shortest decimal
/// that reads back as the same number keeps every digit written: 13581.4, 904).
pub(super) fn fmt_paper(p: &Option<PaperValue>) -> String {
    match p {
        Some(PaperValue::Number(x)) => format!("{x}"),
        Some(PaperValue::Text(t)) => t.clone(),
        None => "—".into(),
    }
}

/// The value of a ranked point as printed: mean (N/A or — without one).
pub(super) fn fmt_ranked_value(p: &ranking::RankedPoint, higher_is_better: bool) -> String {
    match p.agg.value {
        Some(v) => fmt_num(v),
        None if p.agg.n_seeds > 0 && !higher_is_better => "N/A".into(),
        None => "—".into(),
    }
}
