"""Loading and analysis off the GUI thread: QRunnables that report back by signals.

Every exception inside a worker becomes a ``failed`` signal with a message; nothing
escapes to crash the app.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QRunnable, Signal

import parsers
from parsers import LoadWarning, Run, RunList
from parsers.tail import TailReader

if TYPE_CHECKING:  # imported in the workers: the analysis package pulls in SciPy (slow first paint)
    from lrdoctor.analysis import Analysis, RunAnalysis
    from lrdoctor.cost import Costs, CostSettings


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
    """``parsers.load`` each path in turn (through ``reader``'s read positions when given);
    ``cancel()`` stops at the next file."""

    def __init__(self, paths: list[str], roles: dict[str, str] | None = None, reader: TailReader | None = None,
                 ) -> None:
        super().__init__()
        self.paths = list(paths)
        self.roles = roles
        self.reader = reader  # keeps read positions: a reload reads only what was appended
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
                if self.reader is not None:
                    loaded = self.reader.load(path, roles=self.roles, progress=self._progress)
                else:
                    loaded = parsers.load(path, roles=self.roles, progress=self._progress)
                out.extend(loaded)
                out.warnings.extend(loaded.warnings)
        except Exception as exc:  # a loader bug must not take the app down
            out.warnings.append(LoadWarning(", ".join(self.paths), f"loading failed: {type(exc).__name__}: {exc}"))
            traceback.print_exc()
        _emit(self.signals.finished, out)


@dataclass(frozen=True)
class AnalysisOutcome:
    """What an analysis worker hands back to the window.

    ``analysis`` is None when the analysis failed (``message`` says why); ``costs`` is its cost
    (held beside it) and ``cost_message`` the cost panel's status, both None when no cost was asked for; ``reused`` counts the runs whose
    previous analysis was kept because they had not changed; ``cancelled`` says the user stopped it.
    """

    analysis: Analysis | None
    message: str
    cost_message: str | None = None
    reused: int = 0
    costs: Costs | None = None
    cancelled: bool = False

    @property
    def failed(self) -> bool:
        """Whether there is no analysis (and not because the user cancelled)."""
        return self.analysis is None and not self.cancelled


def _outcome(analysis: Analysis, message: str, settings: CostSettings | None, reused: int = 0) -> AnalysisOutcome:
    """The outcome of an analysis, with its cost when cost settings are known."""
    if settings is None:
        return AnalysisOutcome(analysis, message, None, reused)
    from .costing import estimate

    costs, status = estimate(analysis, settings)
    return AnalysisOutcome(analysis, message, status, reused, costs=costs)


class _Cancelled(Exception):
    """Raised from the fleet's progress callback to stop it (the pool drops its queued tasks)."""


def _same_run(fleet_run: Run, run: Run) -> bool:
    """Whether a run the fleet read is the run the window holds: same files read to the same
    points, no role chosen by hand since (else the window's own copy is analysed)."""
    return (len(fleet_run.scalars) == len(run.scalars) and fleet_run.roles == run.roles
            and sorted(fleet_run.files) == sorted(run.files))


class AnalyzeWorker(QRunnable):
    """Analyse the loaded runs (and estimate their cost) off the GUI thread.

    Runs found in ``previous`` (the same Run object, so not re-read since) keep their analysis.
    The others go through the CLI's fleet path (:mod:`lrdoctor.fleet`: every core in a process
    pool when the work pays for it, and the per-run result cache) for the run units of
    ``sources`` that hold them; a run the fleet did not give back as the window holds it (a role
    chosen by hand, a file that grew meanwhile, a run from elsewhere) is analysed here. Then
    sweeps are found again over all of them, as the CLI's ``analyze`` does. ``progress`` reports
    runs done / to do; ``cancel()`` stops (the pool drops its queued tasks).
    """

    def __init__(self, runs: list[Run], cost_settings: CostSettings | None = None,
                 previous: list[RunAnalysis] | None = None, sources: list[str] | None = None) -> None:
        super().__init__()
        self.runs = list(runs)
        self.cost_settings = cost_settings
        self.previous = {id(ra.run): ra for ra in (previous or [])}
        self.sources = list(sources or [])
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self.from_fleet = 0  # runs whose analysis came from the fleet path (pool or cache)
        self.setAutoDelete(False)

    def cancel(self) -> None:
        """Stop before the next run (the window keeps showing the previous results)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called (a result that arrives after it is not shown)."""
        return self._cancel.is_set()

    def _fleet(self, todo: list[Run]) -> dict[tuple[str, str], RunAnalysis]:
        """Analyses of ``todo`` by the fleet path, by (format, path): only the run units holding them."""
        import os

        from lrdoctor.fleet.cache import ResultCache
        from lrdoctor.fleet.execute import run_tasks
        from lrdoctor.fleet.tasks import plan

        if self._cancel.is_set():
            raise _Cancelled
        wanted = {os.path.abspath(f) for r in todo for f in r.files}
        tasks, _ = plan(self.sources, analyze=True)
        tasks = [t for t in tasks if wanted.intersection(os.path.abspath(f) for f in t.unit.files)]
        if not tasks:
            return {}

        def progress(done: int, total: int, unit: str) -> None:
            if self._cancel.is_set():
                raise _Cancelled
            _emit(self.signals.progress, done, total, os.path.basename(unit.rstrip(os.sep)) if unit else "")

        _emit(self.signals.progress, 0, len(tasks), "")
        results = run_tasks(tasks, cache=ResultCache(), progress=progress)
        return {(ra.run.format, str(ra.run.path)): ra for r in results for ra in r.analyses if ra is not None}

    def run(self) -> None:  # noqa: D102 - QRunnable override
        from lrdoctor.analysis import analyze_run, compare_runs

        try:
            todo = [r for r in self.runs if id(r) not in self.previous]
            fleet = self._fleet(todo) if todo and self.sources else {}
            analyses: list[RunAnalysis] = []
            done = 0
            for run in self.runs:
                ra = self.previous.get(id(run))
                if ra is None:
                    if self._cancel.is_set():
                        raise _Cancelled
                    ra = fleet.get((run.format, str(run.path)))
                    if ra is not None and _same_run(ra.run, run):
                        ra.run = run  # the window's Run (named as loaded, drawn): the same data
                        self.from_fleet += 1
                    else:
                        _emit(self.signals.progress, done, len(todo), run.name)
                        ra = analyze_run(run)
                    done += 1
                analyses.append(ra)
            _emit(self.signals.progress, done, len(todo), "")
            # the same sweeps, context and next-run plans as the CLI's analyze()
            analysis = compare_runs(self.runs, analyses)
            reused = len(self.runs) - len(todo)
            message = f"analysed {len(todo)} run{'s' if len(todo) != 1 else ''}"
            if reused:
                message += f" ({reused} unchanged kept)"
            _emit(self.signals.finished, _outcome(analysis, message, self.cost_settings, reused))
        except _Cancelled:
            _emit(self.signals.finished, AnalysisOutcome(None, "analysis cancelled", cancelled=True))
        except Exception as exc:
            traceback.print_exc()
            _emit(self.signals.finished, AnalysisOutcome(None, f"analysis failed: {type(exc).__name__}: {exc}"))


class RunAnalyzeWorker(QRunnable):
    """Analyse one run again (its roles were overridden, or its log grew).

    ``finished`` carries an :class:`AnalysisOutcome` whose analysis holds that one run.
    """

    def __init__(self, run: Run, cost_settings: CostSettings | None = None) -> None:
        super().__init__()
        self.run_ = run
        self.cost_settings = cost_settings
        self.signals = WorkerSignals()
        self.setAutoDelete(False)

    def run(self) -> None:  # noqa: D102 - QRunnable override
        from lrdoctor.analysis import analyze_run, compare_runs

        try:
            analysis = compare_runs([self.run_], [analyze_run(self.run_)])
            _emit(self.signals.finished, _outcome(analysis, f"analysed {self.run_.name} again", self.cost_settings))
        except Exception as exc:
            traceback.print_exc()
            _emit(self.signals.finished,
                  AnalysisOutcome(None, f"analysis of {self.run_.name} failed: {type(exc).__name__}: {exc}"))
