//! Runs TRPO conformance cases (format `trpo-case/1`, `golden/trpo/FORMAT.md`): one policy
//! step of [`crate::algo::trpo::policy_step`] on a network built from the case's parameters,
//! compared with the float64 reference (`golden/gen/make_trpo_cases.py`) at every stage:
//! standardised advantages, the surrogate and its gradient, a Fisher-vector product, every
//! CG iterate, the step, each line-search try and its decision, and the parameters after.

use std::path::Path;

use serde::Deserialize;

use super::kfac::{compare, f32s, layer_specs, CaseLayer, CaseParams, CaseTensor};
use crate::algo::trpo::{policy_step, standardise, PolicyBatch, StepConfig, Verdict};
use crate::nets::{self, ActionBatch, Engine, LayerSpec};

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseDistribution {
    Categorical,
    Gaussian { log_std: CaseTensor },
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseBatch {
    pub obs: CaseTensor,
    pub actions: CaseTensor,
    pub advantages: CaseTensor,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseProbe {
    pub v: CaseTensor,
    #[serde(rename = "Fv")]
    pub fv: CaseTensor,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseTry {
    pub stepsize: f64,
    pub surrogate: f64,
    pub kl: f64,
    pub improve: f64,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CaseExpected {
    pub advantages: CaseTensor,
    pub surrogate_before: f64,
    pub entropy: f64,
    pub g: CaseTensor,
    pub fvp_probe: CaseProbe,
    pub cg_iterates: Vec<CaseTensor>,
    pub stepdir: CaseTensor,
    pub shs: f64,
    pub lm: f64,
    pub fullstep: CaseTensor,
    pub expected_improve: f64,
    pub line_search: Vec<CaseTry>,
    pub stepped: bool,
    pub params_after: CaseTensor,
}

/// One case file.
#[derive(Debug, Clone, Deserialize)]
pub struct TrpoCase {
    pub format: String,
    pub name: String,
    pub config: StepConfig,
    pub network: Vec<CaseLayer>,
    pub input_shape: Vec<usize>,
    pub distribution: CaseDistribution,
    pub initial_params: Vec<CaseParams>,
    pub batch: CaseBatch,
    pub expected: CaseExpected,
}

/// Reads a case, checking its format.
pub fn load_case(path: &Path) -> Result<TrpoCase, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let case: TrpoCase = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if case.format != "trpo-case/1" {
        return Err(format!("{}: unsupported format `{}`", path.display(), case.format));
    }
    Ok(case)
}

/// A scalar within `1e-3 |e| + 1e-6`, or within `1e-3 scale + 1e-6` for a difference whose
/// natural size is `scale`.
fn close(what: &str, x: f64, e: f64, scale: f64) -> Result<(), String> {
    let tol = 1e-3 * e.abs().max(scale) + 1e-6;
    if (x - e).abs() <= tol {
        Ok(())
    } else {
        Err(format!("{what}: {x:e}, expected {e:e} (tolerance {tol:e})"))
    }
}

/// Runs a case; `Err` holds the first mismatch.
pub fn run_case(case: &TrpoCase) -> Result<(), String> {
    let specs = layer_specs(&case.network)?;
    let Some((LayerSpec::Linear { activation: None, .. }, torso)) = specs.split_last() else {
        return Err("the network must end in a linear layer with activation `none` (the distribution's parameters)".into());
    };
    let params: Vec<(Vec<f32>, Vec<f32>)> = case.initial_params.iter().map(|p| (f32s(&p.weight), f32s(&p.bias))).collect();
    let Some((head, torso_params)) = params.split_last() else {
        return Err("no parameters".into());
    };
    let log_std = match &case.distribution {
        CaseDistribution::Categorical => None,
        CaseDistribution::Gaussian { log_std } => Some(f32s(log_std)),
    };
    let mut net = nets::with_policy(Engine::Cpu, &case.input_shape, torso, torso_params, head.clone(), log_std).and_then(|n| n.into_trpo()).map_err(|e| e.to_string())?;
    let rows = case.batch.obs.shape[0];
    let obs = f32s(&case.batch.obs);
    let actions = f32s(&case.batch.actions);
    let action_batch = match &case.distribution {
        CaseDistribution::Categorical => ActionBatch::Discrete(&actions),
        CaseDistribution::Gaussian { .. } => ActionBatch::Continuous { values: &actions, dim: actions.len() / rows },
    };
    let raw: Vec<f32> = f32s(&case.batch.advantages);
    let advantages = standardise(&raw);
    let e = &case.expected;
    compare("standardised advantages", &advantages, &e.advantages.data)?;
    // A Fisher-vector product on the rows the step uses.
    let width = obs.len() / rows;
    let sub: Vec<f32> = obs.chunks(width).step_by(case.config.fvp_subsample).flatten().copied().collect();
    let fv = net.policy_fvp(&sub, sub.len() / width, &e.fvp_probe.v.data).map_err(|e| e.to_string())?;
    compare("Fisher-vector product", &fv, &e.fvp_probe.fv.data)?;
    let cfg = case.config;
    let batch = PolicyBatch { obs: &obs, rows, actions: action_batch, advantages: &advantages };
    let step = policy_step(&mut *net, &batch, &cfg).map_err(|e| e.to_string())?;
    close("surrogate before", step.surrogate_before, e.surrogate_before, 0.0)?;
    close("entropy", step.entropy, e.entropy, 0.0)?;
    compare("g", &step.g, &e.g.data)?;
    if step.cg_iterates.len() != e.cg_iterates.len() {
        return Err(format!("CG ran {} iterations, expected {}", step.cg_iterates.len(), e.cg_iterates.len()));
    }
    for (k, (x, ex)) in step.cg_iterates.iter().zip(&e.cg_iterates).enumerate() {
        compare(&format!("CG iterate {}", k + 1), x, &ex.data)?;
    }
    compare("stepdir", &step.stepdir, &e.stepdir.data)?;
    close("shs", step.shs, e.shs, 0.0)?;
    close("lm", step.lm, e.lm, 0.0)?;
    compare("fullstep", &step.fullstep, &e.fullstep.data)?;
    close("expected improvement", step.expected_improve, e.expected_improve, 0.0)?;
    if step.line_search.len() != e.line_search.len() {
        return Err(format!("the line search made {} tries, expected {}", step.line_search.len(), e.line_search.len()));
    }
    for (k, (t, et)) in step.line_search.iter().zip(&e.line_search).enumerate() {
        let at = format!("line-search try {} (step size {})", k + 1, et.stepsize);
        if t.stepsize != et.stepsize || t.verdict != et.verdict {
            return Err(format!("{at}: step size {} and {:?}, expected {:?}", t.stepsize, t.verdict, et.verdict));
        }
        close(&format!("{at} surrogate"), t.surrogate, et.surrogate, 0.0)?;
        close(&format!("{at} KL"), t.kl, et.kl, 0.0)?;
        close(&format!("{at} improvement"), t.improve, et.improve, (e.expected_improve * et.stepsize).abs())?;
    }
    if step.stepped != e.stepped {
        return Err(format!("stepped {}, expected {}", step.stepped, e.stepped));
    }
    let after: Vec<f64> = net.policy_params().into_iter().map(f64::from).collect();
    compare("parameters after", &after, &e.params_after.data)?;
    Ok(())
}
