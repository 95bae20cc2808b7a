"""``load(path)``: walk a file or folder, dispatch each file to the reader that sniffs it,
join multi-file runs, and collect every problem as a warning naming the file.

One bad file never stops the others: its reader's :class:`ParseError` (or any other
exception) becomes a :class:`LoadWarning` and the walk goes on.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import LoadWarning, ParseError
from .model import Run
from .registry import Reader, default_merge, get_reader, readers
from .unread import archive_kind, headless_reason, nothing_found

# Folders never worth walking into.
SKIP_DIRS = {"__pycache__", "node_modules", ".git", ".hg", ".svn", ".venv", "venv", ".ipynb_checkpoints"}
# Files a user would expect to be read: when no reader takes one of these, say so.
LOG_LIKE_SUFFIXES = {".csv", ".tsv", ".jsonl", ".log", ".wandb"}

ProgressFn = Callable[[int, int, str], bool]
# How a file a reader took is read: ``reader.read`` by default (see parsers.tail.TailReader).
ReadFn = Callable[[Reader, Path], "list[Run]"]
# ``read_one(file, readers, given_directly, warnings) -> runs``: one file of a walk (see read_files).
ReadOneFn = Callable[[Path, "list[Reader]", bool, "list[LoadWarning]"], "list[Run]"]

# Folder names that say nothing about the run: a run named so gets its parent folder's name too.
GENERIC_NAMES = re.compile(
    r"^(output|outputs|out|logs?|runs?|results?|train|training|tb|tensorboard|events|default|"
    r"checkpoints?|lightning_logs|wandb|mlruns|files|version_\d+|\d+)$",
    re.IGNORECASE,
)


class RunList(list):
    """``list[Run]`` that also carries the problems met while loading (``.warnings``).

    Warnings of files that yielded no run live here; warnings about a run's own
    files also live on ``Run.warnings``.
    """

    def __init__(self, runs: list[Run] | None = None, warnings: list[LoadWarning] | None = None):
        super().__init__(runs or [])
        self.warnings: list[LoadWarning] = list(warnings or [])

    def all_warnings(self) -> list[LoadWarning]:
        """Load-level warnings followed by every run's own, without repeats."""
        out = list(self.warnings)
        seen = {str(w) for w in out}
        for run in self:
            for msg in run.warnings:
                w = _warning_from_text(msg, run.path)
                if str(w) not in seen:
                    seen.add(str(w))
                    out.append(w)
        return out


def _warning_from_text(msg: str, default_path: str) -> LoadWarning:
    """Split ``'path: message'`` back into a LoadWarning (run warnings name their file)."""
    head, sep, tail = msg.partition(": ")
    if sep and (os.sep in head or Path(head).suffix or Path(head).name.startswith("events.out")):
        return LoadWarning(head, tail)
    return LoadWarning(default_path, msg)


def _is_log_like(path: Path) -> bool:
    return path.suffix.lower() in LOG_LIKE_SUFFIXES or "tfevents" in path.name


def iter_files(root: Path, problems: list[LoadWarning] | None = None) -> Iterator[Path]:
    """Every file below ``root`` (or ``root`` itself), files of a folder before its subfolders.

    The walk keeps its own stack (``os.walk`` recurses, and a tree a thousand folders deep
    exhausts Python's recursion limit); symbolic links to folders are not followed, so a
    link loop cannot make it endless. A folder that cannot be listed is added to
    ``problems`` and skipped.
    """
    if root.is_file():
        yield root
        return
    stack = [root]
    while stack:
        folder = stack.pop()
        files: list[str] = []
        subfolders: list[str] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if entry.name not in SKIP_DIRS:
                                subfolders.append(entry.name)
                        else:
                            files.append(entry.name)
                    except OSError:
                        files.append(entry.name)  # the per-file stat says what is wrong
        except OSError as exc:
            if problems is not None:
                problems.append(LoadWarning(str(folder), f"folder not read: {exc.strerror or exc}"))
            continue
        for name in sorted(files):
            yield folder / name
        stack.extend(folder / name for name in sorted(subfolders, reverse=True))


def _sniff(reader: Reader, path: Path, failures: list[str]) -> bool:
    """Whether ``reader`` takes ``path``; a sniffer that raises is noted in ``failures``, never fatal."""
    try:
        return bool(reader.sniff(path))
    except OSError:
        return False
    except Exception as exc:  # noqa: BLE001 - a hostile file must not stop the walk
        failures.append(f"{reader.format}: {describe_exception(exc)}")
        return False


def describe_exception(exc: BaseException) -> str:
    """One line saying what went wrong, in words where Python's own message says little."""
    if isinstance(exc, RecursionError):
        return "nested too deeply to read"
    if isinstance(exc, MemoryError):
        return "too large to read in memory"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def load(
    path: str | os.PathLike[str],
    *,
    roles: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
) -> RunList:
    """Load every run found at ``path`` (a file, or a folder walked recursively).

    ``roles`` overrides the inferred role of tags (``{tag: role}``) in every run.
    ``progress(done, total, current_file)`` is called per file; returning False cancels
    (the runs read so far are returned). Never raises because of a bad file: problems
    are in ``result.warnings`` and ``run.warnings``.
    """
    return load_with(path, roles=roles, progress=progress)


def load_with(
    path: str | os.PathLike[str],
    *,
    roles: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    read_one: ReadOneFn | None = None,
) -> RunList:
    """:func:`load`, each file read by ``read_one`` in place of the default sniff-and-read
    (:class:`parsers.tail.TailReader` resumes growing files)."""
    root = Path(path)
    if not root.exists():
        return RunList([], [LoadWarning(str(root), "no such file or folder")])
    walk_problems: list[LoadWarning] = []
    files = list(iter_files(root, walk_problems))
    runs, warnings = read_files(files, given_directly=root.is_file(), roles=roles, progress=progress,
                                cancel_path=str(root), read_one=read_one)
    result = RunList([r for _, r in runs], walk_problems + [w for _, w in warnings])
    name_runs(result)
    if not result and not result.warnings:
        result.warnings.append(LoadWarning(str(root), nothing_found(root, files)))
    return result


# Where a warning sorts among a walk's: (FILE_PHASE, file index) while reading, then
# (ASSEMBLY_PHASE, index of the run's first file) while joining each run's parts.
FILE_PHASE, ASSEMBLY_PHASE = 0, 1
WarningAt = tuple[tuple[int, int], LoadWarning]


def read_files(
    files: Sequence[Path],
    *,
    given_directly: bool = False,
    roles: dict[str, str] | None = None,
    progress: ProgressFn | None = None,
    cancel_path: str = "",
    read_one: ReadOneFn | None = None,
) -> tuple[list[tuple[int, Run]], list[WarningAt]]:
    """Read ``files`` (in walk order) and join each run's parts; names are left as the readers gave them.

    Returns ``(i, run)`` with ``i`` the position in ``files`` of the first file that yielded a part
    of the run, and ``((phase, i), warning)`` saying where each warning sorts. Reading disjoint
    groups of a walk's files (each run's files in one group) and sorting the results by the files'
    places in the whole walk gives exactly what one call on all the files gives; :func:`name_runs`
    then names the runs as :func:`load` does. ``read_one`` reads one file in place of the
    sniff-and-read of :func:`read_one_file` (a reader that resumes where it left off).
    """
    read_one = read_one or ReadAhead(files).read_one
    warnings: list[WarningAt] = []
    available = readers()
    consumed: set[str] = set()
    parts: "OrderedDict[tuple[str, str, str], tuple[int, list[Run]]]" = OrderedDict()

    for index, file in enumerate(files):
        if progress is not None and progress(index, len(files), str(file)) is False:
            warnings.append(((FILE_PHASE, index), LoadWarning(cancel_path or str(file), "loading cancelled")))
            break
        if str(file) in consumed:
            continue
        found: list[LoadWarning] = []
        try:
            runs = read_one(file, available, given_directly, found)
        except Exception as exc:  # noqa: BLE001 - the per-file boundary: one file never stops the others
            found.append(LoadWarning(str(file), f"not read: {describe_exception(exc)}"))
            runs = []
        warnings.extend(((FILE_PHASE, index), w) for w in found)
        for run in runs:
            consumed.update(run.files)
            parts.setdefault((run.format, run.path, run.name), (index, []))[1].append(run)
    if progress is not None:
        progress(len(files), len(files), "")

    out: list[tuple[int, Run]] = []
    for (fmt, path_, _name), (first, group) in parts.items():
        reader = get_reader(fmt)
        merge = reader.merge if reader is not None and reader.merge is not None else default_merge
        try:
            run = group[0] if len(group) == 1 and merge is default_merge else merge(group)
            if roles:  # every Run infers its roles when built; only the user's overrides are left
                run.set_roles(roles)
        except Exception as exc:  # noqa: BLE001 - a run whose parts cannot be joined is lost alone
            warnings.append(((ASSEMBLY_PHASE, first),
                             LoadWarning(path_, f"{fmt} run not assembled: {describe_exception(exc)}")))
            continue
        out.append((first, run))
    return out, warnings


class ReadAhead:
    """Runs of the walk's files read in one go by readers that read many small files at once
    (``Reader.read_batch``), each handed out when the walk reaches its file and the same reader
    takes it (so exactly where, and by whom, a file read alone would have been read).

    ``read_one`` is :func:`read_one_file` reading through it; one ReadAhead may serve several
    :func:`read_files` calls over parts of ``files`` (the run units of a fleet task chunk).
    """

    # Files offered to one batch: the walk's next ones from the file being read.
    WINDOW = 1024

    def __init__(self, files: Sequence[Path]) -> None:
        self.files = files
        self.position = {str(f): i for i, f in enumerate(files)}
        self.ready: dict[tuple[str, str], list[Run]] = {}
        self.offered: set[tuple[str, str]] = set()

    def read(self, reader: Reader, file: Path) -> list[Run]:
        key = (reader.format, str(file))
        runs = self.ready.pop(key, None)
        if runs is None and reader.read_batch is not None and key not in self.offered:
            at = self.position.get(str(file))
            window = [file] if at is None else self.files[at : at + self.WINDOW]
            try:
                looked = reader.read_batch(window)
            except Exception:  # noqa: BLE001 - the files are read one by one instead, which says what is wrong
                looked = {str(file): None}
            for path, got in looked.items():
                self.offered.add((reader.format, path))
                if got is not None:
                    self.ready[(reader.format, path)] = got
            runs = self.ready.pop(key, None)
        return runs if runs is not None else reader.read(file)

    def read_one(self, file: Path, available: list[Reader], given_directly: bool,
                 warnings: list[LoadWarning]) -> list[Run]:
        """:func:`read_one_file` with the read ahead."""
        return read_one_file(file, available, given_directly, warnings, read=self.read)


def read_one_file(file: Path, available: list[Reader], given_directly: bool,
                  warnings: list[LoadWarning], read: ReadFn | None = None) -> list[Run]:
    """The runs in one file; its problems become warnings naming it (empty list when none).

    ``read(reader, file)`` reads it once a reader took it (default: ``reader.read(file)``).
    """
    try:
        if file.stat().st_size == 0:
            if given_directly or _is_log_like(file):
                warnings.append(LoadWarning(str(file), "empty file"))
            return []
    except OSError as exc:
        warnings.append(LoadWarning(str(file), f"cannot read: {exc.strerror or exc}"))
        return []
    sniff_failures: list[str] = []
    reader = next((r for r in available if _sniff(r, file, sniff_failures)), None)
    if reader is None:
        archive = archive_kind(file)
        if archive is not None:
            warnings.append(LoadWarning(
                str(file), f"a {archive} archive: lrdoctor does not read inside archives; extract it first "
                           "and point lrdoctor at the extracted folder"))
        elif sniff_failures:
            warnings.append(LoadWarning(str(file), "not read: " + "; ".join(sniff_failures)))
        elif given_directly or _is_log_like(file):
            tried = ", ".join(r.format for r in available)
            reason = headless_reason(file)
            warnings.append(LoadWarning(
                str(file), f"not a recognised training log{f' ({reason})' if reason else ''} (tried: {tried})"))
        return []
    return read_guarded(reader, file, warnings, read)


def read_guarded(reader: Reader, file: Path, warnings: list[LoadWarning], read: ReadFn | None = None) -> list[Run]:
    """``read(reader, file)`` (default ``reader.read``) with its failure turned into a warning naming the file."""
    try:
        return read(reader, file) if read is not None else reader.read(file)
    except ParseError as exc:
        where = f" ({exc.location})" if exc.location else ""
        warnings.append(LoadWarning(exc.path, f"{exc.problem}{where}"))
    except Exception as exc:  # noqa: BLE001 - a reader bug or a hostile file must not stop the others
        warnings.append(LoadWarning(str(file), f"{reader.format} reader failed: {describe_exception(exc)}"))
    return []


def _name_with_parents(path: str, depth: int) -> str:
    parts = Path(path).parts
    return "/".join(parts[-depth:]) if depth < len(parts) else path


def name_runs(runs: list[Run]) -> None:
    """Make run names say something and tell runs apart, as TensorBoard does with relative paths.

    A run named after its own folder, when that name is generic (``output``, ``version_0``),
    takes its parent folder's name in front; runs that still share a name take as many
    parent folders as needed to differ. Names that do not come from the path (W&B display
    names, names from the log itself) are left alone.
    """
    def from_path(run: Run) -> bool:
        p = Path(run.path)
        return run.name in (p.name, p.stem)

    for run in runs:
        if from_path(run) and GENERIC_NAMES.match(run.name):
            base = Path(run.path)
            if base.name != run.name:  # named after the file's stem
                base = base.with_suffix("")
            run.name = _name_with_parents(str(base), 2)
    for depth in range(2, 6):
        by_name: dict[str, list[Run]] = {}
        for run in runs:
            by_name.setdefault(run.name, []).append(run)
        clashes = [group for group in by_name.values() if len(group) > 1]
        if not clashes:
            return
        for group in clashes:
            for run in group:
                if Path(run.path).name == run.name.split("/")[-1] or from_path(run):
                    run.name = _name_with_parents(run.path, depth)
