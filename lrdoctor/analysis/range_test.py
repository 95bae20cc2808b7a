"""LR range tests ("LR finder"): recognise them and suggest an LR by the known rules.

A range test ramps the LR geometrically (typically 1e-7 -> 10 over a few hundred
steps) while recording the loss, and stops when the loss explodes. The loss is
smoothed with fastai's bias-corrected EMA and three published rules are applied
side by side:

- ``steepest``: the LR where the smoothed loss falls fastest per decade of LR
  (fastai's ``steep``; Smith's "steepest descent").
- ``valley``: fastai's default: the middle of the longest decreasing stretch of
  the smoothed loss.
- ``min_div_10``: the LR of the smoothed minimum, divided by 10 (fastai's ``minimum``).

Each rule comes with a one-line reason (``rule_reasons``). The recommendation
(``suggested_lr``) follows a fixed procedure:

1. The minimum/10 rule is the anchor: the smoothed minimum marks where the LR starts being too
   high (the edge of stability this test met), and a decade below it a full run is safely stable.
2. When the steepest descent lies *above* that anchor (and within a decade of it), the fast descent
   runs right up into the minimum: the edge of stability is what ended the descent, the best LR of a
   full run (whose decay anneals the noise at the peak) sits close below that edge, and min/10 alone
   lands low. The geometric mean of the two is recommended: it moves the anchor toward the edge.
3. When the steepest descent lies *below* the anchor, the fast descent was over well before the
   minimum and the anchor, a decade below the edge, stands alone (a full run has the time the short
   test lacked, so an LR past the steepest point still learns). More than a decade above the anchor,
   the steepest point is the noise of the blow-up itself: the anchor stands too.

Validated against sweeps: the corpus's six range tests (5/6 within 3x of the sweep's best), and 14
unseen setups trained by ``benchmarks/heldout/range_vs_sweep.py`` (two seeds of each of seven
task/optimizer families): 9/14 within 3x of the LR with the best final validation loss, 12/14 within
3x of the LR with the best final training loss. A range test measures trainability, not
generalisation: the five misses are the tiny data sets (breast cancer, diabetes: a few hundred
samples, 8-42x off), whose validation optimum sits one to two decades below their training optimum,
and one flat valley (synth_clf Adam, 4x off at 1.02x the best validation loss). Following the
suggestion costs 1.02-1.41x the best validation loss there, 1.9-2.4x on breast cancer, which
overfits at every LR above 1e-3. No rule on the training loss sees that; fastai's valley, the one
that lands lower, is 4-45x low on five of the corpus's six tests.
Valley is reported but not used: on a long shallow start it lands one to two decades early.
The EMA lags the ramp (about 50 steps with beta 0.98), which puts the smoothed minimum past
the raw one; the rules were defined on this lagged curve, so they are applied to it unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from parsers import Run

from .findings import RangeTestResult, Schedule
from .schedule import infer_schedule
from .signals import Signals, prepare
from .thresholds import MIN_RANGE_TEST_POINTS

# fastai's LRFinder smoothing (Recorder's AvgSmoothLoss) and stop rule.
EMA_BETA = 0.98
STOP_FACTOR = 4.0
# Recognising a range test: the LR grows geometrically over at least this many
# decades, over most of the run (the ramp is the whole run, not a warmup).
MIN_DECADES = 2.0
# A range test is short: thousands of steps at most (a normal run could never
# afford a LR growing by decades over its length).
MAX_STEPS = 5000
# fastai drops the first 10% and the last 5 points before applying the rules
# (noisy start, exploding end).
SKIP_START_FRACTION = 0.1
SKIP_END_POINTS = 5
# The rules run on at most this many evenly spaced points (valley is quadratic in n;
# a range test has a few hundred).
MAX_RULE_POINTS = 2000
# Valley needs at least this many points in a decreasing run to be meaningful.
MIN_VALLEY_POINTS = 3
# Step 2 of the procedure: a steepest descent above min/10 "runs into the minimum" when it is
# within a decade of it.
AGREE_RATIO = 10.0
RULE_REASONS = {
    "steepest": "where the smoothed loss falls fastest per decade of LR (fastai steep)",
    "valley": "middle of the longest falling stretch of the smoothed loss (fastai valley); lands early on a "
              "long shallow start",
    "min_div_10": "a decade below the smoothed minimum, where the LR starts being too high (fastai minimum)",
}


def _signals(source: Run | Signals) -> Signals:
    return prepare(source) if isinstance(source, Run) else source


def _lr_and_loss(sig: Signals) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """(steps, lr, loss) at the steps where both are logged (the last value of a repeated step),
    from the run's prepared curves, or None."""
    if sig.lr is None or sig.loss is None or sig.loss_is_val or not len(sig.lr) or not len(sig.loss):
        return None
    steps, i, j = np.intersect1d(sig.lr.steps, sig.loss.steps, assume_unique=True, return_indices=True)
    lr, loss = sig.lr.values[i], sig.loss.values[j]
    keep = np.isfinite(lr) & (lr > 0)
    if not keep.any():
        return None
    return steps[keep], lr[keep], loss[keep]


def is_range_test(source: Run | Signals, schedule: Schedule | None = None) -> bool:
    """True when the run is an LR range test: a short run whose LR rises geometrically
    over at least two decades for its whole length while the loss is recorded.

    ``source`` is the run's prepared :class:`Signals` (a Run is prepared here); ``schedule``, the
    schedule already inferred from its LR, rules out at once an LR that does not rise."""
    if schedule is not None and not schedule.params.get("rising"):
        return False
    data = _lr_and_loss(_signals(source))
    if data is None:
        return False
    steps, lr, _ = data
    if len(steps) < MIN_RANGE_TEST_POINTS or steps[-1] - steps[0] > MAX_STEPS:
        return False
    sched = infer_schedule(steps, lr)
    decades = float(np.log10(lr.max() / lr.min()))
    return (sched.kind == "exponential" and bool(sched.params.get("rising"))
            and decades >= MIN_DECADES)


def bias_corrected_ema(values: np.ndarray, beta: float = EMA_BETA) -> np.ndarray:
    """fastai's smoothed loss: EMA with the (1 - beta^i) start-up bias removed."""
    x = np.asarray(values, dtype=np.float64)
    ema = lfilter([1.0 - beta], [1.0, -beta], x)
    return ema / (1.0 - beta ** np.arange(1, len(x) + 1))


def _stop_index(loss: np.ndarray, smooth: np.ndarray) -> int:
    """Exclusive end of the usable curve: fastai stops when the smoothed loss exceeds
    4x its running minimum or the loss is not finite."""
    bad = ~np.isfinite(loss) | ~np.isfinite(smooth)
    running_min = np.minimum.accumulate(np.where(np.isfinite(smooth), smooth, np.inf))
    bad |= smooth > STOP_FACTOR * running_min
    hits = np.flatnonzero(bad)
    return int(hits[0]) if len(hits) else len(loss)


def steepest_lr(lr: np.ndarray, loss: np.ndarray) -> float | None:
    """LR where the loss falls fastest per unit of log LR (fastai ``steep``)."""
    if len(lr) < 3:
        return None
    grads = np.diff(loss) / np.diff(np.log(lr))
    return float(lr[int(np.argmin(grads))])


def valley_lr(lr: np.ndarray, loss: np.ndarray) -> float | None:
    """fastai's ``valley``: middle of the longest decreasing subsequence of the loss."""
    n = len(loss)
    if n < MIN_VALLEY_POINTS:
        return None
    lds = np.ones(n, dtype=np.int64)
    max_start = max_end = 0
    for i in range(1, n):  # O(n^2) DP, vectorised over j; n is a few hundred points
        higher = loss[:i] > loss[i]
        if higher.any():
            lds[i] = lds[:i][higher].max() + 1
        if lds[max_end] < lds[i]:
            max_end = i
            max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lr[min(max(idx, 0), n - 1)])


def min_div_10_lr(lr: np.ndarray, loss: np.ndarray) -> float | None:
    """The LR of the smoothed minimum divided by 10 (fastai ``minimum``)."""
    if len(lr) == 0:
        return None
    return float(lr[int(np.argmin(loss))] / 10.0)


def _rules(lr: np.ndarray, smooth: np.ndarray) -> dict[str, float | None]:
    if len(lr) > MAX_RULE_POINTS:
        idx = np.unique(np.linspace(0, len(lr) - 1, MAX_RULE_POINTS).astype(np.int64))
        lr, smooth = lr[idx], smooth[idx]
    n = len(lr)
    lo, hi = int(n * SKIP_START_FRACTION), n - SKIP_END_POINTS
    if hi - lo < MIN_VALLEY_POINTS:
        lo, hi = 0, n
    lr_c, loss_c = lr[lo:hi], smooth[lo:hi]
    return {
        "steepest": steepest_lr(lr_c, loss_c),
        "valley": valley_lr(lr_c, loss_c),
        "min_div_10": min_div_10_lr(lr_c, loss_c),
    }


def recommend(rules: dict[str, float | None]) -> tuple[float | None, str, str]:
    """(LR, rule, reason) by the procedure in the module docstring."""
    anchor, steep = rules.get("min_div_10"), rules.get("steepest")
    if anchor is None:
        return steep, "steepest" if steep else "none", "no minimum found: the steepest descent"
    if steep is not None and anchor < steep <= AGREE_RATIO * anchor:
        lr = float(np.sqrt(anchor * steep))
        return lr, "steepest_x_min_div_10", (
            "geometric mean of minimum/10 and the steepest descent just above it: the fast descent runs up to "
            "the minimum, so the best LR sits close below the edge of stability")
    if steep is not None and steep <= anchor:
        return anchor, "min_div_10", (
            "minimum/10: the steepest descent lies below it, so the fast descent was over well before the "
            "minimum and a decade below the edge keeps the fastest-learning LRs")
    return anchor, "min_div_10", (
        "minimum/10: the steepest descent lies over a decade above it, in the blow-up's noise")


def analyze_range_test(source: Run | Signals) -> RangeTestResult:
    """Apply the steepest, valley and minimum/10 rules and recommend one LR (on the run's prepared
    :class:`Signals`; a Run is prepared here)."""
    data = _lr_and_loss(_signals(source))
    empty = np.array([], dtype=np.float64)
    if data is None:
        return RangeTestResult(empty, empty, empty, {}, None, "none", "no LR and loss logged together")
    _, lr, loss = data
    smooth = bias_corrected_ema(np.where(np.isfinite(loss), loss, np.nan))
    stop = _stop_index(loss, smooth)
    stop_lr = float(lr[stop]) if stop < len(lr) else None
    lr_u, loss_u, smooth_u = lr[:stop], loss[:stop], smooth[:stop]
    if len(lr_u) < MIN_VALLEY_POINTS:
        return RangeTestResult(lr_u, loss_u, smooth_u, {}, None, "none",
                               "the loss exploded before the test had enough points",
                               stop_lr=stop_lr)
    rules = _rules(lr_u, smooth_u)
    suggested, rule, reason = recommend(rules)
    return RangeTestResult(
        lr=lr_u, loss=loss_u, smoothed_loss=smooth_u, rules=rules, suggested_lr=suggested,
        suggested_rule=rule, reason=reason, rule_reasons=dict(RULE_REASONS),
        min_loss_lr=float(lr_u[int(np.nanargmin(smooth_u))]),
        stop_lr=stop_lr, decades=float(np.log10(lr.max() / lr.min())),
    )
