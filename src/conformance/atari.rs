//! Replays the Atari conformance cases (`docs/src/formats/env-case.md`, "Atari
//! cases"): the raw emulator (`wrappers: "none"`) or the deepmind chain (`"deepmind"`), from
//! the case's ALE seed, with the case's no-op counts; every md5, reward, flag, life count and
//! frame count must match exactly.

use base64::Engine as _;
use serde::Deserialize;

use crate::env::atari::ale::SCREEN_BYTES;
use crate::env::atari::roms::{self, md5_hex};
use crate::env::atari::warp::{Warp, SIZE};
use crate::env::atari::{self as atari, rom_of, AtariEnv, RawAtari};

/// A reset entry.
#[derive(Debug, Clone, Deserialize)]
pub struct ResetEntry {
    pub real: bool,
    pub noops: u32,
    pub obs: String,
    #[serde(default)]
    pub frame: Option<String>,
    pub lives: i32,
}

/// One entry of `steps`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Entry {
    Reset { reset: ResetEntry },
    Step {
        action: usize,
        obs: String,
        #[serde(default)]
        frame: Option<String>,
        reward: f64,
        raw_reward: f64,
        terminated: bool,
        truncated: bool,
        lives: i32,
        #[serde(default)]
        frames: Option<usize>,
    },
}

/// An Atari case file.
#[derive(Debug, Clone, Deserialize)]
pub struct AtariCase {
    pub format: String,
    pub name: String,
    pub env: String,
    pub wrappers: String,
    pub rom: String,
    pub rom_md5: String,
    pub ale_seed: i32,
    pub action_set: Vec<i32>,
    pub obs_shape: Vec<usize>,
    pub initial_obs_b64: String,
    #[serde(default)]
    pub initial_screen_b64: Option<String>,
    pub steps: Vec<Entry>,
}

fn b64(s: &str, what: &str) -> Result<Vec<u8>, String> {
    base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| format!("{what}: bad base64: {e}"))
}

fn eq<T: PartialEq + std::fmt::Debug>(at: &str, what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{at}: {what} = {got:?}, expected {want:?}"))
    }
}

/// Replays a case; `Err` holds the first mismatch.
pub fn replay(case: &AtariCase) -> Result<(), String> {
    if case.format != "env-case/1" {
        return Err(format!("unsupported format `{}`", case.format));
    }
    let rom = rom_of(&case.env).ok_or_else(|| format!("`{}` is not a registered Atari id", case.env))?;
    eq("case", "rom", rom, case.rom.as_str())?;
    eq("case", "rom_md5", roms::expected_md5(rom), Some(case.rom_md5.as_str()))?;
    match case.wrappers.as_str() {
        "none" => replay_raw(case, rom),
        "deepmind" => replay_deepmind(case, rom),
        w => Err(format!("unknown wrappers `{w}`")),
    }
}

fn replay_raw(case: &AtariCase, rom: &str) -> Result<(), String> {
    eq("case", "obs_shape", case.obs_shape.as_slice(), &[210, 160, 3][..])?;
    let mut env = RawAtari::new(rom, "conformance").map_err(|e| e.to_string())?;
    let mut screen = vec![0u8; SCREEN_BYTES];
    let mut first = true;
    for (t, entry) in case.steps.iter().enumerate() {
        let at = format!("steps[{t}]");
        match entry {
            Entry::Reset { reset } => {
                if first {
                    env.seed_and_load(case.ale_seed);
                    eq(&at, "action_set", env.actions(), case.action_set.as_slice())?;
                }
                env.reset_game();
                eq(&at, "noops", reset.noops, 0)?;
                env.screen(&mut screen);
                if first {
                    let want = b64(&case.initial_obs_b64, "initial_obs_b64")?;
                    eq(&at, "initial observation bytes equal", screen == want, true)?;
                    first = false;
                }
                eq(&at, "obs md5", md5_hex(&screen), reset.obs.clone())?;
                eq(&at, "lives", env.lives(), reset.lives)?;
            }
            Entry::Step { action, obs, reward, raw_reward, terminated, truncated, lives, .. } => {
                let s = env.step(*action);
                env.screen(&mut screen);
                eq(&at, "obs md5", md5_hex(&screen), obs.clone())?;
                eq(&at, "reward", f64::from(s.reward), *reward)?;
                eq(&at, "raw_reward", f64::from(s.reward), *raw_reward)?;
                eq(&at, "terminated", s.terminated, *terminated)?;
                eq(&at, "truncated", s.truncated, *truncated)?;
                eq(&at, "lives", env.lives(), *lives)?;
            }
        }
    }
    Ok(())
}

fn replay_deepmind(case: &AtariCase, rom: &str) -> Result<(), String> {
    eq("case", "obs_shape", case.obs_shape.as_slice(), &[4, 84, 84][..])?;
    // The warp alone, on the recorded screen.
    if let Some(s) = &case.initial_screen_b64 {
        let screen = b64(s, "initial_screen_b64")?;
        let obs = b64(&case.initial_obs_b64, "initial_obs_b64")?;
        let mut f = vec![0u8; SIZE * SIZE];
        Warp::new().apply(&screen, &mut f);
        eq("initial_screen_b64", "warp equals the newest frame of initial_obs", f[..] == obs[3 * SIZE * SIZE..], true)?;
    }
    let id: &'static str = atari::REGISTRY
        .iter()
        .find(|e| e.id == case.env)
        .map(|e| e.id)
        .ok_or_else(|| format!("`{}` not registered", case.env))?;
    let mut env = AtariEnv::new(rom, id).map_err(|e| e.to_string())?;
    env.load_with_seed(case.ale_seed);
    eq("case", "action_set", env.actions(), case.action_set.as_slice())?;
    let mut first = true;
    let mut never = || -> u32 { panic!("a FireReset step ended the game: the recorder rejects such cases") };
    for (t, entry) in case.steps.iter().enumerate() {
        let at = format!("steps[{t}]");
        match entry {
            Entry::Reset { reset } => {
                let real = env.reset_with(reset.noops, &mut never);
                eq(&at, "real", real, reset.real)?;
                if first {
                    let want = b64(&case.initial_obs_b64, "initial_obs_b64")?;
                    eq(&at, "initial observation bytes equal", env.stack() == want, true)?;
                    first = false;
                }
                eq(&at, "obs md5", md5_hex(&env.stack()), reset.obs.clone())?;
                if let Some(f) = &reset.frame {
                    eq(&at, "frame md5", md5_hex(env.frame()), f.clone())?;
                }
                eq(&at, "lives", env.lives(), reset.lives)?;
            }
            Entry::Step { action, obs, frame, reward, raw_reward, terminated, truncated, lives, frames } => {
                let (r, term, trunc, n) = env.step_raw(*action);
                eq(&at, "obs md5", md5_hex(&env.stack()), obs.clone())?;
                if let Some(f) = frame {
                    eq(&at, "frame md5", md5_hex(env.frame()), f.clone())?;
                }
                eq(&at, "raw_reward", r, *raw_reward)?;
                eq(&at, "reward", atari::clip(r), *reward)?;
                eq(&at, "terminated", term, *terminated)?;
                eq(&at, "truncated", trunc, *truncated)?;
                eq(&at, "lives", env.lives(), *lives)?;
                if let Some(f) = frames {
                    eq(&at, "frames", n, *f)?;
                }
            }
        }
    }
    Ok(())
}
