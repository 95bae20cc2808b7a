"""The analyzer's results as plain dataclasses (no Qt, no printing).

These names are the vocabulary other layers build on (cost, GUI, reports, the
``analyze --json`` contract); extend them compatibly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from parsers import LoadWarning, Run

if TYPE_CHECKING:
    from lrdoctor.analysis.next_run import NextRun
    from lrdoctor.analysis.coverage import NotChecked



class Mode(str, enum.Enum):
    """A failure mode. A ``str`` so the JSON contract, comparisons and dict keys see its plain name."""

    DIVERGED = "diverged"
    OSCILLATING = "oscillating"
    SPIKES = "spikes"
    LR_TOO_LOW = "lr_too_low"
    PLATEAU = "plateau"
    NO_WARMUP = "no_warmup"
    DECAYED_TOO_EARLY = "decayed_too_early"
    OVERFITTING = "overfitting"

    # Hash, print and format as the plain name, so "diverged" and Mode.DIVERGED are one key.
    __hash__ = str.__hash__
    __format__ = str.__format__

    def __str__(self) -> str:
        return self.value


MODES: tuple[Mode, ...] = tuple(Mode)
SEVERITIES: tuple[str, ...] = ("info", "warning", "critical")


class LRBasis(str, enum.Enum):
    """Where a suggested LR comes from (the JSON's ``suggested_lr_basis``)."""

    EDGE_OF_STABILITY = "edge_of_stability"  # below the LR at which this run became unstable
    LOSS_FORECAST = "loss_forecast"  # time rescaling of the fitted loss curve
    SAME_LR_DECAYED = "same_lr_decayed"  # keep the peak, change the schedule
    SWEEP = "sweep"  # a sweep of the same setup
    RANGE_TEST = "range_test"  # an LR range test of the same setup
    CONFIGURED_LR = "configured_lr"  # no LR curve: the LR its name/hparams give, times the finding's factor
    LR_UNKNOWN = "lr_unknown"  # no LR curve and none in its name/hparams: a factor only, no number


class Remedy(str, enum.Enum):
    """What a finding asks the next run to change; the next-run plan follows it (JSON ``remedy``)."""

    LR = "lr"  # the peak LR: too high (diverged, oscillating, spikes) or too low (lr_too_low)
    SCHEDULE = "schedule"  # the schedule's shape or length: a decay, a warmup, where to stop
    # The model never trained (its loss never moved, its network died, its loss was never finite):
    # the data, labels, loss and initialisation first, then an LR range test brackets the LR. No
    # schedule fixes it, and the run's curve cannot say how far off its LR is.
    SETUP = "setup"

    __hash__ = str.__hash__
    __format__ = str.__format__

    def __str__(self) -> str:
        return self.value


# The remedy a mode calls for unless its detector says otherwise (a run that never learned is a
# ``plateau`` whose remedy is the setup, not a decay).
MODE_REMEDY: dict[Mode, Remedy] = {
    Mode.DIVERGED: Remedy.LR,
    Mode.OSCILLATING: Remedy.LR,
    Mode.SPIKES: Remedy.LR,
    Mode.LR_TOO_LOW: Remedy.LR,
    Mode.PLATEAU: Remedy.SCHEDULE,
    Mode.NO_WARMUP: Remedy.SCHEDULE,
    Mode.DECAYED_TOO_EARLY: Remedy.SCHEDULE,
    Mode.OVERFITTING: Remedy.SCHEDULE,
}


@dataclass
class Finding:
    """One detected failure mode with its evidence and a concrete recommendation."""

    mode: Mode
    severity: str  # one of SEVERITIES
    confidence: float  # 0..1
    step_start: int | None
    step_end: int | None
    evidence: dict[str, Any]  # numbers; evidence["summary"] is the one-line human sentence
    recommendation: str
    tag: str | None = None  # the tag the evidence was measured on
    # The LR this finding implies for the next run and where that number comes from.
    suggested_lr: float | None = None
    suggested_lr_basis: LRBasis | None = None
    # Where the compute this finding wasted starts (inclusive; it runs to the run's last step),
    # as the cost layer charges it; None when the mode wastes nothing or the step is unknown.
    waste_from_step: int | None = None
    # Why a mode that wastes compute cannot say from where (shown instead of a cost), else None.
    waste_unknown: str | None = None
    # What the next run must change (None: the mode's usual remedy, MODE_REMEDY).
    remedy: Remedy | None = None

    def __post_init__(self) -> None:
        self.mode = Mode(self.mode)  # a plain name from older callers becomes the enum (unknown: ValueError)
        self.remedy = MODE_REMEDY[self.mode] if self.remedy is None else Remedy(self.remedy)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the contract."""
        out = {
            "mode": str(self.mode),
            "severity": self.severity,
            "confidence": round(float(self.confidence), 3),
            "step_start": None if self.step_start is None else int(self.step_start),
            "step_end": None if self.step_end is None else int(self.step_end),
            "evidence": self.evidence,
            "recommendation": self.recommendation,
            "remedy": Remedy(self.remedy).value,  # compatible addition to contract v1
        }
        if self.suggested_lr is not None:  # compatible additions to contract v1
            out["suggested_lr"] = float(self.suggested_lr)
        if self.suggested_lr_basis is not None:  # with LR_UNKNOWN, the basis says why no number
            out["suggested_lr_basis"] = LRBasis(self.suggested_lr_basis).value
        return out

    def advise(self, lr: float | None, basis: LRBasis) -> None:
        """Set the LR this finding implies (None leaves it unset)."""
        if lr is not None and lr > 0:
            self.suggested_lr, self.suggested_lr_basis = float(lr), LRBasis(basis)


@dataclass
class Schedule:
    """The LR schedule inferred from the logged LR."""

    kind: str  # constant, step, exponential, cosine, linear, warmup_*, one_cycle, wsd, cyclic, unknown
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the contract."""
        return {"kind": self.kind, "params": self.params}


@dataclass
class RangeTestResult:
    """The range test's curve and the LR each rule suggests."""

    lr: np.ndarray  # LR per point up to the stop
    loss: np.ndarray  # raw loss per point
    smoothed_loss: np.ndarray  # bias-corrected EMA (fastai)
    rules: dict[str, float | None]  # steepest, valley, min_div_10 (on the EMA, like fastai)
    suggested_lr: float | None
    suggested_rule: str
    reason: str
    min_loss_lr: float | None = None  # LR at the smoothed loss minimum
    stop_lr: float | None = None  # LR where the loss exploded (EMA > 4x min or non-finite)
    decades: float = 0.0
    rule_reasons: dict[str, str] | None = None  # one line per rule

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly summary (no arrays)."""
        return {
            "rules": dict(self.rules),
            "rule_reasons": dict(self.rule_reasons or {}),
            "suggested_lr": self.suggested_lr,
            "suggested_rule": self.suggested_rule,
            "reason": self.reason,
            "min_loss_lr": self.min_loss_lr,
            "stop_lr": self.stop_lr,
            "decades": round(self.decades, 2),
        }


@dataclass
class RunAnalysis:
    """Everything the analyzer says about one run."""

    run: Run
    kind: str  # "training" | "range_test"
    steps: int
    schedule: Schedule
    findings: list[Finding] = field(default_factory=list)
    suggested_lr: float | None = None
    details: dict[str, Any] = field(default_factory=dict)  # range-test rules, forecast, ...
    # A range test's full result (curves and rules) for the views; details["range_test"] is its summary.
    range_test: RangeTestResult | None = None
    # The plan for the next run of this setup (lrdoctor.analysis.next_run), after any sweep or
    # range test of the same setup has had its say.
    next_run: NextRun | None = None
    # Checks the logs did not allow (no LR curve, too sparse, too few evaluations), with why.
    not_checked: list[NotChecked] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        """What the analysis read differently from the usual (a curve standing in for a missing one)."""
        return list(self.details.get("notes") or [])

    def caveats(self) -> list[str]:
        """What a reader must know to trust the verdict, one sentence each: the notes (a curve
        standing in for a missing one) and the checks the logs did not allow."""
        return list(self.notes) + [f"Not checked: {nc.sentence()}" for nc in self.not_checked]

    @property
    def not_diagnosed(self) -> str | None:
        """Why the run could not be judged (no loss curve, too few points), or None when it was."""
        return self.details.get("not_diagnosed")

    def worst_severity(self) -> str | None:
        """The most severe finding's severity, or None for a healthy run."""
        if not self.findings:
            return None
        return max((f.severity for f in self.findings), key=SEVERITIES.index)


@dataclass
class SweepAnalysis:
    """Several runs of one setup at different LRs.

    ``run_keys`` (:attr:`parsers.Run.key`) are the one record of which runs belong to it: the app's
    groups, the sweep view and the cost layer all ask :meth:`Analysis.sweep_of` or read these.
    """

    path: str
    run_keys: list[str]
    best_lr: float | None
    max_stable_lr: float | None
    suggested_lr: float | None
    points: list[dict[str, Any]] = field(default_factory=list)  # per run: name, lr, final_loss, diverged
    details: dict[str, Any] = field(default_factory=dict)  # metric, lrs_within_5pct_of_best, ...

    @property
    def key(self) -> str:
        """The sweep's identity: its folder and its runs (one folder can hold two sweeps)."""
        return "\n".join([self.path, *self.run_keys])

    @property
    def names(self) -> list[str]:
        """The member runs' names, in LR order (what the JSON contract lists as ``runs``)."""
        return [str(p["name"]) for p in self.points]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the contract."""
        return {
            "path": self.path,
            "runs": self.names,
            "best_lr": self.best_lr,
            "max_stable_lr": self.max_stable_lr,
            "suggested_lr": self.suggested_lr,
        }


@dataclass
class Analysis:
    """The analyzer's answer for everything loaded from one or more paths."""

    runs: list[RunAnalysis]
    sweeps: list[SweepAnalysis] = field(default_factory=list)
    warnings: list[LoadWarning] = field(default_factory=list)

    def sweep_of(self, key: str) -> SweepAnalysis | None:
        """The sweep run ``key`` belongs to, or None (the one owner of sweep membership)."""
        return next((s for s in self.sweeps if key in s.run_keys), None)
