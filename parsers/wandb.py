"""Weights & Biases exports: chart panel CSV, runs-table CSV, and history CSV/JSON/JSONL.

- ``wandb_csv`` (a chart's "Export panel data"): ``"Step","<run> - <key>","<run> - <key>__MIN",
  "<run> - <key>__MAX"`` with several runs side by side and empty cells where a run has no
  point. One :class:`Run` per run name; its path is the file's *folder*, so the several panel
  files of one folder (one chart each) merge into one run per run name (:func:`merge_panels`).
  ``__MIN``/``__MAX`` are the band of a downsampled (bucketed) point: kept in
  ``meta["bands"][tag]`` (a DataFrame ``step, min, max``), never as separate tags.
- ``wandb_runs_table`` (the runs table's "Export CSV", or a DataFrame of ``run.summary`` /
  ``run.config`` saved by the public API): one row per run, read as metadata and summary
  (``meta["config"]``, ``meta["summary"]``, ``meta["run_info"]``) with no curves.
- ``wandb_history`` (``run.history()`` / ``scan_history()`` saved with ``to_csv``,
  ``to_json(orient="records")`` or as JSON lines): ``_step`` is the step, ``_timestamp`` the
  wall clock; ``_runtime`` goes to ``meta`` (and is the wall clock, labelled relative in
  ``meta["wall_time_relative"]``, only when ``_timestamp`` is absent). One run per file.
  ``DataFrame.to_csv`` writes NaN as an empty cell, so in CSV history a logged NaN cannot be
  told from "not logged at this step"; JSON keeps them apart (``NaN`` vs ``null``).

The offline run folder (``wandb/run-*/`` with its binary ``.wandb`` file) is read by
``parsers.wandb_offline``; its ``files/wandb-history.jsonl`` is left to that reader.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import pandas as pd

from .csv import sniff_head, wide_table_to_scalars
from .csv_table import (
    Table,
    column_values,
    integer_steps,
    json_safe,
    plain_scalar,
    read_head,
    read_table,
    wide_to_scalars,
)
from .bounded import TooComplex, json_loads, literal_eval
from .errors import ParseError
from .model import Run, concat_scalars, empty_scalars
from .registry import Reader, merged_run, register
from . import jsonl_arrow
from .tail import CUT_LINE_MESSAGE, MAX_HELD_TABLE_BYTES, SEAL_BYTES
from .roles import role_of

FORMAT_PANEL = "wandb_csv"
FORMAT_RUNS_TABLE = "wandb_runs_table"
FORMAT_HISTORY = "wandb_history"
# Bytes of JSON lines parsed per chunk: large enough that one json.loads (or one pyarrow read on
# every core) per chunk amortises the call, small enough that the chunk's dicts (~0.5 KB for a
# ~130-byte record) stay a few tens of MB.
JSONL_CHUNK_BYTES = 8 << 20

# "<run> - <key>" with an optional band suffix; the run is split at the LAST " - " because
# user-chosen run names contain " - " more often than metric keys do.
_PANEL_COLUMN = re.compile(r"^(?P<run>.*) - (?P<key>.*?)(?:__(?P<band>MIN|MAX))?$")
# Columns of the W&B runs table that describe the run itself (neither config nor summary).
RUN_INFO_COLUMNS = {
    "name", "state", "notes", "user", "tags", "created", "updated", "runtime", "sweep", "id",
    "group", "job type", "hostname", "host", "commit", "github", "gpu type", "gpu count", "end time",
    "agent", "command", "python", "os",
}
# Summary columns are told from config columns by their name: a metric-like role, a key
# with "/" (W&B panel sections) or W&B's own "_" keys are summary; anything else is config.
_SUMMARY_ROLES = {"train_loss", "val_loss", "grad_norm", "val_metric", "train_metric", "step_time", "epoch"}


# History file names that say nothing of the run (``run.history()`` saved as history.jsonl, the
# W&B client's own wandb-history.jsonl copied out of its run folder): such a run is named by its
# folder too.
GENERIC_HISTORY_STEMS = frozenset({"history", "run_history", "wandb-history", "wandb_history"})


# --------------------------------------------------------------------------- panel export

def sniff_panel(path: Path) -> bool:
    """A header whose every column after the first reads ``<run> - <key>``."""
    head = sniff_head(path)
    if head is None or not head.has_header or len(head.header) < 2:
        return False
    return all(_PANEL_COLUMN.match(c) for c in head.header[1:])


def read_panel(path: Path) -> list[Run]:
    """One panel export file -> one Run per run name (path = the file's folder)."""
    path = Path(path)
    head = sniff_head(path)
    if head is None:
        raise ParseError(path, "not a text table")
    table = read_table(path, head.delimiter, skip_space=head.spaced)
    frame = table.frame
    if frame.empty:
        raise ParseError(path, "no data rows (header only)")
    x_col = frame.columns[0]
    x_values, x_present, _ = column_values(frame[x_col])
    warnings = list(table.warnings)
    steps = integer_steps(x_values, x_present)
    if steps is None:
        warnings.append(f"{path}: x axis {x_col!r} is not a whole-number step; row order used as step")
        steps, x_present = np.arange(len(frame), dtype=np.int64), np.ones(len(frame), dtype=bool)
    elif not x_present.all():
        warnings.append(f"{path}: {int((~x_present).sum())} rows without a {x_col!r} value skipped")

    per_run: dict[str, dict[str, dict[str, str]]] = {}
    for col in frame.columns[1:]:
        m = _PANEL_COLUMN.match(col)
        if m is None:
            continue
        per_run.setdefault(m["run"], {}).setdefault(m["key"], {})[m["band"] or "value"] = col

    runs = []
    for run_name, keys in per_run.items():
        columns: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        bands: dict[str, pd.DataFrame] = {}
        junk = 0
        for key, cols in keys.items():
            if "value" not in cols:
                continue
            values, present, bad = column_values(frame[cols["value"]])
            junk += bad
            present &= x_present
            columns[key] = (values, present)
            if "MIN" in cols and "MAX" in cols:
                idx = np.flatnonzero(present)
                lo = column_values(frame[cols["MIN"]])[0][idx]
                hi = column_values(frame[cols["MAX"]])[0][idx]
                bands[key] = pd.DataFrame({"step": steps[idx], "min": lo, "max": hi})
        if junk:
            warnings.append(f"{path}: {junk} non-numeric cells of run {run_name!r} skipped")
        scalars = wide_to_scalars(columns, steps)
        downsampled = {k: bool(((b["min"] != b["max"]) & b["min"].notna()).any()) for k, b in bands.items()}
        meta = {
            "x_axis": x_col,
            "source_files": [path.name],
            "bands": bands,
            "downsampled": downsampled,
        }
        runs.append(Run(name=run_name, path=str(path.parent), format=FORMAT_PANEL, scalars=scalars,
                        meta=meta, warnings=list(warnings), files=[str(path)]))
    if not runs:
        raise ParseError(path, "no '<run> - <metric>' columns")
    return runs


def merge_panels(parts: list[Run]) -> Run:
    """Join the panel files of one run (one chart each): points, bands and file lists unioned."""
    first = parts[0]
    scalars = concat_scalars(p.scalars for p in parts)
    if len(scalars):
        # The same key exported in two charts gives the same points twice.
        scalars = scalars.drop_duplicates(ignore_index=True)
    bands: dict[str, pd.DataFrame] = {}
    meta: dict[str, Any] = {"x_axis": first.meta.get("x_axis"), "source_files": [], "downsampled": {}}
    for part in parts:
        for key, band in part.meta.get("bands", {}).items():
            bands[key] = band if key not in bands else pd.concat([bands[key], band]).drop_duplicates(
                ignore_index=True)
        meta["source_files"].extend(f for f in part.meta.get("source_files", []) if f not in meta["source_files"])
        for key, flag in part.meta.get("downsampled", {}).items():
            meta["downsampled"][key] = meta["downsampled"].get(key, False) or flag
    meta["bands"] = bands
    return merged_run(first, parts, scalars, meta, [])


# --------------------------------------------------------------------------- runs table
def sniff_runs_table(path: Path) -> bool:
    """The runs table export (``Name``, ``State`` ...) or a saved summary/config DataFrame."""
    head = sniff_head(path)
    if head is None or not head.has_header:
        return False
    cols = set(head.lower)
    return {"name", "state"} <= cols or {"name", "summary", "config"} <= cols


def _literal_dict(cell: Any) -> dict | None:
    if not isinstance(cell, str) or not cell.strip().startswith("{"):
        return None
    for parse in (json_loads, literal_eval):  # literal_eval evaluates literals only
        try:
            value = parse(cell)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    return None


def read_runs_table(path: Path) -> list[Run]:
    """One Run per row, with config, summary and run info in ``meta`` and no scalars."""
    path = Path(path)
    head = sniff_head(path)
    if head is None:
        raise ParseError(path, "not a text table")
    table = read_table(path, head.delimiter, as_text=True)
    frame = table.frame.drop(columns=[c for c in table.frame.columns if c.startswith("Unnamed: ")])
    if frame.empty:
        raise ParseError(path, "no data rows (header only)")
    lower = {c.lower(): c for c in frame.columns}
    name_col = lower.get("name")
    runs: list[Run] = []
    seen: dict[str, int] = {}
    records = frame.to_dict(orient="records")  # one dict per run: tables have few rows
    for row_no, row in enumerate(records, start=2):
        info: dict[str, Any] = {}
        config: dict[str, Any] = {}
        summary: dict[str, Any] = {}
        for col, cell in row.items():
            if cell is None or (isinstance(cell, float) and np.isnan(cell)):
                continue
            key = col.lower()
            as_dict = _literal_dict(cell) if key in ("summary", "config") else None
            if as_dict is not None:
                (summary if key == "summary" else config).update(as_dict)
            elif key in RUN_INFO_COLUMNS:
                info[col] = plain_scalar(cell)
            elif col.startswith("_") or "/" in col or role_of(col) in _SUMMARY_ROLES:
                summary[col] = plain_scalar(cell)
            else:
                config[col] = plain_scalar(cell)
        name = str(row.get(name_col) or f"row {row_no}") if name_col else f"row {row_no}"
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:  # W&B display names are not unique; keep every row a run
            name = f"{name} (row {row_no})"
        meta = {"run_info": json_safe(info), "config": json_safe(config), "summary": json_safe(summary),
                "source_file": str(path)}
        runtime = info.get("Runtime", info.get("runtime"))
        if isinstance(runtime, (int, float)):
            meta["runtime_s"] = float(runtime)
        runs.append(Run(name=name, path=str(path), format=FORMAT_RUNS_TABLE, scalars=empty_scalars(),
                        meta=meta, warnings=list(table.warnings), files=[str(path)]))
    return runs


# --------------------------------------------------------------------------- history
def _inside_run_folder(path: Path) -> bool:
    """A file of a ``wandb/run-*/files/`` folder: the offline reader's business."""
    parent = path.parent
    return parent.name == "files" and (
        (parent / "wandb-metadata.json").exists() or (parent / "wandb-summary.json").exists()
        or parent.parent.name.startswith(("run-", "offline-run-"))
    )


def _history_json_kind(path: Path, head: str) -> str | None:
    text = head.lstrip()
    if text.startswith("[") and '"_step"' in text[:4096]:
        return "records"
    if text.startswith("{"):
        first = text.split("\n", 1)[0]
        try:
            record = json_loads(first, parse_constant=str)
        except ValueError:
            return None
        if isinstance(record, dict) and "_step" in record and "\n" in text.strip():
            return "lines"
    return None


def sniff_history(path: Path) -> bool:
    """History saved from the public API: a ``_step`` column (CSV) or key (JSON records/lines)."""
    if path.name in ("wandb-summary.json", "wandb-metadata.json") or _inside_run_folder(path):
        return False
    text = read_head(path)
    if text is None:
        return False
    if _history_json_kind(path, text):
        return True
    head = sniff_head(path)
    return head is not None and head.has_header and "_step" in head.lower and (
        "_runtime" in head.lower or "_timestamp" in head.lower)


def _jsonl_chunk(chunk: bytes, first_line: int, bad: list[int], deep: list[int]) -> pd.DataFrame | None:
    """The records of a run of complete JSON lines as a frame (None when none is a record).

    The whole chunk is parsed by one ``json.loads`` of the lines made into an array (one decode,
    the C scanner, no per-line Python); only a chunk with a bad or blank line is parsed line by
    line, to skip exactly the bad ones and say which.
    """
    text = chunk.decode("utf-8")
    body = text[:-1] if text.endswith("\n") else text
    if not body.strip():
        return None
    try:
        records = json.loads("[" + body.replace("\n", ",") + "]", parse_constant=str)
        if all(isinstance(r, dict) for r in records):
            return pd.DataFrame.from_records(records)
    except (ValueError, RecursionError):  # a bad, blank or too deeply nested line: find it below
        pass
    lines = body.split("\n")
    records = []
    for offset, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            record = json_loads(line, parse_constant=str)
        except TooComplex:
            deep.append(first_line + offset)
            continue
        except ValueError:
            bad.append(first_line + offset)
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad.append(first_line + offset)
    return pd.DataFrame.from_records(records) if records else None


def _line_notes(path: Path, bad: list[int], deep: list[int]) -> list[str]:
    """What a JSON-lines history says about the lines it skipped."""
    notes = []
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        notes.append(f"{path}: line {bad[0]} is not a JSON object, skipped{more}")
    if deep:
        more = f" and {len(deep) - 1} more" if len(deep) > 1 else ""
        notes.append(f"{path}: line {deep[0]} is nested too deeply to read, skipped{more}")
    return notes


def _concat_records(frames: list[pd.DataFrame]) -> pd.DataFrame | None:
    frames = [f for f in frames if f is not None]
    if not frames:
        return None
    return frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True, sort=False)


def _last_record(line: str) -> pd.DataFrame | None:
    """A last line without its line end: one record when it is a whole JSON object (an export
    that ends without a newline), None while it is still being written."""
    try:
        record = json_loads(line, parse_constant=str)
    except (ValueError, TooComplex):
        return None
    return pd.DataFrame.from_records([record]) if isinstance(record, dict) else None


@dataclass
class HistoryLines:
    """A JSON-lines history read up to ``end`` (just past its last ``\n``): the records parsed so
    far, so a later look parses only the lines appended since (``Reader.resume``)."""

    path: Path
    frame: pd.DataFrame | None  # every record of the complete lines so far
    lines: int  # complete lines read (the next line's number is lines + 1)
    bad: list[int]
    deep: list[int]
    end: int
    head: bytes  # the file's first bytes and the bytes just before ``end``: a file rewritten in
    seal: bytes  # place no longer holds them there
    trailing: str  # the text after ``end`` (a line being written, or an export's last line)
    start: int = 0  # where the read that made this state began (0: the whole file)
    memo: Any = None  # what converting the held records gave (parsers.csv.WideMemo)

    def records(self) -> tuple[pd.DataFrame, list[str]]:
        """The records a whole read of the file as it is gives, and its notes about skipped lines."""
        last = None
        notes = _line_notes(self.path, self.bad, self.deep)
        if self.trailing.strip():
            last = _last_record(self.trailing)
            if last is None:
                notes.append(f"{self.path}: {CUT_LINE_MESSAGE}")
        frame = _concat_records([self.frame, last])
        if frame is None:
            raise ParseError(self.path, "no history records")
        return frame, notes


def _history_lines(path: Path, held: HistoryLines | None, fh: BinaryIO, base: int) -> HistoryLines:
    """``held`` (None: nothing read yet) with the complete lines that ``fh`` (the file, at byte
    ``base``) holds parsed, a chunk of about :data:`JSONL_CHUNK_BYTES` at a time (bounded memory:
    a chunk's parse lives only until its frame is built); the text after the last line end waits
    for it. A chunk is parsed by pyarrow on every core when it is installed and reads the chunk
    exactly (:mod:`parsers.jsonl_arrow`), else line by line."""
    frames = [held.frame] if held is not None else []
    bad = list(held.bad) if held is not None else []
    deep = list(held.deep) if held is not None else []
    lines = held.lines if held is not None else 0
    head, seal = (held.head, held.seal) if held is not None else (b"", b"")
    end, rest = base, b""
    while True:
        block = fh.read(JSONL_CHUNK_BYTES)
        if not block:
            break
        data = rest + block if rest else block
        cut = data.rfind(b"\n") + 1
        chunk, rest = data[:cut], data[cut:]
        if not chunk:
            continue  # a line longer than a chunk: read on to its end
        frame = jsonl_arrow.read_records(chunk)
        if frame is None:
            frame = _jsonl_chunk(chunk, lines + 1, bad, deep)
        frames.append(frame)
        head, seal = (head + chunk[:SEAL_BYTES])[:SEAL_BYTES], (seal + chunk[-SEAL_BYTES:])[-SEAL_BYTES:]
        lines += chunk.count(b"\n")
        end += len(chunk)
    jsonl_arrow.release_memory()
    return HistoryLines(path=path, frame=_concat_records(frames), lines=lines, bad=bad, deep=deep, end=end,
                        head=head, seal=seal, trailing=rest.decode("utf-8", errors="replace"), start=base,
                        memo=held.memo if held is not None else None)


def _history_lines_on(state: HistoryLines) -> HistoryLines | None:
    """``state`` with the lines appended since parsed; None when only a whole read is exact (the
    bytes at the start or before the read position changed: rewritten in place)."""
    with open(state.path, "rb") as fh:
        if fh.read(len(state.head)) != state.head:
            return None
        fh.seek(state.end - len(state.seal))
        if fh.read(len(state.seal)) != state.seal:
            return None
        return _history_lines(state.path, state, fh, state.end)


def _json_frame(path: Path, kind: str, warnings: list[str]) -> pd.DataFrame:
    """History records as a frame; logged ``NaN``/``Infinity`` stay text so they count as points."""
    with open(path, "r", encoding="utf-8") as fh:
        if kind == "records":
            try:
                records = json_loads(fh.read(), parse_constant=str)
            except json.JSONDecodeError as exc:
                raise ParseError(path, f"not valid JSON: {exc.msg}", location=f"line {exc.lineno}") from None
            except TooComplex as exc:
                raise ParseError(path, str(exc)) from None
            if not isinstance(records, list):
                raise ParseError(path, "expected a JSON list of history records")
            bad = [i for i, r in enumerate(records) if not isinstance(r, dict)]
            if bad:
                warnings.append(f"{path}: record {bad[0]} is not an object; {len(bad)} such records skipped")
                records = [r for r in records if isinstance(r, dict)]
        else:
            raise ValueError(kind)
    if not records:
        raise ParseError(path, "no history records")
    return pd.DataFrame.from_records(records)


def read_history(path: Path) -> list[Run]:
    """One history export (CSV, JSON records or JSON lines) -> one Run."""
    return resume_history(path, None)[0]


def resume_history(path: Path, state: HistoryLines | None) -> tuple[list[Run], HistoryLines | None]:
    """Reader entry point for a history read before: a JSON-lines history parses only the lines
    appended since ``state`` and adds their records to the ones it holds; the run is then made
    from all of them exactly as a whole read makes it (``state`` None: the whole file). CSV and
    JSON-records exports are read whole (state None: nothing to resume)."""
    path = Path(path)
    if state is not None:
        state = _history_lines_on(state)
    if state is None:
        text = read_head(path)
        if text is None:
            raise ParseError(path, "not a UTF-8 text file")
        kind = _history_json_kind(path, text)
        if kind == "lines":
            with open(path, "rb") as fh:
                state = _history_lines(path, None, fh, 0)
    warnings: list[str] = []
    if state is not None:
        frame, warnings = state.records()
        table = Table(path=path, frame=frame, memo=state.memo)
        kind = "lines"
        if state.frame is not None and int(state.frame.memory_usage(index=False).sum()) > MAX_HELD_TABLE_BYTES:
            state = None  # not held beside the run: read whole on each look
    elif kind:
        table = Table(path=path, frame=_json_frame(path, kind, warnings))
    else:
        head = sniff_head(path)
        if head is None:
            raise ParseError(path, "not a text table")
        table = read_table(path, head.delimiter, skip_space=head.spaced)
        table.frame = table.frame.drop(columns=[c for c in table.frame.columns if c.startswith("Unnamed: ")])
        if table.frame.empty:
            raise ParseError(path, "no data rows (header only)")
    table.warnings = warnings + table.warnings
    run = _history_run(path, table, kind)
    if state is not None:  # the conversion of the held records, unless it took in a last line still unheld
        state.memo = table.memo if state.frame is not None and len(table.frame) == len(state.frame) else None
    return [run], state


def _history_run(path: Path, table: Table, kind: str | None) -> Run:
    """The run of a history table (its ``_runtime``/``_timestamp`` columns made the clock)."""
    frame = table.frame
    meta: dict[str, Any] = {"source_file": str(path), "layout": "json" if kind else "csv"}
    wall = None
    if "_runtime" in frame.columns:
        rt_values, rt_present, _ = column_values(frame["_runtime"])
        if rt_present.any():
            meta["runtime_s"] = float(np.nanmax(np.where(rt_present, rt_values, np.nan)))
        frame = frame.drop(columns=["_runtime"])
        if "_timestamp" not in frame.columns:
            wall = np.where(rt_present, rt_values, np.nan)
            meta["wall_time_relative"] = True  # seconds since the run started, not since 1970
    if "_timestamp" in frame.columns:
        ts_values, ts_present, _ = column_values(frame["_timestamp"])
        wall = np.where(ts_present, ts_values, np.nan)
        frame = frame.drop(columns=["_timestamp"])
    table.frame = frame
    step_col = "_step" if "_step" in frame.columns else None
    scalars, table_meta, warnings = wide_table_to_scalars(
        table, step_col, wall_times=wall, require_numeric_table=False)
    meta.update(table_meta)
    name = path.stem if path.stem.lower() not in GENERIC_HISTORY_STEMS else f"{path.parent.name}/{path.stem}"
    return Run(name=name, path=str(path), format=FORMAT_HISTORY, scalars=scalars, meta=meta,
               warnings=warnings, files=[str(path)])


PANEL_READER = register(Reader(
    format=FORMAT_PANEL, sniff=sniff_panel, read=read_panel, merge=merge_panels, priority=20,
    description="W&B chart 'Export panel data' CSV (Step, '<run> - <key>', __MIN/__MAX)",
))
RUNS_TABLE_READER = register(Reader(
    format=FORMAT_RUNS_TABLE, sniff=sniff_runs_table, read=read_runs_table, priority=25,
    description="W&B runs table CSV export: config and summary per run, no curves",
))
HISTORY_READER = register(Reader(
    format=FORMAT_HISTORY, sniff=sniff_history, read=read_history, resume=resume_history, priority=25,
    description="W&B run.history()/scan_history() saved as CSV, JSON records or JSON lines",
))
