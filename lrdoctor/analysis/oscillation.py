"""``oscillating``: the LR is too high: the loss bounces with no real downward trend."""

from __future__ import annotations

import numpy as np

from . import wording as w
from .findings import Finding, Mode
from .lr_advice import lower_lr
from .signals import (MEDIAN_SE, SPARSE_NOISE_POINTS, TINY, LossView, Signals, difference_noise, point_noise,
                      rolling_median)
from .thresholds import LEVEL_WINDOW, NO_LR_CONFIDENCE

# Bouncing: the robust noise (MAD around a rolling median) of the 2nd half is at least
# this share of the run's dynamic range (L0 - its floor). Minibatch noise of a well-tuned
# run near its end sits at a few % of what it learned; an LR too high keeps kicking the
# loss up by more.
MIN_NOISE = 0.04
# The loss bounces both ways around its level (not spikes rising from a floor the loss
# cannot go below, which is `spikes`, nor a converged run hugging its floor): the spread
# above the 2nd-half median (95th percentile - median) is at most this many times the
# spread below it (median - 5th percentile). Bouncing runs measure ~1-2, runs on their
# floor 2-4, spiky runs 6 and more. A ratio of spreads: the same for k*loss + c.
MAX_SKEW = 3.0
# The spreads are read at the 5th/95th percentiles, but never closer to the ends than
# SKEW_TAIL_POINTS points: on 15 points the 5th and 95th percentiles are the lowest and the
# highest, one lucky batch each, and a bouncing run's skew reads anywhere from 1 to 4.
SKEW_QUANTILE = 0.05
SKEW_TAIL_POINTS = 2
# A bucketed export keeps each bucket's extremes: a bounce puts its maximum and minimum about as
# far from its mean (minibatch losses are somewhat right-skewed: 1.0-1.8 on the corpus), spikes
# rising from a floor put the maximum far above while the minimum hugs the mean (2.1-5.8). The
# median over the 2nd half's buckets of (max - mean) / (mean - min) is at most this for a bounce.
MAX_BAND_SKEW = 2.0
# The bounce unit is at most this many dynamic ranges. Not the range itself: a run's range
# down to its true floor is larger than the range it covered (a char LM stops at ~2 nats
# of a 4.6-nat start while its entropy floor is ~1.4: 1.6-1.8x), and its calm minibatch
# noise is 5-7% of the covered range, as large as a bouncing run's. 1.8 ranges keeps L0
# as the unit for such runs, while a constant of ~1x L0 or more (an entropy floor, summed
# terms) no longer sets it (partly invariant: see benchmarks/robustness.py).
RANGE_UNIT = 1.8
# An LR that was decayed in the 2nd half is no longer "too high": oscillation is judged
# only while the LR stays above this share of its peak.
LR_STILL_HIGH = 0.5
# No real downward trend: the 2nd half gains less than this share of its starting level.
MAX_REL_DROP = 0.15
# The drop is measured between two window medians, each uncertain by its standard error
# (sqrt(pi/2) x noise / sqrt(n) for a median); a drop counts as real only when it stays
# above MAX_REL_DROP after this many standard errors are taken off (a bounce whose windows
# land on a high and a low swing is not a trend).
DROP_SE = 1.0
# The bounce is an estimate from the 2nd half's points: the MAD of n normal draws is
# uncertain by ~1.17/sqrt(n) of itself (its 37% efficiency). The bounce counts as large only
# when it clears MIN_NOISE after this many such errors are taken off, so a log with 25
# points in its 2nd half (every 10th step) does not read its own sampling luck as a bounce.
NOISE_SE = 1.0
MAD_RELATIVE_SE = 1.166
# A bounce and a trend need this many points in the 2nd half to be told apart from noise.
MIN_HALF_POINTS = 10
# The evaluations can clear a bounce: beyond their trend (second differences), evaluations move
# only with the weights and with the examples they draw. A calm run's jump by under 1% of what the
# model learned from one to the next; weights kicked around by an LR too high make them jump by
# more. Evaluations that jump by less than VAL_BOUNCE of the progress show weights that sit still:
# no oscillation, whatever the training points say. That settles what the training loss alone
# cannot: a sparse log (15 single-batch points in the 2nd half read their bounce within +/- 30-40%,
# as wide as the gap between a calm run's minibatch noise and an LR too high's), or a log without
# its LR curve (a char model whose LR decayed to ~0 keeps its minibatch noise at 5% of its start).
# Not the converse: evaluations on a random draw of batches (nanoGPT's) jump by their own sampling
# too, so a jumpy evaluation proves nothing. And only there: evaluations of an averaged model (EMA
# weights) stay calm while the raw weights bounce.
VAL_BOUNCE = 0.015
# Evaluations in the 2nd half needed to read their jumps.
VAL_BOUNCE_POINTS = 8
# Autocorrelation beyond this is a trend the rolling median missed, not a bounce: capped so
# that a series keeps at least ~5% of its points as evidence.
MAX_AUTOCORRELATION = 0.9
# Without a logged LR the margin cannot be measured: one notch on a 1-3-10 grid.
LR_FACTOR = 3.0


def effective_share(resid: np.ndarray) -> float:
    """The share of a series' points that count as independent: (1 - r) / (1 + r), r its lag-1
    autocorrelation clipped to [0, MAX_AUTOCORRELATION] (1 for white noise)."""
    r = resid[np.isfinite(resid)]
    if len(r) < 3 or np.std(r) <= 0:
        return 1.0
    rho = float(np.clip(np.corrcoef(r[:-1], r[1:])[0, 1], 0.0, MAX_AUTOCORRELATION))
    return (1.0 - rho) / (1.0 + rho)


def _bounce_unit(view: LossView) -> float:
    """What the bounce is measured against: L0 for a loss whose floor is near zero, but never
    more than RANGE_UNIT x the dynamic range, so a constant added to the loss (which inflates
    L0, not the range) does not hide the bounce."""
    return min(abs(view.l0), RANGE_UNIT * view.scale)


def _points(view: LossView, a: float, b: float) -> int:
    """How many points ``view.level_frac(a, b)`` takes its median over."""
    lo, hi = view.level_span(*view.frac_steps(a, b))
    return hi - lo


def val_bounce(sig: Signals) -> float | None:
    """How far the evaluations of the run's 2nd half jump from one to the next beyond their trend
    (their second differences' noise), as a share of what the model learned (from the larger of
    the training loss's start and the first evaluation down to the best evaluation); None with
    fewer than VAL_BOUNCE_POINTS evaluations there."""
    val = sig.val
    if val is None or sig.loss_is_val or sig.view is None:
        return None
    fin = val.finite
    steps, vals = val.steps[fin], val.values[fin]
    half = vals[steps >= sig.step_at_frac(0.5)]
    if len(half) < VAL_BOUNCE_POINTS:
        return None
    learned = max(sig.view.l0, float(vals[0])) - float(np.min(vals))
    return difference_noise(half) / learned if learned > 0 else None


def _band_skew(sig: Signals) -> float | None:
    """The median over the 2nd half's buckets of a bucketed export of (max - mean) / (mean - min)
    (see MAX_BAND_SKEW); None for a log without a band."""
    curve = sig.loss
    if curve is None or not curve.has_band:
        return None
    with np.errstate(invalid="ignore"):
        sel = (curve.steps >= sig.step_at_frac(0.5)) & curve.finite & np.isfinite(curve.hi) & np.isfinite(curve.lo)
        up, down = curve.hi[sel] - curve.values[sel], curve.values[sel] - curve.lo[sel]
    ok = down > 0
    return float(np.median(up[ok] / down[ok])) if ok.sum() >= MIN_HALF_POINTS else None


def detect(sig: Signals) -> Finding | None:
    """The oscillation finding of a run, or None."""
    view = sig.view
    if view is None:
        return None
    h = LEVEL_WINDOW / 2
    lmid = view.level_frac(0.5 - h, 0.5 + h)
    lend = view.level_frac(1 - 2 * h, 1.0)
    if not (np.isfinite(lmid) and np.isfinite(lend)):
        return None
    # The drop as a share of how far the level sat above the run's floor (its "zero").
    height = max(lmid - view.zero, view.noise, TINY)
    rel_drop = (lmid - lend) / height
    rough = view.roughness(0.5, 1.0)
    sel = view.steps >= sig.step_at_frac(0.5)
    vals = view.values[sel]
    if len(vals) < MIN_HALF_POINTS:
        return None
    noise2 = point_noise(vals, view.window) * view.noise_scale
    tail = max(SKEW_QUANTILE, SKEW_TAIL_POINTS / len(vals))
    q05, q50, q95 = np.quantile(vals, [tail, 0.5, 1.0 - tail])
    skew = (q95 - q50) / max(q50 - q05, TINY)
    band_skew = _band_skew(sig)
    # Bounces are autocorrelated: neighbouring points of a slow bounce carry less than one point's
    # worth of evidence each. Sample sizes are counted as effective ones (n (1 - r) / (1 + r),
    # r the lag-1 autocorrelation of the residuals), so a densely logged slow bounce is no surer
    # than the same bounce logged sparsely.
    keep = effective_share(vals - rolling_median(vals, view.window))
    n_mid, n_end = _points(view, 0.5 - h, 0.5 + h) * keep, _points(view, 1 - 2 * h, 1.0) * keep
    # the windows' medians are over logged points: their spread is the per-step noise / noise_scale
    drop_se = MEDIAN_SE * noise2 / view.noise_scale * np.sqrt(1 / max(n_mid, 1) + 1 / max(n_end, 1)) / height
    surely = noise2 * (1.0 - NOISE_SE * MAD_RELATIVE_SE / np.sqrt(max(len(vals) * keep, 1.0)))
    jumps = val_bounce(sig)
    # ...only where the training loss cannot settle it alone: a dense log with its LR curve reads
    # its bounce and the LR that drives it, and evaluations of an averaged model (EMA weights, as
    # ultralytics evaluates) stay calm while the raw weights bounce.
    thin = len(vals) < SPARSE_NOISE_POINTS or sig.lr is None or not sig.lr_peak
    calm_evals = thin and jumps is not None and jumps < VAL_BOUNCE
    one_sided = skew > MAX_SKEW or band_skew is not None and band_skew > MAX_BAND_SKEW
    real_drop = rel_drop - DROP_SE * drop_se >= MAX_REL_DROP
    if surely < MIN_NOISE * _bounce_unit(view) or one_sided or calm_evals or real_drop:
        return None
    lr_tail = None
    if sig.lr is not None and sig.lr_peak:
        lr_half = sig.lr.finite & (sig.lr.steps >= sig.step_at_frac(0.5))
        if lr_half.any():
            lr_tail = float(np.median(sig.lr.values[lr_half]))
            if lr_tail < LR_STILL_HIGH * sig.lr_peak:
                return None
    scale = view.scale
    first_step = int(view.steps[sel][0])
    ev = {
        "oscillation_window": [first_step, int(view.steps[-1])],
        "roughness": rough,
        "noise_over_l0": noise2 / scale,  # share of the dynamic range (L0 - floor), name kept for v1
        "upper_over_lower_spread": float(skew),
        "second_half_relative_drop": rel_drop,
        "relative_drop_standard_error": drop_se,
        "val_bounce_share_of_progress": jumps,
        "loss_level": lend,
        "summary": (
            f"loss bounces by +/-{w.pct(noise2 / scale)} of what it learned over the 2nd half with no real "
            f"downward trend ({w.num(lmid)} -> {w.num(lend)})"
        ),
    }
    advice = None
    if sig.lr is not None and sig.lr_peak:
        lr_now = float(sig.lr.values[sig.lr.finite][-1])
        ev["lr"] = lr_now
        ev["summary"] += f" at LR {w.lr(lr_now)}"
        # How much of what it learned the bouncing undid: the level it bounces at above its best
        # (or the bounce itself), as a share of the progress.
        gained = view.l0 - view.best
        undone = max(lend - view.best, noise2) / gained if gained > 0 else 1.0
        advice = lower_lr(sig, undone, end_step=first_step)
    if advice is not None:
        ev.update(advice.evidence())
        rec = f"lower peak LR to ~{w.lr(advice.lr)} and decay it; why {w.lr(advice.lr)}: {advice.reason}"
    else:
        rec = f"lower the LR ~{w.factor(LR_FACTOR)} and decay it"
    conf = float(np.clip(0.5 + 3 * (noise2 / scale - MIN_NOISE) + (MAX_REL_DROP - rel_drop), 0, 0.95))
    if lr_tail is None:
        conf *= NO_LR_CONFIDENCE  # without the LR we cannot tell a high LR from other causes
    out = Finding(Mode.OSCILLATING, "warning", conf, first_step, sig.last_step, w.clean(ev), rec,
                  sig.loss.tag)
    if advice is not None:
        out.advise(advice.lr, advice.basis)
    return out
