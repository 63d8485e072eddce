#!/usr/bin/env python3
"""Generates K-FAC conformance cases (format kfac-case/1,
../../../shared/kfac-conformance/FORMAT.md) with an independent, dense float64 numpy
implementation whose conventions follow ikostrikov/pytorch-a2c-ppo-acktr-gail `algo/kfac.py`
(factor scaling equal to openai/baselines `acktr/kfac.py`).

Reference versions: Python 3.11, numpy 2.x (any numpy with `linalg.eigh`).

    python3 golden/gen/make_kfac_cases.py golden/kfac

Every case draws its parameters, inputs and output gradients from a seeded generator, so the
files are reproducible bit for bit with the same numpy.
"""
import json
import sys
from pathlib import Path

import numpy as np


def act(name, s):
    if name == "none":
        return s
    if name == "tanh":
        return np.tanh(s)
    if name == "relu":
        return np.maximum(s, 0.0)
    if name == "elu":
        return np.where(s > 0, s, np.expm1(np.minimum(s, 0.0)))
    raise ValueError(name)


def act_grad(name, s):
    if name == "none":
        return np.ones_like(s)
    if name == "tanh":
        return 1.0 - np.tanh(s) ** 2
    if name == "relu":
        return (s > 0).astype(float)
    if name == "elu":
        return np.where(s > 0, 1.0, np.exp(np.minimum(s, 0.0)))
    raise ValueError(name)


def patches(x, k, stride, pad):
    """x: (B, C, H, W) -> (B, T, C*k*k) ordered (channel, kh, kw); also (oh, ow)."""
    b, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = (h + 2 * pad - k) // stride + 1
    ow = (w + 2 * pad - k) // stride + 1
    out = np.zeros((b, oh * ow, c * k * k))
    for i in range(oh):
        for j in range(ow):
            win = xp[:, :, i * stride:i * stride + k, j * stride:j * stride + k]
            out[:, i * ow + j, :] = win.reshape(b, -1)
    return out, oh, ow


def unpatch(gp, shape, k, stride, pad, oh, ow):
    """Adjoint of `patches`: gp (B, T, C*k*k) -> gradient w.r.t. x (B, C, H, W)."""
    b, c, h, w = shape
    gx = np.zeros((b, c, h + 2 * pad, w + 2 * pad))
    for i in range(oh):
        for j in range(ow):
            gx[:, :, i * stride:i * stride + k, j * stride:j * stride + k] += gp[:, i * ow + j, :].reshape(b, c, k, k)
    return gx[:, :, pad:pad + h, pad:pad + w]


def forward(net, params, x):
    """Returns output and per-layer caches (input a, pre-activation s, shapes)."""
    caches = []
    h = x
    pi = 0
    for layer in net:
        if layer["type"] == "linear":
            w, b = params[pi]
            pi += 1
            s = h @ w.T + b
            caches.append(("linear", h, s, None))
            h = act(layer["activation"], s)
        elif layer["type"] == "conv2d":
            w, b = params[pi]
            pi += 1
            k, st, pad = layer["kernel"], layer["stride"], layer["padding"]
            p, oh, ow = patches(h, k, st, pad)
            s = p @ w.reshape(w.shape[0], -1).T + b  # (B, T, O)
            caches.append(("conv", p, s, (h.shape, oh, ow)))
            hs = act(layer["activation"], s)
            h = hs.transpose(0, 2, 1).reshape(h.shape[0], w.shape[0], oh, ow)
        else:
            caches.append(("flatten", h.shape, None, None))
            h = h.reshape(h.shape[0], -1)
    return h, caches


def backward(net, params, caches, gy):
    """Back-propagates dL/dy; returns per-layer (grad W, grad b, dL/ds)."""
    out = [None] * len(params)
    g = gy
    pi = len(params)
    for layer, cache in zip(reversed(net), reversed(caches)):
        kind = cache[0]
        if kind == "flatten":
            g = g.reshape(cache[1])
            continue
        pi -= 1
        w, b = params[pi]
        a, s = cache[1], cache[2]
        if kind == "linear":
            gs = g * act_grad(layer["activation"], s)
            out[pi] = (gs.T @ a, gs.sum(0), gs)
            g = gs @ w
        else:
            xshape, oh, ow = cache[3]
            gh = g.reshape(g.shape[0], w.shape[0], oh * ow).transpose(0, 2, 1)  # (B, T, O)
            gs = gh * act_grad(layer["activation"], s)
            wm = w.reshape(w.shape[0], -1)
            gw = np.einsum("bto,btk->ok", gs, a).reshape(w.shape)
            out[pi] = (gw, gs.sum((0, 1)), gs)
            g = unpatch(gs @ wm, xshape, layer["kernel"], layer["stride"], layer["padding"], oh, ow)
    return out


def factors(caches, fisher, bias_mode, batch):
    blocks = []
    for (kind, a, s, _), (_, _, gs) in zip([c for c in caches if c[0] != "flatten"], fisher):
        if kind == "linear":
            t = 1
            a2, g2 = a, gs
            gsum = gs
        else:
            t = a.shape[1]
            a2 = a.reshape(-1, a.shape[-1])
            g2 = gs.reshape(-1, gs.shape[-1])
            gsum = gs.sum(1)
        if bias_mode == "homogeneous":
            a2 = np.concatenate([a2, np.ones((a2.shape[0], 1))], 1)
        A = (a2 / t).T @ (a2 / t) / batch
        G = (batch * t * g2).T @ (batch * t * g2) / (batch * t)
        blocks.append(("weight", A, G))
        if bias_mode == "separate":
            Gb = (batch * gsum).T @ (batch * gsum) / batch
            blocks.append(("bias", np.ones((1, 1)), Gb))
    return blocks


def grad_mats(grads, bias_mode):
    mats = []
    for gw, gb, _ in grads:
        d = gw.reshape(gw.shape[0], -1)
        if bias_mode == "homogeneous":
            mats.append(np.concatenate([d, gb[:, None]], 1))
        else:
            mats.append(d)
            mats.append(gb[:, None])
    return mats


def tensor(x):
    x = np.asarray(x, dtype=np.float64)
    return {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1)]}


def make_case(name, description, net, input_shape, cfg, batch, steps, seed, out_kind):
    rng = np.random.default_rng(seed)
    params = []
    shape = list(input_shape)
    for layer in net:
        if layer["type"] == "linear":
            w = rng.normal(0, 1 / np.sqrt(layer["in"]), (layer["out"], layer["in"]))
            params.append([w, rng.normal(0, 0.1, layer["out"])])
        elif layer["type"] == "conv2d":
            fan = layer["in_channels"] * layer["kernel"] ** 2
            w = rng.normal(0, 1 / np.sqrt(fan), (layer["out_channels"], layer["in_channels"], layer["kernel"], layer["kernel"]))
            params.append([w, rng.normal(0, 0.1, layer["out_channels"])])
    case = {
        "format": "kfac-case/1",
        "name": name,
        "description": description,
        "generator": "golden/gen/make_kfac_cases.py (numpy %s)" % np.__version__,
        "config": cfg,
        "network": net,
        "input_shape": input_shape,
        "initial_params": [{"weight": tensor(w), "bias": tensor(b)} for w, b in params],
        "steps": [],
    }
    running, eig, buf = None, None, None
    for t in range(steps):
        x = rng.normal(0, 1, [batch] + list(input_shape))
        y, caches = forward(net, params, x)
        out_dim = y.shape[1]
        gy = rng.normal(0, 1, (batch, out_dim)) / batch
        if out_kind == "categorical":
            logits = y - y.max(1, keepdims=True)
            p = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
            sampled = np.array([rng.choice(out_dim, p=row) for row in p])
            onehot = np.eye(out_dim)[sampled]
            gf = (p - onehot) / batch  # d(-mean log p(sampled))/dlogits
        else:  # Gaussian with unit variance: d(-mean log N(sampled; y, 1))/dy
            sampled = y + rng.normal(0, 1, y.shape)
            gf = (y - sampled) / batch
        grads = backward(net, params, caches, gy)
        fisher = backward(net, params, caches, gf)
        fac = factors(caches, fisher, cfg["bias"], batch)
        if running is None:
            running = [(A.copy(), G.copy()) for _, A, G in fac]
        else:
            d = cfg["stat_decay"]
            running = [(d * rA + (1 - d) * A, d * rG + (1 - d) * G) for (rA, rG), (_, A, G) in zip(running, fac)]
        if t % cfg["inverse_every"] == 0:
            eig = []
            for rA, rG in running:
                dA, QA = np.linalg.eigh(rA)
                dG, QG = np.linalg.eigh(rG)
                dA = np.where(dA <= cfg["eigen_floor"], 0.0, dA)
                dG = np.where(dG <= cfg["eigen_floor"], 0.0, dG)
                eig.append((dA, QA, dG, QG))
        mats = grad_mats(grads, cfg["bias"])
        vs = []
        for (dA, QA, dG, QG), D in zip(eig, mats):
            v = QG.T @ D @ QA
            v = v / (np.outer(dG, dA) + cfg["damping"])
            vs.append(QG @ v @ QA.T)
        vfv = cfg["lr"] ** 2 * sum(float((v * d).sum()) for v, d in zip(vs, mats))
        nu = min(1.0, np.sqrt(cfg["kl_clip"] / vfv))
        u = [nu * v for v in vs]
        buf = u if buf is None else [cfg["momentum"] * b + x for b, x in zip(buf, u)]
        # apply per layer
        k = 0
        for layer_params in params:
            w, b = layer_params
            if cfg["bias"] == "homogeneous":
                m = buf[k]
                k += 1
                dw, db = m[:, :-1], m[:, -1]
            else:
                dw, db = buf[k], buf[k + 1][:, 0]
                k += 2
            step = cfg["lr"] * (1 - cfg["momentum"])
            layer_params[0] = w - step * dw.reshape(w.shape)
            layer_params[1] = b - step * db
        blocks = []
        layer_of = [i for i in range(len(params)) for _ in range(1 if cfg["bias"] == "homogeneous" else 2)]
        parts = ["weight"] * len(params) if cfg["bias"] == "homogeneous" else ["weight", "bias"] * len(params)
        for (part, A, G), (rA, rG), v, li, pt in zip(fac, running, vs, layer_of, parts):
            blocks.append({"layer": li, "part": pt, "A": tensor(A), "G": tensor(G), "running_A": tensor(rA),
                           "running_G": tensor(rG), "natural_grad": tensor(v)})
        case["steps"].append({
            "input": tensor(x),
            "loss_output_grad": tensor(gy),
            "fisher_output_grad": tensor(gf),
            "expected": {"blocks": blocks, "vFv": vfv, "nu": float(nu),
                         "params_after": [{"weight": tensor(w), "bias": tensor(b)} for w, b in params]},
        })
    return case


BASE = {"lr": 0.25, "momentum": 0.9, "stat_decay": 0.99, "kl_clip": 0.001, "damping": 0.01,
        "inverse_every": 10, "eigen_floor": 1e-6}

CASES = [
    dict(name="mlp_elu_gaussian_separate_4steps",
         description="value-network style 64-wide ELU MLP (narrowed to 6), Gaussian Fisher, separate bias, 4 steps, eigen refresh every 2",
         net=[{"type": "linear", "in": 4, "out": 6, "activation": "elu"},
              {"type": "linear", "in": 6, "out": 6, "activation": "elu"},
              {"type": "linear", "in": 6, "out": 1, "activation": "none"}],
         input_shape=[4], cfg={**BASE, "bias": "separate", "inverse_every": 2, "kl_clip": 0.01},
         batch=7, steps=4, seed=101, out_kind="gaussian"),
    dict(name="conv_pad_tanh_homogeneous_2steps",
         description="padded conv + conv + flatten + linear, tanh, categorical Fisher, homogeneous bias, 2 steps",
         net=[{"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel": 3, "stride": 1, "padding": 1, "activation": "tanh"},
              {"type": "conv2d", "in_channels": 4, "out_channels": 2, "kernel": 2, "stride": 2, "padding": 0, "activation": "relu"},
              {"type": "flatten"},
              {"type": "linear", "in": 8, "out": 3, "activation": "none"}],
         input_shape=[3, 4, 4], cfg={**BASE, "bias": "homogeneous"},
         batch=5, steps=2, seed=202, out_kind="categorical"),
]


def main(out_dir):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for spec in CASES:
        case = make_case(**spec)
        (out / f"{case['name']}.json").write_text(json.dumps(case))
        print(f"{case['name']}: {len(case['steps'])} steps, nu = {[s['expected']['nu'] for s in case['steps']]}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "golden/kfac")
