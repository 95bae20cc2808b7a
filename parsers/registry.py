"""The one table of readers.

Each reader declares the format it produces, a cheap ``sniff(path)`` that looks at the
file's content (and name, where the format fixes it), and ``read(path) -> list[Run]``.
Runs that span several files (a TensorBoard folder, W&B panel exports, checkpoint
copies of ``trainer_state.json``) come back as one ``Run`` per file with the same
``(format, path, name)``; the reader's ``merge`` joins them (default: concatenate).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from .model import Run, StepOverlap, concat_scalars

SniffFn = Callable[[Path], bool]
ReadFn = Callable[[Path], "list[Run]"]
MergeFn = Callable[["list[Run]"], Run]
# ``resume(path, state) -> (runs, state)``: read a file that grows, from where ``state`` (what the
# previous call returned; None at first) left off. The state's ``end`` says how many bytes of the
# file it holds (the end of the last complete record or line), see parsers.tail.TailReader.
ResumeFn = Callable[[Path, Any], "tuple[list[Run], Any]"]
# ``read_batch(paths) -> {path: runs or None}``: many files read at once: the runs of the files among
# ``paths`` that it reads exactly as ``read`` would, None for those it looked at and leaves to ``read``
# (paths it did not get to are left out); see parsers.loader.read_files.
BatchFn = Callable[["Sequence[Path]"], "dict[str, list[Run] | None]"]

# Modules that register the built-in readers when imported. Order does not matter;
# ``priority`` decides who is asked first.
BUILTIN_READER_MODULES: tuple[str, ...] = (
    "parsers.tensorboard",
    "parsers.csv",
    "parsers.wandb",
    "parsers.huggingface",
    "parsers.mlflow",
    "parsers.text",
    "parsers.wandb_offline",
)


@dataclass(frozen=True)
class Reader:
    """A registered log reader."""

    format: str
    sniff: SniffFn
    read: ReadFn
    merge: MergeFn | None = None
    resume: ResumeFn | None = None  # reads only what was appended (formats a file grows by)
    read_batch: BatchFn | None = None  # reads many small files in one go (same runs as ``read``)
    priority: int = 100  # lower is asked first; specific formats before generic ones
    description: str = ""


_READERS: dict[str, Reader] = {}
_builtins_loaded = False


def register(reader: Reader) -> Reader:
    """Add (or replace) a reader in the registry and return it."""
    _READERS[reader.format] = reader
    return reader


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    _builtins_loaded = True
    for name in BUILTIN_READER_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # a missing dependency inside the module is a real error
                raise


def readers() -> list[Reader]:
    """All registered readers, in the order they are asked."""
    _load_builtins()
    return sorted(_READERS.values(), key=lambda r: (r.priority, r.format))


def get_reader(fmt: str) -> Reader | None:
    """The reader registered for ``fmt``."""
    _load_builtins()
    return _READERS.get(fmt)


def merged_run(
    template: Run,
    parts: list[Run],
    scalars: pd.DataFrame,
    meta: dict,
    overlaps: list[StepOverlap],
) -> Run:
    """The one run that ``parts`` make up, named and placed like ``template``.

    The caller decides the scalars, meta and overlaps (each reader joins those its own
    way); the parts' warnings and files are unioned here, first occurrence kept, in the
    order of ``parts``.
    """
    warnings: list[str] = []
    files: list[str] = []
    for run in parts:
        warnings.extend(w for w in run.warnings if w not in warnings)
        files.extend(f for f in run.files if f not in files)
    return Run(
        name=template.name,
        path=template.path,
        format=template.format,
        scalars=scalars,
        meta=meta,
        warnings=warnings,
        files=files,
        overlaps=overlaps,
    )


def default_merge(runs: list[Run]) -> Run:
    """Join runs that are parts of one run: scalars concatenated, meta and warnings unioned."""
    meta: dict = {}
    overlaps: list[StepOverlap] = []
    for run in runs:
        meta.update(run.meta)
        overlaps.extend(run.overlaps)
    scalars = concat_scalars(r.scalars for r in runs)
    if len(scalars):
        scalars = scalars.drop_duplicates(keep="last", ignore_index=True)
    return merged_run(runs[0], runs, scalars, meta, overlaps)
