"""The ``analyze --json`` contract, version 1 (the GUI, reports and outside scripts build on it)."""

from __future__ import annotations

import math
from typing import Any, Protocol

from .findings import Analysis, RunAnalysis, SweepAnalysis
from .wording import clean

CONTRACT_VERSION = 1


def _float(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


class Cost(Protocol):
    """A run's or sweep's cost as the cost layer gives it (``lrdoctor.cost``): its JSON form and totals."""

    def to_dict(self) -> dict[str, Any]: ...


class CostLookup(Protocol):
    """The costs held beside an analysis (``lrdoctor.cost.Costs``): the analysis layer never imports them."""

    def of_run(self, ra: RunAnalysis) -> Any: ...

    def of_sweep(self, sweep: SweepAnalysis) -> Any: ...


def _next_run(ra: RunAnalysis, cost: Any = None) -> dict[str, Any] | None:
    """The plan, with its saving priced at the run's own cost per step when it has one."""
    if ra.next_run is None:
        return None
    usd = gpu_h = None
    if cost is not None and cost.total_steps:
        if cost.total.usd is not None:
            usd = cost.total.usd / cost.total_steps
        if cost.total.gpu_hours is not None:
            gpu_h = cost.total.gpu_hours / cost.total_steps
    return clean(ra.next_run.to_dict(usd, gpu_h))


def run_to_dict(ra: RunAnalysis, cost: Cost | None = None) -> dict[str, Any]:
    """One run's entry of the contract; ``cost`` is its ``RunCost`` (null when not estimated)."""
    return {
        "name": ra.run.name,
        "path": ra.run.path,
        "format": ra.run.format,
        "kind": ra.kind,
        "steps": int(ra.steps),
        "schedule": {"kind": ra.schedule.kind, "params": clean(dict(ra.schedule.params))},
        "findings": [clean(f.to_dict()) for f in ra.findings],
        "suggested_lr": _float(ra.suggested_lr),
        "not_diagnosed": ra.not_diagnosed,  # why an empty findings list does not mean healthy
        # additions to v1: checks the logs did not allow, and stand-ins (val loss for train loss)
        "not_checked": [c.to_dict() for c in ra.not_checked],
        "notes": ra.notes,
        "cost": None if cost is None else clean(cost.to_dict()),  # lrdoctor.cost.estimate_costs
        "next_run": _next_run(ra, cost),  # compatible addition: the plan for the next run
    }


def analysis_to_dict(analysis: Analysis, costs: CostLookup | None = None) -> dict[str, Any]:
    """The whole analysis and its ``costs`` (``lrdoctor.cost.estimate_costs``) as the version-1 JSON
    contract (NaN/inf mapped to null; costs null without them)."""
    run_cost = (lambda ra: None) if costs is None else costs.of_run
    sweep_cost = (lambda s: None) if costs is None else costs.of_sweep
    return {
        "version": CONTRACT_VERSION,
        "runs": [run_to_dict(r, run_cost(r)) for r in analysis.runs],
        "sweeps": [
            {
                "path": s.path,
                "runs": s.names,
                "best_lr": _float(s.best_lr),
                "max_stable_lr": _float(s.max_stable_lr),
                "suggested_lr": _float(s.suggested_lr),
                # compatible additions: what ranks (and what the chart plots), why the suggestion
                "metric": s.details.get("metric"),
                "metric_label": s.details.get("metric_label"),
                "suggested_lr_reason": s.details.get("suggested_reason"),
                "points": [clean({k: p.get(k) for k in ("name", "lr", "ranking_value", "diverged", "failed",
                                                        "oscillating")}) for p in s.points],
                "cost": None if (c := sweep_cost(s)) is None else clean(c.to_dict()),
            }
            for s in analysis.sweeps
        ],
        "warnings": [{"path": str(w.path), "message": str(w.message)} for w in analysis.warnings],
    }
