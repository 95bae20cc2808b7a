"""The ``analyze --json`` contract, version 1 (the GUI, reports and outside scripts build on it)."""

from __future__ import annotations

import math
from typing import Any

from .findings import Analysis, RunAnalysis
from .wording import clean

CONTRACT_VERSION = 1


def _float(x: Any) -> float | None:
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _next_run(ra: RunAnalysis) -> dict[str, Any] | None:
    """The plan, with its saving priced at the run's own cost per step when it has one."""
    if ra.next_run is None:
        return None
    usd = gpu_h = None
    cost = ra.cost
    if cost is not None and cost.total_steps:
        if cost.total.usd is not None:
            usd = cost.total.usd / cost.total_steps
        if cost.total.gpu_hours is not None:
            gpu_h = cost.total.gpu_hours / cost.total_steps
    return clean(ra.next_run.to_dict(usd, gpu_h))


def run_to_dict(ra: RunAnalysis) -> dict[str, Any]:
    """One run's entry of the contract."""
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
        "cost": None if ra.cost is None else clean(ra.cost.to_dict()),  # lrdoctor.cost.estimate_costs
        "next_run": _next_run(ra),  # compatible addition: the plan for the next run
    }


def analysis_to_dict(analysis: Analysis) -> dict[str, Any]:
    """The whole analysis as the version-1 JSON contract (NaN/inf mapped to null)."""
    return {
        "version": CONTRACT_VERSION,
        "runs": [run_to_dict(r) for r in analysis.runs],
        "sweeps": [
            {
                "path": s.path,
                "runs": [str(n) for n in s.runs],
                "best_lr": _float(s.best_lr),
                "max_stable_lr": _float(s.max_stable_lr),
                "suggested_lr": _float(s.suggested_lr),
                # compatible additions: what ranks (and what the chart plots), why the suggestion
                "metric": s.details.get("metric"),
                "metric_label": s.details.get("metric_label"),
                "suggested_lr_reason": s.details.get("suggested_reason"),
                "points": [clean({k: p.get(k) for k in ("name", "lr", "ranking_value", "diverged", "failed",
                                                        "oscillating")}) for p in s.points],
                "cost": None if s.cost is None else clean(s.cost.to_dict()),
            }
            for s in analysis.sweeps
        ],
        "warnings": [{"path": str(w.path), "message": str(w.message)} for w in analysis.warnings],
    }
