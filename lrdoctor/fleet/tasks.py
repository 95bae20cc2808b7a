"""One task per run unit: what a worker (a local process or a Dask worker) reads and analyses.

A task names its files (local paths, or URLs read through fsspec), so a worker on another
machine reads its own runs straight from the bucket. Planning (the walk) happens once in the
caller; :func:`run_task` is the whole of a worker's job and is a plain top-level function so
it pickles for process pools and Dask alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Sequence

from lrdoctor.analysis import RunAnalysis, analyze_run
from parsers import LoadWarning, Run
from parsers.loader import ReadAhead, WarningAt, iter_files, read_files
from parsers.unread import nothing_found
from parsers.units import Unit, split_units

from . import remote

# A file's identity for the cache: (path or URL, size in bytes, modification stamp).
Stamp = tuple[str, int, str]


@dataclass(frozen=True)
class Task:
    """Read (and analyse) one run unit."""

    source: int  # position of the PATH (or URL) this unit was found under, among those given
    root: str  # that PATH or URL
    unit: Unit  # files in walk order and their positions in the whole walk of ``root``
    given_directly: bool  # the PATH was this one file (unrecognised files are then reported)
    roles: tuple[tuple[str, str], ...] = ()  # the user's role overrides, sorted
    analyze: bool = True  # False: read only (``inspect``, ``export``)
    stamps: tuple[Stamp, ...] = ()  # size and modification stamp of every file, for the cache key
    storage_options: tuple[tuple[str, Any], ...] = ()  # fsspec options for a URL root


@dataclass
class TaskResult:
    """What a worker sends back: runs (with their analyses) and warnings, at positions in the unit.

    Positions are the files' places in the unit (0..n-1), not in the whole walk, so a cached result
    stays valid when files are added elsewhere in the tree; :meth:`placed` maps them back.
    """

    runs: list[tuple[int, Run]] = field(default_factory=list)
    analyses: list[RunAnalysis | None] = field(default_factory=list)
    warnings: list[WarningAt] = field(default_factory=list)

    def placed(self, unit: Unit) -> TaskResult:
        """The same result with positions replaced by the files' indices in the whole walk."""
        at = unit.indices
        return TaskResult(
            [(at[i], r) for i, r in self.runs],
            list(self.analyses),
            [((phase, at[i]), w) for (phase, i), w in self.warnings],
        )


def run_task(task: Task, ahead: ReadAhead | None = None) -> TaskResult:
    """Read the task's files, join each run's parts and analyse every run (the worker's job).

    ``ahead``: a read-ahead over the files of several local tasks (:func:`run_several`)."""
    if remote.is_url(task.root):
        with remote.staged(task.root, task.unit.files, dict(task.storage_options)) as (local, to_url):
            result = _read(task, [Path(p) for p in local])
            remote.relocate(result, to_url)
    else:
        result = _read(task, [Path(p) for p in task.unit.files], ahead)
    if task.analyze:
        result.analyses = [analyze_run(run) for _, run in result.runs]
    return result


def run_several(tasks: Sequence[Task]) -> list[TaskResult]:
    """Several tasks, in order, the local ones' small files read ahead together (a fleet's many
    single-file runs share the readers' bulk passes, ``Reader.read_batch``): the same results as
    :func:`run_task` on each."""
    local = [Path(f) for t in tasks if not remote.is_url(t.root) for f in t.unit.files]
    ahead = ReadAhead(local) if len(local) > 1 else None
    return [run_task(task, ahead) for task in tasks]


def _read(task: Task, files: list[Path], ahead: ReadAhead | None = None) -> TaskResult:
    runs, warnings = read_files(files, given_directly=task.given_directly, roles=dict(task.roles) or None,
                                read_one=ahead.read_one if ahead is not None else None)
    return TaskResult(runs=runs, analyses=[None] * len(runs), warnings=warnings)


@dataclass
class Source:
    """One PATH (or URL) as given: the problems met walking it, and what the walk found."""

    path: str
    problems: list[LoadWarning] = field(default_factory=list)  # missing, unlistable folders ...
    files: list[PurePath] = field(default_factory=list)  # to say why nothing was found, when nothing is
    walked: bool = False  # False when the PATH itself could not be walked

    given_directly: bool = False

    def nothing_found(self) -> LoadWarning:
        """Why the walk found no run (``parsers.load``'s own wording)."""
        if self.given_directly:
            return LoadWarning(self.path, "not a recognised training log")
        return LoadWarning(self.path, nothing_found(Path(self.path), list(self.files)))


def plan(
    paths: list[str],
    *,
    roles: dict[str, str] | None = None,
    analyze: bool = True,
    storage_options: dict[str, Any] | None = None,
) -> tuple[list[Task], list[Source]]:
    """The tasks for ``paths`` (one per run unit, in walk order) and what was met walking each PATH."""
    tasks: list[Task] = []
    sources: list[Source] = []
    role_items = tuple(sorted((roles or {}).items()))
    options = tuple(sorted((storage_options or {}).items()))
    for index, path in enumerate(paths):
        source = Source(path)
        sources.append(source)
        if remote.is_url(path):
            try:
                listing = remote.walk(path, storage_options or {})
            except (OSError, ValueError, ImportError) as exc:
                source.problems.append(LoadWarning(path, f"cannot list: {remote.describe(exc)}"))
                continue
            units, given, stamps = listing.units, listing.given_directly, listing.stamps
            source.files = [PurePosixPath(f) for u in units for f in u.files]
        else:
            root = Path(path)
            if not root.exists():
                source.problems.append(LoadWarning(str(root), "no such file or folder"))
                continue
            files = list(iter_files(root, source.problems))
            given = root.is_file()
            units = split_units(files, root.parent if given else root)
            stamps = {str(f): _local_stamp(f) for f in files}
            source.files = list(files)
        source.walked, source.given_directly = True, given
        for unit in units:
            tasks.append(Task(index, path, unit, given, role_items, analyze,
                              tuple(stamps[f] for f in unit.files), options))
    return tasks, sources


def _local_stamp(file: Path) -> Stamp:
    try:
        st = file.stat()
    except OSError:
        return (str(file), -1, "")  # unreadable: the reader will say why; never a cache hit
    return (str(os.path.abspath(file)), st.st_size, str(st.st_mtime_ns))
