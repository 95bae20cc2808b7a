"""Runs panel: a tree of runs grouped by folder / sweep, a checkbox per run to overlay it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from lrdoctor.workspace import ANALYSIS, CHECKED, CURRENT, RUNS, Workspace, run_key

from .markers import severity_icon, severity_text

KEY_ROLE = Qt.ItemDataRole.UserRole


def _steps_text(run) -> str:
    rng = run.step_range
    return "-" if rng is None else f"{rng[1]:,}"


class RunsPanel(QWidget):
    """Tree of runs; ticking a run overlays it, selecting it shows its tags."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self._syncing = False
        self._built: list[tuple[str, bool, tuple[str, ...]]] = []
        self.filter = QLineEdit(placeholderText="Filter runs…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.apply_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Run", "Format", "Steps"])
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(self._on_current)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.ws.subscribe(self._on_event)

    def _on_event(self, event: str) -> None:
        if event == RUNS or (event == ANALYSIS and self._grouping() != self._built):
            self.rebuild()  # the analysis found sweeps: their runs move into sweep groups
        elif event == CHECKED:
            self._sync_checks()
        elif event == ANALYSIS:
            self._sync_markers()
        elif event == CURRENT:
            item = self.item_for(self.ws.current)
            if item is not None and self.tree.currentItem() is not item:
                self.tree.setCurrentItem(item)

    def _grouping(self) -> list[tuple[str, bool, tuple[str, ...]]]:
        return [(g.folder, g.sweep, tuple(run_key(r) for r in g.runs)) for g in self.ws.groups()]

    def rebuild(self) -> None:
        """Recreate the tree from the workspace's groups."""
        self._syncing = True
        self.tree.clear()
        groups = self.ws.groups()
        self._built = [(g.folder, g.sweep, tuple(run_key(r) for r in g.runs)) for g in groups]
        for group in groups:
            parent = self.tree.invisibleRootItem()
            if group.folder:
                n = len(group.runs)
                parent = QTreeWidgetItem([group.label, "LR sweep" if group.sweep else "",
                                          f"{n} run{'s' if n != 1 else ''}"])
                parent.setToolTip(0, f"{group.label}\n{group.folder}" + ("\n(an LR sweep)" if group.sweep else ""))
                parent.setFlags(parent.flags() | Qt.ItemFlag.ItemIsAutoTristate | Qt.ItemFlag.ItemIsUserCheckable)
                self.tree.addTopLevelItem(parent)
            for run in group.runs:
                item = QTreeWidgetItem([run.name, run.format, _steps_text(run)])
                item.setData(0, KEY_ROLE, run_key(run))
                item.setToolTip(0, f"{run.name}\n{run.path}")
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(0, Qt.CheckState.Checked if run_key(run) in self.ws.checked else Qt.CheckState.Unchecked)
                parent.addChild(item)
        self.tree.expandAll()
        current = self.item_for(self.ws.current)
        if current is not None:
            self.tree.setCurrentItem(current)
        self._syncing = False
        self._sync_markers()
        self.apply_filter(self.filter.text())

    def run_items(self) -> list[QTreeWidgetItem]:
        """Every run row (not the folder rows)."""
        out = []
        stack = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        while stack:
            item = stack.pop(0)
            if item.data(0, KEY_ROLE):
                out.append(item)
            stack.extend(item.child(i) for i in range(item.childCount()))
        return out

    def item_for(self, key: str | None) -> QTreeWidgetItem | None:
        """The row of a run."""
        return next((i for i in self.run_items() if i.data(0, KEY_ROLE) == key), None)

    def _sync_checks(self) -> None:
        self._syncing = True
        for item in self.run_items():
            want = Qt.CheckState.Checked if item.data(0, KEY_ROLE) in self.ws.checked else Qt.CheckState.Unchecked
            if item.checkState(0) != want:
                item.setCheckState(0, want)
        self._syncing = False

    def _sync_markers(self) -> None:
        syncing, self._syncing = self._syncing, True  # icon changes emit itemChanged too
        try:
            for item in self.run_items():
                sev = self.ws.worst_severity(item.data(0, KEY_ROLE))
                item.setIcon(0, severity_icon(sev))
                item.setToolTip(1, severity_text(sev))
        finally:
            self._syncing = syncing

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._syncing or column != 0:
            return
        # Auto-tristate folder rows change their children one by one; collect the result once.
        keys = {i.data(0, KEY_ROLE) for i in self.run_items() if i.checkState(0) == Qt.CheckState.Checked}
        self.ws.set_checked_keys(keys)

    def _on_current(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None) -> None:
        if item is not None and item.data(0, KEY_ROLE):
            self.ws.set_current(item.data(0, KEY_ROLE))

    def apply_filter(self, text: str) -> None:
        """Hide runs whose name, format and path do not contain ``text`` (case-insensitive)."""
        needle = text.strip().lower()
        for item in self.run_items():
            hay = f"{item.text(0)} {item.text(1)} {item.toolTip(0)}".lower()
            item.setHidden(bool(needle) and needle not in hay)
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            if top.childCount():
                top.setHidden(all(top.child(j).isHidden() for j in range(top.childCount())))

    def visible_run_names(self) -> list[str]:
        """Names of the runs the filter leaves visible."""
        return [i.text(0) for i in self.run_items() if not i.isHidden()]
