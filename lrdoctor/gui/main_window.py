"""The main window: runs and tags on the left, curves / range test / sweep in the middle,
findings and cost below. Loading and analysis run in a QThreadPool."""

from __future__ import annotations

import html
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lrdoctor import __version__
from lrdoctor import formatting as fmt
from lrdoctor.watch import WatchUpdate
from lrdoctor.workspace import METRICS, RUNS, VIEW, WARNINGS, X_MODES, Workspace, run_key
from parsers import RunList
from parsers.tail import TailReader

from . import costing, report_export
from .live import LiveWatch
from .panels.banner import Banner
from .panels.cost_panel import CostPanel
from .panels.findings_panel import FindingsPanel
from .panels.fleet_panel import FleetPanel
from .panels.lr_views import RangeTestView, SweepView
from .panels.runs_panel import RunsPanel
from .panels.tags_panel import TagsPanel
from .plots import CurvesView
from .workers import AnalysisOutcome, AnalyzeWorker, LoadWorker, RunAnalyzeWorker

if TYPE_CHECKING:
    from lrdoctor.analysis import RunAnalysis
    from lrdoctor.cost import CostSettings

DEFAULT_SIZE = (1400, 900)
LEFT_WIDTH = 450  # px: run names like 'synth_clf_mlp-46e2/version_0' beside format and steps
WARNINGS_DOCK_HEIGHT = 110  # px: four or five lines
MAX_RECENT = 10
SETTINGS_ORG, SETTINGS_APP = "lrdoctor", "lrdoctor"
FILE_FILTER = "Training logs (*tfevents* *.csv *.tsv *.json *.jsonl *.log *.txt *.wandb);;All files (*)"


class MainWindow(QMainWindow):
    """The lrdoctor app window."""

    loadFinished = Signal()  # after runs were added (analysis may still run)
    analysisStarted = Signal()  # an analysis worker was started (progress follows)
    analysisFinished = Signal()
    liveUpdated = Signal()  # a followed run grew and was re-analysed

    def __init__(self, settings: QSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or QSettings(SETTINGS_ORG, SETTINGS_APP)
        self.ws = Workspace()
        self.pool = QThreadPool.globalInstance()
        self.loader: LoadWorker | None = None
        # One set of read positions for loads, F5 and live following: appended records are read alone.
        self.tail = TailReader()
        self.live = LiveWatch(self)
        self.live.updated.connect(self._on_live_update)
        self.analyzer: AnalyzeWorker | None = None
        self._run_workers: list[RunAnalyzeWorker] = []  # single-run re-analyses after a role override
        self._analysis_pending = False
        self._load_note = ""  # what the last load said, kept in the status once the analysis is in
        self.last_message: QMessageBox | None = None
        self.setWindowTitle("lrdoctor")
        self.setAcceptDrops(True)
        self._build_panels()
        self._build_status()
        self._build_menus()
        # The cost module imports scipy.stats (~1 s): set it up right after the first paint.
        self.ws.cost_status = "cost estimate: loading…"
        QTimer.singleShot(0, self._init_cost)
        self.ws.subscribe(self._on_event)
        self._restore()
        _prefetch_imports()

    # -- construction ------------------------------------------------------
    def _build_panels(self) -> None:
        self.runs_panel = RunsPanel(self.ws)
        self.tags_panel = TagsPanel(self.ws)
        self.curves = CurvesView(self.ws)
        self.range_view = RangeTestView(self.ws)
        self.sweep_view = SweepView(self.ws)
        self.findings = FindingsPanel(self.ws)
        self.cost_panel = CostPanel(self.ws)
        self.findings.findingActivated.connect(self.zoom_to_finding)
        self.cost_panel.settingsEdited.connect(self.apply_cost_settings)
        self.tags_panel.roleChosen.connect(self.override_role)

        self.left = QSplitter(Qt.Orientation.Vertical)
        self.left.addWidget(_titled("Runs", self.runs_panel))
        self.left.addWidget(_titled("Tags", self.tags_panel))
        self.left.setSizes([560, 300])
        self.tabs = QTabWidget()
        self.tabs.addTab(self.curves, "Curves")
        self.tabs.addTab(self.range_view, "LR range test")
        self.tabs.addTab(self.sweep_view, "LR sweep")
        self.fleet = FleetPanel(self.ws)
        self.fleet.runOpened.connect(self.open_run)
        self.tabs.addTab(self.fleet, "Fleet")
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self.bottom.addWidget(_titled("Findings", self.findings))
        self.bottom.addWidget(_titled("Cost of the wasted steps", self.cost_panel))
        self.bottom.setSizes([560, 410])
        self.banner = Banner()
        self.banner.showRequested.connect(self._show_banner_finding)
        self._banner_finding: tuple[str, int | None, int | None] | None = None
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.setSpacing(2)
        top_layout.addWidget(self.banner)
        top_layout.addWidget(self.tabs, 1)
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.right.addWidget(top)
        self.right.addWidget(self.bottom)
        self.right.setSizes([600, 280])
        self.main_split = QSplitter(Qt.Orientation.Horizontal)
        self.main_split.addWidget(self.left)
        self.main_split.addWidget(self.right)
        self.main_split.setSizes([LEFT_WIDTH, DEFAULT_SIZE[0] - LEFT_WIDTH])
        self.main_split.setStretchFactor(1, 1)
        self.setCentralWidget(self.main_split)

        self.warnings_list = QListWidget()
        self.warnings_dock = QDockWidget("Warnings", self)
        self.warnings_dock.setObjectName("warnings_dock")
        self.warnings_dock.setWidget(self.warnings_list)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.warnings_dock)
        self.warnings_dock.hide()

    def _build_status(self) -> None:
        self.status_label = QLabel("Ready")
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_load)
        self.statusBar().addWidget(self.status_label, 1)
        self.statusBar().addPermanentWidget(self.progress)
        self.statusBar().addPermanentWidget(self.cancel_button)
        self._set_busy(False)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.open_file_action = _action(self, "&Open file…", self.ask_open_file, QKeySequence.StandardKey.Open)
        self.open_folder_action = _action(self, "Open &folder…", self.ask_open_folder, "Ctrl+Shift+O")
        file_menu.addAction(self.open_file_action)
        file_menu.addAction(self.open_folder_action)
        self.recent_menu = file_menu.addMenu("Open &recent")
        self.reopen_action = _action(self, "Reopen &last folders", self.reopen_last, "Ctrl+Shift+R")
        file_menu.addAction(self.reopen_action)
        self.reload_action = _action(self, "&Reload", self.reload, "F5")
        file_menu.addAction(self.reload_action)
        file_menu.addSeparator()
        self.export_action = _action(self, "&Export view (PNG, SVG, PDF)…", lambda: self.curves._ask_export("view"),
                                     "Ctrl+E")
        self.export_csv_action = _action(self, "Export drawn data as &CSV…", lambda: self.curves._ask_export("csv"))
        file_menu.addAction(self.export_action)
        file_menu.addAction(self.export_csv_action)
        self.export_report_action = _action(self, "Export &report…", lambda: self.export_report(), "Ctrl+Shift+E")
        file_menu.addAction(self.export_report_action)
        file_menu.addSeparator()
        file_menu.addAction(_action(self, "&Quit", self.close, QKeySequence.StandardKey.Quit))
        view_menu = self.menuBar().addMenu("&View")
        view_menu.addAction(self.warnings_dock.toggleViewAction())
        log_action = _action(self, "&Log-scale loss", lambda on: self.ws.set_log_y(on), "Ctrl+L")
        log_action.setCheckable(True)
        self.ws.subscribe(lambda e: log_action.setChecked(self.ws.log_y) if e == "view" else None)
        view_menu.addAction(log_action)
        view_menu.addSeparator()
        self.follow_action = _action(self, "&Follow live runs", lambda on: self.set_following(on))
        self.follow_action.setCheckable(True)
        self.follow_action.setChecked(True)
        self.follow_action.setToolTip("Watch the opened folders and re-analyse a run whose log grows")
        view_menu.addAction(self.follow_action)
        help_menu = self.menuBar().addMenu("&Help")
        help_menu.addAction(_action(self, "&About lrdoctor", self.show_about))
        self._refresh_recent()

    def _init_cost(self) -> None:
        self.cost_panel.load_presets()
        settings, problem = costing.load_cost_settings()
        self.ws.set_cost_settings(settings, "cost estimated")
        self.cost_panel.show_settings()
        if problem:
            self._add_warning_lines([problem])

    # -- persistence -------------------------------------------------------
    def _restore(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(*DEFAULT_SIZE)
        for name in ("main_split", "left", "right", "bottom"):
            state = self.settings.value(f"splitter/{name}")
            if isinstance(state, QByteArray) and not state.isEmpty():
                getattr(self, name).restoreState(state)
        self._restore_view()

    def _restore_view(self) -> None:
        """Smoothing, log scale, x axis and metrics panels as the user left them."""
        try:
            self.ws.set_smoothing(float(self.settings.value("view/smoothing", self.ws.smoothing)))
        except (TypeError, ValueError):
            pass
        self.ws.set_log_y(str(self.settings.value("view/log_y", self.ws.log_y)).lower() == "true")
        x_mode = str(self.settings.value("view/x_mode", self.ws.x_mode))
        if x_mode in X_MODES:
            self.ws.set_x_mode(x_mode)
        panels = self.settings.value("view/metric_tags", [])
        for tag in [panels] if isinstance(panels, str) else (panels or []):
            self.ws.set_metric_tag(str(tag), True)
        self.follow_action.setChecked(str(self.settings.value("view/follow", True)).lower() == "true")
        self.live.paused = not self.follow_action.isChecked()
        self.ws.subscribe(lambda e: self.save_view() if e in (VIEW, METRICS) else None)

    def save_view(self) -> None:
        """Persist the view choices (called on every change, so a crash keeps them too)."""
        self.settings.setValue("view/smoothing", self.ws.smoothing)
        self.settings.setValue("view/log_y", self.ws.log_y)
        self.settings.setValue("view/x_mode", self.ws.x_mode)
        self.settings.setValue("view/metric_tags", list(self.ws.metric_tags))
        self.settings.setValue("view/follow", self.follow_action.isChecked())

    def reopen_last(self) -> None:
        """File > Reopen last folders: what was open when the app last closed."""
        last = self.settings.value("session/sources", [])
        paths = [str(p) for p in ([last] if isinstance(last, str) else (last or [])) if Path(str(p)).exists()]
        if paths:
            self.open_paths(paths)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.live.stop()
        self.cancel_load()
        self.detach_workers()
        self.settings.setValue("geometry", self.saveGeometry())
        for name in ("main_split", "left", "right", "bottom"):
            self.settings.setValue(f"splitter/{name}", getattr(self, name).saveState())
        self.save_view()
        if self.ws.sources:
            self.settings.setValue("session/sources", [str(Path(p).resolve()) for p in self.ws.sources])
        self.settings.sync()
        super().closeEvent(event)

    def detach_workers(self) -> None:
        """Stop listening to running workers (the window is going away); they finish on their own."""
        for worker in (self.loader, self.analyzer, *self._run_workers):
            if worker is not None:
                for signal in (worker.signals.finished, worker.signals.progress):
                    with warnings.catch_warnings():  # PySide warns when nothing was connected
                        warnings.simplefilter("ignore", RuntimeWarning)
                        try:
                            signal.disconnect()
                        except (RuntimeError, TypeError):
                            pass
        self.loader = self.analyzer = None
        self._run_workers = []

    def recent(self) -> list[str]:
        """Recently opened locations, newest first."""
        value = self.settings.value("recent", [])
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in (value or [])]

    def _remember(self, paths: list[str]) -> None:
        recent = [str(Path(p).resolve()) for p in paths] + self.recent()
        unique = list(dict.fromkeys(recent))[:MAX_RECENT]
        self.settings.setValue("recent", unique)
        self._refresh_recent()

    def _refresh_recent(self) -> None:
        self.recent_menu.clear()
        for path in self.recent():
            action = self.recent_menu.addAction(path)
            action.triggered.connect(lambda _c=False, p=path: self.open_paths([p]))
        self.recent_menu.setEnabled(bool(self.recent()))

    # -- opening -----------------------------------------------------------
    def ask_open_file(self) -> None:
        """File > Open file."""
        paths, _ = QFileDialog.getOpenFileNames(self, "Open training log", "", FILE_FILTER)
        if paths:
            self.open_paths(paths)

    def ask_open_folder(self) -> None:
        """File > Open folder."""
        path = QFileDialog.getExistingDirectory(self, "Open a folder of runs")
        if path:
            self.open_paths([path])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt override
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            self.open_paths(paths)
            event.acceptProposedAction()

    def open_paths(self, paths: list[str], replace: bool = False, reloaded: bool = False) -> None:
        """Load ``paths`` in the background and add their runs (``replace``: forget the others first;
        ``reloaded``: a re-read of opened locations, whose runs no longer found are dropped)."""
        paths = [str(p) for p in paths]
        if not paths:
            return
        if self.loader is not None:
            self.cancel_load()
        if replace:
            self.ws.clear()
        self._remember(paths)
        self.loader = LoadWorker(paths, reader=self.tail)
        self.loader.signals.progress.connect(self._on_progress)
        self.loader.signals.finished.connect(lambda result, w=self.loader, p=paths: self._on_loaded(w, p, result, reloaded))
        self.status_label.setText(f"Loading {', '.join(Path(p).name for p in paths)}…")
        self._set_busy(True)
        self.pool.start(self.loader)

    def reload(self) -> None:
        """Read every opened location again (F5); unchanged runs keep their analysis, nothing blanks,
        runs whose files were deleted leave the runs tree."""
        sources = list(self.ws.sources)
        if sources:
            self.open_paths(sources, reloaded=True)

    def cancel_load(self) -> None:
        """Stop the running load after its current file, and the analysis before its next run."""
        for worker in (self.loader, self.analyzer):
            if worker is not None:
                worker.cancel()
                self.status_label.setText("Cancelling…")

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def _on_progress(self, done: int, total: int, file: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total} files")
        if file:
            self.status_label.setText(f"Loading {Path(file).name}…")

    def _on_loaded(self, worker: LoadWorker, paths: list[str], result: RunList, reloaded: bool = False) -> None:
        if worker is not self.loader:
            return  # a superseded load
        self.loader = None
        self._set_busy(self.analyzer is not None)
        cancelled = worker.cancelled
        # A cancelled re-read found only some runs: nothing is dropped for not being among them.
        self.ws.add_runs(list(result), list(result.warnings), sources=paths, reloaded=reloaded and not cancelled)
        n_warn = len(self.ws.all_warnings())
        msg = f"Loaded {fmt.plural(len(result), 'run')} from {', '.join(Path(p).name for p in paths)}"
        if cancelled:
            msg += " (cancelled: only the files read so far)"
        if n_warn:
            msg += f" · {n_warn} problem{'s' if n_warn != 1 else ''}, see Warnings"
        self.status_label.setText(msg)
        self._load_note = msg
        self.loadFinished.emit()
        self.start_analysis()

    def start_analysis(self) -> None:
        """Analyse the loaded runs in the background; unchanged runs keep their analysis.

        The previous results stay on screen until the new ones arrive.
        """
        if not self.ws.runs:
            self.ws.set_analysis(None, "nothing loaded")
            return
        if self.analyzer is not None:
            self._analysis_pending = True
            return
        previous = list(self.ws.analysis.runs) if self.ws.analysis is not None else []
        self.analyzer = AnalyzeWorker(list(self.ws.runs), self.ws.cost_settings, previous, list(self.ws.sources))
        self.analyzer.signals.progress.connect(self._on_analysis_progress)
        self.analyzer.signals.finished.connect(lambda out, w=self.analyzer: self._on_analysed(w, out))
        self._set_busy(True)
        self.analysisStarted.emit()  # before the worker runs: whoever listens sees all of its progress
        self.pool.start(self.analyzer)

    def _on_analysis_progress(self, done: int, total: int, name: str) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done}/{total} runs")
        self.status_label.setText(f"Analysing {name}…" if name else "Finding sweeps…")

    def _on_analysed(self, worker: AnalyzeWorker, out: AnalysisOutcome) -> None:
        if worker is not self.analyzer:
            return  # superseded or detached
        self.analyzer = None
        self._set_busy(self.loader is not None)
        # Cancelled is cancelled: a result that finished while the user's Cancel was on its way is
        # not shown either (the previous results stay, as the status line says).
        if out.cancelled or worker.cancelled:
            self._analysis_pending = False
            self.status_label.setText("Analysis cancelled: the previous results are still shown")
            self.analysisFinished.emit()
            return
        analysed = {id(ra.run) for ra in out.analysis.runs} if out.analysis is not None else set()
        if self._analysis_pending or (out.analysis is not None and any(id(r) not in analysed for r in self.ws.runs)):
            self._analysis_pending = False  # runs came in meanwhile: analyse those, keep these
            if out.analysis is not None:
                self.ws.set_analysis(out.analysis, out.message)
            self.start_analysis()
            return
        if out.cost_message is not None:
            self.ws.cost_status = out.cost_message
            self.ws.costs = out.costs
        if out.failed:
            self._add_warning_lines([out.message])
            self.ws.analysis_status = out.message
        else:
            self.ws.set_analysis(out.analysis, out.message)
            self.status_label.setText(f"{self._load_note} · {out.message}" if self._load_note else out.message)
            self._follow(out.analysis.runs)
        if out.analysis is not None and out.analysis.runs and all(ra.kind == "range_test" for ra in out.analysis.runs):
            self.tabs.setCurrentWidget(self.range_view)  # a range test opens on loss vs LR
        self.analysisFinished.emit()

    # -- live runs -------------------------------------------------------
    def _follow(self, analyses: list[RunAnalysis]) -> None:
        """Watch the opened locations from now on; the findings just shown are not news."""
        self.live.cost_settings = self.ws.cost_settings
        if self.live.watcher is None or set(self.live.watcher.paths) != {os.path.abspath(s) for s in self.ws.sources}:
            self.live.watch(list(self.ws.sources), analyses, reader=self.tail)
        else:
            for ra in analyses:
                self.live.mark_seen(ra)

    def set_following(self, on: bool) -> None:
        """View > Follow live runs: pause or resume watching the opened folders."""
        self.live.set_paused(not on)
        self.settings.setValue("view/follow", bool(on))
        if self.follow_action.isChecked() != bool(on):
            self.follow_action.setChecked(bool(on))

    def _on_live_update(self, update: WatchUpdate) -> None:
        """A run grew: show its new data and analysis; a new finding gets the banner."""
        self.ws.update_runs(update.runs, update.analyses, update.costs)
        names = ", ".join(r.name for r in update.runs)
        self.status_label.setText(f"Updated {names} (the log grew)")
        if update.new_findings:
            from lrdoctor.analysis import SEVERITIES

            worst = max(update.new_findings, key=lambda n: SEVERITIES.index(n.finding.severity))
            more = len(update.new_findings) - 1
            tail = f" (and {more} more, see Findings)" if more else ""

            def text() -> str:  # asked again while the banner is up: "3 min ago" ticks
                return f"<b>New finding</b> — {html.escape(worst.describe())}{tail}"

            key = next((run_key(r) for r in self.ws.runs if str(r.path) == worst.run_path), None)
            self._banner_finding = (key, worst.finding.step_start, worst.finding.step_end) if key else None
            self.banner.show_message(text, worst.finding.severity)
        self.liveUpdated.emit()

    def _show_banner_finding(self) -> None:
        if self._banner_finding is not None and self._banner_finding[0] is not None:
            self.zoom_to_finding(*self._banner_finding)

    # -- roles -------------------------------------------------------------
    def override_role(self, tag: str, role: str) -> None:
        """Use ``tag`` of the selected run as ``role`` and analyse that run again in the background.

        A sweep member is analysed with its whole sweep (its findings depend on its siblings).
        """
        key = self.ws.current
        if key is None or not self.ws.set_role(key, tag, role):
            return
        run = self.ws.run(key)
        self.status_label.setText(f"{run.name}: {tag} used as {role}; analysing again…")
        in_sweep = self.ws.analysis is not None and self.ws.analysis.sweep_of(key) is not None
        if self.ws.analysis is None or in_sweep or self.analyzer is not None:
            self.start_analysis()
            return
        worker = RunAnalyzeWorker(run, self.ws.cost_settings)
        self._run_workers.append(worker)
        worker.signals.finished.connect(lambda out, w=worker: self._on_run_analysed(w, out))
        self.pool.start(worker)

    def _on_run_analysed(self, worker: RunAnalyzeWorker, out: AnalysisOutcome) -> None:
        if worker in self._run_workers:
            self._run_workers.remove(worker)
        if out.analysis is None:
            self._add_warning_lines([out.message])
        else:
            ra = out.analysis.runs[0]
            if any(r is ra.run for r in self.ws.runs):  # not reloaded meanwhile
                self.ws.replace_run_analysis(ra, out.costs)
        self.status_label.setText(out.message)
        self.analysisFinished.emit()

    # -- cost --------------------------------------------------------------
    def apply_cost_settings(self, settings: CostSettings) -> None:
        """New GPU / count / price: re-estimate the cost (cheap arithmetic, on this thread)."""
        self.ws.cost_settings = settings
        self.live.cost_settings = settings
        status = self.ws.cost_status
        if self.ws.analysis is not None:
            self.ws.costs, status = costing.estimate(self.ws.analysis, settings)
        self.ws.set_cost_settings(settings, status)

    # -- report ------------------------------------------------------------
    def export_report(self, path: str | None = None) -> Path | None:
        """File > Export report: write the analysis (cost from the panel's settings) to ``path``.

        Without ``path`` a save dialog asks for one (HTML, PDF, Markdown or JSON by suffix).
        Returns the written file, or None (nothing to report, cancelled, or failed: a message says why).
        """
        if self.ws.analysis is None:
            self._show_message("Export report", f"Nothing to report yet: {self.ws.analysis_status}.")
            return None
        if path is None:
            start = str(Path(self.ws.sources[0]).resolve().parent) if self.ws.sources else ""
            path = report_export.ask_report_path(self, start)
            if not path:
                return None
        settings = self.cost_panel.current_settings() or self.ws.cost_settings
        self.status_label.setText(f"Writing report {Path(path).name}…")
        costs = self.ws.costs
        if settings is not None:  # the cost as the panel shows it now
            costs, status = costing.estimate(self.ws.analysis, settings)
            if costs is None:
                message = f"{path}: {status}"
                self.status_label.setText(message)
                self._show_message("Report not written", message, QMessageBox.Icon.Warning)
                return None
        written, message = report_export.write_report_now(self.ws.analysis, path, costs, list(self.ws.sources))
        self.status_label.setText(message)
        if written is None:
            self._show_message("Report not written", message, QMessageBox.Icon.Warning)
        elif settings is not None:
            self.ws.set_costs(costs)
        return written

    def _show_message(self, title: str, text: str, icon: QMessageBox.Icon = QMessageBox.Icon.Information) -> None:
        """A non-modal message box (kept in ``self.last_message`` for tests)."""
        box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, self)
        box.setModal(False)
        box.show()
        self.last_message = box

    def open_run(self, key: str) -> None:
        """Show one run alone in the curves tab (a click in the fleet table)."""
        self.ws.set_checked_keys({key})
        self.ws.set_current(key)
        self.tabs.setCurrentWidget(self.curves)

    # -- findings ----------------------------------------------------------
    def zoom_to_finding(self, key: str, step_start: int | None, step_end: int | None) -> None:
        """Show the curves tab zoomed to a finding's steps."""
        self.tabs.setCurrentWidget(self.curves)
        if key not in self.ws.checked:
            self.ws.set_checked(key, True)
        self.curves.highlighted = (key, step_start, step_end)
        if self.ws.current != key:
            self.ws.set_current(key)  # shades this run's findings, the clicked one highlighted
        else:
            self.curves.draw_findings()
        self.curves.zoom_to(key, step_start, step_end)

    # -- messages ----------------------------------------------------------
    def _on_event(self, event: str) -> None:
        if event == WARNINGS:
            self.warnings_list.clear()
            lines = [str(w) for w in self.ws.all_warnings()]
            self.warnings_list.addItems(lines)
            if lines and not self.warnings_dock.isVisible():
                self.warnings_dock.show()
                # A few lines are enough; the plots keep the room.
                self.resizeDocks([self.warnings_dock], [WARNINGS_DOCK_HEIGHT], Qt.Orientation.Vertical)
        elif event == RUNS:
            names = ", ".join(Path(s).name for s in self.ws.sources)
            self.setWindowTitle(f"lrdoctor — {names}" if names else "lrdoctor")

    def _add_warning_lines(self, lines: list[str]) -> None:
        self.warnings_list.addItems(lines)
        self.warnings_dock.show()

    def warning_lines(self) -> list[str]:
        """What the warnings dock lists."""
        return [self.warnings_list.item(i).text() for i in range(self.warnings_list.count())]

    def show_about(self) -> None:
        """Help > About."""
        box = QMessageBox(self)
        box.setWindowTitle("About lrdoctor")
        box.setText(
            f"<b>lrdoctor {__version__}</b><br>Post-mortem of a training run's learning rate: "
            "what went wrong, what it cost, what to change."
        )
        box.setStandardButtons(QMessageBox.StandardButton.Ok)
        box.setModal(False)
        box.show()
        self._about = box


PREFETCH_MODULES = ("scipy.signal",)  # needed to draw the first curves; the analysis imports its own


def _prefetch_imports() -> None:
    """Import the slow library modules in the background while the window comes up."""
    import importlib
    import threading

    def work() -> None:
        for name in PREFETCH_MODULES:
            try:
                importlib.import_module(name)
            except Exception:  # the worker that needs it will report the problem
                pass

    threading.Thread(target=work, name="lrdoctor-prefetch", daemon=True).start()


def _titled(title: str, widget: QWidget) -> QWidget:
    from PySide6.QtWidgets import QVBoxLayout

    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(4, 4, 4, 0)
    layout.setSpacing(2)
    label = QLabel(f"<b>{title}</b>")
    layout.addWidget(label)
    layout.addWidget(widget, 1)
    return box


def _action(parent: QWidget, text: str, slot: Callable[..., object],
            shortcut: str | QKeySequence.StandardKey | None = None) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut) if isinstance(shortcut, str) else shortcut)
    action.triggered.connect(slot)
    parent.addAction(action)
    return action

