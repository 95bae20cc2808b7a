"""File > Export report…: the library's ``write_report`` with the cost settings chosen in the app.

Charts are drawn with Qt, so the report is written on the GUI thread under a busy cursor;
a failure becomes a message naming the file, never an exception escaping to Qt.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QWidget


REPORT_FILTERS: dict[str, str] = {
    ".html": "HTML report (*.html)",
    ".pdf": "PDF report (*.pdf)",
    ".md": "Markdown report (*.md)",
    ".json": "JSON (analyze --json contract) (*.json)",
}
DEFAULT_REPORT_NAME = "lrdoctor_report"


def ask_report_path(parent: QWidget, start_dir: str = "") -> str | None:
    """The save dialog: a path whose suffix names the format (added from the filter if missing)."""
    start = str(Path(start_dir or Path.home()) / f"{DEFAULT_REPORT_NAME}.html")
    path, chosen = QFileDialog.getSaveFileName(parent, "Export report", start, ";;".join(REPORT_FILTERS.values()))
    if not path:
        return None
    if Path(path).suffix.lower() not in REPORT_FILTERS:
        suffix = next((s for s, f in REPORT_FILTERS.items() if f == chosen), ".html")
        path += suffix
    return path


def write_report_now(analysis: Any, path: str, costs: Any, inputs: list[str]) -> tuple[Path | None, str]:
    """Write the report of ``analysis`` and its ``costs``; returns (path or None, message).

    Runs on the calling (GUI) thread with a wait cursor; errors come back as the message.
    """
    from lrdoctor.report import write_report

    app = QApplication.instance()
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        if app is not None:
            app.processEvents()  # show the cursor and status text before the charts render
        written = write_report(analysis, path, None, inputs=inputs, costs=costs)
    except Exception as exc:  # shown to the user; the app stays up
        text = str(exc)
        if str(path) not in text:
            text = f"{path}: {type(exc).__name__}: {text}"
        return None, text
    finally:
        QApplication.restoreOverrideCursor()
    return written, f"Report written to {written}"
