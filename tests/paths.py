"""Where the tests' inputs live: the repository's sample logs, and the shared real logs and
labelled corpus beside the repository (read in place, never written). Imported as ``tests.paths``."""

from __future__ import annotations

import csv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE_LOGS = REPO / "sample_logs"
SHARED = REPO.parent / "shared"
REAL_LOGS = SHARED / "real_logs"  # real training logs from public projects
CORPUS = SHARED / "corpus"  # labelled runs of executed trainings (README.md gives the schema)


def corpus_rows(fmt: str) -> list[dict[str, str]]:
    """The rows of the corpus index (``corpus/index.csv``) whose ``format`` is ``fmt``."""
    with open(CORPUS / "index.csv", newline="") as fh:
        return [r for r in csv.DictReader(fh) if r["format"] == fmt]
