"""CSV metric logs: PyTorch Lightning ``metrics.csv``, Keras ``CSVLogger``, generic long/wide CSV.

Three readers share one table reader (:mod:`parsers.csv_table`):

- ``lightning_csv``: Lightning's ``CSVLogger`` output (``<save_dir>/<name>/version_N/metrics.csv``
  beside ``hparams.yaml``). Rows are sparse: a training row, a validation row and a
  ``LearningRateMonitor`` row (``lr-<Optimizer>``) of the same step carry different columns;
  only filled cells become points. ``epoch`` stays a tag (role ``epoch``). No wall clock.
- ``keras_csv``: ``epoch,<metric>,...`` with the epoch as the step.
- ``csv``: long form (``tag,step,value[,wall_time]``, e.g. a tbparse export) or wide form
  (a step/epoch/iteration/global_step column plus one column per metric). Without a usable
  step column, row order is the step (with a warning). Tables that are mostly text (an index,
  a results summary) are refused as "not a training log" rather than turned into junk runs.

Logged ``nan``/``inf``/``NaN``/``Infinity`` cells are kept as values; empty cells are "no point".
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .csv_table import (
    wide_to_scalars_appended,
    Table,
    column_values,
    head_lines,
    integer_steps,
    is_number,
    json_safe,
    load_yaml_file,
    read_head,
    read_table,
    sniff_delimiter,
    split_row,
    wide_to_scalars,
)
from .errors import ParseError
from .model import Run, make_scalars
from .registry import Reader, ResumeFn, register
from .tail import resume_table

FORMAT_LIGHTNING = "lightning_csv"
FORMAT_KERAS = "keras_csv"
FORMAT_CSV = "csv"

# Step columns in order of preference (lower-cased); epoch only when nothing finer exists.
STEP_COLUMNS = ("step", "global_step", "_step", "trainer/global_step", "iteration", "iter", "it",
                "steps", "batch", "epoch", "epochs")
# Columns holding a wall clock (seconds since the epoch, or milliseconds).
WALL_COLUMNS = ("wall_time", "walltime", "wall_clock", "timestamp", "_timestamp", "unix_time")
# Long-form column names.
LONG_TAG_COLUMNS = ("tag", "metric", "name", "key", "series")
LONG_VALUE_COLUMNS = ("value", "val", "scalar")
# A column is numeric when at least this share of its filled cells are numbers: a few junk
# cells (a half-written row) do not turn a loss column into text.
NUMERIC_COLUMN_SHARE = 0.5
# A table whose numeric columns are fewer than this share of all columns is not a metric
# log (corpus/index.csv: 2 numeric columns of 8). Metric logs are almost entirely numeric.
MIN_NUMERIC_TABLE_SHARE = 0.5
# Wall-clock sanity: seconds since the epoch are past 1973 (1e8); above 1e11 they are ms.
EPOCH_SECONDS_MIN = 1e8
EPOCH_MILLISECONDS_MIN = 1e11
# File stems too generic to name a run on their own: prefix the folder name.
GENERIC_STEMS = {"metrics", "metric", "log", "logs", "training", "train", "history", "results",
                 "progress", "scalars", "export", "data"}
_VERSION_DIR = re.compile(r"^version_\d+$")
# Sniffed heads kept (per path, size and mtime): the files of the folder being loaded.
HEAD_CACHE = 256


# --------------------------------------------------------------------------- sniffing
@dataclass
class Head:
    """What the first few KB of a file say about it as a table."""

    delimiter: str
    header: list[str]
    has_header: bool
    rows: list[list[str]]

    @property
    def lower(self) -> list[str]:
        return [c.strip().lower() for c in self.header]

    @property
    def spaced(self) -> bool:
        """Whether cells start with blanks after the delimiter (``1, 2.5``): the table
        reader then skips them (it costs the C parser a quarter of its speed otherwise)."""
        return any(c[:1].isspace() for row in (self.header, *self.rows) for c in row[1:])


def sniff_head(path: Path) -> Head | None:
    """Parse the head of a delimited text file, or None when it is not one.

    Several readers sniff each file in turn (up to eight of the CSV family): the parsed
    head is kept per (path, size, mtime), so a file is sniffed once until it changes. The
    returned Head is shared: read it, never change it.
    """
    st = os.stat(path)
    return _sniff_head(str(path), st.st_size, st.st_mtime_ns)


@lru_cache(maxsize=HEAD_CACHE)
def _sniff_head(path: str, size: int, mtime_ns: int) -> Head | None:
    text = read_head(Path(path))
    if text is None:
        return None
    lines = head_lines(text)
    if not lines:
        return None
    delimiter = sniff_delimiter(lines)
    if delimiter is None:
        return None
    header = [c.strip() for c in split_row(lines[0], delimiter)]
    if len(header) < 2:
        return None
    rows = [split_row(ln, delimiter) for ln in lines[1:]]
    has_header = not all(is_number(c) for c in header if c)
    return Head(delimiter, header, has_header, rows)


def _consistent(head: Head) -> bool:
    """Most rows have the header's number of fields (a cut last row is tolerated)."""
    if not head.rows:
        return True
    same = sum(len(r) == len(head.header) for r in head.rows)
    return same >= max(1, len(head.rows) - 1)


def _looks_numeric(head: Head) -> bool:
    """At least half the columns of the sniffed rows hold numbers."""
    rows = head.rows if head.has_header else [head.header, *head.rows]
    if not rows:
        return False
    numeric = 0
    for i in range(len(head.header)):
        cells = [r[i] for r in rows if i < len(r) and r[i].strip()]
        if cells and sum(is_number(c) for c in cells) >= NUMERIC_COLUMN_SHARE * len(cells):
            numeric += 1
    return numeric >= MIN_NUMERIC_TABLE_SHARE * len(head.header)


def _is_wandb_header(head: Head) -> bool:
    return any(" - " in c or c.startswith("_step") for c in head.header)


def sniff_lightning(path: Path) -> bool:
    """A ``step`` column plus ``epoch`` or ``lr-*`` columns, from Lightning's CSVLogger."""
    head = sniff_head(path)
    if head is None or not head.has_header or _is_wandb_header(head):
        return False
    cols = set(head.lower)
    if "step" not in cols or not ("epoch" in cols or any(c.startswith("lr-") for c in cols)):
        return False
    sparse = any(any(not c.strip() for c in r) for r in head.rows)
    return path.name == "metrics.csv" or sparse or (path.parent / "hparams.yaml").is_file()


def sniff_keras(path: Path) -> bool:
    """``epoch`` first, then metric columns, every cell a number (Keras ``CSVLogger``)."""
    head = sniff_head(path)
    if head is None or not head.has_header or head.lower[0] != "epoch" or not head.rows:
        return False
    if any(c in STEP_COLUMNS for c in head.lower[1:]):
        return False
    return all(is_number(c) for r in head.rows[:20] for c in r if c.strip()) and _consistent(head)


def sniff_generic(path: Path) -> bool:
    """A delimited table: any ``.csv``/``.tsv`` (so read can say why it is no log), or a
    consistent, mostly numeric table under another name."""
    head = sniff_head(path)
    if head is None:
        return False
    if path.suffix.lower() in (".csv", ".tsv"):
        return True
    return head.has_header and _consistent(head) and _looks_numeric(head)


# --------------------------------------------------------------------------- reading
def readable_name(path: Path) -> str:
    """A run name for a file: its stem, with the folder in front when the stem is generic."""
    if path.stem.lower() in GENERIC_STEMS and path.parent.name:
        return f"{path.parent.name}/{path.stem}"
    return path.stem


def lightning_name(path: Path) -> str:
    """``<experiment>/version_N`` for ``<experiment>/lightning_logs/version_N/metrics.csv``."""
    version = path.parent
    if _VERSION_DIR.match(version.name):
        above = version.parent
        if above.name == "lightning_logs" and above.parent.name:
            above = above.parent
        return f"{above.name}/{version.name}" if above.name else version.name
    return readable_name(path)


def _load_table(path: Path, head: Head | None = None) -> tuple[Head, Table]:
    head = head or sniff_head(path)
    if head is None:
        raise ParseError(path, "not a text table (binary, not UTF-8, or no delimiter)")
    table = read_table(path, head.delimiter, header=head.has_header, skip_space=head.spaced)
    if not head.has_header:
        table.frame.columns = [f"{path.stem}_{i}" for i in range(table.frame.shape[1])]
        table.warnings.append(f"{path}: no header row; columns named {path.stem}_0, {path.stem}_1, ...")
    if table.frame.empty:
        raise ParseError(path, "no data rows (header only)")
    # pandas names an empty header cell "Unnamed: N": an index written by DataFrame.to_csv.
    unnamed = [c for c in table.frame.columns if c.startswith("Unnamed: ")]
    if unnamed:
        table.frame = table.frame.drop(columns=unnamed)
    return head, table


def _pick(columns: list[str], wanted: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[w] for w in wanted if w in lower), None)


def _clock_unit(values: np.ndarray, present: np.ndarray) -> float | None:
    """How many of a timestamp column's units make a second (1 or 1000), None if it is not a clock."""
    vals = values[present]
    if len(vals) == 0:
        return None
    median = np.nanmedian(vals)
    if median < EPOCH_SECONDS_MIN:
        return None
    return 1000.0 if median >= EPOCH_MILLISECONDS_MIN else 1.0


def _wall_clock(values: np.ndarray, present: np.ndarray) -> np.ndarray | None:
    """Seconds since the epoch from a timestamp column (ms converted), None if not a clock."""
    unit = _clock_unit(values, present)
    if unit is None:
        return None
    out = np.where(present, values, np.nan)
    return out / unit if unit != 1.0 else out


@dataclass
class WideMemo:
    """What :func:`wide_table_to_scalars` made of a table's first ``rows`` rows, for the same table
    grown by appended rows (``Table.memo``): the cells read per column, the decisions taken, the
    scalars and their points per column."""

    rows: int
    key: tuple  # the call's arguments and the table's columns: another key converts whole
    cells: dict[str, tuple[np.ndarray, np.ndarray | None, int]]  # column_values of each column (mask None:
    # not held, see wide_table_to_scalars)
    decision: tuple  # metric columns in order, step mode, clock source: the same -> only append
    scalars: pd.DataFrame
    counts: dict[str, int]


def _column_cells(frame: pd.DataFrame, memo: WideMemo | None,
                  skip: str | None = None) -> dict[str, tuple[np.ndarray, np.ndarray, int]]:
    """``column_values`` of every column but ``skip``; with a memo, only the rows after the memo's
    are converted."""
    cells = {}
    for name in frame.columns:
        if name == skip:
            continue
        col = frame[name]
        held = memo.cells.get(name) if memo is not None else None
        if held is None or held[1] is None or (pd.api.types.is_numeric_dtype(col)
                                               and not pd.api.types.is_bool_dtype(col)):
            cells[name] = column_values(col)  # a numeric column: a view and one vectorised pass
            continue
        values, present, junk = column_values(col.iloc[memo.rows:])
        cells[name] = (np.concatenate([held[0], values]), np.concatenate([held[1], present]), held[2] + junk)
    return cells


def wide_table_to_scalars(
    table: Table,
    step_col: str | None,
    *,
    wall_col: str | None = None,
    wall_times: np.ndarray | None = None,
    require_numeric_table: bool = True,
) -> tuple[pd.DataFrame, dict[str, Any], list[str]]:
    """Turn a wide table into scalars: ``(scalars, meta, warnings)``.

    Every column except the step (and wall-clock) column is a candidate tag; text columns
    are skipped with a warning; rows without a step are dropped with a warning.
    ``wall_times`` (one per row) is used when no ``wall_col`` gives a clock.

    A table whose ``memo`` holds the conversion of its first rows (a growing file's held table)
    converts only the rows after them when the decisions (metric columns, step and clock source)
    stay the same; ``table.memo`` is then set for the table as it is now.
    """
    path, frame = table.path, table.frame
    key = (step_col, wall_col, wall_times is None, require_numeric_table, tuple(frame.columns))
    memo = table.memo if isinstance(table.memo, WideMemo) and table.memo.key == key \
        and table.memo.rows <= len(frame) else None
    warnings = list(table.warnings)
    meta: dict[str, Any] = {}
    # A step column pandas read as integers (a step on every row: the usual table) is the steps
    # as it is: no float copy of it, no integer copy of that.
    whole_steps = frame[step_col] if step_col is not None and step_col in frame.columns else None
    if whole_steps is not None and whole_steps.dtype.kind == "i":
        whole_steps = whole_steps.to_numpy(dtype=np.int64, copy=False)
    else:
        whole_steps = None
    cells = _column_cells(frame, memo, skip=step_col if whole_steps is not None else None)
    columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    text_cols: list[str] = []
    junk_cells = 0
    for name in frame.columns:
        if name not in cells:
            continue
        values, present, junk = cells[name]
        numbers = int(np.count_nonzero(present))
        filled = numbers + junk
        if filled and numbers < NUMERIC_COLUMN_SHARE * filled:
            text_cols.append(name)
            continue
        junk_cells += junk
        columns[name] = (values, present)
    numeric = len(columns) + (whole_steps is not None)
    if require_numeric_table and numeric < MIN_NUMERIC_TABLE_SHARE * frame.shape[1]:
        raise ParseError(path, "not a training log: mostly text columns (" + ", ".join(text_cols[:6]) + ")")
    if text_cols:
        warnings.append(f"{path}: non-numeric columns skipped: {', '.join(text_cols)}")
    if junk_cells:
        warnings.append(f"{path}: {junk_cells} non-numeric cells in numeric columns skipped")

    n = len(frame)
    steps = None
    if whole_steps is not None:
        steps = whole_steps
        meta["step_column"] = step_col
    elif step_col is not None and step_col in columns:
        s_values, s_present = columns.pop(step_col)
        steps = integer_steps(s_values, s_present)
        if steps is None:
            warnings.append(f"{path}: column {step_col!r} has non-integer values; row order used as step")
            columns[step_col] = (s_values, s_present)
        else:
            del s_values  # the float copy of the step column: not needed next to ``steps``
            meta["step_column"] = step_col
            missing = ~s_present
            if missing.any():
                warnings.append(f"{path}: {int(missing.sum())} rows without a {step_col!r} value skipped")
                columns = {k: (v, p & s_present) for k, (v, p) in columns.items()}
    elif step_col is None:
        warnings.append(f"{path}: no step column (step, epoch, iteration, ...); row order used as step")
    if steps is None:
        steps = np.arange(n, dtype=np.int64)
        meta["step_column"] = None

    wall = wall_times
    unit = None
    if wall_col is not None and wall_col in columns:
        unit = _clock_unit(*columns[wall_col])
        if unit is not None:
            values, present = columns.pop(wall_col)
            wall = np.where(present, values, np.nan)
            wall = wall / unit if unit != 1.0 else wall
            meta["wall_time_column"] = wall_col
    if not columns:
        raise ParseError(path, "not a training log: no numeric metric columns")
    decision = (tuple(columns), meta["step_column"], unit)
    counts = {name: int(np.count_nonzero(present)) for name, (_values, present) in columns.items()}
    # A float column pandas parsed is present where it holds a number: its mask is let go (None:
    # made again a block at a time where needed), so no mask is held beside the scalars being
    # built (a byte a row and column at the peak). A mask narrowed to rows with a step is kept.
    parsed = {name for name, (_values, present, _junk) in cells.items()
              if frame[name].dtype == np.float64 and (name not in columns or columns[name][1] is present)}
    cells = {name: (c[0], None, c[2]) if name in parsed else c for name, c in cells.items()}
    columns = {name: (v, None if name in parsed else p) for name, (v, p) in columns.items()}
    values = present = None  # nor the loops' last one
    if memo is not None and memo.decision == decision:
        scalars = wide_to_scalars_appended(columns, steps, wall, memo.scalars, memo.counts, memo.rows)
    else:
        scalars = wide_to_scalars(columns, steps, wall)
    table.memo = WideMemo(n, key, cells, decision, scalars, counts)
    return scalars, meta, warnings


def _long_form(frame: pd.DataFrame) -> tuple[str, str, str, str | None] | None:
    """``(tag, step, value, wall)`` column names when the table is in long form."""
    cols = list(frame.columns)
    tag, step, value = _pick(cols, LONG_TAG_COLUMNS), _pick(cols, STEP_COLUMNS), _pick(cols, LONG_VALUE_COLUMNS)
    if tag is None or step is None or value is None:
        return None
    return tag, step, value, _pick(cols, WALL_COLUMNS)


def _read_long(table: Table, tag_col: str, step_col: str, value_col: str, wall_col: str | None):
    path, frame = table.path, table.frame
    warnings = list(table.warnings)
    values, v_present, v_junk = column_values(frame[value_col])
    s_values, s_present, _ = column_values(frame[step_col])
    tags = frame[tag_col]
    ok = v_present & s_present & tags.notna().to_numpy()
    if (~ok).any():
        warnings.append(f"{path}: {int((~ok).sum())} rows without a tag, step or numeric value skipped")
    steps = integer_steps(s_values, ok)
    if steps is None:
        raise ParseError(path, f"column {step_col!r} is not a whole-number step")
    wall = None
    if wall_col is not None:
        w_values, w_present, _ = column_values(frame[wall_col])
        wall = np.where(w_present, w_values, np.nan)[ok]
    idx = np.flatnonzero(ok)
    scalars = make_scalars(pd.Categorical(tags.to_numpy()[idx]), steps[idx], wall, values[idx])
    return scalars, {"layout": "long", "step_column": step_col}, warnings


# A column named by a hyperparameter and its value (``learning_rate_0.005``, ``n_layers_2.0``;
# pandas adds ``.1``, ``.2`` to repeated names): in a table of only such columns sharing the
# name, each column is one run of a sweep over that hyperparameter.
_SWEPT_COLUMN = re.compile(r"^(?P<param>[A-Za-z][A-Za-z_\-]*?)[_\-=]?(?P<value>\d+(?:\.\d+)?(?:e-?\d+)?)(?:\.\d+)?$")
# A sweep needs at least two runs.
MIN_SWEPT_COLUMNS = 2


def swept_parameter(tags: list[str]) -> str | None:
    """The hyperparameter every column is named by (each column then is a run), or None."""
    if len(tags) < MIN_SWEPT_COLUMNS:
        return None
    params = set()
    for tag in tags:
        m = _SWEPT_COLUMN.match(tag)
        if m is None:
            return None
        params.add(m["param"].rstrip("_-="))
    return params.pop() if len(params) == 1 else None


def _falls(values: np.ndarray) -> bool:
    """The curve ends below where it started (its first points against its last tenth)."""
    v = values[np.isfinite(values)]
    if len(v) < 2:
        return False
    return float(np.median(v[-max(len(v) // 10, 1):])) < float(np.median(v[:3]))


def _split_columns_into_runs(path: Path, scalars: pd.DataFrame, tags: list[str], meta: dict[str, Any],
                             warnings: list[str], param: str) -> list[Run]:
    """One run per column of a table whose columns are the runs of a sweep over ``param``."""
    from .roles import looks_like_loss

    warnings = warnings + [
        f"{path}: every column is named by {param!r} and a value: read as {len(tags)} runs of a "
        f"sweep, one per column (curves shaped like a loss are taken as each run's training loss)"]
    parts = {}
    for tag in tags:
        part = scalars[scalars["tag"] == tag].reset_index(drop=True)
        part["tag"] = part["tag"].cat.remove_unused_categories()
        parts[tag] = part
    # The columns of one table measure one quantity: it is a loss when most of them look like one
    # (a run whose LR was too high may drop at once and stay flat, which alone proves little).
    curves = [p.sort_values("step", kind="stable")["value"].to_numpy() for p in parts.values()]
    role = "train_loss" if any(map(looks_like_loss, curves)) and all(map(_falls, curves)) else "other"
    return [Run(name=tag, path=str(path), format=FORMAT_CSV, scalars=part,
                meta=dict(meta, swept_parameter=param, column=tag),
                warnings=warnings if i == 0 else [], roles={tag: role}, files=[str(path)])
            for i, (tag, part) in enumerate(parts.items())]


Loaded = tuple[Head, Table]  # a file's sniffed head and its table, as _load_table reads them


def read_generic(path: Path, loaded: Loaded | None = None) -> list[Run]:
    """Read a long- or wide-form metric CSV into one :class:`Run` (one per column when every
    column is a run of a hyperparameter sweep, see :func:`swept_parameter`). ``loaded``: the
    table already read (``parsers.tail.resume_table`` holds it and adds appended lines)."""
    path = Path(path)
    head, table = loaded or _load_table(path)
    long = _long_form(table.frame)
    if long is not None:
        scalars, meta, warnings = _read_long(table, *long)
    else:
        step_col = _pick(list(table.frame.columns), STEP_COLUMNS)
        wall_col = _pick(list(table.frame.columns), WALL_COLUMNS)
        scalars, meta, warnings = wide_table_to_scalars(table, step_col, wall_col=wall_col)
        meta["layout"] = "wide"
        if step_col is not None and step_col.lower() in ("epoch", "epochs") and meta.get("step_column"):
            meta["step_unit"] = "epoch"
    meta["delimiter"] = head.delimiter
    meta["source_file"] = str(path)
    tags = [str(t) for t in pd.unique(scalars["tag"].cat.codes.map(dict(enumerate(scalars["tag"].cat.categories))))]
    param = swept_parameter(tags) if meta.get("layout") == "wide" else None
    if param is not None:
        return _split_columns_into_runs(path, scalars, tags, meta, warnings, param)
    return [Run(name=readable_name(path), path=str(path), format=FORMAT_CSV, scalars=scalars,
                meta=meta, warnings=warnings, files=[str(path)])]


def read_keras(path: Path, loaded: Loaded | None = None) -> list[Run]:
    """Read a Keras ``CSVLogger`` file: one point per epoch and column, epoch as step."""
    path = Path(path)
    _head, table = loaded or _load_table(path)
    epoch_col = table.frame.columns[0]
    scalars, meta, warnings = wide_table_to_scalars(table, epoch_col)
    del table  # the parsed table goes before the run is built beside its scalars (a lower peak)
    meta.update(step_unit="epoch", source_file=str(path))
    return [Run(name=readable_name(path), path=str(path), format=FORMAT_KERAS, scalars=scalars,
                meta=meta, warnings=warnings, files=[str(path)])]


def read_lightning(path: Path, loaded: Loaded | None = None) -> list[Run]:
    """Read a Lightning ``metrics.csv`` (plus its sibling ``hparams.yaml``) into one :class:`Run`."""
    path = Path(path)
    _head, table = loaded or _load_table(path)
    step_col = _pick(list(table.frame.columns), ("step",))
    scalars, meta, warnings = wide_table_to_scalars(table, step_col, require_numeric_table=False)
    del table  # the parsed table goes before the run is built beside its scalars (a lower peak)
    meta["source_file"] = str(path)
    files = [str(path)]
    hparams_path = path.parent / "hparams.yaml"
    if hparams_path.is_file():
        hparams, problem = load_yaml_file(hparams_path)
        if problem:
            warnings.append(problem)
        elif isinstance(hparams, dict):
            meta["hparams"] = json_safe(hparams)
        files.append(str(hparams_path))
    return [Run(name=lightning_name(path), path=str(path), format=FORMAT_LIGHTNING, scalars=scalars,
                meta=meta, warnings=warnings, files=files)]


def _resumer(read: Callable[[Path, Loaded | None], list[Run]]) -> ResumeFn:
    """``Reader.resume`` for a table reader: a growing file's appended lines parsed alone."""
    return lambda path, state: resume_table(path, state, _load_table, lambda p, h, t: read(p, (h, t)))


LIGHTNING_READER = register(Reader(
    format=FORMAT_LIGHTNING, sniff=sniff_lightning, read=read_lightning, resume=_resumer(read_lightning), priority=40,
    description="PyTorch Lightning CSVLogger metrics.csv (+ hparams.yaml)",
))
KERAS_READER = register(Reader(
    format=FORMAT_KERAS, sniff=sniff_keras, read=read_keras, resume=_resumer(read_keras), priority=45,
    description="Keras CSVLogger (epoch,<metrics>...)",
))
CSV_READER = register(Reader(
    format=FORMAT_CSV, sniff=sniff_generic, read=read_generic, resume=_resumer(read_generic), priority=150,
    description="generic metric CSV: long (tag,step,value) or wide (step + one column per metric)",
))
