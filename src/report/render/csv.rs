//! `report.csv`, `grid_ranking.csv` and `claims.csv`.

use std::fmt::Write as _;

use crate::report::Report;
use crate::spec::PaperValue;

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
                // `available`: every row is (an algorithm the build lacks no longer has a
                // row); the column stays so that scripts reading report.csv by position
                // keep working.
                true,
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

/// `claims.csv`: one row per part of each claim.
pub fn render_claims_csv(r: &Report) -> String {
    let mut s = String::from("claim,says,source,metric,claim_verdict,env,part,ours,p_for,p_against,p_against_holm,verdict\n");
    let opt = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_default();
    for (i, c) in r.claims.iter().enumerate() {
        for part in &c.parts {
            let _ = writeln!(
                s,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                i + 1,
                csv_field(&c.says),
                csv_field(&c.source),
                csv_field(&c.metric),
                csv_field(c.verdict.text()),
                csv_field(&part.env),
                csv_field(&part.what),
                csv_field(&part.ours),
                opt(part.p_for),
                opt(part.p_against),
                opt(part.p_against_holm),
                csv_field(part.verdict.text())
            );
        }
    }
    s
}

pub(super) fn csv_field(x: &str) -> String {
    if x.contains([',', '"', '\n']) {
        format!("\"{}\"", x.replace('"', "\"\""))
    } else {
        x.to_string()
    }
}
