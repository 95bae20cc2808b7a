"""Small coloured markers (severity dots) shared by the panels."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap

from lrdoctor import style

MARKER_SIZE = 12
NOT_ANALYSED_COLOR = "#9ca3af"  # grey: no analysis yet


@lru_cache(maxsize=16)
def dot_icon(color: str) -> QIcon:
    """A filled circle of ``color``."""
    pix = QPixmap(MARKER_SIZE, MARKER_SIZE)
    pix.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pix)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setBrush(QColor(color))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.drawEllipse(1, 1, MARKER_SIZE - 2, MARKER_SIZE - 2)
    painter.end()
    return QIcon(pix)


def severity_icon(severity: str | None) -> QIcon:
    """Dot for a severity: '' = healthy (green), None = not analysed (grey)."""
    if severity is None:
        return dot_icon(NOT_ANALYSED_COLOR)
    return dot_icon(style.severity_color(severity or None))


def severity_text(severity: str | None) -> str:
    """Tooltip text for a run's marker."""
    if severity is None:
        return "not analysed"
    return "healthy: no finding" if severity == "" else f"worst finding: {severity}"
