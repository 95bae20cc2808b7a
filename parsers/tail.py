"""A log still being written: its last line may be cut mid-number, and a later look should read
only what was appended (:class:`TailReader`).

A training process appends a line at a time; a reader that arrives between two writes
sees the last line without its line end, and ``0.6703`` cut to ``0`` would read as a loss
of 0. Such a line is dropped with a warning, in every line-based reader.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from .errors import LoadWarning
    from .loader import ProgressFn, RunList
    from .model import Run
    from .registry import Reader

# Bytes read from the end to find the last line's content (a line end further back means
# the unterminated tail is longer than this, which is still a cut line).
TAIL_BYTES = 4096
CUT_LINE_MESSAGE = "the last line has no line end (file still being written, or cut short): skipped"


def last_line_is_cut(path: Path) -> bool:
    """True when the file's last line holds text but no line end (False for a buffer in memory:
    :func:`resume_table` hands the table reader complete lines only)."""
    if not isinstance(path, (str, os.PathLike)):
        return False
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            if size == 0:
                return False
            fh.seek(max(size - TAIL_BYTES, 0))
            tail = fh.read()
    except OSError:
        return False
    return ends_cut(tail)


def ends_cut(tail: bytes) -> bool:
    """Whether these last bytes of a file end in a line with text but no line end."""
    if tail.endswith((b"\n", b"\r")):
        return False
    last = tail.rsplit(b"\n", 1)[-1].rsplit(b"\r", 1)[-1]
    return bool(last.strip())


# Bytes just before a table's read position kept and compared on the next look: a file rewritten
# in place (Lightning's CSVLogger rewrites metrics.csv when a new column appears) no longer holds
# them there, and is read whole.
SEAL_BYTES = 256
# A parsed table (or a text log's points) held for resuming lives beside its run's scalars (the app
# keeps one per opened file): above this size (a 10M-row export, not a log still being written) the file is read whole
# on each look instead, so holding it never doubles the memory a huge run takes.
MAX_HELD_TABLE_BYTES = 64 << 20


@dataclass
class TableState:
    """A delimited file with a header row, read up to ``end`` (just past its last complete line):
    the table parsed so far, so a later look parses only the lines appended since.

    ``warnings`` are the table reader's notes about the lines before ``end``; ``trailing`` the
    note about a last line still being written (said until it is complete).
    """

    path: Path
    head: Any  # the sniffed parsers.csv.Head
    header: bytes  # the header line as written, line end included
    frame: Any  # pandas.DataFrame of every complete data line so far
    warnings: list[str]
    trailing: list[str]
    end: int
    seal: bytes
    start: int = 0  # where the read that made this state began (0: the whole file)
    memo: Any = None  # what converting the held rows gave (parsers.csv.WideMemo): only new rows are converted

    def table(self) -> Any:
        """The parsers.csv_table.Table a whole read gives (frame and notes), with the conversion memo."""
        from .csv_table import Table

        return Table(path=self.path, frame=self.frame, warnings=self.warnings + self.trailing, memo=self.memo)


def _complete(data: bytes) -> int:
    """Where the complete lines of ``data`` end: past the last ``\n``, or past a final ``\r`` (a
    CRLF line whose LF is not written yet already ends a row for the table reader)."""
    return len(data) if data.endswith(b"\r") else data.rfind(b"\n") + 1


def _cut_note(path: Path) -> str:
    return f"{path}: {CUT_LINE_MESSAGE}"


def _table_state(path: Path, head: Any, table: Any, before: os.stat_result) -> TableState | None:
    """The read position after a whole read of ``path`` (None when it cannot resume: no header
    row, no line end at all, a table too large to hold, or the file changed while it was read).
    Only the header line and the bytes back to the last line end are read again."""
    if not head.has_header or int(table.frame.memory_usage(index=False, deep=False).sum()) > MAX_HELD_TABLE_BYTES:
        return None
    try:
        after = os.stat(path)
        if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
            return None
        with open(path, "rb") as fh:
            header = fh.readline()
            if not header.endswith(b"\n"):
                return None
            pos, tail = after.st_size, b""
            while pos > len(header) and not (b"\n" in tail or tail.endswith(b"\r")):
                step = min(TAIL_BYTES, pos - len(header))
                pos -= step
                fh.seek(pos)
                tail = fh.read(step) + tail
            end = pos + _complete(tail)
            fh.seek(max(end - SEAL_BYTES, 0))
            seal = fh.read(end - max(end - SEAL_BYTES, 0))
    except OSError:
        return None
    notes = list(table.warnings)
    trailing = [notes.pop()] if notes and notes[-1] == _cut_note(path) else []
    return TableState(path, head, header, table.frame, notes, trailing, end, seal)


def _table_on(state: TableState) -> TableState | None:
    """``state`` with the lines appended since parsed and added; None when only a whole read is
    exact (rewritten in place, a line the reader warns about, a column whose type changes)."""
    import io

    import pandas as pd

    from .csv_table import read_table

    path = state.path
    with open(path, "rb") as fh:
        if fh.read(len(state.header)) != state.header:
            return None
        fh.seek(state.end - len(state.seal))
        if fh.read(len(state.seal)) != state.seal:
            return None
        data = fh.read()
    end = _complete(data)
    trailing = [_cut_note(path)] if ends_cut(data[end:]) else []
    if not data[:end].strip():
        return TableState(**{**state.__dict__, "trailing": trailing, "start": state.end})
    part = read_table(io.BytesIO(state.header + data[:end]), state.head.delimiter, header=True,
                      skip_space=state.head.spaced)
    if part.warnings or not set(state.frame.columns) <= set(part.frame.columns):
        return None
    new = part.frame[list(state.frame.columns)]
    for name in new.columns:
        held, got = state.frame[name].dtype, new[name].dtype
        if new[name].notna().any() and len(state.frame) and (held.kind in "OSUb") != (got.kind in "OSUb"):
            return None  # text in a numeric column (or numbers in a text one): as a whole read types it
    frame = pd.concat([state.frame, new], ignore_index=True)
    seal = (state.seal + data[:end])[-SEAL_BYTES:]
    return TableState(path, state.head, state.header, frame, list(state.warnings), trailing, state.end + end, seal,
                      start=state.end, memo=state.memo)


def resume_table(path: Path, state: TableState | None, load: Callable[[Path], tuple[Any, Any]],
                 to_runs: Callable[[Path, Any, Any], list[Run]]) -> tuple[list[Run], TableState | None]:
    """``Reader.resume`` of a delimited-table reader: ``load(path) -> (head, table)`` reads the file
    whole, ``to_runs(path, head, table)`` makes its runs (what the reader's ``read`` does in two
    steps). With a ``state`` only the appended complete lines are parsed (under the held header
    row) and added to the held table; the runs are then made from the whole table, exactly as a
    whole read makes them."""
    path = Path(path)
    if state is not None:
        state = _table_on(state)
    if state is None:
        before = os.stat(path)
        head, table = load(path)
        runs = to_runs(path, head, table)
        state = _table_state(path, head, table, before)
    else:
        table = state.table()
        runs = to_runs(path, state.head, table)
    if state is not None:
        state.memo = table.memo  # the conversion of the rows held now (the state is this look's own)
    return runs, state


@dataclass
class FileCursor:
    """Where a growing file was read up to: its identity, its reader and that reader's state.

    ``state.end`` is how many bytes the state holds (the end of the last complete record); a
    file now shorter than that, or another file under the same name (a new inode), is read
    again whole.
    """

    device: int
    inode: int
    format: str
    state: Any


@dataclass
class TailReader:
    """:func:`parsers.load` that remembers a read position per file: a later :meth:`load` of the
    same paths reads only what was appended to each file whose reader can resume
    (``Reader.resume``: TensorBoard event files, delimited tables, text and JSON-lines logs), merged into what it already held; every
    other file is read whole, as ``load`` reads it. The result is what ``load`` gives.

    ``resumed`` / ``whole`` count the files read each way (for tests and benchmarks): a look that
    the reader could not continue (a file rewritten in place) counts as whole.
    """

    cursors: dict[str, FileCursor] = field(default_factory=dict)
    resumed: int = 0
    whole: int = 0

    def load(self, path: str | os.PathLike[str], *, roles: dict[str, str] | None = None,
             progress: ProgressFn | None = None) -> RunList:
        """What ``parsers.load(path, roles=roles, progress=progress)`` returns, reading only appended
        records where it can. Two threads may load at once (the app's F5 and its live watching):
        each file's state is replaced whole, never changed in place, so the worst case is a file
        read whole twice."""
        from .loader import load_with

        result = load_with(path, roles=roles, progress=progress, read_one=self.read_one)
        self._forget_deleted(os.path.abspath(path))
        return result

    def _forget_deleted(self, root: str) -> None:
        """Drop the positions of files under ``root`` that no longer exist (their runs are gone)."""
        inside = root.rstrip(os.sep) + os.sep
        for file in [f for f in self.cursors if f == root or os.path.abspath(f).startswith(inside)]:
            if not os.path.exists(file):
                self.cursors.pop(file, None)

    def read_one(self, file: Path, available: list[Reader], given_directly: bool,
                 warnings: list[LoadWarning]) -> list[Run]:
        """One file of a walk (the ``read_one`` of :func:`parsers.loader.read_files`)."""
        from .loader import read_guarded, read_one_file
        from .registry import get_reader

        key = str(file)
        cursor = self.cursors.pop(key, None)  # put back by _resume once read
        try:
            st = os.stat(file)
        except OSError:
            st = None
        if cursor is not None and st is not None and st.st_size > 0:
            reader = get_reader(cursor.format)
            same = (st.st_dev, st.st_ino) == (cursor.device, cursor.inode) and st.st_size >= cursor.state.end
            if reader is not None and reader.resume is not None and same:
                return read_guarded(reader, file, warnings,
                                    lambda r, f: self._resume(r, f, st, cursor.state))
        return read_one_file(file, available, given_directly, warnings,
                             read=lambda r, f: self._resume(r, f, st, None) if r.resume is not None and st
                             else self._whole(r, f))

    def _whole(self, reader: Reader, file: Path) -> list[Run]:
        self.whole += 1
        return reader.read(file)

    def _resume(self, reader: Reader, file: Path, st: os.stat_result, state: Any) -> list[Run]:
        runs, state = reader.resume(file, state)  # type: ignore[misc] - only readers that resume come here
        if state is not None and state.start > 0:
            self.resumed += 1
        else:  # read whole: the first look, or a file that could not be continued
            self.whole += 1
        if state is not None:  # None: this file cannot be resumed (read whole next time)
            self.cursors[str(file)] = FileCursor(st.st_dev, st.st_ino, reader.format, state)
        return runs

    def forget(self) -> None:
        """Drop every read position: the next load reads everything whole."""
        self.cursors.clear()
