"""Logs read while training writes them (issue #15): every format appended to by its real writer
while ``lrdoctor analyze`` reads the folder. Nothing crashes, and every value read is one that
was written whole (a line cut mid-number never becomes a loss of 0 or an LR of 3).

The app's live watching is tested on the app side; this is the CLI/library half.
"""

from __future__ import annotations

import csv
import io
import json
import threading
import time
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

import parsers
from lrdoctor.cli import main

POINTS = 400
# Values are drawn from this grid, so a cut number ("0.6735" -> "0.67" or "0") is not on it.
LOSSES = np.round(np.linspace(2.5, 0.6, POINTS), 6) + 0.123456
LR = 3.0e-04
PACE = 0.03  # seconds between steps: the writers run ~12 s, long enough for several reads


def _tensorboard(folder: Path, stop: threading.Event) -> None:
    writer = EventFileWriter(str(folder / "tb"), flush_secs=0.01)
    for step, loss in enumerate(LOSSES):
        for tag, value in (("train/loss", loss), ("lr", LR)):
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
            writer.add_event(event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary))
        if step % 20 == 0:
            writer.flush()
        time.sleep(PACE)
        if stop.is_set():
            break
    writer.close()


def _csv(folder: Path, stop: threading.Event) -> None:
    with open(folder / "metrics.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "train_loss", "lr"])
        for step, loss in enumerate(LOSSES):
            writer.writerow([step, f"{loss:.6f}", f"{LR:.1e}"])
            fh.flush()
            time.sleep(PACE)
            if stop.is_set():
                break


def _jsonl(folder: Path, stop: threading.Event) -> None:
    (folder / "d2").mkdir()
    with open(folder / "d2" / "metrics.json", "w") as fh:
        for step, loss in enumerate(LOSSES):
            line = json.dumps({"iteration": step, "total_loss": float(loss), "lr": LR}) + "\n"
            fh.write(line[: len(line) // 2])  # the line lands in two writes, as buffered output does
            fh.flush()
            fh.write(line[len(line) // 2:])
            fh.flush()
            time.sleep(PACE)
            if stop.is_set():
                break


def _text(folder: Path, stop: threading.Event) -> None:
    with open(folder / "train.log", "w") as fh:
        for step, loss in enumerate(LOSSES):
            line = f"step {step}: loss {loss:.6f}, lr {LR:.1e}\n"
            fh.write(line[:-7])
            fh.flush()
            fh.write(line[-7:])
            fh.flush()
            time.sleep(PACE)
            if stop.is_set():
                break


WRITERS = (_tensorboard, _csv, _jsonl, _text)


def _check(runs: parsers.RunList) -> None:
    allowed_loss = {round(float(v), 6) for v in LOSSES}
    for run in runs:
        parsers.validate_scalars(run.scalars)
        for tag, frame in run.scalars.groupby("tag", observed=True):
            values = frame["value"].to_numpy()
            if "loss" in str(tag):
                assert {round(float(v), 6) for v in values} <= allowed_loss, (run.path, tag)
            elif str(tag).startswith("lr"):
                assert np.allclose(values, LR), (run.path, tag, values[values != LR][:3])
            steps = frame["step"].to_numpy()
            assert steps.min() >= 0 and steps.max() < POINTS


def test_every_format_is_read_sanely_while_its_writer_appends(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("LRDOCTOR_CONFIG_DIR", str(tmp_path / "config"))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "tb").mkdir()
    stop = threading.Event()
    threads = [threading.Thread(target=w, args=(logs, stop), daemon=True) for w in WRITERS]
    for t in threads:
        t.start()
    reads = 0
    deadline = time.monotonic() + 60
    try:
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            _check(parsers.load(logs))
            out = io.StringIO()
            with redirect_stdout(out):
                code = main(["analyze", str(logs), "--json"])
            assert code in (0, 2)
            if code == 0:
                json.loads(out.getvalue())
            reads += 1
    finally:
        stop.set()
        for t in threads:
            t.join(10)
    final = parsers.load(logs)
    _check(final)
    assert reads >= 2
    assert len(final) == len(WRITERS)
    assert all(max(run.point_counts().values()) == POINTS for run in final)
