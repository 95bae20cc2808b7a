"""How much to change the LR, from the run's own evidence (the magnitude behind each advice).

LR too high (``diverged``, ``oscillating``, ``spikes``): the run shows where it became
unstable. The *edge of stability seen in this run* is the LR at the onset of the instability
(the first step where the loss jumped well above its running best, or where it blew up);
when the LR was still rising then (a warmup), the stretch before the onset was stable at a
lower LR, so the edge is bracketed; when the run was unstable at its very first LR, the edge
lies below anything the run tried. The next LR sits below the edge by a margin that grows
with how violent the instability was: a bounce that undoes a small share of what the run
learned needs one notch on a 1-3-10 grid; spikes or a blow-up that throw the run back to its
initial loss need a decade (progressive sharpening brings the late-training edge well below
the LR at which the first instability showed); a run that recurs into spikes again and again,
or blew up within its first steps, sits further above its edge still.

LR too low (``lr_too_low``): the fitted loss curve (``forecast``) is the run's pace. In the
slow, stable regime a k-times larger LR travels the same curve k times faster (time rescaling
of gradient flow, L_k(t) ~ L(k t)): the factor is the one that would reach the fitted floor
(within a margin) in the share of the budget a healthy run needs for it, bounded to the range
a single run can vouch for and capped below any instability the run already showed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import wording as w
from .findings import LRBasis
from .forecast import Forecast
from .signals import Signals


# One notch on a 1-3-10 grid: the smallest change worth a rerun, and the margin below the
# edge for an instability that undid almost nothing.
BASE_MARGIN = 3.0
# A decade below the edge for an instability that threw the run back to its initial loss
# (spikes to L0, a blow-up): the margin is interpolated log-linearly in between.
FULL_MARGIN = 10.0
# Onset of instability: the 3-point rolling median rises above its running best by this
# share of the progress made so far (or SPIKE_NOISE noise units, whichever is larger): far
# beyond minibatch noise, small enough to catch the first kick of a growing instability.
ONSET_SHARE = 0.2
ONSET_NOISE = 5.0
ONSET_MEDIAN = 3
# The edge is "bracketed" when the LR at the onset is above the run's first LR by more than
# this ratio (it was still rising: the lower LRs before it were stable).
BRACKET_RATIO = 1.5
# A run unstable at its first LR that blew up within this share of its steps sits far above
# its edge: the margin grows with the square root of how much sooner it blew up (it doubles
# for a blow-up four times sooner).
FAST_BLOWUP_SHARE = 0.1
# Spikes that keep coming back: the margin grows by a factor (1 + log10(count / MIN_SPIKES)):
# each spike resets the sharpness, and a run thrown back often sits far above its late edge.
MIN_SPIKES = 2
# LR too low: a well-tuned run gets within FLOOR_MARGIN of its achievable progress in about
# HEALTHY_REACH_SHARE of its budget (it makes most of its progress early and polishes for the
# rest; the detectors call a run healthy when the first fifth holds >= 80% of the progress).
HEALTHY_REACH_SHARE = 0.1
FLOOR_MARGIN = 0.05
# A single run vouches for raising the LR by at least the detector's finding (the curve is
# far from saturating: over an order of magnitude) and at most two decades (beyond that the
# edge of stability, which a slow run never approached, is a guess: run a range test).
MIN_RAISE, MAX_RAISE = 10.0, 100.0
# With an instability seen in a slow run (spikes), raise by at most one notch.
UNSTABLE_RAISE = BASE_MARGIN


@dataclass
class LRAdvice:
    """A suggested LR with where it came from and the one-line reason."""

    lr: float
    basis: LRBasis
    factor: float  # suggested / the run's peak LR
    reason: str
    edge_lr: float | None = None  # the LR at the onset of instability (too-high modes)
    margin: float | None = None  # edge / suggested

    def evidence(self) -> dict:
        """The numbers for the finding's evidence."""
        return {"lr_change_factor": self.factor, "edge_lr": self.edge_lr, "edge_margin": self.margin,
                "suggested_lr_reason": self.reason}


def instability_onset(sig: Signals, end_step: float | None = None) -> int | None:
    """First step where the loss jumped well above its running best (or went non-finite)."""
    view = sig.view
    if view is None or len(view.values) < 3:
        return None
    vals, steps = view.values, view.steps
    m3 = pd.Series(vals).rolling(ONSET_MEDIAN, min_periods=1).median().to_numpy()
    best = np.minimum.accumulate(m3)
    gained = np.maximum(view.l0 - best, 0.0)
    jump = (m3 - best) > np.maximum(ONSET_SHARE * gained, ONSET_NOISE * view.noise)
    jump &= gained > 0
    onset = int(steps[int(np.argmax(jump))]) if jump.any() else None
    nonfinite = ~sig.loss.finite
    if nonfinite.any():
        nf = int(sig.loss.steps[int(np.argmax(nonfinite))])
        onset = nf if onset is None else min(onset, nf)
    if end_step is not None:
        onset = int(end_step) if onset is None else min(onset, int(end_step))
    return onset


def _lr_range_until(sig: Signals, step: float) -> tuple[float, float] | None:
    """(first finite LR, largest LR up to ``step``)."""
    lr = sig.lr
    if lr is None or not lr.finite.any():
        return None
    sel = lr.finite & (lr.steps <= step)
    if not sel.any():
        sel = lr.finite & (lr.steps == lr.steps[lr.finite][0])
    vals = lr.values[sel]
    return float(lr.values[lr.finite][0]), float(np.max(vals))


def violence_margin(undone_share: float) -> float:
    """Margin below the edge for an instability that undid ``undone_share`` of the progress
    (0: nothing, 1: back to the initial loss): 3x at 0, 10x at 1, log-linear in between."""
    s = float(np.clip(undone_share, 0.0, 1.0)) if math.isfinite(undone_share) else 1.0
    return BASE_MARGIN * (FULL_MARGIN / BASE_MARGIN) ** s


def lower_lr(sig: Signals, undone_share: float, end_step: float | None = None, recurrences: int = 0,
             blowup_step: float | None = None) -> LRAdvice | None:
    """The LR below this run's edge of stability (diverged / oscillating / spikes).

    ``end_step``: the onset is at the latest this step (the blow-up, the first spike);
    ``undone_share``: share of the progress one instability undid; ``recurrences``: how many
    times it came back; ``blowup_step``: where the run blew up (diverged)."""
    if sig.lr is None or not sig.lr_peak:
        return None
    onset = instability_onset(sig, end_step)
    if onset is None:
        return None
    rng = _lr_range_until(sig, onset)
    if rng is None:
        return None
    first_lr, edge = rng
    margin = violence_margin(undone_share)
    why = [f"unstable from step {w.step(onset)}"]
    bracketed = edge > BRACKET_RATIO * first_lr
    if bracketed:
        why.append(f"stable below it while the LR rose from {w.lr(first_lr)}")
    else:
        why.append("unstable at the first LR it tried")
        if blowup_step is not None:
            took = max(float(blowup_step) - sig.first_step, 1.0) / sig.span
            if took < FAST_BLOWUP_SHARE:
                margin *= math.sqrt(FAST_BLOWUP_SHARE / took)
                why.append(f"blew up after {w.pct(took)} of the run")
    if recurrences > MIN_SPIKES:
        margin *= 1.0 + math.log10(recurrences / MIN_SPIKES)
        why.append(f"{recurrences} instabilities")
    lr = edge / margin
    why.append(f"each instability undid {w.pct(min(max(undone_share, 0), 1))} of the progress")
    reason = f"{w.factor(margin)} below this run's edge of stability, LR {w.lr(edge)} (" + "; ".join(why) + ")"
    return LRAdvice(lr, LRBasis.EDGE_OF_STABILITY, lr / sig.lr_peak, reason, edge, margin)


def raise_lr(sig: Signals, fc: Forecast, lr_now: float, unstable: bool = False) -> LRAdvice:
    """The LR that reaches the fitted floor in a healthy share of the budget (lr_too_low)."""
    k = MIN_RAISE
    why = "the fitted curve shows no floor within reach"
    if fc.ok and fc.amplitude and fc.l_inf is not None:
        first = float(fc.predict(max(float(sig.first_step), 1.0)))
        target = fc.l_inf + FLOOR_MARGIN * max(first - fc.l_inf, 0.0)
        t = _steps_to(fc, target)
        if t is not None and math.isfinite(t):
            k_fit = t / (HEALTHY_REACH_SHARE * sig.span)
            k = float(np.clip(k_fit, MIN_RAISE, MAX_RAISE))
            why = (f"at this pace the fitted curve gets within {w.pct(FLOOR_MARGIN)} of its floor "
                   f"~{w.num(fc.l_inf)} after ~{w.steps_short(t)} steps; {w.factor(k_fit)} faster does it in "
                   f"{w.pct(HEALTHY_REACH_SHARE)} of this run's budget")
            if k != k_fit:
                why += f" (bounded to {w.factor(MIN_RAISE)}-{w.factor(MAX_RAISE)})"
    if unstable and k > UNSTABLE_RAISE:
        k = UNSTABLE_RAISE
        why += f"; capped at {w.factor(UNSTABLE_RAISE)}: the run already showed instability"
    return LRAdvice(lr_now * k, LRBasis.LOSS_FORECAST, k, why)


def _steps_to(fc: Forecast, level: float) -> float | None:
    if not fc.ok or fc.amplitude is None or fc.amplitude <= 0 or level <= fc.l_inf:
        return None
    return float(((level - fc.l_inf) / fc.amplitude) ** (-1.0 / fc.alpha) - fc.t0)


def undone_by_spikes(events: list[dict], l0: float) -> float:
    """Median share of the progress (L0 - floor) a spike threw away."""
    shares = [(e["peak"] - e["floor"]) / (l0 - e["floor"]) for e in events if l0 > e["floor"]]
    return float(np.median(shares)) if shares else 1.0


