"""Split a walk into run units: groups of files that can be read apart from each other.

A unit is the folder a run lives in with the folders tools make *inside* a run folded in
(Keras ``train/``+``validation/``, Lightning ``lightning_logs/version_N``, HF ``checkpoint-N``,
a W&B run's ``files/``, an MLflow run's ``metrics/``...). Everything under an ``mlruns/<experiment>``
folder is one unit, since a run there also reads its experiment's ``meta.yaml``.

Reading each unit with :func:`parsers.loader.read_files` (its files, with their indices in the
whole walk) and sorting the results by index gives exactly what :func:`parsers.load` gives on the
whole folder, so units can be read in other processes or on other machines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath
from typing import Iterable, TypeVar

# Folders tools create inside one run's folder: never a run of their own. When unsure a folder
# is listed here (a bigger unit only costs parallelism, a split run would change results).
PART_OF_RUN = re.compile(
    r"^(train|training|validation|val|valid|eval|evaluation|test|checkpoint-\d+|checkpoints?|"
    r"version_\d+|lightning_logs|files|metrics|params|tags|artifacts|plugins|profile|"
    r"logs?|tb|tensorboard|events?)$",
    re.IGNORECASE,
)
# The folder MLflow keeps experiments in: ``mlruns/<experiment>/<run>/``.
MLRUNS = "mlruns"

P = TypeVar("P", bound=PurePath)


@dataclass(frozen=True)
class Unit:
    """One run unit: its folder, its files in walk order and their positions in the whole walk."""

    folder: str
    files: tuple[str, ...]
    indices: tuple[int, ...]


def unit_folder(file: P, root: P) -> P:
    """The folder of the run unit ``file`` belongs to (never above ``root``)."""
    rel = file.relative_to(root).parts[:-1]
    lowered = [p.lower() for p in rel]
    if MLRUNS in lowered:
        at = lowered.index(MLRUNS)
        return root.joinpath(*rel[: at + 2])
    depth = len(rel)
    while depth > 0 and PART_OF_RUN.match(rel[depth - 1]):
        depth -= 1
    return root.joinpath(*rel[:depth])


def split_units(files: Iterable[P], root: P) -> list[Unit]:
    """Group walked ``files`` (in walk order, all below ``root``) into units, in order of first file."""
    groups: dict[str, tuple[list[str], list[int]]] = {}
    for index, file in enumerate(files):
        folder = str(unit_folder(file, root))
        names, indices = groups.setdefault(folder, ([], []))
        names.append(str(file))
        indices.append(index)
    return [Unit(folder, tuple(names), tuple(indices)) for folder, (names, indices) in groups.items()]

