"""Wasted compute per finding and per run: steps, GPU-hours, dollars, kWh and kg CO2e.

Waste is a step range at the end of the run (after divergence, after the best
validation point, a plateau beyond the point where decay would have paid, the steps
a better LR would have saved) or steps computed twice (a restart that repeated
steps). A run's total counts the union of its ranges once, plus the repeated steps;
each finding is also reported on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from lrdoctor.formatting import step_range
from parsers import Run

from .hardware import Hardware, resolve_hardware
from .presets import Presets, load_presets
from .settings import CostSettings
from .step_time import StepTime, step_time_for

if TYPE_CHECKING:  # the analysis imports nothing from cost; cost reads its dataclasses
    from lrdoctor.analysis.findings import Analysis, Finding, RunAnalysis, SweepAnalysis

RESTART = "restart"
# Downtime between a crash and the resume up to an hour counts as GPU time: that is how long
# an allocated node or notebook typically sits before someone restarts the job. Longer gaps
# look like a stopped job (nothing billed); they are listed, never costed.
MAX_BILLED_DOWNTIME_S = 3600.0
_ROUND = 6  # significant figures in the JSON


def _r(value: float | None, digits: int = _ROUND) -> float | None:
    """Round to ``digits`` significant figures (costs of small runs are tiny numbers)."""
    return None if value is None else float(f"{float(value):.{digits}g}")


def _totals_dict(total: Money, wasted_steps: int, wasted: Money) -> dict[str, Any]:
    """The total and wasted compute keys shared by a run's and a sweep's JSON form."""
    return {
        "total_gpu_hours": _r(total.gpu_hours),
        "total_usd": _r(total.usd),
        "wasted_steps": wasted_steps,
        "wasted_gpu_hours": _r(wasted.gpu_hours),
        "wasted_usd": _r(wasted.usd),
        "wasted_kwh": _r(wasted.kwh),
        "wasted_kg_co2e": _r(wasted.kg_co2e),
    }


@dataclass
class Money:
    """GPU-hours and what follows from them, or Nones when the step time is unknown."""

    gpu_hours: float | None = None
    usd: float | None = None
    kwh: float | None = None
    kg_co2e: float | None = None

    def __add__(self, other: "Money") -> "Money":
        def add(a: float | None, b: float | None) -> float | None:
            return None if a is None and b is None else (a or 0.0) + (b or 0.0)

        return Money(add(self.gpu_hours, other.gpu_hours), add(self.usd, other.usd),
                     add(self.kwh, other.kwh), add(self.kg_co2e, other.kg_co2e))


def price(seconds: float | None, hw: Hardware) -> Money:
    """Wall seconds on ``hw.gpu_count`` GPUs to GPU-hours, USD, kWh and kg CO2e."""
    if seconds is None:
        return Money()
    gpu_hours = seconds / 3600.0 * hw.gpu_count
    usd = None if hw.usd_per_gpu_hour is None else gpu_hours * hw.usd_per_gpu_hour
    kwh = None if hw.power_w is None else gpu_hours * hw.power_w / 1000.0 * hw.pue
    kg = None if kwh is None else kwh * hw.carbon_kg_per_kwh
    return Money(gpu_hours, usd, kwh, kg)


@dataclass
class Waste:
    """The compute one finding (or one restart) wasted."""

    mode: str
    wasted_steps: int | None
    step_start: int | None = None  # first wasted step (inclusive)
    step_end: int | None = None  # last wasted step (inclusive)
    money: Money = field(default_factory=Money)
    note: str | None = None
    remedy: str | None = None  # the finding's Remedy (how the views name it), None for a restart

    def to_dict(self) -> dict[str, Any]:
        """JSON form (a ``by_finding`` entry)."""
        return {
            "mode": str(self.mode),
            "wasted_steps": self.wasted_steps,
            "step_start": self.step_start,
            "step_end": self.step_end,
            "wasted_gpu_hours": _r(self.money.gpu_hours),
            "wasted_usd": _r(self.money.usd),
            "wasted_kwh": _r(self.money.kwh),
            "wasted_kg_co2e": _r(self.money.kg_co2e),
            "note": self.note,
        }


@dataclass
class RunCost:
    """What one run cost and how much of it was wasted."""

    step_time: StepTime
    hardware: Hardware
    total_steps: int
    total: Money
    wasted_steps: int
    wasted: Money
    by_finding: list[Waste] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def wasted_share(self) -> float | None:
        """Wasted GPU-hours over the run's total (None without a step time)."""
        if self.total.gpu_hours and self.wasted.gpu_hours is not None:
            return self.wasted.gpu_hours / self.total.gpu_hours
        return None

    @property
    def effective_step_time(self) -> float | None:
        """Wall seconds per step with evaluation/checkpoint pauses and restarts spread over the run."""
        if self.total.gpu_hours is None or not self.total_steps:
            return None
        return self.total.gpu_hours * 3600.0 / self.hardware.gpu_count / self.total_steps

    def to_dict(self) -> dict[str, Any]:
        """The ``"cost"`` object of the ``analyze --json`` contract."""
        st = self.step_time
        hw = self.hardware
        return {
            "step_time_s": _r(st.seconds_per_step),
            "step_time_source": st.source,
            "step_time_method": st.method,
            "step_time_median_s": _r(st.median_s),
            "effective_step_time_s": _r(self.effective_step_time),
            "pauses": st.pauses_summary(),
            "gpu": hw.gpu,
            "gpu_count": hw.gpu_count,
            "usd_per_gpu_hour": hw.usd_per_gpu_hour,
            "power_w": hw.power_w,
            "carbon_kg_per_kwh": hw.carbon_kg_per_kwh,
            "pue": hw.pue,
            "sources": dict(hw.sources),
            "total_steps": self.total_steps,
            **_totals_dict(self.total, self.wasted_steps, self.wasted),
            "wasted_share": _r(self.wasted_share, 4),
            "by_finding": [w.to_dict() for w in self.by_finding],
            "notes": list(self.notes),
        }


@dataclass
class SweepCost:
    """A sweep's runs summed."""

    runs: int
    runs_costed: int
    total: Money
    wasted_steps: int
    wasted: Money

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        share = (
            self.wasted.gpu_hours / self.total.gpu_hours
            if self.total.gpu_hours and self.wasted.gpu_hours is not None
            else None
        )
        return {
            "runs": self.runs,
            "runs_costed": self.runs_costed,
            **_totals_dict(self.total, self.wasted_steps, self.wasted),
            "wasted_share": _r(share, 4),
        }


# -- step ranges -------------------------------------------------------------------------
def _step_bounds(run: Run) -> tuple[int, int, int] | None:
    """(first, last, total steps) of the run's training timeline."""
    rng = run.step_range
    if rng is None:
        return None
    first, last = rng
    steps = np.unique(run.scalars["step"].to_numpy(np.int64))
    stride = int(np.median(np.diff(steps))) if len(steps) > 1 else 1
    # Counting from 0 (TensorBoard) the last step is the (last+1)-th; from 1 (Hugging Face) or
    # with the first log one stride in (detectron2 logs step 19 of 0..19), it is the last-th;
    # a log that starts late (a fine-tune continuing a global counter) covers last-first+stride.
    if first == 0:
        total = last + 1
    elif first <= stride:
        total = last
    else:
        total = last - first + stride
    return first, last, max(total, 0)


def _tail_range(finding: "Finding", last: int) -> tuple[int | None, int | None, str | None]:
    """Inclusive (start, end) of the wasted steps of a finding, or a note saying why none."""
    if finding.waste_from_step is None:
        return None, None, finding.waste_unknown
    return finding.waste_from_step, last, None


class _Timeline:
    """Seconds for step ranges from the step time and the costed pauses inside them."""

    def __init__(self, st: StepTime):
        self.st = st

    def seconds(self, start: int, end: int) -> float | None:
        s = self.st.seconds_per_step
        if s is None:
            return None
        n = max(end - start + 1, 0)
        return n * s + self.st.pause_seconds(start - 1, end)

    def union_seconds(self, ranges: list[tuple[int, int]]) -> tuple[int, float | None]:
        """Steps and seconds of the union of inclusive ranges (overlaps counted once)."""
        merged: list[list[int]] = []
        for a, b in sorted(r for r in ranges if r[1] >= r[0]):
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        steps = sum(b - a + 1 for a, b in merged)
        parts = [self.seconds(a, b) for a, b in merged]
        if self.st.seconds_per_step is None:
            return steps, None
        return steps, float(sum(p or 0.0 for p in parts))


def _restart_wastes(run: Run, st: StepTime, hw: Hardware) -> tuple[list[Waste], int, float | None]:
    """One entry per restart: steps computed again, plus the time the run was down.

    A resume that repeats steps shows as overlapping step ranges (``run.overlaps``); the
    clock gap at the resume holds the superseded compute and the downtime. A resume into
    a hole of the log (steps run by a session whose files are absent) shows only as a gap.
    Downtime up to :data:`MAX_BILLED_DOWNTIME_S` counts as GPU time held while down.
    """
    s = st.seconds_per_step
    gaps = [p for p in st.pauses if p.kind in ("restart", "hole")]
    used: set[int] = set()
    wastes: list[Waste] = []
    steps_total, seconds_total = 0, 0.0
    for o in run.overlaps:
        span = int(o.step_end) - int(o.step_start) + 1
        compute = None if s is None else span * s
        gap = next((p for p in gaps if id(p) not in used and o.step_start <= p.step <= o.step_end + 1), None)
        downtime = 0.0
        if gap is not None and compute is not None:
            used.add(id(gap))
            downtime = _billed(gap.seconds - compute)
        seconds = None if compute is None else compute + downtime
        note = f"steps {step_range(o.step_start, o.step_end)} computed again after a restart"
        if downtime:
            note += f"; {downtime:,.0f} s down before the resume"
        wastes.append(Waste(RESTART, span, int(o.step_start), int(o.step_end), price(seconds, hw), note))
        steps_total += span
        seconds_total += seconds or 0.0
    for gap in gaps:
        if id(gap) in used or gap.kind != "hole":
            continue
        downtime = _billed(gap.seconds)
        note = (
            f"restart: steps {step_range(gap.prev_step + 1, gap.step - 1)} are missing from the log and the clock "
            f"stops {gap.seconds:,.0f} s longer than they take; repeated steps can't be counted from these "
            "files"
        )
        if downtime:
            note += "; the gap is counted as GPU time held while the run was down"
        else:
            note += f"; a gap over {MAX_BILLED_DOWNTIME_S:,.0f} s is taken as a stopped job, not costed"
        wastes.append(Waste(RESTART, None, gap.prev_step + 1, gap.step - 1, price(downtime, hw), note))
        seconds_total += downtime
    return wastes, steps_total, (None if s is None else seconds_total)


def _billed(downtime_s: float) -> float:
    return downtime_s if 0.0 < downtime_s <= MAX_BILLED_DOWNTIME_S else 0.0


def estimate_run_cost(
    ra: "RunAnalysis",
    chosen: CostSettings | None = None,
    saved: CostSettings | None = None,
    presets: Presets | None = None,
) -> RunCost:
    """The cost of one analysed run (see the module docstring)."""
    chosen = chosen or CostSettings()
    run = ra.run
    hw = resolve_hardware(chosen, run.meta, saved, presets)
    st = step_time_for(run, chosen.assumed_step_time())
    timeline = _Timeline(st)
    notes = [*hw.notes, *st.notes]
    bounds = _step_bounds(run)
    if bounds is None:
        notes.append("the run has no steps")
        return RunCost(st, hw, 0, Money(), 0, Money(), [], notes)
    first, last, total_steps = bounds

    wastes: list[Waste] = []
    ranges: list[tuple[int, int]] = []
    for finding in ra.findings:
        start, end, why = _tail_range(finding, last)
        if start is None or end is None:
            if why:
                wastes.append(Waste(finding.mode, None, note=why, remedy=finding.remedy))
            continue
        start = max(start, first)
        n = max(end - start + 1, 0)
        wastes.append(Waste(finding.mode, n, start, end, price(timeline.seconds(start, end), hw),
                            remedy=finding.remedy))
        if n:
            ranges.append((start, end))

    restarts, repeated_steps, restart_seconds = _restart_wastes(run, st, hw)
    wastes.extend(restarts)
    repeated = price(restart_seconds, hw)

    union_steps, union_seconds = timeline.union_seconds(ranges)
    wasted = price(union_seconds, hw) + repeated
    total_seconds = None
    if st.seconds_per_step is not None:
        total_seconds = total_steps * st.seconds_per_step + st.pause_seconds() + (restart_seconds or 0.0)
    if st.seconds_per_step is None:
        wasted = Money()
    return RunCost(
        step_time=st,
        hardware=hw,
        total_steps=total_steps + repeated_steps,
        total=price(total_seconds, hw),
        wasted_steps=union_steps + repeated_steps,
        wasted=wasted,
        by_finding=wastes,
        notes=notes,
    )


def sweep_cost(members: list[RunCost | None]) -> SweepCost:
    """Totals over runs: every run counted, the wasted steps of those with a cost summed, the
    money of those with a step time summed (the one place run costs are added up)."""
    total, wasted, steps, costed = Money(), Money(), 0, 0
    for c in members:
        if c is None:
            continue
        steps += c.wasted_steps
        if c.step_time.seconds_per_step is not None:
            costed += 1
            total = total + c.total
            wasted = wasted + c.wasted
    return SweepCost(runs=len(members), runs_costed=costed, total=total, wasted_steps=steps, wasted=wasted)


@dataclass
class Costs:
    """What every run and sweep of one analysis cost: a result held beside the analysis, never
    written into it. Runs are keyed by :attr:`parsers.Run.key`, sweeps by ``SweepAnalysis.key``."""

    runs: dict[str, RunCost] = field(default_factory=dict)
    sweeps: dict[str, SweepCost] = field(default_factory=dict)

    def of_run(self, ra: "RunAnalysis | None") -> RunCost | None:
        """The cost of an analysed run (None when it was not estimated)."""
        return None if ra is None else self.runs.get(ra.run.key)

    def of_sweep(self, sweep: "SweepAnalysis") -> SweepCost | None:
        """The summed cost of a sweep's runs (None when it was not estimated)."""
        return self.sweeps.get(sweep.key)

    def total(self, keys: "Iterable[str] | None" = None) -> SweepCost:
        """Totals over the runs with these keys (default: every costed run)."""
        keys = list(self.runs) if keys is None else list(keys)
        return sweep_cost([self.runs.get(k) for k in keys])


def estimate_costs(
    analysis: "Analysis",
    settings: CostSettings | None = None,
    saved: CostSettings | None = None,
    presets: Presets | None = None,
) -> Costs:
    """The cost of every run (and sweep) of ``analysis``.

    ``settings`` are this analysis' explicit choices (they beat the runs' metadata);
    ``saved`` are the user's persisted defaults (the runs' metadata beats them).
    """
    presets = presets or load_presets()
    costs = Costs({ra.run.key: estimate_run_cost(ra, settings, saved, presets) for ra in analysis.runs})
    for sweep in analysis.sweeps:
        costs.sweeps[sweep.key] = costs.total(sweep.run_keys)
    return costs
