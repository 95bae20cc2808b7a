"""Analysis time of one long run: a synthetic 1M-point loss + LR (+ grad norm, val) series.

Usage: ``python benchmarks/analysis_speed.py [--shape healthy|slow] [POINTS ...]`` (default 100k and 1M).
Prints, per size, the time of ``analyze`` (series preparation, schedule, every detector).
``--shape slow`` is a run at a constant, too low LR whose loss falls along a straight line:
every gate of ``lr_too_low`` passes, so its trend statistics and the loss forecast run.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from lrdoctor.analysis import analyze
from parsers import Run, make_scalars


def synthetic_run(n: int, seed: int = 0) -> Run:
    """Warmup + cosine LR, a noisy power-law loss with a few spikes, grad norm, sparse val."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n, dtype=np.int64)
    warm = max(n // 20, 1)
    lr = np.where(steps < warm, 3e-4 * (steps + 1) / warm,
                  3e-4 * 0.5 * (1 + np.cos(np.pi * (steps - warm) / max(n - warm, 1))))
    loss = 1.5 + 3.0 * (1 + steps / (n / 100)) ** -0.7
    loss = loss * (1 + 0.03 * rng.standard_normal(n))
    loss[rng.choice(n, 5, replace=False)] *= 3.0
    grad = 1.0 + 0.2 * rng.standard_normal(n)
    val_steps = steps[:: max(n // 200, 1)]
    val = 1.55 + 3.0 * (1 + val_steps / (n / 100)) ** -0.7
    tags = ["train/loss"] * n + ["train/lr"] * n + ["train/grad_norm"] * n + ["val/loss"] * len(val_steps)
    scalars = make_scalars(
        tags,
        np.concatenate([steps, steps, steps, val_steps]),
        None,
        np.concatenate([loss, lr, grad, val]),
    )
    return Run(name=f"synthetic-{n}", path=f"synthetic-{n}", format="synthetic", scalars=scalars)


def slow_run(n: int, seed: int = 0) -> Run:
    """A constant 1e-5 LR and a loss falling along a noisy straight line (LR too low)."""
    rng = np.random.default_rng(seed)
    steps = np.arange(n, dtype=np.int64)
    loss = 4.0 - 1.5 * steps / n + 0.05 * rng.standard_normal(n)
    scalars = make_scalars(["train/loss"] * n + ["train/lr"] * n, np.concatenate([steps, steps]), None,
                           np.concatenate([loss, np.full(n, 1e-5)]))
    return Run(name=f"slow-{n}", path=f"slow-{n}", format="synthetic", scalars=scalars)


SHAPES = {"healthy": synthetic_run, "slow": slow_run}


def main(argv: list[str]) -> int:
    """Entry point."""
    shape = "healthy"
    if argv[:1] == ["--shape"]:
        shape, argv = argv[1], argv[2:]
    sizes = [int(a) for a in argv] or [100_000, 1_000_000]
    print(f"{'points per tag':>15}{'total points':>14}{'analyze (s)':>13}{'best of':>9}  findings")
    for n in sizes:
        run = SHAPES[shape](n)
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            result = analyze([run])
            times.append(time.perf_counter() - t0)
        modes = ",".join(f.mode for f in result.runs[0].findings) or "-"
        print(f"{n:>15,}{len(run.scalars):>14,}{min(times):>13.3f}{len(times):>9}  {modes}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
