"""Shared low-level helpers of the delimited-text readers (``csv.py``, ``wandb.py``).

Reading is done by pandas' C parser with every cell kept as written (``keep_default_na``
off), so an *empty* cell (no point logged) stays distinguishable from a logged ``nan``
(a point whose value is NaN, which is evidence of a divergence). Columns are then turned
into float arrays plus a "present" mask, column by column, never point by point.
"""

from __future__ import annotations

import csv as _csv
import math
import os
import re
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .bounded import BoundedSafeLoader, yaml_load_file
from .errors import ParseError
from .tail import CUT_LINE_MESSAGE, last_line_is_cut
from .model import empty_scalars

# How much of a file the sniffers look at: enough for a header plus a few dozen rows.
SNIFF_BYTES = 64 * 1024
# Delimiters we accept; anything else is not a metric table.
DELIMITERS = ",;\t|"
# Text spellings of non-finite floats that are values, not junk (compared lower-cased).
NONFINITE_WORDS = {"nan", "-nan", "+nan", "inf", "-inf", "+inf", "infinity", "-infinity", "+infinity"}
# The C parser's round-trip converter: every value equals Python's float(cell) exactly. From
# pandas 3.1 on every mode is that converter and the argument is deprecated (None: not passed).
_PANDAS = tuple(int(part) for part in re.findall(r"\d+", pd.__version__)[:2])
FLOAT_PRECISION = "round_trip" if _PANDAS < (3, 1) else None
# Rows gathered at a time into the long columns: the temporaries stay ~1 MB whatever the table.
GATHER_ROWS = 131_072
# From this many points the gather runs on every core (below, starting threads costs more than
# it saves: a gather moves ~100 M points a second on one core).
PARALLEL_GATHER_POINTS = 1_000_000
# Threads of the gather: it is bound by memory bandwidth, which a few cores already fill.
MAX_GATHER_THREADS = 4
_PANDAS_BAD_LINE = re.compile(r"Skipping line (\d+): (.*)")


def read_head(path: Path, size: int = SNIFF_BYTES) -> str | None:
    """The first ``size`` bytes as text, or None for binary / non-UTF-8 content."""
    with open(path, "rb") as fh:
        raw = fh.read(size)
    if not raw or b"\x00" in raw:
        return None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(raw) - 4:  # a multi-byte character cut by the sniff window
            return raw[: exc.start].decode("utf-8", errors="ignore")
        return None


def head_lines(text: str, limit: int = 50) -> list[str]:
    """Complete non-empty lines of a sniffed head (the last, possibly cut, line dropped)."""
    lines = text.splitlines()
    if len(text) >= SNIFF_BYTES - 4 and lines:
        lines = lines[:-1]
    return [ln for ln in lines if ln.strip()][:limit]


def sniff_delimiter(lines: list[str]) -> str | None:
    """The delimiter of a table given its first lines, or None when it is not a table."""
    if not lines:
        return None
    sample = "\n".join(lines[:20])
    try:
        delim = _csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except _csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS}
        delim = max(counts, key=counts.get)
        if counts[delim] == 0:
            return None
    return delim


def split_row(line: str, delimiter: str) -> list[str]:
    """One line split like the csv module does (quotes honoured)."""
    return next(_csv.reader([line], delimiter=delimiter), [])


def is_number(cell: str) -> bool:
    """True when a cell is a number, including the ``nan``/``inf`` spellings."""
    cell = cell.strip()
    if not cell:
        return False
    try:
        float(cell)
    except ValueError:
        return cell.lower() in NONFINITE_WORDS
    return True


@dataclass
class Table:
    """A delimited file read as text columns (empty cells are NA)."""

    path: Path
    frame: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    # What converting the table's first rows gave (parsers.csv.WideMemo), when its holder knows
    # those rows are unchanged (a file that grows by appended lines): only later rows are converted.
    memo: Any = None


def read_table(
    path: Path, delimiter: str = ",", *, header: bool = True, as_text: bool = False, skip_space: bool = True
) -> Table:
    """Read a delimited file with pandas' C parser; ragged rows are skipped with a warning.

    ``as_text`` keeps every cell as written (for metadata tables, where ``64`` must not
    become ``64.0`` because another row left the cell empty). ``skip_space`` drops blanks
    after delimiters (pass False when the sniffed head has none: it is much faster).

    Raises :class:`ParseError` when the file cannot be parsed at all.
    """
    notes: list[str] = []
    options: dict[str, Any] = dict(
        sep=delimiter, header=0 if header else None, dtype=str if as_text else None, keep_default_na=False,
        na_values=[""], skipinitialspace=skip_space, encoding="utf-8", encoding_errors="strict", engine="c")
    if FLOAT_PRECISION is not None:
        options["float_precision"] = FLOAT_PRECISION
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                # pandas reads a large file on every core, but not when told to warn about ragged
                # rows (its warnings would name chunk-relative lines): ask for that only when a
                # row is ragged, reading the file again (a clean file is read once, at full speed)
                frame = pd.read_csv(path, on_bad_lines="error", **options)
            except pd.errors.ParserError:
                if not isinstance(path, (str, os.PathLike)):
                    path.seek(0)
                frame = pd.read_csv(path, on_bad_lines="warn", **options)
    except UnicodeDecodeError:
        raise ParseError(path, "not a UTF-8 text file") from None
    except pd.errors.EmptyDataError:
        raise ParseError(path, "empty file (no header row)") from None
    except (pd.errors.ParserError, ValueError) as exc:
        raise ParseError(path, f"cannot parse as a table: {str(exc).strip()}") from None
    bad_lines = []
    for w in caught:
        for match in _PANDAS_BAD_LINE.finditer(str(w.message)):
            bad_lines.append((int(match.group(1)), match.group(2).strip()))
    if bad_lines:
        first_line, what = bad_lines[0]
        more = f" and {len(bad_lines) - 1} more" if len(bad_lines) > 1 else ""
        notes.append(f"{path}: line {first_line} skipped ({what}){more}")
    frame.columns = [str(c).strip() for c in frame.columns]
    if len(frame) and last_line_is_cut(path):
        frame = frame.iloc[:-1]
        notes.append(f"{path}: {CUT_LINE_MESSAGE}")
    return Table(path=path, frame=frame, warnings=notes)


def column_values(col: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """A column as ``(values, present, junk)``.

    ``present`` is True where the cell holds a number (``nan``/``inf`` spellings included);
    ``junk`` counts non-empty cells that are not numbers. A column pandas already parsed as
    numbers has no ``nan`` text (``keep_default_na`` is off), so its NaNs are empty cells.
    """
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        if col.dtype == np.float64:
            values = col.to_numpy()  # the column itself, not a copy: its NaNs already are the empty cells
        else:
            values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        present = np.isnan(values)
        return values, np.logical_not(present, out=present), 0
    values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    filled = col.notna().to_numpy()
    present = filled & ~np.isnan(values)
    unresolved = filled & ~present
    if unresolved.any():
        cells = col[unresolved]
        if pd.api.types.is_string_dtype(cells) and pd.api.types.infer_dtype(cells) == "string":
            words = cells.str.strip().str.lower()
        else:  # JSON values: dicts, lists, bools mixed with text
            words = cells.map(lambda v: v.strip().lower() if isinstance(v, str) else "")
        is_nan_word = words.isin(NONFINITE_WORDS).to_numpy()
        present[np.flatnonzero(unresolved)[is_nan_word]] = True
        junk = int((~is_nan_word).sum())
    else:
        junk = 0
    return values, present, junk


def integer_steps(values: np.ndarray, present: np.ndarray) -> np.ndarray | None:
    """The step column as int64 when every present cell is a whole finite number, else None."""
    every = bool(present.all())
    vals = values if every else values[present]
    if len(vals) == 0 or not np.all(np.isfinite(vals)) or not np.all(vals == np.round(vals)):
        return None
    if every:  # a step on every row (the usual table): no gather and scatter
        return vals.astype(np.int64)
    out = np.zeros(len(values), dtype=np.int64)
    out[present] = vals.astype(np.int64)
    return out


def present_in(values: np.ndarray, present: np.ndarray | None) -> np.ndarray:
    """A column's present mask: ``present``, or where ``values`` holds a number when it is None (a
    float column pandas parsed: its NaNs are its empty cells, see :func:`column_values`)."""
    return present if present is not None else ~np.isnan(values)


def wide_to_scalars(
    columns: dict[str, tuple[np.ndarray, np.ndarray | None]],
    steps: np.ndarray,
    wall_times: np.ndarray | None = None,
) -> pd.DataFrame:
    """Wide columns ``{tag: (values, present)}`` sharing one step column -> long scalars.

    Only cells marked present become points (a sparse row logs only some tags); a mask of None
    is :func:`present_in`'s, made a block at a time (no mask the size of the column is held).
    """
    names = list(columns)
    # Gathered a block of rows at a time, straight into place: the index array is the block's
    # size, never the column's, and a block logged on every row is copied as it is. The blocks are
    # independent (each knows where its points go): a large table's are gathered on every core.
    blocks = []
    counts = np.zeros(len(names), dtype=np.int64)
    at = 0
    for i, name in enumerate(names):
        col, present = columns[name]
        for lo in range(0, len(col), GATHER_ROWS):
            hi = lo + GATHER_ROWS
            n = int(np.count_nonzero(present_in(col[lo:hi], None if present is None else present[lo:hi])))
            if n:
                blocks.append((col, present, lo, at, n))
            at += n
            counts[i] += n
    total = at
    if total == 0:
        return empty_scalars()
    # The long columns are filled tag by tag in place: no per-tag pieces to concatenate and no
    # row index over every point (a 1M-row table would hold ~50 MB more at its peak).
    values = np.empty(total, dtype=np.float64)
    step_col = np.empty(total, dtype=np.int64)
    wall_col = np.empty(total, dtype=np.float64)  # NaN (no clock) filled by the gather below

    def gather(block: tuple[np.ndarray, np.ndarray, int, int, int]) -> None:
        col, present, lo, at, n = block
        hi, end = lo + GATHER_ROWS, at + n
        if wall_times is None:
            wall_col[at:end] = np.nan
        if n == len(col[lo:hi]):
            values[at:end] = col[lo:hi]
            step_col[at:end] = steps[lo:hi]
            if wall_times is not None:
                wall_col[at:end] = wall_times[lo:hi]
            return
        rows = np.flatnonzero(present_in(col[lo:hi], None if present is None else present[lo:hi]))
        np.take(col[lo:hi], rows, out=values[at:end])
        np.take(steps[lo:hi], rows, out=step_col[at:end])
        if wall_times is not None:
            np.take(wall_times[lo:hi], rows, out=wall_col[at:end])

    workers = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                  MAX_GATHER_THREADS)
    if total >= PARALLEL_GATHER_POINTS and workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:  # numpy's take and copies release the GIL
            for _ in pool.map(gather, blocks):
                pass
    else:
        for block in blocks:
            gather(block)
    keep = [i for i, n in enumerate(counts) if n]
    code_type = np.int8 if len(keep) < 128 else np.int16 if len(keep) < 32768 else np.int32
    # categories are only the tags that have points
    codes = np.repeat(np.arange(len(keep), dtype=code_type), counts[keep])
    names = [names[i] for i in keep]
    # Every column is a fresh array of the schema's dtype: the frame takes them as they are
    # (make_scalars would copy each once more; a million-row table spends a fifth of its
    # conversion time there).
    return pd.DataFrame(
        {
            "tag": pd.Categorical.from_codes(codes, categories=names, validate=False),
            "step": step_col,
            "wall_time": wall_col,
            "value": values,
        },
        copy=False,
    )


def wide_to_scalars_appended(
    columns: dict[str, tuple[np.ndarray, np.ndarray | None]],
    steps: np.ndarray,
    wall_times: np.ndarray | None,
    prior: pd.DataFrame,
    prior_counts: dict[str, int],
    rows: int,
) -> pd.DataFrame:
    """:func:`wide_to_scalars` of a table whose first ``rows`` rows gave ``prior`` (``prior_counts``
    points per column, in the order of ``columns``): each tag's block of ``prior`` is copied as it
    is and only the later rows' cells are gathered, so the work is a copy plus the appended rows."""
    names = list(columns)
    pieces: tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]] = ([], [], [])
    counts = []
    old_values, old_steps, old_walls = (prior[c].to_numpy() for c in ("value", "step", "wall_time"))
    at = 0
    for name in names:
        col, present = columns[name]
        n_old = prior_counts.get(name, 0)
        new_rows = np.flatnonzero(present_in(col[rows:], None if present is None else present[rows:])) + rows
        pieces[0].extend((old_values[at:at + n_old], col[new_rows]))
        pieces[1].extend((old_steps[at:at + n_old], steps[new_rows]))
        pieces[2].extend((old_walls[at:at + n_old],
                          wall_times[new_rows] if wall_times is not None else np.full(len(new_rows), np.nan)))
        at += n_old
        counts.append(n_old + len(new_rows))
    keep = [i for i, n in enumerate(counts) if n]
    if not keep:
        return empty_scalars()
    code_type = np.int8 if len(keep) < 128 else np.int16 if len(keep) < 32768 else np.int32
    codes = np.repeat(np.arange(len(keep), dtype=code_type), np.asarray(counts, dtype=np.int64)[keep])
    return pd.DataFrame(
        {
            "tag": pd.Categorical.from_codes(codes, categories=[names[i] for i in keep], validate=False),
            "step": np.concatenate(pieces[1]).astype(np.int64, copy=False),
            "wall_time": np.concatenate(pieces[2]).astype(np.float64, copy=False),
            "value": np.concatenate(pieces[0]).astype(np.float64, copy=False),
        },
        copy=False,
    )


def json_safe(obj: Any) -> Any:
    """``obj`` with non-finite floats spelled as strings, so ``json.dump(allow_nan=False)`` works."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        return json_safe(obj.item())
    return obj


def plain_scalar(cell: str) -> Any:
    """A table cell as int, float or text (for metadata, not curves)."""
    text = cell.strip()
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return json_safe(float(text))
    except ValueError:
        return text


class _PlainLoader(BoundedSafeLoader):
    """SafeLoader that reads unknown tags (``!!python/object:...``) as plain data.

    Lightning's ``hparams.yaml`` often pickles objects (a loss module, an optimizer) with
    python tags; ``yaml.safe_load`` refuses the whole file then. Nothing is ever constructed
    from those tags: they become the mapping, list or string they wrap.
    """


def _construct_plain(loader: _PlainLoader, suffix: str, node: Any) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_PlainLoader.add_multi_constructor("", _construct_plain)


def load_yaml_file(path: Path) -> tuple[Any, str | None]:
    """Load a YAML file safely; returns ``(data, problem)`` and never raises for bad YAML."""
    try:
        return yaml_load_file(path, _PlainLoader), None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return None, f"{path}: hyperparameters not read ({first})"

