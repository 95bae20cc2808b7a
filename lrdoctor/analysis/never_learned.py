"""A run that never learned: a ``plateau`` at its initial level, found with or without an LR curve.

Three ways a log shows it: the loss never left its first level; the loss fell only in its first
steps (the label frequencies, or wild first batches) while a metric measured from the untrained
model never moved; or the gradient norm collapsed while the loss made no progress (a network
that died). The remedy is the data, labels and initialisation and an LR range test, not a decay.
"""

from __future__ import annotations

import numpy as np

from . import wording as w
from .findings import Finding, Mode, Remedy
from .lr_advice import lower_lr
from .signals import L0_POINTS, NORMAL_MAD, Signals
from .thresholds import LEVEL_WINDOW, MIN_CURVE_POINTS, MIN_STUCK_POINTS

# Stuck: a run whose whole progress is within a few noise units never learned; whatever
# the schedule, it sits on a plateau at its initial loss. Progress is counted from the
# median of the points in the first STUCK_START of the run's steps (or L0, if lower), so a
# few wild first batches (above the chance level the model then sits at) are outvoted.
STUCK_NOISE = 3.0
STUCK_START = 0.01
# ...and it never got far below that start even at its best (the lowest rolling median):
# a run that fell well below its start and bounced back up learned and lost it again (an
# LR too high: `oscillating`), it did not sit at its initial level.
STUCK_BEST_NOISE = 2.5
# Never learned, seen through a metric: a loss can fall a little in the first steps while the
# model only learns the label frequencies (its accuracy stays at chance). A metric logged from
# the run's first METRIC_FIRST_FRAC (so it saw the untrained model) at MIN_STUCK_POINTS or more
# evaluations whose last METRIC_END_SHARE sits within METRIC_STUCK_NOISE noise units (its
# eval-to-eval spread) of its first, with a loss that is flat after its first PRIOR_SHARE
# (see PRIOR_LATE_SHARE), never learned the task.
METRIC_FIRST_FRAC = 0.05
METRIC_END_SHARE = 0.1
METRIC_STUCK_NOISE = 2.0
PRIOR_SHARE = 0.05
# ...and at its first evaluation the loss had made at most this share of its fall (the metric
# then measured the untrained model, not one that learned the task in its first steps).
METRIC_UNTRAINED = 0.5
# "Flat after": from there on the loss never gets lower than its settled level by more than a
# tenth of its whole fall (or its noise): the fall belongs to the first steps.
PRIOR_LATE_SHARE = 0.1
# A network that died: its gradient norm fell to at most DEAD_GRAD_RATIO of its early level
# (median of its first DEAD_EARLY_SHARE against its second half) while the loss, from DEAD_SETTLE of the
# run on, made no progress. Outputs that no longer depend on the input (dead or saturated
# units after a violent start) give nearly the same loss on every batch and almost no
# gradient. A model that converged also ends with a small gradient, but only after learning
# far more than its noise: the whole run may have learned at most DEAD_MAX_LEARNED noise units.
DEAD_GRAD_RATIO = 0.1
DEAD_EARLY_SHARE = 0.05
DEAD_SETTLE = 0.2
DEAD_MAX_LEARNED = 20.0
# ...and at most this share of its starting loss: outputs that no longer depend on the input
# can at best predict the label frequencies, whose loss is most of a chance-level start (a
# character model's unigram entropy is ~70% of its ln(vocabulary) start). A noisy task's
# 20 noise units can be 40% of its loss: a char model that fell 4.75 -> 2.9 nats learned,
# whatever its gradient norm did under a decaying LR.
DEAD_MAX_LEARNED_SHARE = 0.25
# A flat loss with no metric at all confirms itself only at a classifier's chance level ln k
# (k >= 2 classes): within this share of it. A flat loss at any other level (0.156 for a
# detector resumed from its checkpoint) can as well be a run that starts near its floor.
CHANCE_TOLERANCE = 0.03
# The largest chance level considered: ln of ten million classes (beyond any vocabulary), and
# far below where exp overflows (a flat loss of 700,000 is no classifier's chance level).
MAX_CHANCE_LEVEL = float(np.log(1e7))
# A flat loss whose run logs a metric too rarely to confirm it never learned: a tentative call
# (a run resumed near its floor looks the same), the base confidence of a bare threshold.
UNCONFIRMED_CONFIDENCE = 0.5
# Evaluations a metric needs before its trend says anything.
METRIC_MIN_EVALS = 5
# A metric that moves with the step this consistently (|Spearman rank correlation|) is changing
# for real: a model at chance keeps its accuracy/AP bouncing around one level.
METRIC_TREND_CORR = 0.7


def _metric_improves(sig: Signals) -> bool:
    """An evaluation or training metric (accuracy, AP, WER, ...) of the run trends consistently:
    the model is learning even if its loss sits at the level it started from (a run resumed
    from a checkpoint near its floor, a fine-tune)."""
    run = sig.run
    for role in ("val_metric", "train_metric"):
        for tag in run.tags_for(role)[:3]:
            v = run.series(tag)["value"].to_numpy(np.float64)
            v = v[np.isfinite(v)]
            if len(v) < METRIC_MIN_EVALS or np.ptp(v) == 0:
                continue
            ranks = np.argsort(np.argsort(v))
            if abs(float(np.corrcoef(np.arange(len(v)), ranks)[0, 1])) >= METRIC_TREND_CORR:
                return True
    return False


def _metric_never_moved(sig: Signals, start: float) -> tuple[str, float, float] | None:
    """A metric (accuracy, ...) evaluated from the run's first steps that ends where it began:
    ``(tag, first level, last level)``, or None. Its first level is read from the evaluations that
    saw the untrained model (the loss, from ``start``, had not yet made half of its fall), so a
    metric still at that level at the end shows a model that never learned the task; one that rose
    while the loss made its fall (a model that learned in its first steps, then bounced around
    under too high an LR) learned."""
    run, view = sig.run, sig.view
    for role in ("val_metric", "train_metric"):
        for tag in run.tags_for(role)[:3]:
            df = run.series(tag)
            steps, v = df["step"].to_numpy(np.float64), df["value"].to_numpy(np.float64)
            ok = np.isfinite(v)
            steps, v = steps[ok], v[ok]
            if len(v) < MIN_STUCK_POINTS or sig.frac_of(steps[0]) > METRIC_FIRST_FRAC:
                continue
            # The loss's share of its fall made by each evaluation: the first level is the metric of the
            # untrained model, so only evaluations made before the loss made half its fall count there.
            made = (start - np.interp(steps, view.steps, view.median)) / max(start - view.best, 1e-12)
            if made[0] > METRIC_UNTRAINED:
                continue  # the model had already learned by its first evaluation
            k = max(L0_POINTS, int(METRIC_END_SHARE * len(v)))
            untrained = min(k, int(np.argmax(made > METRIC_UNTRAINED)) if (made > METRIC_UNTRAINED).any() else k)
            first, last = float(np.median(v[:untrained])), float(np.median(v[-k:]))
            d = np.diff(v)
            noise = float(np.median(np.abs(d - np.median(d)))) / NORMAL_MAD / np.sqrt(2.0)
            if noise > 0 and abs(last - first) <= METRIC_STUCK_NOISE * noise:
                return tag, first, last
    return None


def _loss_start(view) -> float:
    """The level the loss started from: the median of the points in the run's first
    STUCK_START of steps (at least L0's), robust to a few wild batches. Counted in steps: on a
    log kept every 50th step the first three points span 100 steps, in which a healthy run may
    have learned everything."""
    s0, s1 = view.frac_steps(0.0, STUCK_START)
    n0 = max(int(np.searchsorted(view.steps, s1, side="right")), 1)
    return min(view.l0, float(np.median(view.values[:n0])))


def loss_never_moved(view) -> bool:
    """The loss's whole progress is within a few noise units of where it started."""
    start = _loss_start(view)
    return bool(start - view.final <= STUCK_NOISE * view.noise and start - view.best <= STUCK_BEST_NOISE * view.noise)


def chance_classes(level: float) -> int | None:
    """The number of classes k whose chance-level cross-entropy ln k the loss sits at (within
    CHANCE_TOLERANCE), or None: a flat loss at ln 2, ln 4, ln 10 is a classifier guessing."""
    if not np.isfinite(level) or not np.log(2) * (1 - CHANCE_TOLERANCE) <= level <= MAX_CHANCE_LEVEL:
        return None
    k = max(2, int(round(np.exp(level))))
    return k if abs(level - np.log(k)) <= CHANCE_TOLERANCE * np.log(k) else None


def _any_metric(sig: Signals) -> bool:
    """Whether the run logs any evaluation or training metric with a finite value."""
    run = sig.run
    return any(np.isfinite(run.series(tag)["value"].to_numpy(np.float64)).any()
               for role in ("val_metric", "train_metric") for tag in run.tags_for(role)[:3])


def _too_few_evaluations(sig: Signals) -> tuple[str, int] | None:
    """``(tag, evaluations)`` when the run logs an evaluation metric, but every one at fewer than
    METRIC_MIN_EVALS evaluations; else None. Such a metric can neither show a model at chance nor
    one resumed near its floor (both have a flat loss), so a flat loss alone is not called
    "never learned" there: the finding says the loss did not move and that it is unconfirmed."""
    run = sig.run
    counts = [(tag, int(np.isfinite(run.series(tag)["value"].to_numpy(np.float64)).sum()))
              for role in ("val_metric", "train_metric") for tag in run.tags_for(role)[:3]]
    counts = [(t, n) for t, n in counts if n > 0]
    if not counts or max(n for _, n in counts) >= METRIC_MIN_EVALS:
        return None
    return max(counts, key=lambda c: c[1])


def _gradient_died(sig: Signals, start: float) -> tuple[float, float] | None:
    """``(early, late)`` gradient norms of a network that died (see DEAD_GRAD_RATIO), or None."""
    view, grad = sig.view, sig.grad
    if grad is None or view.noise <= 0:
        return None
    g = grad.values[grad.finite]
    if len(g) < MIN_STUCK_POINTS:
        return None
    early = float(np.median(g[: max(L0_POINTS, int(DEAD_EARLY_SHARE * len(g)))]))
    late = float(np.median(g[len(g) // 2:]))
    if not (early > 0 and late <= DEAD_GRAD_RATIO * early):
        return None
    # What it learned counts from its first logged loss too (the untrained model): a log too sparse
    # to show the first fall (every 50th step) must not hide a model that learned and converged.
    learned = max(start, float(view.values[0])) - view.best
    if learned > DEAD_MAX_LEARNED * view.noise or learned > DEAD_MAX_LEARNED_SHARE * abs(max(start, float(view.values[0]))):
        return None
    settled = view.level_frac(DEAD_SETTLE, DEAD_SETTLE + LEVEL_WINDOW)
    if not (settled - view.final <= STUCK_NOISE * view.noise and settled - view.best <= STUCK_BEST_NOISE * view.noise):
        return None
    return early, late


def detect(sig: Signals) -> Finding | None:
    """The never-learned finding of a run (a critical ``plateau`` with ``stuck``), or None."""
    view = sig.view
    if len(view.values) < MIN_CURVE_POINTS:
        return None
    start = _loss_start(view)
    metric = thin = dead = None
    if loss_never_moved(view):
        thin = _too_few_evaluations(sig)
        if thin is None and not _any_metric(sig) and chance_classes(view.final) is None:
            thin = ("no evaluation metric", 0)
    else:
        # The loss fell at first. If only in its first steps, and a metric evaluated from the start
        # never moved, the fall was the label prior (the class frequencies), not the task.
        metric = _metric_never_moved(sig, start)
        settled = view.level_frac(PRIOR_SHARE, PRIOR_SHARE + LEVEL_WINDOW)
        if metric is not None and not settled - view.best <= max(
                STUCK_BEST_NOISE * view.noise, PRIOR_LATE_SHARE * (start - view.best)):
            metric = None
        if metric is None:
            dead = _gradient_died(sig, start)
            if dead is None:
                return None
    if _metric_improves(sig):
        return None  # a flat loss while the evaluation metric climbs: resumed near its floor, learning
    summary = f"loss never left its initial level: {w.num(view.l0)} -> {w.num(view.final)} over {w.step(sig.span)} steps"
    if metric is not None:
        tag, first, last = metric
        summary = (
            f"after its first {w.pct(PRIOR_SHARE)} of steps the loss stayed at ~{w.num(view.final)} (from "
            f"{w.num(view.l0)} at the start) for {w.step(sig.span)} steps while {tag} stayed at its first level "
            f"({w.num(first)} -> {w.num(last)}): the model never learned the task (a first fall is the label "
            "frequencies or the first batches' noise)"
        )
    if dead is not None:
        summary = (
            f"the gradient norm fell to {w.pct(dead[1] / dead[0])} of its early level ({w.num(dead[0])} -> "
            f"{w.num(dead[1])}) while the loss, after its first {w.pct(DEAD_SETTLE)} of steps, stayed at "
            f"~{w.num(view.final)} (from {w.num(view.l0)}) for {w.step(sig.span)} steps: the network stopped "
            "responding to its inputs (dead or saturated units) and never learned"
        )
    ev = {
        "plateau_start_step": sig.first_step,
        "decay_would_pay_step": None,
        "plateau_level": view.final,
        "initial_loss": view.l0,
        "stuck": True,
        "metric_never_moved": None if metric is None else {"tag": metric[0], "first": metric[1], "last": metric[2]},
        "gradient_died": None if dead is None else {"early": dead[0], "late": dead[1]},
        "summary": summary,
    }
    rec = (
        f"the model is not learning (the loss stayed at ~{w.num(view.final)} for {w.step(sig.span)} steps): check "
        "the data, labels, loss and initialisation, then bracket the LR with an LR range test "
        "(it may be far too low or too high); decaying it will not help"
    )
    advice = None
    if dead is not None:
        # It died in its violent start: the edge of stability is at or below the LR it started at,
        # and the base margin below that edge is the LR to try (nothing was learned to undo).
        advice = lower_lr(sig, 0.0)
        lower = (f"lower the LR to ~{w.lr(advice.lr)} ({advice.reason}) and warm up to it" if advice is not None
                 else "lower the LR and warm up to it")
        rec = (
            f"the network died (its gradient norm fell to {w.pct(dead[1] / dead[0])} of its early level while the "
            f"loss stayed at ~{w.num(view.final)}): {lower}, check the initialisation, "
            "then bracket the LR with an LR range test; decaying it will not help"
        )
    if thin is not None:
        tag, n = thin
        ev["confirmed"] = False
        why = (f"{tag} has only {n} evaluation{'s' if n != 1 else ''}, too few" if n else
               f"no evaluation metric is logged and {w.num(view.final)} is no classifier's chance level (ln k), "
               "so nothing can")
        ev["summary"] = (
            f"loss did not move from its first level ({w.num(view.l0)} -> {w.num(view.final)}) over "
            f"{w.step(sig.span)} steps; {why} tell a model that never learned from one resumed near its floor"
        )
        rec = (
            f"if this run started from a trained checkpoint, these {w.step(sig.span)} steps bought nothing at this "
            "LR: stop or change it; if it started from scratch, the model is not learning: check the data, "
            "labels, loss and initialisation, then bracket the LR with an LR range test"
        )
        return Finding(Mode.PLATEAU, "warning", UNCONFIRMED_CONFIDENCE, sig.first_step, sig.last_step,
                       w.clean(ev), rec, sig.loss.tag, remedy=Remedy.SETUP,
                       waste_unknown="the analyzer gives no step where decay would have paid")
    out = Finding(Mode.PLATEAU, "critical", 0.8, sig.first_step, sig.last_step, w.clean(ev), rec, sig.loss.tag,
                  remedy=Remedy.SETUP, waste_unknown="the analyzer gives no step where decay would have paid")
    if advice is not None:
        out.advise(advice.lr, advice.basis)
    return out
