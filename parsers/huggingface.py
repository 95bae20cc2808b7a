"""Hugging Face Trainer ``trainer_state.json`` reader.

The Trainer saves its state (``log_history`` plus bookkeeping such as ``global_step``,
``max_steps``, ``best_metric``) into every ``checkpoint-*/`` folder and, at the end, into
the output folder. Each ``log_history`` entry becomes points of the tags named by its
own keys at its ``step`` (train entries and eval entries stay separate points). The
final summary entry (``train_runtime``, ``train_loss`` averaged over the run, ...) is
metadata, not a curve. There is no per-point wall clock (``wall_time`` is NaN); the
``train_runtime`` kept in ``meta`` lets the cost estimate derive the time per step.

All copies of the file in one output folder (its ``checkpoint-*`` folders and the
folder itself) are one run: ``read`` names them alike and :func:`merge` keeps the
newest, most complete copy.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from .bounded import TooComplex, json_load_file
from .errors import ParseError
from .model import Run, make_scalars
from .registry import Reader, merged_run, register

FORMAT = "hf_trainer_state"
# The bookkeeping keys sit before or after ``log_history`` (keys are sorted when the
# Trainer writes them), so looking at both ends of the file is enough to recognise it.
SNIFF_BYTES = 64 * 1024
_CHECKPOINT_DIR = re.compile(r"^checkpoint-\d+$")

# Keys of the final "training finished" entry: the run's summary, not a per-step point.
_SUMMARY_MARKERS = ("train_runtime",)
# State fields copied into ``run.meta`` as they are.
_STATE_META_KEYS = (
    "best_metric",
    "best_model_checkpoint",
    "best_global_step",
    "global_step",
    "max_steps",
    "num_train_epochs",
    "epoch",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "train_batch_size",
    "total_flos",
)


def sniff(path: Path) -> bool:
    """A JSON object whose ``log_history`` key shows in the first or last 64 KiB."""
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
        if not head.lstrip().startswith(b"{"):
            return False
        if b'"log_history"' in head:
            return True
        if size <= SNIFF_BYTES:
            return False
        fh.seek(max(size - SNIFF_BYTES, 0))
        return b'"log_history"' in fh.read()


def run_location(path: Path) -> tuple[Path, str]:
    """The run's folder and name for one copy of the state file.

    A copy inside ``<out>/checkpoint-N/`` belongs to the run ``<out>``; otherwise the
    file's own folder is the run (a file not called ``trainer_state.json`` is its own run,
    named after its folder).
    """
    parent = path.parent
    if _CHECKPOINT_DIR.match(parent.name):
        return parent.parent, parent.parent.name or str(parent.parent)
    if path.name == "trainer_state.json":
        return parent, parent.name or str(parent)
    return path, parent.name or path.stem


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def read(path: Path) -> list[Run]:
    """Read one ``trainer_state.json`` copy into one :class:`Run`."""
    path = Path(path)
    try:
        state = json_load_file(path)
    except json.JSONDecodeError as exc:
        raise ParseError(path, f"not valid JSON: {exc.msg}", location=f"line {exc.lineno}") from None
    except TooComplex as exc:
        raise ParseError(path, str(exc)) from None
    except UnicodeDecodeError:
        raise ParseError(path, "not a UTF-8 text file") from None
    if not isinstance(state, dict) or not isinstance(state.get("log_history"), list):
        raise ParseError(path, "no 'log_history' list: not a Hugging Face trainer_state.json")

    warnings: list[str] = []
    tags: list[str] = []
    steps: list[int] = []
    values: list[float] = []
    summary: dict[str, Any] = {}
    last_step: int | None = None
    stepless = bad = 0
    for index, entry in enumerate(state["log_history"]):
        if not isinstance(entry, dict):
            bad += 1
            continue
        if any(k in entry for k in _SUMMARY_MARKERS):
            summary.update({k: v for k, v in entry.items() if k != "step"})
            continue
        step = entry.get("step")
        if not _is_number(step) or (isinstance(step, float) and not step.is_integer()):
            if last_step is None:
                bad += 1
                continue
            # e.g. Seq2SeqTrainer's predict_* entries: logged right after the eval of a step.
            step, stepless = last_step, stepless + 1
        step = int(step)
        last_step = step
        for key, value in entry.items():
            if key == "step" or not _is_number(value):
                continue
            tags.append(key)
            steps.append(step)
            values.append(float(value))
    if bad:
        warnings.append(f"{path}: {bad} log_history entries without a step or not an object were skipped")

    scalars = make_scalars(tags, steps, None, values)
    # ``epoch`` appears in the train and the eval entry of the same step: keep one point.
    scalars = scalars.drop_duplicates(["tag", "step", "value"], ignore_index=True)

    meta: dict[str, Any] = {k: state[k] for k in _STATE_META_KEYS if k in state}
    if summary:
        meta["train_summary"] = summary
        for key in ("train_runtime", "train_steps_per_second", "train_samples_per_second"):
            if _is_number(summary.get(key)) and math.isfinite(summary[key]):
                meta[key] = float(summary[key])
    if stepless:
        meta["stepless_entries"] = stepless
    meta["source_file"] = str(path)
    meta["mtime"] = os.stat(path).st_mtime
    run_path, name = run_location(path)
    return [
        Run(
            name=name,
            path=str(run_path),
            format=FORMAT,
            scalars=scalars,
            meta=meta,
            warnings=warnings,
            files=[str(path)],
        )
    ]


def _completeness(run: Run) -> tuple[float, float, int]:
    step = run.meta.get("global_step")
    if not _is_number(step):
        step = run.step_range[1] if run.step_range else -1
    return float(step), float(run.meta.get("mtime", 0.0)), len(run.scalars)


def merge(runs: list[Run]) -> Run:
    """Copies of one run's state (``checkpoint-*`` folders): keep the newest, most complete.

    Most complete = largest ``global_step``, then newest modification time. The other
    copies' files stay listed in ``run.files`` so the loader does not read them again.
    """
    best = max(runs, key=_completeness)
    meta = dict(best.meta)
    meta["copies"] = len(runs)
    return merged_run(best, runs, best.scalars, meta, list(best.overlaps))


READER = register(
    Reader(
        format=FORMAT,
        sniff=sniff,
        read=read,
        merge=merge,
        priority=30,
        description="Hugging Face Trainer trainer_state.json (checkpoint copies are one run)",
    )
)
