"""Live runs in the app: Qt's file-system watcher (and a polling timer for network drives, where
it stays silent) drive the library's :class:`~lrdoctor.watch.RunWatcher` off the GUI thread.

A change is noticed, the records appended to the changed run are read (from the read positions
the window's loads left, see :class:`parsers.tail.TailReader`) and the run re-analysed in a worker, and the window gets
the fresh runs, their analysis and the findings that are new since the last look.
"""

from __future__ import annotations

import os
import traceback

from PySide6.QtCore import QFileSystemWatcher, QObject, QRunnable, QThreadPool, QTimer, Signal

from lrdoctor.watch import RunWatcher, WatchUpdate, scan
from parsers.tail import TailReader

from .workers import _emit

POLL_INTERVAL_MS = 3000  # fallback look at the files: network drives send no change events
DEBOUNCE_MS = 150  # a writer flushes several records in a burst: look once after it


class _PollSignals(QObject):
    finished = Signal(object)  # WatchUpdate, or None when the look failed


class _PollWorker(QRunnable):
    """One ``RunWatcher.poll()`` (re-read and re-analyse the changed runs) off the GUI thread."""

    def __init__(self, watcher: RunWatcher, cost_settings: object = None) -> None:
        super().__init__()
        self.watcher = watcher
        self.cost_settings = cost_settings
        self.signals = _PollSignals()
        self.setAutoDelete(False)

    def run(self) -> None:  # noqa: D102 - QRunnable override
        try:
            update = self.watcher.poll()
            if update.analyses and self.cost_settings is not None:
                from lrdoctor.analysis import Analysis

                from .costing import estimate

                update.costs = estimate(Analysis(runs=update.analyses), self.cost_settings)[0]  # type: ignore[arg-type]
            _emit(self.signals.finished, update)
        except Exception:  # a bad file mid-write must not stop the watching
            traceback.print_exc()
            _emit(self.signals.finished, None)


class LiveWatch(QObject):
    """Follows the opened locations; ``updated(WatchUpdate)`` after a changed run was re-analysed."""

    updated = Signal(object)  # WatchUpdate with at least one re-read run

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.watcher: RunWatcher | None = None
        self.paused = False
        self.cost_settings: object = None
        self._worker: _PollWorker | None = None
        self._again = False
        self.fs = QFileSystemWatcher(self)
        self.fs.fileChanged.connect(self._on_change)
        self.fs.directoryChanged.connect(self._on_change)
        self._debounce = QTimer(self, singleShot=True, interval=DEBOUNCE_MS)
        self._debounce.timeout.connect(self.check_now)
        self.poll_timer = QTimer(self, interval=POLL_INTERVAL_MS)
        self.poll_timer.timeout.connect(self.check_now)

    def watch(self, paths: list[str], analyses: list[object] | None = None, reader: TailReader | None = None,
              ) -> None:
        """Follow ``paths`` from their current state; findings already in ``analyses`` are not new.

        ``reader``: the TailReader the runs were loaded with, so the first append is read from
        where that load stopped.
        """
        self.watcher = RunWatcher(paths, reader=reader)
        self.watcher.files = scan(self.watcher.paths)
        for ra in analyses or []:
            self.mark_seen(ra)
        self._watch_files()
        self.poll_timer.start()

    def mark_seen(self, run_analysis: object) -> None:
        """Findings of this RunAnalysis are known to the user: no banner for them."""
        if self.watcher is not None:
            self.watcher.remember(run_analysis)  # type: ignore[arg-type]

    def stop(self) -> None:
        """Stop following (the window is closing)."""
        self.poll_timer.stop()
        self._debounce.stop()
        self.watcher = None
        if self._worker is not None:
            try:
                self._worker.signals.finished.disconnect()
            except (RuntimeError, TypeError):
                pass
            self._worker = None

    def set_paused(self, paused: bool) -> None:
        """Pause (or resume) following; resuming looks at once."""
        self.paused = bool(paused)
        if not self.paused:
            self.check_now()

    def _watch_files(self) -> None:
        if self.watcher is None:
            return
        wanted = set(self.watcher.files)
        for root in self.watcher.paths:
            if os.path.isdir(root):
                wanted.update(dirpath for dirpath, _dirs, _files in os.walk(root))
        new = sorted(wanted - set(self.fs.files()) - set(self.fs.directories()))
        if new:
            self.fs.addPaths(new)

    def _on_change(self, _path: str) -> None:
        if not self.paused:
            self._debounce.start()

    def check_now(self) -> None:
        """Look at the files now (in a worker); a look already running is followed by one more."""
        if self.watcher is None or self.paused:
            return
        if self._worker is not None:
            self._again = True
            return
        self._worker = _PollWorker(self.watcher, self.cost_settings)
        self._worker.signals.finished.connect(self._on_polled)
        QThreadPool.globalInstance().start(self._worker)

    def _on_polled(self, update: WatchUpdate | None) -> None:
        self._worker = None
        if update is not None and update.changed:
            self._watch_files()  # new files and folders (a new run, a rotated event file)
            self.updated.emit(update)
        if self._again:
            self._again = False
            self.check_now()
