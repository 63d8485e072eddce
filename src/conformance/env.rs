//! Runs environment conformance cases (format `env-case/1`, the book's
//! `formats/env-case.md`): restore `initial_state`, replay `actions`, and
//! compare every observation, reward and flag with what Gymnasium recorded.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::env::{Action, ActionSpace, Env, EnvError, EnvState};

/// One recorded step.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseStep {
    pub obs: Vec<f64>,
    pub reward: f64,
    pub terminated: bool,
    pub truncated: bool,
}

/// `initial_state` of a case.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CaseState {
    Mujoco { qpos: Vec<f64>, qvel: Vec<f64> },
    Classic { state: Vec<f64> },
}

/// One conformance case file.
#[derive(Debug, Clone, Deserialize)]
pub struct EnvCase {
    pub format: String,
    pub name: String,
    pub env: String,
    pub initial_state: CaseState,
    pub initial_obs: Vec<f64>,
    pub actions: Vec<serde_json::Value>,
    pub steps: Vec<CaseStep>,
}

/// Verdict for one case.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every step matched.
    Ok,
    /// The environment is not built in this version: not a pass.
    Skipped(String),
    /// The first mismatch.
    Mismatch(String),
}

/// Errors reading cases.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{path}: cannot read: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an env-case/1 file: {source}")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("{path}: unsupported format `{format}` (expected env-case/1)")]
    Format { path: PathBuf, format: String },
}

/// Reads one case file.
pub fn load_case(path: &Path) -> Result<EnvCase, CaseError> {
    let text = std::fs::read_to_string(path).map_err(|source| CaseError::Io { path: path.into(), source })?;
    let case: EnvCase =
        serde_json::from_str(&text).map_err(|source| CaseError::Parse { path: path.into(), source })?;
    if case.format != "env-case/1" {
        return Err(CaseError::Format { path: path.into(), format: case.format });
    }
    Ok(case)
}

/// The `*.json` files of a directory, sorted by name.
pub fn case_files(dir: &Path) -> Result<Vec<PathBuf>, CaseError> {
    let rd = std::fs::read_dir(dir).map_err(|source| CaseError::Io { path: dir.into(), source })?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    Ok(files)
}

fn close(x: f64, e: f64, tol: f64) -> bool {
    (x - e).abs() <= tol * (1.0 + e.abs())
}

/// Tolerance per FORMAT.md: 1e-8 relative for MuJoCo, 1e-6 for classic control.
fn tolerance(case: &EnvCase) -> f64 {
    match case.initial_state {
        CaseState::Mujoco { .. } => 1e-8,
        CaseState::Classic { .. } => 1e-6,
    }
}

fn compare_vec(what: &str, x: &[f64], e: &[f64], tol: f64) -> Result<(), String> {
    if x.len() != e.len() {
        return Err(format!("{what}: length {} != expected {}", x.len(), e.len()));
    }
    for (k, (a, b)) in x.iter().zip(e).enumerate() {
        if !close(*a, *b, tol) {
            return Err(format!("{what}[{k}] = {a:e}, expected {b:e}"));
        }
    }
    Ok(())
}

fn to_action(space: &ActionSpace, v: &serde_json::Value) -> Result<Action, String> {
    match space {
        ActionSpace::Discrete { .. } => v
            .as_u64()
            .map(|a| Action::Discrete(a as usize))
            .ok_or_else(|| format!("action {v} is not a discrete action")),
        ActionSpace::Continuous { .. } => v
            .as_array()
            .and_then(|a| a.iter().map(|x| x.as_f64()).collect::<Option<Vec<_>>>())
            .map(Action::Continuous)
            .ok_or_else(|| format!("action {v} is not a real vector")),
    }
}

/// Runs one case against `make(case.env)`.
pub fn run_case(case: &EnvCase, make: impl Fn(&str) -> Result<Box<dyn Env>, EnvError>) -> Verdict {
    let mut env = match make(&case.env) {
        Ok(env) => env,
        Err(EnvError::UnknownEnv { .. }) => return Verdict::Skipped(format!("`{}` is not built", case.env)),
        Err(e) => return Verdict::Mismatch(format!("cannot build `{}`: {e}", case.env)),
    };
    match replay(case, env.as_mut()) {
        Ok(()) => Verdict::Ok,
        Err(msg) => Verdict::Mismatch(msg),
    }
}

fn replay(case: &EnvCase, env: &mut dyn Env) -> Result<(), String> {
    use rand::SeedableRng;
    let tol = tolerance(case);
    let mut rng = crate::env::EnvRng::seed_from_u64(0);
    env.reset(&mut rng);
    let state = match &case.initial_state {
        CaseState::Classic { state } => EnvState::Classic(state.clone()),
        CaseState::Mujoco { qpos, qvel } => EnvState::Mujoco { qpos: qpos.clone(), qvel: qvel.clone() },
    };
    let obs = env.set_state(&state).map_err(|e| e.to_string())?;
    let obs = obs.as_vector().ok_or("observation is not a vector")?;
    compare_vec("initial_obs", obs, &case.initial_obs, tol)?;
    if case.actions.len() < case.steps.len() {
        return Err(format!("case has {} steps but only {} actions", case.steps.len(), case.actions.len()));
    }
    let space = env.action_space();
    for (t, (action, expected)) in case.actions.iter().zip(&case.steps).enumerate() {
        let action = to_action(&space, action).map_err(|m| format!("step {t}: {m}"))?;
        let step = env.step(&action).map_err(|e| format!("step {t}: {e}"))?;
        let obs = step.obs.as_vector().ok_or("observation is not a vector")?;
        compare_vec(&format!("step {t}: obs"), obs, &expected.obs, tol)?;
        if !close(step.reward, expected.reward, tol) {
            return Err(format!("step {t}: reward = {:e}, expected {:e}", step.reward, expected.reward));
        }
        if step.terminated != expected.terminated || step.truncated != expected.truncated {
            return Err(format!(
                "step {t}: (terminated, truncated) = ({}, {}), expected ({}, {})",
                step.terminated, step.truncated, expected.terminated, expected.truncated
            ));
        }
        if step.terminated || step.truncated {
            break;
        }
    }
    Ok(())
}
