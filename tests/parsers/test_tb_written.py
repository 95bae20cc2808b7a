"""Event files written here with tensorboard's own writer read back exactly, in every
scalar encoding; restarts are superseded and recorded."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import HistogramProto, Summary, SummaryMetadata
from tensorboard.compat.proto.tensor_pb2 import TensorProto
from tensorboard.compat.proto.types_pb2 import DT_DOUBLE, DT_FLOAT
from tensorboard.plugins.hparams import summary_v2 as hparams_summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

import parsers
from parsers import validate_scalars
from parsers.tb_decode import decode_protobuf
from parsers.tb_fast import decode_fast
from parsers.tb_records import frame_records
from parsers.tensorboard import read_file

SCALARS = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="scalars"))


def _f32(x: float) -> float:
    return float(np.float32(x))


def _simple(tag: str, v: float) -> Summary.Value:
    return Summary.Value(tag=tag, simple_value=v)


def _tensor_float(tag: str, v: float, meta: bool = True) -> Summary.Value:
    t = TensorProto(dtype=DT_FLOAT, float_val=[v])
    return Summary.Value(tag=tag, tensor=t, metadata=SCALARS if meta else None)


def _tensor_content(tag: str, v: float) -> Summary.Value:
    t = TensorProto(dtype=DT_FLOAT, tensor_shape={}, tensor_content=struct.pack("<f", v))
    return Summary.Value(tag=tag, tensor=t, metadata=SCALARS)


def _tensor_double(tag: str, v: float) -> Summary.Value:
    return Summary.Value(tag=tag, tensor=TensorProto(dtype=DT_DOUBLE, double_val=[v]), metadata=SCALARS)


def _write(folder: Path, events: list[Event], suffix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    before = set(folder.glob("*tfevents*"))
    writer = EventFileWriter(str(folder), filename_suffix=suffix)
    for ev in events:
        writer.add_event(ev)
    writer.close()
    (path,) = set(folder.glob("*tfevents*")) - before
    return path


def _expected_points(n: int = 300) -> list[tuple[str, int, float, float, str]]:
    """(tag, step, wall, value, encoding) with awkward values and steps."""
    rng = np.random.default_rng(7)
    out = []
    for i in range(n):
        step = [0, 1, 127, 128, 16383, 16384, 2**40][i] if i < 7 else 10 * i
        wall = 1.7e9 + i * 0.123456789
        v = float(rng.standard_normal() * 10.0 ** int(rng.integers(-8, 8)))
        if i == 11:
            v = float("nan")
        if i == 12:
            v = float("inf")
        if i == 13:
            v = float("-inf")
        enc = ("simple", "float_val", "content", "double")[i % 4]
        out.append((f"{enc}/metric", step, wall, v, enc))
    return out


def _events_for(points) -> list[Event]:
    make = {"simple": _simple, "float_val": _tensor_float, "content": _tensor_content, "double": _tensor_double}
    return [Event(wall_time=w, step=s, summary=Summary(value=[make[e](t, v)])) for t, s, w, v, e in points]


def test_every_encoding_reads_back_exactly(tmp_path: Path):
    points = _expected_points()
    path = _write(tmp_path / "run", _events_for(points))
    run = read_file(path)
    validate_scalars(run.scalars)
    assert not run.warnings
    for enc in ("simple", "float_val", "content", "double"):
        tag = f"{enc}/metric"
        mine = [p for p in points if p[4] == enc]
        got = run.scalars[run.scalars["tag"] == tag]
        assert got["step"].tolist() == [p[1] for p in mine]
        assert got["wall_time"].tolist() == [p[2] for p in mine]
        want = [p[3] if enc == "double" else _f32(p[3]) for p in mine]
        np.testing.assert_array_equal(got["value"].to_numpy(), np.array(want))
    assert run.scalars["value"].isna().sum() == 1
    assert np.isinf(run.scalars["value"]).sum() == 2


def test_metadata_on_first_event_only_and_unusual_events(tmp_path: Path):
    """TF2 writers declare the plugin on a tag's first event only; other events are odd."""
    events = [Event(wall_time=1.0, step=0, summary=hparams_summary.hparams_pb({"lr": 0.1, "opt": "adam"}))]
    for step in range(50):
        w = 100.0 + step
        events.append(Event(wall_time=w, step=step, summary=Summary(value=[_tensor_float("loss", step * 0.5, step == 0)])))
        # two values in one event (goes through the protobuf path)
        events.append(Event(wall_time=w, step=step, summary=Summary(value=[_simple("a", step), _simple("b", -step)])))
        # a histogram and a rank-0 float tensor of another plugin: not scalars
        events.append(Event(wall_time=w, step=step, summary=Summary(value=[Summary.Value(
            tag="hist", histo=HistogramProto(min=0, max=1, num=2, bucket_limit=[1.0], bucket=[2.0]))])))
        other = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="custom"))
        events.append(Event(wall_time=w, step=step, summary=Summary(value=[Summary.Value(
            tag="custom", tensor=TensorProto(dtype=DT_FLOAT, float_val=[1.0]), metadata=other)])))
    events.append(Event(wall_time=200.0, step=-5, summary=Summary(value=[_simple("neg", 3.0)])))
    path = _write(tmp_path / "run", events)
    run = parsers.load(path)[0]
    validate_scalars(run.scalars)
    assert run.meta["hparams"] == {"lr": 0.1, "opt": "adam"}
    assert run.point_counts() == {"loss": 50, "a": 50, "b": 50, "neg": 1}
    assert run.series("loss")["value"].tolist() == [s * 0.5 for s in range(50)]
    assert run.series("b")["value"].tolist() == [-float(s) for s in range(50)]
    assert run.series("neg")["step"].tolist() == [-5]
    buf = path.read_bytes()
    framing = frame_records(buf)
    a, b = decode_protobuf(buf, framing), decode_fast(buf, framing)
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a.steps, b.steps)
    assert a.plugins == b.plugins and a.hparams == b.hparams


def _run_events(tags, steps, wall0: float, scale: float) -> list[Event]:
    return [
        Event(wall_time=wall0 + s, step=s, summary=Summary(value=[_simple(t, scale * s)]))
        for s in steps
        for t in tags
    ]


def test_restart_supersedes_earlier_points_and_records_overlap(tmp_path: Path):
    folder = tmp_path / "resumed"
    first = _write(folder, _run_events(["loss", "lr"], range(0, 100), 1000.0, 1.0), suffix=".a")
    second = _write(folder, _run_events(["loss", "lr"], range(50, 150), 5000.0, 2.0), suffix=".b")
    runs = parsers.load(folder)
    assert len(runs) == 1
    run = runs[0]
    validate_scalars(run.scalars)
    assert run.files == [str(first), str(second)]
    loss = run.series("loss")
    assert loss["step"].tolist() == list(range(150))
    assert loss["value"].tolist() == [float(s) for s in range(50)] + [2.0 * s for s in range(50, 150)]
    assert len(run.overlaps) == 1
    ov = run.overlaps[0]
    assert (ov.source, ov.superseded_by) == (str(first), str(second))
    assert (ov.step_start, ov.step_end, ov.points, ov.steps) == (50, 99, 100, 50)


def test_restart_order_follows_wall_time_not_file_order(tmp_path: Path):
    folder = tmp_path / "resumed"
    # written first but its points are later in time: it is the resumed part
    later = _write(folder, _run_events(["loss"], range(20, 40), 9000.0, 3.0), suffix=".a")
    earlier = _write(folder, _run_events(["loss"], range(0, 30), 1000.0, 1.0), suffix=".b")
    run = parsers.load(folder)[0]
    assert run.files == [str(earlier), str(later)]
    assert run.series("loss")["value"].tolist() == [float(s) for s in range(20)] + [3.0 * s for s in range(20, 40)]
    assert [(o.step_start, o.step_end, o.points) for o in run.overlaps] == [(20, 29, 10)]


def test_within_one_file_every_point_is_kept(tmp_path: Path):
    events = _run_events(["loss"], range(10), 100.0, 1.0) + _run_events(["loss"], range(5, 10), 200.0, 2.0)
    run = parsers.load(_write(tmp_path / "r", events))[0]
    assert run.point_counts()["loss"] == 15
    assert run.overlaps == []


@pytest.mark.parametrize("encoding", ["simple", "float_val"])
def test_many_points_fast_path(tmp_path: Path, encoding: str):
    """Enough points for several layout groups (step varints of 1..3 bytes) and chunks."""
    make = _simple if encoding == "simple" else _tensor_float
    steps = range(0, 20000)
    events = [Event(wall_time=1.6e9 + s * 0.01, step=s, summary=Summary(value=[make(t, s * 0.25)]))
              for s in steps for t in ("train/loss", "lr")]
    run = read_file(_write(tmp_path / "big", events))
    assert run.point_counts() == {"train/loss": 20000, "lr": 20000}
    s = run.series("lr")
    assert s["step"].tolist() == list(steps)
    np.testing.assert_array_equal(s["value"].to_numpy(), np.array([_f32(x * 0.25) for x in steps]))
    np.testing.assert_array_equal(s["wall_time"].to_numpy(), 1.6e9 + np.array(steps) * 0.01)


def test_hundreds_of_same_length_tags(tmp_path: Path):
    """Per-layer tags share one record length: the crowded group is split, every point kept."""
    tags = [f"layer_{i:03d}/grad_norm" for i in range(300)]
    events = [Event(wall_time=1000.0 + s, step=s, summary=Summary(value=[_simple(t, i + s / 1000)]))
              for s in range(60) for i, t in enumerate(tags)]
    path = _write(tmp_path / "layers", events)
    run = read_file(path)
    validate_scalars(run.scalars)
    assert run.point_counts() == {t: 60 for t in tags}
    s = run.series("layer_123/grad_norm")
    assert s["value"].tolist() == [_f32(123 + k / 1000) for k in range(60)]
    buf = path.read_bytes()
    framing = frame_records(buf)
    a, b = decode_protobuf(buf, framing), decode_fast(buf, framing)
    assert [a.tag_names[c] for c in a.codes] == [b.tag_names[c] for c in b.codes]
    np.testing.assert_array_equal(a.values, b.values)
