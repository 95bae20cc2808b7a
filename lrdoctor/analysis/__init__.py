"""Learning-rate diagnosis: ``analyze(runs) -> Analysis`` (pure library code, no Qt).

One module per failure mode (divergence, oscillation, spikes, lr_too_low, plateau,
warmup, decay, overfitting) on series prepared by :mod:`.signals`; the schedule,
range-test, sweep and forecast modules add the LR context.
"""

from __future__ import annotations

from typing import Iterable, Sequence

from parsers import LoadWarning, Run

from .findings import MODES, SEVERITIES, Analysis, Finding, RunAnalysis, Schedule, SweepAnalysis
from .run_analysis import analyze_run
from .sweep import find_sweeps


def analyze(runs: Iterable[Run], *, warnings: Iterable[LoadWarning] = ()) -> Analysis:
    """Analyze every run, group sweeps, and carry the load warnings along."""
    runs = list(runs)
    analyses = [analyze_run(r) for r in runs]
    sweeps = find_sweeps(list(runs), analyses)
    if sweeps:
        from .sweep_oscillation import annotate

        annotate(runs, analyses, sweeps)  # a member bouncing far more than its siblings
    return Analysis(runs=analyses, sweeps=sweeps, warnings=list(warnings))


__all__ = [
    "MODES",
    "SEVERITIES",
    "Analysis",
    "Finding",
    "RunAnalysis",
    "Schedule",
    "SweepAnalysis",
    "analyze",
    "analyze_run",
]
