"""``spikes``: transient loss jumps that recover."""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import wording as w
from .findings import Finding, Mode
from .lr_advice import lower_lr, undone_by_spikes
from .signals import Signals, point_noise, trailing_median

# A rolling median over 3 steps removes single-batch outliers: a spike is a jump that lasts.
# In steps, not points: on a log kept every few steps one point already stands for several
# updates, and a 3-point median would need a spike three logging intervals long.
SPIKE_MEDIAN_STEPS = 3
# The shortest spike there is: an LR at the edge of stability kicks the loss up and the
# optimizer pulls it back within a few updates (2-5 steps is common). Telling such a spike
# from one bad batch needs POINTS_PER_SPIKE logged points inside it, or a bucketed export's
# max band, which keeps every step's height.
SHORT_SPIKE_STEPS = 5
POINTS_PER_SPIKE = 2
# The reference level: median of the 25 points before (a local floor that one spike
# cannot move).
TRAILING = 25
# A spike at least doubles the loss's height over the run's floor (its "zero": the lowest
# smoothed level, so a constant added to the loss changes nothing)...
SPIKE_RATIO = 1.8
# ...by a sizeable share of the run's dynamic range L0 - floor (jumps smaller than a fifth
# of it are noise on the scale of what the run learns)...
SPIKE_EXCESS = 0.2
# ...and far outside the run's minibatch noise.
SPIKE_NOISE = 5.0
# "Transient": back to within half of the jump within this many steps.
RECOVERY_STEPS = 60
# One spike is an accident; a pattern needs two.
MIN_SPIKES = 2
# Without a logged LR the margin cannot be measured: one notch on a 1-3-10 grid.
LR_FACTOR = 3.0


def resolved(interval: float) -> bool:
    """Whether a log with points every ``interval`` steps can tell the shortest spike from one bad batch."""
    return interval * POINTS_PER_SPIKE <= SHORT_SPIKE_STEPS


def median_points(interval: float) -> int:
    """The rolling-median window, in points, spanning SPIKE_MEDIAN_STEPS steps (odd, at least 1)."""
    return max(1, int(round(SPIKE_MEDIAN_STEPS / max(interval, 1.0)))) | 1


def spike_events(steps: np.ndarray, values: np.ndarray, zero: float, scale: float, noise: float,
                 window: int | None = None) -> list[dict]:
    """Spike events (start step, peak, floor) of a finite loss series whose floor is ``zero``
    and dynamic range ``scale``; ``window``: the rolling median's points (default: SPIKE_MEDIAN_STEPS
    steps' worth)."""
    if window is None:
        window = median_points(float(np.median(np.diff(steps))) if len(steps) > 1 else 1.0)
    m3 = pd.Series(values).rolling(window, min_periods=1).median().to_numpy()
    floor = trailing_median(m3, TRAILING)
    excess = m3 - floor
    with np.errstate(invalid="ignore"):
        above = ((m3 - zero >= SPIKE_RATIO * (floor - zero)) & (excess >= SPIKE_EXCESS * scale)
                 & (excess >= SPIKE_NOISE * noise))
    above &= np.isfinite(floor)
    starts = np.flatnonzero(above & ~np.r_[False, above[:-1]])
    events: list[dict] = []
    busy_until = -1  # index until which the previous spike had not recovered
    for i in starts:
        if i <= busy_until:
            continue
        base = floor[i]
        seg = np.arange(i, int(np.searchsorted(steps, steps[i] + RECOVERY_STEPS, side="right")))
        if len(seg) == 0:
            continue
        peak = float(np.max(m3[seg]))
        back = m3[seg] <= base + 0.5 * (peak - base)
        if not back.any():
            continue
        busy_until = int(seg[int(np.argmax(back))])
        events.append({"step": int(steps[i]), "peak": peak, "floor": float(base)})
    return events


def detect(sig: Signals) -> Finding | None:
    """The spikes finding of a run, or None."""
    view = sig.view
    if view is None:
        return None
    curve = sig.loss
    in_band = curve.has_band
    if in_band:
        # A bucketed export: a spike of a few steps is diluted in its bucket's mean but kept
        # whole in the bucket's max, the band's own floor and noise are the reference.
        ok = curve.finite & np.isfinite(curve.hi)
        hi_steps, hi = curve.steps[ok], curve.hi[ok]
        # Each band point is its bucket's highest step already: no median across buckets (a 2-step
        # spike fills one bucket of an export bucketed every 2 steps).
        events = spike_events(hi_steps, hi, view.zero, view.scale, point_noise(hi, view.window), window=1)
    else:
        events = spike_events(view.steps, view.values, view.zero, view.scale, view.noise)
    if len(events) < MIN_SPIKES:
        return None
    # heights over the run's floor (the ratio of the raw values would change with loss + c)
    z = view.zero
    ratios = [(e["peak"] - z) / (e["floor"] - z) if e["floor"] > z else float("inf") for e in events]
    biggest = int(np.argmax([e["peak"] - e["floor"] for e in events]))
    big = events[biggest]
    ev = {
        "spike_steps": [e["step"] for e in events],
        "count": len(events),
        "max_ratio": float(np.max(ratios)),
        "median_ratio": float(np.median(ratios)),
        "largest_spike_step": big["step"],
        "summary": (
            f"{len(events)} loss spikes that recovered; the largest at step {w.step(big['step'])} "
            f"jumped from {w.num(big['floor'])} to {w.num(big['peak'])} ({w.factor(ratios[biggest])})"
            + (" in the export's per-bucket maxima" if in_band else "")
        ),
    }
    advice = None
    if sig.lr is not None and sig.lr_peak:
        ev["lr_at_largest_spike"] = sig.lr.at(big["step"])
        advice = lower_lr(sig, undone_by_spikes(events, view.l0), end_step=events[0]["step"],
                          recurrences=len(events))
    if advice is not None:
        ev.update(advice.evidence())
        rec = (f"lower peak LR to ~{w.lr(advice.lr)}, add gradient clipping, or use a larger batch; "
               f"why {w.lr(advice.lr)}: {advice.reason}")
    else:
        rec = f"lower the LR ~{w.factor(LR_FACTOR)}, add gradient clipping, or use a larger batch"
    conf = float(np.clip(0.5 + 0.1 * len(events), 0, 0.95))
    sev = "warning" if len(events) >= 5 else "info"
    out = Finding(Mode.SPIKES, sev, conf, events[0]["step"], events[-1]["step"], w.clean(ev), rec, sig.loss.tag)
    if advice is not None:
        out.advise(advice.lr, advice.basis)
    return out
