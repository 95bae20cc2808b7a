"""The order runs are listed in for people: the most severe first, then the most money wasted."""

from __future__ import annotations

from lrdoctor.analysis.findings import SEVERITIES, RunAnalysis


def _wasted(ra: RunAnalysis) -> float:
    cost = getattr(ra, "cost", None)
    wasted = getattr(cost, "wasted", None)
    usd = getattr(wasted, "usd", None)
    hours = getattr(wasted, "gpu_hours", None)
    return float(usd if usd is not None else hours or 0.0)


def by_importance(runs: list[RunAnalysis]) -> list[RunAnalysis]:
    """``runs`` by worst severity (critical first; healthy last), then wasted money, else stable."""
    def key(ra: RunAnalysis) -> tuple[int, float]:
        worst = ra.worst_severity()
        return (-(SEVERITIES.index(worst) + 1 if worst else 0), -_wasted(ra))

    return sorted(runs, key=key)
