"""Follow runs that are still training: notice changed log files, re-read and re-analyse only the
changed runs, and say which findings are new. No Qt: ``lrdoctor watch`` polls with it, the app
drives the same :class:`RunWatcher` from a file-system watcher and a timer.

What is re-read: a changed file's run (its folder, or the file alone when it sits directly in an
opened folder that holds other runs) goes through one :class:`parsers.tail.TailReader` that keeps
a read position per file: a file that grew (TensorBoard event files, CSV tables, W&B history JSON
lines and run folders, text console logs) is read only from the end of its last complete record or
line and the new points are merged into the run already held; a file that shrank, was replaced or
rewritten is read again whole, as is every file of a format that cannot resume (JSON documents
such as trainer_state.json, MLflow stores). The other runs are never touched.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from parsers import LoadWarning, Run, RunList
from parsers.loader import iter_files
from parsers.tail import TailReader

if TYPE_CHECKING:  # the analysis package pulls in SciPy: imported when first needed
    from lrdoctor.analysis import Finding, RunAnalysis
    from lrdoctor.cost import Costs

# Time units for "3 min ago" (largest first): a finding minutes old reads in minutes, not seconds.
AGO_UNITS: tuple[tuple[float, str], ...] = ((86400.0, "d"), (3600.0, "h"), (60.0, "min"), (1.0, "s"))
# Younger than this, a finding was logged "just now": "0 s ago" reads as a glitch.
JUST_NOW_S = 1.0
# Verb phrases for a banner line ("diverged at step 41,200"); unknown modes use their name.
MODE_PHRASES: dict[str, str] = {
    "diverged": "diverged",
    "oscillating": "loss oscillating (LR too high)",
    "spikes": "loss spikes",
    "lr_too_low": "LR too low",
    "plateau": "plateau (a decay would help)",
    "no_warmup": "no warmup",
    "decayed_too_early": "LR decayed too early",
    "overfitting": "overfitting",
}

# A finding whose remedy is the setup (the model never trained) is named for that: no decay helps.
SETUP_PHRASES: dict[str, str] = {"plateau": "never learned (check the setup)"}

RunId = tuple[str, str]  # (format, path): stable while a run grows, whatever name a load gives it


@dataclass(frozen=True)
class FileState:
    """What tells a file changed: its size and modification time."""

    size: int
    mtime_ns: int


@dataclass(frozen=True)
class NewFinding:
    """A finding that was not there at the previous look, with when its first step was logged."""

    run_name: str
    run_path: str
    finding: Finding
    logged_at: float | None  # wall time (epoch s) of the finding's first step, when the log has a clock

    def describe(self, now: float | None = None) -> str:
        """One line: ``run: diverged at step 41,200, 3 min ago``."""
        f = self.finding
        phrase = SETUP_PHRASES.get(f.mode) if f.remedy == "setup" else None  # Remedy is a str enum
        text = f"{self.run_name}: {phrase or MODE_PHRASES.get(f.mode, f.mode)}"
        if f.step_start is not None:
            text += f" at step {f.step_start:,}"
        if self.logged_at is not None:
            text += f", {ago(self.logged_at, now)}"
        return text

    def to_dict(self, now: float | None = None) -> dict[str, object]:
        """JSON-line form: the run, the finding's contract fields and the sentence."""
        return {
            "run": self.run_name,
            "path": self.run_path,
            **self.finding.to_dict(),
            "logged_at": self.logged_at,
            "message": self.describe(now),
        }


@dataclass
class WatchUpdate:
    """What one look found: the runs read again (with their analysis) and the new findings."""

    runs: list[Run] = field(default_factory=list)
    analyses: list[RunAnalysis] = field(default_factory=list)
    new_findings: list[NewFinding] = field(default_factory=list)
    warnings: list[LoadWarning] = field(default_factory=list)
    costs: Costs | None = None  # the re-read runs' cost, when the caller estimated it

    @property
    def changed(self) -> bool:
        """Whether any run was read again."""
        return bool(self.runs)


def ago(when: float, now: float | None = None) -> str:
    """``'just now'`` (under a second) / ``'12 s ago'`` / ``'3 min ago'`` / ``'2 h ago'``: whole
    units elapsed, as clocks count (59 s is not yet "1 min")."""
    delta = max(0.0, (time.time() if now is None else now) - when)
    for size, unit in AGO_UNITS:
        if delta >= size:
            return f"{int(delta // size)} {unit} ago"
    return "just now"


def run_id(run: Run) -> RunId:
    """The identity a run keeps while it grows (its name may change with what else was loaded)."""
    return (run.format, str(run.path))


def severity_at_least(severity: str, threshold: str) -> bool:
    """Whether ``severity`` is ``threshold`` or worse."""
    from lrdoctor.analysis import SEVERITIES

    return SEVERITIES.index(severity) >= SEVERITIES.index(threshold)


def scan(paths: list[str]) -> dict[str, FileState]:
    """Size and mtime of every file below ``paths`` (files that vanish meanwhile are skipped)."""
    return file_states([str(f) for root in paths for f in iter_files(Path(root))])


def file_states(files: list[str]) -> dict[str, FileState]:
    """Size and mtime of each of ``files`` (a vanished file is left out, so the states differ)."""
    out: dict[str, FileState] = {}
    for file in files:
        try:
            st = os.stat(file)
        except OSError:
            continue
        out[str(file)] = FileState(st.st_size, st.st_mtime_ns)
    return out


def _step_wall_time(run: Run, step: int | None) -> float | None:
    """When ``step`` was logged (the first stamp at or after it), or None without a clock."""
    if step is None or not len(run.scalars):
        return None
    sc = run.scalars
    stamped = sc[(sc["step"] >= step) & sc["wall_time"].notna()]
    if stamped.empty:
        return None
    return float(stamped["wall_time"].iloc[stamped["step"].to_numpy().argmin()])


class RunWatcher:
    """Remembers the files and findings of ``paths``; :meth:`poll` reports what changed since.

    ``start()`` reads everything once (its findings count as new: the watch just began);
    later ``poll()`` calls re-read and re-analyse only the runs whose files changed.
    """

    def __init__(self, paths: list[str], roles: dict[str, str] | None = None, reader: TailReader | None = None) -> None:
        self.paths = [os.path.abspath(p) for p in paths]
        self.roles = roles
        self.files: dict[str, FileState] = {}
        self.seen: set[tuple[str, str, str]] = set()  # (format, path, mode) already reported
        # Every known run's latest analysis (its Run with it): a run read again is compared with the
        # others (its sweep, a range test of the same setup) as when the whole folder was analysed.
        self.analyses: dict[RunId, RunAnalysis] = {}
        # Read positions: a later look reads only what was appended (the app shares its loader's).
        self.reader = reader if reader is not None else TailReader()

    def start(self) -> WatchUpdate:
        """Read and analyse every run once; every finding is new."""
        self.files = scan(self.paths)
        loaded = RunList()
        for path in self.paths:
            part = self.reader.load(path, roles=self.roles)
            loaded.extend(part)
            loaded.warnings.extend(part.warnings)
        return self._update(list(loaded), list(loaded.warnings))

    @property
    def runs(self) -> dict[RunId, Run]:
        """Every known run, by its (format, path, name)."""
        return {key: ra.run for key, ra in self.analyses.items()}

    def changed_files(self) -> list[str]:
        """Files added or modified since the last look (the snapshot is updated)."""
        now = scan(self.paths)
        changed = [p for p, st in now.items() if self.files.get(p) != st]
        self.files = now
        return changed

    def poll(self) -> WatchUpdate:
        """Re-read and re-analyse the runs whose files changed; report their new findings."""
        changed = self.changed_files()
        if not changed:
            return WatchUpdate()
        runs: dict[RunId, Run] = {}
        warnings: list[LoadWarning] = []
        for target in self._targets(changed):
            part = self.reader.load(target, roles=self.roles)
            warnings.extend(part.warnings)
            for run in part:
                known = self.analyses.get(run_id(run))
                if known is not None:
                    run.name = known.run.name  # keep the name the full load gave it
                runs[run_id(run)] = run
        return self._update(list(runs.values()), warnings)

    def _targets(self, changed: list[str]) -> list[str]:
        """What to read again for these files: each file's folder, or the file alone in an opened
        folder that also holds other runs' folders (re-reading that would re-read everything)."""
        targets: list[str] = []
        for file in changed:
            folder = os.path.dirname(file)
            top_level = folder in self.paths and any(os.path.isdir(os.path.join(folder, n)) for n in os.listdir(folder))
            target = file if top_level or file in self.paths else folder
            if target not in targets:
                targets.append(target)
        return targets

    def _update(self, runs: list[Run], warnings: list[LoadWarning]) -> WatchUpdate:
        """Analyse ``runs`` (read again) on their own, then every known run together (sweeps, the
        context of a sweep or range test of the same setup), and report the findings not seen
        before, a sibling's included (a run that grew can change what its sweep says of another)."""
        out = WatchUpdate(runs=runs, warnings=warnings)
        if not runs:
            return out
        from lrdoctor.analysis import analyze_run, compare_runs

        fresh = [analyze_run(run) for run in runs]
        everything = list({**self.analyses, **{run_id(ra.run): ra for ra in fresh}}.values())
        compare_runs([ra.run for ra in everything], everything)
        out.analyses = fresh
        for ra in everything:
            out.new_findings.extend(self.remember(ra))
        return out

    def remember(self, run_analysis: RunAnalysis) -> list[NewFinding]:
        """Take this run, its analysis and its findings as known; returns the findings not seen
        before."""
        run = run_analysis.run
        self.analyses[run_id(run)] = run_analysis
        new = []
        for finding in run_analysis.findings:
            key = (*run_id(run), finding.mode)
            if key not in self.seen:
                self.seen.add(key)
                new.append(NewFinding(run.name, str(run.path), finding, _step_wall_time(run, finding.step_start)))
        return new
