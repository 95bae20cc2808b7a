"""``oscillating`` from sweep context: a member whose validation loss bounces far more than its siblings'.

A single epoch-level run has too few points to tell LR-driven bouncing from evaluation noise.
Inside an LR sweep the siblings are the same setup (same data, model, loss scale) at other LRs,
so their validation curves give the noise a healthy LR produces. A member above the sweep's
best LR whose validation loss moves several times more per evaluation than its siblings' and
ends clearly worse than the best sibling is the "LR too high -> oscillation" case.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from parsers import Run

from . import wording as w
from .coverage import without_modes
from .findings import Finding, LRBasis, Mode, RunAnalysis, SweepAnalysis

# Evaluations a member needs for its mean step-to-step change to mean anything.
MIN_EVALS = 8
# Siblings needed to establish the sweep's ordinary bounce.
MIN_SIBLINGS = 2
# Bounce (mean |change| between evaluations, in the sweep's shared loss units) at least this
# many times the siblings' median: roughly twice what the largest healthy members of real
# sweeps show over their slowest ones, so plain LR-proportional noise stays below it.
ROUGHNESS_RATIO = 2.5
# The level stays high: final validation loss at least this much above the best sibling's.
FINAL_EXCESS = 0.2


def _val(run: Run) -> np.ndarray:
    df = run.role_series("val_loss")
    if df is None or df.empty:
        return np.array([])
    v = df["value"].to_numpy(np.float64)
    return v[np.isfinite(v)]


def _bounce(vals: np.ndarray) -> float:
    return float(np.mean(np.abs(np.diff(vals))))


def annotate(runs: Sequence[Run], analyses: Sequence[RunAnalysis], sweeps: Sequence[SweepAnalysis]) -> None:
    """Add an ``oscillating`` finding to sweep members that bounce far more than their siblings."""
    by_key = {(r.name, str(r.path)): (r, a) for r, a in zip(runs, analyses)}
    for sw in sweeps:
        if sw.best_lr is None:
            continue
        members = []
        for p in sw.points:
            hit = by_key.get((p["name"], str(p["path"])))
            if hit is None or p.get("diverged") or p.get("failed") or p.get("lr") is None:
                continue
            vals = _val(hit[0])
            if len(vals) >= MIN_EVALS:
                members.append((hit[0], hit[1], float(p["lr"]), vals))
        if len(members) < MIN_SIBLINGS + 1:
            continue
        for i, (run, ra, lr, vals) in enumerate(members):
            if lr <= sw.best_lr or any(f.mode in (Mode.OSCILLATING, Mode.DIVERGED) for f in ra.findings):
                continue
            others = [m for j, m in enumerate(members) if j != i]
            sib = float(np.median([_bounce(m[3]) for m in others]))
            mine = _bounce(vals)
            best_final = min(float(np.mean(m[3][-3:])) for m in others)
            final = float(np.mean(vals[-3:]))
            if sib <= 0 or mine < ROUGHNESS_RATIO * sib or final < (1 + FINAL_EXCESS) * best_final:
                continue
            ratio = mine / sib
            ev = {
                "val_bounce_per_eval": mine,
                "siblings_median_bounce": sib,
                "bounce_ratio": ratio,
                "final_val_loss": final,
                "best_sibling_final_val_loss": best_final,
                "sweep_best_lr": sw.best_lr,
                "lr": lr,
                "summary": (
                    f"validation loss bounces {w.factor(ratio)} more per evaluation than at the "
                    f"sweep's other LRs ({w.num(mine)} vs {w.num(sib)}) and ends at {w.num(final)} "
                    f"vs {w.num(best_final)} at the best LR {w.lr(sw.best_lr)}"
                ),
            }
            target = sw.suggested_lr or sw.best_lr
            rec = (f"lower the LR to ~{w.lr(target)} ({w.factor(lr / target)} lower; "
                   f"the sweep's best LR is {w.lr(sw.best_lr)})")
            conf = float(np.clip(0.5 + 0.1 * (ratio - ROUGHNESS_RATIO), 0.5, 0.85))
            steps = run.role_series("val_loss")["step"]
            tag = run.primary_tag("val_loss")
            found = Finding(Mode.OSCILLATING, "warning", conf, int(steps.iloc[0]), int(steps.iloc[-1]), w.clean(ev), rec,
                            tag)
            found.advise(target, LRBasis.SWEEP)  # the sweep measured it
            ra.findings.append(found)
            # Seen across the sweep, what the run's own points were too few to check.
            ra.not_checked = without_modes(ra.not_checked, (Mode.OSCILLATING,))
