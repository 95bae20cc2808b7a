"""The Qt binding must not leak references to None/True/False: PySide6 6.12.0 on CPython 3.11
does, and the process then aborts ("deallocating None") after enough repaints or at exit."""

from __future__ import annotations

import sys

import pytest

pytest.importorskip("pytestqt", reason="pytest-qt not installed (the test extra): no qtbot")
QtWidgets = pytest.importorskip("PySide6.QtWidgets", reason="PySide6 not installed")
QWidget = QtWidgets.QWidget


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None/True/False are immortal from Python 3.12")
def test_void_qt_calls_keep_none_and_bools_alive(qtbot) -> None:
    widget = QWidget()
    qtbot.addWidget(widget)
    before = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True), ("False", False))}
    for _ in range(2000):
        widget.setEnabled(True)
        widget.update()
    after = {name: sys.getrefcount(obj) for name, obj in (("None", None), ("True", True), ("False", False))}
    for name in before:
        # a leak loses one reference per call (-2000 or worse); ordinary churn is a few dozen
        assert after[name] > before[name] - 200, f"{name} lost {before[name] - after[name]} references"
