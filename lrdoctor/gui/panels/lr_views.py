"""Range-test view (loss vs LR, log x, suggested LRs marked) and sweep view (final loss vs LR)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from lrdoctor import formatting as fmt
from lrdoctor import style
from lrdoctor.report.chart_specs import SUGGESTED_COLOR
from parsers import Run
from lrdoctor.workspace import ANALYSIS, CURRENT, RUNS, Workspace, run_key

if TYPE_CHECKING:
    from lrdoctor.analysis import RunAnalysis

from ..axes import ReadableAxis, format_tick
from ..plots import theme_colors, with_alpha

SUGGESTION_COLORS = ("#16a34a", "#7c3aed", "#0891b2", "#db2777")  # one per range-test rule
RAW_ALPHA = 70
RAW_LOW_PERCENTILE = 1.0  # the raw range-test loss's low tail kept in view (ignores single outliers)


def _plot(parent: QWidget) -> tuple[pg.PlotWidget, QColor]:
    bg, fg = theme_colors(parent)
    widget = pg.PlotWidget(background=bg, axisItems={"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom")})
    plot = widget.getPlotItem()
    plot.showGrid(x=True, y=True, alpha=0.15)
    for axis in ("left", "bottom"):
        plot.getAxis(axis).setTextPen(fg)
        plot.getAxis(axis).setPen(fg)
        # SI-prefix scaling garbles log-axis tick labels ("x0.001" with 10¹ ticks).
        plot.getAxis(axis).enableAutoSIPrefix(False)
    return widget, fg


def set_log_ticks(plot: pg.PlotItem, values: np.ndarray) -> None:
    """Label only the decades of a log-x axis (pyqtgraph's minor labels collide over few decades)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return
    first, last = int(np.floor(np.log10(values.min()))) - 1, int(np.ceil(np.log10(values.max()))) + 1
    major = [(d, format_tick(10.0**d, 10.0**d)) for d in range(first, last + 1)]
    minor = [(d + np.log10(k), "") for d in range(first, last) for k in range(2, 10)]
    plot.getAxis("bottom").setTicks([major, minor])


def _series_lr_loss(run: Run) -> tuple[np.ndarray, np.ndarray] | None:
    """Logged LR and training loss paired by step (a plain join, no analysis)."""
    lr_tag, loss_tag = run.primary_tag("lr"), run.primary_tag("train_loss")
    if lr_tag is None or loss_tag is None:
        return None
    lr = run.series(lr_tag).drop_duplicates("step", keep="last").set_index("step")["value"]
    loss = run.series(loss_tag).drop_duplicates("step", keep="last").set_index("step")["value"]
    joined = pd.concat([lr.rename("lr"), loss.rename("loss")], axis=1, join="inner").dropna()
    joined = joined[joined["lr"] > 0]
    if joined.empty:
        return None
    return joined["lr"].to_numpy(np.float64), joined["loss"].to_numpy(np.float64)


class _LogLrView(QWidget):
    """A title above one plot with a log-scale LR x axis, redrawn when runs, selection or analysis change."""

    X_LABEL = "learning rate"
    Y_LABEL = "loss"

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.title = QLabel()
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.widget, self._fg = _plot(self)
        self.plot = self.widget.getPlotItem()
        self.plot.setLogMode(x=True, y=False)
        self.plot.setLabel("bottom", self.X_LABEL)
        self.plot.setLabel("left", self.Y_LABEL)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.widget, 1)
        self.ws.subscribe(lambda e: self.rebuild() if e in (RUNS, CURRENT, ANALYSIS) else None)
        self.rebuild()

    def rebuild(self) -> None:  # pragma: no cover - overridden
        """Draw the view from the workspace."""
        raise NotImplementedError


class RangeTestView(_LogLrView):
    """Loss against LR on a log axis for a range-test run, with each rule's suggested LR."""

    X_LABEL, Y_LABEL = "learning rate", "loss"
    suggestions: dict[str, float]  # rule -> LR drawn (set by rebuild)

    def target(self) -> RunAnalysis | None:
        """The RunAnalysis to show: the selected run if it is a range test, else the first one."""
        tests = self.ws.range_tests()
        current = next((ra for ra in tests if run_key(ra.run) == self.ws.current), None)
        return current or (tests[0] if tests else None)

    def rebuild(self) -> None:
        """Draw the selected range test."""
        self.plot.clear()
        self.suggestions = {}
        ra = self.target()
        if ra is None:
            msg = self.ws.analysis_status if self.ws.analysis is None else "No LR range test among the loaded runs."
            self.title.setText(f"<i>{msg}</i>")
            return
        result = ra.range_test
        if result is None:
            pair = _series_lr_loss(ra.run)
            if pair is not None:
                self.plot.addItem(pg.PlotDataItem(pair[0], pair[1], pen=pg.mkPen(
                    style.ROLE_COLORS["train_loss"], width=2), name="loss"))
            self.suggestions = {}
        else:
            self.plot.addItem(pg.PlotDataItem(result.lr, result.loss, pen=pg.mkPen(with_alpha(
                style.ROLE_COLORS["train_loss"], RAW_ALPHA)), name="loss (raw)"))
            self.plot.addItem(pg.PlotDataItem(result.lr, result.smoothed_loss,
                                              pen=pg.mkPen(style.ROLE_COLORS["train_loss"], width=2),
                                              name="loss (smoothed, fastai EMA)"))
            self.suggestions = {str(k): float(v) for k, v in result.rules.items()
                                if v is not None and np.isfinite(v) and v > 0}
            if result.suggested_lr and result.suggested_rule not in self.suggestions:
                # the recommended procedure may combine rules: draw its LR as its own line
                self.suggestions[str(result.suggested_rule)] = float(result.suggested_lr)
            set_log_ticks(self.plot, result.lr)
            finite = result.smoothed_loss[np.isfinite(result.smoothed_loss)]
            if finite.size:
                # Zoom y to the useful part: the explosion at the end would flatten the descent.
                raw = result.loss[np.isfinite(result.loss)]
                # The raw curve dips below the EMA: keep its low percentile in view too.
                lo = min(float(finite.min()), float(np.percentile(raw, RAW_LOW_PERCENTILE)) if raw.size else np.inf)
                first = float(finite[0])
                self.plot.setYRange(lo - 0.1 * (first - lo), first + 0.25 * (first - lo), padding=0)
        for i, (rule, value) in enumerate(self.suggestions.items()):
            color = SUGGESTION_COLORS[i % len(SUGGESTION_COLORS)]
            chosen = result is not None and rule == result.suggested_rule
            line = pg.InfiniteLine(pos=np.log10(value), angle=90, movable=False,
                                   pen=pg.mkPen(color, width=3 if chosen else 1.5,
                                                style=Qt.PenStyle.SolidLine if chosen else Qt.PenStyle.DashLine),
                                   label=f"{rule}: {value:.2g}" + (" (suggested)" if chosen else ""),
                                   labelOpts={"position": 0.92 - 0.1 * i, "color": color, "fill": None})
            line.setToolTip(f"{rule}: {fmt.lr(value)}")
            self.plot.addItem(line)
        suggested = f" · suggested LR <b>{fmt.lr(ra.suggested_lr)}</b>" if ra.suggested_lr else ""
        reason = f"<br><small>{result.reason}</small>" if result is not None and result.reason else ""
        key = ("<br><small>faint: raw loss · bold: smoothed (fastai EMA) · vertical lines: each rule's LR, "
               "solid = the suggested one</small>") if result is not None else ""
        self.title.setText(f"LR range test <b>{ra.run.name}</b>{suggested}{reason}{key}")


class SweepView(_LogLrView):
    """Final loss against LR for a sweep, with the best and the max-stable LR marked."""

    X_LABEL, Y_LABEL = "peak learning rate", "final loss"  # the sweep view sets the ranking metric

    def rebuild(self) -> None:
        """Draw the sweep of the selected run (or the first sweep)."""
        self.plot.clear()
        sweep = self.ws.sweep_for(self.ws.current)
        if sweep is None:
            msg = self.ws.analysis_status if self.ws.analysis is None else "No LR sweep among the loaded runs."
            self.title.setText(f"<i>{msg}</i>")
            return
        pts = [p for p in sweep.points if p.get("lr") and p.get("lr") > 0]
        # plot exactly the ranking metric (final validation loss when every run has it)
        pts = [{**p, "final_loss": p.get("ranking_value", p.get("final_loss"))} for p in pts]
        ok = [p for p in pts if not p.get("diverged") and p.get("final_loss") is not None
              and np.isfinite(p["final_loss"])]
        bad = [p for p in pts if p not in ok]
        # oscillating runs rank (their loss is finite) but are not stable: amber, as the max-stable line
        osc = [p for p in ok if p.get("oscillating")]
        set_log_ticks(self.plot, np.array([p["lr"] for p in pts]))
        if ok:
            ok.sort(key=lambda p: p["lr"])
            self.plot.addItem(pg.PlotDataItem(
                [p["lr"] for p in ok], [p["final_loss"] for p in ok], pen=pg.mkPen(style.ROLE_COLORS["train_loss"],
                                                                                   width=2),
                symbol="o", symbolBrush=style.ROLE_COLORS["train_loss"], symbolSize=9))
        if osc:
            warn = style.SEVERITY_COLORS["warning"]
            self.plot.addItem(pg.ScatterPlotItem(
                [np.log10(p["lr"]) for p in osc], [p["final_loss"] for p in osc], symbol="o", size=11,
                brush=warn, pen=pg.mkPen(warn)))
        if bad:
            top = max((p["final_loss"] for p in ok), default=1.0)
            self.plot.addItem(pg.ScatterPlotItem(
                [np.log10(p["lr"]) for p in bad], [top] * len(bad), symbol="x", size=14,
                brush=style.SEVERITY_COLORS["critical"], pen=pg.mkPen(style.SEVERITY_COLORS["critical"], width=2)))
        suggested = sweep.suggested_lr if sweep.suggested_lr != sweep.best_lr else None
        for value, label, color, at in ((sweep.best_lr, "best", style.HEALTHY_COLOR, 0.92),
                                        (sweep.max_stable_lr, "max stable", style.SEVERITY_COLORS["warning"], 0.8),
                                        (suggested, "suggested", SUGGESTED_COLOR, 0.68)):
            if value:
                self.plot.addItem(pg.InfiniteLine(
                    pos=np.log10(value), angle=90, movable=False, pen=pg.mkPen(color, width=2,
                                                                                style=Qt.PenStyle.DashLine),
                    label=f"{label} {value:.2g}", labelOpts={"position": at, "color": color}))
        metric = (sweep.details or {}).get("metric_label") or "final loss"
        self.plot.setLabel("left", metric.split(" (")[0])
        parts = [f"Sweep <b>{sweep.path}</b>: {len(pts)} runs, y = {metric}"]
        if sweep.best_lr:
            parts.append(f"best LR <b>{fmt.lr(sweep.best_lr)}</b>")
        if sweep.max_stable_lr:
            parts.append(f"max stable LR <b>{fmt.lr(sweep.max_stable_lr)}</b>")
        if sweep.suggested_lr:
            why = (sweep.details or {}).get("suggested_reason")
            parts.append(f"suggested <b>{fmt.lr(sweep.suggested_lr)}</b>" + (f" ({why})" if why else ""))
        if osc:
            parts.append(f"<span style='color:{style.SEVERITY_COLORS['warning']}'>● oscillating ({len(osc)})</span>")
        if bad:
            parts.append(f"<span style='color:{style.SEVERITY_COLORS['critical']}'>✕ diverged ({len(bad)})</span>")
        self.title.setText(" · ".join(parts))
