"""``no_warmup``: instability in the first steps from starting at the peak LR."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import wording as w
from .findings import Finding, Mode
from .signals import Signals
from .thresholds import NO_LR_CONFIDENCE

# The early window: the first 12% of the run, at least 40 steps: warmups are usually
# 1-10% of training, instability from a cold start at the peak LR shows within that.
EARLY_FRACTION = 0.12
EARLY_MIN_STEPS = 40
# ...but never more than this share of the run: on a run logged per epoch (25 "steps") 40
# steps would be the whole run, and a loss jump late in training (an augmentation switched
# off for the last epochs, a resumed stage) is not a cold start at the peak LR.
EARLY_MAX_FRACTION = 0.25
MIN_EARLY_POINTS = 6
# A cold start at the peak LR can climb and fall back within a few updates (Adam's first
# steps move every weight by about the LR, whatever its gradient): seeing the shortest such
# climb needs a point on its way up, one at its top and one on its way down inside it.
SHORT_CLIMB_STEPS = 6
POINTS_PER_CLIMB = 3
# A warmup exists when the first logged LR is at most this share of the peak.
WARMUP_START_MAX = 0.5
# "Instability": the 3-point rolling-median loss climbs this share of the run's dynamic
# range (L0 - its floor) above its running best; a healthy start only falls (minibatch noise is removed by the median).
RISE_FRACTION = 0.3
# ...and the climb is well outside the run's own noise: at least this many noise units, and
# at least the spread that noise alone reaches over the window's points (the expected
# range of n Gaussian draws is about 2 sqrt(2 ln n) standard deviations: a climb from the
# lowest to the highest of 300 noisy batches is no instability).
RISE_NOISE = 4.0
# Suggested warmup: 5% of training is a common default for transformer-style training.
WARMUP_SUGGESTED = 0.05


def resolved(interval: float) -> bool:
    """Whether a loss logged every ``interval`` steps can show the shortest early climb."""
    return interval * POINTS_PER_CLIMB <= SHORT_CLIMB_STEPS


def early_window_end(sig: Signals) -> float:
    """The last step of the early window where a cold start at the peak LR shows."""
    return sig.first_step + max(EARLY_FRACTION * sig.span, min(EARLY_MIN_STEPS, EARLY_MAX_FRACTION * sig.span))


def detect(sig: Signals) -> Finding | None:
    """The no-warmup finding of a run, or None."""
    view = sig.view
    if view is None:
        return None
    lr0 = None
    if sig.lr is not None and sig.lr.finite.any() and sig.lr_peak:
        lr0 = float(sig.lr.values[sig.lr.finite][0])
        if lr0 <= WARMUP_START_MAX * sig.lr_peak:
            return None
    end = early_window_end(sig)
    sel = view.steps <= end
    if sel.sum() < MIN_EARLY_POINTS:
        return None
    steps, vals = view.steps[sel], view.values[sel]
    m3 = pd.Series(vals).rolling(3, min_periods=1).median().to_numpy()
    running_best = np.minimum.accumulate(m3)
    rise = m3 - running_best
    i = int(np.argmax(rise))
    scale = view.scale
    noise_range = max(RISE_NOISE, 2.0 * np.sqrt(2.0 * np.log(len(vals))))
    if rise[i] < RISE_FRACTION * scale or rise[i] < noise_range * view.noise:
        return None
    j = int(np.argmax(m3[: i + 1] == running_best[i]))
    # The instability starts where the loss leaves its running best.
    start = int(steps[j])
    peak_step = int(steps[i])
    ev = {
        "early_instability_step": start,
        "early_window": [int(steps[0]), int(steps[-1])],
        "rise_over_l0": rise[i] / scale,
        "loss_low_before": float(running_best[i]),
        "loss_peak": float(m3[i]),
        "loss_peak_step": peak_step,
        "first_lr": lr0,
        "peak_lr": sig.lr_peak,
        "summary": (
            f"loss climbed from {w.num(running_best[i])} to {w.num(m3[i])} between steps {w.step(start)} and "
            f"{w.step(peak_step)} (+{w.pct(rise[i] / scale)} of the loss's range over the run)"
            + (f" with the LR starting at its peak {w.lr(sig.lr_peak)}" if lr0 is not None else "")
        ),
    }
    n_warm = max(int(round(WARMUP_SUGGESTED * sig.span)), 1)
    rec = f"add ~{w.step(n_warm)} warmup steps ({w.pct(WARMUP_SUGGESTED)} of training)"
    if lr0 is not None:
        rec += f" ramping linearly up to {w.lr(sig.lr_peak)}"
    conf = float(np.clip(0.55 + 0.5 * rise[i] / scale, 0, 0.95)) * (1.0 if lr0 is not None else NO_LR_CONFIDENCE)
    return Finding(Mode.NO_WARMUP, "warning", conf, start, peak_step, w.clean(ev), rec, sig.loss.tag)
