//! Atari 2600 games through the Arcade Learning Environment, as the paper ran them: the
//! Gymnasium ids `<Game>NoFrameskip-v4` (ale-py 0.12.1 settings, [`ale`]) under openai/baselines'
//! `wrap_deepmind(make_atari(id))` and the 4-frame `VecFrameStack` of A2C/ACKTR
//! (`baselines/common/atari_wrappers.py`, `baselines/common/vec_env/vec_frame_stack.py`):
//! NoopReset(30), MaxAndSkip(4), EpisodicLife, FireReset, WarpFrame (84x84 grey, [`warp`]),
//! ClipReward, stack of 4. Exactness is defined by `docs/src/formats/env-case.md`,
//! "Atari cases"; [`crate::conformance::atari`] replays those cases.
//!
//! The learner's episodes are lives (EpisodicLife) and its rewards are clipped; the episode
//! statistics are whole games with unclipped scores, counted below EpisodicLife as
//! baselines' `Monitor` (wrapped around `make_atari`'s env in `make_atari_env`) counts them:
//! every MaxAndSkip step between two game resets, the ones FireReset and a life-loss reset
//! take included ([`Env::take_game_end`]).

pub mod ale;
pub mod palette;
pub mod roms;
pub mod warp;

use std::os::raw::c_int;
use std::path::PathBuf;

use rand::Rng;

use self::ale::{Ale, MAX_EPISODE_FRAMES, SCREEN_BYTES, SCREEN_H, SCREEN_PIXELS, SCREEN_W};
use self::palette::Palette;
use self::warp::{changed_words, Indexed, Warp, SIZE};
use super::{
    bad_snapshot, Action, ActionSpace, Env, EnvEntry, EnvError, EnvRng, EnvSnapshot, EnvState, GameEnd, Observation,
    ObservationSpace, Step,
};

/// NoopResetEnv's `noop_max` (baselines `make_atari`).
pub const NOOP_MAX: u32 = 30;
/// MaxAndSkipEnv's `skip`.
pub const SKIP: usize = 4;
/// VecFrameStack's `nstack` for A2C/ACKTR.
pub const STACK: usize = 4;
const FRAME: usize = SIZE * SIZE;

/// The ale-py ROM id of a `<Game>NoFrameskip-v4` id.
pub fn rom_of(id: &str) -> Option<&'static str> {
    let game = id.strip_suffix("NoFrameskip-v4")?;
    GAMES.iter().find(|(g, _)| *g == game).map(|(_, r)| *r)
}

macro_rules! atari_entries {
    ($($game:literal => $rom:literal),* $(,)?) => {
        /// The games of the paper (Table 1's six, Atlantis of Figure 2, Table 4's 44), all
        /// supported by ALE 0.6 and bundled with ale-py 0.12.1: Gymnasium name and ale-py ROM id.
        pub const GAMES: &[(&str, &str)] = &[$(($game, $rom),)*];

        /// Registry entries of the Atari games. No Gymnasium TimeLimit applies: ALE
        /// truncates a game at 108,000 frames itself, 27,000 agent steps after the frame
        /// skip, which `max_episode_steps` states (the wrapper never fires before ALE).
        pub const REGISTRY: &[EnvEntry] = &[
            $(EnvEntry {
                id: concat!($game, "NoFrameskip-v4"),
                max_episode_steps: (MAX_EPISODE_FRAMES as usize) / SKIP,
                make: || AtariEnv::boxed($rom, concat!($game, "NoFrameskip-v4")),
            },)*
        ];
    };
}

atari_entries! {
    "Alien" => "alien", "Amidar" => "amidar", "Assault" => "assault", "Asterix" => "asterix",
    "Asteroids" => "asteroids", "Atlantis" => "atlantis", "BankHeist" => "bank_heist",
    "BattleZone" => "battle_zone", "BeamRider" => "beam_rider", "Berzerk" => "berzerk",
    "Bowling" => "bowling", "Boxing" => "boxing", "Breakout" => "breakout", "Centipede" => "centipede",
    "CrazyClimber" => "crazy_climber", "DemonAttack" => "demon_attack", "DoubleDunk" => "double_dunk",
    "Enduro" => "enduro", "FishingDerby" => "fishing_derby", "Freeway" => "freeway", "Gopher" => "gopher",
    "IceHockey" => "ice_hockey", "Jamesbond" => "jamesbond", "Kangaroo" => "kangaroo", "Krull" => "krull",
    "KungFuMaster" => "kung_fu_master", "Phoenix" => "phoenix", "Pitfall" => "pitfall", "Pong" => "pong",
    "Qbert" => "qbert", "Riverraid" => "riverraid", "RoadRunner" => "road_runner", "Robotank" => "robotank",
    "Seaquest" => "seaquest", "Solaris" => "solaris", "SpaceInvaders" => "space_invaders",
    "StarGunner" => "star_gunner", "TimePilot" => "time_pilot", "Tutankham" => "tutankham",
    "UpNDown" => "up_n_down", "VideoPinball" => "video_pinball", "WizardOfWor" => "wizard_of_wor",
    "YarsRevenge" => "yars_revenge", "Zaxxon" => "zaxxon",
}

/// Seconds for `steps` timesteps of the bare emulator: [`SKIP`] `act` frames each with a
/// uniformly random minimal-set action (drawn once per timestep), `reset_game` at game over;
/// no screen is read (`acktr bench --algo ale`).
pub fn bench_raw(rom: &str, id: &str, steps: u64) -> Result<f64, EnvError> {
    use rand::SeedableRng;
    let mut raw = RawAtari::new(rom, id)?;
    raw.seed_and_load(1);
    let mut rng = EnvRng::seed_from_u64(0);
    let n = raw.actions().len();
    let start = std::time::Instant::now();
    for _ in 0..steps {
        let a = rng.gen_range(0..n);
        for _ in 0..SKIP {
            let s = raw.step(a);
            if s.terminated || s.truncated {
                raw.reset_game();
            }
        }
    }
    Ok(start.elapsed().as_secs_f64())
}

/// What one raw emulator step returned.
#[derive(Debug, Clone, Copy)]
pub struct RawStep {
    pub reward: i32,
    pub terminated: bool,
    pub truncated: bool,
}

/// The raw `NoFrameskip-v4` environment (FORMAT.md "The emulator").
pub struct RawAtari {
    ale: Ale,
    rom: PathBuf,
    loaded: bool,
    actions: Vec<c_int>,
}

impl RawAtari {
    /// An emulator for `rom` (an ale-py ROM id), the file found and md5-checked.
    pub fn new(rom: &str, id: &str) -> Result<Self, EnvError> {
        let path = roms::locate(rom).map_err(|why| EnvError::Engine { env: id.to_string(), why })?;
        let mut raw = Self { ale: Ale::new(), rom: path, loaded: false, actions: Vec::new() };
        // Loaded once now (seed 1) so that the action set is known before the first reset,
        // and again with the reset's seed then, as ale-py also loads twice (FORMAT.md: the
        // first load has no effect).
        raw.load(1);
        Ok(raw)
    }

    fn load(&mut self, seed: i32) {
        self.ale.set_random_seed(seed);
        self.ale.load(&self.rom);
        self.actions = self.ale.minimal_actions().to_vec();
    }

    /// The first reset: `random_seed` = `seed` (never 0, which means "from the clock"), load
    /// the ROM (which resets the game).
    pub fn seed_and_load(&mut self, seed: i32) {
        self.load(seed);
        self.loaded = true;
    }

    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// The minimal action set (ALE ids).
    pub fn actions(&self) -> &[c_int] {
        &self.actions
    }

    pub fn reset_game(&mut self) {
        self.ale.reset_game();
    }

    fn truncated(&self) -> bool {
        self.ale.episode_frame() >= MAX_EPISODE_FRAMES
    }

    /// One frame with minimal-set action `i`; once the game is over, no frame and reward 0.
    pub fn step(&mut self, i: usize) -> RawStep {
        let reward = if self.ale.game_over() { 0 } else { self.ale.act(self.actions[i]) };
        let truncated = self.truncated();
        RawStep { reward, terminated: self.ale.game_over() && !truncated, truncated }
    }

    pub fn lives(&self) -> i32 {
        self.ale.lives()
    }

    /// The RGB screen (`getScreenRGB`), 210x160x3.
    pub fn screen(&self, out: &mut [u8]) {
        self.ale.screen_rgb(out)
    }

    /// The screen as palette indices (`getScreen`), 210x160.
    pub fn screen_indices(&self, out: &mut [u8]) {
        self.ale.screen_indices(out)
    }
}

/// Which screen the wrapped observation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    /// NoopReset's last raw screen.
    Raw,
    /// The max-pool of MaxAndSkip's two buffers.
    Pooled,
}

/// Slots of [`Screens`]: MaxAndSkip's two buffers, NoopReset's raw screen.
const B0: usize = 0;
const B1: usize = 1;
const RAW: usize = 2;

/// The screens an observation is made of, as palette indices (`getScreen`), with the
/// palette that turns them into pooled grey values ([`palette`]).
struct Screens {
    palette: Palette,
    /// Per slot: the screen; zero RGB (black) until first written, which `written` false
    /// stands for (MaxAndSkip's buffers are zero when made and never cleared).
    px: [Vec<u8>; 3],
    written: [bool; 3],
    /// Per slot and row, the words (8 pixels) changed since the warp last read the slot.
    since: [Vec<u32>; 3],
    /// The screen being read (then swapped into its slot).
    fresh: Vec<u8>,
    /// One read's changed words.
    masks: Vec<u32>,
    /// An RGB screen, read only when a palette index not seen before shows up.
    rgb: Vec<u8>,
}

impl Screens {
    fn new() -> Self {
        Self {
            palette: Palette::new(),
            px: std::array::from_fn(|_| vec![0; SCREEN_PIXELS]),
            written: [false; 3],
            since: std::array::from_fn(|_| vec![0; SCREEN_H]),
            fresh: vec![0; SCREEN_PIXELS],
            masks: vec![0; SCREEN_H],
            rgb: vec![0; SCREEN_BYTES],
        }
    }

    /// The current screen into `slot`. A palette index not known yet is learned from the RGB
    /// screen of this same frame; only the words that changed can hold one (every index of
    /// a written slot is known).
    fn grab(&mut self, raw: &RawAtari, slot: usize) {
        raw.screen_indices(&mut self.fresh);
        changed_words(&self.fresh, &self.px[slot], &mut self.masks);
        let known = if self.written[slot] {
            self.masks.iter().enumerate().all(|(y, &m)| {
                let mut m = m;
                while m != 0 {
                    let w = m.trailing_zeros() as usize;
                    m &= m - 1;
                    let i = y * SCREEN_W + 8 * w;
                    if !self.palette.knows_all(&self.fresh[i..i + 8]) {
                        return false;
                    }
                }
                true
            })
        } else {
            self.palette.knows_all(&self.fresh)
        };
        if !known {
            raw.screen(&mut self.rgb);
            self.palette.learn(&self.fresh, &self.rgb);
        }
        for (s, m) in self.since[slot].iter_mut().zip(&self.masks) {
            *s |= *m;
        }
        std::mem::swap(&mut self.fresh, &mut self.px[slot]);
        self.written[slot] = true;
    }

    /// Warps the screen `shown` into `out`. A buffer never written is black, and
    /// `max(c, black) = c = max(c, c)`.
    fn warp(&mut self, warp: &mut Warp, shown: Shown, out: &mut [u8]) {
        let (a, b) = match (shown, self.written[B0], self.written[B1]) {
            (Shown::Raw, ..) => (RAW, RAW),
            (Shown::Pooled, true, true) => (B0, B1),
            (Shown::Pooled, true, false) => (B0, B0),
            (Shown::Pooled, false, true) => (B1, B1),
            (Shown::Pooled, false, false) => {
                // Both black: grey 0 everywhere, which the area resampling keeps 0.
                out.fill(0);
                return;
            }
        };
        debug_assert!(self.written[a] && self.written[b]);
        warp.apply_indexed(
            Indexed { px: &self.px[a], slot: a, changed: &self.since[a] },
            Indexed { px: &self.px[b], slot: b, changed: &self.since[b] },
            self.palette.pool(),
            out,
        );
        self.since[a].fill(0);
        self.since[b].fill(0);
    }
}

/// A whole game in progress, as `Monitor` counts it.
#[derive(Debug, Clone, Copy, Default)]
struct Game {
    score: f64,
    learner: f64,
    steps: usize,
}

/// `wrap_deepmind(make_atari(id))` + the stack of 4: the environment the agents see.
pub struct AtariEnv {
    id: &'static str,
    raw: RawAtari,
    warp: Warp,
    /// MaxAndSkip's two frame buffers and NoopReset's last raw screen.
    screens: Screens,
    /// Which screen the observation is (what `observe` warps).
    shown: Shown,
    was_real_done: bool,
    lives: i32,
    /// The stack as a ring: frame `newest` is the newest, the one after it the oldest.
    frames: [Vec<u8>; STACK],
    newest: usize,
    game: Game,
    ended: Option<GameEnd>,
}

/// What one wrapped step returned, before warping.
struct LifeStep {
    reward: f64,
    terminated: bool,
    truncated: bool,
    frames: usize,
}

impl AtariEnv {
    /// Builds `id` for ROM `rom`; the ROM is loaded at the first reset (its seed comes from
    /// the reset's random stream).
    pub fn new(rom: &str, id: &'static str) -> Result<Self, EnvError> {
        Ok(Self {
            id,
            raw: RawAtari::new(rom, id)?,
            warp: Warp::new(),
            screens: Screens::new(),
            shown: Shown::Raw,
            was_real_done: true,
            lives: 0,
            frames: std::array::from_fn(|_| vec![0; FRAME]),
            newest: STACK - 1,
            game: Game::default(),
            ended: None,
        })
    }

    pub fn boxed(rom: &str, id: &'static str) -> Result<Box<dyn Env>, EnvError> {
        Ok(Box::new(Self::new(rom, id)?))
    }

    /// Number of actions (the minimal set).
    fn n_actions(&self) -> usize {
        self.raw.actions().len()
    }

    /// MaxAndSkip.step: 4 frames (fewer if the game ends), the last two max-pooled.
    fn skip(&mut self, a: usize) -> (LifeStep, bool) {
        let mut total = 0i64;
        let mut frames = 0;
        let mut last = RawStep { reward: 0, terminated: false, truncated: false };
        for i in 0..SKIP {
            last = self.raw.step(a);
            frames += 1;
            if i == SKIP - 2 {
                self.screens.grab(&self.raw, B0);
            }
            if i == SKIP - 1 {
                self.screens.grab(&self.raw, B1);
            }
            total += i64::from(last.reward);
            if last.terminated || last.truncated {
                break;
            }
        }
        let done = last.terminated || last.truncated;
        // Monitor sits here, below EpisodicLife: every MaxAndSkip step counts.
        self.game.score += total as f64;
        self.game.steps += 1;
        if done {
            self.ended = Some(GameEnd { score: self.game.score, steps: self.game.steps, learner_return: self.game.learner });
        }
        (LifeStep { reward: total as f64, terminated: last.terminated, truncated: last.truncated, frames }, done)
    }

    /// The observation is now the max-pool of the two buffers (as they are now: nothing
    /// fetches between a `pool` and the `observe` that follows it).
    fn pool(&mut self) {
        self.shown = Shown::Pooled;
    }

    /// EpisodicLife.step.
    fn life_step(&mut self, a: usize) -> LifeStep {
        let (mut s, done) = self.skip(a);
        self.was_real_done = done;
        let l = self.raw.lives();
        if 0 < l && l < self.lives {
            s.terminated = true;
        }
        self.lives = l;
        s
    }

    /// NoopReset.reset with `n` no-ops; the observation is the last raw screen, in `self.screen`.
    fn real_reset(&mut self, n: u32) {
        self.raw.reset_game();
        self.game = Game::default();
        for _ in 0..n {
            let s = self.raw.step(0);
            if s.terminated || s.truncated {
                self.raw.reset_game();
            }
        }
        self.screens.grab(&self.raw, RAW);
        self.shown = Shown::Raw;
    }

    /// EpisodicLife.reset.
    fn life_reset(&mut self, n: u32) {
        if self.was_real_done {
            self.real_reset(n);
        } else {
            self.skip(0);
            self.pool();
        }
        self.lives = self.raw.lives();
    }

    /// FireReset.reset (the game has FIRE: all the paper's games but a few; see
    /// [`Self::has_fire`]); `draw` gives a fresh no-op count for the never-exercised redo.
    fn fire_reset(&mut self, n: u32, draw: &mut dyn FnMut() -> u32) {
        self.life_reset(n);
        if !self.has_fire() {
            return;
        }
        let s = self.life_step(1);
        if s.terminated || s.truncated {
            self.life_reset(draw());
        }
        let s = self.life_step(2);
        self.pool();
        if s.terminated || s.truncated {
            self.life_reset(draw());
        }
    }

    /// FireReset applies when action 1 of the minimal set is FIRE (ALE id 1) and the set has
    /// at least 3 actions (baselines asserts both).
    fn has_fire(&self) -> bool {
        let a = self.raw.actions();
        a.len() >= 3 && a[1] == 1
    }

    /// Warps the observation's screen into the newest frame of the stack: a new one
    /// (the oldest dropped), or, at a reset, the only one (the others zero).
    fn observe(&mut self, reset: bool) {
        if reset {
            for f in &mut self.frames {
                f.fill(0);
            }
        } else {
            self.newest = (self.newest + 1) % STACK;
        }
        self.screens.warp(&mut self.warp, self.shown, &mut self.frames[self.newest]);
    }

    fn ensure_loaded(&mut self, rng: &mut EnvRng) {
        if !self.raw.is_loaded() {
            // ALE's random_seed: a positive int32 (0 would seed from the clock).
            let seed: i32 = rng.gen_range(1..=i32::MAX);
            self.raw.seed_and_load(seed);
        }
    }

    /// The reset the conformance cases describe: `noops` no-ops if this is a game reset.
    /// Returns whether it was a game reset.
    pub fn reset_with(&mut self, noops: u32, draw: &mut dyn FnMut() -> u32) -> bool {
        let real = self.was_real_done;
        self.fire_reset(noops, draw);
        self.observe(true);
        real
    }

    /// A wrapped step, with its raw (unclipped) reward and frame count.
    pub fn step_raw(&mut self, a: usize) -> (f64, bool, bool, usize) {
        let s = self.life_step(a);
        self.pool();
        self.observe(false);
        (s.reward, s.terminated, s.truncated, s.frames)
    }

    /// The stack, oldest frame first.
    pub fn stack(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(STACK * FRAME);
        for k in 1..=STACK {
            v.extend_from_slice(&self.frames[(self.newest + k) % STACK]);
        }
        v
    }

    /// The newest frame.
    pub fn frame(&self) -> &[u8] {
        &self.frames[self.newest]
    }

    pub fn lives(&self) -> i32 {
        self.raw.lives()
    }

    /// Loads the ROM with ALE seed `seed` (the conformance cases' `ale_seed`).
    pub fn load_with_seed(&mut self, seed: i32) {
        self.raw.seed_and_load(seed);
    }

    /// The minimal action set (ALE ids); empty before the first reset.
    pub fn actions(&self) -> &[c_int] {
        self.raw.actions()
    }
}

/// Byte strings packed into `u64`s: for each, its length, then its bytes 8 to a word.
fn pack(parts: &[Vec<u8>], out: &mut Vec<u64>) {
    out.push(parts.len() as u64);
    for p in parts {
        out.push(p.len() as u64);
        out.extend(p.chunks(8).map(|c| {
            let mut w = [0u8; 8];
            w[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(w)
        }));
    }
}

/// The inverse of [`pack`]; `None` if the words do not hold exactly that.
fn unpack(words: &[u64]) -> Option<Vec<Vec<u8>>> {
    let (&n, mut rest) = words.split_first()?;
    let mut parts = Vec::with_capacity(n.min(64) as usize);
    for _ in 0..n {
        let (&len, r) = rest.split_first()?;
        let len = usize::try_from(len).ok()?;
        let (body, r) = r.split_at_checked(len.div_ceil(8))?;
        let mut bytes: Vec<u8> = body.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes.truncate(len);
        parts.push(bytes);
        rest = r;
    }
    rest.is_empty().then_some(parts)
}

/// `sign(r)`, baselines' ClipRewardEnv.
pub(crate) fn clip(r: f64) -> f64 {
    if r > 0.0 {
        1.0
    } else if r < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Env for AtariEnv {
    fn id(&self) -> &str {
        self.id
    }

    fn observation_space(&self) -> ObservationSpace {
        ObservationSpace::Frames { channels: STACK, height: SIZE, width: SIZE }
    }

    fn action_space(&self) -> ActionSpace {
        ActionSpace::Discrete { n: self.n_actions() }
    }

    fn reset(&mut self, rng: &mut EnvRng) -> Observation {
        self.ensure_loaded(rng);
        // NoopResetEnv: `np_random.randint(1, noop_max + 1)`, drawn at game resets only
        // (EpisodicLife calls it only then).
        let n = if self.was_real_done { rng.gen_range(1..=NOOP_MAX) } else { 0 };
        // Never exercised (FORMAT.md (*)): a fresh count for a FireReset redo.
        let mut redo = || rng.gen_range(1..=NOOP_MAX);
        self.reset_with(n, &mut redo);
        Observation::Frames(self.stack())
    }

    fn step(&mut self, action: &Action) -> Result<Step, EnvError> {
        let a = match action {
            Action::Discrete(a) if *a < self.n_actions() => *a,
            _ => {
                return Err(EnvError::BadAction {
                    env: self.id.to_string(),
                    action: action.clone(),
                    why: format!("expected a discrete action below {}", self.n_actions()),
                })
            }
        };
        let (r, terminated, truncated, _) = self.step_raw(a);
        let reward = clip(r);
        self.game.learner += reward;
        if let Some(end) = self.ended.as_mut() {
            end.learner_return = self.game.learner;
        }
        Ok(Step { obs: Observation::Frames(self.stack()), reward, terminated, truncated })
    }

    fn set_state(&mut self, state: &EnvState) -> Result<Observation, EnvError> {
        Err(EnvError::BadState {
            env: self.id.to_string(),
            state: state.clone(),
            why: "Atari cases replay from a seed (FORMAT.md \"Atari cases\"), not from a state".into(),
        })
    }

    /// The emulator's whole state (ALE's `cloneSystemState`: console, cartridge, generators
    /// and frame counters) and the wrappers' (MaxAndSkip's buffers, the stack, lives, the
    /// game in progress, the colours learned so far), as bytes packed into `counters`.
    fn snapshot(&self) -> EnvSnapshot {
        let mut bytes: Vec<Vec<u8>> = vec![self.raw.ale.save_state()];
        bytes.extend(self.screens.px.iter().cloned());
        bytes.push(self.screens.written.iter().map(|&w| u8::from(w)).collect());
        let (idx, rgb) = self.screens.palette.known_colours();
        bytes.push(idx);
        bytes.push(rgb);
        bytes.extend(self.frames.iter().cloned());
        let mut counters = vec![
            u64::from(self.raw.loaded),
            u64::from(self.shown == Shown::Pooled),
            u64::from(self.was_real_done),
            self.lives as u32 as u64,
            self.newest as u64,
            self.game.steps as u64,
        ];
        pack(&bytes, &mut counters);
        EnvSnapshot { values: vec![self.game.score, self.game.learner], counters }
    }

    fn restore(&mut self, snapshot: &EnvSnapshot) -> Result<(), EnvError> {
        let bad = |why: &str| bad_snapshot(self.id, why);
        let (head, packed) = snapshot.counters.split_at_checked(6).ok_or_else(|| bad("too short"))?;
        let parts = unpack(packed).ok_or_else(|| bad("damaged"))?;
        let want = 1 + 3 + 1 + 2 + STACK;
        if parts.len() != want || snapshot.values.len() != 2 {
            return Err(bad("not an Atari snapshot"));
        }
        let sizes_ok = parts[1..4].iter().all(|p| p.len() == SCREEN_PIXELS)
            && parts[4].len() == 3
            && parts[6].len() == 3 * parts[5].len()
            && parts[7..].iter().all(|f| f.len() == FRAME)
            && (head[4] as usize) < STACK;
        if !sizes_ok {
            return Err(bad("sizes do not fit this environment"));
        }
        self.raw.ale.restore_state(&parts[0]);
        self.raw.loaded = head[0] != 0;
        for (k, px) in parts[1..4].iter().enumerate() {
            self.screens.px[k].copy_from_slice(px);
            self.screens.written[k] = parts[4][k] != 0;
            // Everything changed as far as the warp knows: its next pass is a full one.
            self.screens.since[k].fill(u32::MAX);
        }
        self.screens.palette = palette::Palette::new();
        self.screens.palette.learn(&parts[5], &parts[6]);
        for (f, p) in self.frames.iter_mut().zip(&parts[7..]) {
            f.copy_from_slice(p);
        }
        self.shown = if head[1] != 0 { Shown::Pooled } else { Shown::Raw };
        self.was_real_done = head[2] != 0;
        self.lives = head[3] as u32 as i32;
        self.newest = head[4] as usize;
        self.game = Game { score: snapshot.values[0], learner: snapshot.values[1], steps: head[5] as usize };
        self.ended = None;
        self.warp = Warp::new();
        Ok(())
    }

    fn take_game_end(&mut self) -> Option<GameEnd> {
        self.ended.take()
    }

    fn reports_games(&self) -> bool {
        true
    }
}
