//! Replays the pixel cases (format `pixel-case/1`, `golden/pixels/FORMAT.md`): the task on
//! its own model with the case's visual settings, each segment's `initial_state` restored,
//! a frame drawn, then a frame after each action; every frame must be byte-identical to what
//! Gymnasium 1.4.0 drew ([`crate::env::pixels`]).

use std::path::Path;

pub use super::kfac::case_files;

use base64::Engine as _;
use serde::Deserialize;

use crate::env::mujoco::Task;
use crate::env::pixels::{PixelCamera, PixelMujoco, PixelSettings, Visuals};
use crate::env::{Action, Env, EnvState, Observation};

/// A frame as recorded: the md5 of its bytes, and the bytes in base64.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseFrame {
    pub md5: String,
    pub rgb: String,
}

/// The state after a segment's reset.
#[derive(Debug, Clone, Deserialize)]
pub struct CaseState {
    pub qpos: Vec<f64>,
    pub qvel: Vec<f64>,
}

/// One reset and the steps after it.
#[derive(Debug, Clone, Deserialize)]
pub struct Segment {
    pub reset_seed: u64,
    pub initial_state: CaseState,
    pub actions: Vec<Vec<f64>>,
    pub frames: Vec<CaseFrame>,
}

/// The camera as the case names it (the recorded pose is for diagnosis).
#[derive(Debug, Clone, Deserialize)]
pub struct CaseCamera {
    pub name: String,
}

/// One case file.
#[derive(Debug, Clone, Deserialize)]
pub struct PixelCase {
    pub format: String,
    pub name: String,
    pub env_id: String,
    pub width: usize,
    pub height: usize,
    pub visuals: String,
    pub camera: CaseCamera,
    pub segments: Vec<Segment>,
}

/// Reads a case, checking its format.
pub fn load_case(path: &Path) -> Result<PixelCase, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let case: PixelCase = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if case.format != "pixel-case/1" {
        return Err(format!("{}: format `{}`, expected pixel-case/1", path.display(), case.format));
    }
    Ok(case)
}

/// The current frame of an observation (its second half, channel-major) as the recorder
/// stores frames: rows of RGB pixels.
fn current_frame(obs: &Observation, size: usize) -> Result<Vec<u8>, String> {
    let Observation::Frames(f) = obs else { return Err("not a frame observation".into()) };
    let plane = size * size;
    if f.len() != 6 * plane {
        return Err(format!("{} bytes for two {size}x{size} RGB frames", f.len()));
    }
    let current = &f[3 * plane..];
    Ok((0..plane).flat_map(|p| (0..3).map(move |c| current[c * plane + p])).collect())
}

/// Replays one case: `Ok` when every frame is the recorded one, else where the first
/// difference is (frame, pixel and both colours).
pub fn run_case(case: &PixelCase) -> Result<(), String> {
    let task = Task::ALL.into_iter().find(|t| t.id() == case.env_id).ok_or_else(|| format!("`{}` is not a MuJoCo task", case.env_id))?;
    let visuals = match case.visuals.as_str() {
        "default" => Visuals::Default,
        "fast" => Visuals::Fast,
        other => return Err(format!("visuals `{other}`")),
    };
    let camera = match case.camera.name.as_str() {
        "free" => PixelCamera::Free,
        name => PixelCamera::Named(name.to_string()),
    };
    if case.width != case.height {
        return Err(format!("a {}x{} frame: pixel tasks are square", case.width, case.height));
    }
    let mut env = PixelMujoco::new(task, PixelSettings { size: case.width, camera, visuals }).map_err(|e| e.to_string())?;
    for (s, seg) in case.segments.iter().enumerate() {
        if seg.frames.len() != seg.actions.len() + 1 {
            return Err(format!("segment {s}: {} frames for {} actions", seg.frames.len(), seg.actions.len()));
        }
        let state = EnvState::Mujoco { qpos: seg.initial_state.qpos.clone(), qvel: seg.initial_state.qvel.clone() };
        let mut obs = env.set_state(&state).map_err(|e| e.to_string())?;
        for (t, want) in seg.frames.iter().enumerate() {
            if t > 0 {
                obs = env.step(&Action::Continuous(seg.actions[t - 1].clone())).map_err(|e| e.to_string())?.obs;
            }
            let got = current_frame(&obs, case.width)?;
            let got = got.as_slice();
            let want_bytes = base64::engine::general_purpose::STANDARD.decode(&want.rgb).map_err(|e| format!("segment {s} frame {t}: {e}"))?;
            if got != want_bytes.as_slice() {
                let at = got.iter().zip(&want_bytes).position(|(a, b)| a != b).unwrap_or(got.len().min(want_bytes.len()));
                let differ = got.iter().zip(&want_bytes).filter(|(a, b)| a != b).count();
                let (px, w) = (at / 3, case.width);
                let colour = |v: &[u8]| v.get(px * 3..px * 3 + 3).map(|c| format!("{c:?}")).unwrap_or_default();
                return Err(format!(
                    "segment {s} (reset seed {}) frame {t}: {differ} of {} bytes differ, the first at row {}, column {}: ours {}, Gymnasium's {} (md5 {})",
                    seg.reset_seed,
                    want_bytes.len(),
                    px / w,
                    px % w,
                    colour(got),
                    colour(&want_bytes),
                    want.md5
                ));
            }
        }
    }
    Ok(())
}
