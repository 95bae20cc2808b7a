"""Small event files decoded together (parsers.tb_batch) give exactly what reading each alone gives."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.types_pb2 import DT_FLOAT
from tensorboard.summary.writer.event_file_writer import EventFileWriter

import parsers
from parsers import Run
from parsers.loader import iter_files, load_with, read_one_file
from parsers.tensorboard import read, read_batch

SCALARS = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))
CUSTOM = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="custom"))
SAMPLE_LOGS = Path(__file__).resolve().parents[2] / "sample_logs"


def assert_same_run(alone: Run, together: Run) -> None:
    a, b = alone.scalars, together.scalars
    assert a.equals(b) and list(a.dtypes) == list(b.dtypes)
    assert list(a["tag"].cat.categories) == list(b["tag"].cat.categories)
    assert (alone.name, alone.path, alone.format, alone.files) == (together.name, together.path, together.format,
                                                                  together.files)
    assert alone.meta == together.meta and alone.warnings == together.warnings
    assert alone.roles == together.roles and alone.overlaps == together.overlaps


def _event_files(*roots: Path) -> list[Path]:
    return [f for root in roots for f in iter_files(root) if "tfevents" in f.name]


def test_every_real_event_file_batched_reads_as_alone(real_logs: Path, corpus: Path) -> None:
    files = _event_files(real_logs, corpus, SAMPLE_LOGS)
    together = read_batch(files)
    assert set(together) == {str(f) for f in files}  # every file looked at (all fit one batch)
    batched = [f for f in files if together[str(f)] is not None]
    # PyTorch, Keras/TF2 tensor scalars with the plugin on the first event, detectron2, YOLOv8 ...
    assert len(batched) >= 40, len(batched)
    for f in batched:
        (alone,) = read(f)
        (run,) = together[str(f)]
        assert_same_run(alone, run)


def _write(folder: Path, events: list[Event]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    for ev in events:
        writer.add_event(ev)
    writer.close()
    (path,) = folder.glob("*tfevents*")
    return path


def _scalar_events(tags: list[str], steps: int, seed: int, tensors: bool = False) -> list[Event]:
    rng = np.random.default_rng(seed)
    events = []
    for step in range(steps):
        for tag in tags:
            v = float(rng.standard_normal())
            if tensors:  # TF2: the plugin declared on each tag's first event only
                value = Summary.Value(tag=tag, tensor=TensorProto(dtype=DT_FLOAT, float_val=[v]),
                                      metadata=SCALARS if step == 0 else None)
            else:
                value = Summary.Value(tag=tag, simple_value=v)
            events.append(Event(wall_time=1.7e9 + step, step=step, summary=Summary(value=[value])))
    return events


def test_a_mixed_folder_loads_as_each_file_read_alone(tmp_path: Path) -> None:
    """Same-length tags first logged in different orders, steps whose varint grows a byte, a tag
    only in the last event, TF2 tensors, another plugin's tensors, a histogram, a truncated file,
    a flipped byte, an empty file: the read-ahead gives what reading one file at a time gives."""
    root = tmp_path / "fleet"
    _write(root / "xy", _scalar_events(["a/x", "a/y", "lr"], 200, 0))
    _write(root / "yx", _scalar_events(["a/y", "a/x", "lr"], 200, 1))
    last = _scalar_events(["loss", "lr"], 150, 2)
    last.append(Event(wall_time=1.8e9, step=150, summary=Summary(value=[Summary.Value(tag="final/acc",
                                                                                     simple_value=0.9)])))
    _write(root / "tail_tag", last)
    _write(root / "tf2", _scalar_events(["epoch_loss", "epoch_lr"], 30, 3, tensors=True))
    custom = _scalar_events(["loss"], 40, 4)
    custom += [Event(wall_time=1.9e9, step=s, summary=Summary(value=[Summary.Value(
        tag="other", tensor=TensorProto(dtype=DT_FLOAT, float_val=[1.0]), metadata=CUSTOM)])) for s in range(5)]
    _write(root / "custom_plugin", custom)
    hist = _scalar_events(["loss"], 40, 5)
    hist.insert(7, Event(wall_time=1.7e9, step=3, summary=Summary(value=[Summary.Value(
        tag="h", histo=HistogramProto(min=0, max=1, num=2, bucket_limit=[1.0], bucket=[2.0]))])))
    _write(root / "histogram", hist)
    _write(root / "one_event", _scalar_events(["loss"], 1, 6))
    cut = _write(root / "truncated", _scalar_events(["loss", "lr"], 100, 7))
    cut.write_bytes(cut.read_bytes()[:-7])
    flip = _write(root / "flipped", _scalar_events(["loss", "lr"], 100, 8))
    data = bytearray(flip.read_bytes())
    data[len(data) // 2] ^= 0x40
    flip.write_bytes(bytes(data))
    (root / "empty").mkdir()
    (root / "empty" / "events.out.tfevents.1.host").write_bytes(b"")
    (root / "not_events").mkdir()
    (root / "not_events" / "events.out.tfevents.2.host").write_bytes(b"not an event file at all" * 10)
    shutil.copytree(root / "xy", root / "xy_copy")

    alone = load_with(root, read_one=read_one_file)  # no read-ahead: one file at a time
    together = parsers.load(root)
    assert [r.name for r in together] == [r.name for r in alone] and len(alone) >= 9
    for a, b in zip(alone, together):
        assert_same_run(a, b)
    assert [str(w) for w in together.all_warnings()] == [str(w) for w in alone.all_warnings()]
    assert any("truncated" in str(w) for w in alone.all_warnings())
    # the plain, TF2 and tail-tag runs were decoded together; the odd ones alone
    looked = read_batch(sorted(root.rglob("*tfevents*")))
    batched = {Path(p).parent.name for p, runs in looked.items() if runs is not None}
    assert {"xy", "yx", "xy_copy", "tail_tag", "tf2", "custom_plugin", "one_event"} <= batched
    assert not batched & {"truncated", "flipped", "histogram", "empty", "not_events"}
    categories = {r.name: list(r.scalars["tag"].cat.categories) for r in together}
    assert categories["xy"] != categories["yx"]  # each file's own first-seen order, not the batch's
