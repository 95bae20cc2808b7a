"""Write TensorBoard event files with chosen wall times, with TensorBoard's own writer."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter


def write_events(
    logdir: Path, suffix: str, steps: Sequence[int], walls: Sequence[float], losses: Sequence[float]
) -> None:
    """One event file: ``train/loss`` at each step, stamped with the given wall time."""
    writer = EventFileWriter(str(logdir), filename_suffix=suffix)
    for step, wall, loss in zip(steps, walls, losses):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="train/loss", simple_value=loss)])
        writer.add_event(event_pb2.Event(wall_time=wall, step=step, summary=summary))
    writer.close()
