"""Tags panel: the selected run's tags grouped by role, with a regex filter."""

from __future__ import annotations

import re

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QHeaderView, QLineEdit, QMenu, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from parsers.roles import ROLES as ALL_ROLES
from lrdoctor.workspace import CORE_ROLES, CURRENT, METRICS, ROLES, RUNS, Workspace

ROLE_ORDER = ("train_loss", "val_loss", "lr", "grad_norm", "val_metric", "train_metric", "momentum",
              "step_time", "epoch", "other")
INVALID_STYLE = "QLineEdit { border: 1px solid #dc2626; }"


class TagsPanel(QWidget):
    """Tags of the current run by role; the primary tag of each role is marked.

    Right-click a tag: "Use as → role" emits ``roleChosen(tag, role)`` (the window applies it).
    """

    roleChosen = Signal(str, str)  # tag, role

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = workspace
        self.filter = QLineEdit(placeholderText="Filter tags (regex)…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._on_filter)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Tag", "Points"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.header().setStretchLastSection(False)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._on_context_menu)
        self.tree.setToolTip("Tick a tag to plot it in its own panel; right-click to choose its role "
                             "(e.g. use it as the learning rate). The filter also picks panels.")
        self.tree.itemChanged.connect(self._on_item_changed)
        self._building = False
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree)
        self.ws.subscribe(self._on_event)

    def pattern(self) -> re.Pattern[str] | None:
        """The filter as a regex (case-insensitive); None when it does not compile."""
        try:
            return re.compile(self.filter.text(), re.IGNORECASE)
        except re.error:
            return None

    def _on_event(self, event: str) -> None:
        if event in (RUNS, CURRENT, ROLES):
            self.rebuild()
        elif event == METRICS:
            self._sync_checks()

    def _sync_checks(self) -> None:
        """Tick states from the workspace (without rebuilding: the item may be mid-signal)."""
        self._building = True
        try:
            for i in range(self.tree.topLevelItemCount()):
                top = self.tree.topLevelItem(i)
                for j in range(top.childCount()):
                    child = top.child(j)
                    if child.flags() & Qt.ItemFlag.ItemIsUserCheckable:
                        shown = child.toolTip(0) in self.ws.metric_tags
                        want = Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked
                        if child.checkState(0) != want:
                            child.setCheckState(0, want)
        finally:
            self._building = False

    def _on_filter(self, text: str) -> None:
        self.rebuild()
        self.ws.set_tag_filter(text if self.pattern() is not None else "")

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._building or column != 0 or item.parent() is None:
            return
        self.ws.set_metric_tag(item.toolTip(0), item.checkState(0) == Qt.CheckState.Checked)

    def rebuild(self) -> None:
        """List the current run's tags that match the filter."""
        self._building = True
        try:
            self._rebuild()
        finally:
            self._building = False

    def _rebuild(self) -> None:
        self.tree.clear()
        pattern = self.pattern()
        self.filter.setStyleSheet("" if pattern is not None else INVALID_STYLE)
        self.filter.setToolTip("" if pattern is not None else "not a valid regular expression")
        run = self.ws.current_run()
        if run is None or pattern is None:
            return
        counts = self.ws.tag_counts(run)
        roles = sorted(set(run.roles.values()), key=lambda r: ROLE_ORDER.index(r) if r in ROLE_ORDER else 99)
        for role in roles:
            tags = [t for t in self.ws.tags_for(run, role) if pattern.search(t)]
            if not tags:
                continue
            top = QTreeWidgetItem([role, ""])
            self.tree.addTopLevelItem(top)
            for i, tag in enumerate(tags):
                child = QTreeWidgetItem([tag + ("  (used)" if i == 0 and role != "other" else ""),
                                         f"{counts.get(tag, 0):,}"])
                child.setToolTip(0, tag)
                if role not in CORE_ROLES:  # loss, LR and grad norm have their own panels
                    child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                    shown = tag in self.ws.metric_tags
                    child.setCheckState(0, Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked)
                top.addChild(child)
        self.tree.expandAll()

    def menu_for(self, item: QTreeWidgetItem | None) -> QMenu | None:
        """The context menu of a tag row ("Use as → role"); None for role headers and empty space."""
        if item is None or item.parent() is None:
            return None
        tag = item.toolTip(0)
        run = self.ws.current_run()
        if run is None or tag not in run.roles:
            return None
        menu = QMenu(self)
        sub = menu.addMenu("Use as")
        for role in ALL_ROLES:
            action = sub.addAction(role)
            action.setCheckable(True)
            action.setChecked(run.roles[tag] == role)
            action.setEnabled(run.roles[tag] != role)
            action.triggered.connect(lambda _c=False, t=tag, r=role: self.roleChosen.emit(t, r))
        return menu

    def _on_context_menu(self, pos: QPoint) -> None:
        menu = self.menu_for(self.tree.itemAt(pos))
        if menu is not None:
            menu.exec(self.tree.viewport().mapToGlobal(pos))

    def shown_tags(self) -> list[str]:
        """Tags currently listed (without the '(used)' mark)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            out.extend(top.child(j).toolTip(0) for j in range(top.childCount()))
        return out
