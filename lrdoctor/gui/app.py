"""``lrdoctor [PATH ...]``: start the desktop app, optionally opening paths."""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from types import TracebackType

from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

import pyqtgraph as pg

RESOURCES = Path(__file__).with_name("resources")


def application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (created once), styled to follow the system's light/dark palette."""
    app = QApplication.instance()
    if app is None:
        app = QApplication(argv or [sys.argv[0]])
        # Fusion draws every widget from the palette, so the system's dark mode carries through.
        app.setStyle("Fusion")
    app.setApplicationName("lrdoctor")
    app.setOrganizationName("lrdoctor")
    icon = RESOURCES / "lrdoctor.svg"
    if icon.exists():
        app.setWindowIcon(QIcon(str(icon)))
    pg.setConfigOptions(antialias=False, useNumba=False)
    return app  # type: ignore[return-value]


def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    """Show an unexpected error in the status bar instead of letting Qt abort."""
    traceback.print_exception(kind, value, tb)
    app = QApplication.instance()
    for widget in app.topLevelWidgets() if app else []:
        if hasattr(widget, "status_label"):
            widget.status_label.setText(f"Internal error: {kind.__name__}: {value}")
            break


def main(paths: list[str]) -> int:
    """Open the main window with ``paths`` loading; returns the exit code."""
    app = application()
    from .main_window import MainWindow

    sys.excepthook = _excepthook
    window = MainWindow()
    window.show()
    if paths:
        missing = [p for p in paths if not Path(p).exists()]
        for p in missing:
            window._add_warning_lines([f"{p}: no such file or folder"])
        found = [p for p in paths if Path(p).exists()]
        if found:
            window.open_paths(found)
    return int(app.exec())
