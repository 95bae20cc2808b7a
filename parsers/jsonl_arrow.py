"""JSON lines read by pyarrow's multi-threaded JSON reader, when pyarrow is installed.

A history of a million JSON lines costs ``json.loads`` plus ``DataFrame.from_records`` about
as much as ``pandas.read_json(lines=True)`` (both build a dict per line); pyarrow parses the
lines on every core into typed columns, several times faster. The frame made here is the one
the per-line reader (:mod:`parsers.wandb`) makes of the same lines, cell for cell:

- a number column is float64 (int64 when every line has an integer), ``null`` is NaN;
- a logged ``NaN`` stays a *point*: a number column holding one becomes an object column with
  the text ``"NaN"`` there, as ``json.loads(parse_constant=str)`` gives it;
- text stays text (a time arrow would read from an ISO string is given back as text), nested
  values are the dicts and lists ``json.loads`` makes.

Anything else returns None and the caller reads line by line, naming each bad line: pyarrow
not installed, a line that is no JSON object or not JSON at all, a key whose values change
type (a number, then text), a key repeated in a line, a line longer than a block, a line with
more opening brackets than :data:`parsers.bounded.MAX_NESTING` (pyarrow recurses per level
and crashes the process on a line nested some ten thousand deep). The caller hands the lines
over a chunk at a time (pyarrow holds a chunk's text about twice over while it parses it).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .bounded import MAX_NESTING

try:  # optional: the `fast` extra (also in `parquet` and `test`)
    import pyarrow as pa
    import pyarrow.json as pa_json
except ImportError:  # pragma: no cover - exercised by the install without the extra
    pa = None

# Below this many bytes the per-line reader is as fast (pyarrow's start-up is a few ms).
MIN_ARROW_BYTES = 256 << 10
# pyarrow parses a block per task, on every core; a line longer than a block is refused (the
# caller reads it line by line). 1 MB (pyarrow's default): a few blocks per core in a chunk of
# the caller's, and a W&B record is a few hundred bytes.
BLOCK_BYTES = 1 << 20
# Bytes scanned at a time for line ends and opening brackets (the scan's temporaries are a few
# times this size).
SCAN_BYTES = 4 << 20
_NEWLINE, _BRACE, _BRACKET = ord("\n"), ord("{"), ord("[")


def available() -> bool:
    """Whether pyarrow is installed (the fast path can be tried)."""
    return pa is not None


def scan_lines(data: np.ndarray) -> tuple[int, int]:
    """``(line ends, most opening brackets on one line)`` of JSON-lines bytes (a uint8 array).

    A line's opening brackets bound how deep it nests (brackets inside strings only make the
    bound looser), so a line under :data:`MAX_NESTING` of them is safe to hand to pyarrow.
    """
    lines = 0
    most = 0
    carry = 0  # opening brackets since the last line end of the blocks before
    for lo in range(0, len(data), SCAN_BYTES):
        block = data[lo:lo + SCAN_BYTES]
        ends = np.flatnonzero(block == _NEWLINE)
        opens = np.flatnonzero((block == _BRACE) | (block == _BRACKET))
        lines += len(ends)
        if not len(opens):
            carry = carry if not len(ends) else 0
            continue
        # openers per line of the block: index i counts those before its i-th line end, the last
        # index those after its last line end (the start of a line the next block goes on with)
        per_line = np.bincount(np.searchsorted(ends, opens), minlength=len(ends) + 1)
        per_line[0] += carry
        most = max(most, int(per_line.max()))
        carry = int(per_line[-1])
    return lines, most


def _column(array: pa.ChunkedArray) -> np.ndarray | pd.Series:
    """One column as ``DataFrame.from_records`` makes it from ``json.loads(parse_constant=str)``."""
    kind = array.type
    if pa.types.is_null(kind):
        return np.full(len(array), None, dtype=object)
    if pa.types.is_floating(kind):
        values = array.to_numpy()  # nulls are NaN
        if array.null_count:
            logged_nan = np.isnan(values) & array.is_valid().to_numpy(zero_copy_only=False)
        else:
            logged_nan = np.isnan(values)
        if not logged_nan.any():
            return values
        # a logged NaN is a point, null is none: as json.loads hands them over (text, None)
        cells = values.astype(object)
        cells[np.isnan(values)] = None
        cells[logged_nan] = "NaN"
        return cells
    if pa.types.is_integer(kind) or pa.types.is_boolean(kind) or pa.types.is_string(kind) \
            or pa.types.is_large_string(kind):
        return array.to_pandas()
    if pa.types.is_temporal(kind):  # pyarrow reads ISO strings as times: they were text
        return array.cast(pa.string()).to_pandas()
    return pd.Series(array.to_pylist(), dtype=object)  # lists and objects: dicts and lists


def read_records(data: bytes) -> pd.DataFrame | None:
    """The records of complete JSON lines (``data`` ends with a line end) as a frame, or None when
    only the per-line reader gives them exactly (see the module docstring)."""
    if pa is None or len(data) < MIN_ARROW_BYTES:
        return None
    _lines, most = scan_lines(np.frombuffer(data, dtype=np.uint8))
    if most > MAX_NESTING:
        return None
    options = pa_json.ReadOptions(use_threads=True, block_size=BLOCK_BYTES)
    try:
        table = pa_json.read_json(pa.BufferReader(pa.py_buffer(data)), read_options=options)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if table.num_rows == 0 or table.num_columns == 0:
        return None
    columns = {}
    for name in table.column_names:
        columns[name] = _column(table.column(name))
        table = table.drop_columns([name])  # each column's arrow memory goes once it is converted
    return pd.DataFrame(columns, copy=False)


def release_memory() -> None:
    """Hand pyarrow's scratch memory back to the system (after a file's last chunk: its pool keeps
    freed pages for the next parse, which the frames built after the parse cannot use)."""
    if pa is not None:
        pa.default_memory_pool().release_unused()
