"""The manager's page (the fleet page): what was spent, what was wasted, by whom, and what to do first.

Built from the runs' cost results (``cost_dict``) and findings, no Qt. Page 1 of every report format
renders it and nothing else, so it has to fit one page: the numbers are capped by named constants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from lrdoctor import formatting as fmt
from lrdoctor.report.chart_specs import ChartSpec, Panel, Series
from lrdoctor.report.formatting import mode_label, sentence_case, severity_rank, sorted_findings
from lrdoctor.style import SEVERITY_COLORS, finding_label, severity_color

if TYPE_CHECKING:
    from lrdoctor.analysis.findings import Analysis, Finding, RunAnalysis

# Runs listed on page 1, ranked by wasted money: the ones worth a manager's minute.
TOP_RUNS = 5
# Actions on page 1: the three that save the most.
TOP_ACTIONS = 3
# The waste chart names at most this many failure modes (the rest are summed as "other").
CHART_MODES = 6
BAR_COLOR = "#dc2626"  # waste is the red of a critical finding


@dataclass
class RunWaste:
    """One run's line on the manager's page."""

    run: str
    anchor: str
    severity: str | None
    color: str
    worst: str  # the worst finding's label, or the run's status
    wasted: str  # money (or GPU-hours / steps / why not counted)
    share: str  # share of the run's own cost
    wasted_usd: float | None = None  # for ranking


@dataclass
class Action:
    """A recommendation with what following it saves."""

    run: str
    anchor: str
    mode_label: str
    severity: str
    color: str
    text: str
    saving: str  # "saves $87.15 (4,000 steps)" or why the saving is not counted
    saving_usd: float | None = None


@dataclass
class ManagerPage:
    """Page 1: totals, one verdict sentence, top runs by waste, top actions, waste by failure mode."""

    runs: int
    runs_with_findings: int
    runs_costed: int
    spent: str  # "$30.65" or the GPU-hours with why there is no money
    wasted: str
    wasted_share: str
    wasted_gpu_hours: str
    wasted_steps: str
    verdict: str
    top_runs: list[RunWaste] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    by_mode: list[tuple[str, str]] = field(default_factory=list)  # (failure mode, wasted money)
    notes: list[str] = field(default_factory=list)  # runs not costed, GPUs without a price
    chart: ChartSpec | None = None
    costed_any: bool = False  # any run carries a cost estimate (else: no spend/waste figures at all)


def _f(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _priced(c: dict[str, Any]) -> bool:
    return c.get("usd_per_gpu_hour") is not None


def _money_or_hours(usd: float | None, hours: float | None, priced: bool, unpriced_gpus: list[str]) -> str:
    if priced and usd is not None:
        return fmt.usd(usd)
    if hours is not None:
        why = "; ".join(fmt.no_price(g) for g in unpriced_gpus) or "no price"
        return f"{fmt.gpu_hours(hours)} ({why})"
    return fmt.UNKNOWN


def finding_waste(c: dict[str, Any] | None, f: "Finding") -> tuple[str, float | None]:
    """What one finding wasted, as a sentence with formatted numbers, and its dollars (or None).

    A finding whose waste is not counted says why: no clock, no price, or no step range a fix saves.
    """
    if c is None:
        return "Waste not counted: no cost estimate was made.", None
    entry = next((w for w in c.get("by_finding") or [] if isinstance(w, dict) and w.get("mode") == f.mode), None)
    if entry is None:
        return ("Waste not counted: this kind of finding marks no steps a fix would have saved "
                "(the steps were needed; a fix changes how they train)."), None
    steps = entry.get("wasted_steps")
    if steps is None:
        return f"Waste not counted: {entry.get('note') or 'no step range'}.", None
    where = ""
    if entry.get("step_start") is not None and entry.get("step_end") is not None and steps:
        where = f" (steps {fmt.step_range(entry['step_start'], entry['step_end'])})"
    if c.get("step_time_s") is None:
        return (f"{fmt.steps(steps)} wasted{where}; not priced: no clock in the log, give --step-time.",
                None)
    usd = _f(entry.get("wasted_usd"))
    if not _priced(c):
        return (f"{fmt.steps(steps)} wasted{where}, {fmt.gpu_hours(entry.get('wasted_gpu_hours'))} "
                f"({fmt.no_price(c.get('gpu'))}).", None)
    return f"{fmt.steps(steps)} wasted{where}: {fmt.usd(usd)}, {fmt.gpu_hours(entry.get('wasted_gpu_hours'))}.", usd


def run_waste_text(c: dict[str, Any] | None) -> tuple[str, str, float | None]:
    """(wasted, share of the run, wasted dollars) of one run for tables."""
    if c is None:
        return fmt.UNKNOWN, fmt.UNKNOWN, None
    if c.get("step_time_s") is None:
        steps = c.get("wasted_steps") or 0
        return (f"{fmt.steps(steps)}, no clock" if steps else "no clock"), fmt.UNKNOWN, None
    share = fmt.percent(_f(c.get("wasted_share")))
    if not _priced(c):
        return f"{fmt.gpu_hours(c.get('wasted_gpu_hours'))}, {fmt.no_price(c.get('gpu'))}", share, None
    usd = _f(c.get("wasted_usd"))
    return fmt.usd(usd), share, usd


def build_manager_page(analysis: "Analysis", anchors: dict[int, str],
                       cost_of: Any, costs: Any = None) -> ManagerPage:
    """The manager's page of ``analysis``; ``cost_of(ra)`` gives a run's cost dict (or None) from
    ``costs`` (``lrdoctor.cost.Costs``, held beside the analysis).

    The totals, the waste by failure mode and the ranking are the fleet summary's
    (:func:`lrdoctor.fleet.summary.fleet_summary`, their one owner); this page words them.
    """
    from lrdoctor.fleet.summary import fleet_summary

    fleet = fleet_summary(analysis, costs)
    runs = list(analysis.runs)
    costs = {id(ra): cost_of(ra) for ra in runs}
    costed = [c for c in costs.values() if c is not None and c.get("step_time_s") is not None]
    unpriced_gpus = sorted({str(c.get("gpu")) for c in costed if not _priced(c)})
    money = fleet.total_usd is not None

    spent = _money_or_hours(fleet.total_usd, fleet.total_gpu_hours, money, unpriced_gpus)
    wasted = _money_or_hours(fleet.wasted_usd, fleet.wasted_gpu_hours, money, unpriced_gpus)
    share = fmt.percent(fleet.wasted_share)

    with_findings = [ra for ra in runs if ra.findings]
    ranked = [runs[r.index] for r in fleet.ranked if runs[r.index].findings]
    # Runs that wasted something come first; runs with nothing counted only fill an otherwise empty table.
    wasting = [runs[r.index] for r in fleet.ranked if runs[r.index].findings
               and ((r.wasted_gpu_hours or 0.0) > 0 or r.wasted_steps)]
    top_runs = []
    for ra in (wasting or ranked)[:TOP_RUNS]:
        text, run_share, usd = run_waste_text(costs[id(ra)])
        worst = sorted_findings(ra.findings)[0]
        top_runs.append(RunWaste(ra.run.name, anchors[id(ra)], worst.severity, severity_color(worst.severity),
                                 finding_label(worst), text, run_share, usd))

    page = ManagerPage(
        costed_any=any(c is not None for c in costs.values()),
        runs=len(runs), runs_with_findings=len(with_findings), runs_costed=fleet.costed_runs,
        spent=spent, wasted=wasted, wasted_share=share,
        wasted_gpu_hours=fmt.gpu_hours(fleet.wasted_gpu_hours), wasted_steps=fmt.count(fleet.wasted_steps),
        verdict=_verdict(runs, with_findings, wasting or ranked, costs, wasted, share, money or not costed),
        top_runs=top_runs,
        actions=_actions(runs, anchors, costs),
    )
    totals = [(m.mode, m.wasted_usd if money else m.wasted_gpu_hours) for m in fleet.by_mode]
    totals = [(mode, float(v)) for mode, v in totals if v]
    show = fmt.usd if money else fmt.gpu_hours
    page.by_mode = [(mode_label(m), show(v)) for m, v in totals]
    page.notes.extend(sentence_case(n).rstrip(".") + "." for n in fleet.notes)
    if unpriced_gpus:
        page.notes.extend(f"{fmt.no_price(g)}." for g in unpriced_gpus)
    page.chart = waste_chart(totals, money)
    return page


def _run_usd(c: dict[str, Any] | None) -> float | None:
    if not c or c.get("step_time_s") is None or not _priced(c):
        return None
    return _f(c.get("wasted_usd"))


def _verdict(runs: list["RunAnalysis"], with_findings: list["RunAnalysis"], ranked: list["RunAnalysis"],
             costs: dict[int, Any], wasted: str, share: str, money: bool) -> str:
    if not runs:
        return "No run was found."
    if not with_findings:
        return f"All {fmt.count(len(runs))} runs look healthy: no learning-rate problem found."
    critical = sum(1 for ra in with_findings if ra.worst_severity() == "critical")
    head = (f"{wasted} ({share} of the spend) went to learning-rate problems" if share != fmt.UNKNOWN
            else "Learning-rate problems found")
    sentence = f"{head} in {len(with_findings)} of {len(runs)} runs ({critical} critical)"
    top = ranked[0]
    top_usd = _run_usd(costs[id(top)])
    if money and top_usd:
        worst = sorted_findings(top.findings)[0]
        sentence += f"; {top.run.name} alone wasted {fmt.usd(top_usd)} ({worst.mode.replace('_', ' ')})"
    return sentence + "."


def _actions(runs: list["RunAnalysis"], anchors: dict[int, str], costs: dict[int, Any]) -> list[Action]:
    """The recommendations ranked by what they save, then by severity; one per (run, finding)."""
    candidates = []
    for ra in runs:
        for f in ra.findings:
            if not f.recommendation:
                continue
            text, usd = finding_waste(costs[id(ra)], f)
            saving = f"saves {fmt.usd(usd)}" if usd else _saving_without_money(text)
            candidates.append(Action(ra.run.name, anchors[id(ra)], finding_label(f), f.severity,
                                     SEVERITY_COLORS.get(f.severity, "#6b7280"),
                                     sentence_case(f.recommendation), saving, usd))
    candidates.sort(key=lambda a: (-(a.saving_usd or 0.0), -severity_rank(a.severity)))
    out, seen = [], set()
    for a in candidates:
        if a.text in seen:
            continue
        seen.add(a.text)
        out.append(a)
        if len(out) == TOP_ACTIONS:
            break
    return out


def _saving_without_money(waste_text: str) -> str:
    if waste_text.startswith("Waste not counted"):
        return "saving not counted"
    return "saves " + waste_text.split(" wasted")[0]  # "790 steps wasted (steps ...)..." -> "saves 790 steps"


def waste_chart(totals: list[tuple[str, float]], money: bool, key: str = "fleet-waste") -> ChartSpec | None:
    """Bars of wasted money (GPU-hours without a price) per failure mode, the biggest first."""
    if not totals:
        return None
    ranked = list(totals)
    if len(ranked) > CHART_MODES:
        ranked = ranked[:CHART_MODES - 1] + [("other", sum(v for _, v in ranked[CHART_MODES - 1:]))]
    series = Series("wasted", np.arange(len(ranked), dtype=np.float64),
                    np.asarray([v for _, v in ranked], dtype=np.float64), BAR_COLOR, "bars")
    unit = "wasted $" if money else "wasted GPU-hours"
    return ChartSpec(key, f"Where the waste went: {unit} by failure mode", "", [Panel(unit, [series], height=2)],
                     categories=[m.replace("_", " ") for m, _ in ranked])
