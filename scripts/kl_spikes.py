#!/usr/bin/env python3
"""Where ACKTR's large single-update KLs fall on a capped task (the book's "ACKTR on MuJoCo,
step by step", section "InvertedDoublePendulum: the relapse").

usage: python3 scripts/kl_spikes.py RESULTS_DIR ENV [CAP_LENGTH] [KL]

For every finished cell of RESULTS_DIR (e.g. results/fig3) on ENV whose updates log
`exact_kl`, prints one Markdown row: its row label and seed; the first update whose batch
holds only capped episodes (length CAP_LENGTH, default 1000); the share of episodes that end
before the cap in the first and second halves after it; the updates after it whose exact KL
exceeds KL (default 0.01, the preset's kl_clip) and the largest; how many episodes ended
before the cap in the batches behind those updates against the other updates (mean per
batch); and the median exact KL of updates whose pre-fit value loss exceeds 1e5 against
those below 1e4. Needs polars.
"""
import bisect
import json
import pathlib
import statistics
import sys

import polars as pl


def cells(root: pathlib.Path, env: str):
    for prov in sorted(root.glob("*/provenance.json")):
        p = json.loads(prov.read_text())
        cell = p.get("cell", {})
        if cell.get("env") != env:
            continue
        updates = prov.parent / "updates.parquet"
        if not updates.exists() or "exact_kl" not in pl.read_parquet_schema(updates):
            continue
        label = cell.get("algorithm", "?")
        grid = cell.get("grid") or {}
        if grid:
            label += " [" + ", ".join(f"{k}={v}" for k, v in (grid.items() if isinstance(grid, dict) else grid)) + "]"
        yield label, cell.get("seed"), pl.read_parquet(updates), pl.read_parquet(prov.parent / "episodes.parquet")


def row(label, seed, u, e, cap, kl):
    steps = u["global_step"].to_list()
    # The update whose batch holds each episode: the first whose global_step reaches its end.
    upd = [bisect.bisect_left(steps, g) for g in e["global_step"].to_list()]
    failed = {}
    capped_only = {}
    for i, length in zip(upd, e["length"].to_list()):
        failed[i] = failed.get(i, 0) + (length < cap)
        capped_only[i] = capped_only.get(i, True) and length >= cap
    first = next((i for i in sorted(capped_only) if capped_only[i]), None)
    if first is None:
        return f"| {label} | {seed} | never | — | — | — | — | — |"
    after = [(i, L) for i, L in zip(upd, e["length"].to_list()) if i > first]
    half = (first + len(steps)) / 2
    share = lambda part: sum(L < cap for _, L in part) / max(1, len(part))
    early = [x for x in after if x[0] <= half]
    late = [x for x in after if x[0] > half]
    ex = u["exact_kl"].to_list()
    vl = u["value_loss"].to_list()
    later = [i for i in range(first + 1, len(ex)) if ex[i] == ex[i]]
    big = [i for i in later if ex[i] > kl]
    rest = [i for i in later if ex[i] <= kl]
    mean_failed = lambda idx: f"{statistics.mean(failed.get(i, 0) for i in idx):.2f}" if idx else "—"
    blown = [ex[i] for i in later if vl[i] > 1e5]
    calm = [ex[i] for i in later if vl[i] < 1e4]
    med = lambda x: f"{statistics.median(x):.4f} ({len(x)})" if x else "— (0)"
    return (
        f"| {label} | {seed} | {first} ({steps[first]}) | {share(early):.1%} / {share(late):.1%} | "
        f"{len(big)} | {max((ex[i] for i in later), default=float('nan')):.4f} | "
        f"{mean_failed(big)} / {mean_failed(rest)} | {med(blown)} / {med(calm)} |"
    )


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    root, env = pathlib.Path(sys.argv[1]), sys.argv[2]
    cap = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    kl = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
    print(f"`python3 scripts/kl_spikes.py {root} {env} {cap} {kl}`\n")
    print("| row | seed | first all-capped batch: update (timestep) | episodes ending before the cap after it, first / second half | updates after it with exact KL > " + f"{kl}" + " | largest exact KL after it | episodes ending before the cap per batch: those updates / the others | median exact KL, pre-fit value loss > 1e5 / < 1e4 (updates) |")
    print("|---|---:|---|---|---:|---:|---|---|")
    rows = sorted(cells(root, env), key=lambda c: (c[0], c[1]))
    if not rows:
        sys.exit(f"no finished cell on {env} under {root} logs exact_kl")
    for label, seed, u, e in rows:
        print(row(label, seed, u, e, cap, kl))


if __name__ == "__main__":
    main()
