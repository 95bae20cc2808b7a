"""Run folders written by tensorboard's own event writer (the writer behind every SummaryWriter)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

START_WALL = 1.7e9
SECONDS_PER_STEP = 0.5
EVAL_EVERY = 20


def write_run(folder: Path, *, steps: int = 400, overfit: bool = False, seed: int = 0, lr: float = 1e-3) -> Path:
    """One training run: ``train/loss``, ``lr`` per step and ``val/loss`` every EVAL_EVERY steps, with a clock.

    ``overfit`` makes the validation loss turn up after the middle of the run.
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    for step in range(steps):
        loss = 2.5 * np.exp(-step / (steps / 4)) + 0.3 + 0.02 * rng.standard_normal()
        values = [Summary.Value(tag="train/loss", simple_value=float(loss)),
                  Summary.Value(tag="lr", simple_value=lr)]
        if step % EVAL_EVERY == 0:
            val = 2.5 * np.exp(-step / (steps / 4)) + 0.35
            if overfit and step > steps / 2:
                val += 1.5 * (step - steps / 2) / steps
            values.append(Summary.Value(tag="val/loss", simple_value=float(val)))
        writer.add_event(Event(wall_time=START_WALL + step * SECONDS_PER_STEP, step=step,
                               summary=Summary(value=values)))
    writer.close()
    return folder


def write_fleet(root: Path, n: int, *, steps: int = 400) -> list[Path]:
    """``n`` run folders under ``root``; every third one overfits."""
    return [write_run(root / f"run_{i:04d}", steps=steps, overfit=i % 3 == 0, seed=i) for i in range(n)]
