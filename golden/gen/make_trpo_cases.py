#!/usr/bin/env python3
"""Generates TRPO conformance cases (format trpo-case/1, golden/trpo/FORMAT.md) with an
independent, dense float64 numpy implementation of one policy step of openai/baselines
`trpo_mpi/trpo_mpi.py` (commit 366f486): surrogate gradient, conjugate gradient on
Fisher-vector products (every 5th row), step scaling to `max_kl`, backtracking line search.

Independence: the Fisher matrix here is built densely from per-row Jacobians (one backward
pass per row and output unit), `F = (1/N) sum_r J_r^T M_r J_r`, and every product is a
matrix-vector product with it. The project computes `F v` without forming `F` (a forward-mode
R-operator and one backward pass), so the two share no code path beyond the definitions.

Reference versions: Python 3.11, numpy 2.x. Network helpers (forward, backward, patches)
come from make_kfac_cases.py beside this file.

    python3 golden/gen/make_trpo_cases.py golden/trpo

Every case draws its parameters, batch and advantages from a seeded generator, so the files
are reproducible bit for bit with the same numpy. The generator refuses a case whose
line-search decisions sit within 2% of a threshold (a float32 implementation could decide
either way), so every decision in a case file is robust.
"""
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_kfac_cases import backward, forward, tensor  # noqa: E402

LOG_2PI = np.log(2 * np.pi)


def flat(params, log_std):
    parts = []
    for w, b in params:
        parts += [w.reshape(-1), b.reshape(-1)]
    if log_std is not None:
        parts.append(log_std)
    return np.concatenate(parts)


def unflat(theta, params, log_std):
    out, at = [], 0
    for w, b in params:
        nw, nb = w.size, b.size
        out.append([theta[at:at + nw].reshape(w.shape), theta[at + nw:at + nw + nb].reshape(b.shape)])
        at += nw + nb
    ls = None
    if log_std is not None:
        ls = theta[at:at + log_std.size].copy()
        at += log_std.size
    assert at == theta.size
    return out, ls


def log_softmax(y):
    m = y.max(1, keepdims=True)
    z = y - m
    return z - np.log(np.exp(z).sum(1, keepdims=True))


def logp_and_entropy(kind, y, log_std, actions):
    """Per-row log-probabilities of `actions` and entropies."""
    if kind == "categorical":
        lsm = log_softmax(y)
        logp = lsm[np.arange(len(y)), actions.astype(int)]
        ent = -(np.exp(lsm) * lsm).sum(1)
        return logp, ent
    z = (actions - y) / np.exp(log_std)
    logp = (-0.5 * z ** 2 - log_std - 0.5 * LOG_2PI).sum(1)
    ent = np.full(len(y), (log_std + 0.5 * (1 + LOG_2PI)).sum())
    return logp, ent


def mean_kl(kind, y_old, ls_old, y_new, ls_new):
    if kind == "categorical":
        a, b = log_softmax(y_old), log_softmax(y_new)
        return float((np.exp(a) * (a - b)).sum(1).mean())
    var_old, var_new = np.exp(2 * ls_old), np.exp(2 * ls_new)
    kl = ls_new - ls_old + (var_old + (y_old - y_new) ** 2) / (2 * var_new) - 0.5
    return float(kl.sum(1).mean())


def surrogate(case, theta, old, adv):
    """mean(exp(logp - logp_old) A) + c_e mean(H), and mean KL(old || new)."""
    params, ls = unflat(theta, case["params0"], case["log_std0"])
    y, _ = forward(case["net"], params, case["obs"])
    logp, ent = logp_and_entropy(case["kind"], y, ls, case["actions"])
    gain = np.mean(np.exp(logp - old["logp"]) * adv) + case["cfg"]["entropy_coef"] * ent.mean()
    return float(gain), mean_kl(case["kind"], old["y"], old["ls"], y, ls)


def surrogate_gradient(case, adv):
    """Gradient of the surrogate at the old parameters: mean(A grad logp) + c_e grad mean(H)."""
    params, ls = case["params0"], case["log_std0"]
    y, caches = forward(case["net"], params, case["obs"])
    n = len(y)
    c_e = case["cfg"]["entropy_coef"]
    if case["kind"] == "categorical":
        lsm = log_softmax(y)
        p = np.exp(lsm)
        onehot = np.eye(y.shape[1])[case["actions"].astype(int)]
        gy = (onehot - p) * adv[:, None] / n
        # d H/d y = -p * (lsm - sum p lsm)
        gy += c_e * (-p * (lsm - (p * lsm).sum(1, keepdims=True))) / n
        g_ls = None
    else:
        var = np.exp(2 * ls)
        d = case["actions"] - y
        gy = (d / var) * adv[:, None] / n
        g_ls = ((d ** 2 / var - 1) * adv[:, None]).sum(0) / n + c_e * np.ones_like(ls)
    grads = backward(case["net"], params, caches, gy)
    return flat([[gw, gb] for gw, gb, _ in grads], g_ls)


def fisher(case, rows):
    """Dense F = (1/N) sum_r J_r^T M_r J_r over the given rows (policy parameters)."""
    params, ls = case["params0"], case["log_std0"]
    x = case["obs"][rows]
    y, caches = forward(case["net"], params, x)
    n, k = y.shape
    dim = flat(params, ls).size
    F = np.zeros((dim, dim))
    for r in range(n):
        J = np.zeros((k, dim))
        for o in range(k):
            gy = np.zeros_like(y)
            gy[r, o] = 1.0
            grads = backward(case["net"], params, caches, gy)
            J[o] = flat([[gw, gb] for gw, gb, _ in grads], None if ls is None else np.zeros_like(ls))
        if case["kind"] == "categorical":
            p = np.exp(log_softmax(y[r:r + 1]))[0]
            M = np.diag(p) - np.outer(p, p)
            F += J.T @ M @ J
        else:
            F += J.T @ np.diag(np.exp(-2 * ls)) @ J
            # The log std: d(params of the distribution)/d(log_std) = I, M = 2 I, no cross terms.
            off = dim - ls.size
            F[off:, off:] += 2 * np.eye(ls.size)
    return F / n


def cg(A, b, iters, tol, rng=None, rel=0.0):
    """baselines common/cg.py, returning the solution and every iterate; with `rng`, every
    product is perturbed by relative noise `rel` (for check_conditioning)."""
    p, r, x = b.copy(), b.copy(), np.zeros_like(b)
    rdotr = r @ r
    its = []
    for _ in range(iters):
        z = A @ p
        if rng is not None:
            z = z * (1 + rel * rng.normal(size=z.shape))
        v = rdotr / (p @ z)
        x = x + v * p
        r = r - v * z
        new = r @ r
        p = r + (new / rdotr) * p
        rdotr = new
        its.append(x.copy())
        if rdotr < tol:
            break
    return x, its


def check_conditioning(A, g, its, cfg):
    """Refuses a case whose CG iterates an implementation within the format's precision model
    could not follow: a gradient `g` rounded as float32 (relative noise 1e-6 here, ten times
    float32's) and float64 Fisher-vector products (relative noise 1e-12) must leave every
    iterate within 1e-4 of its scale (a tenth of the tolerance) and the iteration count
    unchanged. (Float32 products do not qualify: relative noise 1e-7 in the products moves
    the late iterates of these small, nearly converged systems by up to 7%.)"""
    rng = np.random.default_rng(12345)
    for _ in range(5):
        gp = g * (1 + 1e-6 * rng.normal(size=g.shape))
        _, other = cg(A, gp, cfg["cg_iters"], cfg["cg_residual_tol"], rng, 1e-12)
        assert len(other) == len(its), ("CG iteration count is fragile", len(other), len(its))
        for a, b in zip(its, other):
            assert np.abs(a - b).max() <= 1e-4 * np.abs(a).max(), ("CG iterates are fragile",)


def policy_step(case):
    cfg = case["cfg"]
    raw = case["adv_raw"]
    adv = (raw - raw.mean()) / raw.std()
    params0, ls0 = case["params0"], case["log_std0"]
    y0, _ = forward(case["net"], params0, case["obs"])
    logp0, ent0 = logp_and_entropy(case["kind"], y0, ls0, case["actions"])
    old = {"y": y0, "ls": ls0, "logp": logp0}
    theta0 = flat(params0, ls0)
    surr_before = float(np.mean(adv) + cfg["entropy_coef"] * ent0.mean())
    g = surrogate_gradient(case, adv)
    rows = np.arange(len(case["obs"]))[::cfg["fvp_subsample"]]
    F = fisher(case, rows)
    A = F + cfg["cg_damping"] * np.eye(F.shape[0])
    stepdir, its = cg(A, g, cfg["cg_iters"], cfg["cg_residual_tol"])
    check_conditioning(A, g, its, cfg)
    shs = 0.5 * stepdir @ (A @ stepdir)
    lm = np.sqrt(shs / cfg["max_kl"])
    fullstep = stepdir / lm
    tries, stepped, stepsize = [], False, 1.0
    theta = theta0
    for _ in range(cfg["line_search_steps"]):
        cand = theta0 + fullstep * stepsize
        surr, kl = surrogate(case, cand, old, adv)
        improve = surr - surr_before
        limit = cfg["max_kl"] * cfg["accept_kl_ratio"]
        if not np.isfinite([surr, kl]).all():
            verdict = "non_finite"
        elif kl > limit:
            verdict = "kl_violated"
        elif improve < 0:
            verdict = "no_improvement"
        else:
            verdict = "accepted"
        # Robustness of every decision against float32 evaluation.
        assert abs(kl - limit) > 0.02 * limit, ("KL too close to the limit", kl, limit)
        if verdict != "kl_violated":
            assert abs(improve) > 0.02 * abs(g @ fullstep) * stepsize, ("improvement too close to 0", improve)
        tries.append({"stepsize": stepsize, "surrogate": surr, "kl": kl, "improve": improve, "verdict": verdict})
        if verdict == "accepted":
            stepped, theta = True, cand
            break
        stepsize *= 0.5
    probe = case["rng"].normal(0, 1, theta0.size)
    return {
        "advantages": tensor(adv),
        "surrogate_before": surr_before,
        "entropy": float(ent0.mean()),
        "g": tensor(g),
        "fvp_probe": {"v": tensor(probe), "Fv": tensor(F @ probe)},
        "cg_iterates": [tensor(x) for x in its],
        "stepdir": tensor(stepdir),
        "shs": float(shs),
        "lm": float(lm),
        "fullstep": tensor(fullstep),
        "expected_improve": float(g @ fullstep),
        "line_search": tries,
        "stepped": stepped,
        "params_after": tensor(theta),
    }


def make_case(name, description, net, input_shape, kind, n_out, batch, cfg, seed, head_scale=1.0):
    rng = np.random.default_rng(seed)
    params = []
    for i, layer in enumerate(net):
        scale = head_scale if i == len(net) - 1 else 1.0
        if layer["type"] == "linear":
            w = rng.normal(0, scale / np.sqrt(layer["in"]), (layer["out"], layer["in"]))
            params.append([w, rng.normal(0, 0.1, layer["out"])])
        elif layer["type"] == "conv2d":
            fan = layer["in_channels"] * layer["kernel"] ** 2
            w = rng.normal(0, 1 / np.sqrt(fan), (layer["out_channels"], layer["in_channels"], layer["kernel"], layer["kernel"]))
            params.append([w, rng.normal(0, 0.1, layer["out_channels"])])
    log_std = rng.normal(-0.3, 0.2, n_out) if kind == "gaussian" else None
    obs = rng.normal(0, 1, [batch] + list(input_shape))
    y, _ = forward(net, params, obs)
    assert y.shape[1] == n_out
    if kind == "categorical":
        p = np.exp(log_softmax(y))
        actions = np.array([rng.choice(n_out, p=row) for row in p]).astype(float)
    else:
        actions = y + np.exp(log_std) * rng.normal(0, 1, y.shape)
    adv_raw = rng.normal(0.5, 2.0, batch)
    case = {"net": net, "kind": kind, "params0": params, "log_std0": log_std, "obs": obs, "actions": actions,
            "adv_raw": adv_raw, "cfg": cfg, "rng": rng}
    expected = policy_step(case)
    dist = {"type": kind}
    if kind == "gaussian":
        dist["log_std"] = tensor(log_std)
    return {
        "format": "trpo-case/1",
        "name": name,
        "description": description,
        "generator": "golden/gen/make_trpo_cases.py (numpy %s)" % np.__version__,
        "config": cfg,
        "network": net,
        "input_shape": list(input_shape),
        "distribution": dist,
        "initial_params": [{"weight": tensor(w), "bias": tensor(b)} for w, b in params],
        "batch": {"obs": tensor(obs), "actions": tensor(actions), "advantages": tensor(adv_raw)},
        "expected": expected,
    }


def config(**over):
    cfg = {"max_kl": 0.01, "cg_iters": 10, "cg_damping": 0.1, "cg_residual_tol": 1e-10, "fvp_subsample": 5,
           "line_search_steps": 10, "accept_kl_ratio": 1.5, "entropy_coef": 0.0}
    cfg.update(over)
    return cfg


def lin(i, o, a):
    return {"type": "linear", "in": i, "out": o, "activation": a}


def conv(i, o, k, s, p, a):
    return {"type": "conv2d", "in_channels": i, "out_channels": o, "kernel": k, "stride": s, "padding": p, "activation": a}


CASES = [
    ("mlp_tanh_gaussian", "MuJoCo-like policy: 3 inputs, 8-8 tanh, Gaussian with a state-independent log std "
     "(baselines run_mujoco.py settings: max_kl 0.01, cg_damping 0.1).",
     [lin(3, 8, "tanh"), lin(8, 8, "tanh"), lin(8, 2, "none")], [3], "gaussian", 2, 40, config(), 1, 1.0),
    ("mlp_tanh_gaussian_backtracks", "As mlp_tanh_gaussian with a large head and a trust region of 0.5: "
     "the full step violates the KL bound and the line search halves it.",
     [lin(3, 8, "tanh"), lin(8, 8, "tanh"), lin(8, 2, "none")], [3], "gaussian", 2, 40, config(max_kl=0.5), 3, 3.0),
    ("conv_relu_categorical_entropy", "Atari-like policy on 2x9x9 images: conv 4 3x3/2 relu, conv 4 2x2/1 relu, "
     "flatten, fc 8 relu, 4 logits; entropy bonus 0.01, baselines run_atari.py's max_kl 0.001 and cg_damping 1e-3.",
     [conv(2, 4, 3, 2, 0, "relu"), conv(4, 4, 2, 1, 0, "relu"), {"type": "flatten"}, lin(36, 8, "relu"), lin(8, 4, "none")],
     [2, 9, 9], "categorical", 4, 30, config(max_kl=0.001, cg_damping=1e-3, entropy_coef=0.01), 5, 1.0),
    ("mlp_elu_categorical_refused", "ELU policy, 3 actions; Fisher-vector products on every 10th row with damping "
     "1e-3 under-estimate the curvature of the whole batch, and 3 line-search tries all exceed the KL bound: "
     "the parameters are restored.",
     [lin(4, 6, "elu"), lin(6, 3, "none")], [4], "categorical", 3, 40,
     config(fvp_subsample=10, cg_damping=1e-3, line_search_steps=3), 7, 2.0),
    ("linear_gaussian_cg_converges", "A linear Gaussian policy (no hidden layer, 4 parameters + 1 log std): "
     "CG converges and stops early on the residual tolerance.",
     [lin(2, 1, "none")], [2], "gaussian", 1, 20, config(fvp_subsample=1), 11, 1.0),
]


def main():
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "golden/trpo")
    out.mkdir(parents=True, exist_ok=True)
    for args in CASES:
        # The first seed (counting up from the listed one) whose decisions are all robust.
        for seed in range(args[8], args[8] + 100):
            try:
                case = make_case(*args[:8], seed, *args[9:])
                break
            except AssertionError:
                continue
        case["seed"] = seed
        tries = [t["verdict"] for t in case["expected"]["line_search"]]
        print("%-34s cg iterations %2d, line search %s" % (case["name"], len(case["expected"]["cg_iterates"]), tries))
        (out / (case["name"] + ".json")).write_text(json.dumps(case, indent=None) + "\n")


if __name__ == "__main__":
    main()
