"""The app's state without Qt: loaded runs, their analysis, what is ticked and shown.

Views observe a :class:`Workspace` through plain callbacks (``subscribe``); every
change goes through a ``set_*`` method that notifies with an event name. Nothing
here imports Qt, so the state and its rules are testable headless and the CLI
could drive the same model.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from lrdoctor.watch import FileState, file_states
from parsers import LoadWarning, Run, RunList

if TYPE_CHECKING:  # the analysis and cost packages pull in SciPy: imported where first needed
    from lrdoctor.analysis import Analysis, Finding, RunAnalysis, SweepAnalysis
    from lrdoctor.cost import Costs, CostSettings, RunCost, SweepCost

# Event names sent to observers.
RUNS = "runs"  # runs added / removed / replaced
ANALYSIS = "analysis"  # analysis (or its status) changed
CHECKED = "checked"  # the set of overlaid runs changed
CURRENT = "current"  # the selected run changed
VIEW = "view"  # smoothing, x axis mode or log-y changed
COST = "cost"  # cost settings or cost results changed
WARNINGS = "warnings"  # load warnings changed
ROLES = "roles"  # a run's tag roles were overridden by the user

METRICS = "metrics"  # the ticked metric tags or the tag filter changed

X_MODES: tuple[str, ...] = ("step", "relative", "wall", "epoch", "tokens")
X_MODE_LABELS: dict[str, str] = {"step": "Step", "relative": "Relative time", "wall": "Wall time",
                                 "epoch": "Epoch", "tokens": "Tokens / samples seen"}
TIME_MODES = ("relative", "wall")
# A logged counter of data seen, by tag name: compares runs whose batch sizes (so step axes) differ.
DATA_COUNTER = re.compile(r"(^|[/_.\s])(tokens?|samples?|examples?)(_seen|_processed|_consumed)?$", re.IGNORECASE)
# Roles drawn in the fixed loss / LR / grad-norm panels; every other tag can get a metrics panel.
CORE_ROLES = ("train_loss", "val_loss", "lr", "grad_norm")
MAX_FILTER_PANELS = 6  # a tag filter matching dozens of tags shows the first few as panels
# TensorBoard's slider stops at 0.999: beyond that the EMA is a flat line.
MAX_SMOOTHING = 0.999
# How many runs are ticked after a load: one. Overlaying unrelated runs (different tasks, scales
# and lengths) by default buries every curve; the user ticks more to compare.
DEFAULT_CHECKED = 1

Observer = Callable[[str], None]


def run_key(run: Run) -> str:
    """The run's identity (:attr:`parsers.Run.key`)."""
    return run.key


def debiased_ema(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's scalar smoothing: an exponential moving average with its start bias removed.

    ``last = last * w + (1 - w) * v`` over the finite points only, divided by
    ``1 - w ** n`` (n = finite points seen so far); non-finite points stay as they are.
    """
    values = np.asarray(values, dtype=np.float64)
    if weight <= 0 or values.size == 0:
        return values.copy()
    weight = min(float(weight), MAX_SMOOTHING)
    finite = np.isfinite(values)
    out = values.copy()
    x = values[finite]
    if x.size == 0:
        return out
    from scipy.signal import lfilter  # imported on first use: scipy.signal takes ~2 s to import

    ema = lfilter([1.0 - weight], [1.0, -weight], x)
    # The bias factor 1 - w**n is exactly 1.0 in float64 once w**n < 2**-53: only the head
    # needs dividing (w**n over 10M points costs 1.5 s, the head a few microseconds).
    head = min(x.size, int(np.ceil(np.log(np.finfo(np.float64).eps / 2) / np.log(weight))) + 1)
    n = np.arange(1, head + 1, dtype=np.float64)
    ema[:head] /= 1.0 - weight**n
    out[finite] = ema
    return out


@dataclass
class Curve:
    """One tag of one run ready to draw: x in the workspace's x mode, raw and smoothed y."""

    run_key: str
    tag: str
    role: str
    x: np.ndarray
    y: np.ndarray
    smoothed: np.ndarray


class Workspace:
    """Everything the app shows, as plain Python; views subscribe to change events."""

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.sources: list[str] = []
        self.load_warnings: list[LoadWarning] = []
        self.analysis: Analysis | None = None
        self.analysis_status: str = "nothing loaded"
        self.cost_settings: CostSettings | None = None  # set once the cost module is loaded (slow import)
        self.cost_status: str = "cost estimate not available"
        self.costs: Costs | None = None  # the analysis' cost, held beside it
        self.checked: set[str] = set()
        self.current: str | None = None
        # True from a load until the user ticks or selects a run: the analysis may then move
        # the default tick to the run with the worst finding.
        self._auto_pick = False
        self.smoothing: float = 0.6  # TensorBoard's default
        self.x_mode: str = "step"
        self.log_y: bool = False
        self.metric_tags: list[str] = []  # tags ticked for a metrics panel, in ticking order
        self.tag_filter: str = ""  # regex: matching tags of the ticked runs get panels too
        self._observers: list[Observer] = []
        self._file_states: dict[str, dict[str, FileState]] = {}  # run key -> its files when read

    # -- observing ---------------------------------------------------------
    def subscribe(self, callback: Observer) -> Callable[[], None]:
        """Call ``callback(event)`` on every change; returns a function that unsubscribes."""
        self._observers.append(callback)
        return lambda: self._observers.remove(callback) if callback in self._observers else None

    def _notify(self, event: str) -> None:
        for callback in list(self._observers):
            callback(event)

    # -- runs --------------------------------------------------------------
    def run(self, key: str) -> Run | None:
        """The loaded run with this key."""
        return next((r for r in self.runs if run_key(r) == key), None)

    def keys(self) -> list[str]:
        """Keys of the loaded runs, in load order."""
        return [run_key(r) for r in self.runs]

    def add_runs(self, runs: list[Run], warnings: list[LoadWarning], sources: list[str] | None = None,
                 reloaded: bool = False) -> None:
        """Add loaded runs and their warnings.

        A run loaded again replaces its older copy, unless none of its files changed (size and
        mtime): then the older copy, and so its analysis, is kept. The previous analysis stays
        until the caller stores a new one. ``reloaded``: ``runs`` is everything now found under
        ``sources`` (a complete re-read), so a run held from there that is not among them (its
        files were deleted) is dropped with its analysis and old warnings; the grouping of the
        others is unchanged.
        """
        if reloaded and sources:
            self._forget_missing(runs, sources)
        old = {run_key(r): r for r in self.runs}
        kept = []
        for run in runs:
            states = file_states(list(run.files))
            before = old.get(run_key(run))
            if before is not None and states and self._file_states.get(run_key(run)) == states:
                kept.append(before)
            else:
                kept.append(run)
                self._file_states[run_key(run)] = states
        runs = kept
        new_keys = {run_key(r) for r in runs}
        self.runs = [r for r in self.runs if run_key(r) not in new_keys] + list(runs)
        self.sources.extend(s for s in (sources or []) if s not in self.sources)
        seen = {str(w) for w in self.load_warnings}
        self.load_warnings.extend(w for w in warnings if str(w) not in seen)
        if not self.checked & set(self.keys()):
            self.checked = {run_key(r) for r in self.runs[:DEFAULT_CHECKED]}
            self._auto_pick = bool(self.runs)
        else:
            self.checked &= set(self.keys())
        if self.current not in self.keys():
            self.current = run_key(self.runs[0]) if self.runs else None
        if self._auto_pick and self.checked:
            self.current = next(iter(self.checked))
        self.analysis_status = "analysing…" if self.runs else "nothing loaded"
        # RUNS tells every view to redraw from scratch (ticks and selection included), so
        # CHECKED / CURRENT are not sent as well: a 10M-point run would be drawn twice.
        self._notify(RUNS)
        self._notify(WARNINGS)
        self._notify(ANALYSIS)

    def _forget_missing(self, runs: list[Run], sources: list[str]) -> None:
        """Drop the runs (and warnings) held from ``sources`` that a complete re-read no longer found."""
        roots = [os.path.abspath(s) for s in sources]

        def under(path: str) -> bool:
            path = os.path.abspath(path)
            return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)

        found = {run_key(r) for r in runs}
        gone = {run_key(r) for r in self.runs if run_key(r) not in found and under(str(r.path))}
        self.runs = [r for r in self.runs if run_key(r) not in gone]
        for key in gone:
            self._file_states.pop(key, None)
        if self.analysis is not None and gone:
            self.analysis.runs = [ra for ra in self.analysis.runs if run_key(ra.run) not in gone]
        self.load_warnings = [w for w in self.load_warnings if not under(str(w.path))]

    def update_runs(self, runs: list[Run], analyses: list[RunAnalysis], costs: Costs | None = None) -> None:
        """Put runs that were read again (a live run grew) and their fresh RunAnalysis in place.

        A run is matched by format and path (its key stays the same); an unknown one is added.
        """
        from lrdoctor.analysis import Analysis

        by_id = {(r.format, str(r.path)): i for i, r in enumerate(self.runs)}
        for run in runs:
            i = by_id.get((run.format, str(run.path)))
            if i is None:
                self.runs.append(run)
            else:
                run.name = self.runs[i].name
                self.runs[i] = run
            self._file_states[run_key(run)] = file_states(list(run.files))
        if self.analysis is None:
            self.analysis = Analysis(runs=[])
        positions = {run_key(ra.run): i for i, ra in enumerate(self.analysis.runs)}
        for ra in analyses:
            i = positions.get(run_key(ra.run))
            if i is None:
                self.analysis.runs.append(ra)
            else:
                self.analysis.runs[i] = ra
        self._merge_costs(costs)
        if not self.checked and self.runs:
            self.checked = {run_key(self.runs[0])}
        if self.current is None and self.runs:
            self.current = run_key(self.runs[0])
        self._notify(RUNS)
        self._notify(ANALYSIS)

    def clear(self) -> None:
        """Forget every run (before a reload)."""
        self.runs, self.sources, self.load_warnings = [], [], []
        self.checked, self.current, self.analysis = set(), None, None
        self._file_states = {}
        self.analysis_status = "nothing loaded"
        for event in (RUNS, WARNINGS, ANALYSIS):
            self._notify(event)

    def all_warnings(self) -> list[LoadWarning]:
        """Load warnings and every run's own, without repeats."""
        return RunList(self.runs, self.load_warnings).all_warnings()

    # -- selection ---------------------------------------------------------
    def set_checked(self, key: str, checked: bool) -> None:
        """Overlay (or hide) one run in the plots."""
        self._auto_pick = False
        before = set(self.checked)
        if checked:
            self.checked.add(key)
        else:
            self.checked.discard(key)
        if self.checked != before:
            self._notify(CHECKED)

    def set_checked_keys(self, keys: set[str]) -> None:
        """Overlay exactly these runs."""
        self._auto_pick = False
        keys = set(keys) & set(self.keys())
        if keys != self.checked:
            self.checked = keys
            self._notify(CHECKED)

    def checked_runs(self) -> list[Run]:
        """Ticked runs in load order."""
        return [r for r in self.runs if run_key(r) in self.checked]

    def set_current(self, key: str | None) -> None:
        """Select the run whose details (tags, range test) are shown."""
        if key != self.current:
            self._auto_pick = False
            self.current = key
            self._notify(CURRENT)

    def current_run(self) -> Run | None:
        """The selected run."""
        return None if self.current is None else self.run(self.current)

    # -- view settings -----------------------------------------------------
    def set_smoothing(self, weight: float) -> None:
        """EMA weight in [0, MAX_SMOOTHING]."""
        weight = float(np.clip(weight, 0.0, MAX_SMOOTHING))
        if weight != self.smoothing:
            self.smoothing = weight
            self._notify(VIEW)

    def set_x_mode(self, mode: str) -> None:
        """``step``, ``relative`` (seconds since the run's first point) or ``wall`` (epoch seconds)."""
        if mode not in X_MODES:
            raise ValueError(f"x mode must be one of {X_MODES}, not {mode!r}")
        if mode != self.x_mode:
            self.x_mode = mode
            self._notify(VIEW)

    def set_log_y(self, log_y: bool) -> None:
        """Log scale for the loss plot."""
        if bool(log_y) != self.log_y:
            self.log_y = bool(log_y)
            self._notify(VIEW)

    def set_metric_tag(self, tag: str, shown: bool) -> None:
        """Show (or hide) a metrics panel for ``tag`` (drawn for every ticked run that logged it)."""
        if shown and tag not in self.metric_tags:
            self.metric_tags.append(tag)
        elif not shown and tag in self.metric_tags:
            self.metric_tags.remove(tag)
        else:
            return
        self._notify(METRICS)

    def set_tag_filter(self, pattern: str) -> None:
        """The tags panel's regex; matching tags of the ticked runs get panels (an invalid regex: none)."""
        if pattern != self.tag_filter:
            self.tag_filter = pattern
            self._notify(METRICS)

    def filter_pattern(self) -> re.Pattern[str] | None:
        """The tag filter compiled (case-insensitive); None when empty or not a valid regex."""
        try:
            return re.compile(self.tag_filter, re.IGNORECASE) if self.tag_filter else None
        except re.error:
            return None

    def tag_shown(self, tag: str) -> bool:
        """Whether the tag filter lets ``tag`` be drawn (every tag when there is no filter).

        The fixed loss / LR / grad-norm panels draw only matching tags, and a panel none of
        whose tags match is hidden, as TensorBoard's tag filter hides its cards.
        """
        pattern = self.filter_pattern()
        return pattern is None or pattern.search(tag) is not None

    def panel_tags(self) -> list[str]:
        """Tags that get a metrics panel: the ticked ones, then those matching the tag filter."""
        out = list(self.metric_tags)
        pattern = self.filter_pattern()
        if pattern is not None:
            extra = 0
            for run in self.checked_runs():
                for tag, role in run.roles.items():
                    if role in CORE_ROLES or tag in out or not pattern.search(tag) or extra >= MAX_FILTER_PANELS:
                        continue
                    out.append(tag)
                    extra += 1
        if not out and pattern is None:
            # A ticked run that logs no loss (RL rewards, an evaluation-only log) would draw nothing
            # until its tags were ticked by hand: its own metrics get panels.
            for run in self.checked_runs():
                if run.primary_tag("train_loss") or run.primary_tag("val_loss"):
                    continue
                for tag, role in run.roles.items():
                    if role not in CORE_ROLES and tag not in out and len(out) < MAX_FILTER_PANELS:
                        out.append(tag)
        return out

    # -- curves ------------------------------------------------------------
    def data_counter_tag(self, run: Run) -> str | None:
        """The run's tokens / samples-seen tag, when it logged one."""
        return next((t for t in run.roles if DATA_COUNTER.search(t)), None)

    def has_x(self, run: Run) -> bool:
        """Whether the run logged what the current x mode needs (else it is drawn by step)."""
        if self.x_mode in TIME_MODES:
            return self.has_clock(run)
        if self.x_mode == "epoch":
            return self.primary_tag(run, "epoch") is not None
        if self.x_mode == "tokens":
            return self.data_counter_tag(run) is not None
        return True

    def _counter(self, run: Run) -> tuple[np.ndarray, np.ndarray] | None:
        """(steps, values) of the epoch or tokens column the x mode maps steps through."""
        tag = self.primary_tag(run, "epoch") if self.x_mode == "epoch" else self.data_counter_tag(run)
        if tag is None:
            return None
        series = self.series(run, tag)
        ok = np.isfinite(series["value"].to_numpy(np.float64))
        if not ok.any():
            return None
        return series["step"].to_numpy(np.float64)[ok], series["value"].to_numpy(np.float64)[ok]

    def has_clock(self, run: Run) -> bool:
        """Whether the run logged wall-clock time (needed for the time x modes)."""
        return bool(run.scalars["wall_time"].notna().any()) if len(run.scalars) else False

    def curve(self, run: Run, tag: str) -> Curve | None:
        """One tag of ``run`` in the current x mode and smoothing; None when it cannot be drawn.

        A run without a clock falls back to steps in the time modes (the caller labels it).
        """
        series = self.series(run, tag)
        if series.empty:
            return None
        x = self.x_of(run, series)
        y = series["value"].to_numpy(np.float64)
        return Curve(run_key(run), tag, run.roles.get(tag, "other"), x, y, debiased_ema(y, self.smoothing))

    def tag_counts(self, run: Run) -> dict[str, int]:
        """Points per tag (``run.point_counts()``: from the run's tag index, no pass over the points)."""
        return run.point_counts()

    def tags_for(self, run: Run, role: str) -> list[str]:
        """``run.tags_for(role)``: the preferred tag first."""
        return run.tags_for(role)

    def primary_tag(self, run: Run, role: str) -> str | None:
        """``run.primary_tag(role)``."""
        return run.primary_tag(role)

    def series(self, run: Run, tag: str) -> pd.DataFrame:
        """``run.series(tag)`` (step-sorted ``step, wall_time, value``, views of the run's tag index)."""
        return run.series(tag)

    def x_of(self, run: Run, series: pd.DataFrame) -> np.ndarray:
        """The x values of ``series`` (a ``run.series`` frame) in the current x mode."""
        steps = series["step"].to_numpy(np.float64)
        if self.x_mode == "step" or not self.has_x(run):
            return steps
        if self.x_mode not in TIME_MODES:
            return self.step_to_x(run, steps)
        wall = series["wall_time"].to_numpy(np.float64)
        if np.isnan(wall).any():
            # Fill gaps by interpolating the clock over steps (some tags lack stamps).
            ok = ~np.isnan(wall)
            wall = np.interp(steps, steps[ok], wall[ok]) if ok.any() else steps
        if self.x_mode == "wall":
            return wall
        start = float(np.nanmin(run.scalars["wall_time"].to_numpy(np.float64)))
        return wall - start  # seconds; the axis picks s / min / h / d

    def step_to_x(self, run: Run, steps: np.ndarray) -> np.ndarray:
        """Map step numbers (e.g. a finding's range) to x in the current mode for ``run``."""
        steps = np.asarray(steps, dtype=np.float64)
        if self.x_mode == "step" or not self.has_x(run):
            return steps
        if self.x_mode not in TIME_MODES:
            counter = self._counter(run)
            if counter is None:
                return steps
            # Linear between logged values, extended at the ends with the run's own rate.
            return np.interp(steps, *counter, left=np.nan, right=np.nan) if counter[0].size < 2 else _extrapolated(
                steps, *counter)
        sc = run.scalars[run.scalars["wall_time"].notna()]
        per_step = sc.groupby("step")["wall_time"].min().sort_index()
        wall = np.interp(steps, per_step.index.to_numpy(np.float64), per_step.to_numpy(np.float64))
        if self.x_mode == "wall":
            return wall
        return wall - float(per_step.min())

    # -- analysis ----------------------------------------------------------
    def set_analysis(self, analysis: Analysis | None, status: str = "") -> None:
        """Store the analyzer's result (None with a status saying why there is none)."""
        self.analysis = analysis
        self.analysis_status = status or ("analysed" if analysis is not None else "analysis not available")
        picked = self._pick_worst() if analysis is not None and self._auto_pick else None
        self._notify(ANALYSIS)
        if picked is not None and picked != self.current:
            self.checked, self.current = {picked}, picked
            self._notify(CHECKED)
            self._notify(CURRENT)

    def _pick_worst(self) -> str | None:
        """The run with the worst finding (severity, then confidence; load order breaks ties), ends auto pick."""
        from lrdoctor.analysis.findings import SEVERITIES

        self._auto_pick = False
        best: tuple[int, float, int] | None = None
        key = None
        order = {k: i for i, k in enumerate(self.keys())}
        for ra in self.analysis.runs:
            k = run_key(ra.run)
            for f in ra.findings:
                rank = (SEVERITIES.index(f.severity), float(f.confidence), -order.get(k, 0))
                if k in order and (best is None or rank > best):
                    best, key = rank, k
        return key

    def shaded_run(self) -> str | None:
        """The run whose findings the plots shade: the only ticked run, else the selected one if ticked."""
        if len(self.checked) == 1:
            return next(iter(self.checked))
        return self.current if self.current in self.checked else None

    def set_role(self, key: str, tag: str, role: str) -> bool:
        """Use ``tag`` of run ``key`` as ``role`` (``Run.set_roles``: the role's previous tag becomes 'other').

        Returns whether anything changed; the caller re-analyses the run.
        """
        run = self.run(key)
        if run is None or tag not in run.roles or run.roles[tag] == role:
            return False
        run.set_roles({tag: role})
        self._notify(ROLES)
        return True

    def replace_run_analysis(self, run_analysis: RunAnalysis, costs: Costs | None = None) -> bool:
        """Put a fresh RunAnalysis of one run (and its cost) in place of its old one (after a role override)."""
        if self.analysis is None:
            return False
        key = run_key(run_analysis.run)
        for i, ra in enumerate(self.analysis.runs):
            if run_key(ra.run) == key:
                self.analysis.runs[i] = run_analysis
                self._merge_costs(costs)
                self._notify(ANALYSIS)
                return True
        return False

    def run_analysis(self, key: str) -> RunAnalysis | None:
        """The RunAnalysis of one run, or None."""
        if self.analysis is None:
            return None
        return next((ra for ra in self.analysis.runs if run_key(ra.run) == key), None)

    def findings_for(self, keys: list[str]) -> list[tuple[Run, Finding]]:
        """(run, finding) pairs of these runs, worst severity first."""
        from lrdoctor.analysis.findings import SEVERITIES

        out = []
        for key in keys:
            ra = self.run_analysis(key)
            if ra is not None:
                out.extend((ra.run, f) for f in ra.findings)
        return sorted(out, key=lambda p: (-SEVERITIES.index(p[1].severity), p[0].name, p[1].step_start or 0))

    def worst_severity(self, key: str) -> str | None:
        """Worst finding's severity for a run ('' when analysed and healthy, None when not analysed)."""
        ra = self.run_analysis(key)
        if ra is None or ra.not_diagnosed:
            return None
        return ra.worst_severity() or ""

    def sweep_for(self, key: str | None) -> SweepAnalysis | None:
        """The SweepAnalysis containing the run, or the first sweep."""
        if self.analysis is None or not self.analysis.sweeps:
            return None
        return (self.analysis.sweep_of(key) if key else None) or self.analysis.sweeps[0]

    def range_tests(self) -> list[RunAnalysis]:
        """RunAnalysis objects of the runs recognised as LR range tests."""
        if self.analysis is None:
            return []
        return [ra for ra in self.analysis.runs if ra.kind == "range_test"]

    # -- cost --------------------------------------------------------------
    def set_cost_settings(self, settings: CostSettings | None, status: str = "") -> None:
        """New cost settings (the caller re-estimates the cost with the library)."""
        self.cost_settings = settings
        if status:
            self.cost_status = status
        self._notify(COST)

    def set_costs(self, costs: Costs | None, status: str = "") -> None:
        """The analysis' cost was estimated again."""
        self.costs = costs
        if status:
            self.cost_status = status
        self._notify(COST)

    def _merge_costs(self, costs: Costs | None) -> None:
        """Take the cost of runs analysed again (their sweeps' sums are kept until the next full estimate)."""
        if costs is None:
            return
        if self.costs is None:
            self.costs = costs
        else:
            self.costs.runs.update(costs.runs)

    def run_cost(self, key: str) -> RunCost | None:
        """The cost of one run, or None when it was not estimated."""
        return None if self.costs is None else self.costs.runs.get(key)

    def cost_total(self, keys: list[str]) -> SweepCost | None:
        """The summed cost of these runs (the one place the app adds costs up), None without costs."""
        return None if self.costs is None else self.costs.total(keys)

    # -- grouping ----------------------------------------------------------
    def groups(self) -> list[RunGroup]:
        """Runs grouped for the runs tree, in load order of each group's first run.

        A run's folder is the folder of its file (a Lightning ``lightning_logs/version_N`` folded into
        the run folder above it); its group is the folder holding that run folder, labelled relative
        to the opened location that contains it. Runs directly inside the opened location stay at the
        top level (``folder`` ""). Members of an analysed LR sweep form the sweep's group.
        """
        sweep_of = self._sweep_folders()
        groups: dict[str, RunGroup] = {}
        for run in self.runs:
            folder = run_folder(run)
            root = self._root_of(folder)
            sweep = sweep_of.get(run.key)
            if sweep is not None:
                label = _relative_label(sweep, root) or Path(sweep).name
                group = groups.setdefault(sweep, RunGroup(sweep, label, [], True))
            else:
                parent = os.path.dirname(folder)
                label = _relative_label(parent, root) if root is not None else Path(parent).name
                key = parent if label else ""
                group = groups.setdefault(key, RunGroup(key, label, [], False))
            group.runs.append(run)
        return list(groups.values())

    def _root_of(self, folder: str) -> str | None:
        """The opened location (a folder; a file's folder) that contains ``folder``, deepest first."""
        roots = []
        for source in self.sources:
            src = os.path.abspath(source)
            if os.path.isfile(src):
                src = os.path.dirname(src)
            if folder == src or folder.startswith(src.rstrip(os.sep) + os.sep):
                roots.append(src)
        return max(roots, key=len) if roots else None

    def _sweep_folders(self) -> dict[str, str]:
        """Run key -> sweep folder, for the runs of every analysed sweep."""
        if self.analysis is None:
            return {}
        return {k: os.path.abspath(str(s.path)) for s in self.analysis.sweeps for k in s.run_keys}


def _extrapolated(steps: np.ndarray, known_steps: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Interpolate ``values`` at ``steps``; beyond the ends continue the nearest segment's slope."""
    out = np.interp(steps, known_steps, values)
    for side, (a, b) in (("lo", (0, 1)), ("hi", (-2, -1))):
        slope = (values[b] - values[a]) / (known_steps[b] - known_steps[a]) if known_steps[b] != known_steps[a] else 0.0
        mask = steps < known_steps[0] if side == "lo" else steps > known_steps[-1]
        anchor = 0 if side == "lo" else -1
        out[mask] = values[anchor] + slope * (steps[mask] - known_steps[anchor])
    return out


@dataclass
class RunGroup:
    """One node of the runs tree: ``folder`` "" holds the runs shown at the top level."""

    folder: str
    label: str
    runs: list[Run]
    sweep: bool = False


LIGHTNING_VERSION = re.compile(r"version_\d+")


# Tool-made folder layouts folded into the folder the user made: (parent folder name, run folder
# pattern, how many levels to climb). ``<run>/lightning_logs/version_N``, ``<x>/mlruns/<exp>/<run_id>``,
# ``<x>/wandb/(offline-)run-<date>-<id>``.
TOOL_LAYOUTS: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("lightning_logs", LIGHTNING_VERSION, 2),
    ("wandb", re.compile(r"(offline-)?run-\d{8}_\d{6}-\w+"), 2),
)


def run_folder(run: Run) -> str:
    """The absolute folder a run lives in (its file's folder), with tool-made layouts folded away."""
    path = Path(os.path.abspath(run.path))
    if path.is_file() or (not path.exists() and path.suffix):
        path = path.parent
    for parent_name, pattern, levels in TOOL_LAYOUTS:
        if pattern.fullmatch(path.name) and path.parent.name == parent_name:
            return str(path.parents[levels - 1])
    if run.format == "mlflow" and len(path.parents) > 2 and path.parents[1].name == "mlruns":
        return str(path.parents[2])  # <x>/mlruns/<experiment>/<run_id> -> <x>
    return str(path)


def _relative_label(folder: str, root: str | None) -> str:
    """``folder`` relative to ``root`` ("" when it is the root itself or lies outside it)."""
    if root is None:
        return ""
    rel = os.path.relpath(folder, root)
    return "" if rel == "." or rel.startswith("..") else rel
