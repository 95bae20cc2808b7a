"""``plateau``: loss flat for a long stretch under a constant LR, where decaying would help.

A run that never learned is a plateau at its initial level too (:mod:`.never_learned`), found first."""

from __future__ import annotations

import numpy as np

from . import lr_too_low, never_learned, oscillation
from . import wording as w
from .findings import Finding, LRBasis, Mode
from .signals import Signals, point_noise
from .thresholds import LEVEL_WINDOW

# Constant LR over the tail: the LR in the last 40% stays above this share of the peak.
CONSTANT_LR = 0.9
TAIL = 0.4
# Flat: the last 40% of steps make at most this share of the run's progress (40% of the
# compute buying under a twelfth of the gains; a run still learning makes well over 10%).
FLAT_SHARE = 0.08
# Standard errors of the late trend added before comparing with FLAT_SHARE.
FLAT_SE = 1.0
# A sparse training log's late trend may be too uncertain to call flat or falling (12 single-batch
# points in the last 40%: 2% +/- 8%, or 9% +/- 5%, of the progress). The evaluations, logged on
# their own schedule over the whole validation set with no minibatch noise, measure the same
# model's progress: when the training trend is within FLAT_SE standard errors of flat and the
# evaluations' last 40% gained at most FLAT_SHARE of their progress with FLAT_SE standard errors
# on top, the model stopped improving: a plateau.
# Calm: a plateau is a floor, not bouncing (that is `oscillating`): 2nd-half roughness
# (std / dynamic range in sub-windows) at most this. In range units a high-entropy task's
# calm floor (a char LM learns only about half of L0) measures up to ~0.1.
MAX_ROUGHNESS = 0.12
# Something left to gain: a run whose minibatch losses at the end are all the same (noise
# under 0.5% of what it learned) has converged completely (memorised data: the loss sits
# on its exact floor, where it has no spread); decaying cannot gain anything there. A
# spread, not a level, so it holds for loss + c too.
MIN_END_NOISE = 0.005
# When a decay started at the plateau would have paid off: after the LR starts to fall the
# loss relaxes to its new, lower noise floor on the time scale the run took to reach the
# plateau in the first place (this many times that time). Steps before are not waste.
RELAX_TIMES = 1.0


def _end_noise(view) -> float:
    """Per-step noise over the last 10% of the run (MAD around its rolling median)."""
    s0, s1 = float(view.steps[0]), float(view.steps[-1])
    vals = view.values[view.steps >= s1 - 0.1 * (s1 - s0)]
    return point_noise(vals, view.window) * view.noise_scale


def _constant_lr_tail(sig: Signals) -> np.ndarray | None:
    """The LR points of the last TAIL of the run when the LR there stayed constant, else None."""
    lr = sig.lr
    if sig.view is None or lr is None or not sig.lr_peak:
        return None
    tail = lr.finite & (lr.steps >= sig.step_at_frac(1 - TAIL))
    if not tail.any() or lr.values[tail].min() < CONSTANT_LR * sig.lr_peak:
        return None
    return tail


def _late_trend(sig: Signals) -> tuple[float, float, float] | None:
    """``(level at the end, share of the progress the last TAIL made, its standard error)`` of a
    run whose loss learned something and still has minibatch spread at the end; else None.

    Late progress from a robust trend through the whole tail (noise-proof; the same measure as
    lr_too_low's, so "flat" and "still falling" cannot both hold)."""
    view = sig.view
    h = LEVEL_WINDOW / 2
    lend = view.level_frac(1 - 2 * h, 1.0)
    total = view.l0 - lend
    if total <= 0 or _end_noise(view) < MIN_END_NOISE * view.scale:
        return None
    late_drop, late_drop_se = view.trend(1 - TAIL)
    return lend, late_drop / total, late_drop_se / total


def _val_confirms_flat(sig: Signals, late_share: float, late_se: float) -> tuple[float, float, int] | None:
    """``(share, standard error, evaluations)`` of the validation loss's progress over the last
    TAIL of a run whose training loss may be flat (``late_share`` within FLAT_SE of its standard
    error ``late_se`` of FLAT_SHARE), when the evaluations confirm it (see FLAT_SE); else None."""
    if late_share - FLAT_SE * late_se > FLAT_SHARE:
        return None
    val = lr_too_low.val_late_share(sig)
    if val is None or val[0] + FLAT_SE * val[1] > FLAT_SHARE:
        return None
    # ...and calm: evaluations that jump from one to the next (an LR too high kicking the weights
    # about a level) confirm a flat tail, not a plateau where decaying pays.
    jumps = oscillation.val_bounce(sig)
    if jumps is not None and jumps >= oscillation.VAL_BOUNCE:
        return None
    n = int(np.count_nonzero(sig.val.finite & (sig.val.steps >= sig.step_at_frac(1 - TAIL))))
    return val[0], val[1], n


def undecided(sig: Signals) -> tuple[float, float] | None:
    """``(share, standard error)`` of a constant-LR tail that is flat by its estimate but whose
    trend is too uncertain to call flat (a sparse, noisy log); else None. Said as not checked,
    unless a plateau was found anyway (coverage.not_checked leaves found modes out, the run that
    never learned among them)."""
    if _constant_lr_tail(sig) is None:
        return None
    trend = _late_trend(sig)
    if trend is None or not np.isfinite(trend[2]):
        return None
    _, share, se = trend
    if sig.view.roughness(0.5, 1.0) > MAX_ROUGHNESS:
        return None  # too rough for a plateau, whatever the trend
    if not share <= FLAT_SHARE < share + FLAT_SE * se or _val_confirms_flat(sig, share, se) is not None:
        return None
    return share, se


def detect(sig: Signals) -> Finding | None:
    """The plateau finding of a run, or None."""
    view = sig.view
    if view is None:
        return None
    stuck = never_learned.detect(sig)
    if stuck is not None:
        return stuck
    tail = _constant_lr_tail(sig)
    if tail is None:
        return None
    lr = sig.lr
    trend = _late_trend(sig)
    if trend is None:
        return None
    # Flat with confidence: a sparse log's trend is uncertain, and a fall it cannot rule out is
    # no plateau (one standard error of the trend on top of its estimate; see undecided).
    lend, late_share, late_se = trend
    total = view.l0 - lend
    rough = view.roughness(0.5, 1.0)
    if not rough <= MAX_ROUGHNESS:
        return None
    val = None
    if not late_share + FLAT_SE * late_se <= FLAT_SHARE:
        val = _val_confirms_flat(sig, late_share, late_se)
        if val is None:
            return None
    # Where the plateau starts: from there on the smoothed loss stays within the flat band.
    band = lend + FLAT_SHARE * total
    inside = view.smoothed <= band
    stays = np.minimum.accumulate(inside[::-1])[::-1]
    start = int(view.steps[int(np.argmax(stays))]) if stays.any() else int(sig.step_at_frac(1 - TAIL))
    remaining = sig.last_step - start
    lr_now = float(lr.values[tail][-1])
    pays = int(min(start + RELAX_TIMES * (start - sig.first_step), sig.last_step))
    ev = {
        "plateau_start_step": start,
        "decay_would_pay_step": pays,
        "plateau_level": lend,
        "last_40pct_share_of_progress": late_share,
        "roughness": rough,
        "lr": lr_now,
        "summary": (
            f"loss flat at ~{w.num(lend)} from step {w.step(start)} ({w.pct(1 - sig.frac_of(start))} of the run) "
            f"under a constant LR of {w.lr(lr_now)}: the last 40% of steps made {w.pct(max(late_share, 0))} "
            "of the progress"
        ),
    }
    if val is not None:
        n_tail = int(np.count_nonzero(view.steps >= sig.step_at_frac(1 - TAIL)))
        ev["last_40pct_share_of_progress_standard_error"] = late_se
        ev["val_last_40pct_share_of_progress"] = val[0]
        ev["summary"] += (f" (+/- {w.pct(late_se)} on {n_tail} loss points; its {val[2]} evaluations there confirm it: "
                          f"{w.pct(max(val[0], 0))} +/- {w.pct(val[1])} of theirs)")
    waste = (f"so the {w.steps_short(sig.last_step - pays)} steps after that are the waste" if pays < sig.last_step
             else "the run's end: no steps are wasted yet, but every step longer at this LR would be")
    rec = (
        f"decay: cosine from {w.lr(lr_now)} to {w.lr(lr_now / 100)} over the remaining "
        f"{w.steps_short(remaining)} steps from step {w.step(start)}; it would have paid off by step "
        f"{w.step(pays)} (the loss relaxes to a lower floor in about the time it took to reach this one), {waste}"
    )
    conf = float(np.clip(0.6 + 4 * (FLAT_SHARE - max(late_share, 0)), 0, 0.9))
    # A decay would have paid off by ``pays``: the steps after it are the waste.
    out = Finding(Mode.PLATEAU, "warning", conf, start, sig.last_step, w.clean(ev), rec, sig.loss.tag,
                  waste_from_step=pays + 1)
    out.advise(sig.lr_peak, LRBasis.SAME_LR_DECAYED)  # the peak was fine: decay it
    return out
