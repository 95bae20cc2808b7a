"""Fleet table: every run with its worst finding and what its problems wasted, sortable; a click
opens the run in the curves tab. Where the money went, at a glance."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrdoctor import formatting as fmt
from lrdoctor import style
from lrdoctor.workspace import ANALYSIS, COST, RUNS, Workspace, run_key

from .markers import severity_icon

COLUMNS = ("Run", "Worst finding", "Wasted $", "Share wasted")
KEY_ROLE = Qt.ItemDataRole.UserRole
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NO_VALUE = float("-inf")  # runs without a number sort below every number


class _SortItem(QTableWidgetItem):
    """A cell that sorts by its number (SORT_ROLE), not by its text."""

    def __lt__(self, other: QTableWidgetItem) -> bool:  # noqa: D105
        a, b = self.data(SORT_ROLE), other.data(SORT_ROLE)
        if a is None or b is None:
            return super().__lt__(other)
        return a < b


def _cell(text: str, sort_value: object, align_right: bool = False) -> _SortItem:
    item = _SortItem(text)
    item.setData(SORT_ROLE, sort_value)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class FleetPanel(QWidget):
    """Sortable table of all loaded runs; ``runOpened(key)`` when a row is clicked."""

    runOpened = Signal(str)

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.summary = QLabel()
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in range(1, len(COLUMNS)):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSortingEnabled(True)
        self.table.sortItems(2, Qt.SortOrder.DescendingOrder)
        self.table.cellClicked.connect(self._on_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self.ws.subscribe(lambda e: self.refresh() if e in (RUNS, ANALYSIS, COST) else None)
        self.refresh()

    def refresh(self) -> None:
        """One row per analysed run, sorted by wasted money (most first) until the user sorts."""
        header = self.table.horizontalHeader()
        column, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        analysis = self.ws.analysis
        runs = analysis.runs if analysis is not None else []
        total_usd = wasted_usd = 0.0
        for ra in runs:
            worst = max(ra.findings, key=lambda f: (style_rank(f.severity), f.confidence), default=None)
            cost = ra.cost
            usd = cost.wasted.usd if cost is not None else None
            share = cost.wasted_share if cost is not None else None
            if cost is not None and cost.total.usd is not None:
                total_usd += cost.total.usd
            wasted_usd += usd or 0.0
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = _cell(ra.run.name, ra.run.name.lower())
            name.setData(KEY_ROLE, run_key(ra.run))
            name.setToolTip(str(ra.run.path))
            label = "not diagnosed" if ra.not_diagnosed else (
                style.MODE_LABELS.get(worst.mode, worst.mode) if worst else "healthy")
            finding = _cell(label, (style_rank(worst.severity), worst.confidence) if worst else (-1, 0.0))
            finding.setIcon(severity_icon(worst.severity if worst else ("" if not ra.not_diagnosed else None)))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, finding)
            self.table.setItem(row, 2, _cell(fmt.usd(usd), NO_VALUE if usd is None else usd, True))
            self.table.setItem(row, 3, _cell(fmt.percent(share), NO_VALUE if share is None else share, True))
        self.table.setSortingEnabled(True)
        self.table.sortItems(column, order)  # the user's last sort (wasted money, most first, until then)
        n = len(runs)
        self.summary.setText(
            f"<b>{fmt.count(n)} run{'s' if n != 1 else ''}</b> · spend {fmt.usd(total_usd)} · "
            f"wasted <b>{fmt.usd(wasted_usd)}</b>"
            if n else f"<i>{self.ws.analysis_status}</i>")

    def rows(self) -> list[list[str]]:
        """The table's text, row by row, as shown."""
        return [[self.table.item(r, c).text() for c in range(len(COLUMNS))] for r in range(self.table.rowCount())]

    def _on_click(self, row: int, _column: int) -> None:
        key = self.table.item(row, 0).data(KEY_ROLE)
        if key:
            self.runOpened.emit(key)


def style_rank(severity: str) -> int:
    """Order of a severity (info < warning < critical)."""
    return tuple(style.SEVERITY_COLORS).index(severity) if severity in style.SEVERITY_COLORS else -1
