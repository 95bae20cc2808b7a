"""Shared test fixtures: where the real logs and the labeled corpus live, and a private settings folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Results cached by the tests go to a private folder, never the user's cache.
os.environ.setdefault("LRDOCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="lrdoctor-test-cache-"))

from tests.paths import CORPUS, REAL_LOGS


@pytest.fixture(autouse=True)
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's saved settings (cost hardware ...) in its own folder, never the user's."""
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "cfg"))
    return tmp_path / "cfg"


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


class LiveTensorBoardRun:
    """A run still training: appends ``train/loss`` and ``lr`` events with TensorBoard's own writer.

    ``healthy(n)`` logs a loss that falls smoothly; ``diverge(n)`` then logs a loss that explodes,
    so the analysis reports ``diverged`` once those points are read.
    """

    LR = 3e-3

    def __init__(self, logdir: Path) -> None:
        from tensorboard.summary.writer.event_file_writer import EventFileWriter

        logdir.mkdir(parents=True, exist_ok=True)
        self.logdir = logdir
        self.writer = EventFileWriter(str(logdir))
        self.step = 0
        self.loss = 2.5

    def _add(self, loss: float) -> None:
        import time

        from tensorboard.compat.proto import event_pb2, summary_pb2

        values = [summary_pb2.Summary.Value(tag="train/loss", simple_value=loss),
                  summary_pb2.Summary.Value(tag="lr", simple_value=self.LR)]
        self.writer.add_event(event_pb2.Event(wall_time=time.time(), step=self.step,
                                              summary=summary_pb2.Summary(value=values)))
        self.step += 10

    def healthy(self, n: int) -> None:
        """Append ``n`` points of a loss that falls towards 0.5 (with a little noise)."""
        import numpy as np

        rng = np.random.default_rng(self.step)
        for _ in range(n):
            self.loss = 0.5 + (self.loss - 0.5) * 0.985
            self._add(float(self.loss * (1 + 0.01 * rng.standard_normal())))
        self.writer.flush()

    def diverge(self, n: int) -> None:
        """Append ``n`` points of a loss that explodes (x1.3 a point), ending non-finite."""
        for i in range(n):
            self.loss *= 1.3
            self._add(float("nan") if i == n - 1 else float(self.loss))
        self.writer.flush()

    def close(self) -> None:
        """Close the event file."""
        self.writer.close()


@pytest.fixture
def live_tb_run(tmp_path):
    """A TensorBoard run folder under ``tmp_path/live/run`` with 200 healthy points written."""
    run = LiveTensorBoardRun(tmp_path / "live" / "run")
    run.healthy(200)
    yield run
    run.close()
