//! The paper's eight MuJoCo tasks (Table 2, Figure 3) as Gymnasium 1.4.0 defines them in
//! `gymnasium/envs/mujoco/*_v5.py`, on MuJoCo 3.17.0 through `mujoco-rs` =7.0.0.
//!
//! Each task is a line-for-line port of its `_v5.py` file with the default constructor
//! arguments: the same model file (from the `gymnasium==1.4.0` wheel, embedded at build time,
//! see `build.rs`), frame skip, observation, reward terms, termination and reset noise
//! (same distributions and scales; the random stream is ours, seeded per environment copy).
//! The simulation follows `mujoco_env.py`: `reset` is `mj_resetData` then the task's
//! `reset_model`; `set_state` copies `qpos`/`qvel` and calls `mj_forward`; a step writes
//! `ctrl`, calls `mj_step` `frame_skip` times, then `mj_rnePostConstraint` (so `cfrc_ext` is
//! filled, gymnasium's fix for openai/gym#1541; we skip it where nothing reads those fields,
//! see `simulate`). MuJoCo clamps controls to the model's
//! control range itself. Time limits come from the registry (`super::REGISTRY`).
//!
//! Conformance: `tests/env_conformance.rs` replays the cases recorded from Gymnasium 1.4.0 /
//! MuJoCo 3.17.0 (`../shared/env-conformance/cases`, `golden/envs/`).

use std::sync::{Arc, Once, OnceLock};

use mujoco_rs::prelude::*;
use rand::Rng;
use rand_distr::StandardNormal;

use super::{Action, ActionSpace, Env, EnvError, EnvRng, EnvState, Observation, ObservationSpace, Step};

/// The MuJoCo version this build was made for (the `mujoco==3.17.0` wheel; pinned because it
/// decides the numerics).
pub const MUJOCO_VERSION: &str = "3.17.0";

/// The directory the MuJoCo library was linked from (for provenance).
pub const MUJOCO_LIB_DIR: &str = env!("ACKTR_MUJOCO_LIB_DIR");

macro_rules! asset {
    ($file:literal) => {
        include_str!(concat!(env!("ACKTR_GYMNASIUM_ASSETS"), "/", $file))
    };
}

/// The eight tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    Ant,
    HalfCheetah,
    Hopper,
    InvertedPendulum,
    InvertedDoublePendulum,
    Reacher,
    Swimmer,
    Walker2d,
}

impl Task {
    /// All tasks, in registry order.
    pub const ALL: [Task; 8] = [
        Task::Ant,
        Task::HalfCheetah,
        Task::Hopper,
        Task::InvertedPendulum,
        Task::InvertedDoublePendulum,
        Task::Reacher,
        Task::Swimmer,
        Task::Walker2d,
    ];

    /// Gymnasium id.
    pub fn id(self) -> &'static str {
        match self {
            Task::Ant => "Ant-v5",
            Task::HalfCheetah => "HalfCheetah-v5",
            Task::Hopper => "Hopper-v5",
            Task::InvertedPendulum => "InvertedPendulum-v5",
            Task::InvertedDoublePendulum => "InvertedDoublePendulum-v5",
            Task::Reacher => "Reacher-v5",
            Task::Swimmer => "Swimmer-v5",
            Task::Walker2d => "Walker2d-v5",
        }
    }

    /// The MJCF model (gymnasium 1.4.0 `assets/`; Walker2d-v5 uses `walker2d_v5.xml`).
    pub fn xml(self) -> &'static str {
        match self {
            Task::Ant => asset!("ant.xml"),
            Task::HalfCheetah => asset!("half_cheetah.xml"),
            Task::Hopper => asset!("hopper.xml"),
            Task::InvertedPendulum => asset!("inverted_pendulum.xml"),
            Task::InvertedDoublePendulum => asset!("inverted_double_pendulum.xml"),
            Task::Reacher => asset!("reacher.xml"),
            Task::Swimmer => asset!("swimmer.xml"),
            Task::Walker2d => asset!("walker2d_v5.xml"),
        }
    }

    /// Default `frame_skip` of the task's `__init__`.
    pub fn frame_skip(self) -> usize {
        match self {
            Task::Ant | Task::HalfCheetah | Task::InvertedDoublePendulum => 5,
            Task::Hopper | Task::Swimmer | Task::Walker2d => 4,
            Task::InvertedPendulum | Task::Reacher => 2,
        }
    }

    fn index(self) -> usize {
        Task::ALL.iter().position(|t| *t == self).expect("task listed in ALL")
    }
}

fn mujoco_error(task: Task, why: impl std::fmt::Display) -> EnvError {
    EnvError::Engine { env: task.id().to_string(), why: why.to_string() }
}

/// MuJoCo's messages go to stderr instead of `MUJOCO_LOG.TXT` in the working directory
/// (including the compiler's deprecation of `settotalmass`, which Gymnasium's v5 models set
/// and MuJoCo 3.17 still applies; `tests/cli.rs` uses it to see that messages arrive).
fn log_to_stderr(message: &MjLogMessage) {
    if matches!(message.level(), MjtLogLevel::mjLOG_WARNING | MjtLogLevel::mjLOG_ERROR) {
        eprintln!("MuJoCo {:?}: {}", message.level(), message.subject());
    }
}

static SETUP: Once = Once::new();
static VERSION_CHECK: OnceLock<Result<(), String>> = OnceLock::new();

/// Installs the log handler (once, before any model exists) and checks the loaded library is
/// MuJoCo 3.17.0.
fn setup() -> Result<(), String> {
    SETUP.call_once(|| {
        // SAFETY: every use of MuJoCo in this crate goes through `setup` first, and `Once`
        // holds other callers until the handler is installed, so no thread uses MuJoCo yet.
        unsafe { set_log_handler(log_to_stderr) };
    });
    VERSION_CHECK
        .get_or_init(|| {
            // SAFETY: plain getters of the loaded library.
            let (version, text) = unsafe {
                let v = mujoco_rs::mujoco_c::mj_version();
                let s = std::ffi::CStr::from_ptr(mujoco_rs::mujoco_c::mj_versionString());
                (v, s.to_string_lossy().into_owned())
            };
            if text == MUJOCO_VERSION {
                Ok(())
            } else {
                Err(format!(
                    "the MuJoCo library loaded at run time is version {text} ({version}), this build needs \
                     {MUJOCO_VERSION} (linked from {MUJOCO_LIB_DIR}); see README \"MuJoCo\""
                ))
            }
        })
        .clone()
}

/// One compiled model per task, shared by every copy (a model is read-only while stepping).
fn model(task: Task) -> Result<Arc<MjModel>, EnvError> {
    static MODELS: [OnceLock<Result<Arc<MjModel>, String>>; 8] = [const { OnceLock::new() }; 8];
    setup().map_err(|e| mujoco_error(task, e))?;
    MODELS[task.index()]
        .get_or_init(|| MjModel::from_xml_string(task.xml()).map(Arc::new).map_err(|e| e.to_string()))
        .clone()
        .map_err(|e| mujoco_error(task, format!("cannot compile the model: {e}")))
}

/// numpy's `np.sum` of a contiguous float64 array: numpy's pairwise sum
/// (`numpy/_core/src/umath/loops_utils.h.src`: sequential below 8 elements, 8 interleaved
/// partial sums up to 128, halves above), so the costs add up in Gymnasium's order (checked
/// against numpy 2.4 on random vectors of 3 to 100 elements).
fn np_sum(a: &[f64]) -> f64 {
    fn pairwise(a: &[f64]) -> f64 {
        let n = a.len();
        if n < 8 {
            let mut res = -0.0;
            for x in a {
                res += x;
            }
            res
        } else if n <= 128 {
            let mut r = [0.0; 8];
            r.copy_from_slice(&a[..8]);
            let mut i = 8;
            while i < n - (n % 8) {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res += a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pairwise(&a[..n2]) + pairwise(&a[n2..])
        }
    }
    pairwise(a)
}

/// `np.sum(np.square(values))`, squares kept in `buf` (reused across steps).
fn sum_of_squares(buf: &mut Vec<f64>, values: impl Iterator<Item = f64>) -> f64 {
    buf.clear();
    buf.extend(values.map(|x| x * x));
    np_sum(buf)
}

/// A Gymnasium v5 MuJoCo task.
pub struct MujocoEnv {
    task: Task,
    data: MjData<Arc<MjModel>>,
    init_qpos: Vec<f64>,
    init_qvel: Vec<f64>,
    nq: usize,
    nv: usize,
    nu: usize,
    /// `model.opt.timestep * frame_skip` (`MujocoEnv.dt`).
    dt: f64,
    ctrl_low: Vec<f64>,
    ctrl_high: Vec<f64>,
    /// Ant: the `main_body` (id 1, "torso"); Reacher: "fingertip"; unused otherwise.
    body_a: usize,
    /// Reacher: "target".
    body_b: usize,
    sq_buf: Vec<f64>,
}

impl MujocoEnv {
    /// Builds the unwrapped task (no time limit; see `super::make`).
    pub fn new(task: Task) -> Result<Self, EnvError> {
        Self::with_model(task, model(task)?)
    }

    /// The task on a model of its own (`own_model`), e.g. one whose visual settings a
    /// renderer changed; the physics is the shared model's.
    pub fn with_model(task: Task, model: Arc<MjModel>) -> Result<Self, EnvError> {
        let m = model.ffi();
        let (nq, nv, nu) = (m.nq as usize, m.nv as usize, m.nu as usize);
        let dt = m.opt.timestep * task.frame_skip() as f64;
        // SAFETY: actuator_ctrlrange holds nu x 2 numbers for the model's lifetime.
        let range = unsafe { std::slice::from_raw_parts(m.actuator_ctrlrange, 2 * nu) };
        // Gymnasium's action space bounds are float32 (`_set_action_space`).
        let ctrl_low = range.chunks(2).map(|r| f64::from(r[0] as f32)).collect();
        let ctrl_high = range.chunks(2).map(|r| f64::from(r[1] as f32)).collect();
        let body = |name: &str| {
            model
                .name_to_id(MjtObjBase::mjOBJ_BODY, name)
                .ok_or_else(|| mujoco_error(task, format!("the model has no body `{name}`")))
        };
        let (body_a, body_b) = match task {
            Task::Ant => (1, 0),
            Task::Reacher => (body("fingertip")?, body("target")?),
            _ => (0, 0),
        };
        let data = MjData::new(model.clone());
        let init_qpos = data.qpos().to_vec();
        let init_qvel = data.qvel().to_vec();
        Ok(Self {
            task,
            data,
            init_qpos,
            init_qvel,
            nq,
            nv,
            nu,
            dt,
            ctrl_low,
            ctrl_high,
            body_a,
            body_b,
            sq_buf: Vec::new(),
        })
    }

    /// Registry constructor.
    pub fn boxed(task: Task) -> Result<Box<dyn Env>, EnvError> {
        Ok(Box::new(Self::new(task)?))
    }

    /// A copy of the task's compiled model, not shared with other copies (to change what
    /// only rendering reads before the data is made).
    pub fn own_model(task: Task) -> Result<MjModel, EnvError> {
        Ok((*model(task)?).clone())
    }

    /// The task.
    pub fn task(&self) -> Task {
        self.task
    }

    /// The simulation's data (for a renderer: it reads, and `mjv_updateScene` writes only
    /// visual fields).
    pub fn data_mut(&mut self) -> &mut MjData<Arc<MjModel>> {
        &mut self.data
    }

    fn raw(&self) -> &mujoco_rs::mujoco_c::mjData {
        self.data.ffi()
    }

    fn qfrc_constraint(&self) -> &[f64] {
        // SAFETY: qfrc_constraint holds nv numbers for the data's lifetime.
        unsafe { std::slice::from_raw_parts(self.raw().qfrc_constraint, self.nv) }
    }

    /// `MujocoEnv.set_state`: copy qpos and qvel, then `mj_forward`. (`act` is empty for
    /// these models, `na == 0`.)
    fn set_qpos_qvel(&mut self, qpos: &[f64], qvel: &[f64]) {
        self.data.qpos_mut().copy_from_slice(qpos);
        self.data.qvel_mut().copy_from_slice(qvel);
        self.data.forward();
    }

    /// `_step_mujoco_simulation`. Gymnasium calls `mj_rnePostConstraint` after every step;
    /// it only fills `cacc`, `cfrc_int` and `cfrc_ext`, which no later step reads and only
    /// Ant's observation and contact cost use, so we call it for Ant alone (same numbers,
    /// checked by the conformance cases; it costs ~3% of a HalfCheetah step).
    fn simulate(&mut self, ctrl: &[f64]) {
        self.data.ctrl_mut().copy_from_slice(ctrl);
        for _ in 0..self.task.frame_skip() {
            self.data.step();
        }
        if self.task == Task::Ant {
            self.data.rne_post_constraint();
        }
    }

    fn uniform(rng: &mut EnvRng, low: f64, high: f64, n: usize) -> Vec<f64> {
        // numpy `Generator.uniform`: low + (high - low) * U[0, 1).
        (0..n).map(|_| low + (high - low) * rng.gen::<f64>()).collect()
    }

    fn normal(rng: &mut EnvRng, n: usize) -> Vec<f64> {
        (0..n).map(|_| rng.sample::<f64, _>(StandardNormal)).collect()
    }

    /// The task's `reset_model` noise.
    fn reset_model(&mut self, rng: &mut EnvRng) {
        let (nq, nv) = (self.nq, self.nv);
        let add = |base: &[f64], noise: Vec<f64>| -> Vec<f64> { base.iter().zip(noise).map(|(b, x)| b + x).collect() };
        let (qpos, qvel) = match self.task {
            // uniform(+-0.1) positions, 0.1 * N(0, 1) velocities.
            Task::Ant | Task::HalfCheetah | Task::InvertedDoublePendulum => {
                let qpos = add(&self.init_qpos, Self::uniform(rng, -0.1, 0.1, nq));
                let qvel = self.init_qvel.iter().zip(Self::normal(rng, nv)).map(|(b, z)| b + 0.1 * z).collect();
                (qpos, qvel)
            }
            // uniform(+-0.005) both.
            Task::Hopper | Task::Walker2d => (
                add(&self.init_qpos, Self::uniform(rng, -0.005, 0.005, nq)),
                add(&self.init_qvel, Self::uniform(rng, -0.005, 0.005, nv)),
            ),
            // uniform(+-0.1) both.
            Task::Swimmer => (
                add(&self.init_qpos, Self::uniform(rng, -0.1, 0.1, nq)),
                add(&self.init_qvel, Self::uniform(rng, -0.1, 0.1, nv)),
            ),
            // uniform(+-0.01) both.
            Task::InvertedPendulum => (
                add(&self.init_qpos, Self::uniform(rng, -0.01, 0.01, nq)),
                add(&self.init_qvel, Self::uniform(rng, -0.01, 0.01, nv)),
            ),
            // Arm uniform(+-0.1); goal uniform(+-0.2)^2 until its norm is below 0.2; arm
            // velocities uniform(+-0.005), the goal's zero.
            Task::Reacher => {
                let noise = Self::uniform(rng, -0.1, 0.1, nq);
                let mut qpos: Vec<f64> = noise.iter().zip(&self.init_qpos).map(|(x, b)| x + b).collect();
                let goal = loop {
                    let g = Self::uniform(rng, -0.2, 0.2, 2);
                    if g[0].hypot(g[1]) < 0.2 {
                        break g;
                    }
                };
                qpos[nq - 2..].copy_from_slice(&goal);
                let mut qvel = add(&self.init_qvel, Self::uniform(rng, -0.005, 0.005, nv));
                qvel[nv - 2..].fill(0.0);
                (qpos, qvel)
            }
        };
        self.set_qpos_qvel(&qpos, &qvel);
    }

    fn obs(&self) -> Vec<f64> {
        let qpos = self.data.qpos();
        let qvel = self.data.qvel();
        let clip10 = |x: &f64| x.clamp(-10.0, 10.0);
        match self.task {
            Task::HalfCheetah => qpos[1..].iter().chain(qvel).copied().collect(),
            Task::Hopper | Task::Walker2d => qpos[1..].iter().copied().chain(qvel.iter().map(clip10)).collect(),
            Task::Swimmer => qpos[2..].iter().chain(qvel).copied().collect(),
            Task::Ant => {
                // qpos[2:], qvel, clip(cfrc_ext, -1, 1)[1:] (the world body dropped).
                let cfrc = self.data.cfrc_ext();
                let mut o: Vec<f64> = qpos[2..].iter().chain(qvel).copied().collect();
                o.extend(cfrc[1..].iter().flatten().map(|x| x.clamp(-1.0, 1.0)));
                o
            }
            Task::InvertedPendulum => qpos.iter().chain(qvel).copied().collect(),
            Task::InvertedDoublePendulum => {
                let mut o = vec![qpos[0]];
                o.extend(qpos[1..].iter().map(|x| x.sin()));
                o.extend(qpos[1..].iter().map(|x| x.cos()));
                o.extend(qvel.iter().map(clip10));
                o.push(clip10(&self.qfrc_constraint()[0]));
                o
            }
            Task::Reacher => {
                let xpos = self.data.xpos();
                let (tip, target) = (xpos[self.body_a], xpos[self.body_b]);
                let mut o = vec![qpos[0].cos(), qpos[1].cos(), qpos[0].sin(), qpos[1].sin()];
                o.extend_from_slice(&qpos[2..]);
                o.extend_from_slice(&qvel[..2]);
                o.push(tip[0] - target[0]);
                o.push(tip[1] - target[1]);
                o
            }
        }
    }

    fn ctrl_cost(&mut self, weight: f64, action: &[f64]) -> f64 {
        weight * sum_of_squares(&mut self.sq_buf, action.iter().copied())
    }

    /// Hopper's `is_healthy`: `state_vector()[2:]` within (-100, 100), z > 0.7,
    /// angle within (-0.2, 0.2), all strict.
    fn hopper_healthy(&self) -> bool {
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        let state_ok = qpos[2..].iter().chain(qvel).all(|&s| -100.0 < s && s < 100.0);
        let (z, angle) = (qpos[1], qpos[2]);
        state_ok && 0.7 < z && z < f64::INFINITY && -0.2 < angle && angle < 0.2
    }

    /// Walker2d's `is_healthy`: 0.8 < z < 2.0 and -1 < angle < 1.
    fn walker_healthy(&self) -> bool {
        let (z, angle) = (self.data.qpos()[1], self.data.qpos()[2]);
        0.8 < z && z < 2.0 && -1.0 < angle && angle < 1.0
    }

    /// Ant's `is_healthy`: every state entry finite and 0.2 <= z <= 1.0.
    fn ant_healthy(&self) -> bool {
        let (qpos, qvel) = (self.data.qpos(), self.data.qvel());
        let finite = qpos.iter().chain(qvel).all(|x| x.is_finite());
        finite && 0.2 <= qpos[2] && qpos[2] <= 1.0
    }

    fn step_task(&mut self, action: &[f64]) -> Step {
        let dt = self.dt;
        let (reward, terminated, obs) = match self.task {
            Task::HalfCheetah | Task::Hopper | Task::Walker2d | Task::Swimmer => {
                let before = self.data.qpos()[0];
                self.simulate(action);
                let x_velocity = (self.data.qpos()[0] - before) / dt;
                let obs = self.obs();
                match self.task {
                    // forward - 0.1 |a|^2; never terminates.
                    Task::HalfCheetah => (x_velocity - self.ctrl_cost(0.1, action), false, obs),
                    // forward - 1e-4 |a|^2 (x velocity of the front tip, qpos[0]); never terminates.
                    Task::Swimmer => (x_velocity - self.ctrl_cost(1e-4, action), false, obs),
                    // forward + 1 (healthy) - 1e-3 |a|^2; terminates when unhealthy.
                    Task::Hopper => {
                        let healthy = self.hopper_healthy();
                        let rewards = x_velocity + if healthy { 1.0 } else { 0.0 };
                        (rewards - self.ctrl_cost(1e-3, action), !healthy, obs)
                    }
                    _ => {
                        let healthy = self.walker_healthy();
                        let rewards = x_velocity + if healthy { 1.0 } else { 0.0 };
                        (rewards - self.ctrl_cost(1e-3, action), !healthy, obs)
                    }
                }
            }
            Task::Ant => {
                let b = self.body_a;
                let before = self.data.xpos()[b];
                self.simulate(action);
                let after = self.data.xpos()[b];
                let x_velocity = (after[0] - before[0]) / dt;
                let obs = self.obs();
                // forward + 1 (healthy) - (0.5 |a|^2 + 5e-4 |clip(cfrc_ext, -1, 1)|^2).
                let healthy = self.ant_healthy();
                let rewards = x_velocity + if healthy { 1.0 } else { 0.0 };
                let ctrl = self.ctrl_cost(0.5, action);
                let forces = self.data.cfrc_ext().iter().flatten().map(|x| x.clamp(-1.0, 1.0));
                let contact = 5e-4 * sum_of_squares(&mut self.sq_buf, forces);
                (rewards - (ctrl + contact), !healthy, obs)
            }
            Task::InvertedPendulum => {
                self.simulate(action);
                let obs = self.obs();
                let terminated = !obs.iter().all(|x| x.is_finite()) || obs[1].abs() > 0.2;
                (if terminated { 0.0 } else { 1.0 }, terminated, obs)
            }
            Task::InvertedDoublePendulum => {
                self.simulate(action);
                let [x, _, y] = self.data.site_xpos()[0];
                let obs = self.obs();
                let terminated = y <= 1.0;
                let (v1, v2) = (self.data.qvel()[1], self.data.qvel()[2]);
                let dist_penalty = 0.01 * (x * x) + (y - 2.0) * (y - 2.0);
                let vel_penalty = 0.001 * (v1 * v1) + 0.005 * (v2 * v2);
                let alive_bonus = if terminated { 0.0 } else { 10.0 };
                (alive_bonus - dist_penalty - vel_penalty, terminated, obs)
            }
            Task::Reacher => {
                self.simulate(action);
                let obs = self.obs();
                let xpos = self.data.xpos();
                let (tip, target) = (xpos[self.body_a], xpos[self.body_b]);
                let v = [tip[0] - target[0], tip[1] - target[1], tip[2] - target[2]];
                // -|fingertip - target| - |a|^2 (np.linalg.norm: sqrt of the dot product).
                let reward_dist = -(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
                let reward_ctrl = -self.ctrl_cost(1.0, action);
                (reward_dist + reward_ctrl, false, obs)
            }
        };
        Step { obs: Observation::Vector(obs), reward, terminated, truncated: false }
    }
}

impl Env for MujocoEnv {
    fn id(&self) -> &str {
        self.task.id()
    }
    fn observation_space(&self) -> ObservationSpace {
        let dim = match self.task {
            Task::Ant => self.nq + self.nv - 2 + 6 * (self.data.model().ffi().nbody as usize - 1),
            Task::HalfCheetah | Task::Hopper | Task::Walker2d => self.nq + self.nv - 1,
            Task::Swimmer => self.nq + self.nv - 2,
            Task::InvertedPendulum => 4,
            Task::InvertedDoublePendulum => 9,
            Task::Reacher => 10,
        };
        ObservationSpace::Vector { dim }
    }
    fn action_space(&self) -> ActionSpace {
        ActionSpace::Continuous { dim: self.nu, low: self.ctrl_low.clone(), high: self.ctrl_high.clone() }
    }
    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        self.data.reset();
        self.reset_model(rng);
        Observation::Vector(self.obs())
    }
    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        match action {
            Action::Continuous(a) if a.len() == self.nu => Ok(self.step_task(a)),
            _ => Err(EnvError::BadAction {
                env: self.task.id().to_string(),
                action: action.clone(),
                why: format!("expected {} real numbers", self.nu),
            }),
        }
    }
    /// MuJoCo's integration state (`mjSTATE_INTEGRATION`: time, qpos, qvel, act, warm
    /// start, controls, applied forces, ...) and the body positions `xpos`, which a step
    /// reads before it simulates (Ant's forward reward) and which hold the previous step's
    /// kinematics, not the current state's.
    fn snapshot(&self) -> super::EnvSnapshot {
        let spec = mujoco_rs::mujoco_c::mjtState::mjSTATE_INTEGRATION as u32;
        let mut values = self.data.state(spec).to_vec();
        values.extend(self.data.xpos().iter().flatten());
        super::EnvSnapshot { values, counters: vec![] }
    }
    fn restore(&mut self, s: &super::EnvSnapshot) -> Result<(), EnvError> {
        let spec = mujoco_rs::mujoco_c::mjtState::mjSTATE_INTEGRATION as u32;
        let n = self.data.model().state_size(spec);
        let nbody = self.data.model().ffi().nbody as usize;
        if s.values.len() != n + 3 * nbody || !s.counters.is_empty() {
            return Err(super::bad_snapshot(self.task.id(), &format!("expected {} values", n + 3 * nbody)));
        }
        self.data.set_state(&s.values[..n], spec).map_err(|e| super::bad_snapshot(self.task.id(), &e.to_string()))?;
        // SAFETY: `xpos` is MuJoCo's nbody x 3 array of this data, written in place.
        unsafe {
            let d = self.data.ffi_mut();
            std::slice::from_raw_parts_mut(d.xpos, 3 * nbody).copy_from_slice(&s.values[n..]);
        }
        Ok(())
    }
    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        match state {
            EnvState::Mujoco { qpos, qvel } if qpos.len() == self.nq && qvel.len() == self.nv => {
                self.set_qpos_qvel(qpos, qvel);
                Ok(Observation::Vector(self.obs()))
            }
            _ => Err(EnvError::BadState {
                env: self.task.id().to_string(),
                state: state.clone(),
                why: format!("expected qpos of {} and qvel of {} numbers", self.nq, self.nv),
            }),
        }
    }
}

/// MuJoCo itself, for `acktr bench --algo mujoco`: `steps` env steps of `frame_skip`
/// `mj_step` calls each with uniformly random controls, no observation, reward or
/// `mj_rnePostConstraint`, `mj_resetData` every `episode` steps. Returns the seconds taken.
pub fn bench_raw(task: Task, steps: u64, episode: u64, rng: &mut EnvRng) -> Result<f64, EnvError> {
    let mut env = MujocoEnv::new(task)?;
    let ctrl_range: Vec<(f64, f64)> = env.ctrl_low.iter().copied().zip(env.ctrl_high.iter().copied()).collect();
    let mut ctrl = vec![0.0; env.nu];
    let start = std::time::Instant::now();
    for t in 0..steps {
        if t % episode.max(1) == 0 {
            env.data.reset();
            env.data.forward();
        }
        for (c, (l, h)) in ctrl.iter_mut().zip(&ctrl_range) {
            *c = rng.gen_range(*l..=*h);
        }
        env.data.ctrl_mut().copy_from_slice(&ctrl);
        for _ in 0..task.frame_skip() {
            env.data.step();
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// The task registered under `id`, if it is a MuJoCo task.
pub fn task_by_id(id: &str) -> Option<Task> {
    Task::ALL.into_iter().find(|t| t.id() == id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn np_sum_matches_numpy_order() {
        // Fewer than 8 numbers: sequential (numpy 2.4 gives 1.0 here).
        let a = [1e16, 1.0, -1e16, 1.0];
        assert_eq!(np_sum(&a), 1.0);
        // 84 numbers (Ant's contact forces): 8 interleaved partial sums, then the rest.
        let v: Vec<f64> = (0..84).map(|i| ((i * 7919) % 97) as f64 * 0.013 - 0.5).collect();
        let mut r = [0.0; 8];
        r.copy_from_slice(&v[..8]);
        let mut i = 8;
        while i < 80 {
            for j in 0..8 {
                r[j] += v[i + j];
            }
            i += 8;
        }
        let mut expect = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for x in &v[80..] {
            expect += x;
        }
        assert_eq!(np_sum(&v), expect);
        // numpy 2.4: np.sum of this vector.
        assert_eq!(np_sum(&v), 9.908999999999997);
    }

    #[test]
    fn every_task_builds_resets_and_steps() {
        use rand::SeedableRng;
        let mut rng = EnvRng::seed_from_u64(3);
        for task in Task::ALL {
            let mut env = MujocoEnv::new(task).unwrap();
            let dim = env.observation_space().flat_dim();
            let obs = env.reset(&mut rng);
            assert_eq!(obs.as_vector().unwrap().len(), dim, "{}", task.id());
            let ActionSpace::Continuous { dim: nu, .. } = env.action_space() else { panic!() };
            let step = env.step(&Action::Continuous(vec![0.1; nu])).unwrap();
            assert_eq!(step.obs.as_vector().unwrap().len(), dim, "{}", task.id());
            assert!(step.reward.is_finite());
        }
    }

    /// The reset noise has Gymnasium's distribution and scale: per task, the deviation of
    /// `qpos`/`qvel` from the model's initial state over many resets has the mean, spread and
    /// bounds of `uniform(-s, s)` (std s/sqrt 3) or `s * N(0, 1)` (std s).
    #[test]
    fn reset_noise_has_gymnasium_distribution() {
        use rand::SeedableRng;
        enum Noise {
            Uniform(f64),
            Normal(f64),
        }
        let cases = [
            (Task::Ant, Noise::Uniform(0.1), Noise::Normal(0.1)),
            (Task::HalfCheetah, Noise::Uniform(0.1), Noise::Normal(0.1)),
            (Task::InvertedDoublePendulum, Noise::Uniform(0.1), Noise::Normal(0.1)),
            (Task::Hopper, Noise::Uniform(0.005), Noise::Uniform(0.005)),
            (Task::Walker2d, Noise::Uniform(0.005), Noise::Uniform(0.005)),
            (Task::Swimmer, Noise::Uniform(0.1), Noise::Uniform(0.1)),
            (Task::InvertedPendulum, Noise::Uniform(0.01), Noise::Uniform(0.01)),
        ];
        let n = 2000;
        let check = |what: &str, dev: &[f64], noise: &Noise| {
            let mean = dev.iter().sum::<f64>() / dev.len() as f64;
            let sd = (dev.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / dev.len() as f64).sqrt();
            let (want_sd, bound) = match noise {
                Noise::Uniform(s) => (s / 3f64.sqrt(), Some(*s)),
                Noise::Normal(s) => (*s, None),
            };
            assert!(mean.abs() < 0.1 * want_sd, "{what}: mean {mean}");
            assert!((sd / want_sd - 1.0).abs() < 0.05, "{what}: sd {sd}, want {want_sd}");
            if let Some(b) = bound {
                assert!(dev.iter().all(|d| d.abs() <= b * (1.0 + 1e-12)), "{what}: beyond {b}");
            } else {
                assert!(dev.iter().any(|d| d.abs() > 2.5 * want_sd), "{what}: no normal tails");
            }
        };
        for (task, pos, vel) in cases {
            let mut env = MujocoEnv::new(task).unwrap();
            let mut rng = EnvRng::seed_from_u64(1);
            let (mut dq, mut dv) = (Vec::new(), Vec::new());
            for _ in 0..n {
                env.reset(&mut rng);
                dq.extend(env.data.qpos().iter().zip(&env.init_qpos).map(|(a, b)| a - b));
                dv.extend(env.data.qvel().iter().zip(&env.init_qvel).map(|(a, b)| a - b));
            }
            check(&format!("{} qpos", task.id()), &dq, &pos);
            check(&format!("{} qvel", task.id()), &dv, &vel);
        }
        // Reacher: arm uniform(+-0.1), goal inside the 0.2 disc, goal velocity 0.
        let mut env = MujocoEnv::new(Task::Reacher).unwrap();
        let mut rng = EnvRng::seed_from_u64(2);
        let (mut arm, mut armv) = (Vec::new(), Vec::new());
        for _ in 0..n {
            env.reset(&mut rng);
            let (q, v) = (env.data.qpos(), env.data.qvel());
            arm.extend(q[..2].iter().zip(&env.init_qpos).map(|(a, b)| a - b));
            armv.extend(v[..2].iter().zip(&env.init_qvel).map(|(a, b)| a - b));
            assert!(q[2].hypot(q[3]) < 0.2);
            assert_eq!((v[2], v[3]), (0.0, 0.0));
        }
        check("Reacher arm qpos", &arm, &Noise::Uniform(0.1));
        check("Reacher arm qvel", &armv, &Noise::Uniform(0.005));
    }

    #[test]
    fn reset_noise_is_seeded() {
        use rand::SeedableRng;
        let mut a = MujocoEnv::new(Task::Hopper).unwrap();
        let mut b = MujocoEnv::new(Task::Hopper).unwrap();
        let oa = a.reset(&mut EnvRng::seed_from_u64(9));
        let ob = b.reset(&mut EnvRng::seed_from_u64(9));
        assert_eq!(oa, ob);
        let oc = b.reset(&mut EnvRng::seed_from_u64(10));
        assert_ne!(oa, oc);
    }
}
