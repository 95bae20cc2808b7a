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
from typing import TYPE_CHECKING, Any

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
    """True when the file's last line holds text but no line end."""
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
    if tail.endswith((b"\n", b"\r")):
        return False
    last = tail.rsplit(b"\n", 1)[-1].rsplit(b"\r", 1)[-1]
    return bool(last.strip())


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
    (``Reader.resume``: TensorBoard event files), merged into what it already held; every
    other file is read whole, as ``load`` reads it. The result is what ``load`` gives.

    ``resumed`` / ``whole`` count the files read each way (for tests and benchmarks).
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
                self.resumed += 1
                return read_guarded(reader, file, warnings,
                                    lambda r, f: self._resume(r, f, st, cursor.state))
        self.whole += 1
        return read_one_file(file, available, given_directly, warnings,
                             read=lambda r, f: self._resume(r, f, st, None) if r.resume is not None and st
                             else r.read(f))

    def _resume(self, reader: Reader, file: Path, st: os.stat_result, state: Any) -> list[Run]:
        runs, state = reader.resume(file, state)  # type: ignore[misc] - only readers that resume come here
        self.cursors[str(file)] = FileCursor(st.st_dev, st.st_ino, reader.format, state)
        return runs

    def forget(self) -> None:
        """Drop every read position: the next load reads everything whole."""
        self.cursors.clear()
