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

LR too low (``lr_too_low``): in the slow, stable regime the loss is a function of the LR
travelled, ``sum(lr * step)``: a k-times larger LR travels the same curve k times faster
(time rescaling of gradient flow, L_k(t) ~ L(k t)). A healthy run passes the knee of that
curve (the end of its fast fall) early, in about a tenth of its budget; the factor is the one
that puts this run's knee there. Where the knee lies depends on what the run shows:

- a curve whose late pace is still *faster* than its early pace (accelerating: it is only
  leaving its initial plateau) has its knee ahead, at least where its current pace would
  reach the floor; a saturating power law (convex by construction) cannot describe it, so
  the knee is that linear extrapolation;
- a decelerating curve is described by the fitted saturating power law: the knee is where
  it gets within a margin of its fitted floor. That floor is the floor of the phase the run
  saw (often an intermediate plateau), so this factor is a lower estimate.

The factor is bounded to what a single run can vouch for (at least the detector's finding,
at most two decades), to what is plausible for the optimizer when the log names it (Adam-
family LRs rarely work beyond ~1e-2, SGD beyond ~1), and capped when the slow run already
showed instability (repeated spikes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import wording as w
from .findings import LRBasis
from .forecast import Forecast
from .signals import Signals, theil_sen


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
# LR too low: a well-tuned run passes the knee of its loss curve (gets within FLOOR_MARGIN
# of its achievable progress) in about HEALTHY_REACH_SHARE of its budget (it makes most of
# its progress early and polishes for the rest; the detectors call a run healthy when the
# first fifth holds >= 80% of the progress).
HEALTHY_REACH_SHARE = 0.1
FLOOR_MARGIN = 0.05
# The stretches whose paces say whether the curve still accelerates: its last 40% falls
# faster than its early stretch after the initial transient (10-30%), and its last quarter
# at least as fast as the quarter before (the inflection of its fall is still ahead; a
# sigmoid past its inflection passes the first test but not the second). Pairs of
# (earlier, later) stretches as shares of the run.
ACCELERATION_TESTS = (((0.1, 0.3), (0.6, 1.0)), ((0.5, 0.75), (0.75, 1.0)))
# A single run vouches for raising the LR by at least the detector's finding (the curve is
# far from saturating: over an order of magnitude) and at most two decades (beyond that the
# edge of stability, which a slow run never approached, is a guess: run a range test).
MIN_RAISE, MAX_RAISE = 10.0, 100.0
# With an instability seen in a slow run (repeated spikes), raise by at most one notch.
UNSTABLE_RAISE = BASE_MARGIN
# The largest LR each optimizer family plausibly trains at (the cap when the log names the
# optimizer): Adam-family updates are ~LR per weight, and beyond ~1e-2 they outgrow the
# weights of a usual network; SGD's LR multiplies the gradient, and beyond ~1 (with momentum
# 0.9, an effective step of 10x the gradient) usual networks blow up.
PLAUSIBLE_MAX_LR = {"adam": 1e-2, "sgd": 1.0}
# Names of the families as they appear in hparams and in Lightning's LR monitor tags
# (``lr-AdamW``, ``lr-SGD``): the first match wins.
_FAMILY_PATTERNS = (("adam", re.compile(r"adam|lamb|lion", re.IGNORECASE)),
                    ("sgd", re.compile(r"sgd|nesterov|momentum", re.IGNORECASE)))
_OPTIMIZER_KEYS = ("optimizer", "optim", "optimizer_name", "opt")


@dataclass
class LRAdvice:
    """A suggested LR with where it came from and the one-line reason."""

    lr: float | None  # None when the run's LR is unknown (the factor alone)
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


def optimizer_family(sig: Signals) -> str | None:
    """The optimizer family ("adam" or "sgd") when the log names it: an ``optimizer`` hparam,
    or the LR tag of Lightning's LR monitor (``lr-AdamW``); None when nothing says."""
    texts: list[str] = []
    hp = (sig.run.meta or {}).get("hparams") if isinstance(sig.run.meta, dict) else None
    if isinstance(hp, dict):
        texts += [str(v) for k, v in _flat_items(hp) if k.split(".")[-1].lower() in _OPTIMIZER_KEYS]
    if sig.lr is not None and sig.lr.tag.lower().startswith("lr-"):
        texts.append(sig.lr.tag[3:])
    for text in texts:
        for family, pattern in _FAMILY_PATTERNS:
            if pattern.search(text):
                return family
    return None


def _flat_items(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        out: list[tuple[str, Any]] = []
        for k, v in obj.items():
            out += _flat_items(v, f"{prefix}{k}.")
        return out
    return [(prefix[:-1], obj)] if prefix else []


def _pace(sig: Signals, a: float, b: float) -> float | None:
    """Loss fall per step over a share of the run, from a robust trend (positive = falling)."""
    view = sig.view
    sel = (view.steps >= sig.step_at_frac(a)) & (view.steps <= sig.step_at_frac(b))
    if sel.sum() < 5:
        return None
    return -theil_sen(view.steps[sel], view.values[sel])[0]


def _accelerating(sig: Signals) -> tuple[bool, float | None]:
    """(the fall still accelerates at the end, the pace of the last stretch)."""
    if sig.view is None:
        return False, None
    faster = True
    late = None
    for (a0, b0), (a1, b1) in ACCELERATION_TESTS:
        before, after = _pace(sig, a0, b0), _pace(sig, a1, b1)
        if before is None or after is None:
            return False, None
        faster &= after > max(before, 0.0)
        late = after
    return faster, late


def raise_lr(sig: Signals, fc: Forecast, lr_now: float | None, unstable: bool = False,
             family: str | None = None) -> LRAdvice:
    """The LR that puts this run's knee at a healthy share of the budget (lr_too_low).

    ``lr_now``: the run's constant LR (None when unknown: the factor alone);
    ``unstable``: the slow run already showed repeated spikes; ``family``: the optimizer
    family when the log names it (caps the LR at what it plausibly trains at)."""
    k = MIN_RAISE
    why = "the fitted curve shows no floor within reach"
    accelerating, late = _accelerating(sig)
    budget = HEALTHY_REACH_SHARE * sig.span
    if fc.ok and fc.amplitude and fc.l_inf is not None:
        k_fit = None
        if accelerating and late:
            # Accelerating: still leaving its initial plateau; the knee is at least where the
            # current pace reaches the floor.
            end = float(fc.predict(float(sig.last_step)))
            ahead = max(end - fc.l_inf, 0.0) / late
            k_fit = (sig.span + ahead) / budget
            why = (f"the loss still falls faster and faster ({w.num(late * 1000)} per 1k steps at the end): "
                   f"it is only leaving its initial plateau; at its current pace it "
                   f"reaches its floor ~{w.num(fc.l_inf)} after ~{w.steps_short(sig.span + ahead)} steps, "
                   f"{w.factor(k_fit)} faster puts that knee at {w.pct(HEALTHY_REACH_SHARE)} of this run's budget")
        else:
            first = float(fc.predict(max(float(sig.first_step), 1.0)))
            target = fc.l_inf + FLOOR_MARGIN * max(first - fc.l_inf, 0.0)
            t = _steps_to(fc, target)
            if t is not None and math.isfinite(t):
                k_fit = t / budget
                why = (f"at this pace the fitted curve gets within {w.pct(FLOOR_MARGIN)} of its floor "
                       f"~{w.num(fc.l_inf)} after ~{w.steps_short(t)} steps; {w.factor(k_fit)} faster does it in "
                       f"{w.pct(HEALTHY_REACH_SHARE)} of this run's budget (a lower estimate when that floor is "
                       f"an intermediate plateau)")
        if k_fit is not None:
            k = float(np.clip(k_fit, MIN_RAISE, MAX_RAISE))
            if k != k_fit:
                why += f" (bounded to {w.factor(MIN_RAISE)}-{w.factor(MAX_RAISE)})"
    cap = PLAUSIBLE_MAX_LR.get(family or "")
    if cap is not None and lr_now and lr_now * k > cap:
        k = max(cap / lr_now, 1.0)
        why += f"; capped at ~{w.lr(cap)}, about the largest LR {family.upper()}-family optimizers train at"
    if unstable and k > UNSTABLE_RAISE:
        k = UNSTABLE_RAISE
        why += f"; capped at {w.factor(UNSTABLE_RAISE)}: the run already showed instability"
    return LRAdvice(None if lr_now is None else lr_now * k, LRBasis.LOSS_FORECAST, k, why)


def _steps_to(fc: Forecast, level: float) -> float | None:
    if not fc.ok or fc.amplitude is None or fc.amplitude <= 0 or level <= fc.l_inf:
        return None
    return float(((level - fc.l_inf) / fc.amplitude) ** (-1.0 / fc.alpha) - fc.t0)


def undone_by_spikes(events: list[dict], l0: float) -> float:
    """Median share of the progress (L0 - floor) a spike threw away."""
    shares = [(e["peak"] - e["floor"]) / (l0 - e["floor"]) for e in events if l0 > e["floor"]]
    return float(np.median(shares)) if shares else 1.0


