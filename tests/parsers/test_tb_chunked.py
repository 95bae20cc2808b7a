"""A large event file is decoded a part at a time (parsers.tb_fast.DECODE_CHUNK_BYTES) and its map's
pages released as the parts are done: the points, tags, plugins, hparams and damage are exactly the
protobuf reference's, and the reader's runs and warnings exactly those of a whole-file pass.

The part size is lowered here so that the real logs' files (and files written by tensorboard's
own writer) are cut into many parts, at every kind of record boundary.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from parsers import tb_fast, validate_scalars
from parsers.tb_decode import decode_protobuf
from parsers.tb_records import frame_records
from parsers.tensorboard import read_file

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
FILES = sorted(p for root in (SHARED / "real_logs", SHARED / "corpus", REPO / "sample_logs")
               for p in root.rglob("*tfevents*") if p.is_file())
SMALL_PART = 16 << 10  # a few hundred records per part


def _ids(paths: list[Path]) -> list[str]:
    return [p.name[-40:] for p in paths]


def _in_parts(framing) -> bool:
    return len(framing.offsets) > 1 and int(framing.offsets[-1] - framing.offsets[0]) > tb_fast.DECODE_CHUNK_BYTES


def _assert_same_decoded(ref, got, in_parts: bool) -> None:
    assert [ref.tag_names[c] for c in ref.codes] == [got.tag_names[c] for c in got.codes]
    if in_parts:  # coded in first-seen order, as the protobuf path codes them
        assert ref.tag_names == got.tag_names
        np.testing.assert_array_equal(ref.codes, got.codes)
    for name in ("steps", "walls", "values", "is_tensor"):
        np.testing.assert_array_equal(getattr(ref, name), getattr(got, name))
    assert ref.plugins == got.plugins and ref.hparams == got.hparams
    assert ref.first_wall == got.first_wall and ref.damage == got.damage


def _assert_same_run(whole, parts) -> None:
    validate_scalars(parts.scalars)
    assert whole.scalars.equals(parts.scalars) and whole.tags() == parts.tags()
    assert (whole.meta, whole.warnings, whole.roles) == (parts.meta, parts.warnings, parts.roles)


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_parts_decode_as_the_protobuf_reference(path: Path, monkeypatch) -> None:
    whole = read_file(path)
    monkeypatch.setattr(tb_fast, "DECODE_CHUNK_BYTES", SMALL_PART)
    buf = path.read_bytes()
    framing = frame_records(buf)
    _assert_same_decoded(decode_protobuf(buf, framing), tb_fast.decode_fast(buf, framing), _in_parts(framing))
    _assert_same_run(whole, read_file(path))  # through the read-only map, its pages released part by part


def test_damaged_file_in_parts_says_the_same(tmp_path: Path, monkeypatch) -> None:
    """A payload byte flipped in the middle and the last record cut: the same points dropped, the same
    warnings, in the same order, whether the file is decoded whole or in parts."""
    folder = tmp_path / "run"
    writer = EventFileWriter(str(folder))
    for step in range(3000):
        for tag in ("train/loss", "lr", f"layer_{step % 7}/norm"):
            value = Summary.Value(tag=tag, simple_value=float(step % 11))
            writer.add_event(Event(wall_time=1.7e9 + step, step=step, summary=Summary(value=[value])))
    writer.close()
    (path,) = folder.glob("*tfevents*")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data[:-9]))
    whole = read_file(path)
    assert any("CRC mismatch" in w for w in whole.warnings) and any("truncated" in w for w in whole.warnings)
    monkeypatch.setattr(tb_fast, "DECODE_CHUNK_BYTES", SMALL_PART)
    _assert_same_run(whole, read_file(path))
    buf = path.read_bytes()
    framing = frame_records(buf)
    assert _in_parts(framing)
    _assert_same_decoded(decode_protobuf(buf, framing), tb_fast.decode_fast(buf, framing), True)


def test_many_same_length_tags_in_parts(tmp_path: Path, monkeypatch) -> None:
    """Hundreds of per-layer tags of one record length (the matcher's crowded groups) in every part."""
    folder = tmp_path / "layers"
    writer = EventFileWriter(str(folder))
    tags = [f"layer_{i:03d}/grad_norm" for i in range(400)]
    for step in range(40):
        for i, tag in enumerate(tags):
            value = Summary.Value(tag=tag, simple_value=i + step / 1000)
            writer.add_event(Event(wall_time=1000.0 + step, step=step, summary=Summary(value=[value])))
    writer.close()
    (path,) = folder.glob("*tfevents*")
    whole = read_file(path)
    monkeypatch.setattr(tb_fast, "DECODE_CHUNK_BYTES", 64 << 10)
    parts = read_file(path)
    _assert_same_run(whole, parts)
    assert list(parts.scalars["tag"].cat.categories) == tags  # first-seen order
    shutil.rmtree(folder)
