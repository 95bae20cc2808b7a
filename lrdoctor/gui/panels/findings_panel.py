"""Findings list of the ticked runs: severity, mode, steps, evidence, recommendation."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lrdoctor import formatting as fmt
from lrdoctor import style
from lrdoctor.workspace import ANALYSIS, CHECKED, RUNS, Workspace, run_key

if TYPE_CHECKING:
    from lrdoctor.analysis import Finding

from .markers import severity_icon

FINDING_ROLE = Qt.ItemDataRole.UserRole


def steps_text(finding: Finding) -> str:
    """'1,200–3,400', '800' or '-' (see :func:`lrdoctor.formatting.step_range`)."""
    return fmt.step_range(finding.step_start, finding.step_end, unknown="-")


class FindingsPanel(QWidget):
    """Findings of the ticked runs; activating one asks the plots to zoom to its range."""

    findingActivated = Signal(str, object, object)  # run key, step_start, step_end

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.rows: list[tuple[str, Finding]] = []
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Severity", "Problem", "Run", "Steps", "Evidence"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        header = self.tree.header()
        for col in range(4):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemClicked.connect(lambda item, _c: self._activate(item))
        self.detail = QTextBrowser()
        self.detail.setOpenExternalLinks(False)
        self.detail.setPlaceholderText("Select a finding to read its evidence and the recommendation.")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.tree)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        self.ws.subscribe(lambda e: self.rebuild() if e in (RUNS, CHECKED, ANALYSIS) else None)
        self.rebuild()

    def rebuild(self) -> None:
        """List the findings of the ticked runs (or say why there are none)."""
        self.tree.clear()
        self.detail.clear()
        self.rows: list[tuple[str, Finding]] = []
        keys = [run_key(r) for r in self.ws.checked_runs()]
        if self.ws.analysis is None:
            self.status.setText(f"<i>{self.ws.analysis_status}</i>")
            self.status.setVisible(True)
            return
        pairs = self.ws.findings_for(keys)
        healthy = [self.ws.run(k).name for k in keys if self.ws.worst_severity(k) == ""]
        if not keys:
            self.status.setText("<i>Tick runs to see their findings.</i>")
        elif not pairs:
            undiagnosed = [ra.run.name for k in keys if (ra := self.ws.run_analysis(k)) is not None and ra.not_diagnosed]
            if len(undiagnosed) == len(keys):
                self.status.setText("Nothing diagnosed in the ticked runs: the notes below say why.")
            elif undiagnosed:
                self.status.setText(f"No learning-rate problem found; {_count(len(undiagnosed), 'ticked run')} "
                                    "not diagnosed (the notes below say why).")
            else:
                self.status.setText("No learning-rate problem found in the ticked runs.")
        else:
            extra = f" · healthy: {', '.join(healthy)}" if healthy and len(healthy) <= 4 else (
                f" · {len(healthy)} healthy runs" if healthy else "")
            self.status.setText(
                f"{_count(len(pairs), 'finding')} in {_count(len(keys), 'ticked run')}{extra}"
            )
        self.detail.setHtml(self._caveats_html(keys))  # until a finding is selected
        for run, finding in pairs:
            summary = finding.evidence.get("summary", "") if isinstance(finding.evidence, dict) else ""
            item = QTreeWidgetItem([
                finding.severity,
                style.finding_label(finding),
                run.name,
                steps_text(finding),
                summary,
            ])
            item.setIcon(0, severity_icon(finding.severity))
            item.setForeground(0, QColor(style.severity_color(finding.severity)))
            # Keep Python objects out of the item (PySide's QVariant refcounting at exit is fragile):
            # the item holds an index into self.rows.
            item.setData(0, FINDING_ROLE, len(self.rows))
            self.rows.append((run_key(run), finding))
            item.setToolTip(4, f"{summary}\n→ {finding.recommendation}")
            self.tree.addTopLevelItem(item)

    def _on_current(self, item: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if item is None:
            self.detail.clear()
            return
        key, finding = self.finding_of(item)
        run = self.ws.run(key)
        summary = finding.evidence.get("summary", "") if isinstance(finding.evidence, dict) else ""
        numbers = ", ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in (finding.evidence or {}).items()
            if k != "summary" and isinstance(v, (int, float, str)) and not isinstance(v, bool)
        )
        color = style.severity_color(finding.severity)
        summary, numbers = html.escape(summary), html.escape(numbers)
        self.detail.setHtml(
            _plan_html(self.ws.run_analysis(key)) +
            f"<b style='color:{color}'>{style.finding_label(finding)}</b> in "
            f"<b>{run.name if run else key}</b> (steps {steps_text(finding)}, confidence "
            f"{fmt.percent(finding.confidence)})<br>{summary}<br><small>{numbers}</small><br>"
            f"<b>Recommendation:</b> {html.escape(finding.recommendation)}"
            + self._caveats_html([key])
        )

    def _caveats_html(self, keys: list[str]) -> str:
        """The ticked runs' caveats (a stand-in curve, checks the logs did not allow), never silent."""
        lines = []
        for key in keys:
            ra = self.ws.run_analysis(key)
            for caveat in ra.caveats() if ra is not None else []:
                name = ra.run.name if len(keys) > 1 else ""
                lines.append(f"<small>{html.escape(name + ': ' if name else '')}{html.escape(caveat)}</small>")
        return ("<p>" + "<br>".join(lines) + "</p>") if lines else ""

    def _activate(self, item: QTreeWidgetItem) -> None:
        key, finding = self.finding_of(item)
        self.findingActivated.emit(key, finding.step_start, finding.step_end)

    def finding_of(self, item: QTreeWidgetItem) -> tuple[str, Finding]:
        """(run key, Finding) shown in a row."""
        return self.rows[int(item.data(0, FINDING_ROLE))]

    def detail_text(self) -> str:
        """The detail pane as plain text."""
        return self.detail.toPlainText()

    def items(self) -> list[QTreeWidgetItem]:
        """The finding rows."""
        return [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]


def _count(n: int, noun: str) -> str:
    """``'1 finding'``, ``'3 findings'``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _plan_html(ra: Any) -> str:
    """The run's next-run plan, leading the detail pane (empty without one)."""
    plan = getattr(ra, "next_run", None)
    if plan is None:
        return ""
    changes = "".join(f"<li>{html.escape(c)}</li>" for c in plan.changes)
    why = (f"<br><small>peak LR from {html.escape(plan.peak_lr_basis.replace('_', ' '))}: "
           f"{html.escape(plan.peak_lr_reason)}</small>") if plan.peak_lr_basis != "unchanged" else ""
    return (f"<b>Next run:</b> {html.escape(plan.summary())} (confidence {fmt.percent(plan.confidence)})"
            f"<ul>{changes}</ul>{why}<hr>")
