"""The fleet read path (``load_paths``: chunks of run folders read together, here and in pool workers)
gives exactly what ``parsers.load`` gives on a fleet of small TensorBoard runs, in the same order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

import parsers
from lrdoctor.fleet import load_paths

RUNS = 70  # enough for several chunks per process, and for the batched reads' lock-step framing
STEPS = 120


def _write_run(folder: Path, tags: list[str], seed: int) -> None:
    """One scalar per event, as PyTorch's SummaryWriter writes them (tensorboard's own writer)."""
    rng = np.random.default_rng(seed)
    writer = EventFileWriter(str(folder))
    for step in range(STEPS + seed):  # lengths differ, so runs end at different records
        for tag in tags:
            value = Summary.Value(tag=tag, simple_value=float(rng.standard_normal()))
            writer.add_event(Event(wall_time=1.7e9 + step, step=step, summary=Summary(value=[value])))
    writer.close()


def _fleet(root: Path) -> Path:
    for i in range(RUNS):
        tags = ["train/loss", "train/lr", "val/loss"] if i % 4 else ["lr", "loss", f"layer_{i}/grad_norm"]
        _write_run(root / f"run_{i:03d}", tags, seed=i)
    # one damaged run: its last record cut short (read alone, its damage said)
    damaged = next((root / "run_005").glob("*tfevents*"))
    damaged.write_bytes(damaged.read_bytes()[:-7])
    return root


def _same(a: parsers.RunList, b: parsers.RunList) -> None:
    assert [(r.name, r.path, r.files) for r in a] == [(r.name, r.path, r.files) for r in b]
    for x, y in zip(a, b):
        assert x.scalars.equals(y.scalars)
        assert list(x.scalars["tag"].cat.categories) == list(y.scalars["tag"].cat.categories)
        assert (x.roles, x.meta, x.warnings) == (y.roles, y.meta, y.warnings)
    assert [str(w) for w in a.all_warnings()] == [str(w) for w in b.all_warnings()]


def test_fleet_read_path_equals_parsers_load(tmp_path: Path) -> None:
    root = _fleet(tmp_path / "fleet")
    serial = parsers.load(root)
    assert len(serial) == RUNS and any("truncated" in str(w) for w in serial.all_warnings())
    _same(load_paths([root], jobs=1, cache=False), serial)  # this process, chunks sized by their cost
    _same(load_paths([root], jobs=2, cache=False), serial)  # and a forked worker taking chunks ahead
