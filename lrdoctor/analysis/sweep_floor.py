"""``oscillating`` from sweep context: a member well above the sweep's best LR that settles on a
clearly higher floor.

The noise floor SGD-type optimisers settle on grows with the LR: past the best LR, a run keeps
bouncing around a higher loss instead of converging, even when no single evaluation looks
violent (per-row error logs of a char-RNN sweep, a loss-only export). Inside a sweep the best
member of the same setup shows how low the floor can go, so a member at several times the best
LR that gives up a real share of the achievable progress is "LR too high to settle".
Measured against the sweep's own dynamic range (first loss down to the best final value), so
it does not depend on the loss's offset or scale.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from parsers import Run

from . import wording as w
from .findings import Finding, RunAnalysis, SweepAnalysis
from .lr_advice import LRBasis

# Only members at least this many times the best LR: one grid notch above the best is within
# the flat optimum of real sweeps (their final losses sit within a few percent).
MIN_LR_RATIO = 3.0
# The member gave up at least this share of the progress the best member made (its floor sits
# this far up the way back to the initial loss): 15% is several times the spread of the members
# within one notch of the best in the corpus sweeps, and well below what a too-high LR costs.
MIN_FLOOR_SHARE = 0.15
# Points at the start whose median is the initial loss (the first value alone can be a spike).
START_POINTS = 3


def _curve(run: Run, val: bool) -> tuple[np.ndarray, np.ndarray] | None:
    df = run.role_series("val_loss" if val else "train_loss")
    if df is None or df.empty:
        return None
    v = df["value"].to_numpy(np.float64)
    ok = np.isfinite(v)
    return (df["step"].to_numpy()[ok], v[ok]) if ok.sum() > START_POINTS else None


def _final(curve: tuple[np.ndarray, np.ndarray]) -> float:
    """The level a curve ends on: the median of its last tenth."""
    v = curve[1]
    return float(np.median(v[-max(len(v) // 10, 1):]))


def _train_floor_higher(run: Run, best_run: Run, start: float) -> bool:
    """The member's training loss also ends clearly above the best member's (or is not logged)."""
    mine, best = _curve(run, False), _curve(best_run, False)
    if mine is None or best is None:
        return True
    progress = start - _final(best)
    return progress > 0 and (_final(mine) - _final(best)) / progress >= MIN_FLOOR_SHARE


def annotate(runs: Sequence[Run], analyses: Sequence[RunAnalysis], sweeps: Sequence[SweepAnalysis]) -> None:
    """Add an ``oscillating`` finding to members far above the best LR that end on a higher floor."""
    by_key = {(r.name, str(r.path)): (r, a) for r, a in zip(runs, analyses)}
    for sw in sweeps:
        if sw.best_lr is None:
            continue
        ranked = [p for p in sw.points if p.get("ranking_value") is not None and p.get("lr")
                  and not p.get("diverged") and not p.get("failed")]
        best = min(ranked, key=lambda p: p["ranking_value"], default=None)
        if best is None or by_key.get((best["name"], str(best["path"]))) is None:
            continue
        val = best.get("final_val_loss") is not None
        best_curve = _curve(by_key[(best["name"], str(best["path"]))][0], val)
        if best_curve is None:
            continue
        best_run = by_key[(best["name"], str(best["path"]))][0]
        best_train = _curve(best_run, False)
        # The initial level: the first evaluation may come after much of the fall, so the
        # training loss's start counts too (the same units up to the generalisation gap).
        starts = [float(np.median(c[1][:START_POINTS])) for c in (best_curve, best_train) if c is not None]
        start = max(starts)
        progress = start - float(best["ranking_value"])
        if not progress > 0:
            continue
        for p in ranked:
            hit = by_key.get((p["name"], str(p["path"])))
            if hit is None or float(p["lr"]) < MIN_LR_RATIO * float(sw.best_lr):
                continue
            run, ra = hit
            if any(f.mode in ("oscillating", "diverged") for f in ra.findings):
                continue
            share = (float(p["ranking_value"]) - float(best["ranking_value"])) / progress
            curve = _curve(run, val)
            if share < MIN_FLOOR_SHARE or curve is None:
                continue
            if val and not _train_floor_higher(run, best_run, start):
                continue  # its training loss went lower: a generalisation gap, not a noise floor
            what = "validation loss" if val else "loss"
            target = float(sw.suggested_lr or sw.best_lr)
            ev = {
                "final_level": float(p["ranking_value"]),
                "best_final_level": float(best["ranking_value"]),
                "initial_level": start,
                "progress_given_up": share,
                "lr": float(p["lr"]),
                "sweep_best_lr": float(sw.best_lr),
                "summary": (
                    f"at {w.factor(float(p['lr']) / float(sw.best_lr))} the sweep's best LR the {what} "
                    f"settles at {w.num(float(p['ranking_value']))} vs {w.num(float(best['ranking_value']))} at "
                    f"{w.lr(float(sw.best_lr))}: {share:.0%} of the progress the best LR made is given up "
                    f"to a higher noise floor"
                ),
            }
            rec = (f"lower the LR to ~{w.lr(target)} ({w.factor(float(p['lr']) / target)} lower; "
                   f"the sweep's best LR is {w.lr(float(sw.best_lr))})")
            # Confident in proportion to how much was given up, capped below the direct
            # bounce measurement's ceiling: a higher floor could also come from other causes.
            conf = float(np.clip(0.5 + share, 0.5, 0.8))
            tag = run.primary_tag("val_loss" if val else "train_loss")
            ra.findings.append(Finding("oscillating", "warning", conf, int(curve[0][0]), int(curve[0][-1]),
                                       w.clean(ev), rec, tag, suggested_lr=target,
                                       suggested_lr_basis=LRBasis.SWEEP.value))
