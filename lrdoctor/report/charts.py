"""Draw the report's charts to PNG with pyqtgraph, offscreen, so they look like the app.

This module (and ``pdf.py``) are the only places outside ``gui/`` that import Qt. Without
a display it switches Qt to the ``offscreen`` platform before the application is created.
Rendering uses Qt widgets, so call it from the thread that owns the QApplication (the
GUI thread in the app; the only thread in the CLI).
"""

from __future__ import annotations

import html
import math
import os
import sys

import numpy as np

from lrdoctor.formatting import printable
from lrdoctor.report.chart_specs import ChartSpec, Panel

# Pixel size of a chart: wide enough for a page, small enough to embed many in one HTML file.
CHART_WIDTH = 1000
PANEL_HEIGHT_UNIT = 90  # pixels per unit of Panel.height (a loss panel is 3 units, an LR panel 2)
TITLE_HEIGHT = 30
# Alpha of a finding's shade: the app uses 22 on screen; paper and PDF viewers wash that out,
# so the report doubles it (still light enough to read the curve through). Edges as in the app.
SHADE_ALPHA = 44
SHADE_EDGE_ALPHA = 170
LINE_WIDTH = 2
FLAT_RANGE_FRACTION = 0.5  # a constant curve is drawn mid-height, its axis spanning +-50% of its value
MARKER_LABEL_STEP = 0.1  # vertical offset between successive marker labels, as a fraction of the plot
BAR_WIDTH = 0.6  # of a category's slot in a bar chart
LEGEND_WIDTH = 190  # pixels beside the plots; fits "Overfitting (wasted steps after best val)" at 9pt

_app = None  # keeps the QApplication alive when this module created it


def _rich(text: str) -> str:
    """User text for pyqtgraph's rich-text labels: control characters visible, markup escaped."""
    return html.escape(printable(text))


def _ensure_app():
    """The running QApplication, or a new one (offscreen when there is no display)."""
    global _app
    if not os.environ.get("QT_QPA_PLATFORM") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or sys.platform in ("win32", "darwin")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from PySide6.QtWidgets import QApplication

    from PySide6.QtCore import QThread

    app = QApplication.instance()
    if app is None:
        app = _app = QApplication([])
    elif QThread.currentThread() is not app.thread():
        # Qt widgets (pyqtgraph's scene) may only be built on the application's thread.
        raise RuntimeError("report charts must be drawn on the GUI thread; call write_report() there")
    return app


def _rgba(color: str, alpha: int = 255):
    from PySide6.QtGui import QColor

    c = QColor(color)
    c.setAlpha(alpha)
    return c


def _position(x: float, log: bool) -> float:
    """pyqtgraph places items in log10 space on a log axis."""
    return math.log10(x) if log else x


def _data_x_range(panels: list[Panel]) -> tuple[float, float] | None:
    xs = [np.asarray(s.x, np.float64) for p in panels for s in p.series if len(s.x)]
    xs += [np.array([m.x]) for p in panels for m in p.markers]
    if not xs:
        return None
    x = np.concatenate(xs)
    x = x[np.isfinite(x)]
    return (float(x.min()), float(x.max())) if x.size else None


def _log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Decade labels (``1e-4``) and unlabelled minor ticks: pyqtgraph's own log ticks crowd."""
    major, minor = [], []
    for exp in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 2):
        major.append((float(exp), f"1e{exp}" if not 0 <= exp <= 3 else f"{10 ** exp:g}"))
        minor += [(math.log10(k * 10.0**exp), "") for k in range(2, 10)]
    return [major, minor]


def _draw_panel(plot, panel: Panel, log_x: bool, legend, pen_scale: float = 1.0) -> None:
    """Draw one panel; ``pen_scale`` thickens lines when the export is scaled (cosmetic pens don't scale)."""
    import pyqtgraph as pg

    plot.setLogMode(x=log_x, y=panel.log_y)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setLabel("left", _rich(panel.y_label))
    for axis in ("left", "bottom"):
        plot.getAxis(axis).enableAutoSIPrefix(False)
    for shade in panel.shades:
        x0, x1 = _position(shade.start, log_x), _position(shade.end, log_x)
        if x1 > x0:
            region = pg.LinearRegionItem((x0, x1), movable=False, brush=pg.mkBrush(_rgba(shade.color, SHADE_ALPHA)),
                                         pen=pg.mkPen(_rgba(shade.color, SHADE_EDGE_ALPHA), width=1),
                                         span=tuple(shade.span))
        else:  # a one-step finding is a line, as in the app
            region = pg.InfiniteLine(pos=x0, angle=90, movable=False, pen=pg.mkPen(shade.color, width=LINE_WIDTH))
        region.setZValue(-10)
        plot.addItem(region, ignoreBounds=True)
    for s in panel.series:
        x, y = np.asarray(s.x, np.float64), np.asarray(s.y, np.float64)
        if s.style == "bars":
            item = pg.BarGraphItem(x=x, height=y, width=BAR_WIDTH, brush=pg.mkBrush(s.color), pen=pg.mkPen(s.color))
            plot.addItem(item)
            continue
        if s.style == "line":
            item = plot.plot(x, y, pen=pg.mkPen(s.color, width=LINE_WIDTH * pen_scale), connect="finite")
            item.setDownsampling(auto=True, method="peak")
            item.setClipToView(True)
        else:
            symbol = "x" if s.style == "cross" else "o"
            size = 14 if s.style == "cross" else 10
            item = plot.plot(x, y, pen=None, symbol=symbol, symbolSize=size, symbolBrush=s.color,
                             symbolPen=pg.mkPen(s.color, width=LINE_WIDTH * pen_scale))
        legend.add(item, s.label)
    span = _data_x_range([panel])
    for i, m in enumerate(panel.markers):
        # Labels of lines in the right half read leftwards so they stay inside the plot.
        right_half = span is not None and m.x > (math.sqrt(span[0] * span[1]) if log_x and span[0] > 0
                                                 else (span[0] + span[1]) / 2)
        line = pg.InfiniteLine(
            pos=_position(m.x, log_x),
            angle=90,
            pen=pg.mkPen(m.color, width=LINE_WIDTH * pen_scale, style=_dash() if m.dashed else _solid()),
            label=m.label,
            # Each label a step lower than the previous one: close LRs (best vs suggested) don't overprint.
            labelOpts={"position": 0.92 - MARKER_LABEL_STEP * (i % 4), "color": m.color, "fill": (255, 255, 255, 220),
                       "anchors": [(1, 0), (1, 0)] if right_half else [(0, 0), (0, 0)]},
        )
        plot.addItem(line)
    _fix_flat_range(plot, panel)
    for shade in panel.shades:
        # A square swatch in the shade's colour (a fill-level sample would draw a triangle).
        sample = pg.ScatterPlotItem([], [], symbol="s", size=12, pen=pg.mkPen(_rgba(shade.color, 160)),
                                    brush=pg.mkBrush(_rgba(shade.color, SHADE_ALPHA * 2)))
        legend.add(sample, shade.label)


def _fix_flat_range(plot, panel: Panel) -> None:
    """A constant curve (a constant LR) gets a range around its value, not pyqtgraph's +-0.5 around it."""
    ys = [np.asarray(s.y, np.float64) for s in panel.series if len(s.y)]
    y = np.concatenate(ys) if ys else np.array([])
    y = y[np.isfinite(y)]
    if panel.log_y or not y.size or y.min() != y.max():
        return
    value = float(y[0])
    pad = abs(value) * FLAT_RANGE_FRACTION or 1.0
    plot.setYRange(value - pad, value + pad, padding=0)


class _Legend:
    """One legend beside the plots (never over the data), each label once."""

    def __init__(self, item) -> None:
        self.item = item
        self.seen: set[str] = set()

    def add(self, sample, label: str) -> None:
        if label not in self.seen:
            self.seen.add(label)
            self.item.addItem(sample, _rich(label))  # legend labels are rich text


def _dash():
    from PySide6.QtCore import Qt

    return Qt.PenStyle.DashLine


def _solid():
    from PySide6.QtCore import Qt

    return Qt.PenStyle.SolidLine


def render_chart(spec: ChartSpec, width: int = CHART_WIDTH, scale: float = 1.0,
                 panel_unit: int = PANEL_HEIGHT_UNIT) -> bytes:
    """PNG bytes of one chart laid out ``width`` pixels wide, exported ``scale`` times larger (print);
    ``panel_unit`` pixels per unit of panel height (a print page wants shorter charts)."""
    app = _ensure_app()
    import pyqtgraph as pg
    import pyqtgraph.exporters as exporters
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt

    height = TITLE_HEIGHT + panel_unit * sum(p.height for p in spec.panels)
    widget = pg.GraphicsLayoutWidget()
    widget.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    widget.setBackground("w")
    widget.resize(width, height)
    try:
        # Titles are rich text in pyqtgraph: escape, or a run named <b>x</b> would be bold.
        widget.addLabel(_rich(spec.title), row=0, col=0, colspan=2, size="11pt", color="#111827")
        legend_item = pg.LegendItem(labelTextColor="#111827", labelTextSize="9pt")
        legend = _Legend(legend_item)
        x_range = _data_x_range(spec.panels)
        first = None
        for i, panel in enumerate(spec.panels):
            plot = widget.addPlot(row=i + 1, col=0)
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setPen(pg.mkPen("#374151"))
                plot.getAxis(axis).setTextPen(pg.mkPen("#111827"))
            plot.getAxis("left").setWidth(70)  # same width on every panel keeps the x axes aligned
            _draw_panel(plot, panel, spec.log_x, legend, scale)
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
            if spec.log_x and x_range is not None and x_range[0] > 0:
                plot.getAxis("bottom").setTicks(_log_ticks(*x_range))
            if spec.categories:
                plot.getAxis("bottom").setTicks([[(float(k), _rich(c)) for k, c in enumerate(spec.categories)]])
                plot.showGrid(x=False, y=True, alpha=0.15)
            widget.ci.layout.setRowStretchFactor(i + 1, panel.height)
            if i == len(spec.panels) - 1:
                plot.setLabel("bottom", _rich(spec.x_label))
        if legend.seen:
            widget.addItem(legend_item, row=1, col=1, rowspan=max(len(spec.panels), 1))
            widget.ci.layout.setColumnFixedWidth(1, LEGEND_WIDTH)
            # A legend cell as tall as the plots would spread its rows apart: keep it compact, at the top.
            legend_item.setMaximumHeight(legend_item.layout.preferredHeight())
            widget.ci.layout.setAlignment(legend_item, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        if first is not None and spec.categories:
            first.setXRange(-0.5, len(spec.categories) - 0.5, padding=0)
            first.setYRange(0, max(float(np.nanmax(s.y)) for p in spec.panels for s in p.series) * 1.1, padding=0)
        elif first is not None and x_range is not None:
            lo, hi = x_range
            if spec.log_x and lo > 0:
                lo, hi = math.log10(lo), math.log10(hi)
            first.setXRange(lo, hi, padding=0.02)
        widget.show()
        app.processEvents()
        exporter = exporters.ImageExporter(widget.scene())
        exporter.parameters()["width"] = int(round(width * scale))
        image = exporter.export(toBytes=True)
        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")
        buf.close()
        return bytes(data.data())
    finally:
        widget.close()
        widget.deleteLater()


def render_charts(specs: list[ChartSpec], width: int = CHART_WIDTH, scale: float = 1.0,
                  panel_unit: int = PANEL_HEIGHT_UNIT) -> dict[str, bytes]:
    """PNG bytes of every chart, by ``ChartSpec.key``."""
    return {spec.key: render_chart(spec, width, scale, panel_unit) for spec in specs}
