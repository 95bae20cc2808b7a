"""The curves view: loss on top, learning rate (and grad norm) below, one shared x axis.

Huge runs are drawn with every point loaded: pyqtgraph's peak downsampling and
clip-to-view keep pan and zoom smooth. Findings are shaded regions in their
severity colour with a tooltip.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QTimer, Qt, Signal
from PySide6.QtGui import QAction, QColor, QPalette, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from lrdoctor import style
from lrdoctor.workspace import (
    ANALYSIS,
    CHECKED,
    CURRENT,
    MAX_SMOOTHING,
    METRICS,
    ROLES,
    RUNS,
    VIEW,
    X_MODE_LABELS,
    X_MODES,
    Curve,
    Workspace,
    debiased_ema,
    run_key,
)

if TYPE_CHECKING:
    from lrdoctor.analysis import Finding

from .axes import ElapsedTimeAxis, ReadableAxis, lr_view
from .lod import LodCurve

X_AXES: dict[str, type[pg.AxisItem]] = {"wall": pg.DateAxisItem, "relative": ElapsedTimeAxis}


def _readable_axes() -> dict[str, pg.AxisItem]:
    return {"left": ReadableAxis("left"), "bottom": ReadableAxis("bottom")}

SLIDER_STEPS = 1000  # slider ticks for the smoothing weight 0..0.999
SMOOTHING_DEBOUNCE_MS = 40  # recompute the EMA at most ~25 times a second while dragging
RAW_ALPHA = 60  # the raw curve stays faint behind the smoothed one
# A curve is smoothed only when it holds this many EMA windows (1 / (1 - weight) points): the
# EMA lags about one window behind, so a validation loss evaluated a handful of times would be
# drawn a sizeable part of the run late (4 evaluations at 0.6: ~500 of 750 steps), above a
# training loss it is level with.
MIN_SMOOTHED_WINDOWS = 10
REGION_ALPHA = 22  # finding shading: visible but never hiding the curve (regions may overlap)
REGION_EDGE_ALPHA = 170  # the region's edges stay clearly visible
HIGHLIGHT_ALPHA = 55  # the finding picked in the findings list: a denser wash ...
HIGHLIGHT_EDGE_WIDTH = 3  # ... and thick opaque edges
ZOOM_MARGIN = 0.08  # fraction of a finding's width shown either side when zooming to it
TITLE_SIZE = "9pt"  # panel titles: small, the curves keep the room
PANEL_STRETCH = {"loss": 3}  # the loss panel gets three shares of the height, every other panel one
PANEL_MAX_HEIGHT = 16_777_215  # Qt's QWIDGETSIZE_MAX: no limit
EXPORT_SCALE = 2.0  # PNG pixels per screen pixel: sharp when printed or shown on a HiDPI screen
EXPORT_PDF_DPI = 72  # one PDF point per screen pixel: the page is the view's size
EXPORT_TITLE_RUNS = 4  # run names in an exported title before "and N more"
HUGE_CURVE_POINTS = 1_000_000  # above this a curve is drawn with a 1 px pen
# Initial loss view: the 0.5-99.5 percentile band of the loss values, used only when the maximum
# lies more than 3 band-widths above it (something exploded); 10% headroom either side.
ROBUST_LOW_PCT, ROBUST_HIGH_PCT = 0.5, 99.5
OUTLIER_SPAN_FACTOR = 3.0
ROBUST_PAD = 0.1
ROBUST_SAMPLE = 200_000  # values per curve used for the percentiles (huge curves are subsampled)
# The band is read from at least this many loss values outside the diverged steps: a run knocked
# out before its second logged point keeps one or two, whose band is no bulk (the whole view was
# a 0.01-wide slice of a digits MLP at ln 10), and then every value counts.
ROBUST_MIN_POINTS = 20
MIN_ZOOM_WIDTH = 10.0  # a point finding still gets a readable window (in x units)
MIN_ZOOM_SECONDS = 5.0  # the same in the time modes
PLOT_ROLES: dict[str, tuple[str, ...]] = {
    "loss": ("train_loss", "val_loss"),
    "lr": ("lr",),
    "grad": ("grad_norm",),
}


def theme_colors(widget: QWidget) -> tuple[QColor, QColor]:
    """Background and foreground for plots from the widget's (system) palette."""
    pal = widget.palette()
    return pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)


def with_alpha(color: str, alpha: int) -> QColor:
    """A QColor from ``#rrggbb`` with an alpha in 0..255."""
    c = QColor(color)
    c.setAlpha(alpha)
    return c


class CurvesView(QWidget):
    """Loss / LR / grad-norm plots of the ticked runs, driven by the workspace."""

    curvesDrawn = Signal()  # after the plots were rebuilt with the current runs

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.items: dict[tuple[str, str], tuple[pg.PlotDataItem | None, pg.PlotDataItem, Curve]] = {}
        self.region_items: list[pg.GraphicsObject] = []
        self.highlighted: tuple[str, int | None, int | None] | None = None  # (run key, start, end)
        self.shaded: list[tuple[str, Finding, bool]] = []  # (run key, finding, highlighted) drawn
        self._drawn_x_mode = workspace.x_mode
        self._lr_range: tuple[float, float] | None = None  # fixed y range of a constant LR
        self._pool: dict[str, list[pg.PlotDataItem]] = {"loss": [], "lr": [], "grad": []}
        self._pool_used: dict[str, int] = {name: 0 for name in self._pool}
        self._lod: dict[int, LodCurve] = {}
        self._build()
        self._smooth_timer = QTimer(self, singleShot=True, interval=SMOOTHING_DEBOUNCE_MS)
        self._smooth_timer.timeout.connect(self._apply_slider)
        self.ws.subscribe(self._on_event)

    # -- construction ------------------------------------------------------
    def _build(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Smoothing"))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS - 1)
        self.slider.setValue(round(self.ws.smoothing * SLIDER_STEPS))
        self.slider.setToolTip("TensorBoard's debiased exponential moving average; the raw curve stays faint")
        self.slider.setMaximumWidth(220)
        self.slider.valueChanged.connect(self._on_slider)
        bar.addWidget(self.slider)
        self.smoothing_label = QLabel(f"{self.ws.smoothing:.3f}")
        self.smoothing_label.setMinimumWidth(40)
        bar.addWidget(self.smoothing_label)
        bar.addSpacing(16)
        self.log_y = QCheckBox("Log-scale loss")
        self.log_y.setChecked(self.ws.log_y)
        self.log_y.toggled.connect(self.ws.set_log_y)
        bar.addWidget(self.log_y)
        bar.addSpacing(16)
        bar.addWidget(QLabel("X axis"))
        self.x_mode = QComboBox()
        for mode in X_MODES:
            self.x_mode.addItem(X_MODE_LABELS[mode], mode)
        self.x_mode.currentIndexChanged.connect(lambda i: self.ws.set_x_mode(self.x_mode.itemData(i)))
        bar.addWidget(self.x_mode)
        bar.addStretch(1)

        self.glw = pg.GraphicsLayoutWidget()
        bg, fg = theme_colors(self)
        self.glw.setBackground(bg)
        self._fg = fg
        self.loss_plot = self.glw.addPlot(row=0, col=0, axisItems=_readable_axes())
        self.lr_plot = self.glw.addPlot(row=1, col=0, axisItems=_readable_axes())
        self.grad_plot = self.glw.addPlot(row=2, col=0, axisItems=_readable_axes())
        self.plots = {"loss": self.loss_plot, "lr": self.lr_plot, "grad": self.grad_plot}
        for row, name in enumerate(self.plots):
            self.glw.ci.layout.setRowStretchFactor(row, PANEL_STRETCH.get(name, 1))
        self.crosshair: dict[str, pg.InfiniteLine] = {}
        for name, plot in self.plots.items():
            self._setup_plot(name, plot)
        self.metric_tags_drawn: list[str] = []  # tag of each metrics panel m0, m1, ... in use
        self.loss_plot.getViewBox().sigXRangeChanged.connect(self._on_x_range)
        # Panel titles sit above each panel (rotated axis titles of low panels overlapped).
        for plot, title in ((self.loss_plot, "loss"), (self.lr_plot, "learning rate"), (self.grad_plot, "grad norm")):
            self._title(plot, title)
        # The legend is a label above the plots, not a pyqtgraph LegendItem: removing entries from a
        # LegendItem (every rebuild) corrupts reference counts under PySide6 6.12 and aborts the
        # interpreter at exit; a label also never hides the curves.
        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)
        self.legend_entries: list[tuple[str, bool, str]] = []

        self._mouse_proxy = pg.SignalProxy(self.glw.scene().sigMouseMoved, rateLimit=60, slot=self._on_mouse)

        self.readout = QLabel(" ")
        self.readout.setTextFormat(Qt.TextFormat.RichText)
        self.readout.setWordWrap(True)
        self.message = QLabel("Open a log file or folder (File > Open, or drop it here).")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addWidget(self.message, 1)
        layout.addWidget(self.legend)
        layout.addWidget(self.glw, 1)
        layout.addWidget(self.readout)
        self._update_empty_state()

    def _setup_plot(self, name: str, plot: pg.PlotItem) -> None:
        """Grid, theme, shared x axis, crosshair and export menu of one panel."""
        fg = self._fg
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.getViewBox().setAutoVisible(y=True)
        for axis in ("left", "bottom"):
            plot.getAxis(axis).setTextPen(fg)
            plot.getAxis(axis).setPen(fg)
        plot.getAxis("left").setWidth(60)
        if plot is not self.loss_plot:
            plot.setXLink(self.loss_plot)
            # Only the loss plot auto-ranges x: a linked plot that auto-ranged too would push
            # its range through the link and switch the loss plot's x autorange off, and
            # clip-to-view would then clip fresh data to a stale view (an empty plot).
            plot.disableAutoRange(axis="x")
        self._add_menu_actions(plot)
        line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(fg, width=1, style=Qt.PenStyle.DotLine))
        line.setVisible(False)
        plot.addItem(line, ignoreBounds=True)
        self.crosshair[name] = line

    def _show_panel(self, name: str, shown: bool) -> None:
        """Show or hide a panel; a hidden one gives its row back (no empty band between panels)."""
        plot = self.plots[name]
        plot.setVisible(shown)
        plot.setMaximumHeight(PANEL_MAX_HEIGHT if shown else 0)
        row = list(self.plots).index(name)
        self.glw.ci.layout.setRowStretchFactor(row, PANEL_STRETCH.get(name, 1) if shown else 0)

    def _metric_plot(self, index: int) -> str:
        """Name of the ``index``-th metrics panel (``m0``, ``m1``...), created below the others on first need.

        Panels are hidden when unused, never removed (like the curve items, see ``_take``).
        """
        name = f"m{index}"
        if name not in self.plots:
            plot = self.glw.addPlot(row=3 + index, col=0, axisItems=_readable_axes())
            self.glw.ci.layout.setRowStretchFactor(3 + index, 1)
            self.plots[name] = plot
            self._pool[name] = []
            self._pool_used[name] = 0
            self._setup_plot(name, plot)
        return name

    def _add_menu_actions(self, plot: pg.PlotItem) -> None:
        menu = plot.getViewBox().menu
        menu.addSeparator()
        for text, slot in (
            ("Export view (PNG, SVG, PDF)…", lambda: self._ask_export("view")),
            ("Export drawn data as CSV…", lambda: self._ask_export("csv")),
        ):
            action = QAction(text, menu)
            action.triggered.connect(slot)
            menu.addAction(action)

    # -- workspace events --------------------------------------------------
    def _on_event(self, event: str) -> None:
        if event in (RUNS, CHECKED, ROLES, METRICS):
            self.rebuild()
        elif event == VIEW:
            self._apply_view()
        elif event in (ANALYSIS, CURRENT):
            self.draw_findings()
            if event == ANALYSIS and self._initial_y_view():
                self._robust_loss_range()  # the diverged steps are known now (unless the user set a view)

    def _on_slider(self, value: int) -> None:
        self.smoothing_label.setText(f"{min(value / SLIDER_STEPS, MAX_SMOOTHING):.3f}")
        self._smooth_timer.start()

    def _apply_slider(self) -> None:
        self.ws.set_smoothing(self.slider.value() / SLIDER_STEPS)

    def _apply_view(self) -> None:
        """Smoothing / log-y / x mode changed: update in place where possible."""
        if self.log_y.isChecked() != self.ws.log_y:
            self.log_y.setChecked(self.ws.log_y)
        if abs(self.slider.value() / SLIDER_STEPS - self.ws.smoothing) > 1 / SLIDER_STEPS:
            self.slider.blockSignals(True)
            self.slider.setValue(round(self.ws.smoothing * SLIDER_STEPS))
            self.slider.blockSignals(False)
            self.smoothing_label.setText(f"{self.ws.smoothing:.3f}")
        self.loss_plot.setLogMode(x=False, y=self.ws.log_y)
        mode_index = self.x_mode.findData(self.ws.x_mode)
        if mode_index != self.x_mode.currentIndex():
            self.x_mode.setCurrentIndex(mode_index)
        if self.ws.x_mode != self._drawn_x_mode:
            self.rebuild()
            return
        for raw, smooth, curve in self.items.values():
            if raw is None:  # the LR: never smoothed
                continue
            smooths = self._smooths(curve)
            curve.smoothed = debiased_ema(curve.y, self.ws.smoothing)
            self._lod[id(smooth)].set_data(curve.x, curve.smoothed if smooths else curve.y, self._view_or_none())
            raw.setVisible(smooths and self.ws.smoothing > 0)

    def _smooths(self, curve: Curve) -> bool:
        """Whether ``curve`` is drawn smoothed: never the LR (a setting, not a noisy measurement),
        nor a curve too short for the smoothing weight (see MIN_SMOOTHED_WINDOWS)."""
        if curve.role == "lr":
            return False
        window = 1.0 / (1.0 - min(self.ws.smoothing, MAX_SMOOTHING))
        return curve.y.size >= MIN_SMOOTHED_WINDOWS * window

    # -- drawing -----------------------------------------------------------
    def _update_empty_state(self) -> None:
        has = bool(self.items)
        self.glw.setVisible(has)
        self.message.setVisible(not has)
        if not has:
            if self.ws.runs and not self.ws.checked:
                self.message.setText("Tick a run in the Runs panel to plot it.")
            elif self.ws.runs and self.ws.filter_pattern() is not None:
                self.message.setText(f"No tag of the ticked runs matches the tag filter “{self.ws.tag_filter}”.")
            elif self.ws.runs:
                self.message.setText("The ticked runs have no loss, learning-rate or grad-norm tags to plot.")
            else:
                self.message.setText("Open a log file or folder (File > Open, or drop it here).")

    def rebuild(self) -> None:
        """Redraw every curve of the ticked runs (and the findings).

        A zoom the user chose survives a redraw of the same runs on the same x axis (a live run
        that grew, a role override); anything else shows everything again.
        """
        zoom = self._view_or_none()
        same = {c.run_key for _, _, c in self.items.values()} == set(self.ws.checked) and (
            self._drawn_x_mode == self.ws.x_mode)
        for pool in self._pool.values():
            for item in pool:
                self._lod[id(item)].set_data(np.empty(0), np.empty(0))
                item.setVisible(False)
        self._pool_used = {name: 0 for name in self.plots}
        self.legend_entries = []
        self.items.clear()
        self.readout.setText(" ")  # the old run's (or old x axis') values are gone
        for line in self.crosshair.values():
            line.setVisible(False)
        self._drawn_x_mode = self.ws.x_mode
        runs = self.ws.checked_runs()
        single = len(runs) == 1
        self.metric_tags_drawn = [t for t in self.ws.panel_tags() if any(t in r.roles for r in runs)]
        panels = {tag: self._metric_plot(i) for i, tag in enumerate(self.metric_tags_drawn)}
        used = {name: False for name in self.plots}
        pending: list[tuple[str, Curve, str, bool, str | None]] = []
        all_keys = self.ws.keys()
        for run in runs:
            key = run_key(run)
            run_color = style.RUN_PALETTE[all_keys.index(key) % len(style.RUN_PALETTE)]
            for plot_name, roles in PLOT_ROLES.items():
                for role in roles:
                    tag = self.ws.primary_tag(run, role)
                    if tag is None or not self.ws.tag_shown(tag):
                        continue
                    curve = self.ws.curve(run, tag)
                    if curve is None:
                        continue
                    color = style.ROLE_COLORS.get(role, run_color) if single else run_color
                    dashed = role == "val_loss"
                    has_train = self.ws.primary_tag(run, "train_loss") is not None
                    pending.append((plot_name, curve, color, dashed, self._legend_name(role, tag, single, run.name,
                                                                                    has_train)))
                    used[plot_name] = True
            for tag, plot_name in panels.items():
                curve = self.ws.curve(run, tag) if tag in run.roles else None
                if curve is not None:
                    pending.append((plot_name, curve, run_color, False, None))
                    used[plot_name] = True
        for tag, plot_name in panels.items():
            self._title(self.plots[plot_name], tag)
        self._fit_x(pending)
        for args in pending:
            self._add_curve(*args)
        self._show_legend(single)
        self.loss_plot.setLogMode(x=False, y=self.ws.log_y)
        self._lr_view()
        for name in self.plots:
            # The loss panel stays (empty) without a filter: it says the run logged no loss;
            # with a filter every panel none of whose tags match is hidden.
            self._show_panel(name, used[name] or (name == "loss" and not self.ws.filter_pattern()))
        self._label_x_axes(used)
        self.draw_findings()
        self.loss_plot.enableAutoRange()
        for name, plot in self.plots.items():
            if name != "loss":
                plot.enableAutoRange(axis="y")  # x follows the loss plot through the link
        if self._lr_range is not None:
            self.lr_plot.setYRange(*self._lr_range, padding=0)
        self._robust_loss_range()
        if zoom is not None and same and self.items:
            self.loss_plot.setXRange(*zoom, padding=0)
        self._update_empty_state()
        self.curvesDrawn.emit()

    @staticmethod
    def _legend_name(role: str, tag: str, single: bool, run_name: str, has_train: bool) -> str | None:
        """One legend entry per run (its colour) when overlaying; per tag for a single run."""
        if role not in ("train_loss", "val_loss"):
            return None
        if single:
            return f"{tag} ({'validation' if role == 'val_loss' else 'training'})"
        if role == "train_loss" or not has_train:
            return run_name
        return None

    def _add_curve(self, plot_name: str, curve: Curve, color: str, dashed: bool, label: str | None) -> None:
        plot = self.plots[plot_name]
        smooths = self._smooths(curve)
        raw_item = None
        if curve.role != "lr":  # drawn faint while the curve is smoothed (the weight may change)
            raw_item = self._take(plot_name)
            raw_item.setPen(pg.mkPen(with_alpha(color, RAW_ALPHA), width=1))
            self._lod[id(raw_item)].set_data(curve.x, curve.y)
            raw_item.setZValue(0)
            raw_item.setVisible(smooths and self.ws.smoothing > 0)
        # Wide pens are slow in Qt's raster engine: huge curves are drawn 1 px wide.
        wide = plot_name == "loss" and curve.x.size <= HUGE_CURVE_POINTS
        pen = pg.mkPen(color, width=2 if wide else 1)
        if dashed:
            pen.setStyle(Qt.PenStyle.DashLine)
        y = curve.smoothed if smooths else curve.y
        smooth_item = self._take(plot_name)
        smooth_item.setPen(pen)
        self._lod[id(smooth_item)].set_data(curve.x, y)
        smooth_item.setZValue(1)
        smooth_item.setVisible(True)
        if label:
            self.legend_entries.append((color, dashed, label))
        self.items[(curve.run_key, curve.tag)] = (raw_item, smooth_item, curve)

    def _take(self, plot_name: str) -> pg.PlotDataItem:
        """A curve item of ``plot_name`` from the pool, created on first need.

        Items are reused, never removed: removing a PlotDataItem that has clip-to-view
        and auto downsampling on corrupts reference counts under PySide6 6.12 (the
        interpreter aborts at exit), so hidden items wait for the next rebuild instead.
        """
        pool = self._pool[plot_name]
        used = self._pool_used[plot_name]
        self._pool_used[plot_name] = used + 1
        if used < len(pool):
            return pool[used]
        # Downsampling configured once, here, through the item's public options.
        item = pg.PlotDataItem(autoDownsample=True, downsampleMethod="peak", clipToView=True, skipFiniteCheck=False)
        self.plots[plot_name].addItem(item)
        pool.append(item)
        self._lod[id(item)] = LodCurve(item)
        return item

    def _view_or_none(self) -> tuple[float, float] | None:
        """The shown x range, or None while x is auto-ranged (showing everything)."""
        vb = self.loss_plot.getViewBox()
        if vb.autoRangeEnabled()[0]:
            return None
        lo, hi = vb.viewRange()[0]
        return float(lo), float(hi)

    def _on_x_range(self, *_args: object) -> None:
        view = self._view_or_none()
        for lod in self._lod.values():
            if lod.item.isVisible():
                lod.update_view(view)

    def _show_legend(self, single: bool) -> None:
        parts = []
        for color, dashed, label in self.legend_entries:
            mark = "╍╍" if dashed else "━━"
            parts.append(f"<span style='color:{color}'><b>{mark}</b></span>&nbsp;{label}")
        if parts and not single:
            parts.append("<i>(solid: training loss, dashed: validation loss)</i>")
        self.legend.setText(" &nbsp;&nbsp; ".join(parts))
        self.legend.setVisible(bool(parts))

    def _title(self, plot: pg.PlotItem, title: str) -> None:
        plot.setTitle(title, color=self._fg.name(), size=TITLE_SIZE, justify="left")

    def _fit_x(self, pending: list[tuple[str, Curve, str, bool, str | None]]) -> None:
        """Show the new curves' x extent before their data goes in, x autorange on.

        pyqtgraph picks the auto-downsampling factor from the *current* view: a view left
        over from another x mode (steps vs. epoch seconds) gives a factor larger than the
        data, which then draws nothing and so never triggers the autorange.
        """
        bounds = [(float(np.nanmin(c.x)), float(np.nanmax(c.x))) for _, c, *_ in pending if c.x.size]
        if bounds:
            lo, hi = min(b[0] for b in bounds), max(b[1] for b in bounds)
            if hi > lo:
                self.loss_plot.setXRange(lo, hi)
        self.loss_plot.enableAutoRange()

    def _lr_view(self) -> None:
        """Log LR axis when the drawn LR spans a decade or more; 0..2x for a constant LR."""
        lrs = [c.y for _, _, c in self.items.values() if c.role == "lr" and c.y.size]
        log, self._lr_range = lr_view(np.concatenate(lrs)) if lrs else (False, None)
        self.lr_plot.setLogMode(x=False, y=log)

    def _initial_y_view(self) -> bool:
        """Whether the loss panel's y range is still the one a redraw gave (auto, or the robust band)."""
        if self.loss_plot.getViewBox().autoRangeEnabled()[1]:
            return True
        robust = getattr(self, "_robust_y", None)
        return robust is not None and bool(np.allclose(self.loss_plot.viewRange()[1], robust))

    def _robust_loss_range(self) -> None:
        """When a few exploding points (a diverged run) would flatten every other curve, show the bulk.

        The bulk is the 0.5-99.5 percentile band of the loss values outside the steps the analysis
        found diverged: a run killed some way into its blow-up holds more than 0.5% of exploding
        points (build-nanogpt's log.txt grown live with 30 steps of a loss x1.6 a step: the band
        reached 1,500 and the 3,000 healthy steps were a flat line at 0).
        Only the initial view: zooming, autorange (the 'A' button) and log-y still show everything.
        """
        self._robust_y: tuple[float, float] | None = None
        if self.ws.log_y:
            return
        diverged: dict[str, list[tuple[float, float]]] = {}
        for run, finding in self.ws.findings_for(list({c.run_key for _, _, c in self.items.values()})):
            if finding.mode == "diverged" and finding.step_start is not None:
                end = finding.step_end if finding.step_end is not None else finding.step_start
                x0, x1 = self.ws.step_to_x(run, np.array([finding.step_start, end], dtype=np.float64))
                diverged.setdefault(run_key(run), []).append((float(x0), float(x1)))
        samples, everything, tops = [], [], []
        for _, _, curve in self.items.values():
            if curve.role in ("train_loss", "val_loss"):
                y = curve.smoothed if self._smooths(curve) and self.ws.smoothing > 0 else curve.y
                step = max(1, y.size // ROBUST_SAMPLE)
                y, x = y[::step], curve.x[::step]
                finite = np.isfinite(y)
                if finite.any():
                    tops.append(float(y[finite].max()))
                everything.append(y)
                for x0, x1 in diverged.get(curve.run_key, []):
                    y = y[(x < x0) | (x > x1)]
                    x = x[(x < x0) | (x > x1)]
                samples.append(y)
        if not samples:
            return
        y = np.concatenate(samples)
        y = y[np.isfinite(y)]
        if y.size < ROBUST_MIN_POINTS:
            y = np.concatenate(everything)
            y = y[np.isfinite(y)]
        if y.size < 2:
            return
        lo, hi = np.percentile(y, [ROBUST_LOW_PCT, ROBUST_HIGH_PCT])
        top = max(tops)
        if hi > lo and top - hi > OUTLIER_SPAN_FACTOR * (hi - lo):
            pad = (hi - lo) * ROBUST_PAD
            self.loss_plot.setYRange(lo - pad, hi + pad, padding=0)
            self._robust_y = tuple(self.loss_plot.viewRange()[1])

    def _label_x_axes(self, used: dict[str, bool]) -> None:
        mode = self.ws.x_mode
        runs = self.ws.checked_runs()
        lacking = "a clock" if mode in ("relative", "wall") else f"a {X_MODE_LABELS[mode].lower()} column"
        having = [r for r in runs if self.ws.has_x(r)]
        if mode != "step" and runs and not having:
            # Nothing drawn in this mode's unit: the axis says steps, not seconds.
            label = f"Step (no ticked run has {lacking})"
            axis_cls: type[pg.AxisItem] = ReadableAxis
        else:
            label = X_MODE_LABELS[mode]
            if len(having) < len(runs):
                label += f" (runs without {lacking} are drawn by step)"
            axis_cls = X_AXES.get(mode, ReadableAxis)
        lowest = next((n for n in reversed(list(self.plots)) if used.get(n)), "loss")
        for name, plot in self.plots.items():
            if type(plot.getAxis("bottom")) is not axis_cls:
                axis = axis_cls(orientation="bottom")
                axis.setTextPen(self._fg)
                axis.setPen(self._fg)
                plot.setAxisItems({"bottom": axis})
            plot.setLabel("bottom", label if name == lowest else "")

    def draw_findings(self) -> None:
        """Shade the findings of one run in their severity colour (tooltip: the evidence).

        Only the shaded run's (the only ticked run, else the selected one): washes from several
        runs with different lengths and scales would cover the whole plot and mean nothing.
        """
        for item in self.region_items:
            for plot in self.plots.values():
                if item.scene() is not None and item in plot.items:
                    plot.removeItem(item)
        self.region_items = []
        self.shaded = []
        key = self.ws.shaded_run()
        for run, finding in self.ws.findings_for([key] if key else []):
            if finding.step_start is None:
                continue
            end = finding.step_end if finding.step_end is not None else finding.step_start
            x0, x1 = self.ws.step_to_x(run, np.array([finding.step_start, end], dtype=np.float64))
            color = style.severity_color(finding.severity)
            tip = finding_tooltip(run.name, finding)
            strong = self.highlighted == (key, finding.step_start, finding.step_end)
            self.shaded.append((key, finding, strong))
            edge = pg.mkPen(color if strong else with_alpha(color, REGION_EDGE_ALPHA),
                            width=HIGHLIGHT_EDGE_WIDTH if strong else 1)
            for name in [n for n, p in self.plots.items() if n != "grad" and p.isVisible()]:
                if x1 > x0:
                    item = pg.LinearRegionItem(
                        values=(x0, x1), movable=False,
                        brush=with_alpha(color, HIGHLIGHT_ALPHA if strong else REGION_ALPHA), pen=edge,
                    )
                else:
                    item = pg.InfiniteLine(pos=x0, angle=90, movable=False,
                                           pen=pg.mkPen(color, width=HIGHLIGHT_EDGE_WIDTH + 1 if strong else 2))
                item.setToolTip(tip)
                item.setZValue(-5 if strong else -10)
                self.plots[name].addItem(item, ignoreBounds=True)
                self.region_items.append(item)

    # -- interaction -------------------------------------------------------
    def zoom_to(self, key: str, step_start: int | None, step_end: int | None) -> tuple[float, float] | None:
        """Show a run's step range (a finding) in every plot; returns the x range set."""
        run = self.ws.run(key)
        if run is None or step_start is None:
            return None
        end = step_end if step_end is not None else step_start
        x0, x1 = (float(v) for v in self.ws.step_to_x(run, np.array([step_start, end], dtype=np.float64)))
        width = max(x1 - x0, MIN_ZOOM_WIDTH if self.ws.x_mode == "step" else MIN_ZOOM_SECONDS)
        lo, hi = x0 - width * ZOOM_MARGIN, x0 + width * (1 + ZOOM_MARGIN) if x1 <= x0 else x1 + width * ZOOM_MARGIN
        self.loss_plot.setXRange(lo, hi, padding=0)
        for plot in self.plots.values():
            plot.enableAutoRange(axis="y")
        return lo, hi

    def x_range(self) -> tuple[float, float]:
        """The x range currently shown."""
        lo, hi = self.loss_plot.getViewBox().viewRange()[0]
        return float(lo), float(hi)

    def _on_mouse(self, event: tuple[QPointF]) -> None:
        pos = event[0]
        plot = next((p for p in self.plots.values() if p.isVisible() and p.sceneBoundingRect().contains(pos)), None)
        if plot is None or not self.items:
            for line in self.crosshair.values():
                line.setVisible(False)
            return
        x = plot.getViewBox().mapSceneToView(pos).x()
        self.show_readout(x)

    def show_readout(self, x: float) -> str:
        """Put the crosshair at ``x`` and list the value of every visible curve there."""
        for line in self.crosshair.values():
            line.setPos(x)
            line.setVisible(True)
        parts = []
        for raw, smooth, curve in self.items.values():
            if curve.x.size == 0 or not smooth.isVisible():
                continue
            i = int(np.clip(np.searchsorted(curve.x, x), 0, curve.x.size - 1))
            if i > 0 and abs(curve.x[i - 1] - x) < abs(curve.x[i] - x):
                i -= 1
            run = self.ws.run(curve.run_key)
            name = run.name if run else curve.run_key
            color = smooth.opts["pen"].color().name()
            value = curve.smoothed[i] if self._smooths(curve) and self.ws.smoothing > 0 else curve.y[i]
            parts.append(f"<span style='color:{color}'>■</span> {name} · {curve.tag} = {value:.4g}")
        x_text = f"{x:,.0f}" if self.ws.x_mode == "step" else f"{x:.4g}"
        html = f"<b>{X_MODE_LABELS[self.ws.x_mode]} {x_text}</b>&nbsp;&nbsp; " + " &nbsp; ".join(parts)
        self.readout.setText(html)
        return html

    # -- export ------------------------------------------------------------
    def _ask_export(self, kind: str) -> None:
        filters = {"png": "PNG image (*.png)", "svg": "SVG image (*.svg)", "pdf": "PDF document (*.pdf)",
                   "csv": "CSV (*.csv)"}
        if kind == "view":
            name_filter = ";;".join(filters[k] for k in ("png", "svg", "pdf"))
            path, _ = QFileDialog.getSaveFileName(self, "Export view", "lrdoctor_view.png", name_filter)
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export", f"lrdoctor_view.{kind}", filters[kind])
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        """Write the view as PNG / SVG / PDF, or what is drawn as CSV (chosen by the suffix)."""
        suffix = Path(path).suffix.lower()
        if suffix == ".csv":
            self.export_csv(path)
        else:
            self.export_image(path)

    def export_title(self) -> str:
        """The exported picture's title: the runs drawn and the x axis."""
        names = [r.name for r in self.ws.checked_runs()]
        shown = ", ".join(names[:EXPORT_TITLE_RUNS]) + (f" and {len(names) - EXPORT_TITLE_RUNS} more"
                                                        if len(names) > EXPORT_TITLE_RUNS else "")
        smoothing = f", smoothing {self.ws.smoothing:.2f}" if self.ws.smoothing > 0 else ""
        return f"{shown} — by {X_MODE_LABELS[self.ws.x_mode].lower()}{smoothing}"

    def export_image(self, path: str) -> None:
        """The plots as shown (no crosshair) under a title and the legend, as PNG, SVG or PDF."""
        from PySide6.QtCore import QMarginsF, QRectF, QSizeF
        from PySide6.QtGui import QImage, QPageLayout, QPageSize, QPainter, QPdfWriter
        from PySide6.QtSvg import QSvgGenerator

        suffix = Path(path).suffix.lower()
        crosshairs = [(line, line.isVisible()) for line in self.crosshair.values()]
        for line, _ in crosshairs:
            line.setVisible(False)
        width, plots_h = float(self.glw.width()), float(self.glw.height())
        header = self._export_header(width)
        height = header.size().height() + plots_h
        try:
            if suffix == ".svg":
                device = QSvgGenerator()
                device.setFileName(path)
                device.setSize(QSizeF(width, height).toSize())
                device.setViewBox(QRectF(0, 0, width, height))
                device.setTitle(self.export_title())
                painter = QPainter(device)
            elif suffix == ".pdf":
                device = QPdfWriter(path)
                device.setTitle(self.export_title())
                device.setResolution(EXPORT_PDF_DPI)
                device.setPageLayout(QPageLayout(QPageSize(QSizeF(width, height), QPageSize.Unit.Point),
                                                 QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
                painter = QPainter(device)
            else:
                device = QImage(int(width * EXPORT_SCALE), int(height * EXPORT_SCALE), QImage.Format.Format_RGB32)
                device.fill(self.glw.backgroundBrush().color())
                painter = QPainter(device)
                painter.scale(EXPORT_SCALE, EXPORT_SCALE)
            painter.fillRect(QRectF(0, 0, width, height), self.glw.backgroundBrush().color())
            header.drawContents(painter)
            self.glw.render(painter, QRectF(0, header.size().height(), width, plots_h))
            painter.end()
            if isinstance(device, QImage) and not device.save(path):
                raise OSError(f"{path}: could not be written")
        finally:
            for line, visible in crosshairs:
                line.setVisible(visible)

    def _export_header(self, width: float) -> QTextDocument:
        doc = QTextDocument()
        doc.setTextWidth(width)
        fg = self._fg.name()
        legend = self.legend.text() if self.legend.isVisible() else ""
        doc.setHtml(f"<div style='color:{fg}'><b style='font-size:13pt'>{html.escape(self.export_title())}</b>"
                    f"<br>{legend}</div>")
        return doc

    def export_csv(self, path: str) -> int:
        """Exactly what is drawn: every visible curve's points inside the shown x range, with the panel,
        the x in the current x mode, the raw value and the value drawn (smoothed or raw). Returns rows."""
        lo, hi = self.x_range()
        panel_of = {id(item): name for name, pool in self._pool.items() for item in pool}
        rows = 0
        with open(path, "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["run", "tag", "role", "panel", self.ws.x_mode, "value", "smoothed", "drawn"])
            for _, smooth, curve in self.items.values():
                if not smooth.isVisible() or not self.plots[panel_of[id(smooth)]].isVisible():
                    continue
                run = self.ws.run(curve.run_key)
                mask = (curve.x >= lo) & (curve.x <= hi)
                name = run.name if run else curve.run_key
                panel = self.plots[panel_of[id(smooth)]].titleLabel.text or panel_of[id(smooth)]
                drawn = curve.smoothed if self._smooths(curve) and self.ws.smoothing > 0 else curve.y
                for x, y, sm, d in zip(curve.x[mask], curve.y[mask], curve.smoothed[mask], drawn[mask]):
                    writer.writerow([name, curve.tag, curve.role, panel, repr(float(x)), repr(float(y)),
                                     repr(float(sm)), repr(float(d))])
                rows += int(mask.sum())
        return rows


def finding_tooltip(run_name: str, finding: Finding) -> str:
    """A finding's one-line evidence and recommendation, for tooltips."""
    label = style.finding_label(finding)
    summary = finding.evidence.get("summary", "") if isinstance(finding.evidence, dict) else ""
    steps = f"steps {finding.step_start:,}–{finding.step_end:,}" if finding.step_end is not None else (
        f"step {finding.step_start:,}"
    )
    return f"{run_name}: {label} ({finding.severity}, {steps})\n{summary}\n→ {finding.recommendation}"
