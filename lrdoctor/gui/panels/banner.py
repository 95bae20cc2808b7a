"""A banner above the plots for news that must not be missed: a new finding in a live run."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from lrdoctor import style

BANNER_STYLE = "QFrame#banner {{ background: {bg}; border: 1px solid {edge}; border-radius: 4px; }}"
BANNER_ALPHA = 40  # of 255: the severity colour as a light wash behind the text
# How often a shown banner's text is made again: "12 s ago" moves on while it is read, and a
# banner left up for an hour must not still say "3 min ago". A label's text is cheap to set.
TICK_MS = 1000


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
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button)
        layout.addWidget(close)
        self._text: Callable[[], str] | None = None
        self.tick = QTimer(self, interval=TICK_MS)
        self.tick.timeout.connect(self.refresh)
        self.hide()

    def show_message(self, text: str | Callable[[], str], severity: str) -> None:
        """Show ``text`` (rich text) in the colour of ``severity``.

        ``text`` may be a function giving the text now (a relative time such as "3 min ago"):
        it is asked again every :data:`TICK_MS` while the banner is up.
        """
        color = style.severity_color(severity)
        r, g, b = (int(color[i:i + 2], 16) for i in (1, 3, 5))
        self.setStyleSheet(BANNER_STYLE.format(bg=f"rgba({r}, {g}, {b}, {BANNER_ALPHA})", edge=color))
        self._text = text if callable(text) else None
        self.label.setText(text() if callable(text) else text)
        if self._text is not None:
            self.tick.start()
        else:
            self.tick.stop()
        self.show()

    def refresh(self) -> None:
        """Make the text again (its relative time moves on)."""
        if self._text is not None and self.isVisible():
            self.label.setText(self._text())

    def dismiss(self) -> None:
        """Hide the banner and stop refreshing it (the close button)."""
        self.tick.stop()
        self._text = None
        self.hide()

    def text(self) -> str:
        """The message shown."""
        return self.label.text()
