//! Frames of the MuJoCo tasks as Gymnasium 1.4.0 draws them (`render_mode="rgb_array"`,
//! `gymnasium/envs/mujoco/mujoco_rendering.py`: `MujocoRenderer` and `OffScreenViewer`), the
//! observations of the paper's pixel experiments (appendix A.2: "a 42x42 RGB image along
//! with the previous frame"). Offscreen through `mujoco-rs`'s renderer (EGL: a GPU's where
//! there is one, Mesa's software EGL otherwise); cargo feature `pixels`.
//!
//! What Gymnasium does, and so what we do:
//! - the rendering context is made when the first frame is drawn, and kept across resets;
//! - the camera ([`PixelCamera`]): with none named, a free camera (`mjCAMERA_FREE`,
//!   `fixedcamid` -1) whose `lookat` is the median of `data.geom_xpos` per axis and whose
//!   `distance` is the model's extent when that first frame is drawn, then the task's
//!   `DEFAULT_CAMERA_CONFIG` set attribute by attribute (`trackbodyid` too, which a free
//!   camera does not read: the view stays where the first frame put it); with one named, the
//!   model's camera of that name as a fixed camera (`mjCAMERA_FIXED`);
//! - the scene is updated with `mjv_updateScene` (default `mjvOption`, every category), drawn
//!   into MuJoCo's offscreen buffer, read with `mjr_readPixels`, and flipped so the top row
//!   comes first.
//!
//! [`Visuals::Fast`] is a departure chosen for speed and stated in the spec: no
//! multisampling (`vis.quality.offsamples = 0`), shadows (`light_castshadow = 0`) or
//! reflections (`mat_reflectance = 0`), set on the task's own model before the context is
//! made (with Mesa's software renderer, multisampling and shadows cost most of a frame). The conformance
//! cases (`golden/pixels/`, recorded by `golden/gen/record_pixel_cases.py` with the same
//! settings) hold both.

use std::sync::Arc;

use mujoco_rs::prelude::*;
use mujoco_rs::renderer::{MjRenderer, RendererError};

use super::mujoco::{MujocoEnv, Task};
pub use super::observe::{PixelCamera, PixelSettings, Visuals};
use super::{Action, ActionSpace, Env, EnvError, EnvRng, EnvSnapshot, EnvState, Observation, ObservationSpace, Step};

/// Applies `visuals` to a model before any data or context is made from it; the settings
/// change nothing the physics reads.
pub fn apply_visuals(visuals: Visuals, model: &mut MjModel) {
    if visuals == Visuals::Fast {
        model.vis_mut().quality.offsamples = 0;
        model.light_castshadow_mut().iter_mut().for_each(|c| *c = false);
        model.mat_reflectance_mut().iter_mut().for_each(|r| *r = 0.0);
    }
}

/// One attribute of a task's `DEFAULT_CAMERA_CONFIG` (Gymnasium 1.4.0 `*_v5.py`).
enum CameraSetting {
    Distance(f64),
    Lookat([f64; 3]),
    Elevation(f64),
    TrackBody(i32),
}

/// The task's `DEFAULT_CAMERA_CONFIG`, in the order the file writes it.
fn default_camera_config(task: Task) -> &'static [CameraSetting] {
    use CameraSetting::*;
    match task {
        Task::Ant | Task::HalfCheetah => &[Distance(4.0)],
        Task::Hopper => &[TrackBody(2), Distance(3.0), Lookat([0.0, 0.0, 1.15]), Elevation(-20.0)],
        Task::InvertedPendulum => &[TrackBody(0), Distance(2.04)],
        Task::InvertedDoublePendulum => &[TrackBody(0), Distance(4.1225), Lookat([0.0, 0.0, 0.122_500_000_000_000_05])],
        Task::Reacher => &[TrackBody(0)],
        Task::Swimmer => &[],
        Task::Walker2d => &[TrackBody(2), Distance(4.0), Lookat([0.0, 0.0, 1.15]), Elevation(-20.0)],
    }
}

/// numpy's `np.median` of a column: the middle value, or the mean of the two middle ones.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn render_error(task: Task, e: RendererError) -> EnvError {
    EnvError::Engine {
        env: task.id().to_string(),
        why: format!("rendering: {e} (pixel observations need EGL: on Debian, `apt-get install libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1`)"),
    }
}

/// The numbers of a camera a checkpoint keeps: the first frame's pose.
const CAMERA_VALUES: usize = 6;

/// What the environment's thread asks of its renderer's thread.
enum Request {
    /// Draw the state in the shared data.
    Draw,
    /// The camera's pose, once the first frame has fixed it.
    Camera,
    /// Use this pose from now on.
    SetCamera([f64; CAMERA_VALUES]),
}

enum Reply {
    Frame(Result<Vec<u8>, EnvError>),
    Camera(Option<[f64; CAMERA_VALUES]>),
    Done(Result<(), EnvError>),
}

/// Draws a task's frames on a thread of its own: an OpenGL context belongs to the thread
/// that made it current, while an environment copy may be stepped by any of a cell's
/// threads. Each frame, the environment's data is copied for drawing (`mjv_copyData`, what
/// MuJoCo offers for rendering elsewhere) into data the renderer's thread reads. The
/// context and the camera are made at the first frame.
pub struct Frames {
    shadow: Arc<std::sync::Mutex<MjData<Arc<MjModel>>>>,
    requests: Option<std::sync::mpsc::Sender<Request>>,
    replies: std::sync::mpsc::Receiver<Reply>,
    thread: Option<std::thread::JoinHandle<()>>,
    task: Task,
}

/// The renderer's thread's side.
struct Painter {
    task: Task,
    width: usize,
    height: usize,
    camera: PixelCamera,
    renderer: Option<MjRenderer>,
    /// A camera restored from a checkpoint, for the context still to be made.
    restored: Option<MjvCamera>,
}

impl Frames {
    /// Frames of `width x height` pixels of `task`, whose data is made from `model`, seen
    /// from `camera`.
    pub fn new(task: Task, model: Arc<MjModel>, width: usize, height: usize, camera: PixelCamera) -> Result<Self, EnvError> {
        let shadow = Arc::new(std::sync::Mutex::new(MjData::new(model)));
        let (requests, inbox) = std::sync::mpsc::channel::<Request>();
        let (outbox, replies) = std::sync::mpsc::channel::<Reply>();
        let data = Arc::clone(&shadow);
        let thread = std::thread::Builder::new()
            .name(format!("render {}", task.id()))
            .spawn(move || {
                let mut painter = Painter { task, width, height, camera, renderer: None, restored: None };
                for request in inbox {
                    let mut data = data.lock().unwrap_or_else(|p| p.into_inner());
                    let reply = match request {
                        Request::Draw => Reply::Frame(painter.draw(&mut data)),
                        Request::Camera => Reply::Camera(painter.camera_values()),
                        Request::SetCamera(v) => Reply::Done(painter.restore_camera(&data, v)),
                    };
                    if outbox.send(reply).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| EnvError::Engine { env: task.id().to_string(), why: format!("cannot start the rendering thread: {e}") })?;
        Ok(Self { shadow, requests: Some(requests), replies, thread: Some(thread), task })
    }

    fn ask(&self, request: Request) -> Result<Reply, EnvError> {
        let gone = || EnvError::Engine { env: self.task.id().to_string(), why: "the rendering thread has stopped".into() };
        self.requests.as_ref().ok_or_else(gone)?.send(request).map_err(|_| gone())?;
        self.replies.recv().map_err(|_| gone())
    }

    /// Copies what drawing reads of `data` for the renderer's thread.
    fn share(&self, data: &MjData<Arc<MjModel>>) -> Result<(), EnvError> {
        let mut shadow = self.shadow.lock().unwrap_or_else(|p| p.into_inner());
        data.copy_visual_to(&mut shadow).map_err(|e| EnvError::Engine { env: self.task.id().to_string(), why: e.to_string() })
    }

    /// The frame of the state in `data`: `height x width x 3` bytes, row-major, top row
    /// first.
    pub fn draw(&mut self, data: &MjData<Arc<MjModel>>) -> Result<Vec<u8>, EnvError> {
        self.share(data)?;
        match self.ask(Request::Draw)? {
            Reply::Frame(f) => f,
            _ => unreachable!("a frame answers a draw"),
        }
    }

    /// The camera's pose once the first frame has fixed it: `lookat`, `distance`, `azimuth`,
    /// `elevation`.
    fn camera_values(&self) -> Result<Option<[f64; CAMERA_VALUES]>, EnvError> {
        match self.ask(Request::Camera)? {
            Reply::Camera(v) => Ok(v),
            _ => unreachable!("a pose answers a pose"),
        }
    }

    /// Sets the pose [`Self::camera_values`] gave, for this and every later frame (`data`:
    /// the state, to make the camera from when no frame has been drawn yet).
    fn restore_camera(&mut self, data: &MjData<Arc<MjModel>>, v: [f64; CAMERA_VALUES]) -> Result<(), EnvError> {
        self.share(data)?;
        match self.ask(Request::SetCamera(v))? {
            Reply::Done(r) => r,
            _ => unreachable!("done answers a setting"),
        }
    }
}

impl Drop for Frames {
    fn drop(&mut self) {
        self.requests = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Painter {
    /// The camera of the first frame, from the state in `data`.
    fn first_camera(&self, data: &MjData<Arc<MjModel>>) -> Result<MjvCamera, EnvError> {
        let task = self.task;
        let model = data.model();
        let mut cam = MjvCamera::default();
        cam.type_ = MjtCamera::mjCAMERA_FREE as i32;
        cam.fixedcamid = -1;
        let xpos = data.geom_xpos();
        for (i, l) in cam.lookat.iter_mut().enumerate() {
            *l = median(xpos.iter().map(|p| p[i]).collect());
        }
        cam.distance = model.stat().extent;
        for setting in default_camera_config(task) {
            match *setting {
                CameraSetting::Distance(d) => cam.distance = d,
                CameraSetting::Lookat(l) => cam.lookat = l,
                CameraSetting::Elevation(e) => cam.elevation = e,
                CameraSetting::TrackBody(b) => cam.trackbodyid = b,
            }
        }
        if let PixelCamera::Named(name) = &self.camera {
            let id = model.name_to_id(MjtObjBase::mjOBJ_CAMERA, name).ok_or_else(|| EnvError::Engine {
                env: task.id().to_string(),
                why: format!("the model has no camera `{name}`"),
            })?;
            cam.type_ = MjtCamera::mjCAMERA_FIXED as i32;
            cam.fixedcamid = id as i32;
        }
        Ok(cam)
    }

    fn draw(&mut self, data: &mut MjData<Arc<MjModel>>) -> Result<Vec<u8>, EnvError> {
        let task = self.task;
        if self.renderer.is_none() {
            let cam = match self.restored.take() {
                Some(cam) => cam,
                None => self.first_camera(data)?,
            };
            let renderer = MjRenderer::builder()
                .width(self.width as u32)
                .height(self.height as u32)
                .rgb(true)
                .depth(false)
                .camera(cam)
                .build(data.model())
                .map_err(|e| render_error(task, e))?;
            self.renderer = Some(renderer);
        }
        let renderer = self.renderer.as_mut().expect("made above");
        renderer.sync_data(data).map_err(|e| render_error(task, e))?;
        renderer.render().map_err(|e| render_error(task, e))?;
        renderer.rgb_flat().map(<[u8]>::to_vec).ok_or_else(|| render_error(task, RendererError::RgbDisabled))
    }

    fn camera_values(&self) -> Option<[f64; CAMERA_VALUES]> {
        let cam = self.renderer.as_ref().map(|r| r.camera().clone()).or_else(|| self.restored.clone())?;
        Some([cam.lookat[0], cam.lookat[1], cam.lookat[2], cam.distance, cam.azimuth, cam.elevation])
    }

    fn restore_camera(&mut self, data: &MjData<Arc<MjModel>>, v: [f64; CAMERA_VALUES]) -> Result<(), EnvError> {
        let mut cam = match &self.renderer {
            Some(r) => r.camera().clone(),
            None => self.first_camera(data)?,
        };
        cam.lookat = [v[0], v[1], v[2]];
        (cam.distance, cam.azimuth, cam.elevation) = (v[3], v[4], v[5]);
        match &mut self.renderer {
            Some(r) => r.set_camera(cam),
            None => self.restored = Some(cam),
        }
        Ok(())
    }
}

/// A MuJoCo task observed through its frames: each observation is the frame before and the
/// frame now (paper appendix A.2: "a 42x42 RGB image along with the previous frame"),
/// channel-major bytes `[previous R, G, B, current R, G, B] x size x size`. After a reset
/// the previous frame is black, as baselines' frame stacks (`vec_frame_stack.py`) start
/// from zeros. Rewards, termination and actions are the task's.
pub struct PixelMujoco {
    env: MujocoEnv,
    task: Task,
    settings: PixelSettings,
    frames: Frames,
    /// The previous and the current frame, channel-major (`2 x 3 x size x size`).
    stack: Vec<u8>,
}

impl PixelMujoco {
    /// The task on a model of its own with `settings.visuals` applied.
    pub fn new(task: Task, settings: PixelSettings) -> Result<Self, EnvError> {
        let mut model = MujocoEnv::own_model(task)?;
        let refuse = |why: String| EnvError::NoPixels { env: task.id().to_string(), why };
        if settings.size == 0 {
            return Err(refuse("a frame of 0 pixels".into()));
        }
        if let PixelCamera::Named(name) = &settings.camera {
            if model.name_to_id(MjtObjBase::mjOBJ_CAMERA, name).is_none() {
                let names: Vec<String> = (0..model.ffi().ncam as usize).filter_map(|i| model.id_to_name(MjtObjBase::mjOBJ_CAMERA, i).map(|n| n.to_string())).collect();
                return Err(refuse(format!("the model has no camera `{name}` (its cameras: {}; or `free`)", if names.is_empty() { "none".into() } else { names.join(", ") })));
            }
        }
        apply_visuals(settings.visuals, &mut model);
        let model = Arc::new(model);
        let env = MujocoEnv::with_model(task, Arc::clone(&model))?;
        let frames = Frames::new(task, model, settings.size, settings.size, settings.camera.clone())?;
        let stack = vec![0; 6 * settings.size * settings.size];
        Ok(Self { env, task, settings, frames, stack })
    }

    /// The settings it was made with.
    pub fn settings(&self) -> &PixelSettings {
        &self.settings
    }

    /// Draws the current frame into the stack's second half; the first half is the frame
    /// before (`shift`) or black.
    fn observe(&mut self, shift: bool) -> Result<Observation, EnvError> {
        let plane = self.settings.size * self.settings.size;
        if shift {
            self.stack.copy_within(3 * plane.., 0);
        } else {
            self.stack[..3 * plane].fill(0);
        }
        let rgb = self.frames.draw(self.env.data_mut())?;
        let current = &mut self.stack[3 * plane..];
        for (p, px) in rgb.chunks_exact(3).enumerate() {
            for (c, &v) in px.iter().enumerate() {
                current[c * plane + p] = v;
            }
        }
        Ok(Observation::Frames(self.stack.clone()))
    }

    /// A failure to draw after a reset has no `Result` to go to (`Env::reset`): it ends the
    /// process with the reason, which names the missing library.
    fn observe_or_exit(&mut self, shift: bool) -> Observation {
        self.observe(shift).unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Env for PixelMujoco {
    fn id(&self) -> &str {
        self.task.id()
    }

    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Frames { channels: 6, height: self.settings.size, width: self.settings.size }
    }

    fn action_space(&self) -> ActionSpace {
        self.env.action_space()
    }

    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        self.env.reset(rng);
        self.observe_or_exit(false)
    }

    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        let step = self.env.step(action)?;
        Ok(Step { obs: self.observe(true)?, ..step })
    }

    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        self.env.set_state(state)?;
        self.observe(false)
    }

    /// The task's numbers, then the camera's pose (a flag and [`CAMERA_VALUES`] numbers:
    /// the free camera's view is fixed by the first frame, not by the state); the frames
    /// packed eight bytes to a counter.
    fn snapshot(&self) -> EnvSnapshot {
        let mut s = self.env.snapshot();
        // A renderer's thread that has stopped has drawn nothing more to remember.
        match self.frames.camera_values().ok().flatten() {
            Some(v) => {
                s.values.push(1.0);
                s.values.extend(v);
            }
            None => s.values.extend([0.0; 1 + CAMERA_VALUES]),
        }
        s.counters.extend(self.stack.chunks(8).map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        }));
        s
    }

    fn restore(&mut self, s: &EnvSnapshot) -> Result<(), EnvError> {
        let words = self.stack.len().div_ceil(8);
        if s.values.len() < 1 + CAMERA_VALUES || s.counters.len() < words {
            return Err(super::bad_snapshot(self.task.id(), "too few numbers for a pixel task"));
        }
        let (task_values, cam) = s.values.split_at(s.values.len() - 1 - CAMERA_VALUES);
        let (task_counters, packed) = s.counters.split_at(s.counters.len() - words);
        self.env.restore(&EnvSnapshot { values: task_values.to_vec(), counters: task_counters.to_vec() })?;
        if cam[0] == 1.0 {
            let v: [f64; CAMERA_VALUES] = cam[1..].try_into().expect("sized above");
            self.frames.restore_camera(self.env.data_mut(), v)?;
        }
        let n = self.stack.len();
        for (i, w) in packed.iter().enumerate() {
            let b = w.to_le_bytes();
            let take = (n - 8 * i).min(8);
            self.stack[8 * i..8 * i + take].copy_from_slice(&b[..take]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn reacher() -> PixelMujoco {
        PixelMujoco::new(Task::Reacher, PixelSettings { size: 42, camera: PixelCamera::Free, visuals: Visuals::Fast }).unwrap()
    }

    fn frames(o: &Observation) -> &[u8] {
        match o {
            Observation::Frames(f) => f,
            other => panic!("not frames: {other:?}"),
        }
    }

    /// After a reset the previous frame is black and the current one drawn; a step moves
    /// the current frame to the previous place.
    #[test]
    fn an_observation_is_the_previous_frame_and_this_one() {
        let mut env = reacher();
        let plane = 42 * 42;
        assert_eq!(env.observation_space(), ObservationSpace::Frames { channels: 6, height: 42, width: 42 });
        let first = frames(&env.reset(&mut EnvRng::seed_from_u64(1))).to_vec();
        assert_eq!(first.len(), 6 * plane);
        assert!(first[..3 * plane].iter().all(|&b| b == 0));
        assert!(first[3 * plane..].iter().any(|&b| b != 0));
        let step = env.step(&Action::Continuous(vec![1.0, -1.0])).unwrap();
        let second = frames(&step.obs);
        assert_eq!(&second[..3 * plane], &first[3 * plane..]);
        assert_ne!(&second[3 * plane..], &first[3 * plane..], "the arm moved");
    }

    /// A checkpoint taken mid-episode continues, in a fresh copy, to the same frames: the
    /// frame stack and the first frame's camera travel with it.
    #[test]
    fn a_restored_copy_draws_the_same_frames() {
        let mut env = reacher();
        env.reset(&mut EnvRng::seed_from_u64(2));
        for _ in 0..3 {
            env.step(&Action::Continuous(vec![0.5, 0.2])).unwrap();
        }
        let snap = env.snapshot();
        let mut copy = reacher();
        copy.reset(&mut EnvRng::seed_from_u64(99));
        copy.restore(&snap).unwrap();
        for t in 0..5 {
            let a = Action::Continuous(vec![-0.3 * t as f64, 0.7]);
            let (x, y) = (env.step(&a).unwrap(), copy.step(&a).unwrap());
            assert_eq!(frames(&x.obs), frames(&y.obs), "step {t}");
            assert_eq!(x.reward.to_bits(), y.reward.to_bits());
        }
        let mut short = snap.clone();
        short.counters.truncate(3);
        assert!(copy.restore(&short).is_err());
    }
}
