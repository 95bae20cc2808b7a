"""The line patterns of plain-text console logs and JSON-lines metric logs, in one place.

Every line of a text log is tried against :data:`PATTERNS` in order; the first that
recognises it turns it into a :class:`Record` (a step, when the line names one, and
``{tag: value}``). Lines nothing recognises are skipped and counted, never fatal.

=================  ==========================================================================
pattern            what it recognises (examples)
=================  ==========================================================================
``json``           a JSON object per line, optionally after a prefix ending in ``{``:
                   detectron2 ``metrics.json`` (``{"iteration": 19, "total_loss": 2.63, ...}``),
                   fairseq ``--log-format json`` (``... | train_inner | {"num_updates": "100",
                   "loss": "9.87", ...}``; numeric strings are numbers), OpenNMT/other json logs.
                   The step is the first of :data:`STEP_KEYS` present (``*_num_updates`` too).
``python_dict``    a printed Python dict, as the Hugging Face Trainer prints its logs:
                   ``{'loss': 2.31, 'learning_rate': 4.9e-05, 'epoch': 0.1}`` (``nan``/``inf``
                   allowed). No step inside: the step is the running count of train dicts
                   (eval dicts take the current count); ``run.meta["step_source"]`` says so.
                   A dict holding ``train_runtime`` is the run summary: metadata.
``nanogpt_logtxt`` build-nanogpt ``log.txt``: ``<step> train|val|hella <value>``; tags
                   ``train_loss``, ``val_loss``, ``hella_acc`` (the file names no metric).
``eval_next_step`` build-nanogpt console lines printed *before* the step they belong to:
                   ``validation loss: 10.9522``, ``HellaSwag accuracy: 2497/10042=0.2487``;
                   they are attached to the next step line.
``key_values``     any line with a step key and ``key value`` / ``key: value`` / ``key=value``
                   pairs: build-nanogpt ``step 10 | loss: 9.87 | lr 9.2e-06 | norm: 3.89 |
                   dt: 414ms``, nanoGPT ``iter 100: loss 4.2113, time 31.2ms`` and
                   ``step 2000: train loss 1.76, val loss 1.88``, OpenNMT ``Step 100/20000;
                   acc: 10.5; ppl: 1234; lr: 0.0001``, ``Step 0 -- Train loss: 2.6, Train Acc:
                   0.21``, ``epoch=3 step=1200 loss=0.53``. The step key is the first of
                   :data:`STEP_WORDS` found (``epoch`` only when no finer one is there).
                   A line with metric-like pairs but no step key takes the last step seen
                   (Keras-style ``Epoch 3/10`` then a line of metrics); a line with a step key
                   and nothing else only sets that step.
                   Progress fractions are read too: ``Epoch [2/5], Step [100/600], Loss: 0.3``,
                   ``Train Epoch: 3 [640/60000 (1%)]  Loss: 0.2`` (PyTorch's MNIST example),
                   ``Epoch: 1, Batch: 100, loss nan``: a line with an epoch and a counter inside
                   it gets ``Record.epoch`` (and ``epoch_len`` when the total is written); the
                   reader turns a counter that restarts every epoch into one global step axis.
                   A fraction under a metric key is a ratio (``Accuracy: 9001/10000`` is 0.9001).
                   A leading section label with an evaluation word (``Test set: Average loss:
                   0.05``) is kept in the key, so the value is read as a validation value.
``table``          a pipe table printed into the log (detectron2's COCO results: ``|  AP  |
                   AP50 |`` over ``| 10.970 | 22.437 |``): the header's names over a numeric
                   row, attached to the last step (:class:`TableRows`, read by the reader).
=================  ==========================================================================

Units written after a number (``414ms``, ``12.3%``) are dropped from the value and kept in
``Record.units`` (the reader puts them in ``run.meta["units"]``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .bounded import TooComplex, json_loads, literal_eval
from .roles import role_of

# Keys of a JSON/dict record that hold its step, most specific first.
STEP_KEYS: tuple[str, ...] = (
    "iteration", "step", "global_step", "num_updates", "_step", "iter", "it",
    "trainer/global_step", "train/global_step", "update", "batch",
)
# Words that name the step in a text line, most specific first; "epoch" is the fallback.
STEP_WORDS: tuple[str, ...] = ("step", "global_step", "global step", "iter", "iteration", "it", "update",
                               "updates", "batch")
EPOCH_WORD = "epoch"

_NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?|nan|inf)"
_WORD = r"(?!(?:nan|inf)\b)[A-Za-z_][\w./\-]*"
# A number standing alone (not inside a word), with an optional unit right after it.
NUMBER = re.compile(
    rf"(?<![\w.])(?P<value>{_NUMBER})(?P<unit>ms|s|%|it/s)?(?![\w.])(?!/\D)", re.IGNORECASE
)
_KEY_WORD = re.compile(rf"^{_WORD}$", re.IGNORECASE)
# A time per iteration written after a value ("0.0355 s/iter", "1.2 sec/it").
_PER_ITERATION = re.compile(r"\s*(?:s|sec|ms)\s*/\s*(?:iter|it|step|batch)\b\.?", re.IGNORECASE)
# Characters that end a key going backwards from its value ("a, b 5": the key is "b").
_KEY_STOP = re.compile(r"[|,;()\[\]{}\"'<>#]")
# A key has at most this many words ("train loss", "Train Acc", "HellaSwag accuracy").
MAX_KEY_WORDS = 4
# Logging-module level names end a key going backwards ("INFO Train loss: 2.1" is "Train loss").
_LOG_LEVELS = {"DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"}


def key_value_pairs(line: str) -> list[tuple[str, float, str | None]]:
    """``(key, value, unit)`` of every ``key value`` / ``key: value`` / ``key=value`` in ``line``.

    Driven by the numbers of the line (the key is read backwards from each number), so long
    prose lines cost little. A key never reaches back past the end of a sentence (``0.0011
    s/iter. Inference: 0.0355``: the key is ``Inference``), and a time per iteration of some
    loop (``Eval: 0.0002 s/iter``, detectron2's evaluator progress) is no metric: it is left
    out unless its key names a step time.
    """
    pairs = []
    prev = 0
    for m in NUMBER.finditer(line):
        segment = _KEY_STOP.split(line[prev : m.start()])[-1].rstrip(" \t")
        prev = m.end()
        per_iter = _PER_ITERATION.match(line, m.end())
        if per_iter:
            prev = per_iter.end()
        max_words = MAX_KEY_WORDS
        if segment.endswith("="):
            max_words = 1  # key=value style: keys are single words ("INFO epoch=0" is "epoch")
        if segment.endswith((":", "=")):
            segment = segment[:-1].rstrip(" \t")
        words = segment.split()
        taken: list[str] = []
        for word in reversed(words):
            if len(taken) == max_words or not _KEY_WORD.match(word) or word in _LOG_LEVELS:
                break
            if taken and word.endswith("."):
                break  # the previous sentence's last word
            taken.append(word)
        if taken:
            key = " ".join(reversed(taken)).rstrip(".")
            if per_iter and role_of(key) != "step_time":
                continue
            pairs.append((key, float(m["value"]), "s/iter" if per_iter else m["unit"]))
    return pairs


_NANOGPT_LOGTXT = re.compile(rf"^\s*(?P<step>\d+)\s+(?P<kind>train|val|hella)\s+(?P<value>{_NUMBER})\s*$")
NANOGPT_LOGTXT_TAGS = {"train": "train_loss", "val": "val_loss", "hella": "hella_acc"}
_EVAL_NEXT_STEP = (
    re.compile(rf"^\s*(?P<key>validation loss):\s*(?P<value>{_NUMBER})\s*$"),
    re.compile(rf"^\s*(?P<key>HellaSwag accuracy):\s*\d+/\d+\s*=\s*(?P<value>{_NUMBER})\s*$"),
)
_PY_SPECIAL = re.compile(r"(?<![\w'\"])(-?)(nan|inf)(?![\w'\"])")
_SUMMARY_KEYS = ("train_runtime",)


@dataclass
class Record:
    """What one line says: its step (None: not stated) and its values."""

    step: int | None
    values: dict[str, float]
    kind: str  # the pattern's name
    attach: str = "own"  # "own" | "next" (belongs to the next step line) | "last" (to the last step)
    units: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. the HF summary dict
    step_key: str | None = None
    # The epoch a within-epoch counter belongs to (the step restarts every epoch), and the
    # epoch's length in that counter's units when the line writes it ("Step [100/600]").
    epoch: int | None = None
    epoch_len: int | None = None


def _to_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _numeric_items(obj: object) -> dict[str, float]:
    """The numeric entries of a parsed object; none when it is not a dict."""
    if not isinstance(obj, dict):
        return {}
    out = {}
    for key, value in obj.items():
        number = _to_float(value)
        if number is not None:
            out[str(key)] = number
    return out


def _step_from_mapping(values: dict[str, float]) -> tuple[int | None, str | None]:
    candidates = list(STEP_KEYS) + [k for k in values if k.endswith("_num_updates")]
    for key in candidates:
        number = values.get(key)
        if number is not None and math.isfinite(number) and float(number).is_integer():
            return int(number), key
    return None, None


def parse_json(line: str) -> Record | None:
    """A JSON object (after an optional prefix)."""
    start = line.find("{")
    if start < 0 or not line.rstrip().endswith("}") or '"' not in line:
        return None
    try:
        obj = json_loads(line[start:])
    except TooComplex:
        raise
    except ValueError:
        return None
    values = _numeric_items(obj)
    if not values:
        return None
    step, key = _step_from_mapping(values)
    if key is not None:
        values.pop(key)
    return Record(step, values, "json", attach="own" if step is not None else "count", step_key=key)


def parse_python_dict(line: str) -> Record | None:
    """A printed Python dict of numbers (the Hugging Face Trainer's console logs)."""
    start = line.find("{'")
    end = line.rfind("}")
    if start < 0 or end < start:
        return None
    text = _PY_SPECIAL.sub(lambda m: f"'{m.group(1)}{m.group(2)}'", line[start : end + 1])
    try:
        obj = literal_eval(text)
    except TooComplex:
        raise
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    values = _numeric_items(obj)
    if not values:
        return None
    if any(k in values for k in _SUMMARY_KEYS):
        return Record(None, {}, "python_dict", attach="summary", meta=values)
    step, key = _step_from_mapping(values)
    if key is not None:
        values.pop(key)
        return Record(step, values, "python_dict", step_key=key)
    is_eval = any(k.startswith("eval_") for k in values)
    return Record(None, values, "python_dict", attach="last" if is_eval else "count")


def parse_nanogpt_logtxt(line: str) -> Record | None:
    """build-nanogpt ``log.txt``: ``<step> train|val|hella <value>``."""
    m = _NANOGPT_LOGTXT.match(line)
    if not m:
        return None
    return Record(int(m["step"]), {NANOGPT_LOGTXT_TAGS[m["kind"]]: float(m["value"])}, "nanogpt_logtxt")


def parse_eval_next_step(line: str) -> Record | None:
    """build-nanogpt eval lines printed before the step line they belong to."""
    for pattern in _EVAL_NEXT_STEP:
        m = pattern.match(line)
        if m:
            return Record(None, {m["key"]: float(m["value"])}, "eval_next_step", attach="next")
    return None


# ``cur/total`` written as a progress fraction ("[100/600]", "3/10", "640/60000").
_FRACTION = re.compile(r"(?<![\w./])(?P<cur>\d+)\s*/\s*(?P<tot>\d+)(?![\w.])")
# The word right before a fraction, across brackets and separators ("Step [", "Epoch: ").
_KEY_BEFORE = re.compile(r"(?P<key>[A-Za-z_][\w]*)[\s\[:=(]*$")
# Words that name a counter inside an epoch when the same line names the epoch.
_COUNTER_WORDS = {"step", "batch", "iter", "iteration", "it", "update", "updates"}
_EPOCH_WORDS = {"epoch", "ep"}
# A section label at the start of a line ("Test set: Average loss: 0.05").
_SECTION = re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z ]{0,30}?)\s*:\s")
_EVAL_LABEL_WORDS = {"val", "valid", "validation", "eval", "evaluation", "test", "dev", "holdout"}


def _last_word(key: str) -> str:
    parts = key.lower().split()
    return parts[-1] if parts else ""


def _fractions(line: str) -> list[tuple[str | None, int, int, int, int]]:
    """``(key, cur, total, start, end)`` of every integer fraction; key None when none precedes it."""
    out = []
    for m in _FRACTION.finditer(line):
        before = _KEY_BEFORE.search(line[: m.start()])
        key = before["key"] if before else None
        out.append((key, int(m["cur"]), int(m["tot"]), m.start(), m.end()))
    return out


def _eval_section(line: str) -> str | None:
    """A leading section label that says the line is about evaluation, e.g. ``Test set``."""
    m = _SECTION.match(line)
    if not m:
        return None
    words = set(m["label"].lower().split())
    return m["label"].strip() if words & _EVAL_LABEL_WORDS else None


def _with_progress(line: str, record: Record | None, pairs: list[tuple[str, float, str | None]],
                   section: str | None = None) -> Record | None:
    """Add what progress fractions say to a key-value record (epoch, counter, ratios)."""
    fractions = _fractions(line)
    if not fractions:
        if record is not None and record.step_key and _last_word(record.step_key) in _COUNTER_WORDS:
            # "Epoch: 2, Batch: 100, loss ...": the counter may restart every epoch.
            for key, value, _unit in pairs:
                if _last_word(key) in _EPOCH_WORDS and value.is_integer() and value >= 0:
                    record.epoch = int(value)
                    break
        return record
    epoch: int | None = None
    for key, cur, _tot, _start, _end in fractions:
        if key and _last_word(key) in _EPOCH_WORDS:
            epoch = cur
            break
    if epoch is None:
        # "Epoch: 3" written as a pair, the counter as a fraction ("Train Epoch: 3 [640/60000]").
        for key, value, _unit in pairs:
            if _last_word(key) in _EPOCH_WORDS and value.is_integer() and value >= 0:
                epoch = int(value)
                break
    counter: tuple[int, int | None, str | None] | None = None
    ratios: dict[str, float] = {}
    for key, cur, tot, _start, _end in fractions:
        word = _last_word(key) if key else None
        if word in _EPOCH_WORDS:
            continue
        if word in _COUNTER_WORDS or word is None:
            if counter is None and (word is not None or epoch is not None):
                counter = (cur, tot if tot > 0 else None, key)
        elif tot > 0 and key is not None and role_of(key) != "other":
            ratios[_in_section(key, section)] = cur / tot
    if record is None:
        if not ratios:
            return None
        record = Record(None, {}, "key_values", attach="last")
    for key, ratio in ratios.items():
        record.values[key] = ratio
    if epoch is None or counter is None:
        if counter is not None and record.step is None:
            record.step, record.step_key = counter[0], counter[2]
            record.attach = "own" if record.values else "step_only"
        return record
    cur, tot, key = counter
    record.step, record.step_key = cur, key or "batch"
    record.epoch, record.epoch_len = epoch, tot
    record.attach = "own" if record.values else "step_only"
    for k in list(record.values):
        if _last_word(k) in _COUNTER_WORDS:
            record.values.pop(k)
    return record


def parse_key_values(line: str) -> Record | None:
    """``key value`` / ``key: value`` / ``key=value`` pairs with a step key (see the table)."""
    pairs = key_value_pairs(line)
    section = _eval_section(line)
    pairs = [(_in_section(k, section), v, u) for k, v, u in pairs]
    record = _key_value_record(pairs)
    return _with_progress(line, record, pairs, section)


def _in_section(key: str, section: str | None) -> str:
    """``key`` under the line's evaluation section label, unless it already says val/test."""
    if section is None or set(key.lower().split()) & _EVAL_LABEL_WORDS:
        return key
    return f"{section} {key}"


def _key_value_record(pairs: list[tuple[str, float, str | None]]) -> Record | None:
    """The record of a line's key-value pairs alone (see :func:`parse_key_values`)."""
    if not pairs:
        return None
    step = None
    step_key = None
    lowered = [p[0].lower() for p in pairs]
    for word in STEP_WORDS + (EPOCH_WORD,):
        if word in lowered:
            i = lowered.index(word)
            if pairs[i][1].is_integer() and pairs[i][1] >= 0:
                step, step_key = int(pairs[i][1]), pairs[i][0]
                break
    values: dict[str, float] = {}
    units: dict[str, str] = {}
    for key, value, unit in pairs:
        if key == step_key:
            continue
        if key.lower() in STEP_WORDS:
            continue  # a second step counter on the line (e.g. "batch 3" next to "step 1200")
        values[key] = value
        if unit:
            units[key] = unit
    if step is None:
        # Without a step key, take the line only when it is clearly about metrics.
        if not any(role_of(k) != "other" for k in values):
            return None
        return Record(None, values, "key_values", attach="last", units=units)
    if not values:
        return Record(step, {}, "key_values", attach="step_only", step_key=step_key)
    return Record(step, values, "key_values", units=units, step_key=step_key)


PATTERNS: tuple[tuple[str, Callable[[str], Record | None]], ...] = (
    ("json", parse_json),
    ("python_dict", parse_python_dict),
    ("nanogpt_logtxt", parse_nanogpt_logtxt),
    ("eval_next_step", parse_eval_next_step),
    ("key_values", parse_key_values),
)


def parse_line(line: str) -> Record | None:
    """The record of the first pattern that recognises ``line``, or None."""
    if not line.strip():
        return None
    for _name, parse in PATTERNS:
        record = parse(line)
        if record is not None:
            return record
    return None


# -- tables printed into a log ----------------------------------------------------------------
# A Markdown/pipe table row ("|   AP   |  AP50  |" then "| 10.970 | 22.437 |", as detectron2
# prints its COCO evaluation): the header names the metrics of the numeric row under it.
_TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_TABLE_SEPARATOR = re.compile(r"^[\s:\-|]+$")
_TABLE_NAME = re.compile(r"^[A-Za-z][\w\-/.@]*$")


class TableRows:
    """Reads pipe tables line by line: remembers a header of metric names and turns the numeric
    row under it into a record for the last step (evaluations print their results this way)."""

    def __init__(self) -> None:
        self.header: list[str] | None = None

    def feed(self, line: str) -> Record | None | bool:
        """A record for a numeric row under a header; True for any other table line (consumed);
        False when the line is not a table row."""
        m = _TABLE_ROW.match(line)
        if m is None:
            self.header = None
            return False
        if _TABLE_SEPARATOR.match(line):
            return True
        cells = [c.strip() for c in m.group(1).split("|")]
        if all(_TABLE_NAME.match(c) for c in cells):
            self.header = cells
            return True
        header, self.header = self.header, None
        if header is None or len(header) != len(cells):
            return True
        values = {}
        for name, cell in zip(header, cells):
            number = _to_float(cell)
            if number is None:
                return True
            values[name] = number
        return Record(None, values, "table", attach="last")
