#!/usr/bin/env python3
"""Records pixel conformance cases (format pixel-case/1, golden/pixels/FORMAT.md): what
Gymnasium 1.4.0's offscreen renderer (`render_mode="rgb_array"`) draws for a MuJoCo task at
the paper's resolution (appendix A.2: 42x42 RGB), frame by frame over a seeded trajectory
with a reset in the middle.

Reference versions (pinned): gymnasium==1.4.0, mujoco==3.17.0, rendered through EGL
(`MUJOCO_GL=egl`; Mesa's software EGL on a machine without a GPU).

    python3 -m venv .venv && .venv/bin/pip install gymnasium==1.4.0 mujoco==3.17.0 numpy imageio packaging glfw
    MUJOCO_GL=egl .venv/bin/python golden/gen/record_pixel_cases.py golden/pixels

Visual flags: a case names `visuals`. `default` renders the model as Gymnasium does;
`fast` first sets, on the compiled model and before the first frame creates the rendering
context, `vis.quality.offsamples = 0` (no multisampling), `light_castshadow = 0` (no
shadows) and `mat_reflectance = 0` (no reflections): a departure chosen for speed
(with Mesa's software renderer, multisampling and shadows cost most of a frame), applied
identically on both sides, and touching nothing the physics reads.

Cameras: `free` is Gymnasium's default: `MujocoRenderer` with no camera named uses a free
camera (`mjCAMERA_FREE`, fixedcamid -1) whose `lookat` is the median of `data.geom_xpos` and
`distance` the model's extent when the first frame is drawn, then the task's
`default_camera_config` set attribute by attribute (`trackbodyid` is set, but a free camera
does not read it, so the view stays where the first frame put it). A camera named (`track`)
is the model's own, as a fixed camera (`mjCAMERA_FIXED`) with that id. The viewer, and so
the camera, persists across resets.
"""
import base64
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("MUJOCO_GL", "egl")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

SIZE = 42
CASES = [
    # name, env id, camera, visuals, reset seeds (a reset at each), steps after each reset,
    # action seed. camera: `free` (Gymnasium's default) or a camera of the model by name
    # (`track`: HalfCheetah's, Walker2d's and Hopper's `trackcom` camera, which follows the
    # body where the free camera stays where the first frame put it).
    ("reacher_free_fast", "Reacher-v5", "free", "fast", [31, 32], 20, 1),
    ("halfcheetah_free_fast", "HalfCheetah-v5", "free", "fast", [33, 34], 20, 2),
    ("walker2d_free_fast", "Walker2d-v5", "free", "fast", [35, 36], 20, 3),
    ("halfcheetah_track_fast", "HalfCheetah-v5", "track", "fast", [38], 30, 5),
    ("walker2d_track_fast", "Walker2d-v5", "track", "fast", [39], 30, 6),
    ("hopper_track_fast", "Hopper-v5", "track", "fast", [40], 30, 7),
    ("reacher_free_default", "Reacher-v5", "free", "default", [37], 5, 4),
]


def fast_visuals(model):
    model.vis.quality.offsamples = 0
    model.light_castshadow[:] = 0
    model.mat_reflectance[:] = 0


def frame_record(frame):
    assert frame.shape == (SIZE, SIZE, 3) and frame.dtype == np.uint8
    raw = frame.tobytes()
    return {"md5": hashlib.md5(raw).hexdigest(), "rgb": base64.b64encode(raw).decode()}


def record(name, env_id, camera, visuals, seeds, steps, action_seed):
    import mujoco

    assert mujoco.__version__ == "3.17.0", mujoco.__version__
    assert gym.__version__ == "1.4.0", gym.__version__
    named = {} if camera == "free" else {"camera_name": camera}
    env = gym.make(env_id, render_mode="rgb_array", width=SIZE, height=SIZE, **named)
    u = env.unwrapped
    if visuals == "fast":
        fast_visuals(u.model)
    rng = np.random.default_rng(action_seed)
    dim = env.action_space.shape[0]
    segments = []
    for seed in seeds:
        env.reset(seed=seed)
        seg = {
            "reset_seed": seed,
            "initial_state": {"qpos": u.data.qpos.tolist(), "qvel": u.data.qvel.tolist()},
            "frames": [frame_record(env.render())],
            "actions": [],
        }
        for _ in range(steps):
            a = rng.uniform(-1.0, 1.0, size=dim)
            env.step(a)
            seg["actions"].append([float(x) for x in a])
            seg["frames"].append(frame_record(env.render()))
        segments.append(seg)
    cam = u.mujoco_renderer.viewer.cam
    case = {
        "format": "pixel-case/1",
        "name": name,
        "env_id": env_id,
        "width": SIZE,
        "height": SIZE,
        "visuals": visuals,
        "camera": {
            "name": camera,
            "fixedcamid": int(cam.fixedcamid),
            "type": int(cam.type),
            "lookat": [float(x) for x in cam.lookat],
            "distance": float(cam.distance),
            "azimuth": float(cam.azimuth),
            "elevation": float(cam.elevation),
        },
        "reference": {"gymnasium": gym.__version__, "mujoco": mujoco.__version__, "gl": os.environ["MUJOCO_GL"]},
        "segments": segments,
    }
    env.close()
    return case


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for spec in CASES:
        case = record(*spec)
        (out / f"{case['name']}.json").write_text(json.dumps(case, indent=1) + "\n")
        n = sum(len(s["frames"]) for s in case["segments"])
        print(f"{case['name']}: {n} frames, camera {case['camera']}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "golden/pixels")
