"""``decayed_too_early``: the LR reaches ~0 long before the end while the loss was still falling."""

from __future__ import annotations

import numpy as np

from . import wording as w
from .findings import Finding, Mode
from .signals import MIN_TREND_POINTS, Signals, theil_sen
from .thresholds import LEVEL_WINDOW

# "Practically zero": at 2% of its peak an LR moves the weights 50x slower than at the
# peak; little learning happens below it.
NEAR_ZERO = 0.02
# "Long before the end": at least half of the run is left at a near-zero LR.
LATEST_FRACTION = 0.5
# The loss "was still falling" before the decay: it fell by at least this share of L0 in
# the 20% of the run before (a converged run falls by ~nothing).
FALL_BEFORE = 0.02
BEFORE_WINDOW = 0.2
# It "stalls" afterwards: less than this share of L0 gained over the rest of the run
# (at least half of it), or less than STALL_RATIO of what the 20% before gained: the
# rate of progress collapsed when the LR did.
STALL_AFTER = 0.03
STALL_RATIO = 0.15
# The gain after counts only what its trend surely shows: one standard error is taken off. With
# the LR near zero the weights barely move; on a sparse log (24 single-batch points after the
# decay) the robust trend through them can read a gain of 3% of the range from noise alone.
STALL_SE = 1.0


def vanish_step(sig: Signals) -> int | None:
    """The step from which the LR stays below NEAR_ZERO of its peak to the end, when that is
    before LATEST_FRACTION of the run (a candidate for decayed too early); else None."""
    lr = sig.lr
    if sig.view is None or lr is None or sig.lr_peak is None or sig.lr_peak <= 0:
        return None
    fin = lr.finite
    s, y = lr.steps[fin], lr.values[fin]
    if len(y) < 4:
        return None
    low = y <= NEAR_ZERO * sig.lr_peak
    # The first step from which the LR stays near zero to the end.
    stays = np.minimum.accumulate(low[::-1])[::-1]
    if not stays.any() or not stays[-1]:
        return None
    k = int(np.argmax(stays))
    if k == 0:  # never above: nothing decayed
        return None
    at = int(s[k])
    return at if sig.frac_of(at) < LATEST_FRACTION else None


def points_before(sig: Signals, at: int) -> int:
    """Loss points logged up to step ``at``: the fall before the LR vanished is measured on them."""
    return int(np.searchsorted(sig.view.steps, at, side="right"))


def detect(sig: Signals) -> Finding | None:
    """The decayed-too-early finding of a run, or None."""
    at = vanish_step(sig)
    if at is None:
        return None
    view, lr, peak = sig.view, sig.lr, sig.lr_peak
    frac = sig.frac_of(at)
    half = LEVEL_WINDOW * sig.span / 2
    ref = max(at - BEFORE_WINDOW * sig.span, sig.first_step + half)
    lvl_before = view.level(ref - half, ref + half)
    lvl_at = view.level(at - half, at + half)
    lvl_end = view.final
    if not (np.isfinite(lvl_before) and np.isfinite(lvl_at)):
        return None
    scale = view.scale
    if view.level_span(ref - half, ref + half)[1] > view.level_span(at - half, at + half)[0]:
        # A log too sparse for two levels 20% of the run apart (their medians share points, so
        # they cannot differ by a fall): a robust line through the points logged up to the
        # decay (those in the window, at least MIN_TREND_POINTS) says whether the loss was still
        # falling when the LR vanished. Fewer than that: not checked (see coverage).
        n = points_before(sig, at)
        if n < MIN_TREND_POINTS:
            return None
        i = min(int(np.searchsorted(view.steps, ref, side="left")), n - MIN_TREND_POINTS)
        slope = theil_sen(view.steps[i:n], view.values[i:n])[0]
        lvl_before = lvl_at - slope * (at - ref)
    fell = (lvl_before - lvl_at) / scale
    # Gain after the decay from a robust trend through all the remaining points: with the LR
    # near zero the weights barely move, so what two end windows differ by is mostly noise.
    trend_after, trend_se = view.trend(frac)
    if np.isfinite(trend_after):
        gained_after = (trend_after - STALL_SE * (trend_se if np.isfinite(trend_se) else 0.0)) / scale
    else:
        gained_after = (lvl_at - lvl_end) / scale
    if fell < FALL_BEFORE or (gained_after >= STALL_AFTER and gained_after >= STALL_RATIO * fell):
        return None
    remaining = sig.last_step - at
    ev = {
        "lr_below_2pct_of_peak_at_step": at,
        "fraction_of_run": frac,
        "peak_lr": peak,
        "loss_fall_before_over_l0": fell,
        "loss_gain_after_over_l0": gained_after,
        "loss_at_decay": lvl_at,
        "final_loss": lvl_end,
        "steps_at_near_zero_lr": int(remaining),
        "summary": (
            f"LR fell below 2% of its peak {w.lr(peak)} at step {w.step(at)} ({w.pct(frac)} of the run) "
            f"while the loss was still falling ({w.num(lvl_before)} -> {w.num(lvl_at)}); "
            f"the next {w.step(remaining)} steps gained only {w.num(lvl_at - lvl_end)}"
        ),
    }
    rec = (
        f"decay over the full horizon: cosine from {w.lr(peak)} to {w.lr(peak / 100)} over all "
        f"{w.steps_short(sig.span)} steps (or stop at step {w.step(at)} and save "
        f"{w.step(remaining)} steps)"
    )
    conf = float(np.clip(0.6 + 0.4 * (1 - frac / LATEST_FRACTION) + 2 * fell, 0, 0.97))
    return Finding(Mode.DECAYED_TOO_EARLY, "warning", conf, at, sig.last_step, w.clean(ev), rec, lr.tag)
