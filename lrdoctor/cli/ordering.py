"""The order runs are listed in for people: the most severe first, then the most money wasted."""

from __future__ import annotations

from lrdoctor.analysis.findings import SEVERITIES, RunAnalysis
from lrdoctor.cost import Costs


def _wasted(ra: RunAnalysis, costs: Costs | None) -> float:
    cost = None if costs is None else costs.of_run(ra)
    if cost is None:
        return 0.0
    usd, hours = cost.wasted.usd, cost.wasted.gpu_hours
    return float(usd if usd is not None else hours or 0.0)


def by_importance(runs: list[RunAnalysis], costs: Costs | None = None) -> list[RunAnalysis]:
    """``runs`` by worst severity (critical first; healthy last), then wasted money (from ``costs``),
    else stable."""
    def key(ra: RunAnalysis) -> tuple[int, float]:
        worst = ra.worst_severity()
        return (-(SEVERITIES.index(worst) + 1 if worst else 0), -_wasted(ra, costs))

    return sorted(runs, key=key)
