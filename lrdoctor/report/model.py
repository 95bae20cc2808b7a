"""The report model: everything a report shows, built once from an :class:`Analysis` (no Qt).

Every renderer (HTML, PDF, Markdown) reads the same :class:`Report`, so the formats never
disagree. Charts are described here as data (:class:`ChartSpec`); ``charts.py`` draws them.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any, Iterable

import numpy as np

from lrdoctor import __version__
from lrdoctor.analysis.findings import SEVERITIES, Analysis, Finding, RunAnalysis, SweepAnalysis
from lrdoctor.style import MODE_LABELS, ROLE_COLORS, RUN_PALETTE, SEVERITY_COLORS, severity_color

# How many recommendations the manager's page lists: a page, not a backlog.
TOP_RECOMMENDATIONS = 5
# Hyperparameters shown per run: trainer_state/config files can hold hundreds of keys.
MAX_HYPERPARAMETERS = 60
# Long values (lists, paths, nested blobs) are cut so a table cell stays one line or two.
MAX_VALUE_CHARS = 120
# Warnings listed per run / per report before "... and N more".
MAX_WARNINGS = 50
# Sweep-chart marker colours: best LR in the healthy green, the stability edge in amber.
BEST_LR_COLOR = "#16a34a"
MAX_STABLE_COLOR = "#f59e0b"
SUGGESTED_COLOR = "#3b82f6"
RANGE_TEST_COLOR = "#6b7280"  # a range test is a measurement, neither healthy nor faulty


# --------------------------------------------------------------------------- charts as data
@dataclass
class Series:
    """One curve (or point set) of a chart panel."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: str
    style: str = "line"  # "line" | "points" | "cross"


@dataclass
class Shade:
    """A shaded x-range (a finding's steps) in a severity colour."""

    start: float
    end: float
    color: str
    label: str


@dataclass
class Marker:
    """A vertical line at ``x`` (a suggested LR, a best LR ...)."""

    x: float
    label: str
    color: str
    dashed: bool = False


@dataclass
class Panel:
    """One plot of a chart; panels of a chart share the x axis."""

    y_label: str
    series: list[Series] = field(default_factory=list)
    shades: list[Shade] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    log_y: bool = False
    height: int = 3  # relative height among the chart's panels


@dataclass
class ChartSpec:
    """A chart to draw: ``key`` is unique in the report and safe as a file name."""

    key: str
    title: str
    x_label: str
    panels: list[Panel]
    log_x: bool = False


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
    evidence: list[tuple[str, str]]
    recommendation: str


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
    runs: list[RunSection]
    sweeps: list[SweepSection]
    warnings: list[str]

    def charts(self) -> list[ChartSpec]:
        """Every chart of the report, in reading order."""
        out = [r.chart for r in self.runs if r.chart is not None]
        out += [s.chart for s in self.sweeps if s.chart is not None]
        return out


# --------------------------------------------------------------------------- formatting
def fmt_number(x: Any, digits: int = 4) -> str:
    """A number for people: ``1,234``, ``0.0123``, ``3e-05``; non-numbers as text."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x)
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, (float, np.floating)):
        x = float(x)
        if not math.isfinite(x):
            return str(x)
        if x == 0:
            return "0"
        if abs(x) >= 1e4:
            return f"{x:,.0f}"
        if abs(x) < 1e-3:
            return f"{x:.3g}"
        return f"{x:.{digits}g}"
    return str(x)


def fmt_lr(x: float | None) -> str:
    """A learning rate: ``3e-04`` style below 0.01, ``0.03`` above."""
    if x is None or not math.isfinite(float(x)):
        return "-"
    return f"{x:.2e}" if abs(x) < 1e-2 else f"{x:.3g}"


def fmt_usd(x: float | None) -> str:
    """Dollars with cents; two significant digits below a dollar (small runs cost fractions of a cent)."""
    if x is None:
        return "-"
    return f"${x:,.2f}" if x >= 1 or x == 0 else f"${x:.2g}"


def fmt_amount(x: float | None) -> str:
    """A quantity such as GPU-hours or kWh: two decimals, two significant digits below 1."""
    if x is None:
        return "-"
    return f"{x:,.2f}" if x >= 1 or x == 0 else f"{x:.2g}"


def fmt_hours(x: float | None) -> str:
    """GPU-hours."""
    return "-" if x is None else f"{fmt_amount(x)} GPU-h"


def _clip(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slugify(text: str, taken: set[str]) -> str:
    """A file- and anchor-safe unique key for ``text``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.").lower()[:60] or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    taken.add(key)
    return key


def flatten(mapping: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Nested dicts as dotted keys."""
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, name + ".")
        else:
            yield name, value


def _steps_text(f: Finding) -> str:
    start, end = f.step_start, f.step_end
    if start is None and end is None:
        return "whole run"
    if start is None:
        return f"..{end:,}"
    if end is None:
        return f"{start:,}.."
    return f"{start:,}" if start == end else f"{start:,}..{end:,}"


def _severity_rank(severity: str | None) -> int:
    """0 for healthy, then info < warning < critical."""
    return 0 if severity is None else SEVERITIES.index(severity) + 1


def _sorted_findings(findings: list[Finding]) -> list[Finding]:
    """Most severe first, then most confident."""
    return sorted(findings, key=lambda f: (-SEVERITIES.index(f.severity), -float(f.confidence)))


def _summary(f: Finding) -> str:
    return str(f.evidence.get("summary") or MODE_LABELS.get(f.mode, f.mode))


def sentence_case(text: str) -> str:
    """First letter upper case (the analyzer writes recommendations to follow a colon)."""
    return text[:1].upper() + text[1:]


def mode_label(mode: str) -> str:
    """The people's name of a failure mode."""
    return MODE_LABELS.get(mode, mode.replace("_", " "))


# --------------------------------------------------------------------------- builders
def _verdict(ra: RunAnalysis, anchor: str) -> Verdict:
    run = ra.run
    sev = ra.worst_severity()
    if ra.kind == "range_test":
        sentence = (
            f"LR range test: suggested learning rate {fmt_lr(ra.suggested_lr)}."
            if ra.suggested_lr is not None
            else "LR range test: no usable learning rate could be read from the curve."
        )
        if ra.findings:
            sentence += " " + _summary(_sorted_findings(ra.findings)[0])
    elif not ra.findings:
        sentence = f"Healthy: no learning-rate problem found in {ra.steps:,} steps."
    else:
        ordered = _sorted_findings(ra.findings)
        top = ordered[0]
        sentence = f"{mode_label(top.mode)}: {_summary(top)}"
        if not sentence.endswith("."):
            sentence += "."
        others = list(dict.fromkeys(mode_label(f.mode) for f in ordered[1:] if f.mode != top.mode))
        if others:
            sentence += " Also: " + ", ".join(others) + "."
    cost = cost_dict(ra) or {}
    return Verdict(
        run=run.name,
        anchor=anchor,
        kind=ra.kind,
        severity=sev,
        color=RANGE_TEST_COLOR if sev is None and ra.kind == "range_test" else severity_color(sev),
        sentence=sentence,
        status=sev or ("range test" if ra.kind == "range_test" else "healthy"),
        wasted_gpu_hours=cost.get("wasted_gpu_hours"),
        wasted_usd=cost.get("wasted_usd"),
        wasted_kwh=cost.get("wasted_kwh"),
    )


def _finding_row(f: Finding) -> FindingRow:
    evidence = [
        (str(k), _clip(fmt_number(v) if not isinstance(v, (list, dict, tuple)) else str(v)))
        for k, v in f.evidence.items()
        if k != "summary"
    ]
    return FindingRow(
        mode=f.mode,
        mode_label=mode_label(f.mode),
        severity=f.severity,
        color=SEVERITY_COLORS.get(f.severity, "#6b7280"),
        confidence=f"{float(f.confidence):.0%}",
        steps=_steps_text(f),
        summary=_summary(f),
        evidence=evidence,
        recommendation=sentence_case(f.recommendation),
    )


def cost_dict(ra: RunAnalysis) -> dict[str, Any] | None:
    """The run's cost in its JSON form (``RunCost.to_dict()``), or None when it was not estimated."""
    cost = getattr(ra, "cost", None)
    if cost is None:
        return None
    return cost.to_dict() if hasattr(cost, "to_dict") else dict(vars(cost))


def _step_time_text(c: dict[str, Any]) -> str:
    seconds = c.get("step_time_s")
    if seconds is None:
        return "unknown (no clock in the log and no step time given)"
    source = c.get("step_time_source") or "-"
    method = c.get("step_time_method")
    return f"{fmt_number(seconds)} s ({source}{', ' + str(method) if method else ''})"


def _cost_rows(ra: RunAnalysis) -> list[tuple[str, str]]:
    c = cost_dict(ra)
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
        where = "" if w.get("step_start") is None else f" (steps {w['step_start']:,}..{w.get('step_end') or 0:,})"
        text = (f"{fmt_number(w.get('wasted_steps'))} steps{where}, {fmt_hours(w.get('wasted_gpu_hours'))}, "
                f"{fmt_usd(w.get('wasted_usd'))}") if w.get("wasted_steps") is not None else str(w.get("note") or "-")
        rows.append((f"Wasted by {mode_label(str(w.get('mode', '?')))}", _clip(text, 2 * MAX_VALUE_CHARS)))
    for note in c.get("notes") or []:
        rows.append(("Note", _clip(str(note), 2 * MAX_VALUE_CHARS)))
    return rows


def _hyperparameters(meta: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(k, _clip(fmt_number(v))) for k, v in flatten(meta)]
    if len(rows) > MAX_HYPERPARAMETERS:
        rows = rows[:MAX_HYPERPARAMETERS] + [("…", f"{len(rows) - MAX_HYPERPARAMETERS} more not shown")]
    return rows


def _limit(items: list[str], limit: int = MAX_WARNINGS) -> list[str]:
    return items if len(items) <= limit else items[:limit] + [f"… and {len(items) - limit} more"]


def _series(ra: RunAnalysis, role: str, label: str | None = None) -> Series | None:
    df = ra.run.role_series(role)
    if df is None or df.empty:
        return None
    y = df["value"].to_numpy(np.float64, copy=True)
    y[~np.isfinite(y)] = np.nan  # pyqtgraph breaks the line at NaN; inf would wreck the range
    tag = ra.run.primary_tag(role) or role
    return Series(label or tag, df["step"].to_numpy(np.float64), y, ROLE_COLORS.get(role, RUN_PALETTE[0]))


def _wants_log(series: list[Series]) -> bool:
    """Log y when the curve spans more than two decades (an explosion would flatten the rest)."""
    values = np.concatenate([s.y for s in series]) if series else np.array([])
    values = values[np.isfinite(values)]
    return bool(values.size and values.min() > 0 and values.max() / values.min() > 100)


def _shades(ra: RunAnalysis, last_step: float) -> list[Shade]:
    out = []
    for f in _sorted_findings(ra.findings)[::-1]:  # the most severe drawn last, on top
        if f.step_start is None and f.step_end is None:
            continue
        start = float(f.step_start if f.step_start is not None else 0)
        end = float(f.step_end if f.step_end is not None else last_step)
        out.append(Shade(start, max(end, start), SEVERITY_COLORS.get(f.severity, "#6b7280"), mode_label(f.mode)))
    return out


def _training_chart(ra: RunAnalysis, key: str) -> ChartSpec | None:
    loss = [s for s in (_series(ra, "train_loss"), _series(ra, "val_loss")) if s is not None]
    lr = _series(ra, "lr")
    if not loss and lr is None:
        return None
    last = max((float(np.nanmax(s.x)) for s in loss + ([lr] if lr else []) if s.x.size), default=0.0)
    shades = _shades(ra, last)
    panels = []
    if loss:
        panels.append(Panel("loss", loss, shades, log_y=_wants_log(loss), height=3))
    if lr is not None:
        panels.append(Panel("learning rate", [lr], shades, height=2 if loss else 3))
    return ChartSpec(key, ra.run.name, "step", panels)


def _range_test_chart(ra: RunAnalysis, key: str) -> ChartSpec | None:
    """Loss vs LR (log x) with each rule's LR and the suggestion marked; the step chart as fallback."""
    d = ra.details.get("range_test")
    d = d if isinstance(d, dict) else ra.details
    if d.get("lr") is None:
        # The analysis keeps only the summary; the curve comes from the analyzer's own function.
        from lrdoctor.analysis.range_test import analyze_range_test

        d = {**vars(analyze_range_test(ra.run)), **d}
    lr, smooth = d.get("lr"), d.get("smoothed_loss")
    if lr is None or smooth is None or len(lr) == 0:
        return _training_chart(ra, key)
    x = np.asarray(lr, dtype=np.float64)
    y = np.asarray(smooth, dtype=np.float64).copy()
    y[~np.isfinite(y)] = np.nan
    series = [Series("smoothed loss", x, y, ROLE_COLORS["train_loss"])]
    raw = d.get("loss")
    if raw is not None and len(raw) == len(x):
        raw = np.asarray(raw, dtype=np.float64).copy()
        raw[~np.isfinite(raw)] = np.nan
        series.insert(0, Series("loss", x, raw, "#9ca3af"))
    suggested = None if ra.suggested_lr is None else float(ra.suggested_lr)
    markers = []
    for i, (name, value) in enumerate(_suggestions(d)):
        if suggested is not None and math.isclose(value, suggested):
            continue  # drawn once, as the suggestion
        markers.append(Marker(value, f"{name} {fmt_lr(value)}", RUN_PALETTE[(i + 3) % len(RUN_PALETTE)], True))
    if suggested is not None:
        rule = d.get("suggested_rule")
        label = f"suggested {fmt_lr(suggested)}" + (f" ({rule})" if rule and rule != "none" else "")
        markers.append(Marker(suggested, label, SUGGESTED_COLOR))
    return ChartSpec(key, f"{ra.run.name}: LR range test, loss vs learning rate", "learning rate",
                     [Panel("loss", series, [], markers, log_y=_wants_log(series))], log_x=True)


def _suggestions(details: dict[str, Any]) -> list[tuple[str, float]]:
    """The range test's per-rule LR suggestions (``rules``: name -> LR or None)."""
    rules = details.get("rules") or details.get("suggestions") or {}
    out: list[tuple[str, float]] = []
    for name, value in (rules.items() if isinstance(rules, dict) else []):
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            out.append((str(name), float(value)))
    return out


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


def _sweep_section(sw: SweepAnalysis, taken: set[str], inputs: list[str]) -> SweepSection:
    name = _sweep_name(sw.path, inputs)
    key = slugify(f"sweep-{name}", taken)
    rows, ok_x, ok_y, bad_x, bad_y = [], [], [], [], []
    finite = [float(p["final_loss"]) for p in sw.points
              if p.get("final_loss") is not None and math.isfinite(float(p["final_loss"]))]
    ceiling = max(finite) if finite else 1.0
    for p in sorted(sw.points, key=lambda p: (p.get("lr") is None, p.get("lr") or 0.0)):
        lr, loss, diverged = p.get("lr"), p.get("final_loss"), bool(p.get("diverged"))
        rows.append({"name": str(p.get("name", "")), "lr": fmt_lr(lr), "final_loss": fmt_number(loss),
                     "status": "diverged" if diverged else "did not learn" if p.get("failed") else "ok"})
        if lr is None:
            continue
        loss_ok = loss is not None and math.isfinite(float(loss))
        if diverged or not loss_ok:
            bad_x.append(float(lr))
            bad_y.append(float(loss) if loss_ok else ceiling)  # a NaN loss is drawn at the top
        else:
            ok_x.append(float(lr))
            ok_y.append(float(loss))
    series = [Series("final loss", np.array(ok_x), np.array(ok_y), ROLE_COLORS["train_loss"], "points")]
    if bad_x:
        series.append(Series("diverged", np.array(bad_x), np.array(bad_y), SEVERITY_COLORS["critical"], "cross"))
    markers = []
    if sw.best_lr is not None:
        markers.append(Marker(float(sw.best_lr), f"best {fmt_lr(sw.best_lr)}", BEST_LR_COLOR))
    if sw.max_stable_lr is not None:
        markers.append(Marker(float(sw.max_stable_lr), f"max stable {fmt_lr(sw.max_stable_lr)}",
                              MAX_STABLE_COLOR, True))
    if sw.suggested_lr is not None and sw.suggested_lr != sw.best_lr:
        markers.append(Marker(float(sw.suggested_lr), f"suggested {fmt_lr(sw.suggested_lr)}", SUGGESTED_COLOR, True))
    chart = None
    if ok_x or bad_x:
        chart = ChartSpec(key, f"Sweep {name}: final loss vs learning rate", "learning rate",
                          [Panel("final loss", series, [], markers, log_y=_wants_log(series[:1]))], log_x=True)
    return SweepSection(name, key, sw.path, fmt_lr(sw.best_lr), fmt_lr(sw.max_stable_lr),
                        fmt_lr(sw.suggested_lr), rows, chart, _sweep_notes(sw))


def _sweep_notes(sw: SweepAnalysis) -> list[str]:
    d = getattr(sw, "details", None) or {}
    notes = []
    if d.get("metric"):
        near = ", ".join(fmt_lr(x) for x in d.get("lrs_within_5pct_of_best") or [])
        notes.append(f"Runs ranked by {str(d['metric']).replace('_', ' ')}"
                     + (f"; within 5% of the best: {near}." if near else "."))
    if d.get("max_stable_is_grid_top"):
        notes.append("No run diverged: the largest stable LR is only the top of the grid; higher may work.")
    cost = getattr(sw, "cost", None)
    c = cost.to_dict() if hasattr(cost, "to_dict") else None
    if c and c.get("total_gpu_hours") is not None:
        notes.append(f"Sweep cost: {fmt_hours(c['total_gpu_hours'])}, {fmt_usd(c.get('total_usd'))} over "
                     f"{c.get('runs_costed')} costed run(s); wasted {fmt_hours(c.get('wasted_gpu_hours'))}, "
                     f"{fmt_usd(c.get('wasted_usd'))}.")
    return notes


def _schedule(ra: RunAnalysis) -> tuple[str, list[tuple[str, str]]]:
    params = [(str(k), _clip(fmt_number(v) if "lr" not in str(k).lower() or not isinstance(v, float)
                             else fmt_lr(v)))
              for k, v in flatten(ra.schedule.params)]
    return ra.schedule.kind.replace("_", " "), params


def _totals(analysis: Analysis) -> CostTotals | None:
    costs = [c for c in (cost_dict(ra) for ra in analysis.runs) if c is not None]
    if not costs:
        return None

    def total(key: str) -> float:
        vals = [c.get(key) for c in costs]
        return float(sum(v for v in vals if v is not None and math.isfinite(float(v))))

    return CostTotals(
        runs=len(costs),
        wasted_steps=int(total("wasted_steps")),
        wasted_gpu_hours=total("wasted_gpu_hours"),
        wasted_usd=total("wasted_usd"),
        wasted_kwh=total("wasted_kwh"),
        wasted_kg_co2e=total("wasted_kg_co2e"),
        total_gpu_hours=total("total_gpu_hours"),
    )


# Up to this many runs are named in an assumption sentence; more are counted, not listed.
MAX_NAMED_RUNS = 3


def _assumptions(analysis: Analysis) -> list[str]:
    """One sentence per distinct cost setup: GPU, count, price, power, and where the step time came from."""
    groups: dict[tuple, dict[str, list[tuple[str, float | None]]]] = {}
    for ra in analysis.runs:
        c = cost_dict(ra)
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
                                         else f", {fmt_number(min(times))}..{fmt_number(max(times))} s/step")
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
        out.append(Recommendation(ra.run.name, anchors[id(ra)], mode_label(f.mode), f.severity,
                                  SEVERITY_COLORS.get(f.severity, "#6b7280"), sentence_case(f.recommendation)))
        if len(out) == TOP_RECOMMENDATIONS:
            break
    return out


def build_report(analysis: Analysis, inputs: list[str] | None = None, *,
                 now: _dt.datetime | None = None, title: str = "Learning-rate post-mortem") -> Report:
    """The report model for ``analysis``; ``inputs`` are the paths the user gave (default: the runs')."""
    taken: set[str] = set()
    anchors = {id(ra): slugify(f"run-{ra.run.name}", taken) for ra in analysis.runs}
    sections = []
    for ra in analysis.runs:
        anchor = anchors[id(ra)]
        run = ra.run
        kind, params = _schedule(ra)
        chart = _range_test_chart(ra, anchor) if ra.kind == "range_test" else _training_chart(ra, anchor)
        sections.append(RunSection(
            name=run.name,
            anchor=anchor,
            kind=ra.kind,
            path=run.path,
            format=run.format,
            steps=ra.steps,
            verdict=_verdict(ra, anchor),
            schedule=kind,
            schedule_params=params,
            suggested_lr=None if ra.suggested_lr is None else fmt_lr(ra.suggested_lr),
            findings=[_finding_row(f) for f in _sorted_findings(ra.findings)],
            cost=_cost_rows(ra),
            hyperparameters=_hyperparameters(run.meta),
            files=list(run.files) or [run.path],
            warnings=_limit(list(run.warnings)),
            chart=chart,
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
        verdicts=sorted((s.verdict for s in sections), key=lambda v: -_severity_rank(v.severity)),
        totals=_totals(analysis),
        assumptions=_assumptions(analysis),
        recommendations=_recommendations(analysis, anchors),
        runs=sections,
        sweeps=[_sweep_section(sw, taken, [str(p) for p in inputs]) for sw in analysis.sweeps],
        warnings=_limit([str(w) for w in analysis.warnings]),
    )
