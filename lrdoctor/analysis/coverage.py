"""What the analysis could not check on a run, and why (never a silent "healthy").

A detector that lacks what it needs (the LR curve, enough evaluations, points dense enough
to see its symptom) says nothing; this module says so instead, in one place, from the
detectors' own constants. Its answer travels as ``RunAnalysis.not_checked`` (JSON key
``not_checked``, an addition to contract v1) and is printed by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import decay, lr_too_low, oscillation, overfitting, plateau, spikes, warmup
from .findings import Mode
from .thresholds import MIN_CURVE_POINTS
from .signals import MIN_TREND_POINTS, Signals
from .configured_lr import configured_lr
from .wording import lr as fmt_lr

# Modes that read the LR curve itself: a constant-LR plateau (where decaying pays) and an
# LR that reached ~0 too early. The "never learned" plateau needs no LR and still runs.
NEEDS_LR_CURVE: tuple[str, ...] = ("plateau", "decayed_too_early")


@dataclass(frozen=True)
class NotChecked:
    """Modes the analysis could not check on a run, and the reason in plain words."""

    modes: tuple[str, ...]
    reason: str

    def to_dict(self) -> dict:
        """The JSON form (``not_checked`` entries)."""
        return {"modes": list(self.modes), "reason": self.reason}

    def sentence(self) -> str:
        """One line for text output."""
        names = " and ".join(m.replace("_", " ") for m in self.modes)
        return f"{names}: {self.reason}"


def _median_interval(steps: np.ndarray) -> float:
    return float(np.median(np.diff(steps))) if len(steps) > 1 else float("inf")


def not_checked(sig: Signals, found: set[str] | frozenset[str] = frozenset()) -> list[NotChecked]:
    """Every check the run's logs do not allow, with why; modes in ``found`` were seen anyway
    (a symptom larger than the gap the logs leave) and are not listed, nor is a plateau on a run
    found still falling at the end (``lr_too_low`` settled the late trend)."""
    settled = set(found) | ({Mode.PLATEAU.value} if Mode.LR_TOO_LOW.value in found else set())
    return without_modes(_gaps(sig), tuple(settled))


def _gaps(sig: Signals) -> list[NotChecked]:
    out: list[NotChecked] = []
    if sig.view is None:
        return out
    if sig.lr is None or not sig.lr_peak:
        value, source = configured_lr(sig.run)
        known = (f"; its value {fmt_lr(value)} is known from the run's {source} but not its schedule"
                 if value is not None else "")
        out.append(NotChecked(NEEDS_LR_CURVE, "need the LR curve, which was not logged" + known))
        if (pace := lr_too_low.unlogged_lr_pace(sig)) is not None:
            late, early = pace
            out.append(NotChecked((Mode.LR_TOO_LOW,), f"the loss still falls at the end (the last 40% of steps made "
                                                      f"{late:.0%} of the progress), but the first 20% made {early:.0%}: "
                                                      "without the LR curve, nothing tells an LR too low from a "
                                                      "decaying schedule still converging"))
    # Spikes: enough points inside the shortest spike to tell it from one bad batch.
    interval = _median_interval(sig.view.steps)
    spacing = (f"the export averages the loss over buckets of {interval:,.0f} steps" if sig.loss.averaged > 1
               else f"the loss is logged every {interval:,.0f} steps")
    if not sig.loss.has_band and not spikes.resolved(interval):
        out.append(NotChecked(("spikes",), f"{spacing}; a spike over within {spikes.SHORT_SPIKE_STEPS} steps "
                                           "cannot be told from one bad batch"))
    # No warmup: points dense enough to see a short climb, and enough of them in the early window.
    end = warmup.early_window_end(sig)
    n_early = int(np.count_nonzero(sig.view.steps <= end))
    if not warmup.resolved(interval):
        out.append(NotChecked(("no_warmup",), f"{spacing}; an early climb over within "
                                              f"{warmup.SHORT_CLIMB_STEPS} steps falls between two points"))
    elif n_early < warmup.MIN_EARLY_POINTS:
        out.append(NotChecked(("no_warmup",), f"only {n_early} loss points in the first "
                                              f"{end - sig.first_step:,.0f} steps, too few to see an early climb"))
    # Shapes late in the run: a bounce or a trend needs points where it is looked for.
    n_half = int(np.count_nonzero(sig.view.steps >= sig.step_at_frac(0.5)))
    if n_half < oscillation.MIN_HALF_POINTS:
        out.append(NotChecked(("oscillating",), f"only {n_half} loss points in the 2nd half of the run, too few "
                                                "to tell a bounce from noise"))
    n_tail = int(np.count_nonzero(sig.view.steps >= sig.step_at_frac(1 - plateau.TAIL)))
    late = [m for m, need in ((Mode.LR_TOO_LOW, lr_too_low.MIN_LATE_POINTS),
                              (Mode.PLATEAU, MIN_CURVE_POINTS if sig.lr_peak else 0)) if n_tail < need]
    if Mode.LR_TOO_LOW not in late and (warm := lr_too_low.warming_until(sig)) is not None:
        out.append(NotChecked((Mode.LR_TOO_LOW,), f"the LR reached {lr_too_low.WARMED:.0%} of its peak only at step "
                                                  f"{warm:,} ({sig.frac_of(warm):.0%} of the run): the run was still "
                                                  "warming up, so its pace says nothing of the peak LR"))
    if late:
        out.append(NotChecked(tuple(late), f"only {n_tail} loss points in the last {plateau.TAIL:.0%} of the run, "
                                           "too few to tell a loss still falling from a flat one"))
    if not late and (flat := plateau.undecided(sig)) is not None:
        share, se = flat
        out.append(NotChecked(("plateau",), f"the last {plateau.TAIL:.0%} of the run made {share:.0%} of the progress "
                                            f"+/- {se:.0%} ({n_tail} loss points): too uncertain to tell a flat loss "
                                            "from one still falling"))
    # Decayed too early: the LR vanished early, but too few loss points before it to tell
    # whether the loss was still falling then.
    gone = decay.vanish_step(sig)
    if gone is not None and (n_before := decay.points_before(sig, gone)) < MIN_TREND_POINTS:
        out.append(NotChecked(("decayed_too_early",), f"the LR fell below {decay.NEAR_ZERO:.0%} of its peak at step "
                                                      f"{gone:,} with only {n_before} loss points logged before it, too "
                                                      "few to tell whether the loss was still falling"))
    # Overfitting: enough evaluations to see a minimum and a rise after it.
    if (rose := overfitting.undecided(sig)) is not None:
        best, n = rose
        out.append(NotChecked(("overfitting",), f"the validation loss rose for good after its best at step {best:,}, "
                                                f"but only {n} training loss points lie around that step, too few to "
                                                "tell a training loss still falling (overfitting) from one the same "
                                                "instability lifted"))
    if sig.loss_is_val:
        out.append(NotChecked(("overfitting",), "no training loss to compare the validation loss with"))
    elif sig.val is not None:
        n_val = int(np.count_nonzero(sig.val.finite))
        if n_val < overfitting.MIN_VAL_POINTS:
            out.append(NotChecked(("overfitting",), f"only {n_val} evaluations of the validation loss"))
    return out


def without_modes(entries: list[NotChecked], modes: tuple[str, ...]) -> list[NotChecked]:
    """``entries`` with ``modes`` taken out (an entry left with no mode is dropped): for modes a
    finding already settled (a run that never learned has no plateau where decaying pays)."""
    out = []
    for nc in entries:
        kept = tuple(m for m in nc.modes if m not in modes)
        if kept:
            out.append(NotChecked(kept, nc.reason))
    return out
