"""``lr_too_low``: progress far slower than the LR could allow; still falling steadily at the end."""

from __future__ import annotations

import numpy as np
from scipy import stats

from . import wording as w
from .findings import Finding
from .signals import Signals

# Still falling at the end: the last quarter gains at least this share of L0...
LAST_QUARTER_DROP = 0.015
# ...and the last 40% of steps make at least this share of the run's progress (a healthy
# run makes most of its progress early and only polishes at the end).
LATE_SHARE = 0.08
# The curve is near-linear rather than saturating: a well-tuned LR makes most of the
# progress early (>= ~80% in the first fifth); a too-low LR spreads it along the run.
EARLY_SHARE_MAX = 0.7
# Without a logged LR nothing says the LR is constant (a decaying schedule also keeps a
# run falling) and epoch-averaged logs understate L0: ask for a clearly linear curve.
EARLY_SHARE_MAX_NO_LR = 0.5
# A run whose LR was decayed is limited by its schedule, not by its peak LR: the LR at
# the end must still be at least this share of the peak.
LR_END_MIN = 0.5
# Median windows (fraction of the run) for the loss levels compared.
LEVEL_WINDOW = 0.04
# Raising the LR: 10x for a near-linear curve (LR an order of magnitude too low), 3x when
# the curve already bends.
STRONG_FACTOR, MILD_FACTOR = 10.0, 3.0
STRONG_EARLY_SHARE = 0.35


def detect(sig: Signals) -> Finding | None:
    """The lr-too-low finding of a run, or None."""
    view = sig.view
    if view is None or view.progress <= 0:
        return None
    lr_end = None
    if sig.lr is not None and sig.lr_peak:
        lr_end = float(sig.lr.values[sig.lr.finite][-1])
        if lr_end < LR_END_MIN * sig.lr_peak:
            return None
    h = LEVEL_WINDOW / 2
    scale = abs(view.l0)
    l20 = view.level_frac(0.2 - h, 0.2 + h)
    l60 = view.level_frac(0.6 - h, 0.6 + h)
    l75 = view.level_frac(0.75 - h, 0.75 + h)
    lend = view.level_frac(1.0 - 2 * h, 1.0)
    total = view.l0 - lend
    if not all(np.isfinite([l20, l60, l75, lend])) or total <= 0:
        return None
    q_drop = (l75 - lend) / scale
    late_share = (l60 - lend) / total
    early_share = (view.l0 - l20) / total
    early_max = EARLY_SHARE_MAX if lr_end is not None else EARLY_SHARE_MAX_NO_LR
    if q_drop < LAST_QUARTER_DROP or late_share < LATE_SHARE or early_share > early_max:
        return None
    sel = view.steps >= sig.step_at_frac(0.6)
    if sel.sum() < 5:
        return None
    slope, _, lo, hi = stats.theilslopes(view.values[sel], view.steps[sel])
    if not hi < 0:  # the late fall must be statistically clear
        return None
    factor = STRONG_FACTOR if early_share < STRONG_EARLY_SHARE else MILD_FACTOR
    ev = {
        "last_quarter_drop_over_l0": q_drop,
        "last_40pct_share_of_progress": late_share,
        "first_20pct_share_of_progress": early_share,
        "late_slope_per_1k_steps": slope * 1000,
        "final_loss": lend,
        "initial_loss": view.l0,
        "lr_end": lr_end,
        "steps_saved_estimate": None,
        "summary": (
            f"loss still falling steadily at the end ({w.num(slope * 1000)} per 1k steps; the last 40% of "
            f"steps made {w.pct(late_share)} of the progress, the first 20% only {w.pct(early_share)})"
            + (f" at a constant LR of {w.lr(lr_end)}" if lr_end is not None else "")
        ),
    }
    if lr_end is not None:
        rec = f"raise the LR ~{w.factor(factor)} to ~{w.lr(sig.lr_peak * factor)} (or run an LR range test)"
    else:
        rec = f"raise the LR ~{w.factor(factor)} (or run an LR range test)"
    conf = float(np.clip(0.55 + 0.6 * (early_max - early_share) + late_share, 0, 0.95))
    if lr_end is None:
        conf *= 0.8  # the LR itself was not seen
    return Finding("lr_too_low", "warning", conf, sig.first_step, sig.last_step, w.clean(ev), rec, sig.loss.tag)
