//! `acktr bench`: timesteps per second of environment stepping alone (`--algo none`; the
//! engines alone: `--algo mujoco`, `--algo ale`) or of
//! training (`a2c`, `acktr`, `acktr:<preset>`), single-threaded, as one JSON line — the
//! measurement behind the paper's Table 3 and the README's speed figures.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::algo::{self, AlgoError, AlgorithmConfig};
use crate::env::{self, Action, ActionSpace, EnvError, VecEnv};
use crate::nets::Engine;

/// What to run.
#[derive(Debug, Clone, PartialEq)]
pub enum BenchAlgo {
    /// Environment stepping with uniformly random actions.
    None,
    /// MuJoCo itself (MuJoCo tasks only): `frame_skip` raw `mj_step` calls per timestep with
    /// random controls, no observation or reward, reset every `max_episode_steps` — the
    /// baseline the environment's own speed is judged against.
    Mujoco,
    /// The Arcade Learning Environment itself (Atari games only): 4 raw `act` frames per
    /// timestep (the frame skip) with uniformly random minimal-set actions, `reset_game` at
    /// game over; no screen, warp, pooling or stack — the baseline `none` is judged against.
    Ale,
    /// Training with this configuration.
    Train(AlgorithmConfig),
}

/// Errors of `bench`.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("unknown algorithm `{0}` (known: {known})", known = known_algos())]
    UnknownAlgo(String),
    #[error(transparent)]
    Env(#[from] EnvError),
    #[error(transparent)]
    Algo(#[from] AlgoError),
    #[error("{0}")]
    BadArgument(String),
    #[error("`--algo mujoco` needs a MuJoCo task, not `{0}`")]
    NotMujoco(String),
    #[error("`--algo ale` needs an Atari game (`<Game>NoFrameskip-v4`, built with the `atari` feature), not `{0}`")]
    NotAtari(String),
    #[error("cannot start a single worker thread: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// `none`, `mujoco`, `ale`, then every registered algorithm and `algorithm:preset`.
pub fn known_algos() -> String {
    let mut k = vec!["none".to_string(), "mujoco".to_string(), "ale".to_string()];
    for e in crate::algo::ALGORITHMS {
        k.push(e.key.to_string());
        k.extend(e.presets.iter().map(|p| format!("{}:{p}", e.key)));
    }
    k.join(", ")
}

/// `bench --algo`'s help, from the algorithm registry.
pub fn algo_help() -> String {
    format!(
        "`none` (the environment only), `mujoco` (raw MuJoCo stepping, MuJoCo tasks), `ale` (raw ALE frames, Atari games), or an algorithm of the registry, with a preset after a colon: {}",
        crate::algo::ALGORITHMS
            .iter()
            .flat_map(|e| std::iter::once(e.key.to_string()).chain(e.presets.iter().map(move |p| format!("{}:{p}", e.key))))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

impl BenchError {
    /// Whether the command line was at fault (exit code 2).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            BenchError::UnknownAlgo(_)
                | BenchError::BadArgument(_)
                | BenchError::NotMujoco(_)
                | BenchError::NotAtari(_)
                | BenchError::Env(EnvError::UnknownEnv { .. } | EnvError::NoPixels { .. })
        )
    }
}

impl BenchAlgo {
    /// Parses `none`, `mujoco`, `ale`, an algorithm's key (its defaults) or `key:preset`;
    /// `network` (an architecture, e.g. `atari_acktr`) replaces the configuration's torso.
    pub fn parse(name: &str, network: Option<&str>) -> Result<Self, BenchError> {
        let unknown = || BenchError::UnknownAlgo(name.into());
        Ok(match name {
            "none" => BenchAlgo::None,
            "mujoco" => BenchAlgo::Mujoco,
            "ale" => BenchAlgo::Ale,
            _ => {
                let (key, preset) = match name.split_once(':') {
                    Some((k, p)) => (k, Some(p)),
                    None => (name, None),
                };
                let entry = crate::algo::lookup(key).ok_or_else(unknown)?;
                let mut cfg = match preset {
                    None => (entry.defaults)(),
                    Some(p) => (entry.preset)(serde_yaml::Value::String(p.into())).map_err(|_| unknown())?,
                };
                if let Some(arch) = network {
                    let mut y = cfg.inner_yaml();
                    let bad = |why: String| BenchError::BadArgument(format!("--network {arch}: {why}"));
                    let net = y
                        .as_mapping_mut()
                        .and_then(|m| m.get_mut("network"))
                        .and_then(|n| n.as_mapping_mut())
                        .ok_or_else(|| bad(format!("`{key}` has no network")))?;
                    net.insert("architecture".into(), serde_yaml::Value::String(arch.into()));
                    cfg = (entry.typed)(y).map_err(|e| bad(e.message))?;
                }
                BenchAlgo::Train(cfg)
            }
        })
    }
}

/// The JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    pub env: String,
    pub algo: String,
    pub steps: u64,
    pub num_envs: usize,
    /// Threads the run used (`--threads`).
    pub threads: usize,
    pub steps_per_update: usize,
    pub seconds: f64,
    pub steps_per_sec: f64,
}

impl BenchResult {
    /// The line of an engine-only run (`mujoco`, `ale`): one copy, no updates.
    fn engine(env: &str, algo: &str, steps: u64, seconds: f64) -> Self {
        Self {
            env: env.into(),
            algo: algo.into(),
            steps,
            num_envs: 1,
            threads: 1,
            steps_per_update: 0,
            seconds,
            steps_per_sec: steps as f64 / seconds,
        }
    }
}

/// What `acktr bench` times (its flags).
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Gymnasium id.
    pub env: String,
    /// `none`, `mujoco`, `ale` or an algorithm of the registry (`key[:preset]`; [`algo_help`]).
    pub algo: String,
    /// The torso to train with, over the configuration's own.
    pub network: Option<String>,
    /// Timesteps to run.
    pub steps: u64,
    /// Environment copies.
    pub num_envs: usize,
    /// Threads the run uses.
    pub threads: usize,
    /// Steps of every copy per update.
    pub steps_per_update: usize,
    /// `--engine`: the networks' engine.
    pub engine: Option<Engine>,
    /// `--pixels`: observe the task through its frames (a MuJoCo task).
    pub observe: env::Observe,
}

/// Runs `steps` timesteps on `threads` threads: the environment copies
/// ([`VecEnv::set_threads`]), the network's products and K-FAC's work
/// ([`crate::algo::Algorithm::set_threads`]).
pub fn bench(o: &BenchOptions) -> Result<BenchResult, BenchError> {
    let BenchOptions { env: env_id, algo: algo_name, network, steps, num_envs, threads, steps_per_update, engine, observe } = o;
    let (env_id, algo_name, network) = (env_id.as_str(), algo_name.as_str(), network.as_deref());
    let (steps, num_envs, threads, steps_per_update, engine) = (*steps, *num_envs, *threads, *steps_per_update, *engine);
    for (flag, v) in [("--steps", steps as usize), ("--num-envs", num_envs), ("--threads", threads), ("--steps-per-update", steps_per_update)] {
        if v == 0 {
            return Err(BenchError::BadArgument(format!("{flag} must be at least 1")));
        }
    }
    let mut algo = BenchAlgo::parse(algo_name, network)?;
    // `--engine` (global): the training algorithms' networks run on it; the environment
    // alone has no network, so only `cpu` (the default) goes with `none`, `mujoco`, `ale`.
    if let Some(engine) = engine {
        if let Some(why) = engine.not_compiled_in() {
            return Err(BenchError::BadArgument(format!("--engine: {why}")));
        }
        match &mut algo {
            BenchAlgo::Train(cfg) => cfg.set_engine(engine),
            _ if engine.is_cpu() => {}
            _ => return Err(BenchError::BadArgument(format!("--engine {}: `--algo {algo_name}` runs no network", engine.name()))),
        }
    }
    let entry = env::lookup(env_id)?;
    if algo == BenchAlgo::Mujoco {
        let task = env::mujoco::task_by_id(env_id).ok_or_else(|| BenchError::NotMujoco(env_id.into()))?;
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let seconds = env::mujoco::bench_raw(task, steps, entry.max_episode_steps as u64, &mut rng)?;
        return Ok(BenchResult::engine(env_id, algo_name, steps, seconds));
    }
    if algo == BenchAlgo::Ale {
        #[cfg(feature = "atari")]
        if let Some(rom) = env::atari::rom_of(env_id) {
            let seconds = env::atari::bench_raw(rom, env_id, steps)?;
            return Ok(BenchResult::engine(env_id, algo_name, steps, seconds));
        }
        return Err(BenchError::NotAtari(env_id.into()));
    }
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let (seconds, done) = pool.install(|| -> Result<(f64, u64), BenchError> {
        let mut venv = VecEnv::new(num_envs, 0, || env::make_observed(env_id, observe))?;
        venv.set_threads(threads)?;
        match algo {
            BenchAlgo::Mujoco | BenchAlgo::Ale => unreachable!("handled above"),
            BenchAlgo::None => {
                let mut rng = ChaCha8Rng::seed_from_u64(0);
                let space = venv.action_space();
                let start = Instant::now();
                let mut done = 0;
                while done < steps {
                    let actions: Vec<Action> = (0..num_envs)
                        .map(|_| match &space {
                            ActionSpace::Discrete { n } => Action::Discrete(rng.gen_range(0..*n)),
                            ActionSpace::Continuous { low, high, .. } => {
                                Action::Continuous(low.iter().zip(high).map(|(l, h)| rng.gen_range(*l..=*h)).collect())
                            }
                        })
                        .collect();
                    venv.step(&actions)?;
                    done += num_envs as u64;
                }
                Ok((start.elapsed().as_secs_f64(), done))
            }
            BenchAlgo::Train(cfg) => {
                let mut a = cfg.build(&venv.observation_space(), &venv.action_space(), 0)?;
                a.set_threads(threads);
                let start = Instant::now();
                let mut done = 0;
                algo::train(a.as_mut(), venv, 0, steps_per_update, steps, |u, _| done = u.global_step)?;
                Ok((start.elapsed().as_secs_f64(), done))
            }
        }
    })?;
    Ok(BenchResult {
        env: env_id.into(),
        algo: algo_name.into(),
        steps: done,
        num_envs,
        threads,
        steps_per_update,
        seconds,
        steps_per_sec: done as f64 / seconds,
    })
}
