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
        """One row per analysed run from the library's fleet summary; the user's sort is kept."""
        header = self.table.horizontalHeader()
        column, order = header.sortIndicatorSection(), header.sortIndicatorOrder()
        self.table.setSortingEnabled(False)
        self.table.setRowCount(0)
        analysis = self.ws.analysis
        if analysis is None or not analysis.runs:
            self.summary.setText(f"<i>{self.ws.analysis_status}</i>")
            self.table.setSortingEnabled(True)
            return
        from lrdoctor.fleet.summary import fleet_summary

        summary = fleet_summary(analysis, self.ws.costs)
        for line in summary.ranked:
            ra = analysis.runs[line.index]
            row = self.table.rowCount()
            self.table.insertRow(row)
            name = _cell(line.name, line.name.lower())
            name.setData(KEY_ROLE, run_key(ra.run))
            name.setToolTip(line.path)
            if line.worst_mode is not None:
                worst = next((f for f in ra.findings if f.mode == line.worst_mode
                              and f.severity == line.worst_severity), None)
                # named for its remedy where the mode's name would promise the wrong fix (never learned)
                label = style.finding_label(worst) if worst is not None else style.MODE_LABELS.get(
                    line.worst_mode, line.worst_mode)
                rank = (style_rank(line.worst_severity or ""), len(line.modes))
            else:
                label, rank = ("not diagnosed", (-2, 0)) if ra.not_diagnosed else ("healthy", (-1, 0))
            finding = _cell(label, rank)
            finding.setIcon(severity_icon(line.worst_severity if line.worst_mode else (None if ra.not_diagnosed else "")))
            if len(line.modes) > 1:
                finding.setToolTip("all findings: " + ", ".join(style.MODE_LABELS.get(m, m) for m in line.modes))
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, finding)
            usd = line.wasted_usd
            self.table.setItem(row, 2, _cell(fmt.usd(usd), NO_VALUE if usd is None else usd, True))
            share = line.wasted_share
            self.table.setItem(row, 3, _cell(fmt.percent(share), NO_VALUE if share is None else share, True))
        self.table.setSortingEnabled(True)
        self.table.sortItems(column, order)  # the user's last sort (wasted money, most first, until then)
        text = (f"<b>{fmt.plural(summary.runs, 'run')}</b> · spend "
                f"{fmt.usd(summary.total_usd)} · wasted <b>{fmt.usd(summary.wasted_usd)}</b> "
                f"({fmt.percent(summary.wasted_share)})")
        if summary.by_mode and summary.by_mode[0].wasted_usd:
            top = summary.by_mode[0]
            text += f" · most by {style.MODE_LABELS.get(top.mode, top.mode)}: {fmt.usd(top.wasted_usd)}"
        if summary.notes:
            text += "<br><i>" + "; ".join(summary.notes) + "</i>"
        self.summary.setText(text)

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
