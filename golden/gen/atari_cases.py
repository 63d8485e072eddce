#!/usr/bin/env python3
"""Records Atari environment conformance cases (format env-case/1, section "Atari cases" of
../../../shared/env-conformance/FORMAT.md) from the reference implementation, independently of the
recorder that made the visible cases in shared/env-conformance/atari-cases/.

What it records, per case: the ROM id and the md5 of the wheel's `ale_py/roms/<rom>.bin`, the
int32 `ale_seed` that ale-py derives from `reset(seed=...)` (`AtariEnv.seed_game`:
`np.random.SeedSequence(seed).generate_state(2)[1]` as int32), the minimal action set and its
meanings, the first observation (and, for "deepmind", the RGB screen it was warped from) in base64,
and then one entry per agent step and per reset with md5s of the observation (and newest frame),
rewards, flags, `lives`, the NoopReset count drawn at each game reset and the raw frames each step ran.

- wrappers "none": `gymnasium.make("<Game>NoFrameskip-v4").unwrapped`, one raw frame per step;
  after a terminal step `reset()` (reset_game, no no-ops).
- wrappers "deepmind": the openai/baselines `common/atari_wrappers.py` chain written out below
  (NoopResetEnv(30), MaxAndSkipEnv(4), EpisodicLifeEnv, FireResetEnv, WarpFrame (cv2 RGB2GRAY +
  resize INTER_AREA to 84x84), ClipRewardEnv) in the Gymnasium 5-tuple API, plus baselines'
  VecFrameStack(4), zero-filled at every reset (game or life). The recorder rules of FORMAT.md are
  enforced: a case in which a no-op of a game reset or the skip(0) of a life reset ends the game, or a
  FireReset step returns terminated/truncated, is rejected (Reject) and another policy seed is tried.

Actions come from a seeded numpy Generator (random, with a FIRE bias and action repeats); for each
generated case the first policy seed (in a fixed order) that satisfies the case's requirements (e.g.
at least one life-loss reset; a game over is preferred) is kept, so generation is deterministic.

Reference versions: ale-py==0.12.1 (its bundled ROMs), gymnasium==1.4.0,
opencv-python-headless==4.14.0.94, numpy (2.4.6 here).

    python3 -m venv /tmp/ale-venv
    /tmp/ale-venv/bin/pip install ale-py==0.12.1 gymnasium==1.4.0 opencv-python-headless==4.14.0.94 numpy
    # validate the recorder: replay the visible cases (same seed, actions and no-op counts)
    /tmp/ale-venv/bin/python golden/gen/atari_cases.py check ../shared/env-conformance/atari-cases
    # generate the cases
    /tmp/ale-venv/bin/python golden/gen/atari_cases.py generate golden/atari
"""
import base64
import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

import ale_py
import cv2
import gymnasium as gym
import numpy as np

gym.register_envs(ale_py)

# rom id -> Gymnasium game name
GAMES = {
    "beam_rider": "BeamRider",
    "seaquest": "Seaquest",
    "qbert": "Qbert",
    "space_invaders": "SpaceInvaders",
    "atlantis": "Atlantis",
    "pong": "Pong",
    "breakout": "Breakout",
}

# rom, wrappers, reset seed, number of agent steps (none: raw frames), policy style
CASES = [
    ("beam_rider", "deepmind", 301, 400, "deepmind"),
    ("beam_rider", "none", 302, 600, "raw"),
    ("seaquest", "deepmind", 303, 400, "deepmind"),
    ("seaquest", "none", 304, 600, "raw"),
    ("qbert", "deepmind", 305, 400, "deepmind"),
    ("qbert", "none", 306, 600, "raw"),
    ("space_invaders", "deepmind", 307, 400, "deepmind"),
    ("space_invaders", "none", 308, 600, "raw"),
    ("atlantis", "deepmind", 309, 400, "deepmind"),
    ("atlantis", "none", 310, 600, "raw"),
    ("pong", "deepmind", 311, 400, "deepmind"),
    ("pong", "none", 312, 600, "raw"),
    ("breakout", "deepmind", 313, 400, "deepmind"),
    ("breakout", "none", 314, 600, "raw"),
]
POLICY_SEEDS = 40  # candidates tried per case


class Reject(Exception):
    """The case breaks a recorder rule of FORMAT.md (baselines would draw a fresh no-op count)."""


def md5(a):
    return hashlib.md5(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).hexdigest()


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def versions():
    v = {p: metadata.version(p) for p in ("ale-py", "gymnasium", "opencv-python-headless", "numpy")}
    return v


def reference_string(extra=""):
    v = versions()
    s = (f"ale-py {v['ale-py']}, gymnasium {v['gymnasium']}, opencv-python-headless "
         f"{v['opencv-python-headless']}, numpy {v['numpy']}; wrappers: openai/baselines atari_wrappers.py "
         f"(wrap_deepmind(make_atari(id))) + VecFrameStack(4)")
    return s + extra


def rom_md5(rom):
    path = Path(ale_py.__file__).parent / "roms" / f"{rom}.bin"
    return hashlib.md5(path.read_bytes()).hexdigest()


def ale_seed_of(seed):
    # ale_py/env.py AtariEnv.seed_game: ss.generate_state(n_words=2) -> (np_seed, ale_seed);
    # ale.setInt("random_seed", np.int32(ale_seed))
    _, ale_seed = np.random.SeedSequence(seed).generate_state(n_words=2)
    return int(np.int32(ale_seed))


# ---------------------------------------------------------------------------------------------
# openai/baselines common/atari_wrappers.py, Gymnasium API (terminated, truncated)


class NoopResetEnv(gym.Wrapper):
    def __init__(self, env, noop_max=30, forced_noops=None):
        super().__init__(env)
        self.noop_max = noop_max
        self.noop_action = 0
        self.forced_noops = list(forced_noops) if forced_noops is not None else None
        self.noops_used = []  # one count per game reset, in order
        self.drawn_noops = []  # what the env's np_random drew (also when forced)
        assert env.unwrapped.get_action_meanings()[0] == "NOOP"

    def reset(self, **kwargs):
        obs, info = self.env.reset(**kwargs)
        drawn = int(self.unwrapped.np_random.integers(1, self.noop_max + 1))
        self.drawn_noops.append(drawn)
        noops = self.forced_noops.pop(0) if self.forced_noops is not None else drawn
        assert noops > 0
        self.noops_used.append(noops)
        for _ in range(noops):
            obs, _, terminated, truncated, info = self.env.step(self.noop_action)
            if terminated or truncated:
                raise Reject("a no-op of a game reset ended the game")
        return obs, info

    def step(self, action):
        return self.env.step(action)


class MaxAndSkipEnv(gym.Wrapper):
    def __init__(self, env, skip=4):
        super().__init__(env)
        # zero when made, never cleared (baselines)
        self._obs_buffer = np.zeros((2,) + env.observation_space.shape, dtype=np.uint8)
        self._skip = skip
        self.last_frames = 0

    def step(self, action):
        total_reward = 0.0
        terminated = truncated = False
        info = {}
        frames = 0
        for i in range(self._skip):
            obs, reward, terminated, truncated, info = self.env.step(action)
            frames += 1
            if i == self._skip - 2:
                self._obs_buffer[0] = obs
            if i == self._skip - 1:
                self._obs_buffer[1] = obs
            total_reward += reward
            if terminated or truncated:
                break
        self.last_frames = frames
        max_frame = self._obs_buffer.max(axis=0)
        return max_frame, total_reward, terminated, truncated, info

    def reset(self, **kwargs):
        return self.env.reset(**kwargs)


class EpisodicLifeEnv(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.lives = 0
        self.was_real_done = True

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.was_real_done = terminated or truncated
        lives = self.env.unwrapped.ale.lives()
        if lives < self.lives and lives > 0:
            terminated = True
        self.lives = lives
        return obs, reward, terminated, truncated, info

    def reset(self, **kwargs):
        if self.was_real_done:
            obs, info = self.env.reset(**kwargs)
        else:
            obs, _, terminated, truncated, info = self.env.step(0)
            if terminated or truncated:
                raise Reject("the skip(0) of a life reset ended the game")
        self.lives = self.env.unwrapped.ale.lives()
        return obs, info


class FireResetEnv(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        assert env.unwrapped.get_action_meanings()[1] == "FIRE"
        assert len(env.unwrapped.get_action_meanings()) >= 3

    def reset(self, **kwargs):
        self.env.reset(**kwargs)
        obs, _, terminated, truncated, info = self.env.step(1)
        if terminated or truncated:
            raise Reject("FireReset step(1) returned done")
        obs, _, terminated, truncated, info = self.env.step(2)
        if terminated or truncated:
            raise Reject("FireReset step(2) returned done")
        return obs, info

    def step(self, action):
        return self.env.step(action)


class WarpFrame(gym.ObservationWrapper):
    def __init__(self, env, width=84, height=84):
        super().__init__(env)
        self.width, self.height = width, height
        self.observation_space = gym.spaces.Box(0, 255, (height, width), dtype=np.uint8)
        self.last_screen = None

    def observation(self, frame):
        self.last_screen = np.array(frame, dtype=np.uint8, copy=True)
        frame = cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)
        frame = cv2.resize(frame, (self.width, self.height), interpolation=cv2.INTER_AREA)
        return frame


class ClipRewardEnv(gym.Wrapper):
    def __init__(self, env):
        super().__init__(env)
        self.last_raw_reward = 0.0

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.last_raw_reward = float(reward)
        return obs, float(np.sign(reward)), terminated, truncated, info


class DeepMind:
    """make_atari(id) + wrap_deepmind(defaults) + VecFrameStack(4) for a single env."""

    def __init__(self, env_id, forced_noops=None):
        self.base = gym.make(env_id)  # OrderEnforcing/PassiveEnvChecker around AtariEnv; no TimeLimit
        assert "NoFrameskip" in env_id
        self.noop = NoopResetEnv(self.base, noop_max=30, forced_noops=forced_noops)
        self.skip = MaxAndSkipEnv(self.noop, skip=4)
        self.life = EpisodicLifeEnv(self.skip)
        inner = self.life
        if "FIRE" in self.base.unwrapped.get_action_meanings():
            inner = FireResetEnv(inner)
        self.warp = WarpFrame(inner)
        self.env = ClipRewardEnv(self.warp)
        self.stack = np.zeros((4, 84, 84), dtype=np.uint8)

    @property
    def ale(self):
        return self.base.unwrapped.ale

    def reset(self, **kwargs):
        f, _ = self.env.reset(**kwargs)
        self.stack[:] = 0  # VecFrameStack zero-fills on every (auto)reset
        self.stack[3] = f
        return f

    def step(self, a):
        f, r, term, trunc, _ = self.env.step(a)
        self.stack = np.roll(self.stack, -1, axis=0)
        self.stack[3] = f
        return f, r, term, trunc


# ---------------------------------------------------------------------------------------------


def header(rom, wrappers, seed, env, name, extra_ref=""):
    u = env.unwrapped if hasattr(env, "unwrapped") else env
    return {
        "format": "env-case/1",
        "name": name,
        "env": f"{GAMES[rom]}NoFrameskip-v4",
        "wrappers": wrappers,
        "reference": reference_string(extra_ref),
        "rom": rom,
        "rom_md5": rom_md5(rom),
        "seed": seed,
        "ale_seed": ale_seed_of(seed),
        "action_set": [int(a.value) if hasattr(a, "value") else int(a)
                       for a in u.ale.getMinimalActionSet()],
        "action_meanings": list(u.get_action_meanings()),
        "obs_shape": None,
    }


def record_deepmind(rom, seed, actions, name, forced_noops=None, extra_ref=""):
    """actions: list of indices, or a callable(step_index, rng-free) -> index."""
    dm = DeepMind(f"{GAMES[rom]}NoFrameskip-v4", forced_noops=forced_noops)
    case = header(rom, "deepmind", seed, dm.base, name, extra_ref)
    assert case["rom"] == dm.base.unwrapped._game
    case["obs_shape"] = [4, 84, 84]
    f = dm.reset(seed=seed)
    assert case["ale_seed"] == int(np.int32(dm.base.unwrapped.ale.getInt("random_seed")))
    case["initial_obs_b64"] = b64(dm.stack)
    case["initial_screen_b64"] = b64(dm.warp.last_screen)
    steps = [{"reset": {"real": True, "noops": dm.noop.noops_used[-1], "obs": md5(dm.stack),
                        "frame": md5(f), "lives": int(dm.ale.lives())}}]
    n = len(actions)
    for i in range(n):
        a = int(actions[i])
        f, r, term, trunc = dm.step(a)
        steps.append({"action": a, "obs": md5(dm.stack), "frame": md5(f), "reward": float(r),
                      "raw_reward": dm.env.last_raw_reward, "terminated": bool(term),
                      "truncated": bool(trunc), "lives": int(dm.ale.lives()),
                      "frames": dm.skip.last_frames})
        if term or trunc:
            real = bool(dm.life.was_real_done)
            k = len(dm.noop.noops_used)
            f = dm.reset()
            assert len(dm.noop.noops_used) == k + (1 if real else 0)
            steps.append({"reset": {"real": real, "noops": dm.noop.noops_used[-1] if real else 0,
                                    "obs": md5(dm.stack), "frame": md5(f),
                                    "lives": int(dm.ale.lives())}})
    case["steps"] = steps
    case["_drawn_noops"] = dm.noop.drawn_noops
    return case


def record_none(rom, seed, actions, name, extra_ref=""):
    env = gym.make(f"{GAMES[rom]}NoFrameskip-v4").unwrapped
    case = header(rom, "none", seed, env, name, extra_ref)
    case["obs_shape"] = [210, 160, 3]
    obs, _ = env.reset(seed=seed)
    case["initial_obs_b64"] = b64(obs)
    steps = [{"reset": {"real": True, "noops": 0, "obs": md5(obs), "lives": int(env.ale.lives())}}]
    for a in actions:
        a = int(a)
        obs, r, term, trunc, _ = env.step(a)
        steps.append({"action": a, "obs": md5(obs), "reward": float(r), "raw_reward": float(r),
                      "terminated": bool(term), "truncated": bool(trunc),
                      "lives": int(env.ale.lives())})
        if term or trunc:
            obs, _ = env.reset()
            steps.append({"reset": {"real": True, "noops": 0, "obs": md5(obs),
                                    "lives": int(env.ale.lives())}})
    case["steps"] = steps
    return case


def policy_actions(n_actions, n, policy_seed, style):
    """Random actions with repeats; FIRE (index 1) favoured at times."""
    rng = np.random.default_rng(policy_seed)
    p_fire = [0.1, 0.3, 0.0, 0.5][policy_seed % 4]
    p_repeat = 0.25 if style == "deepmind" else 0.75
    out, prev = [], 0
    for _ in range(n):
        u = rng.random()
        if out and u < p_repeat:
            a = prev
        elif rng.random() < p_fire:
            a = 1
        else:
            a = int(rng.integers(0, n_actions))
        out.append(a)
        prev = a
    return out


def summary(case):
    resets = [s["reset"] for s in case["steps"][1:] if "reset" in s]
    life = sum(1 for r in resets if not r["real"])
    game = sum(1 for r in resets if r["real"])
    return life, game


def generate(outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for rom, wrappers, seed, n, style in CASES:
        name = f"atari_{rom}_{wrappers}_gen"
        n_actions = len(gym.make(f"{GAMES[rom]}NoFrameskip-v4").unwrapped.get_action_meanings())
        best, best_score, rejects = None, None, 0
        for ps in range(POLICY_SEEDS):
            acts = policy_actions(n_actions, n, ps, style)
            ref = f"; recorded by golden/gen/atari_cases.py (policy seed {ps})"
            try:
                if wrappers == "deepmind":
                    case = record_deepmind(rom, seed, acts, name, extra_ref=ref)
                else:
                    case = record_none(rom, seed, acts, name, extra_ref=ref)
            except Reject:
                rejects += 1
                continue
            life, game = summary(case)
            has_lives = case["steps"][0]["reset"]["lives"] > 0
            # requirement: a life-loss reset in deepmind cases of games with lives
            ok = (not has_lives) or wrappers == "none" or life >= 1
            score = (ok, game >= 1, life >= 1)
            if best_score is None or score > best_score:
                best, best_score = case, score
            if score == (True, True, True):
                break
        case = best
        case.pop("_drawn_noops", None)
        text = json.dumps(case, separators=(",", ":"))
        path = outdir / f"{name}.json"
        path.write_text(text)
        life, game = summary(case)
        nsteps = sum(1 for s in case["steps"] if "action" in s)
        print(f"{path.name}: {len(text)} bytes, {nsteps} steps, {life} life resets, {game} game resets, "
              f"requirements met: {best_score[0]}, rejected candidates: {rejects}; {case['reference'][-40:]}")


def check(visible_dir):
    """Re-record every visible case from its seed, actions and no-op counts; compare everything."""
    all_ok = True
    for path in sorted(Path(visible_dir).glob("atari_*.json")):
        vis = json.loads(path.read_text())
        rom = vis["rom"]
        actions = [s["action"] for s in vis["steps"] if "action" in s]
        if vis["wrappers"] == "deepmind":
            forced = [s["reset"]["noops"] for s in vis["steps"] if "reset" in s and s["reset"]["real"]]
            mine = record_deepmind(rom, vis["seed"], actions, vis["name"], forced_noops=forced)
            drawn = mine.pop("_drawn_noops")
            noop_note = f"; own NoopReset draws {drawn} vs case {forced}: " + \
                ("equal" if drawn == forced else "differ")
        else:
            mine = record_none(rom, vis["seed"], actions, vis["name"])
            noop_note = ""
        diffs = [k for k in vis if k not in ("steps", "reference") and vis[k] != mine.get(k)]
        vs, ms = vis["steps"], mine["steps"]
        first_bad = next((i for i in range(max(len(vs), len(ms)))
                          if i >= len(vs) or i >= len(ms) or vs[i] != ms[i]), None)
        ok = not diffs and first_bad is None
        all_ok &= ok
        ref_same = vis["reference"] == mine["reference"]
        print(f"{path.name}: {'MATCH' if ok else 'DIFFER'} ({len(vs)} entries; header diffs {diffs}; "
              f"first differing entry {first_bad}; reference string {'same' if ref_same else 'differs'}"
              f"{noop_note})")
        if first_bad is not None:
            print("  visible:", vs[first_bad] if first_bad < len(vs) else None)
            print("  mine:   ", ms[first_bad] if first_bad < len(ms) else None)
    return all_ok


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("check", "generate"):
        sys.exit(__doc__)
    if sys.argv[1] == "check":
        sys.exit(0 if check(sys.argv[2]) else 1)
    generate(sys.argv[2])
