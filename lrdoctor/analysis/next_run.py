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
from .findings import Finding, LRBasis, RunAnalysis
from .run_analysis import LR_PRIORITY

# A warmup over the first 5% of the steps: long enough to let the early sharpness settle
# below the edge (the usual 2-10% of the run), short enough to cost little.
WARMUP_SHARE = 0.05
# Decay to 1% of the peak: the end LR of the usual cosine recipes.
FINAL_LR_SHARE = 0.01
# Modes that call for a warmup in the next run (an early or LR-driven instability).
NEEDS_WARMUP = ("diverged", "spikes", "no_warmup", "oscillating")
# Modes whose fix is a decaying schedule over the whole length.
NEEDS_DECAY = ("plateau", "decayed_too_early", "oscillating", "spikes")
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
    schedule: str  # the shape: "cosine" (to FINAL_LR_SHARE of the peak), or the run's own kind
    schedule_steps: int  # the length the schedule spans
    stop_step: int  # where to stop
    saving_steps: int | None  # steps the plan saves against this run
    confidence: float
    changes: list[str] = field(default_factory=list)  # what differs from this run, one line each

    def summary(self) -> str:
        """One line: the plan as a sentence."""
        lr = "?" if self.peak_lr is None else w.lr(self.peak_lr)
        warm = f"{self.warmup_steps:,} warmup steps, " if self.warmup_steps else "no warmup, "
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
            "summary": self.summary(),
        }


def _peak_lr(ra: RunAnalysis) -> float | None:
    """The run's peak LR: the logged curve's, else the LR its name, folder or hparams give."""
    arrays = ra.run.role_arrays("lr")
    vals = np.array([]) if arrays is None else arrays[2]
    vals = vals[np.isfinite(vals) & (vals > 0)]
    return float(vals.max()) if len(vals) else configured_lr(ra.run)[0]


def _driver(findings: list[Finding]) -> Finding | None:
    """The finding whose LR the run's suggestion took (same order as the run's suggestion)."""
    with_lr = [f for f in findings if f.suggested_lr]
    if not with_lr:
        return None
    for modes in LR_PRIORITY:
        hits = [f for f in with_lr if f.mode in modes]
        if hits:
            return min(hits, key=lambda f: f.suggested_lr)
    return with_lr[0]


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def plan_next_run(ra: RunAnalysis) -> NextRun | None:
    """The plan for a diagnosed training run (None for range tests and undiagnosed runs)."""
    if ra.kind != "training" or ra.not_diagnosed or ra.steps <= 0:
        return None
    findings = ra.findings
    modes = {f.mode for f in findings}
    first = int(ra.run.step_range[0]) if ra.run.step_range else 0
    length = int(ra.steps)
    own = _peak_lr(ra)
    driver = _driver(findings)
    changes: list[str] = []
    context = ra.details.get("context")
    if context:  # a sweep or range test of the same setup
        peak, basis, reason = float(context["lr"]), str(context["basis"]), str(context["reason"])
        conf = BASIS_TRUST.get(basis, 0.6)
        if own and abs(np.log(peak / own)) > np.log(1.05):
            changes.append(f"peak LR {w.lr(own)} -> {w.lr(peak)} (from the {basis.replace('_', ' ')})")
    elif driver is not None and ra.suggested_lr:
        peak, basis = float(ra.suggested_lr), LRBasis(driver.suggested_lr_basis).value
        reason = str(driver.evidence.get("suggested_lr_reason") or driver.evidence.get("lr_factor_reason") or "")
        if own and abs(np.log(peak / own)) > np.log(1.05):
            changes.append(f"peak LR {w.lr(own)} -> {w.lr(peak)} ({w.factor(max(peak / own, own / peak))} "
                           f"{'lower' if peak < own else 'higher'})")
        conf = driver.confidence * BASIS_TRUST.get(basis, 0.6)
    else:
        peak, basis, reason = own, "unchanged", "no finding calls for a different peak LR"
        conf = BASIS_TRUST["unchanged"] * (max((f.confidence for f in findings), default=1.0))
    params = ra.schedule.params or {}
    warmup = _int(params.get("warmup_steps")) or 0
    if modes & set(NEEDS_WARMUP) and warmup == 0:
        warmup = max(int(round(WARMUP_SHARE * length)), 1)
        changes.append(f"add a linear warmup over the first {warmup:,} steps")
    stop = length
    best_val = next((_int(f.evidence.get("best_val_step")) for f in findings if f.mode == "overfitting"), None)
    if best_val is not None and best_val - first + 1 < length:
        stop = max(best_val - first + 1, warmup + 1)
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
    saving = _saving(findings, length)
    if not changes:
        changes.append("keep this run's settings: nothing to change")
    return NextRun(peak, basis, reason, warmup, schedule, stop, stop, saving, float(np.clip(conf, 0, 1)), changes)


def _saving(findings: list[Finding], length: int) -> int | None:
    """Steps the plan saves: the largest wasted tail the findings measured (they overlap at
    the end of the run, so the largest, not the sum)."""
    tails = []
    for f in findings:
        ev = f.evidence
        if f.mode == "diverged":
            tails.append(_int(ev.get("wasted_steps")))
        elif f.mode == "overfitting":
            tails.append(_int(ev.get("wasted_steps")))
        elif f.mode == "plateau" and ev.get("decay_would_pay_step") is not None and f.step_end is not None:
            tails.append(int(f.step_end) - int(ev["decay_would_pay_step"]))
        elif f.mode == "lr_too_low":
            tails.append(_int(ev.get("steps_saved_estimate")))
    tails = [t for t in tails if t is not None and t > 0]
    return min(max(tails), length) if tails else None
