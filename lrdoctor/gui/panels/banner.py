"""A banner above the plots for news that must not be missed: a new finding in a live run."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from lrdoctor import style

BANNER_STYLE = "QFrame#banner {{ background: {bg}; border: 1px solid {edge}; border-radius: 4px; }}"
BANNER_ALPHA = 40  # of 255: the severity colour as a light wash behind the text


class Banner(QFrame):
    """One line of news in a severity colour, a "Show" button and a close button."""

    showRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.show_button = QPushButton("Show")
        self.show_button.clicked.connect(self.showRequested.emit)
        close = QPushButton("✕")
        close.setFlat(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.hide)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button)
        layout.addWidget(close)
        self.hide()

    def show_message(self, text: str, severity: str) -> None:
        """Show ``text`` (rich text) in the colour of ``severity``."""
        color = style.severity_color(severity)
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
        self.setStyleSheet(BANNER_STYLE.format(bg=f"rgba({r}, {g}, {b}, {BANNER_ALPHA})", edge=color))
        self.label.setText(text)
        self.show()

    def text(self) -> str:
        """The message shown."""
        return self.label.text()
