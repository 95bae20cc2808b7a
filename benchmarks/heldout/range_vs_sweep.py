"""Validate the LR range-test recommendation against sweeps on unseen setups.

For each (task, optimizer, seed): train an LR range test (exponential ramp 1e-7 -> 10 over 300 steps,
fastai's stop rule) and a sweep of full runs on a 1-3-10 grid with the family's healthy schedule
(``make_runs.families``), then compare the analyzer's range-test suggestion with the sweep's best LR
(lowest final validation loss, mean of the last 3 evaluations, among runs that neither diverged nor
failed to learn). Prints one row per setup and how many land within 3x; beside it, what a range test
can see: the sweep's best by final *training* loss (mean of the last 5% of steps) and how much worse
the validation loss is at the suggested LR than at the sweep's best (log-linear between grid points).
A suggestion off the validation best but at the training best, with a small validation penalty, is
a generalisation optimum that a test measuring how fast the training loss falls cannot see.

Needs torch and scikit-learn (not project dependencies)::

    .venv/bin/python benchmarks/heldout/range_vs_sweep.py --seeds 5,6
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import make_runs as mr  # noqa: E402

import parsers  # noqa: E402
from lrdoctor.analysis.range_test import analyze_range_test  # noqa: E402

RAMP = (1e-7, 10.0, 300)
GRIDS = {"SGD": [3e-3, 1e-2, 3e-2, 0.1, 0.3, 1.0, 3.0],
         "Adam": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1], "AdamW": [1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 0.1]}
WITHIN = 3.0


def _setups() -> list[mr.Config]:
    """The healthy configuration of each family (one per task and optimizer, no char model)."""
    fams = mr.families(random.Random(0))
    out, seen = [], set()
    for task, _, h, _ in fams:
        if task == "char_transformer" or (task, h.optimizer) in seen:
            continue
        seen.add((task, h.optimizer))
        out.append(h)
    return out


def _range_test(task: mr.Task, h: mr.Config, seed: int, folder: Path):
    lo, hi, n = RAMP
    cfg = mr.Config(h.task, h.optimizer, hi, {"name": "constant"}, n, h.batch_size, h.dropout, h.weight_decay,
                    val_every=10**9)
    ratio = (hi / lo) ** (1 / (n - 1))
    orig = mr.lr_factor
    mr.lr_factor = lambda s, t, total: lo * ratio**t / hi  # noqa: E731 - the ramp as a schedule
    try:
        rec = mr.train(task, cfg, seed)
    finally:
        mr.lr_factor = orig
    ema = 0.0
    best = math.inf
    stop = n
    for i, v in enumerate(rec.loss):  # fastai's stop rule
        ema = 0.98 * ema + 0.02 * v
        sm = ema / (1 - 0.98 ** (i + 1))
        if not math.isfinite(v) or sm > 4 * best:
            stop = i
            break
        best = min(best, sm)
    cfg.steps = stop
    rec = mr.Record(cfg, rec.loss[:stop], rec.lr[:stop], rec.grad_norm[:stop], np.array([]), np.array([]), None,
                    rec.wall[:stop], {"n_train": len(task.x_tr), "seed": seed})
    mr.write_lightning(folder, rec)
    runs = parsers.load(folder)
    return analyze_range_test(runs[0]) if runs else None


def _sweep_best(task: mr.Task, h: mr.Config, seed: int) -> tuple[float | None, dict, float | None]:
    """(best LR by final validation loss, {LR: final validation loss or None}, best LR by final
    training loss)."""
    res, train = {}, {}
    for lr in GRIDS[h.optimizer]:
        cfg = mr.Config(h.task, h.optimizer, lr, h.schedule, h.steps, h.batch_size, h.dropout, h.weight_decay)
        rec = mr.train(task, cfg, seed)
        bad = mr.diverged(rec.loss) is not None or not np.isfinite(rec.loss).all() or \
            mr.level(rec.loss, 1.0) >= 0.9 * rec.loss[0]
        val = float(np.mean(rec.val_loss[-3:])) if len(rec.val_loss) >= 3 else math.inf
        res[lr] = None if bad or not math.isfinite(val) else val
        if not bad:
            train[lr] = float(np.mean(rec.loss[-max(5, len(rec.loss) // 20):]))
    ok = {lr: v for lr, v in res.items() if v is not None}
    return (min(ok, key=ok.get) if ok else None), res, (min(train, key=train.get) if train else None)


def _val_penalty(sug: float | None, res: dict) -> float | None:
    """The validation loss at ``sug`` (log-linear between the grid's LRs) over the sweep's best."""
    ok = sorted((lr, v) for lr, v in res.items() if v is not None)
    if not sug or len(ok) < 2:
        return None
    x = np.log([lr for lr, _ in ok])
    y = np.array([v for _, v in ok])
    if not x[0] <= math.log(sug) <= x[-1]:
        return None
    return float(np.interp(math.log(sug), x, y) / y.min())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="5")
    args = ap.parse_args(argv)
    rows, by_train, penalties = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in (int(s) for s in args.seeds.split(",")):
            for h in _setups():
                task = mr.make_task(h.task, seed)
                rt = _range_test(task, h, seed, Path(tmp) / f"{h.task}_{h.optimizer}_{seed}")
                sug = rt.suggested_lr if rt else None
                best, res, best_train = _sweep_best(task, h, seed)
                fac = max(sug / best, best / sug) if sug and best else math.inf
                fac_train = max(sug / best_train, best_train / sug) if sug and best_train else math.inf
                pen = _val_penalty(sug, res)
                rows.append(fac)
                by_train.append(fac_train)
                penalties.append(pen)
                print(f"{h.task:<20}{h.optimizer:<6}seed {seed:<3} suggested {sug or float('nan'):<10.3g} "
                      f"best {best or float('nan'):<8.3g} x{fac:5.2f}  train-best {best_train or float('nan'):<8.3g} "
                      f"x{fac_train:5.2f}  val at suggested {'-' if pen is None else f'{pen:.2f}x'} the best  "
                      + " ".join(f"{lr:g}:{'-' if v is None else f'{v:.3f}'}" for lr, v in res.items())
                      + (f" | rules {({k: float(f'{v:.3g}') for k, v in rt.rules.items() if v})} stop {rt.stop_lr}"
                         if rt else ""), flush=True)
    print(f"within {WITHIN:g}x of the sweep's best: {sum(f <= WITHIN for f in rows)}/{len(rows)}")
    print(f"within {WITHIN:g}x of the sweep's best by training loss: {sum(f <= WITHIN for f in by_train)}/{len(rows)}")
    miss = [p for f, p in zip(rows, penalties) if f > WITHIN and p is not None]
    if miss:
        print(f"misses: validation loss at the suggested LR {np.median(miss):.2f}x the best (median), "
              f"{max(miss):.2f}x (worst)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
