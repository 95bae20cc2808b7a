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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .bounded import TooComplex
from .errors import ParseError
from .model import Run, StepOverlap
from .registry import Reader, register
from .tail import CUT_LINE_MESSAGE, MAX_HELD_TABLE_BYTES, SEAL_BYTES
from .text_lines import LineParse
from .text_patterns import parse_line

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


@dataclass
class TextLogState:
    """A text log read up to ``end`` (just past its last complete line): the parse of its lines so
    far, so a later look reads only the lines appended since (``Reader.resume``)."""

    path: Path
    parse: LineParse
    end: int
    head: bytes  # the file's first bytes and the bytes just before ``end``: a file rewritten in
    seal: bytes  # place no longer holds them there
    after_cr: bool  # the last line ended in "\r": a "\n" right after it belongs to the same line end
    cut: bool  # text after ``end`` without a line end (a line being written): said until complete
    start: int = 0  # where the read that made this state began (0: the whole file)


def _advance(path: Path, parse: LineParse, data: bytes, base: int, after_cr: bool, head: bytes,
             seal: bytes) -> TextLogState:
    """The state after reading ``data`` (the file's bytes from ``base`` on): its complete lines are
    parsed; the text after the last line end waits for its line end."""
    skip = 1 if after_cr and data.startswith(b"\n") else 0  # the "\n" of a "\r\n" cut between two reads
    done = max(data.rfind(b"\n"), data.rfind(b"\r"), skip - 1) + 1
    text = data[skip:done].decode("utf-8", errors="replace")
    lines = _LINE_SPLIT.split(text)[:-1] if text else []  # the piece after the last line end is empty
    consumed = data[:done]
    return TextLogState(path=path, parse=parse.fed(lines), end=base + done, head=(head + consumed)[:SEAL_BYTES],
                        seal=(seal + consumed)[-SEAL_BYTES:],
                        after_cr=consumed.endswith(b"\r") if consumed else after_cr,
                        cut=bool(data[done:].decode("utf-8", errors="replace").strip()), start=base)


def _read_state(path: Path) -> TextLogState:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(path, f"cannot read: {exc.strerror or exc}") from None
    if b"\x00" in raw[:SNIFF_BYTES]:
        raise ParseError(path, "binary file, not a text log")
    return _advance(path, LineParse(), raw, 0, False, b"", b"")


def _read_on(state: TextLogState) -> TextLogState | None:
    """``state`` with the lines appended since read; None when only a whole read is exact (the
    bytes before the read position changed: rewritten in place)."""
    path = state.path
    with open(path, "rb") as fh:
        if fh.read(len(state.head)) != state.head:
            return None
        fh.seek(state.end - len(state.seal))
        if fh.read(len(state.seal)) != state.seal:
            return None
        data = fh.read()
    if state.end < SNIFF_BYTES and b"\x00" in data[: SNIFF_BYTES - state.end]:
        return None  # a whole read refuses the file: let it say so
    return _advance(path, state.parse, data, state.end, state.after_cr, state.head, state.seal)


def _run(state: TextLogState) -> Run:
    """The run a whole read of the file (up to the end of its last complete line) gives."""
    path = state.path
    parse = state.parse.closed()
    if not parse.rows:
        raise ParseError(path, "no metric lines recognised")
    asides = parse.asides()
    df, overlaps = _supersede(parse.points.frame(asides), path)
    scalars = df.drop(columns="segment")
    if parse.repeats:  # some tag's step did not rise: keep the last point of each (tag, step)
        scalars = scalars.drop_duplicates(["tag", "step"], keep="last")
    if parse.repeats or parse.seg:
        scalars = scalars.reset_index(drop=True)
    scalars["tag"] = scalars["tag"].cat.remove_unused_categories()

    info = parse.info
    warnings: list[str] = []
    if state.cut:
        warnings.append(f"{path}: {CUT_LINE_MESSAGE}")
    too_deep = parse.too_deep
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
        "unparsed_lines": parse.unparsed,
        "asides_dropped": len(asides),  # keys mentioned once by lines without a step (config, prose)
        "patterns": sorted(info["kinds"]),
    }
    if parse.first_unparsed is not None:
        meta["first_unparsed_line"] = parse.first_unparsed
    if info["units"]:
        meta["units"] = info["units"]
    if info["summary"]:
        meta["train_summary"] = info["summary"]
        runtime = info["summary"].get("train_runtime")
        if runtime is not None:
            meta["train_runtime"] = runtime
    if info["epoch_relative"]:
        meta["step_source"] = "epoch and a counter that restarts every epoch, joined into one axis"
    if info["counted"]:
        meta["step_source"] = "running count of logged dicts (the lines carry no step)"
    if info["dropped"]:
        warnings.append(f"{path}: {info['dropped']} metric line(s) before any step were skipped")
    return Run(
        name=run_name(path),
        path=str(path),
        format=FORMAT,
        scalars=scalars,
        meta=meta,
        warnings=warnings,
        overlaps=overlaps,
        files=[str(path)],
    )


def read(path: Path) -> list[Run]:
    """Read one text or JSON-lines log into one :class:`Run`."""
    return [_run(_read_state(Path(path)))]


def resume(path: Path, state: TextLogState | None) -> tuple[list[Run], TextLogState | None]:
    """Reader entry point for a log read before: only the lines appended since ``state`` are parsed,
    with the parse state (the step of the last line, the epoch/batch axis, pending lines) carried
    over, so the run is what a whole read gives (``state`` None: the whole file). The state is not
    kept (None) for a log whose points would take more than ``MAX_HELD_TABLE_BYTES`` to hold."""
    path = Path(path)
    held = _read_on(state) if state is not None else None
    if held is None:
        held = _read_state(path)
    run = _run(held)
    return [run], held if held.parse.points.nbytes() <= MAX_HELD_TABLE_BYTES else None

READER = register(
    Reader(
        format=FORMAT,
        sniff=sniff,
        read=read,
        resume=resume,
        priority=900,  # the most generic reader: asked last
        description="plain-text console logs and JSON-lines metric logs (see parsers.text_patterns)",
    )
)
