"""The report model: everything a report shows, built once from an :class:`Analysis` (no Qt).

Every renderer (HTML, PDF, Markdown) reads the same :class:`Report`, so the formats never
disagree. Charts are described as data (``chart_specs.py``); ``charts.py`` draws them.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from lrdoctor import __version__
from lrdoctor import formatting as fmt
from lrdoctor.analysis.findings import SEVERITIES, Analysis, Finding, RunAnalysis, SweepAnalysis
from lrdoctor.report.chart_specs import ChartSpec, range_test_chart, sweep_chart, training_chart
from lrdoctor.report.formatting import (  # noqa: F401 - fmt_* re-exported for the renderers
    MAX_VALUE_CHARS,
    clip,
    finding_summary,
    flatten,
    fmt_amount,
    fmt_hours,
    fmt_lr,
    fmt_number,
    fmt_usd,
    fmt_value,
    mode_label,
    sentence_case,
    severity_rank,
    slugify,
    sorted_findings,
    steps_text,
)
from lrdoctor.report.summary import ManagerPage, build_manager_page, finding_waste, run_waste_text
from lrdoctor.style import SEVERITY_COLORS, finding_label, severity_color

if TYPE_CHECKING:
    from lrdoctor.cost import Costs

# How many recommendations the manager's page lists: a page, not a backlog.
TOP_RECOMMENDATIONS = 5
# Hyperparameters shown per run: trainer_state/config files can hold hundreds of keys.
MAX_HYPERPARAMETERS = 60
# Warnings listed per run / per report before "... and N more".
MAX_WARNINGS = 50
NEUTRAL_COLOR = "#6b7280"  # a range test or a run without loss: neither healthy nor faulty


# --------------------------------------------------------------------------- report content
@dataclass
class Verdict:
    """One line of the manager's summary."""

    run: str
    anchor: str
    kind: str
    severity: str | None
    color: str
    sentence: str
    status: str = ""  # the badge text: the severity, "healthy", or "range test"
    wasted_gpu_hours: float | None = None
    wasted_usd: float | None = None
    wasted_kwh: float | None = None


@dataclass
class CostTotals:
    """Waste summed over every run that has a cost estimate."""

    runs: int
    wasted_steps: int
    wasted_gpu_hours: float
    wasted_usd: float
    wasted_kwh: float
    wasted_kg_co2e: float
    total_gpu_hours: float


@dataclass
class Recommendation:
    """A recommendation with the run and finding it comes from."""

    run: str
    anchor: str
    mode_label: str
    severity: str
    color: str
    text: str


@dataclass
class FindingRow:
    """One row of a run's findings table."""

    mode: str
    mode_label: str
    severity: str
    color: str
    confidence: str
    steps: str
    summary: str
    evidence: list[tuple[str, str]]  # the raw numbers (JSON keys); renderers show summary and waste instead
    recommendation: str
    waste: str = ""  # what the finding wasted, or why that is not counted, as a sentence


@dataclass
class RunSection:
    """Everything shown about one run."""

    name: str
    anchor: str
    kind: str
    path: str
    format: str
    steps: int
    verdict: Verdict
    schedule: str
    schedule_params: list[tuple[str, str]]
    suggested_lr: str | None
    findings: list[FindingRow]
    cost: list[tuple[str, str]]
    hyperparameters: list[tuple[str, str]]
    files: list[str]
    warnings: list[str]
    chart: ChartSpec | None
    # The plan for the next run (lrdoctor.analysis.next_run): a one-line summary and its rows;
    # renderers lead the run's section with it.
    next_run: str | None = None
    next_run_rows: list[tuple[str, str]] = field(default_factory=list)
    cost_line: str = ""  # hardware, clock, run total and waste in one sentence
    wasted_usd: float | None = None  # for ordering the report by what matters
    # What the reader must know to trust the verdict: a curve standing in for a missing one, and
    # the checks the logs did not allow ("Not checked: plateau: needs the LR curve ...").
    caveats: list[str] = field(default_factory=list)


def _next_run(ra: RunAnalysis, c: dict[str, Any] | None = None) -> tuple[str | None, list[tuple[str, str]]]:
    plan = getattr(ra, "next_run", None)
    if plan is None or not ra.findings:
        return None, []
    d = plan.to_dict()
    rows = [("Peak LR", f"{fmt_lr(plan.peak_lr)} ({plan.peak_lr_basis.replace('_', ' ')})"),
            ("Warmup", f"{plan.warmup_steps:,} steps" if plan.warmup_steps else "none"),
            ("Schedule", f"this run's ({plan.schedule}): no schedule fixes a model that does not learn"
             if plan.remedy == "setup" else f"{plan.schedule} over {plan.schedule_steps:,} steps"
             + (f", down to {fmt_lr(d['final_lr'])}" if d.get("final_lr") else "")),
            ("Stop at", f"step {plan.stop_step:,}"),
            ("Saves", _plan_saving(plan.saving_steps, c)),
            ("Confidence", fmt.percent(plan.confidence))]
    rows += [("Change", change) for change in plan.changes]
    if plan.peak_lr_reason and plan.peak_lr_basis != "unchanged":
        rows.append(("Why this LR", plan.peak_lr_reason))
    return f"Next run: {plan.summary()}.", rows


def _plan_saving(steps: int | None, c: dict[str, Any] | None) -> str:
    """``~4,000 steps ($87.15)``: the plan's saving priced at the run's own cost per step."""
    if not steps:
        return "-"
    out = f"~{fmt.steps(steps)}"
    if c and c.get("total_steps") and c.get("total_usd") is not None:
        out += f" ({fmt.usd(c['total_usd'] / c['total_steps'] * steps)})"
    return out


@dataclass
class HealthyRow:
    """A run without findings (healthy or not diagnosed): one row of the healthy-runs table."""

    name: str
    anchor: str
    status: str
    color: str
    steps: str
    format: str
    note: str
    wasted: str


@dataclass
class SweepSection:
    """A learning-rate sweep: its chart and per-run table."""

    name: str
    anchor: str
    path: str
    best_lr: str
    max_stable_lr: str
    suggested_lr: str
    points: list[dict[str, str]]
    chart: ChartSpec | None
    notes: list[str] = field(default_factory=list)  # how the sweep was ranked, its cost


@dataclass
class Report:
    """The whole report, renderer-independent."""

    title: str
    version: str
    generated_at: str
    inputs: list[str]
    verdicts: list[Verdict]
    totals: CostTotals | None
    assumptions: list[str]
    recommendations: list[Recommendation]
    runs: list[RunSection]  # every run, in the analysis' order
    sweeps: list[SweepSection]
    warnings: list[str]
    summary: ManagerPage | None = None  # page 1
    detailed: list[RunSection] = field(default_factory=list)  # runs with findings (and range tests), worst first
    healthy: list[HealthyRow] = field(default_factory=list)  # the other runs, one table

    @property
    def healthy_waste(self) -> bool:
        """Whether any run without findings has waste to show (its table's Wasted column)."""
        return self.totals is not None and any(h.wasted for h in self.healthy)

    def charts(self) -> list[ChartSpec]:
        """Every chart the report shows, in reading order."""
        out = [self.summary.chart] if self.summary is not None and self.summary.chart is not None else []
        out += [r.chart for r in self.detailed if r.chart is not None]
        out += [s.chart for s in self.sweeps if s.chart is not None]
        return out


# --------------------------------------------------------------------------- builders
def _verdict(ra: RunAnalysis, anchor: str, costs: Costs | None) -> Verdict:
    run = ra.run
    sev = ra.worst_severity()
    if ra.kind == "range_test":
        sentence = (
            f"LR range test: suggested learning rate {fmt_lr(ra.suggested_lr)}."
            if ra.suggested_lr is not None
            else "LR range test: no usable learning rate could be read from the curve."
        )
        if ra.findings:
            sentence += " " + finding_summary(sorted_findings(ra.findings)[0])
    elif not ra.findings and ra.not_diagnosed:
        sentence = f"Not diagnosed: {ra.not_diagnosed}."
    elif not ra.findings:
        sentence = f"Healthy: no learning-rate problem found in {fmt.steps(ra.steps)}."
    else:
        ordered = sorted_findings(ra.findings)
        top = ordered[0]
        sentence = f"{finding_label(top)}: {finding_summary(top)}"
        if not sentence.endswith("."):
            sentence += "."
        others = list(dict.fromkeys(finding_label(f) for f in ordered[1:] if f.mode != top.mode))
        if others:
            sentence += " Also: " + ", ".join(others) + "."
    undiagnosed = sentence.startswith("Not diagnosed")
    cost = cost_dict(ra, costs) or {}
    return Verdict(
        run=run.name,
        anchor=anchor,
        kind=ra.kind,
        severity=sev,
        color=NEUTRAL_COLOR if sev is None and (ra.kind == "range_test" or undiagnosed) else severity_color(sev),
        sentence=sentence,
        status=sev or ("range test" if ra.kind == "range_test" else "not diagnosed" if undiagnosed else "healthy"),
        wasted_gpu_hours=cost.get("wasted_gpu_hours"),
        wasted_usd=cost.get("wasted_usd"),
        wasted_kwh=cost.get("wasted_kwh"),
    )


def _finding_row(f: Finding, cost: dict[str, Any] | None = None) -> FindingRow:
    evidence = [
        (key, clip(fmt_value(v)))
        for key, v in flatten({k: v for k, v in f.evidence.items() if k != "summary"})
    ]
    return FindingRow(
        mode=f.mode,
        mode_label=finding_label(f),
        severity=f.severity,
        color=SEVERITY_COLORS.get(f.severity, "#6b7280"),
        confidence=fmt.percent(f.confidence),
        steps=steps_text(f),
        summary=_sentence(finding_summary(f)),
        evidence=evidence,
        recommendation=sentence_case(f.recommendation),
        waste=finding_waste(cost, f)[0],
    )


def _sentence(text: str) -> str:
    """Upper-case first letter, full stop at the end."""
    text = sentence_case(text.strip())
    return text if not text or text.endswith((".", "!", "?")) else text + "."


def _cost_line(c: dict[str, Any] | None) -> str:
    """The run's cost in one sentence: hardware, price, clock, total and waste."""
    if c is None:
        return ""
    hw = f"{c.get('gpu_count', '?')} x {c.get('gpu', '?')}"
    hw += (f" at {fmt.usd(c.get('usd_per_gpu_hour'))} per GPU-hour" if c.get("usd_per_gpu_hour") is not None
           else f" ({fmt.no_price(c.get('gpu'))})")
    if c.get("step_time_s") is None:
        return f"{hw}; no clock in the log and no step time given, so not costed: give --step-time."
    source = {"logged": "from the log's clock", "assumed": "assumed (given by the user)"}.get(
        str(c.get("step_time_source")), str(c.get("step_time_source") or ""))
    total = fmt.gpu_hours(c.get("total_gpu_hours"))
    if c.get("usd_per_gpu_hour") is not None:
        total += f", {fmt.usd(c.get('total_usd'))}"
    wasted, share, _ = run_waste_text(c)
    return (f"{hw}; {fmt.step_time(c.get('step_time_s'))} {source}; the run used {total}; "
            f"wasted {wasted}" + (f" ({share} of the run)." if share != fmt.UNKNOWN else "."))


def cost_dict(ra: RunAnalysis, costs: Costs | None) -> dict[str, Any] | None:
    """The run's cost in its JSON form (``RunCost.to_dict()``), or None when it was not estimated."""
    cost = None if costs is None else costs.of_run(ra)
    return None if cost is None else cost.to_dict()


def _step_time_text(c: dict[str, Any]) -> str:
    seconds = c.get("step_time_s")
    if seconds is None:
        return "unknown (no clock in the log and no step time given)"
    source = c.get("step_time_source") or "-"
    method = c.get("step_time_method")
    return f"{fmt_number(seconds)} s ({source}{', ' + str(method) if method else ''})"


def _cost_rows(c: dict[str, Any] | None) -> list[tuple[str, str]]:
    if c is None:
        return []
    rows = [
        ("Step time", _step_time_text(c)),
        ("Hardware", f"{c.get('gpu_count', '-')} x {c.get('gpu', '-')}"),
        ("Price", f"{fmt_usd(c.get('usd_per_gpu_hour'))} per GPU-hour"),
        ("Run total", f"{fmt_hours(c.get('total_gpu_hours'))}, {fmt_usd(c.get('total_usd'))}"),
        ("Wasted", f"{fmt_number(c.get('wasted_steps'))} steps, {fmt_hours(c.get('wasted_gpu_hours'))}, "
                   f"{fmt_usd(c.get('wasted_usd'))}, {fmt_amount(c.get('wasted_kwh'))} kWh, "
                   f"{fmt_amount(c.get('wasted_kg_co2e'))} kg CO2e"),
    ]
    for w in c.get("by_finding") or []:
        if not isinstance(w, dict):
            continue
        where = "" if w.get("step_start") is None else f" (steps {fmt.step_range(w['step_start'], w.get('step_end'))})"
        text = (f"{fmt_number(w.get('wasted_steps'))} steps{where}, {fmt_hours(w.get('wasted_gpu_hours'))}, "
                f"{fmt_usd(w.get('wasted_usd'))}") if w.get("wasted_steps") is not None else str(w.get("note") or "-")
        rows.append((f"Wasted by {mode_label(str(w.get('mode', '?')))}", clip(text, 2 * MAX_VALUE_CHARS)))
    for note in c.get("notes") or []:
        rows.append(("Note", clip(str(note), 2 * MAX_VALUE_CHARS)))
    return rows


def _hyperparameters(meta: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(k, clip(fmt_number(v))) for k, v in flatten(meta)]
    if len(rows) > MAX_HYPERPARAMETERS:
        rows = rows[:MAX_HYPERPARAMETERS] + [("…", f"{len(rows) - MAX_HYPERPARAMETERS} more not shown")]
    return rows


def _limit(items: list[str], limit: int = MAX_WARNINGS) -> list[str]:
    return items if len(items) <= limit else items[:limit] + [f"… and {len(items) - limit} more"]


def _sweep_name(path: str, inputs: list[str]) -> str:
    """The sweep's folder relative to the input it was found in (``runs`` alone says nothing)."""
    p = PurePath(path)
    for root in inputs:
        r = PurePath(root)
        try:
            rel = p.relative_to(r)
        except ValueError:
            continue
        return (PurePath(r.name) / rel).as_posix() if str(rel) != "." else (r.name or str(r))
    return p.name or path


def _sweep_section(sw: SweepAnalysis, taken: set[str], inputs: list[str], costs: Costs | None) -> SweepSection:
    name = _sweep_name(sw.path, inputs)
    key = slugify(f"sweep-{name}", taken)
    # the table shows the ranking metric, the same value the chart plots
    rows = [{"name": str(p.get("name", "")), "lr": fmt_lr(p.get("lr")),
             "final_loss": fmt_number(p.get("ranking_value", p.get("final_loss"))),
             "status": "diverged" if p.get("diverged") else "did not learn" if p.get("failed")
             else "oscillating" if p.get("oscillating") else "ok"}
            for p in sorted(sw.points, key=lambda p: (p.get("lr") is None, p.get("lr") or 0.0))]
    return SweepSection(name, key, sw.path, fmt_lr(sw.best_lr), fmt_lr(sw.max_stable_lr),
                        fmt_lr(sw.suggested_lr), rows, sweep_chart(sw, key, name), _sweep_notes(sw, costs))


def _sweep_notes(sw: SweepAnalysis, costs: Costs | None) -> list[str]:
    d = getattr(sw, "details", None) or {}
    notes = []
    if d.get("metric"):
        near = ", ".join(fmt_lr(x) for x in d.get("lrs_within_5pct_of_best") or [])
        notes.append(f"Runs ranked (and charted) by {d.get('metric_label') or str(d['metric']).replace('_', ' ')}"
                     + (f"; within 5% of the best: {near}." if near else "."))
        notes.append("Max stable LR: the largest LR whose run neither diverged nor oscillated.")
    if d.get("suggested_reason"):
        notes.append(f"Suggested LR: {d['suggested_reason']}.")
    if d.get("max_stable_is_grid_top"):
        notes.append("No run diverged: the largest stable LR is only the top of the grid; higher may work.")
    cost = None if costs is None else costs.of_sweep(sw)
    c = None if cost is None else cost.to_dict()
    if c and c.get("total_gpu_hours") is not None:
        notes.append(f"Sweep cost: {fmt_hours(c['total_gpu_hours'])}, {fmt_usd(c.get('total_usd'))} over "
                     f"{c.get('runs_costed')} costed run(s); wasted {fmt_hours(c.get('wasted_gpu_hours'))}, "
                     f"{fmt_usd(c.get('wasted_usd'))}.")
    return notes


def _schedule(ra: RunAnalysis) -> tuple[str, list[tuple[str, str]]]:
    params = [(str(k), clip(fmt_number(v) if "lr" not in str(k).lower() or not isinstance(v, float)
                             else fmt_lr(v)))
              for k, v in flatten(ra.schedule.params)]
    return ra.schedule.kind.replace("_", " "), params


def _totals(analysis: Analysis, all_costs: Costs | None) -> CostTotals | None:
    """Waste over the runs with a cost, summed by the cost layer (``Costs.total``)."""
    if all_costs is None:
        return None
    keys = [ra.run.key for ra in analysis.runs if all_costs.of_run(ra) is not None]
    if not keys:
        return None
    t = all_costs.total(keys)
    return CostTotals(
        runs=len(keys),
        wasted_steps=int(t.wasted_steps),
        wasted_gpu_hours=t.wasted.gpu_hours or 0.0,
        wasted_usd=t.wasted.usd or 0.0,
        wasted_kwh=t.wasted.kwh or 0.0,
        wasted_kg_co2e=t.wasted.kg_co2e or 0.0,
        total_gpu_hours=t.total.gpu_hours or 0.0,
    )


# Up to this many runs are named in an assumption sentence; more are counted, not listed.
MAX_NAMED_RUNS = 3


def _assumptions(analysis: Analysis, costs: Costs | None) -> list[str]:
    """One sentence per distinct cost setup: GPU, count, price, power, and where the step time came from."""
    groups: dict[tuple, dict[str, list[tuple[str, float | None]]]] = {}
    for ra in analysis.runs:
        c = cost_dict(ra, costs)
        if c is None:
            continue
        key = (c.get("gpu"), c.get("gpu_count"), c.get("usd_per_gpu_hour"), c.get("power_w"),
               c.get("carbon_kg_per_kwh"), c.get("pue"))
        source = c.get("step_time_source") if c.get("step_time_s") is not None else None
        groups.setdefault(key, {}).setdefault(source or "none", []).append((ra.run.name, c.get("step_time_s")))
    out = []
    for (gpu, count, price, power, carbon, pue), by_source in groups.items():
        energy = "" if power is None else (f", {fmt_number(power)} W per GPU, PUE {fmt_number(pue)}, "
                                           f"{fmt_number(carbon)} kg CO2e/kWh")
        parts = []
        for source, runs in by_source.items():
            how = {"logged": "measured from the logged clock", "assumed": "assumed (given by the user)",
                   "none": "unknown (no clock, no step time given): not costed"}.get(source, source)
            times = [t for _, t in runs if t is not None]
            span = "" if not times else (f", {fmt_number(min(times))} s/step" if min(times) == max(times)
                                         else f", {fmt_number(min(times))}–{fmt_number(max(times))} s/step")
            who = ", ".join(n for n, _ in runs) if len(runs) <= MAX_NAMED_RUNS else f"{len(runs)} runs"
            parts.append(f"step time {how} for {who}{span}")
        out.append(f"{count} x {gpu} at {fmt_usd(price)} per GPU-hour{energy}; " + "; ".join(parts) + ".")
    return out


def _recommendations(analysis: Analysis, anchors: dict[int, str]) -> list[Recommendation]:
    pairs = [(ra, f) for ra in analysis.runs for f in ra.findings if f.recommendation]
    pairs.sort(key=lambda p: (-SEVERITIES.index(p[1].severity), -float(p[1].confidence)))
    seen: set[str] = set()
    out = []
    for ra, f in pairs:
        if f.recommendation in seen:
            continue
        seen.add(f.recommendation)
        out.append(Recommendation(ra.run.name, anchors[id(ra)], finding_label(f), f.severity,
                                  SEVERITY_COLORS.get(f.severity, "#6b7280"), sentence_case(f.recommendation)))
        if len(out) == TOP_RECOMMENDATIONS:
            break
    return out


def build_report(analysis: Analysis, inputs: list[str] | None = None, *, costs: Costs | None = None,
                 now: _dt.datetime | None = None, title: str = "Learning-rate post-mortem") -> Report:
    """The report model for ``analysis`` and its ``costs`` (``lrdoctor.cost.estimate_costs``); ``inputs``
    are the paths the user gave (default: the runs')."""

    def cost_of(ra: RunAnalysis) -> dict[str, Any] | None:
        return cost_dict(ra, costs)

    taken: set[str] = set()
    anchors = {id(ra): slugify(f"run-{ra.run.name}", taken) for ra in analysis.runs}
    sections = []
    for ra in analysis.runs:
        anchor = anchors[id(ra)]
        run = ra.run
        kind, params = _schedule(ra)
        chart = range_test_chart(ra, anchor) if ra.kind == "range_test" else training_chart(ra, anchor)
        plan = _next_run(ra, cost_of(ra))
        sections.append(RunSection(
            name=run.name,
            anchor=anchor,
            kind=ra.kind,
            path=run.path,
            format=run.format,
            steps=ra.steps,
            verdict=_verdict(ra, anchor, costs),
            schedule=kind,
            schedule_params=params,
            suggested_lr=None if ra.suggested_lr is None else fmt_lr(ra.suggested_lr),
            findings=[_finding_row(f, cost_of(ra)) for f in sorted_findings(ra.findings)],
            cost=_cost_rows(cost_of(ra)),
            hyperparameters=_hyperparameters(run.meta),
            files=list(run.files) or [run.path],
            warnings=_limit(list(run.warnings)),
            chart=chart,
            next_run=plan[0],
            next_run_rows=plan[1],
            cost_line=_cost_line(cost_of(ra)),
            wasted_usd=run_waste_text(cost_of(ra))[2],
            caveats=[sentence_case(c) for c in ra.caveats()],
        ))
    if inputs is None:
        inputs = list(dict.fromkeys([ra.run.path for ra in analysis.runs] + [s.path for s in analysis.sweeps]))
    now = now or _dt.datetime.now().astimezone()
    return Report(
        title=title,
        version=__version__,
        generated_at=now.strftime("%Y-%m-%d %H:%M %Z").strip(),
        inputs=[str(p) for p in inputs],
        # The manager reads the worst first; the run sections keep the analysis' order.
        verdicts=sorted((s.verdict for s in sections), key=lambda v: -severity_rank(v.severity)),
        totals=_totals(analysis, costs),
        assumptions=_assumptions(analysis, costs),
        recommendations=_recommendations(analysis, anchors),
        runs=sections,
        sweeps=[_sweep_section(sw, taken, [str(p) for p in inputs], costs) for sw in analysis.sweeps],
        warnings=_limit([str(w) for w in analysis.warnings]),
        summary=build_manager_page(analysis, anchors, cost_of, costs),
        detailed=sorted((r for r in sections if r.findings or r.kind == "range_test"),
                        # the money first (as on page 1), then the severity; range tests last
                        key=lambda r: (r.kind == "range_test", -(r.wasted_usd or 0.0),
                                       -severity_rank(r.verdict.severity))),
        healthy=[_healthy_row(r, cost_of(ra)) for r, ra in zip(sections, analysis.runs)
                 if not r.findings and r.kind != "range_test"],
    )


def _healthy_row(r: RunSection, c: dict[str, Any] | None) -> HealthyRow:
    v = r.verdict
    note = v.sentence.split(": ", 1)[1] if v.sentence.startswith(("Healthy: ", "Not diagnosed: ")) else v.sentence
    if r.caveats:
        note = f"{note.rstrip('.')}. " + " ".join(c.rstrip(".") + "." for c in r.caveats)
    wasted = run_waste_text(c)[0] if c is not None and (c.get("wasted_steps") or 0) else ""
    return HealthyRow(r.name, r.anchor, v.status, v.color, fmt.count(r.steps), r.format, sentence_case(note), wasted)
