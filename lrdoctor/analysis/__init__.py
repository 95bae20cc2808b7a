"""Learning-rate diagnosis: ``analyze(runs) -> Analysis`` (pure library code, no Qt).

One module per failure mode (divergence, oscillation, spikes, lr_too_low, plateau,
warmup, decay, overfitting) on series prepared by :mod:`.signals`; the schedule,
range-test, sweep and forecast modules add the LR context.
"""

from __future__ import annotations

import os
from typing import Iterable

from parsers import LoadWarning, Run

from .context import apply_context
from .findings import (MODES, SEVERITIES, Analysis, Finding, LRBasis, Mode, Remedy, RunAnalysis, Schedule,
                       SweepAnalysis)
from .next_run import NextRun, plan_next_run
from .run_analysis import analyze_run
from .sweep import find_sweeps, mark_unstable


def analyze(runs: Iterable[Run], *, warnings: Iterable[LoadWarning] = ()) -> Analysis:
    """Analyze every run, group sweeps, and carry the load warnings along."""
    runs = list(runs)
    analyses = [analyze_run(r) for r in runs]  # never raises: a failing run comes back undiagnosed
    return compare_runs(runs, analyses, warnings=warnings)


def compare_runs(runs: list[Run], analyses: list[RunAnalysis], *,
                 warnings: Iterable[LoadWarning] = ()) -> Analysis:
    """What the runs say together, after each was analysed on its own (``analyze_run``, in any
    order, possibly reused from an earlier pass): sweeps, sweep-level oscillation, the
    context of a sweep or range test of the same setup, and each run's next-run plan."""
    warnings = list(warnings)
    try:
        sweeps = find_sweeps(list(runs), analyses)
        if sweeps:
            from .sweep_oscillation import annotate

            annotate(runs, analyses, sweeps)  # a member bouncing far more than its siblings
            mark_unstable(sweeps, analyses)  # the largest stable LR excludes oscillating members
            from .sweep_floor import annotate as annotate_floor

            # Far above the best LR, settling on a higher floor: said after the largest stable LR
            # is set, since such a run is stable, only worse.
            annotate_floor(runs, analyses, sweeps)
    except Exception as exc:  # noqa: BLE001 - the runs keep their own diagnoses
        sweeps = []
        warnings.append(LoadWarning(_common_folder(runs), f"sweeps not compared: {type(exc).__name__}: {exc}"))
    try:
        apply_context(analyses, sweeps)  # a sweep or range test of the same setup outranks one run
    except Exception as exc:  # noqa: BLE001 - the runs keep their own estimates
        warnings.append(LoadWarning(_common_folder(runs), f"sweep/range-test context not applied: {exc}"))
    for ra in analyses:
        try:
            ra.next_run = plan_next_run(ra)
        except Exception as exc:  # noqa: BLE001 - the findings stand without a plan
            warnings.append(LoadWarning(ra.run.path, f"no next-run plan: {type(exc).__name__}: {exc}"))
    return Analysis(runs=analyses, sweeps=sweeps, warnings=warnings)


def _common_folder(runs: list[Run]) -> str:
    """The folder holding every run (what a sweep-level message is about)."""
    try:
        return os.path.commonpath([r.path for r in runs])
    except ValueError:  # relative and absolute paths mixed, or different drives
        return runs[0].path if runs else ""


__all__ = [
    "MODES",
    "SEVERITIES",
    "Analysis",
    "Finding",
    "LRBasis",
    "Mode",
    "NextRun",
    "Remedy",
    "RunAnalysis",
    "Schedule",
    "SweepAnalysis",
    "analyze",
    "analyze_run",
    "compare_runs",
]
