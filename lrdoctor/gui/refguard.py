"""Guard against a PySide6 reference-count leak on None/True/False (CPython < 3.12 only).

PySide6 6.12.0 on Python 3.11 drops one reference to ``None`` on every call of a
void Qt method (``QWidget.update()``, ``QGraphicsItem.prepareGeometryChange()`` ...)
and to ``True``/``False`` on some bool calls: measured here, ``sys.getrefcount(None)``
falls by ~100 per 100 ``update()`` calls. Panning a plot makes thousands of such
calls, so after a while the count reaches zero and CPython aborts ("none_dealloc:
deallocating None"), at the latest when the interpreter exits. From Python 3.12
these objects are immortal and the leak is harmless.

pyproject.toml pins PySide6 below 6.12; this guard covers an environment that has
the leaking build anyway. When (and only when) a probe shows the leak, the refcounts of the three singletons
are raised by a large constant so they can never reach zero in a session; a timer
tops them up again should they ever run low. This touches nothing else.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimer

PROBE_CALLS = 64  # enough calls that a per-call leak cannot hide in noise
TOP_UP = 1 << 30  # references added: ~10^9 leaked calls before the floor is reached again
FLOOR = 1 << 20  # re-top-up below this count
CHECK_INTERVAL_MS = 10_000

_SINGLETONS = (None, True, False)


def leaks_references() -> bool:
    """Whether void Qt calls leak references to None in this PySide6/CPython build."""
    if sys.implementation.name != "cpython" or sys.version_info >= (3, 12):
        return False
    timer = QTimer()
    before = sys.getrefcount(None)
    for _ in range(PROBE_CALLS):
        timer.stop()
    return sys.getrefcount(None) < before - PROBE_CALLS // 2


def _top_up() -> None:
    for obj in _SINGLETONS:
        if sys.getrefcount(obj) < FLOOR:
            # ob_refcnt is the first field of every CPython object (< 3.12: a plain Py_ssize_t).
            ctypes.c_ssize_t.from_address(id(obj)).value += TOP_UP


def install(parent: QObject) -> QTimer | None:
    """Protect the process if the leak is present; returns the watchdog timer (or None)."""
    if getattr(install, "_timer", None) is not None or not leaks_references():
        return getattr(install, "_timer", None)
    _top_up()
    timer = QTimer(parent)
    timer.setInterval(CHECK_INTERVAL_MS)
    timer.timeout.connect(_top_up)
    timer.start()
    install._timer = timer  # type: ignore[attr-defined]
    return timer
