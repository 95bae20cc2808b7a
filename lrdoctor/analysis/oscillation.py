"""``oscillating``: the LR is too high: the loss bounces with no real downward trend."""

from __future__ import annotations

import numpy as np

from . import wording as w
from .findings import Finding
from .signals import Signals, mad_noise, rolling_median

# Bouncing: 2nd-half roughness (median std / L0 in sub-windows) at least this; a healthy
# run's minibatch noise at its final LR sits well below (a few % of L0).
MIN_ROUGHNESS = 0.055
# The bounce is big against what the run learned: robust noise (MAD) in the 2nd half at
# least this share of the progress. Spiky runs have a calm floor (small MAD), healthy
# runs a noise much smaller than their progress.
NOISE_PER_PROGRESS = 0.08
# No real downward trend: the 2nd half gains less than this share of its starting level.
MAX_REL_DROP = 0.15
# Median windows (fraction of the run) for the loss levels compared.
LEVEL_WINDOW = 0.04
# Suggested LR: 3x lower, one notch on a 1-3-10 grid.
LR_FACTOR = 3.0


def detect(sig: Signals) -> Finding | None:
    """The oscillation finding of a run, or None."""
    view = sig.view
    if view is None:
        return None
    scale = abs(view.l0)
    h = LEVEL_WINDOW / 2
    lmid = view.level_frac(0.5 - h, 0.5 + h)
    lend = view.level_frac(1 - 2 * h, 1.0)
    if not (np.isfinite(lmid) and np.isfinite(lend)) or lmid <= 0:
        return None
    rel_drop = (lmid - lend) / lmid
    rough = view.roughness(0.5, 1.0)
    sel = view.steps >= sig.step_at_frac(0.5)
    vals = view.values[sel]
    if len(vals) < 10:
        return None
    noise2 = mad_noise(vals, rolling_median(vals, view.window))
    progress = max(view.progress, 1e-12 * scale)
    if not rough >= MIN_ROUGHNESS or noise2 < NOISE_PER_PROGRESS * progress or rel_drop >= MAX_REL_DROP:
        return None
    ev = {
        "oscillation_window": [int(view.steps[sel][0]), int(view.steps[-1])],
        "roughness": rough,
        "noise_over_progress": noise2 / progress,
        "second_half_relative_drop": rel_drop,
        "loss_level": lend,
        "summary": (
            f"loss bounces by +/-{w.pct(rough)} of the initial loss over the 2nd half with no real "
            f"downward trend ({w.num(lmid)} -> {w.num(lend)})"
        ),
    }
    if sig.lr is not None and sig.lr_peak:
        lr_now = float(sig.lr.values[sig.lr.finite][-1])
        ev["lr"] = lr_now
        ev["summary"] += f" at LR {w.lr(lr_now)}"
        rec = f"lower peak LR to ~{w.lr(sig.lr_peak / LR_FACTOR)} ({w.factor(LR_FACTOR)}) and decay it"
    else:
        rec = f"lower the LR ~{w.factor(LR_FACTOR)} and decay it"
    conf = float(np.clip(0.5 + 3 * (rough - MIN_ROUGHNESS) + (MAX_REL_DROP - rel_drop), 0, 0.95))
    return Finding("oscillating", "warning", conf, int(view.steps[sel][0]), sig.last_step, w.clean(ev), rec, sig.loss.tag)
