"""Shared test fixtures: where the real logs and the labeled corpus live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REAL_LOGS = SHARED / "real_logs"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def real_logs() -> Path:
    """``../shared/real_logs``: real training logs from public projects."""
    assert REAL_LOGS.is_dir(), f"{REAL_LOGS} is missing: the tests read the shared real logs in place"
    return REAL_LOGS


@pytest.fixture(scope="session")
def corpus() -> Path:
    """``../shared/corpus``: the labeled corpus of executed trainings."""
    assert CORPUS.is_dir(), f"{CORPUS} is missing: the tests read the shared corpus in place"
    return CORPUS
