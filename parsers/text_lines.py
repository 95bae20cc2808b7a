"""What the lines of a text log have built so far: :class:`LineParse` takes the lines one read
gives (the whole file, or the lines appended since the last read) and carries everything that
reading them in order builds (the step of a line without one, the epoch/batch step axis, the
segments a restarted run opens, the counts that tell a config dump from a metric, the points),
so lines fed in several pieces give exactly what one piece gives.

:mod:`parsers.text` reads files with it; :mod:`parsers.text_patterns` recognises each line.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .bounded import TooComplex
from .text_patterns import Record, TableRows, parse_line

# A log with at least this many step lines is a metric log: a key that a line without a step
# mentions only once in it is an aside (config dump, environment table, prose), not a metric.
MIN_STEP_LINES_FOR_ASIDES = 10
# ... "once" allowing for a config printed twice (at start-up and again when saved or resumed).
MAX_ASIDE_MENTIONS = 2
# A config-looking key (``BASE_LR``) is printed with every config dump (start, each resume):
# a handful of times. An evaluation metric in capitals (``AP50``) is printed at every evaluation.
MAX_CONFIG_MENTIONS = 8

# A config key as yacs/detectron2 and friends print them (``BASE_LR``, ``MAX_SIZE_TEST``).
_CONFIG_KEY = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$|^[A-Z][A-Z0-9]{3,}$")
# Words of prose: a "key" holding one is a sentence around a number ("LR reduced at the 28 epoch").
_PROSE_WORDS = {"the", "a", "an", "at", "and", "of", "to", "in", "is", "for", "with", "from", "by", "on", "we"}


def _config_or_prose(key: str) -> bool:
    """A key that is a config entry or a piece of a sentence, never a logged metric."""
    return bool(_CONFIG_KEY.match(key)) or bool(set(key.lower().split()) & _PROSE_WORDS)


class EpochAxis:
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


@dataclass
class Points:
    """The points made so far, in the order a whole read makes them: tag codes (into ``vocab``,
    in order of first appearance), steps, segment ids (a new segment where the step goes back)
    and values."""

    vocab: dict[str, int] = field(default_factory=dict)
    codes: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    steps: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    segs: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int32))
    values: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float64))

    def extended(self, codes: list[int], steps: list[int], segs: list[int], values: list[float]) -> "Points":
        """These points and the given ones after them (new arrays: the held ones are never changed)."""
        if not codes:
            return self
        return Points(self.vocab, np.concatenate([self.codes, np.asarray(codes, dtype=np.int32)]),
                      np.concatenate([self.steps, np.asarray(steps, dtype=np.int64)]),
                      np.concatenate([self.segs, np.asarray(segs, dtype=np.int32)]),
                      np.concatenate([self.values, np.asarray(values, dtype=np.float64)]))

    def nbytes(self) -> int:
        """Bytes the held arrays take."""
        return self.codes.nbytes + self.steps.nbytes + self.segs.nbytes + self.values.nbytes

    def frame(self, drop: set[str]) -> pd.DataFrame:
        """The points as a scalars frame with a ``segment`` column; tags in ``drop`` left out.
        Categories sorted, as ``make_scalars`` sorts them."""
        order = sorted(self.vocab)
        remap = np.empty(max(len(order), 1), dtype=np.int32)
        for new, tag in enumerate(order):
            remap[self.vocab[tag]] = new
        codes = remap[self.codes] if len(self.codes) else self.codes
        keep = None
        if drop:
            keep = ~np.isin(self.codes, [self.vocab[t] for t in drop if t in self.vocab])
            codes = codes[keep]
        pick = (lambda a: a[keep]) if keep is not None else (lambda a: a)
        return pd.DataFrame({
            "tag": pd.Categorical.from_codes(codes, categories=pd.Index(order)),
            "step": pick(self.steps),
            "wall_time": np.full(len(codes), np.nan),
            "value": pick(self.values),
            "segment": pick(self.segs).astype(np.int64),
        })


@dataclass
class LineParse:
    """The state of reading a text log's lines in order (see the module docstring). :meth:`fed`
    returns a new state; the one it was called on is left as it was."""

    tables: TableRows = field(default_factory=TableRows)
    epochs: EpochAxis = field(default_factory=EpochAxis)
    pending: list[Record] = field(default_factory=list)  # lines that belong to the next step line
    last_step: int | None = None
    count: int = 0  # running count of step-less dicts (Hugging Face's printed logs)
    lines: int = 0  # lines read (the next line's number is lines + 1)
    rows: int = 0  # metric rows made (a row is a line's values at one step)
    unparsed: int = 0
    first_unparsed: int | None = None
    too_deep: list[int] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=lambda: {
        "summary": {}, "units": {}, "counted": 0, "dropped": 0, "kinds": set(), "epoch_relative": False})
    # segments: a step line whose step goes back (or repeats a key at the same step) opens one
    seg: int = 0
    prev_step: int | None = None
    prev_keys: set[str] = field(default_factory=set)
    # what tells an aside (config dump, prose) from a metric: see asides()
    step_lines: int = 0
    mentions: dict[str, int] = field(default_factory=dict)
    own_keys: set[str] = field(default_factory=set)
    other_keys: set[str] = field(default_factory=set)
    points: Points = field(default_factory=Points)
    # each tag's last step: while every tag's steps only rise, no (tag, step) is logged twice and
    # the read need not look for repeats among all its points
    last_of: dict[str, int] = field(default_factory=dict)
    repeats: bool = False

    def fed(self, lines: list[str]) -> "LineParse":
        """The state after ``lines`` (complete lines, in file order) are read."""
        state = copy.deepcopy(self.__dict__ | {"points": None})
        new = LineParse(**{**state, "points": self.points})
        new.points = Points(dict(self.points.vocab), self.points.codes, self.points.steps, self.points.segs,
                            self.points.values)
        out: tuple[list[int], list[int], list[int], list[float]] = ([], [], [], [])
        tables = new.tables
        for number, line in enumerate(lines, start=self.lines + 1):
            if not line.strip():
                continue
            table = tables.feed(line)
            if isinstance(table, Record):
                new._add(table, out)
                continue
            if table:
                continue
            try:
                record = parse_line(line)
            except TooComplex:
                new.too_deep.append(number)
                continue
            if record is None:
                new.unparsed += 1
                new.first_unparsed = new.first_unparsed or number
                continue
            new._add(record, out)
        new.lines = self.lines + len(lines)
        new.points = new.points.extended(*out)
        return new

    def _add(self, rec: Record, out: tuple[list[int], list[int], list[int], list[float]]) -> None:
        """Give one record its step and make its row (or hold it until its step line comes)."""
        info = self.info
        info["kinds"].add(rec.kind)
        info["units"].update(rec.units)
        if rec.attach == "summary":
            info["summary"].update(rec.meta)
            return
        if rec.attach == "next" or (rec.attach == "last" and self.last_step is None):
            self.pending.append(rec)
            return
        if rec.attach == "last":
            self._row(self.last_step, rec.values, False, out)
            return
        if rec.attach == "count":
            self.count += 1
            info["counted"] += 1
            step = self.count
        elif rec.epoch is not None:  # a counter that restarts every epoch
            step = self.epochs.global_step(rec)
            info["epoch_relative"] = True
        else:  # own / step_only
            step = rec.step
        for p in self.pending:
            self._row(step, p.values, False, out)
        self.pending.clear()
        self.last_step = step
        if rec.values:
            self._row(step, rec.values, True, out)

    def _row(self, step: int, values: dict[str, float], own: bool,
             out: tuple[list[int], list[int], list[int], list[float]]) -> None:
        """One row: counted for asides and segments, its values made points."""
        self.rows += 1
        for key in values:
            self.mentions[key] = self.mentions.get(key, 0) + 1
        if own:
            self.step_lines += 1
            keys = set(values)
            self.own_keys |= keys
            if self.prev_step is not None and (step < self.prev_step or (step == self.prev_step and keys & self.prev_keys)):
                self.seg += 1
            self.prev_step, self.prev_keys = step, keys
        else:
            self.other_keys.update(values)
        codes, steps, segs, vals = out
        vocab = self.points.vocab
        last_of = self.last_of
        for tag, value in values.items():
            code = vocab.get(tag)
            if code is None:
                code = vocab[tag] = len(vocab)
            elif step <= last_of[tag]:
                self.repeats = True
            last_of[tag] = step
            codes.append(code)
            steps.append(step)
            segs.append(self.seg)
            vals.append(value)

    def closed(self) -> "LineParse":
        """The state a read that ends here gives: lines still waiting for their step line take the
        last step seen (or are dropped and counted when there was none)."""
        if not self.pending:
            return self
        new = self.fed([])
        out: tuple[list[int], list[int], list[int], list[float]] = ([], [], [], [])
        if new.last_step is None:
            new.info["dropped"] += len(new.pending)
        else:
            for p in new.pending:
                new._row(new.last_step, p.values, False, out)
        new.pending = []
        new.points = new.points.extended(*out)
        return new

    def asides(self) -> set[str]:
        """Keys that lines without a step mention once or twice in a log full of step lines.

        Config dumps (``BASE_LR: 0.02``), environment tables (``CUDA Runtime 11.3``) and prose
        (``LR reduced at the 3000th iteration``) carry a number under a metric-like word once;
        a metric is logged again and again.
        """
        if self.step_lines < MIN_STEP_LINES_FOR_ASIDES:
            return set()
        m = self.mentions
        return {k for k in self.other_keys - self.own_keys
                if m[k] <= MAX_ASIDE_MENTIONS or (m[k] <= MAX_CONFIG_MENTIONS and _config_or_prose(k))}
