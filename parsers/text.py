"""Plain-text console logs and JSON-lines metric logs.

Each line is tried against the ordered patterns of :mod:`parsers.text_patterns` (the one
place they are documented). Lines that match nothing are skipped and counted in
``run.meta["unparsed_lines"]``, never fatal. A step counter that goes back (a log appended
to by a restarted run, like detectron2's ``metrics.json`` after a resume) is recorded as
:class:`StepOverlap` and a warning; the later points win.

Recognition is by content: the first 64 KiB must hold at least :data:`MIN_SNIFF_RECORDS`
lines that carry a step and values (or are JSON/dict metric records), so random text
files are not claimed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .bounded import TooComplex
from .errors import ParseError
from .tail import CUT_LINE_MESSAGE
from .model import Run, StepOverlap, make_scalars
from .registry import Reader, register
from .text_patterns import Record, TableRows, parse_line

FORMAT = "text_log"
SNIFF_BYTES = 64 * 1024
# Three metric lines: one or two can happen by chance in any prose or source file.
MIN_SNIFF_RECORDS = 3
# Source code, configs and tables may quote log lines; they are never training logs themselves
# (tables and configs have readers of their own).
EXCLUDED_SUFFIXES = {
    ".py", ".ipynb", ".js", ".ts", ".c", ".cc", ".cpp", ".h",
    ".java", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".csv", ".tsv", ".sh",
}
# Documents: people paste console output into notes (``train_log.md``), and READMEs quote a few
# lines of it. A document is a log only when metric lines are most of its text.
DOCUMENT_SUFFIXES = {".md", ".markdown", ".rst", ".html", ".htm", ".org"}
# Share of a document's non-blank head lines that must be metric lines for it to be a log: a
# README quoting a training run has far more prose than log lines.
DOCUMENT_MIN_RECORD_SHARE = 0.5
# File and folder names that say nothing about the run: the name comes from further up.
GENERIC_NAMES = {"log", "logs", "output", "outputs", "out", "stdout", "train", "training", "metrics",
                 "files", "console", "run", "results"}
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")
_COUNTS_AS_RECORD = {"own", "count"}
# A log with at least this many step lines is a metric log: a key that a line without a step
# mentions only once in it is an aside (config dump, environment table, prose), not a metric.
MIN_STEP_LINES_FOR_ASIDES = 10
# ... "once" allowing for a config printed twice (at start-up and again when saved or resumed).
MAX_ASIDE_MENTIONS = 2
# A config-looking key (``BASE_LR``) is printed with every config dump (start, each resume):
# a handful of times. An evaluation metric in capitals (``AP50``) is printed at every evaluation.
MAX_CONFIG_MENTIONS = 8


def _head_text(path: Path) -> str | None:
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if b"\x00" in head:
        return None
    return head.decode("utf-8", errors="replace")


def sniff(path: Path) -> bool:
    """At least three step-bearing metric lines in the first 64 KiB of a text file, whatever its
    extension (``.log``, ``.out``, ``.txt``, none); in a document (``.md``) they must also be most
    of its lines."""
    suffix = path.suffix.lower()
    if suffix in EXCLUDED_SUFFIXES:
        return False
    text = _head_text(path)
    if text is None:
        return False
    document = suffix in DOCUMENT_SUFFIXES
    found = lines = 0
    for line in _LINE_SPLIT.split(text):
        if not line.strip():
            continue
        lines += 1
        try:
            record = parse_line(line)
        except TooComplex:  # one absurd line does not decide what the file is
            continue
        if record is not None and record.values and (record.attach in _COUNTS_AS_RECORD):
            found += 1
            if found >= MIN_SNIFF_RECORDS and not document:
                return True
    return document and found >= MIN_SNIFF_RECORDS and found >= DOCUMENT_MIN_RECORD_SHARE * lines


def run_name(path: Path) -> str:
    """The file's stem, or the nearest folder name that is not generic (``output``, ``files``)."""
    if path.stem.lower() not in GENERIC_NAMES:
        return path.stem
    for parent in path.parents:
        if parent.name and parent.name.lower() not in GENERIC_NAMES:
            return parent.name
    return path.stem


class _EpochAxis:
    """Turns (epoch, counter within the epoch) into one global step axis.

    The counter restarts every epoch ("Epoch [2/5], Step [100/600]"); each new epoch starts
    where the last one ended: after the written epoch length when the line gives it, else
    one typical counter increment after the last counter seen.
    """

    def __init__(self) -> None:
        self.offset = 0
        self.epoch: int | None = None
        self.last_raw: int | None = None
        self.increment: int | None = None

    def global_step(self, rec: Record) -> int:
        raw = int(rec.step or 0)
        epoch = int(rec.epoch or 0)
        if self.epoch is not None and epoch > self.epoch and self.last_raw is not None and raw <= self.last_raw:
            if rec.epoch_len:
                self.offset += rec.epoch_len * (epoch - self.epoch)
            else:
                self.offset += self.last_raw + (self.increment or 1) - raw
        elif self.last_raw is not None and raw > self.last_raw and epoch == self.epoch:
            gap = raw - self.last_raw
            self.increment = gap if self.increment is None else min(self.increment, gap)
        self.epoch, self.last_raw = epoch, raw
        return self.offset + raw


def _resolve_steps(records: Iterable[Record]) -> tuple[list[tuple[int, dict[str, float], str]], dict[str, Any]]:
    """Give every record a step; returns ``(step, values, attach)`` rows and bookkeeping."""
    rows: list[tuple[int, dict[str, float], str]] = []
    pending: list[Record] = []
    last_step: int | None = None
    count = 0
    info: dict[str, Any] = {"summary": {}, "units": {}, "counted": 0, "dropped": 0, "kinds": set()}
    epochs = _EpochAxis()
    for rec in records:
        info["kinds"].add(rec.kind)
        info["units"].update(rec.units)
        if rec.attach == "summary":
            info["summary"].update(rec.meta)
            continue
        if rec.attach == "next" or (rec.attach == "last" and last_step is None):
            pending.append(rec)
            continue
        if rec.attach == "last":
            rows.append((last_step, rec.values, "last"))
            continue
        if rec.attach == "count":
            count += 1
            info["counted"] += 1
            step = count
        elif rec.epoch is not None:  # a counter that restarts every epoch
            step = epochs.global_step(rec)
            info["epoch_relative"] = True
        else:  # own / step_only
            step = rec.step
        for p in pending:
            rows.append((step, p.values, "next"))
        pending.clear()
        last_step = step
        if rec.values:
            rows.append((step, rec.values, "own"))
    if pending:
        if last_step is None:
            info["dropped"] += len(pending)
        else:
            rows.extend((last_step, p.values, "next") for p in pending)
    return rows, info


# A config key as yacs/detectron2 and friends print them (``BASE_LR``, ``MAX_SIZE_TEST``).
_CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^[A-Z][A-Z0-9]{3,}$")
# Words of prose: a "key" holding one is a sentence around a number ("LR reduced at the 28 epoch").
_PROSE_WORDS = {"the", "a", "an", "at", "and", "of", "to", "in", "is", "for", "with", "from", "by", "on", "we"}


def _config_or_prose(key: str) -> bool:
    """A key that is a config entry or a piece of a sentence, never a logged metric."""
    return bool(_CONFIG_KEY.match(key)) or bool(set(key.lower().split()) & _PROSE_WORDS)


def _drop_asides(rows: list[tuple[int, dict[str, float], str]]) -> tuple[list[tuple[int, dict[str, float], str]], int]:
    """Drop values that lines without a step mention once or twice in a log full of step lines.

    Config dumps (``BASE_LR: 0.02``), environment tables (``CUDA Runtime 11.3``) and prose
    (``LR reduced at the 3000th iteration``) carry a number under a metric-like word once;
    a metric is logged again and again. Returns the rows kept and how many keys were dropped.
    """
    step_lines = sum(1 for _step, values, attach in rows if attach == "own" and values)
    if step_lines < MIN_STEP_LINES_FOR_ASIDES:
        return rows, 0
    mentions: dict[str, int] = {}
    for _step, values, _attach in rows:
        for key in values:
            mentions[key] = mentions.get(key, 0) + 1
    in_step_lines = {k for _step, values, attach in rows if attach == "own" for k in values}
    asides = {k for _step, values, attach in rows if attach != "own" for k in values
              if k not in in_step_lines and (mentions[k] <= MAX_ASIDE_MENTIONS
                                             or (mentions[k] <= MAX_CONFIG_MENTIONS and _config_or_prose(k)))}
    if not asides:
        return rows, 0
    kept = [(step, {k: v for k, v in values.items() if k not in asides}, attach) for step, values, attach in rows]
    return [r for r in kept if r[1] or r[2] == "own"], len(asides)


def _segments(rows: list[tuple[int, dict[str, float], str]]) -> list[int]:
    """Segment id per row: a new segment starts where the step counter goes back."""
    seg, ids = 0, []
    prev_step: int | None = None
    prev_keys: set[str] = set()
    for step, values, attach in rows:
        if attach == "own" and prev_step is not None:
            keys = set(values)
            if step < prev_step or (step == prev_step and keys & prev_keys):
                seg += 1
        if attach == "own":
            prev_step, prev_keys = step, set(values)
        ids.append(seg)
    return ids


def _supersede(df: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list[StepOverlap]]:
    """Drop points of earlier segments that a later segment logged again; report them."""
    if df.empty or df["segment"].max() == 0:
        return df, []
    starts = df.groupby("segment")["step"].min()
    # For each segment, the lowest start step of any later segment.
    later_min = starts[::-1].cummin()[::-1].shift(-1, fill_value=np.iinfo(np.int64).max)
    superseded = df["step"].to_numpy() >= later_min.reindex(df["segment"]).to_numpy()
    overlaps = []
    for seg, part in df[superseded].groupby("segment"):
        overlaps.append(
            StepOverlap(
                source=str(path),
                superseded_by=str(path),
                step_start=int(part["step"].min()),
                step_end=int(part["step"].max()),
                points=len(part),
                steps=int(part["step"].nunique()),
            )
        )
    return df[~superseded], overlaps


def read(path: Path) -> list[Run]:
    """Read one text or JSON-lines log into one :class:`Run`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise ParseError(path, "binary file, not a text log")
    lines = _LINE_SPLIT.split(raw.decode("utf-8", errors="replace"))
    cut = not raw.endswith((b"\n", b"\r")) and bool(lines[-1].strip())
    if cut:
        lines = lines[:-1]
    records: list[Record] = []
    unparsed = 0
    first_unparsed: int | None = None
    too_deep: list[int] = []
    tables = TableRows()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        table = tables.feed(line)
        if isinstance(table, Record):
            records.append(table)
            continue
        if table:
            continue
        try:
            record = parse_line(line)
        except TooComplex:
            too_deep.append(number)
            continue
        if record is None:
            unparsed += 1
            first_unparsed = first_unparsed or number
            continue
        records.append(record)

    rows, info = _resolve_steps(records)
    if not rows:
        raise ParseError(path, "no metric lines recognised")
    rows, asides = _drop_asides(rows)
    seg_ids = _segments(rows)
    tags: list[str] = []
    steps: list[int] = []
    segs: list[int] = []
    values: list[float] = []
    for (step, vals, _attach), seg in zip(rows, seg_ids):
        for tag, value in vals.items():
            tags.append(tag)
            steps.append(step)
            segs.append(seg)
            values.append(value)
    df = make_scalars(tags, steps, None, values)
    df["segment"] = np.asarray(segs, dtype=np.int64)
    df, overlaps = _supersede(df, path)
    scalars = (
        df.drop(columns="segment")
        .drop_duplicates(["tag", "step"], keep="last")
        .reset_index(drop=True)
    )
    scalars["tag"] = scalars["tag"].cat.remove_unused_categories()

    warnings: list[str] = []
    if cut:
        warnings.append(f"{path}: {CUT_LINE_MESSAGE}")
    if too_deep:
        more = f" and {len(too_deep) - 1} more" if len(too_deep) > 1 else ""
        warnings.append(f"{path}: line {too_deep[0]}{more} nested too deeply to read, skipped")
    if overlaps:
        points = sum(o.points for o in overlaps)
        warnings.append(
            f"{path}: the step counter goes back {len(overlaps)} time(s) (restarted run appended to the "
            f"same log); {points} earlier points were logged again and the later ones are kept"
        )
    meta: dict[str, Any] = {
        "unparsed_lines": unparsed,
        "asides_dropped": asides,  # keys mentioned once by lines without a step (config, prose)
        "patterns": sorted(info["kinds"]),
    }
    if first_unparsed is not None:
        meta["first_unparsed_line"] = first_unparsed
    if info["units"]:
        meta["units"] = info["units"]
    if info["summary"]:
        meta["train_summary"] = info["summary"]
        runtime = info["summary"].get("train_runtime")
        if runtime is not None:
            meta["train_runtime"] = runtime
    if info.get("epoch_relative"):
        meta["step_source"] = "epoch and a counter that restarts every epoch, joined into one axis"
    if info["counted"]:
        meta["step_source"] = "running count of logged dicts (the lines carry no step)"
    if info["dropped"]:
        warnings.append(f"{path}: {info['dropped']} metric line(s) before any step were skipped")
    return [
        Run(
            name=run_name(path),
            path=str(path),
            format=FORMAT,
            scalars=scalars,
            meta=meta,
            warnings=warnings,
            overlaps=overlaps,
            files=[str(path)],
        )
    ]


READER = register(
    Reader(
        format=FORMAT,
        sniff=sniff,
        read=read,
        priority=900,  # the most generic reader: asked last
        description="plain-text console logs and JSON-lines metric logs (see parsers.text_patterns)",
    )
)
