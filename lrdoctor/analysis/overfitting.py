"""``overfitting``: validation loss rises for a long stretch after its best."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from . import wording as w
from .findings import Finding, Mode
from .signals import MIN_TREND_POINTS, Signals, rolling_median, theil_sen

# Validation points needed to see a minimum and a rise after it.
MIN_VAL_POINTS = 4
# From this many evaluations on, the best level is the lowest 3-evaluation rolling median
# (with fewer, each evaluation is too much of the evidence to set one aside).
MIN_LEVEL_EVALS = 8
# The best evaluation must leave a long stretch behind it: at least this share of the
# run follows the best (a minimum in the last quarter is just the end of training).
MIN_AFTER_FRACTION = 0.3
# The final validation loss (median of the last 3 evaluations, robust to one noisy
# evaluation) must be this much above the best: 10% is beyond evaluation noise on any
# reasonably sized validation set yet well below a real overfit (often 20-50%).
FINAL_RISE = 1.10
# "For a long stretch": nearly every evaluation in the last quarter stays clearly above
# the best (a dip back to the best means it is not overfitting).
LATE_RISE = 1.05
LATE_SHARE = 0.8
# Training keeps improving while validation worsens (otherwise it is divergence or
# instability, not overfitting): the train loss at the end is below its level at the best.
TRAIN_STILL_FALLING = 0.95
# Train levels are medians over windows of this share of the points (at least the smoothing
# window), and the end window must be lower than the one at the best step by a one-sided
# rank test at this level (with enough points to test).
TRAIN_WINDOW = 0.05
TRAIN_FALL_P = 0.05
MIN_TEST_POINTS = 8
# The rise must exceed the spread of one logged training loss (its minibatch noise, per
# step). A validation loss over n examples is itself uncertain by about the per-example
# spread / sqrt(n), and a minibatch of B examples spreads by the per-example spread /
# sqrt(B): for a validation set of at least a batch (the usual case) a rise smaller than
# the minibatch spread is within what the choice of validation examples decides, not
# evidence that the model generalises worse (a regression task's noisy floor creeping up
# 3% while its minibatch losses bounce by 8%).
MIN_RISE_TRAIN_NOISE = 1.0
# Evaluations that make the evidence complete: fewer still show a rise (down to
# MIN_VAL_POINTS), but one noisy evaluation weighs more, so the confidence is scaled by
# sqrt(evaluations / FULL_EVIDENCE_EVALS) (the standard error of a level shrinks as
# 1/sqrt(n)) and the evidence says how many there were.
FULL_EVIDENCE_EVALS = 10


def _train_falls_after(view, best_step: int, min_points: int = 2 * MIN_TEST_POINTS) -> bool:
    """The training loss trends down from the best evaluation to the end: the upper end of the
    95% interval of its Theil-Sen slope is below zero (False with fewer than ``min_points``)."""
    sel = view.steps >= best_step
    if np.count_nonzero(sel) < min_points:
        return False
    return theil_sen(view.steps[sel], view.values[sel])[3] < 0


def _train_windows(view, best_step: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The training loss's points around the best evaluation and at the end (windows of
    TRAIN_WINDOW of its points, at least the smoothing window); None when no training point is
    near the best evaluation."""
    i = int(np.searchsorted(view.steps, best_step))
    half = max(view.window, int(TRAIN_WINDOW * len(view.values))) // 2
    at_best = view.values[max(0, i - half):min(len(view.values), i + half + 1)]
    if not len(at_best):
        return None
    return at_best, view.values[-2 * half - 1:]


def _train_fell(view, best_step: int, at_best: np.ndarray, at_end: np.ndarray) -> bool:
    """Whether the training loss kept falling from the best evaluation to the end."""
    if np.median(at_end) - view.zero > TRAIN_STILL_FALLING * (np.median(at_best) - view.zero):
        return False
    # "Still falling" must stand out of the minibatch noise: a train loss bouncing on its floor
    # (a high constant LR) can have a lower end median by chance. The end window must lie below
    # the one at the best by a one-sided rank test (3 points against 3 pass only when all three
    # are lower), or the robust trend through every training point from the best evaluation on
    # must be clearly negative (it uses them all: two windows of a sparse log hold ~10 points
    # each; with fewer than MIN_TEST_POINTS around the best, one spike or one lucky batch would
    # decide the medians, and a trend through MIN_TREND_POINTS settles it).
    if stats.mannwhitneyu(at_end, at_best, alternative="less").pvalue <= TRAIN_FALL_P:
        return True
    few = len(at_best) < MIN_TEST_POINTS
    return _train_falls_after(view, best_step, MIN_TREND_POINTS if few else 2 * MIN_TEST_POINTS)


def undecided(sig: Signals) -> tuple[int, int] | None:
    """``(best evaluation step, training points around it)`` of a run whose validation loss rose
    for a long stretch after its best, but whose training log is too sparse to say whether the
    training loss kept falling meanwhile (fewer than MIN_TEST_POINTS points around the best):
    overfitting and an instability that lifted both losses
    look the same there. None otherwise. A run whose overfitting was found anyway has it left out
    by coverage.not_checked, which leaves out found modes."""
    view = sig.view
    if view is None:
        return None
    found = detect(sig, train_check=False)
    if found is None:
        return None
    best_step = int(found.evidence["best_val_step"])
    train = _train_windows(view, best_step)
    if train is None or len(train[0]) >= MIN_TEST_POINTS:
        return None
    return best_step, len(train[0])


def detect(sig: Signals, train_check: bool = True) -> Finding | None:
    """The overfitting finding of a run, or None (``train_check=False``: on the validation loss
    alone, for :func:`undecided`)."""
    val = sig.val
    if val is None or sig.loss_is_val:
        return None
    fin = val.finite
    steps, vals = val.steps[fin], val.values[fin]
    if len(vals) < MIN_VAL_POINTS:
        return None
    ib = int(np.argmin(vals))
    best_step, best = int(steps[ib]), float(vals[ib])
    if best <= 0 or sig.frac_of(best_step) > 1.0 - MIN_AFTER_FRACTION or ib >= len(vals) - 2:
        return None
    final = float(np.median(vals[-3:]))
    # Rises are measured from the best level the validation loss held, not from one evaluation
    # that dipped below both its neighbours (a noisy validation set's luckiest draw).
    lvl = float(rolling_median(vals, 3).min()) if len(vals) >= MIN_LEVEL_EVALS else best
    # Rises are heights over the train loss's floor (the loss a perfect fit of the training
    # data reaches), so that a constant added to both losses changes nothing; for the usual
    # loss with a floor near zero this is the plain ratio to the best validation loss.
    z = sig.view.zero if sig.view is not None and sig.view.zero < best else 0.0
    if final - z < FINAL_RISE * (lvl - z):
        return None
    if sig.view is not None and final - lvl < MIN_RISE_TRAIN_NOISE * sig.view.noise * sig.view.noise_scale:
        return None
    late = vals[steps >= sig.step_at_frac(0.75)]
    if len(late) == 0 or np.mean(late - z >= LATE_RISE * (lvl - z)) < LATE_SHARE:
        return None
    after_steps, after_vals = steps[ib:], vals[ib:]
    # "Rises for a long stretch": the typical evaluation after the best is clearly worse than it.
    # Not a rank trend over the whole stretch: a val loss that jumps up, then eases back a
    # little as the LR cools while staying far above its best has a negative trend but is
    # overfit all the same (its generalisation gap has grown while train kept falling).
    if np.median(after_vals[1:]) - z < LATE_RISE * (lvl - z):
        return None
    tau = stats.kendalltau(after_steps, after_vals).statistic if len(after_vals) >= 3 else 1.0
    tau = float(tau) if np.isfinite(tau) else 0.0
    ev: dict = {
        "best_val_step": best_step,
        "best_val_loss": best,
        "final_val_loss": final,
        "val_rise": (final - z) / (lvl - z),
        "val_trend_tau": float(tau),
        "evaluations": int(len(vals)),
        "evaluations_after_best": int(len(vals) - 1 - ib),
        "wasted_steps": int(max(sig.run_last_step, sig.last_step) - best_step),
    }
    view = sig.view
    if view is not None and train_check:
        train = _train_windows(view, best_step)
        if train is not None:
            if not _train_fell(view, best_step, *train):
                return None
            ev["train_loss_at_best"] = float(np.median(train[0]))
            ev["train_loss_final"] = float(np.median(train[1]))
    summary = (
        f"validation loss rose from its best {w.num(best)} at step {w.step(best_step)} to "
        f"{w.num(final)} ({w.factor(ev['val_rise'])} its height over the training floor) by step {w.step(int(steps[-1]))}"
    )
    if "train_loss_final" in ev:
        summary += f" while train loss kept falling to {w.num(ev['train_loss_final'])}"
    few = len(vals) < FULL_EVIDENCE_EVALS
    if few:
        summary += f" (only {len(vals)} evaluations, {len(vals) - 1 - ib} after the best: a tentative call)"
    ev["summary"] = summary
    rec = (
        f"stop at step {w.step(best_step)}: best validation loss "
        f"({w.step(max(sig.run_last_step, sig.last_step) - best_step)} steps after it were wasted); "
        "or add regularisation (weight decay, dropout, more data)"
    )
    rise = (final - z) / (lvl - z)
    conf = float(np.clip(0.6 + 0.4 * min((rise - 1.0) / 0.3, 1.0) * max(tau, 0.0) ** 0.5, 0.0, 0.99))
    conf *= min(1.0, len(vals) / FULL_EVIDENCE_EVALS) ** 0.5
    sev = "warning" if rise < 1.5 else "critical"
    return Finding(Mode.OVERFITTING, sev, conf, best_step, sig.last_step, w.clean(ev), rec, val.tag,
                   waste_from_step=best_step + 1)
