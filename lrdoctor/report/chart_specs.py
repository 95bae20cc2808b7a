"""Charts described as data (no Qt): what each report chart shows; ``charts.py`` draws them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lrdoctor.analysis.findings import RunAnalysis, SweepAnalysis
from lrdoctor.report.formatting import fmt_lr, sorted_findings
from lrdoctor.style import ROLE_COLORS, RUN_PALETTE, SEVERITY_COLORS, finding_label

# Sweep-chart marker colours: best LR in the healthy green, the stability edge in amber.
BEST_LR_COLOR = "#16a34a"
MAX_STABLE_COLOR = "#f59e0b"
SUGGESTED_COLOR = "#3b82f6"


@dataclass
class Series:
    """One curve (or point set) of a chart panel."""

    label: str
    x: np.ndarray
    y: np.ndarray
    color: str
    style: str = "line"  # "line" | "points" | "cross" | "bars" (x: category index)


@dataclass
class Shade:
    """A shaded x-range (a finding's steps) in a severity colour."""

    start: float
    end: float
    color: str
    label: str
    # The vertical band (fractions of the plot height) the shade fills: findings whose steps overlap
    # get a lane each, so one never hides another and the curve stays readable under them.
    span: tuple[float, float] = (0.0, 1.0)


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
    categories: list[str] = field(default_factory=list)  # x tick labels of a bar chart, by index


def _series(ra: RunAnalysis, role: str, label: str | None = None) -> Series | None:
    df = ra.run.role_series(role)
    if df is None or df.empty:
        return None
    y = df["value"].to_numpy(np.float64, copy=True)
    y[~np.isfinite(y)] = np.nan  # pyqtgraph breaks the line at NaN; inf would wreck the range
    tag = ra.run.primary_tag(role) or role
    return Series(label or tag, df["step"].to_numpy(np.float64), y, ROLE_COLORS.get(role, RUN_PALETTE[0]))


def wants_log(series: list[Series]) -> bool:
    """Log y when the curve spans more than two decades (an explosion would flatten the rest)."""
    values = np.concatenate([s.y for s in series]) if series else np.array([])
    values = values[np.isfinite(values)]
    return bool(values.size and values.min() > 0 and values.max() / values.min() > 100)


def _shades(ra: RunAnalysis, last_step: float) -> list[Shade]:
    out = []
    for f in sorted_findings(ra.findings)[::-1]:  # the most severe drawn last, on top
        if f.step_start is None and f.step_end is None:
            continue
        start = float(f.step_start if f.step_start is not None else 0)
        end = float(f.step_end if f.step_end is not None else last_step)
        out.append(Shade(start, max(end, start), SEVERITY_COLORS.get(f.severity, "#6b7280"), finding_label(f)))
    return _in_lanes(out)


def _in_lanes(shades: list[Shade]) -> list[Shade]:
    """Give overlapping shades separate horizontal lanes (interval colouring, fewest lanes).

    Shades that overlap nothing keep the full height; in a group of overlapping ones each gets
    ``1/lanes`` of the height, the most severe (drawn last) at the top.
    """
    order = sorted(range(len(shades)), key=lambda i: (shades[i].start, shades[i].end))
    lane_of: dict[int, int] = {}
    lane_end: list[float] = []
    for i in order:
        s = shades[i]
        lane = next((k for k, end in enumerate(lane_end) if end < s.start), None)
        if lane is None:
            lane_end.append(s.end)
            lane = len(lane_end) - 1
        else:
            lane_end[lane] = s.end
        lane_of[i] = lane
    lanes = len(lane_end)
    if lanes <= 1:
        return shades
    out = []
    for i, s in enumerate(shades):
        overlaps = any(j != i and shades[j].start <= s.end and s.start <= shades[j].end for j in range(len(shades)))
        if not overlaps:
            out.append(s)
            continue
        k = lane_of[i]
        out.append(Shade(s.start, s.end, s.color, s.label, (k / lanes, (k + 1) / lanes)))
    return out


def training_chart(ra: RunAnalysis, key: str) -> ChartSpec | None:
    loss = [s for s in (_series(ra, "train_loss"), _series(ra, "val_loss")) if s is not None]
    lr = _series(ra, "lr")
    if not loss and lr is None:
        return None
    last = max((float(np.nanmax(s.x)) for s in loss + ([lr] if lr else []) if s.x.size), default=0.0)
    shades = _shades(ra, last)
    panels = []
    if loss:
        panels.append(Panel("loss", loss, shades, log_y=wants_log(loss), height=3))
    if lr is not None:
        panels.append(Panel("learning rate", [lr], shades, height=2 if loss else 3))
    return ChartSpec(key, ra.run.name, "step", panels)


def range_test_chart(ra: RunAnalysis, key: str) -> ChartSpec | None:
    """Loss vs LR (log x) with each rule's LR and the suggestion marked; the step chart as fallback."""
    if ra.range_test is None:
        return training_chart(ra, key)
    d = {**vars(ra.range_test), **(ra.details.get("range_test") or {})}
    lr, smooth = d.get("lr"), d.get("smoothed_loss")
    if lr is None or smooth is None or len(lr) == 0:
        return training_chart(ra, key)
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
                     [Panel("loss", series, [], markers, log_y=wants_log(series))], log_x=True)


def _suggestions(details: dict[str, Any]) -> list[tuple[str, float]]:
    """The range test's per-rule LR suggestions (``rules``: name -> LR or None)."""
    rules = details.get("rules") or details.get("suggestions") or {}
    out: list[tuple[str, float]] = []
    for name, value in (rules.items() if isinstance(rules, dict) else []):
        if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
            out.append((str(name), float(value)))
    return out

def sweep_chart(sw: SweepAnalysis, key: str, name: str) -> ChartSpec | None:
    """The ranking metric vs LR (log x): finished runs as dots, oscillating ones as amber dots (stable
    enough to rank, too unstable to count as stable), diverged ones as red crosses; best, max-stable and
    suggested LR marked. The y values are exactly what ranks the runs (``ranking_value``), and the axis
    says which metric."""
    ok_x, ok_y, bad_x, bad_y, osc_x, osc_y = [], [], [], [], [], []
    label = str((sw.details or {}).get("metric_label") or "final loss").split(" (")[0]

    def value(p):
        return p.get("ranking_value", p.get("final_loss"))

    finite = [float(value(p)) for p in sw.points if value(p) is not None and math.isfinite(float(value(p)))]
    ceiling = max(finite) if finite else 1.0
    for p in sw.points:
        lr, loss = p.get("lr"), value(p)
        if lr is None:
            continue
        loss_ok = loss is not None and math.isfinite(float(loss))
        if p.get("diverged") or not loss_ok:
            bad_x.append(float(lr))
            bad_y.append(float(loss) if loss_ok else ceiling)  # a NaN loss is drawn at the top
        elif p.get("oscillating"):
            osc_x.append(float(lr))
            osc_y.append(float(loss))
        else:
            ok_x.append(float(lr))
            ok_y.append(float(loss))
    if not ok_x and not bad_x and not osc_x:
        return None
    series = [Series(label, np.array(ok_x), np.array(ok_y), ROLE_COLORS["train_loss"], "points")]
    if osc_x:
        series.append(Series("oscillating", np.array(osc_x), np.array(osc_y), MAX_STABLE_COLOR, "points"))
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
    return ChartSpec(key, f"Sweep {name}: {label} vs learning rate", "learning rate",
                     [Panel(label, series, [], markers, log_y=wants_log(series[:1]))], log_x=True)
