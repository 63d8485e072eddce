#!/usr/bin/env python3
"""Records environment conformance cases (format env-case/1, ../../../shared/env-conformance/FORMAT.md)
from the reference implementation.

Reference versions (pinned): gymnasium==1.4.0 (classic control); the MuJoCo tasks also need
mujoco==3.17.0 (`pip install gymnasium[mujoco]` alone picks a newer MuJoCo).

    python3 -m venv .venv && .venv/bin/pip install gymnasium==1.4.0 mujoco==3.17.0 numpy imageio packaging
    .venv/bin/python golden/gen/record_env_cases.py golden/envs

Each case: `gymnasium.make(id)` (default options and time limit), reset with a seed, read the
unwrapped state, then replay a seeded action sequence, stopping at the first terminated or
truncated step.
"""
import json
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np

CASES = [
    # name, env id, reset seed, action seed, number of actions, action style
    ("cartpole_terminates", "CartPole-v1", 11, 1, 200, "always_right"),
    ("cartpole_random", "CartPole-v1", 12, 2, 40, "random"),
    ("pendulum_time_limit", "Pendulum-v1", 13, 3, 205, "random_wide"),
    ("pendulum_gentle", "Pendulum-v1", 14, 4, 30, "random_gentle"),
    # MuJoCo (needs mujoco==3.17.0): wide actions exercise MuJoCo's control clamping.
    ("ant_wide", "Ant-v5", 21, 5, 60, "random_wide"),
    ("halfcheetah_wide", "HalfCheetah-v5", 22, 6, 120, "random_wide"),
    ("hopper_wide", "Hopper-v5", 23, 7, 120, "random_wide"),
    ("invertedpendulum_gentle", "InvertedPendulum-v5", 24, 8, 60, "random_gentle"),
    ("inverteddoublependulum_wide", "InvertedDoublePendulum-v5", 25, 9, 60, "random_wide"),
    ("reacher_time_limit", "Reacher-v5", 26, 10, 55, "random_wide"),
    ("swimmer_wide", "Swimmer-v5", 27, 11, 120, "random_wide"),
    ("walker2d_wide", "Walker2d-v5", 28, 12, 120, "random_wide"),
]


def actions_for(env, style, rng, n):
    if style == "always_right":
        return [1] * n
    if style == "random":
        return [int(a) for a in rng.integers(0, 2, size=n)]
    dim = env.action_space.shape[0]
    scale = {"random_wide": 3.0, "random_gentle": 0.5}[style]  # wide: exercises clipping
    return [list(map(float, rng.uniform(-scale, scale, size=dim))) for _ in range(n)]


def state_of(env):
    u = env.unwrapped
    if hasattr(u, "data") and hasattr(u.data, "qpos"):
        return {"qpos": u.data.qpos.tolist(), "qvel": u.data.qvel.tolist()}
    return {"state": [float(x) for x in np.asarray(u.state, dtype=np.float64)]}


def record(name, env_id, seed, action_seed, n, style):
    if env_id.endswith("-v5"):
        import mujoco

        assert mujoco.__version__ == "3.17.0", f"mujoco {mujoco.__version__}: pin mujoco==3.17.0"
    assert gym.__version__ == "1.4.0", f"gymnasium {gym.__version__}: pin gymnasium==1.4.0"
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(action_seed)
    actions = actions_for(env, style, rng, n)
    case = {
        "format": "env-case/1",
        "name": name,
        "env": env_id,
        "reference": f"gymnasium {gym.__version__}"
        + (f", mujoco {__import__('mujoco').__version__}" if env_id.endswith("-v5") else ""),
        "initial_state": state_of(env),
        "initial_obs": [float(x) for x in obs],
        "actions": [],
        "steps": [],
    }
    for a in actions:
        act = np.array(a, dtype=np.float64) if isinstance(a, list) else a
        obs, reward, terminated, truncated, _ = env.step(act)
        case["actions"].append(a)
        case["steps"].append(
            {
                "obs": [float(x) for x in obs],
                "reward": float(reward),
                "terminated": bool(terminated),
                "truncated": bool(truncated),
            }
        )
        if terminated or truncated:
            break
    return case


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for spec in CASES:
        case = record(*spec)
        (out / f"{case['name']}.json").write_text(json.dumps(case))
        last = case["steps"][-1]
        print(f"{case['name']}: {len(case['steps'])} steps, terminated={last['terminated']} truncated={last['truncated']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "golden/envs")
