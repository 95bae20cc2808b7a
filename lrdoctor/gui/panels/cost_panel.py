"""Cost panel: GPU preset, count and price editable; wasted money and energy update live."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QSpinBox,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrdoctor import formatting as fmt
from lrdoctor import style
from lrdoctor.workspace import ANALYSIS, CHECKED, COST, CURRENT, Workspace, run_key

from .. import costing

MAX_GPUS = 100_000
MAX_PRICE = 1_000.0  # USD per GPU-hour; far above any cloud list price
SAVE_DELAY_MS = 500  # persist once the user stops typing

# (path in RunCost, column title, format): RunCost.wasted is a Money (gpu_hours, usd, kwh, kg_co2e).
# The table keeps the columns that fit beside the findings at the default size; energy and CO₂e
# of every row are in its tooltip and their totals in the summary line.
COST_COLUMNS: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("wasted_steps", "Steps", fmt.count),
    ("wasted.gpu_hours", "GPU-h", fmt.amount),
    ("wasted.usd", "USD", fmt.usd),
)


def cost_value(cost: Any, path: str) -> float | None:
    """One number of a RunCost by dotted attribute path, or None when absent/unknown."""
    value: Any = cost
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class CostPanel(QWidget):
    """Edits the cost settings and shows the estimated waste of the ticked runs."""

    settingsEdited = Signal(object)  # new CostSettings

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self._presets: Any = None  # loaded by load_presets() once the window is up (slow import)
        self._updating = False
        form = QFormLayout()
        self.gpu = QComboBox()
        self.count = QSpinBox()
        self.count.setRange(1, MAX_GPUS)
        self.price = QDoubleSpinBox()
        self.price.setRange(0.0, MAX_PRICE)
        self.price.setDecimals(2)
        self.price.setPrefix("$")
        self.price.setSuffix(" / GPU-h")
        self.price.setKeyboardTracking(False)
        form.addRow("GPU", self.gpu)
        form.addRow("GPUs", self.count)
        form.addRow("Price", self.price)
        self.source = QLabel()
        self.source.setWordWrap(True)
        self.source.setStyleSheet("color: palette(mid);")
        self.total = QLabel()
        self.total.setWordWrap(True)
        self.total.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Run / finding"] + [c[1] for c in COST_COLUMNS])
        self.table.setUniformRowHeights(True)
        header = self.table.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setStretchLastSection(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(form)
        layout.addWidget(self.source)
        layout.addWidget(self.total)
        layout.addWidget(self.table, 1)
        self.gpu.setEnabled(False)
        self.gpu.currentTextChanged.connect(self._on_gpu)
        self.count.valueChanged.connect(lambda _v: self._emit())
        self.price.valueChanged.connect(lambda _v: self._emit())
        self._save_timer = QTimer(self, singleShot=True, interval=SAVE_DELAY_MS)
        self._save_timer.timeout.connect(self._save)
        self.ws.subscribe(lambda e: self.refresh() if e in (COST, ANALYSIS, CHECKED, CURRENT) else None)
        self.show_settings()
        self.refresh()

    # -- settings ----------------------------------------------------------
    def load_presets(self) -> None:
        """Fill the GPU list from the cost module's presets."""
        self._presets = costing.presets()
        self._updating = True
        try:
            self.gpu.clear()
            for name in self._presets.gpus if self._presets is not None else ():
                self.gpu.addItem(name)
        finally:
            self._updating = False

    def show_settings(self) -> None:
        """Put the workspace's cost settings into the editors."""
        settings = self.ws.cost_settings
        self._updating = True
        try:
            enabled = settings is not None
            for w in (self.gpu, self.count, self.price):
                w.setEnabled(enabled and (w is not self.gpu or self._presets is not None))
            if settings is None:
                return
            gpu = settings.gpu or (self._presets.default_gpu if self._presets else None)
            if gpu and self.gpu.findText(gpu) >= 0:
                self.gpu.setCurrentText(gpu)
            self.count.setValue(int(settings.gpu_count or 1))
            self.price.setValue(float(settings.usd_per_gpu_hour or self._preset_price(gpu) or 0.0))
            self._show_source(gpu)
        finally:
            self._updating = False

    def _preset(self, name: str | None) -> Any:
        return None if self._presets is None or not name else self._presets.gpus.get(name)

    def _preset_price(self, name: str | None) -> float | None:
        preset = self._preset(name)
        return None if preset is None else preset.usd_per_gpu_hour

    def _show_source(self, name: str | None) -> None:
        preset = self._preset(name)
        self.source.setText(
            "" if preset is None else f"Preset price: {preset.price_source} ({preset.price_date}); "
            f"{preset.power_w:.0f} W"
        )

    def _on_gpu(self, name: str) -> None:
        if self._updating:
            return
        price = self._preset_price(name)
        self._show_source(name)
        if price is not None:
            self._updating = True
            self.price.setValue(price)
            self._updating = False
        self._emit()

    def current_settings(self) -> Any:
        """CostSettings built from the editors (None without the cost module)."""
        if self.ws.cost_settings is None:
            return None
        preset = self._preset(self.gpu.currentText())
        return replace(
            self.ws.cost_settings,
            gpu=self.gpu.currentText() or None,
            gpu_count=int(self.count.value()),
            usd_per_gpu_hour=float(self.price.value()),
            power_w=None if preset is None else preset.power_w,
        )

    def _emit(self) -> None:
        if self._updating:
            return
        settings = self.current_settings()
        if settings is not None:
            self.settingsEdited.emit(settings)
            self._save_timer.start()

    def _save(self) -> None:
        settings = self.current_settings()
        if settings is not None:
            problem = costing.save_cost_settings(settings)
            if problem:
                self.source.setText(problem)

    # -- results -----------------------------------------------------------
    def refresh(self) -> None:
        """Show the wasted steps, GPU-hours, money and energy of the ticked runs."""
        self.table.clear()
        if self.ws.cost_settings is None:
            self.total.setText(f"<i>{self.ws.cost_status}</i>")
            return
        if self.ws.analysis is None:
            self.total.setText(f"<i>{self.ws.analysis_status}: no cost to estimate</i>")
            return
        keys: list[str] = []
        unpriced = 0  # runs with wasted steps but no step time (no clock in the log)
        for run in self.ws.checked_runs():
            cost = self.ws.run_cost(run_key(run))
            if cost is None:
                continue
            if (cost_value(cost, "wasted_steps") or 0) > 0 and cost_value(cost, "wasted.usd") is None:
                unpriced += 1
            item = _cost_row(run.name, cost)
            self.table.addTopLevelItem(item)
            for waste in getattr(cost, "by_finding", None) or []:
                item.addChild(_waste_row(waste))
            item.setExpanded(run_key(run) == self.ws.current)  # the selected run's breakdown
            keys.append(run_key(run))
        totals = self.ws.cost_total(keys) if keys else None  # the one place costs are added up
        if totals is None:
            self.total.setText(f"<i>{self.ws.cost_status}: no cost figures for the ticked runs</i>")
            return
        rows = len(keys)
        steps = fmt.steps(totals.wasted_steps)
        wasted = totals.wasted
        if wasted.usd is None:
            self.total.setText(
                f"Wasted in {rows} ticked runs: <b>{steps}</b>; no money or energy figure: these logs "
                "carry no wall clock, so the time per step is unknown")
            return
        usd = fmt.usd(wasted.usd)
        gpu_h = fmt.gpu_hours(wasted.gpu_hours or 0.0)
        kwh = f"{fmt.amount(wasted.kwh)} kWh" if wasted.kwh is not None else "– kWh"
        co2 = f"{fmt.amount(wasted.kg_co2e)} kg CO₂e" if wasted.kg_co2e is not None else "– kg CO₂e"
        note = (f"<br><i>{fmt.plural(unpriced, 'run')} with wasted steps "
                f"{'have' if unpriced != 1 else 'has'} no clock in the log: not priced</i>") if unpriced else ""
        self.total.setText(f"Wasted in {rows} ticked runs: <b>{usd}</b> · {steps} · {gpu_h} · {kwh} · {co2}{note}")

    def total_text(self) -> str:
        """The summary line (plain text), for tests and screenshots."""
        return self.total.text()


def _cells(cost: Any, paths: tuple[str, ...]) -> list[str]:
    """Formatted cells for ``paths``, each paired with the formatter of the table column at its place."""
    out = []
    for path, (_, _, shown) in zip(paths, COST_COLUMNS[-len(paths):]):
        v = cost_value(cost, path)
        out.append("–" if v is None else shown(v))
    return out


def _energy_tip(money: Any) -> str:
    kwh, co2 = cost_value(money, "kwh"), cost_value(money, "kg_co2e")
    return f"energy: {'–' if kwh is None else fmt.amount(kwh)} kWh · {'–' if co2 is None else fmt.amount(co2)} kg CO₂e"


def _cost_row(name: str, cost: Any) -> QTreeWidgetItem:
    """A run's wasted steps, GPU-hours and dollars; the tooltip adds energy and the run's total."""
    item = QTreeWidgetItem([name] + _cells(cost, tuple(p for p, _, _ in COST_COLUMNS)))
    total = cost_value(cost, "total.usd")
    tip = f"{name}\n{_energy_tip(cost.wasted)}"
    if total is not None:
        tip += f"\nwhole run: {fmt.usd(total)}"
    for col in range(item.columnCount()):
        item.setToolTip(col, tip)
    return item


def _waste_row(waste: Any) -> QTreeWidgetItem:
    """One entry of RunCost.by_finding: the finding's wasted steps and their price."""
    label = style.finding_label(waste)
    if waste.step_start is not None:
        label += f" ({waste.step_start:,}–{waste.step_end:,})" if waste.step_end is not None else (
            f" ({waste.step_start:,})")
    cells = [fmt.count(waste.wasted_steps, "–"),
             *_cells(waste.money, ("gpu_hours", "usd"))]
    item = QTreeWidgetItem([label] + cells)
    tip = f"{label}\n{_energy_tip(waste.money)}" + (f"\n{waste.note}" if waste.note else "")
    for col in range(item.columnCount()):
        item.setToolTip(col, tip)
    return item
