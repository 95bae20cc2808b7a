"""How long the app tests wait for the app, and the wait for an opened path's analysis.
Imported as ``tests.gui_waits`` by tests/gui (not a package)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# A first load and analysis may take this long: generous, the machine is shared by several jobs.
LOAD_TIMEOUT_MS = 120_000


def open_and_wait(qtbot: Any, win: Any, *paths: Path) -> None:
    """Open ``paths`` in the main window ``win`` and wait until the analysis (or its 'not available'
    status) is in."""
    with qtbot.waitSignal(win.analysisFinished, timeout=LOAD_TIMEOUT_MS):
        win.open_paths([str(p) for p in paths])
