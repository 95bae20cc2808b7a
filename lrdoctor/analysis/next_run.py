"""One plan per run: the LR, warmup, schedule and length to use next, and what it saves.

Built from the run's findings after any sweep or range test of the same setup has had its
say (``context``): the peak LR is the run's suggested LR (or its own peak when nothing
calls for a change), warmup and schedule follow from what went wrong, the length stops
where continuing stopped paying (the best validation point of an overfitting run), and
the saving is the compute the findings say was wasted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import wording as w
from .configured_lr import configured_lr
from .context import SAME_LR
from .findings import Finding, LRBasis, Mode, Remedy, RunAnalysis
from .run_analysis import lr_driver

# A warmup over the first 5% of the steps: long enough to let the early sharpness settle
# below the edge (the usual 2-10% of the run), short enough to cost little.
WARMUP_SHARE = 0.05
# Decay to 1% of the peak: the end LR of the usual cosine recipes.
FINAL_LR_SHARE = 0.01
# Modes that call for a warmup in the next run (an early or LR-driven instability).
NEEDS_WARMUP = ("diverged", "spikes", "no_warmup", "oscillating")
# Modes whose fix is a decaying schedule over the whole length.
NEEDS_DECAY = ("plateau", "decayed_too_early", "oscillating", "spikes")
# What a run that never trained must check before its LR means anything (Remedy.SETUP).
SETUP_CHECKS = ("the loss did not move: check the data, labels, loss and initialisation first (no schedule or "
                "length fixes a model that does not learn)")
NO_LR_FROM_A_RUN_THAT_DID_NOT_TRAIN = ("a run that never trained cannot say how far off its LR is: the range test "
                                       "brackets it")
# How far each basis of the peak LR is trusted (the plan's confidence is the driving
# finding's confidence times this): a sweep measured the answer, a range test nearly so,
# the edge of stability seen in one run brackets it, a forecast extrapolates.
BASIS_TRUST = {
    LRBasis.SWEEP.value: 0.95,
    LRBasis.RANGE_TEST.value: 0.85,
    LRBasis.EDGE_OF_STABILITY.value: 0.75,
    LRBasis.SAME_LR_DECAYED.value: 0.8,
    LRBasis.LOSS_FORECAST.value: 0.6,
    # the configured LR is known, the change is the finding's rule of thumb (no curve measured it)
    LRBasis.CONFIGURED_LR.value: 0.5,
    "unchanged": 0.9,
}


@dataclass
class NextRun:
    """The plan for the next run of this setup."""

    peak_lr: float | None
    peak_lr_basis: str  # an LRBasis value, or "unchanged"
    peak_lr_reason: str
    warmup_steps: int
    schedule: str  # the shape: "cosine" (to FINAL_LR_SHARE of the peak), or the run's own kind (kept)
    schedule_steps: int  # the length the schedule spans
    stop_step: int  # where to stop
    saving_steps: int | None  # steps the plan saves against this run
    confidence: float
    changes: list[str] = field(default_factory=list)  # what differs from this run, one line each
    remedy: str = Remedy.SCHEDULE.value  # a Remedy value: what the plan changes first

    def summary(self) -> str:
        """One line: the plan as a sentence."""
        lr = "?" if self.peak_lr is None else w.lr(self.peak_lr)
        warm = f"{self.warmup_steps:,} warmup steps, " if self.warmup_steps else "no warmup, "
        if self.remedy == Remedy.SETUP.value:
            around = "" if self.peak_lr is None else f" around {lr}"
            warm = f" with {self.warmup_steps:,} warmup steps" if self.warmup_steps else ""
            return (f"check the data, labels, loss and initialisation, then an LR range test{around}, before "
                    f"another {self.schedule_steps:,}-step run{warm}")
        out = f"peak LR {lr}, {warm}{self.schedule} over {self.schedule_steps:,} steps, stop at step {self.stop_step:,}"
        if self.saving_steps:
            out += f"; saves ~{self.saving_steps:,} steps"
        return out

    def to_dict(self, usd_per_step: float | None = None, gpu_hours_per_step: float | None = None) -> dict[str, Any]:
        """The JSON ``next_run`` object (money from the run's cost when it has one)."""
        saving = self.saving_steps
        return {
            "peak_lr": self.peak_lr,
            "peak_lr_basis": self.peak_lr_basis,
            "peak_lr_reason": self.peak_lr_reason,
            "warmup_steps": int(self.warmup_steps),
            "schedule": self.schedule,
            "schedule_steps": int(self.schedule_steps),
            "final_lr": None if self.peak_lr is None or self.schedule != "cosine" else self.peak_lr * FINAL_LR_SHARE,
            "stop_step": int(self.stop_step),
            "saving_steps": saving,
            "saving_usd": None if saving is None or usd_per_step is None else saving * usd_per_step,
            "saving_gpu_hours": None if saving is None or gpu_hours_per_step is None else saving * gpu_hours_per_step,
            "confidence": round(float(self.confidence), 3),
            "changes": list(self.changes),
            "remedy": self.remedy,
            "summary": self.summary(),
        }


def _peak_lr(ra: RunAnalysis) -> float | None:
    """The run's peak LR: the logged curve's, else the LR its name, folder or hparams give."""
    arrays = ra.run.role_arrays("lr")
    vals = np.array([]) if arrays is None else arrays[2]
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return float(vals.max()) if len(vals) else configured_lr(ra.run)[0]


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def plan_next_run(ra: RunAnalysis) -> NextRun | None:
    """The plan for a diagnosed training run (None for range tests and undiagnosed runs).

    A run that never trained (a finding whose remedy is the setup: its loss never moved, its
    network died, its loss was never finite) gets the plan its finding gives: check the data,
    labels, loss and initialisation, then bracket the LR with a range test; no schedule change,
    since no schedule fixes a model that does not learn."""
    if ra.kind != "training" or ra.not_diagnosed or ra.steps <= 0:
        return None
    setup = [f for f in ra.findings if f.remedy is Remedy.SETUP]
    # The other findings of a run that never trained describe a model that did not learn.
    findings = setup or ra.findings
    modes = {f.mode for f in findings}
    first, last = ra.run.step_range or (0, 0)
    length = int(ra.steps)
    own = _peak_lr(ra)
    driver = lr_driver(findings)
    changes: list[str] = []
    context = ra.details.get("context")
    if context:  # a sweep or range test of the same setup
        peak, basis, reason = float(context["lr"]), str(context["basis"]), str(context["reason"])
        conf = BASIS_TRUST.get(basis, 0.6)
        if own and abs(np.log(peak / own)) > np.log(SAME_LR):
            changes.append(f"peak LR {w.lr(own)} -> {w.lr(peak)} (from the {basis.replace('_', ' ')})")
    elif driver is not None and (setup or ra.suggested_lr):
        # the run's suggestion leads; a run that never trained takes its setup finding's
        peak = float(driver.suggested_lr if setup else ra.suggested_lr)
        basis = LRBasis(driver.suggested_lr_basis).value
        reason = str(driver.evidence.get("suggested_lr_reason") or driver.evidence.get("lr_factor_reason") or "")
        if own and abs(np.log(peak / own)) > np.log(SAME_LR):
            changes.append(f"peak LR {w.lr(own)} -> {w.lr(peak)} ({w.factor(max(peak / own, own / peak))} "
                           f"{'lower' if peak < own else 'higher'})")
        conf = driver.confidence * BASIS_TRUST.get(basis, 0.6)
    else:
        peak, basis = own, "unchanged"
        reason = (NO_LR_FROM_A_RUN_THAT_DID_NOT_TRAIN if setup
                  else "no finding calls for a different peak LR")
        conf = BASIS_TRUST["unchanged"] * (max((f.confidence for f in findings), default=1.0))
    params = ra.schedule.params or {}
    warmup = _int(params.get("warmup_steps")) or 0
    # A warmup answers an early or LR-driven instability: a mode that shows one, or an LR set below
    # the edge of stability the run met (a network that died in its violent start).
    unstable = (not setup and modes & set(NEEDS_WARMUP)) or any(
        f.suggested_lr_basis is LRBasis.EDGE_OF_STABILITY for f in findings)
    if unstable and warmup == 0:
        warmup = max(int(round(WARMUP_SHARE * length)), 1)
        changes.append(f"add a linear warmup over the first {warmup:,} steps")
    if setup:
        changes[:0] = [SETUP_CHECKS]
        changes.append(
            f"bracket the LR with a short LR range test over several decades around {w.lr(peak)} before "
            "another full run, and take its suggestion as the peak" if peak else
            "bracket the LR with a short LR range test over several decades before another full run, and take "
            "its suggestion as the peak")
        return NextRun(peak, basis, reason, warmup, ra.schedule.kind, length, length, _saving(findings, last, length),
                       float(np.clip(conf, 0, 1)), changes, Remedy.SETUP.value)
    stop = length
    # An overfitting run's waste starts right after its best validation point: stop there.
    best = min((f.waste_from_step for f in findings if f.mode == "overfitting" and f.waste_from_step is not None),
               default=None)
    if best is not None and best - first < length:
        stop = max(int(best - first), warmup + 1)
        changes.append(f"stop at step {stop:,}, where the validation loss was best (or keep the length and add "
                       "regularisation)")
    kind = ra.schedule.kind
    decaying = any(k in kind for k in ("cosine", "linear", "one_cycle", "onecycle", "wsd", "exponential", "step"))
    if modes & set(NEEDS_DECAY) or not decaying or "decayed_too_early" in modes or stop != length:
        schedule = "cosine"
        if kind != "cosine" or "decayed_too_early" in modes or stop != length:
            changes.append(f"cosine decay to {w.pct(FINAL_LR_SHARE)} of the peak over {stop:,} steps")
    else:
        schedule = kind
    if any(f.mode is Mode.LR_TOO_LOW and f.remedy is Remedy.SCHEDULE for f in findings):
        # still falling at the end at an LR its context keeps (context._too_low_at): more steps, not a higher LR
        changes.append(f"if the budget allows, train longer than {stop:,} steps (the schedule spanning the whole "
                       f"length): the loss was still falling at the end at this peak LR, and the "
                       f"{basis.replace('_', ' ')} advises no higher one")
    saving = _saving(findings, last, length)
    if not changes:
        changes.append("keep this run's settings: nothing to change")
    return NextRun(peak, basis, reason, warmup, schedule, stop, stop, saving, float(np.clip(conf, 0, 1)), changes,
                   (driver.remedy if driver is not None else Remedy.SCHEDULE).value)


def _saving(findings: list[Finding], last: int, length: int) -> int | None:
    """Steps the plan saves: the findings' wasted tails (each from its ``waste_from_step`` to the
    run's last step, as the cost layer charges them) overlap at the end of the run, so the
    longest, not the sum."""
    tails = [int(last) - int(f.waste_from_step) + 1 for f in findings if f.waste_from_step is not None]
    tails = [t for t in tails if t > 0]
    return min(max(tails), length) if tails else None
