//! The paper's claims about its results (`claims:` in a spec), each with the check that
//! decides it: its words and where it says them, a metric of the spec, the environments it
//! is about, and one of four checks ([`ClaimCheck`]). The report decides each
//! ([`crate::report::claims`]): holds, does not hold, or inconclusive.

use super::checker::{per_env_numbers, Checker};
use super::raw::{RawClaim, RawComparison, RawSpec};
use super::{AlgorithmSpec, MetricSpec, SpecError};
use serde::Serialize;
use std::collections::BTreeMap;

/// How one row compares with others, seed by seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// Better than each other row by more than the margin (default 0): "significantly
    /// outperformed".
    Ahead,
    /// Not worse than any other row by more than the margin: "performed competitively".
    NotBehind,
    /// Within the margin of each other row, both ways: "on par".
    OnPar,
}

impl Comparison {
    /// The spec's key.
    pub fn key(self) -> &'static str {
        match self {
            Comparison::Ahead => "ahead",
            Comparison::NotBehind => "not_behind",
            Comparison::OnPar => "on_par",
        }
    }
}

/// What decides a claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ClaimCheck {
    /// `row` against each row of `vs` on each environment; `margin` per environment, in the
    /// metric's units.
    Compare { kind: Comparison, row: String, vs: Vec<String>, margin: BTreeMap<String, f64> },
    /// `row`'s value (mean over seeds) lies in `[lo, hi]` on each environment.
    Within { row: String, lo: f64, hi: f64 },
}

/// One checked claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Claim {
    pub says: String,
    pub source: String,
    /// Index into the spec's metrics.
    pub metric: usize,
    pub envs: Vec<String>,
    pub check: ClaimCheck,
}

/// Checks `claims:` against the spec's metrics, environments and rows.
pub(super) fn check(
    c: &Checker,
    raw: &RawSpec,
    metrics: &[MetricSpec],
    algorithms: &[AlgorithmSpec],
) -> Result<Vec<Claim>, SpecError> {
    raw.claims.iter().enumerate().map(|(i, cl)| claim(c, &format!("claims[{i}]"), cl, raw, metrics, algorithms)).collect()
}

fn claim(
    c: &Checker,
    at: &str,
    cl: &RawClaim,
    raw: &RawSpec,
    metrics: &[MetricSpec],
    algorithms: &[AlgorithmSpec],
) -> Result<Claim, SpecError> {
    for (field, text) in [("says", &cl.says), ("source", &cl.source)] {
        if text.trim().is_empty() {
            return Err(c.err(format!("{at}.{field}"), "the text is empty"));
        }
    }
    let metric = metrics.iter().position(|m| m.name == cl.metric).ok_or_else(|| {
        let known: Vec<&str> = metrics.iter().map(|m| m.name.as_str()).collect();
        c.err(format!("{at}.metric"), format!("`{}` is not one of the spec's metrics (known: {})", cl.metric, known.join(", ")))
    })?;
    let envs = match &cl.envs {
        None => raw.envs.clone(),
        Some(list) => {
            if list.is_empty() {
                return Err(c.err(format!("{at}.envs"), "the list is empty; remove it for every environment of the spec"));
            }
            for (j, e) in list.iter().enumerate() {
                if !raw.envs.contains(e) {
                    return Err(c.err(format!("{at}.envs[{j}]"), format!("`{e}` is not one of the spec's envs ({})", raw.envs.join(", "))));
                }
                if list[..j].contains(e) {
                    return Err(c.err(format!("{at}.envs[{j}]"), format!("`{e}` appears twice")));
                }
            }
            list.clone()
        }
    };
    let given: Vec<&str> = [
        cl.ahead.as_ref().map(|_| "ahead"),
        cl.not_behind.as_ref().map(|_| "not_behind"),
        cl.on_par.as_ref().map(|_| "on_par"),
        cl.within.as_ref().map(|_| "within"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() != 1 {
        let why = if given.is_empty() { "no check".to_string() } else { format!("several checks ({})", given.join(", ")) };
        return Err(c.err(at, format!("{why}: give exactly one of `ahead`, `not_behind`, `on_par` or `within`")));
    }
    let rows = Rows { c, algorithms, envs: &envs };
    let check = if let Some(w) = &cl.within {
        let f = format!("{at}.within");
        rows.check(&format!("{f}.row"), &w.row)?;
        let [lo, hi] = w.range[..] else {
            return Err(c.err(format!("{f}.range"), format!("give two numbers, [low, high], not {}", w.range.len())));
        };
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            return Err(c.err(format!("{f}.range"), format!("[{lo}, {hi}] is not a range: give two finite numbers, the low one first")));
        }
        ClaimCheck::Within { row: w.row.clone(), lo, hi }
    } else {
        let (kind, cmp) = match (&cl.ahead, &cl.not_behind, &cl.on_par) {
            (Some(x), _, _) => (Comparison::Ahead, x),
            (_, Some(x), _) => (Comparison::NotBehind, x),
            (_, _, Some(x)) => (Comparison::OnPar, x),
            _ => unreachable!("exactly one check is given"),
        };
        comparison(c, &format!("{at}.{}", kind.key()), kind, cmp, &rows)?
    };
    Ok(Claim { says: cl.says.clone(), source: cl.source.clone(), metric, envs, check })
}

/// The spec's rows, for checking a claim's row names.
struct Rows<'a> {
    c: &'a Checker<'a>,
    algorithms: &'a [AlgorithmSpec],
    envs: &'a [String],
}

impl Rows<'_> {
    /// `name` is an algorithm row or a grid row that runs on every environment of the claim.
    fn check(&self, field: &str, name: &str) -> Result<(), SpecError> {
        let labels = |a: &AlgorithmSpec| -> Vec<String> {
            std::iter::once(a.name.clone())
                .chain(a.grid.iter().filter(|p| !p.point.0.is_empty()).map(|p| format!("{} [{}]", a.name, p.point.label())))
                .collect()
        };
        let Some(alg) = self.algorithms.iter().find(|a| labels(a).iter().any(|l| l == name)) else {
            let known: Vec<String> = self.algorithms.iter().flat_map(labels).collect();
            return Err(self.c.err(field, format!("`{name}` is not one of the spec's rows (known: {})", known.join(", "))));
        };
        if let Some(env) = self.envs.iter().find(|e| !alg.runs_on(e)) {
            return Err(self.c.err(field, format!("`{name}` does not run on {env}; list the claim's `envs`")));
        }
        Ok(())
    }
}

fn comparison(c: &Checker, f: &str, kind: Comparison, cmp: &RawComparison, rows: &Rows) -> Result<ClaimCheck, SpecError> {
    rows.check(&format!("{f}.row"), &cmp.row)?;
    if cmp.vs.is_empty() {
        return Err(c.err(format!("{f}.vs"), "name at least one row to compare with"));
    }
    for (j, v) in cmp.vs.iter().enumerate() {
        let fj = format!("{f}.vs[{j}]");
        if *v == cmp.row || cmp.vs[..j].contains(v) {
            return Err(c.err(fj, format!("`{v}` appears twice among the claim's rows")));
        }
        rows.check(&fj, v)?;
    }
    let margin = per_env_numbers(c, &format!("{f}.margin"), cmp.margin.as_ref(), rows.envs, "the claim")?;
    match (kind, margin.is_empty(), margin.values().any(|m| *m == 0.0)) {
        (Comparison::NotBehind | Comparison::OnPar, true, _) => {
            Err(c.err(format!("{f}.margin"), format!("`{}` needs a margin: how far apart, in the metric's units, still counts", kind.key())))
        }
        (Comparison::OnPar, false, true) => Err(c.err(format!("{f}.margin"), "`on_par` needs a positive margin on every environment")),
        _ => Ok(ClaimCheck::Compare { kind, row: cmp.row.clone(), vs: cmp.vs.clone(), margin }),
    }
}

