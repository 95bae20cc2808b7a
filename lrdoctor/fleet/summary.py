"""Where the money went over many runs: total spend and waste, waste by failure mode, runs ranked by waste.

Built on the costs priced by :func:`lrdoctor.cost.estimate_costs` (this module prices nothing itself).
The CLI leads ``analyze`` with it, the JSON carries it under ``fleet``, the report's fleet page and
the app's fleet table read the same :class:`FleetSummary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lrdoctor.analysis.findings import SEVERITIES, Analysis, RunAnalysis

if TYPE_CHECKING:
    from lrdoctor.cost import Costs, RunCost

# From this many runs on, ``analyze`` leads with the fleet summary (one or two runs read better
# run by run).
FLEET_MIN_RUNS = 3
# Runs listed by name in the text summary; the JSON lists them all.
TEXT_TOP_RUNS = 10
_ROUND = 6  # significant figures in the JSON, as the cost layer's


def _r(value: float | None) -> float | None:
    return None if value is None else float(f"{float(value):.{_ROUND}g}")


@dataclass(frozen=True)
class RunWaste:
    """One run's line of the fleet table."""

    index: int  # position in ``Analysis.runs`` (the app opens that run)
    name: str
    path: str
    format: str
    worst_mode: str | None  # the most severe finding's mode (None: healthy or not diagnosed)
    worst_severity: str | None
    modes: tuple[str, ...]  # every finding's mode, in the analysis' order
    costliest_mode: str | None  # the finding (or ``restart``) that wasted the most of this run
    total_usd: float | None  # None: the run could not be costed (no clock, no step time given)
    wasted_usd: float | None
    wasted_gpu_hours: float | None
    wasted_steps: int
    wasted_share: float | None  # wasted GPU-hours over the run's total

    def to_dict(self) -> dict[str, Any]:
        """JSON form (an entry of ``fleet.runs``)."""
        return {
            "name": self.name,
            "path": self.path,
            "format": self.format,
            "worst_mode": self.worst_mode,
            "worst_severity": self.worst_severity,
            "modes": list(self.modes),
            "costliest_mode": self.costliest_mode,
            "total_usd": _r(self.total_usd),
            "wasted_usd": _r(self.wasted_usd),
            "wasted_gpu_hours": _r(self.wasted_gpu_hours),
            "wasted_steps": self.wasted_steps,
            "wasted_share": _r(self.wasted_share),
        }


@dataclass(frozen=True)
class ModeWaste:
    """What one failure mode (or ``restart``) wasted over all runs."""

    mode: str
    runs: int  # runs with this waste
    wasted_usd: float | None  # None when none of those runs could be priced
    wasted_gpu_hours: float | None
    wasted_steps: int

    def to_dict(self) -> dict[str, Any]:
        """JSON form (an entry of ``fleet.by_mode``)."""
        return {"mode": self.mode, "runs": self.runs, "wasted_usd": _r(self.wasted_usd),
                "wasted_gpu_hours": _r(self.wasted_gpu_hours), "wasted_steps": self.wasted_steps}


@dataclass(frozen=True)
class FleetSummary:
    """Spend and waste over all runs of an analysis.

    ``by_mode`` charges each finding its own waste: a step wasted by two findings of one run counts
    under both modes, while the totals (and each run's ``wasted_usd``) count it once.
    """

    runs: int
    costed_runs: int  # runs whose spend could be priced
    total_usd: float | None
    wasted_usd: float | None
    total_gpu_hours: float | None
    wasted_gpu_hours: float | None
    wasted_steps: int
    by_mode: tuple[ModeWaste, ...] = ()  # most wasted money first (then GPU-hours, steps)
    ranked: tuple[RunWaste, ...] = ()  # every run, most wasted money first; uncosted runs last
    currency: str = "USD"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def wasted_share(self) -> float | None:
        """Wasted GPU-hours over all priced GPU-hours."""
        if self.total_gpu_hours and self.wasted_gpu_hours is not None:
            return self.wasted_gpu_hours / self.total_gpu_hours
        return None

    def to_dict(self) -> dict[str, Any]:
        """The ``fleet`` object of the ``analyze --json`` contract."""
        return {
            "runs": self.runs,
            "costed_runs": self.costed_runs,
            "total_usd": _r(self.total_usd),
            "wasted_usd": _r(self.wasted_usd),
            "total_gpu_hours": _r(self.total_gpu_hours),
            "wasted_gpu_hours": _r(self.wasted_gpu_hours),
            "wasted_share": _r(self.wasted_share),
            "wasted_steps": self.wasted_steps,
            "by_mode": [m.to_dict() for m in self.by_mode],
            "runs_by_waste": [r.to_dict() for r in self.ranked],
            "notes": list(self.notes),
        }


def _add(a: float | None, b: float | None) -> float | None:
    return a if b is None else (b if a is None else a + b)


def _priced(cost: RunCost | None) -> bool:
    return cost is not None and cost.step_time.seconds_per_step is not None


def _run_waste(index: int, ra: RunAnalysis, cost: RunCost | None) -> RunWaste:
    worst = max(ra.findings, key=lambda f: SEVERITIES.index(f.severity), default=None)
    priced = _priced(cost)
    return RunWaste(
        index=index,
        name=ra.run.name,
        path=ra.run.path,
        format=ra.run.format,
        worst_mode=None if worst is None else worst.mode,
        worst_severity=None if worst is None else worst.severity,
        modes=tuple(f.mode for f in ra.findings),
        costliest_mode=_costliest(cost),
        total_usd=cost.total.usd if priced else None,
        wasted_usd=cost.wasted.usd if priced else None,
        wasted_gpu_hours=cost.wasted.gpu_hours if priced else None,
        wasted_steps=0 if cost is None else int(cost.wasted_steps),
        wasted_share=cost.wasted_share if priced else None,
    )


def _costliest(cost: RunCost | None) -> str | None:
    wastes = [] if cost is None else [w for w in cost.by_finding if (w.money.usd or 0) > 0 or w.wasted_steps]
    if not wastes:
        return None
    return max(wastes, key=lambda w: (w.money.usd or 0.0, w.wasted_steps or 0)).mode


def fleet_summary(analysis: Analysis, costs: Costs | None = None) -> FleetSummary:
    """Total spend and waste, waste by failure mode and runs ranked by wasted money.

    Reads the ``costs`` priced beside ``analysis`` (``lrdoctor.cost.estimate_costs``); runs without
    a cost, or without a step time to price it, are counted and ranked last, never guessed.
    """
    run_costs = [None if costs is None else costs.of_run(ra) for ra in analysis.runs]
    rows = [_run_waste(i, ra, cost) for i, (ra, cost) in enumerate(zip(analysis.runs, run_costs))]
    total_usd = wasted_usd = total_h = wasted_h = None
    modes: dict[str, list[Any]] = {}
    for cost in run_costs:
        if cost is None:
            continue
        if _priced(cost):
            total_usd, wasted_usd = _add(total_usd, cost.total.usd), _add(wasted_usd, cost.wasted.usd)
            total_h, wasted_h = _add(total_h, cost.total.gpu_hours), _add(wasted_h, cost.wasted.gpu_hours)
        for waste in cost.by_finding:
            entry = modes.setdefault(waste.mode, [0, None, None, 0])
            entry[0] += 1
            if _priced(cost):
                entry[1] = _add(entry[1], waste.money.usd)
                entry[2] = _add(entry[2], waste.money.gpu_hours)
            entry[3] += int(waste.wasted_steps or 0)
    by_mode = sorted(
        (ModeWaste(mode, n, usd, hours, steps) for mode, (n, usd, hours, steps) in modes.items()),
        key=lambda m: (-(m.wasted_usd or 0.0), -(m.wasted_gpu_hours or 0.0), -m.wasted_steps, m.mode),
    )
    ranked = sorted(rows, key=lambda r: (r.wasted_usd is None, -(r.wasted_usd or 0.0), -r.wasted_steps, r.index))
    costed = sum(1 for cost in run_costs if _priced(cost))
    notes = []
    if costed < len(rows):
        notes.append(f"{len(rows) - costed} run(s) not priced: no clock in the log and no --step-time")
    return FleetSummary(
        runs=len(rows),
        costed_runs=costed,
        total_usd=total_usd,
        wasted_usd=wasted_usd,
        total_gpu_hours=total_h,
        wasted_gpu_hours=wasted_h,
        wasted_steps=sum(r.wasted_steps for r in rows),
        by_mode=tuple(by_mode),
        ranked=tuple(ranked),
        notes=tuple(notes),
    )


def contract_dict(analysis: Analysis, costs: Costs | None = None) -> dict[str, Any]:
    """The ``analyze --json`` contract (version 1) of ``analysis`` and its ``costs``, with the ``fleet``
    summary added under its own key."""
    from lrdoctor.analysis.contract import analysis_to_dict

    payload = analysis_to_dict(analysis, costs)
    payload["fleet"] = fleet_summary(analysis, costs).to_dict()
    return payload
