"""``lr_too_low``: progress far slower than the LR could allow; still falling steadily at the end."""

from __future__ import annotations

import numpy as np

from . import wording as w
from .findings import Finding, Mode
from .forecast import Forecast, forecast_loss
from .lr_advice import optimizer_family, raise_lr
from .signals import MEDIAN_SE, NOISE_WINDOW_POINTS, Signals, point_noise, theil_sen
from .spikes import MIN_SPIKES, spike_events
from .thresholds import LEVEL_WINDOW, NO_LR_CONFIDENCE

# Still falling at the end: the last quarter gains at least this share of the run's
# dynamic range (L0 - its floor)...
LAST_QUARTER_DROP = 0.015
# ...and the last 40% of steps make at least this share of the run's progress (a healthy
# run makes most of its progress early and only polishes at the end).
LATE_SHARE = 0.08
# The curve is near-linear rather than saturating: a well-tuned LR makes most of the
# progress early (>= ~80% in the first fifth); a too-low LR spreads it along the run. The
# cut sits at that 80%: a first fast phase that any LR gets (e.g. a char model learning
# letter frequencies) can put 70-75% of a too-low run's progress in its first fifth.
EARLY_SHARE_MAX = 0.8
# Without a logged LR nothing says the LR is constant (a decaying schedule also keeps a
# run falling) and epoch-averaged logs understate L0: ask for a clearly linear curve.
EARLY_SHARE_MAX_NO_LR = 0.5
# A run whose LR was decayed is limited by its schedule, not by its peak LR: the LR at
# the end must still be at least this share of the peak.
LR_END_MIN = 0.5
# The time-rescaling argument (a k-times larger LR travels the same curve k times faster) holds
# for a run that trained at its LR: one whose LR reached WARMED of its peak only after WARMED_BY
# of its steps was still warming up (a 300-iteration detectron2 demo whose warmup spans the whole
# run): a loss still falling there is the warmup's, and says nothing of the peak LR.
WARMED = 0.9
WARMED_BY = 0.6
# A run whose validation loss stopped improving is limited by generalisation, not by the
# pace of its LR (the training loss still falls because it keeps fitting the training set):
# with enough evaluations late in the run, the validation loss over its last 40% must still
# gain at least this share of its own progress (first evaluation -> best).
VAL_LATE_MIN_SHARE = 0.05
VAL_LATE_MIN_POINTS = 5
# Standard errors of the evaluations' noise taken off their late gain before it counts.
VAL_SE = 1.0
# A training trend is "uncertain" when its standard error is at least this share of the bar it
# is held to (40 points of a char model's tail: ~55%; 400 points of a clean run: ~5%).
UNSURE_SHARE = 0.25
# The late fall is statistically clear when the 95% interval of the training loss's late
# slope stays below zero; a sparse log (20 points in the last 40%) may leave that interval
# straddling zero while the run is plainly still learning. The evaluations, logged on their
# own schedule and far less noisy than minibatches, then settle it: a falling training
# slope with the validation loss still gaining at least this share of its progress over
# the last 40% is a run still falling too.
VAL_STILL_FALLING = 0.1

# The late slope's 95% interval needs this many points in the last 40%.
MIN_LATE_POINTS = 5

# Steps saved by a higher LR are only claimed while the fitted curve is far from its floor:
# doubling the run must still buy this share of the achievable progress (else a higher LR
# buys little and nothing is claimed).
MIN_GAIN_IF_DOUBLED = 0.05
# "Train longer" rather than "raise the LR": the fitted curve has already made this share of
# its achievable progress (it bends toward its floor: converging, a plateau is near).
NEAR_FLOOR_PROGRESS = 0.85
# "Within reach of the floor": this share of the achievable progress left.
FLOOR_MARGIN = 0.05


def warming_until(sig: Signals) -> int | None:
    """The step the LR first reached WARMED of its peak, when that is after WARMED_BY of the run
    (the run spent most of its steps warming up); else None."""
    lr = sig.lr
    if lr is None or not sig.lr_peak:
        return None
    fin = lr.finite
    reached = lr.values[fin] >= WARMED * sig.lr_peak
    at = int(lr.steps[fin][int(np.argmax(reached))])
    return at if sig.frac_of(at) > WARMED_BY else None


def val_late_share(sig: Signals) -> tuple[float, float] | None:
    """``(share, standard error)``: the share of the validation loss's progress made over the
    last 40% of the run, and the error its evaluation-to-evaluation noise puts on it (None when
    there are too few evaluations to tell)."""
    if sig.val is None or sig.loss_is_val:
        return None
    fin = sig.val.finite
    steps, vals = sig.val.steps[fin], sig.val.values[fin]
    late = steps >= sig.step_at_frac(0.6)
    if late.sum() < VAL_LATE_MIN_POINTS or (~late).sum() < 2:
        return None
    half = max(2, int(late.sum()) // 2)
    before = float(np.median(vals[~late][-half:]))  # level just before the last 40%
    end = float(np.median(vals[-half:]))
    progress = float(vals[0]) - float(np.min(vals))
    if progress <= 0:
        return 0.0, 0.0
    n_before = min(half, int((~late).sum()))
    se = MEDIAN_SE * point_noise(vals, NOISE_WINDOW_POINTS) * np.sqrt(1 / n_before + 1 / half)
    return (before - end) / progress, se / progress


def steps_to_level(fc: Forecast, level: float) -> float | None:
    """The step at which the fitted curve reaches ``level`` (None if it never does)."""
    if not fc.ok or fc.amplitude is None or fc.amplitude <= 0 or level <= fc.l_inf:
        return None
    return float(((level - fc.l_inf) / fc.amplitude) ** (-1.0 / fc.alpha) - fc.t0)


def steps_saved(fc: Forecast, final_loss: float, first_step: int, last_step: int, speedup: float) -> int | None:
    """Steps a ``speedup``-times larger LR would save to reach this run's final loss.

    Method: in the slow, stable regime a k-times larger LR travels the same loss curve about
    k times faster (time rescaling of gradient flow: L_k(t) ~ L(k t)). The fitted power law
    gives t*, the step at which this run's pace reaches its final loss; a run at k x the LR
    (the calibrated factor of the advice) gets there at t* / k, saving t* (1 - 1 / k). Only
    claimed while the forecast is trusted and the curve is still far from its floor.
    """
    if not fc.ok or fc.gain_if_doubled is None or fc.gain_if_doubled < MIN_GAIN_IF_DOUBLED:
        return None
    t_star = steps_to_level(fc, final_loss)
    if t_star is None or not np.isfinite(t_star):
        return None
    # Never more than the run itself took; and counted from t*, not from the last step, so
    # steps the fit says bought nothing are not claimed either.
    t_star = min(max(t_star, float(first_step)), float(last_step))
    saved = int((t_star - first_step) * (1.0 - 1.0 / max(speedup, 1.0)))
    return saved if saved > 0 else None


def steps_saved_at(finding: Finding, speedup: float) -> int | None:
    """Steps a ``speedup``-times larger LR than this run's would save (:func:`steps_saved` on the
    finding's own fitted forecast and final loss): the saving at another factor than the run's
    own advice, e.g. the LR a sweep of the same setup measured."""
    ev = finding.evidence
    fc = ev.get("forecast") or {}
    first, last = finding.step_start, finding.step_end
    if not fc.get("ok") or ev.get("final_loss") is None or first is None or last is None:
        return None
    return steps_saved(Forecast(**fc), float(ev["final_loss"]), int(first), int(last), speedup)


def saving_clause(factor: float, saved: int) -> str:
    """The recommendation's closing clause stating the steps a ``factor``-times higher LR saves."""
    return f"; a {w.factor(factor)} higher LR would reach this final loss ~{saved:,} steps sooner"


def detect(sig: Signals) -> Finding | None:
    """The lr-too-low finding of a run, or None."""
    return _detect(sig, None)


def unlogged_lr_pace(sig: Signals) -> tuple[float, float] | None:
    """``(late share, early share)`` of the progress of a run that logs no LR curve and whose loss
    still falls at the end as an LR too low's does, but whose first 20% made more of its progress
    than EARLY_SHARE_MAX_NO_LR allows: without the LR, a decaying schedule still converging looks
    the same, so the run says it could not tell. None otherwise (also for a run the detector
    finds at its own bar: coverage.not_checked leaves found modes out)."""
    if sig.lr is not None and sig.lr_peak:
        return None
    found = _detect(sig, EARLY_SHARE_MAX)
    if found is None:
        return None
    return found.evidence["last_40pct_share_of_progress"], found.evidence["first_20pct_share_of_progress"]


def _detect(sig: Signals, early_max: float | None) -> Finding | None:
    """:func:`detect` with the first fifth's largest share of the progress set (None: by whether
    the run logs its LR)."""
    view = sig.view
    if view is None or view.progress <= 0:
        return None
    lr_end = None
    if sig.lr is not None and sig.lr_peak:
        lr_end = float(sig.lr.values[sig.lr.finite][-1])
        if lr_end < LR_END_MIN * sig.lr_peak or warming_until(sig) is not None:
            return None
    h = LEVEL_WINDOW / 2
    scale = view.scale
    l20 = view.level_frac(0.2 - h, 0.2 + h)
    lend = view.level_frac(1.0 - 2 * h, 1.0)
    total = view.l0 - lend
    if not all(np.isfinite([l20, lend])) or total <= 0:
        return None
    # Late drops from a robust trend through the whole stretch (noise-proof), not two windows.
    q_drop, q_se = view.trend(0.75)
    q_drop, q_se = q_drop / scale, q_se / scale
    late_drop, late_se = view.trend(0.6)
    late_share = late_drop / total
    early_share = (view.l0 - l20) / total
    if early_max is None:
        early_max = EARLY_SHARE_MAX if lr_end is not None else EARLY_SHARE_MAX_NO_LR
    val = val_late_share(sig)
    # What the evaluations surely show: their late gain less one standard error of their noise
    # (a noisy test loss bouncing around a level it reached early is no loss still improving).
    val_share = None if val is None else val[0]
    val_sure = None if val is None else val[0] - VAL_SE * val[1]
    if val_sure is not None and val_sure < VAL_LATE_MIN_SHARE:
        return None
    # The late drops are the training loss's estimates; on a sparse log their trends are
    # uncertain (a standard error of at least UNSURE_SHARE of the bar), and evaluations that
    # surely still gain VAL_STILL_FALLING settle a drop within one standard error of its bar (the
    # training trend does not contradict them). A dense log's trend decides alone.
    val_falls = val_sure is not None and val_sure >= VAL_STILL_FALLING

    def clears(value: float, se: float, bar: float) -> bool:
        return value >= bar or val_falls and se >= UNSURE_SHARE * bar and value + se >= bar

    if not (clears(q_drop, q_se, LAST_QUARTER_DROP) and clears(late_share, late_se / total, LATE_SHARE)
            and early_share <= early_max):
        return None
    sel = view.steps >= sig.step_at_frac(0.6)
    if sel.sum() < MIN_LATE_POINTS:
        return None
    slope, _, lo, hi = theil_sen(view.steps[sel], view.values[sel])
    # the late fall must be statistically clear, from the training loss or the evaluations
    if not (hi < 0 or slope < 0 and val_falls):
        return None
    fc = forecast_loss(view.steps, view.values)
    # Repeated spikes in the slow run cap how far the LR may rise; a lone excursion is
    # minibatch luck (the spikes detector's own count for an instability).
    events = spike_events(view.steps, view.values, view.zero, view.scale, view.noise)
    unstable = len(events) >= MIN_SPIKES
    advice = raise_lr(sig, fc, lr_end, unstable, optimizer_family(sig))
    factor = advice.factor
    saved = steps_saved(fc, lend, sig.first_step, sig.last_step, factor)
    near_floor = fc.ok and fc.progress_fraction is not None and fc.progress_fraction >= NEAR_FLOOR_PROGRESS
    ev = {
        "last_quarter_drop_over_l0": q_drop,
        "last_40pct_share_of_progress": late_share,
        "first_20pct_share_of_progress": early_share,
        "late_slope_per_1k_steps": slope * 1000,
        "final_loss": lend,
        "initial_loss": view.l0,
        "lr_end": lr_end,
        "lr_factor": factor,  # how much higher the LR should be
        "lr_factor_reason": advice.reason,
        "val_last_40pct_share_of_progress": val_share,
        "steps_saved_estimate": saved,
        "forecast": fc.to_dict() if fc.ok else {"ok": False, "reason": fc.reason},
        "summary": (
            f"loss still falling steadily at the end ({w.num(slope * 1000)} per 1k steps; the last 40% of "
            f"steps made {w.pct(late_share)} of the progress, the first 20% only {w.pct(early_share)})"
            + (f" at a constant LR of {w.lr(lr_end)}" if lr_end is not None else "")
        ),
    }
    if lr_end is not None:
        rec = (f"raise the LR ~{w.factor(factor)} to ~{w.lr(advice.lr)} (or run an LR range test); "
               f"why {w.factor(factor)}: {advice.reason}")
    else:
        rec = f"raise the LR ~{w.factor(factor)} (or run an LR range test)"
    if near_floor:
        # Converging: the fitted curve bends toward its floor, so more steps at this LR pay off.
        # Achievable progress = (L_now - L_inf) / (1 - progress made); aim within FLOOR_MARGIN of it.
        gap = (fc.loss_now - fc.l_inf) / max(1.0 - fc.progress_fraction, 1e-9)
        reach = steps_to_level(fc, fc.l_inf + FLOOR_MARGIN * gap)
        more = "more steps"
        if reach and reach > sig.last_step:
            more = f"~{int(reach - sig.last_step):,} more steps"
        rec = (f"train longer: the loss is converging toward ~{w.num(fc.l_inf)} "
               f"({w.pct(fc.progress_fraction)} of the fitted progress made); {more} get close to it, or "
               + rec)
    elif saved is not None:
        rec += saving_clause(factor, saved)
    conf = float(np.clip(0.55 + 0.6 * (early_max - early_share) + late_share, 0, 0.95))
    if lr_end is None:
        conf *= NO_LR_CONFIDENCE  # the LR itself was not seen
    out = Finding(
        Mode.LR_TOO_LOW, "warning", conf, sig.first_step, sig.last_step, w.clean(ev), rec, sig.loss.tag,
        # the last ``saved`` steps are what a better LR would not have needed
        waste_from_step=None if saved is None else int(sig.run_last_step - saved + 1),
        waste_unknown=None if saved is not None else
        "can't be estimated: no sweep or forecast says how many steps a better LR saves",
    )
    if lr_end is not None:
        out.advise(advice.lr, advice.basis)
    return out
