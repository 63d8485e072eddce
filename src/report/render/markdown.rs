//! `report.md`.

use std::fmt::Write as _;

use super::{fmt_ci, fmt_num, fmt_ours, fmt_paper, fmt_ranked_value};
use crate::report::{claims, metrics, ranking, Report};

/// The Markdown report: the header and its banners, a table per metric, other methods'
/// numbers, the across-task statistic, the claims, the grid rankings, the figures, notes,
/// the cells still missing, and what the columns mean.
pub fn render_markdown(r: &Report) -> String {
    let mut s = String::new();
    header(&mut s, r);
    metric_tables(&mut s, r);
    if let Some(refs) = &r.references {
        render_references_markdown(&mut s, r, refs);
    }
    across_tasks(&mut s, r);
    if !r.claims.is_empty() {
        render_claims_markdown(&mut s, r);
    }
    if let Some(g) = &r.grid_rankings {
        render_rankings_markdown(&mut s, g);
    }
    figures(&mut s, r);
    for note in &r.notes {
        let _ = writeln!(s, "> **Note:** {note}\n");
    }
    missing_cells(&mut s, r);
    footer(&mut s);
    s
}

/// The title, what it reproduces, who made the cells, and the banners of a partial,
/// short or cut-short run.
fn header(s: &mut String, r: &Report) {
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
}

/// One table per metric: every row beside the paper's number, with its interval and
/// verdict.
fn metric_tables(s: &mut String, r: &Report) {
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
                fmt_ours(m),
                fmt_ci(m),
                m.verdict.text()
            );
        }
        s.push('\n');
    }
}

/// The interquartile mean across tasks, per algorithm and metric.
fn across_tasks(s: &mut String, r: &Report) {
    if r.across_tasks.is_empty() {
        return;
    }
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

/// The figures, PNG inline with a link to the SVG.
fn figures(s: &mut String, r: &Report) {
    if r.figures.is_empty() {
        return;
    }
    let _ = writeln!(s, "## Figures\n");
    if let Some(c) = &r.figure_caption {
        let _ = writeln!(s, "{c}\n");
    }
    for f in r.figures.iter().filter(|f| f.ends_with(".png")) {
        let svg = f.trim_end_matches(".png").to_string() + ".svg";
        let _ = writeln!(s, "![{f}]({f}) ([SVG]({svg}))\n");
    }
}

/// The cells not finished when the report was built.
fn missing_cells(s: &mut String, r: &Report) {
    if r.missing.is_empty() {
        return;
    }
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

/// What "Ours", the interval, the verdict, N/A and — mean.
fn footer(s: &mut String) {
    let _ = writeln!(
        s,
        "Ours: mean ± sample standard deviation (ddof 1) over the seeds the metric uses (the best ones where the spec says so); 95% CI: percentile bootstrap over seeds ({} resamples). Verdict: within the interval (the paper's number lies inside ours), or above / below (our interval lies above / below the paper's number). N/A: a needed seed never reached the threshold; —: no value (e.g. fewer episodes than the window).",
        metrics::BOOTSTRAP_RESAMPLES
    );
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
                    line += &format!(" {} | {} |", fmt_paper(&m.paper), fmt_ours(m));
                }
                None => line += " — | — |",
            }
        }
        let _ = writeln!(s, "{line}");
    }
    s.push('\n');
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

/// The CSV report: one line per (row, metric); empty fields where there is no value.
/// The claims section: one line per claim with its verdict, then every part.
fn render_claims_markdown(s: &mut String, r: &Report) {
    let _ = writeln!(s, "## The paper's claims\n");
    let _ = writeln!(
        s,
        "Decided on our seeds: a comparison by a one-sided permutation test of rank sums at level {level} on every environment and pair of rows, all of which must hold; the claim does not hold when a part's p-value against it stays at most {level} after Holm's correction over the claim's parts; a range by the 95% bootstrap interval of the mean over seeds; \"too few seeds\" where no outcome of the seeds there are could reach p ≤ {level} (the book's page \"The paper's claims\").\n",
        level = claims::LEVEL
    );
    if r.budget_timesteps != r.paper_budget_timesteps {
        let _ = writeln!(
            s,
            "> **Not the paper's budget:** decided at {} timesteps per cell, where the paper's claims are about {}.\n",
            r.budget_timesteps, r.paper_budget_timesteps
        );
    }
    let _ = writeln!(s, "| # | The paper says | Where | Check | Verdict |");
    let _ = writeln!(s, "|---:|---|---|---|---|");
    for (i, c) in r.claims.iter().enumerate() {
        let _ = writeln!(s, "| {} | {} | {} | {} | **{}** |", i + 1, md_cell(&c.says), md_cell(&c.source), md_cell(&c.check), c.verdict.text());
    }
    let _ = writeln!(s, "\n| # | Environment | Part | Ours | p (for) | p (against, Holm) | Verdict of the part |");
    let _ = writeln!(s, "|---:|---|---|---|---:|---:|---|");
    let p = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into());
    for (i, c) in r.claims.iter().enumerate() {
        for part in &c.parts {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                i + 1,
                part.env,
                md_cell(&part.what),
                part.ours,
                p(part.p_for),
                p(part.p_against_holm),
                part.verdict.text()
            );
        }
    }
    s.push('\n');
}

/// Text for a Markdown table cell (`|` escaped, one line).
fn md_cell(x: &str) -> String {
    x.replace('|', "\\|").replace('\n', " ")
}
