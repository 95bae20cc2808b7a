"""``diverged``: the loss becomes NaN/inf or explodes and never comes back."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from . import wording as w
from .findings import Finding, Mode, Remedy
from .lr_advice import lower_lr
from .never_learned import loss_never_moved
from .signals import NORMAL_MAD, Signals, initial_level

# "Explodes": 10x the initial loss is far beyond any minibatch noise or early bump, the
# level at which practitioners call a run blown up (and the corpus' definition).
EXPLOSION_FACTOR = 10.0
# "Never recovers": a rolling median over this many points never gets back below
# RECOVERY_FRACTION x L0 after the blow-up. 21 points outvote a handful of lucky batches.
RECOVERY_WINDOW = 21
# Back below 90% of the initial loss means the network learned again after the bump.
RECOVERY_FRACTION = 0.9
# A run that had learned and then shot above its initial loss by twice what it had learned
# (3x the start, for a loss that had fallen near zero: no minibatch reaches that) lost it all
# in a blow-up, whatever the log's sampling caught of the peak (a log kept every 10th step
# may see 6x of a 20x blow-up): with no recovery after, that is divergence too. Measured in
# the run's own progress, so it reads loss + c as loss.
COLLAPSE_OVER_PROGRESS = 2.0
# A run that had learned, then came back up to (or above) its initial loss and sat there,
# calm, for the rest of the run, collapsed: it lost everything it had learned and its outputs
# no longer depend on the input (they predict the label prior, at the initial loss), however
# little of the blow-up a sparse log caught (a digits MLP logged every 50th step shows
# 0.27 -> 3.7 -> ln 10 for good). "Sat there": the points after (at least UNDONE_AFTER_POINTS,
# over at least UNDONE_MIN_SHARE of the run) keep at most UNDONE_KEPT of what was learned
# (their median) and spread by at most UNDONE_CALM of it (their normal-consistent MAD). A
# loss that bounces hard up to its start (`oscillating`) is still training, not collapsed.
# All in the run's own progress, so it reads loss + c as loss.
UNDONE_AFTER_POINTS = 3
UNDONE_MIN_SHARE = 0.25
UNDONE_KEPT = 0.1
UNDONE_CALM = 0.1
# A model evaluated at twice its initial loss or worse was knocked out (an untrained classifier
# sits at ln k; one pushed to confident wrong answers goes far above), when its training loss
# never learned from there on: the blow-up happened where the training log has no point.
KNOCKED_FACTOR = 2.0
# A smaller knock shows in the first evaluation of a run whose training loss never moved
# (never_learned's test, in noise units): an untrained model is evaluated at its training
# loss's level from the first evaluation on; only updates that made it worse than its
# initialisation put the first one above, after which it relaxes to predicting the label
# prior (a digits MLP at SGD LR 1.6 is evaluated at 2.51 at step 24, then sits at ln 10 = 2.30
# with a spread of 0.014). "Above": by KNOCKED_NOISE of the later evaluations' spread (their
# normal-consistent MAD) and by KNOCKED_BATCH_NOISE of the training loss's minibatch noise (more
# than one batch's luck), the later evaluations at the training loss's level (within
# KNOCKED_SAME_LEVEL of the two noises: the same loss on the same scale). All in noise units,
# so loss + c and k * loss read the same.
KNOCKED_NOISE = 6.0
KNOCKED_BATCH_NOISE = 3.0
KNOCKED_SAME_LEVEL = 3.0
# Evaluations after the first that the spread is measured from.
KNOCKED_AFTER_POINTS = 8
# A blow-up read from one evaluation standing out of the others' noise: less sure than one
# the training loss shows (a change in the evaluation set could also do it).
KNOCKED_CONFIDENCE = 0.6
# Candidates checked for a collapse (each costs a median of the rest of the run).
UNDONE_MAX_CANDIDATES = 20
# A blow-up that never recovered undid all the progress: the widest margin below the edge
# (see lr_advice).
UNDONE_BY_DIVERGENCE = 1.0
# Confidence: a non-finite loss is unambiguous (only a logging bug could fake it); a finite
# explosion that never recovers is very likely divergence but could be a data or loss bug.
NONFINITE_CONFIDENCE = 0.95
EXPLOSION_CONFIDENCE = 0.85


def divergence_step(steps: np.ndarray, values: np.ndarray, l0: float,
                    highs: np.ndarray | None = None) -> tuple[int | None, int | None]:
    """(diverged_at_step, first_nonfinite_step) of a loss curve, by the rule above.

    ``highs``: each point's highest raw value (a bucketed export's max band): a blow-up the
    bucket's mean dilutes below 10x still shows there."""
    if len(values) == 0:
        return None, None
    nonfinite = ~np.isfinite(values)
    first_nonfinite = int(steps[np.argmax(nonfinite)]) if nonfinite.any() else None
    scale = abs(l0) if l0 != 0 else 1.0
    blown_at = l0 + (EXPLOSION_FACTOR - 1.0) * scale
    recover_at = l0 - (1.0 - RECOVERY_FRACTION) * scale
    as_inf = np.where(nonfinite, np.inf, values)
    bad = nonfinite | (as_inf >= blown_at)
    with np.errstate(invalid="ignore"):
        if highs is not None:
            bad |= highs >= blown_at
        # Collapse: above the start by twice what was learned before (the 3-point running
        # best, so one lucky batch is no progress).
        m3 = pd.Series(np.where(nonfinite, np.nan, values)).rolling(3, min_periods=1).median().to_numpy()
        best_before = np.fmin.accumulate(np.where(np.isfinite(m3), m3, np.inf))
        learned = np.maximum(l0 - best_before, 0.0)
        had_learned = (learned > 0) & (best_before < recover_at)
        collapsed = had_learned & (as_inf >= l0 + COLLAPSE_OVER_PROGRESS * learned)
    # Forward windows (the point and the ones after it), so the good points before a
    # blow-up never count as a recovery after it.
    roll = pd.Series(as_inf[::-1]).rolling(RECOVERY_WINDOW, min_periods=1).median().to_numpy()[::-1]
    recovered = roll < recover_at
    # recovered_after[i]: some point strictly after i is back below the recovery level.
    recovered_after = np.r_[np.maximum.accumulate(recovered[::-1])[::-1][1:], False]
    # The 10x explosion dates the divergence where the log caught one; a collapse only where it did not.
    for cand in (bad & ~recovered_after, collapsed & ~recovered_after):
        if cand.any():
            return int(steps[np.argmax(cand)]), first_nonfinite
    return _undone(steps, as_inf, l0, learned), first_nonfinite


class Knock(NamedTuple):
    """An evaluation that found the model knocked out: its step and value, and the level of the
    evaluations after it when that decided (a first evaluation standing out of the later ones'
    noise; None for one at KNOCKED_FACTOR x the initial loss or worse)."""

    step: int
    value: float
    later_level: float | None


def _knocked_out(sig: Signals, l0: float) -> Knock | None:
    """The evaluation that found the model knocked out in a run whose training loss never learned
    from then on, or None: one at KNOCKED_FACTOR x the initial loss or worse (non-finite counts),
    the later evaluations back at the initial loss; or the first evaluation, above the later ones
    and the training loss by far more than their noise (see KNOCKED_NOISE). A log too sparse to catch a blow-up in the training loss
    (it happened between its first two points) still shows it there."""
    val = sig.val
    if val is None or sig.loss_is_val or l0 <= 0 or sig.view is None:
        return None
    view = sig.view
    values = np.where(np.isfinite(val.values), val.values, np.inf)
    hit = values >= KNOCKED_FACTOR * l0
    if hit.any():
        j = int(np.argmax(hit))
        later = values[j + 1:][np.isfinite(values[j + 1:])]
        # ...and the later evaluations are back at the initial loss (the knock was an event on the
        # training loss's scale, not a validation loss measured on another one)
        if len(later) >= UNDONE_AFTER_POINTS and abs(float(np.median(later)) - l0) <= (1 - RECOVERY_FRACTION) * l0:
            at = int(val.steps[j])
            after = view.values[view.steps >= at]
            if len(after) < UNDONE_AFTER_POINTS:
                return None
            # never learned again: its 3-point running median stays above the recovery line
            m3 = pd.Series(after).rolling(3, min_periods=1).median().to_numpy()
            return None if np.min(m3) < RECOVERY_FRACTION * l0 else Knock(at, float(values[j]), None)
    return _knocked_at_first(sig)


def _knocked_at_first(sig: Signals) -> Knock | None:
    """The first evaluation that stands out above the later ones
    of a run that never learned (see KNOCKED_NOISE), or None."""
    val, view = sig.val, sig.view
    fin = val.finite
    if np.count_nonzero(fin) < 1 + KNOCKED_AFTER_POINTS or not loss_never_moved(view):
        return None
    first, later = float(val.values[fin][0]), val.values[fin][1:]
    level = float(np.median(later))
    spread = float(np.median(np.abs(later - level))) / NORMAL_MAD
    train_level = float(np.median(view.values))
    if abs(level - train_level) > KNOCKED_SAME_LEVEL * (spread + view.noise):
        return None
    if first - level < max(KNOCKED_NOISE * spread, KNOCKED_BATCH_NOISE * view.noise):
        return None
    return Knock(int(val.steps[fin][0]), first, level)


def _undone(steps: np.ndarray, values: np.ndarray, l0: float, learned: np.ndarray) -> int | None:
    """The first step at which a run that had learned came back to its initial loss and sat
    there, calm, to the end (see UNDONE_KEPT), or None. ``values``: non-finite as +inf."""
    room = (np.arange(len(values))[::-1] >= UNDONE_AFTER_POINTS) & (
        steps[-1] - steps >= UNDONE_MIN_SHARE * (steps[-1] - steps[0]))
    with np.errstate(invalid="ignore"):
        cands = np.flatnonzero((learned > 0) & (values >= l0) & room)
    for i in cands[:UNDONE_MAX_CANDIDATES]:
        after = values[i + 1:]
        if not np.isfinite(after).all():
            continue  # non-finite is the other rules' business
        level = float(np.median(after))
        spread = float(np.median(np.abs(after - level))) / NORMAL_MAD
        if level >= l0 - UNDONE_KEPT * learned[i] and spread <= UNDONE_CALM * learned[i]:
            return int(steps[i])
    return None


def detect(sig: Signals) -> Finding | None:
    """The divergence finding of a run, or None."""
    if sig.loss is None or sig.view is None and not (~sig.loss.finite).any():
        return None
    curve = sig.loss
    fin = curve.finite
    if not fin.any():
        return _never_finite(sig)
    l0 = sig.view.l0 if sig.view is not None else initial_level(curve.steps[fin], curve.values[fin])
    if curve.has_band and np.isfinite(curve.lo[0]):
        # A bucketed export's first point is the mean of its first bucket, which may already
        # hold the blow-up (a digits MLP at LR 1.5 is at 140x within 8 steps): its lowest raw
        # value is the level the run had reached before it.
        l0 = min(l0, float(curve.lo[0]))
    at, first_nf = divergence_step(curve.steps, curve.values, l0, curve.hi if curve.has_band else None)
    knocked = None
    if at is None:
        knocked = _knocked_out(sig, l0)
        if knocked is None:
            return None
        at = knocked.step
    i = int(np.searchsorted(curve.steps, at))
    before = fin & (curve.steps < at)
    # The last good level: the lowest point of the run before the blow-up.
    if before.any():
        j = int(np.flatnonzero(before)[np.argmin(curve.values[before])])
        low_step, low_val = int(curve.steps[j]), float(curve.values[j])
    else:
        low_step, low_val = int(curve.steps[0]), l0
    after = curve.values[i:]
    peak_after = float(np.max(after[np.isfinite(after)])) if np.isfinite(after).any() else float("nan")
    nonfinite_end = not np.isfinite(curve.values[-1])
    ev: dict = {
        "diverged_at_step": at,
        "first_nonfinite_step": first_nf,
        "initial_loss": l0,
        "loss_before": low_val,
        "loss_before_step": low_step,
        "max_loss_after": peak_after,
        "nonfinite_at_end": bool(nonfinite_end),
        "wasted_steps": int(max(sig.run_last_step, sig.last_step) - at + 1),  # the divergence step too
    }
    lr_at = None
    if sig.lr is not None and sig.lr.finite.any():
        lr_at = sig.lr.at(at)
        ev["lr_at_divergence"] = lr_at
        ev["peak_lr"] = sig.lr_peak
    if sig.grad is not None and len(sig.grad):
        g = sig.grad
        pre = g.finite & (g.steps < at)
        if pre.any():
            ev["grad_norm_before"] = float(np.median(g.values[pre][-RECOVERY_WINDOW:]))
        post = g.steps >= at
        ev["grad_norm_nonfinite_after"] = bool((~g.finite[post]).any()) if post.any() else False
    top = at_value(curve, at)
    if curve.has_band and i < len(curve) and np.isfinite(curve.hi[i]):
        top = max(top, float(curve.hi[i]))  # the bucket's highest raw loss, not its diluted mean
    what = ("became non-finite" if first_nf is not None and first_nf <= at
            else f"rose {w.factor(abs(top / low_val) if low_val else float('inf'))}")
    summary = f"loss {what} at step {w.step(at)} (from {w.num(low_val)} at step {w.step(low_step)})"
    if knocked is not None:
        ev["max_loss_after"] = knocked.value
        if knocked.later_level is None:
            summary = (f"the evaluation at step {w.step(at)} found the model at {w.factor(knocked.value / l0)} its "
                       f"initial loss ({w.num(knocked.value)} against {w.num(l0)}): it blew up between two points of "
                       "the training log")
        else:
            summary = (f"the evaluation at step {w.step(at)} found the model worse than at its start "
                       f"({w.num(knocked.value)} against {w.num(l0)}), and the later evaluations fell back to "
                       f"{w.num(knocked.later_level)}, the level of a "
                       f"model that predicts nothing, as the training loss never learned: it was knocked out between "
                       f"two points of the training log")
    if lr_at is not None:
        summary += f" with LR {w.lr(lr_at)}"
    summary += f" and never recovered: {w.step(ev['wasted_steps'])} steps wasted"
    ev["summary"] = summary
    advice = lower_lr(sig, UNDONE_BY_DIVERGENCE, end_step=at, blowup_step=at) if lr_at is not None else None
    if advice is not None:
        ev.update(advice.evidence())
        rec = (
            f"lower peak LR to ~{w.lr(advice.lr)}, clip gradients, and restart from a checkpoint before step "
            f"{w.step(low_step)}; why {w.lr(advice.lr)}: {advice.reason}"
        )
    else:
        rec = (
            "lower the LR (the run logs no LR to measure by how much: run an LR range test), clip gradients, "
            f"and restart from a checkpoint before step {w.step(low_step)}"
        )
    conf = NONFINITE_CONFIDENCE if first_nf is not None else EXPLOSION_CONFIDENCE
    if knocked is not None and knocked.later_level is not None:
        conf = KNOCKED_CONFIDENCE
    out = Finding(Mode.DIVERGED, "critical", conf, at, sig.last_step, w.clean(ev), rec, curve.tag,
                  waste_from_step=at)  # the divergence step is wasted too
    if advice is not None:
        out.advise(advice.lr, advice.basis)
    return out


def _never_finite(sig: Signals) -> Finding:
    """A loss that is NaN/inf at every logged point diverged at its first logged step."""
    curve = sig.loss
    at = int(curve.steps[0])
    ev = {
        "diverged_at_step": at,
        "first_nonfinite_step": at,
        "initial_loss": None,
        "nonfinite_at_end": True,
        "wasted_steps": int(max(sig.run_last_step, sig.last_step) - at + 1),
        "summary": (f"loss was non-finite (NaN/inf) at every one of its {len(curve):,} logged points, from step "
                    f"{w.step(at)}: {w.step(max(sig.run_last_step, sig.last_step) - at + 1)} steps wasted"),
    }
    if sig.lr is not None and sig.lr.finite.any():
        ev["lr_at_divergence"] = sig.lr.at(at)
        ev["peak_lr"] = sig.lr_peak
    rec = ("check the data and the loss for NaN/inf inputs (e.g. log(0) or a division by zero), then lower "
           "the LR (bracket it with an LR range test: no finite loss tells by how much), clip gradients, and restart")
    # Certain: not one finite value was logged. No stable stretch shows an edge of stability, and a
    # loss NaN from its first step is as often the data or the loss as the LR: the setup first.
    return Finding(Mode.DIVERGED, "critical", NONFINITE_CONFIDENCE, at, sig.last_step, w.clean(ev), rec, curve.tag,
                   waste_from_step=at, remedy=Remedy.SETUP)


def at_value(curve, step: int) -> float:
    """The loss value at ``step`` (inf when non-finite)."""
    v = curve.at(step)
    return v if np.isfinite(v) else float("inf")
