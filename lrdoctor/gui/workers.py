"""Loading and analysis off the GUI thread: QRunnables that report back by signals.

Every exception inside a worker becomes a ``failed`` signal with a message; nothing
escapes to crash the app.
"""

from __future__ import annotations

import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Signal

import parsers
from parsers import LoadWarning, RunList


def _emit(signal, *args) -> None:  # noqa: ANN001 - a bound PySide signal
    """Emit unless the receiver side is gone (the app is quitting while a worker finishes)."""
    try:
        signal.emit(*args)
    except RuntimeError:
        pass


class WorkerSignals(QObject):
    """Signals of one worker (a QRunnable cannot carry signals itself)."""

    progress = Signal(int, int, str)  # done, total, current file
    finished = Signal(object)  # the result
    failed = Signal(str)  # one-line message


class LoadWorker(QRunnable):
    """``parsers.load`` each path in turn; ``cancel()`` stops at the next file."""

    def __init__(self, paths: list[str], roles: dict[str, str] | None = None) -> None:
        super().__init__()
        self.paths = list(paths)
        self.roles = roles
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self.setAutoDelete(False)  # the window keeps a reference until `finished`

    def cancel(self) -> None:
        """Ask the load to stop after the current file (runs read so far are kept)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._cancel.is_set()

    def _progress(self, done: int, total: int, file: str) -> bool:
        _emit(self.signals.progress, done, total, file)
        return not self._cancel.is_set()

    def run(self) -> None:  # noqa: D102 - QRunnable override
        out = RunList()
        try:
            for path in self.paths:
                if self._cancel.is_set():
                    break
                loaded = parsers.load(path, roles=self.roles, progress=self._progress)
                out.extend(loaded)
                out.warnings.extend(loaded.warnings)
        except Exception as exc:  # a loader bug must not take the app down
            out.warnings.append(LoadWarning(", ".join(self.paths), f"loading failed: {type(exc).__name__}: {exc}"))
            traceback.print_exc()
        _emit(self.signals.finished, out)


class AnalyzeWorker(QRunnable):
    """Run the library's analysis (and cost estimate) on loaded runs.

    ``finished`` carries ``(analysis_or_None, status)``: the status says plainly why
    there is no analysis when the analyzer is not installed or failed.
    """

    def __init__(self, runs: list[Any], cost_settings: Any = None) -> None:
        super().__init__()
        self.runs = list(runs)
        self.cost_settings = cost_settings
        self.signals = WorkerSignals()
        self.setAutoDelete(False)

    def run(self) -> None:  # noqa: D102 - QRunnable override
        try:
            try:
                from lrdoctor.analysis import analyze
            except ImportError:
                _emit(self.signals.finished, (None, "analysis not available (the analyzer is not installed yet)"))
                return
            analysis = analyze(self.runs)
            status = f"analysed {len(analysis.runs)} runs"
            if self.cost_settings is not None:
                from .costing import estimate

                status += "; " + estimate(analysis, self.cost_settings)
            _emit(self.signals.finished, (analysis, status))
        except Exception as exc:
            traceback.print_exc()
            _emit(self.signals.finished, (None, f"analysis failed: {type(exc).__name__}: {exc}"))


class RunAnalyzeWorker(QRunnable):
    """Analyse one run again (its roles were overridden); ``finished`` carries ``(RunAnalysis_or_None, status)``."""

    def __init__(self, run: Any, cost_settings: Any = None) -> None:
        super().__init__()
        self.run_ = run
        self.cost_settings = cost_settings
        self.signals = WorkerSignals()
        self.setAutoDelete(False)

    def run(self) -> None:  # noqa: D102 - QRunnable override
        try:
            from lrdoctor.analysis import Analysis, analyze_run

            ra = analyze_run(self.run_)
            status = f"analysed {self.run_.name} again"
            if self.cost_settings is not None:
                from .costing import estimate

                status += "; " + estimate(Analysis(runs=[ra]), self.cost_settings)
            _emit(self.signals.finished, (ra, status))
        except Exception as exc:
            traceback.print_exc()
            _emit(self.signals.finished, (None, f"analysis of {self.run_.name} failed: {type(exc).__name__}: {exc}"))
