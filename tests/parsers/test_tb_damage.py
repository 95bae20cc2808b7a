"""Damaged event files: truncated, flipped bytes, garbage, empty. Copies in tmp_path only."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers import ParseError, validate_scalars
from parsers.tb_records import frame_records
from parsers.tensorboard import read_file, sniff

SOURCE = ("tensorboard", "detectron-mine-gralach", "output", "events.out.tfevents.1729241278.Chang.23300.9")


@pytest.fixture()
def copy(tmp_path: Path, real_logs: Path) -> Path:
    src = real_logs.joinpath(*SOURCE)
    dst = tmp_path / "run" / src.name
    dst.parent.mkdir()
    shutil.copyfile(src, dst)
    return dst


def _points_by_record(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Record starts, lengths, and the number of points of the intact file."""
    buf = path.read_bytes()
    fr = frame_records(buf)
    assert not fr.damage
    return fr.offsets - 12, fr.lengths, len(read_file(path).scalars)


def test_truncated_last_record_keeps_the_rest(copy: Path):
    starts, lengths, total = _points_by_record(copy)
    last = int(starts[-1])
    cut = last + int(lengths[-1]) // 2  # mid-record
    copy.write_bytes(copy.read_bytes()[:cut])
    run = read_file(copy)
    validate_scalars(run.scalars)
    assert len(run.scalars) == total - 1  # one scalar per event in detectron2 files
    (warning,) = run.warnings
    assert str(copy) in warning and "truncated" in warning and f"byte {last}" in warning
    assert f"skipped {cut - last} bytes" in warning


def test_truncated_inside_a_header(copy: Path):
    starts, _, total = _points_by_record(copy)
    cut = int(starts[-1]) + 5
    copy.write_bytes(copy.read_bytes()[:cut])
    run = read_file(copy)
    assert len(run.scalars) == total - 1
    assert "truncated" in run.warnings[0] and "skipped 5 bytes" in run.warnings[0]


def test_flipped_payload_byte_skips_one_record(copy: Path):
    starts, lengths, total = _points_by_record(copy)
    k = len(starts) // 2
    data = bytearray(copy.read_bytes())
    pos = int(starts[k]) + 12 + int(lengths[k]) - 2  # inside the value
    data[pos] ^= 0x40
    copy.write_bytes(bytes(data))
    run = read_file(copy)
    validate_scalars(run.scalars)
    assert len(run.scalars) == total - 1
    (warning,) = run.warnings
    assert str(copy) in warning and "CRC mismatch" in warning and f"byte {int(starts[k])}" in warning
    # the fallback path agrees
    slow = read_file(copy, fast=False)
    assert slow.scalars.equals(run.scalars) and slow.warnings == run.warnings


def test_flipped_length_byte_resyncs(copy: Path):
    starts, lengths, total = _points_by_record(copy)
    k = len(starts) // 3
    data = bytearray(copy.read_bytes())
    data[int(starts[k])] ^= 0x10  # the record's length field
    copy.write_bytes(bytes(data))
    run = read_file(copy)
    validate_scalars(run.scalars)
    assert len(run.scalars) == total - 1  # every record after the damage is found again
    (warning,) = run.warnings
    assert f"byte {int(starts[k])}" in warning and "length CRC" in warning
    assert f"skipped {int(starts[k + 1]) - int(starts[k])} bytes" in warning


def test_several_damages_in_one_file(copy: Path):
    starts, lengths, total = _points_by_record(copy)
    data = bytearray(copy.read_bytes())
    data[int(starts[10]) + 3] ^= 0xFF  # header
    data[int(starts[200]) + 14] ^= 0x01  # payload
    copy.write_bytes(bytes(data[: int(starts[-1]) + 7]))  # and truncated
    run = read_file(copy)
    assert len(run.scalars) == total - 3
    assert len(run.warnings) == 3


def test_garbage_and_empty_files_raise_parse_error(tmp_path: Path):
    garbage = tmp_path / "events.out.tfevents.123.host"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    with pytest.raises(ParseError, match="not a TensorBoard event file") as err:
        read_file(garbage)
    assert str(garbage) in str(err.value)
    empty = tmp_path / "events.out.tfevents.124.host"
    empty.write_bytes(b"")
    with pytest.raises(ParseError, match="not a TensorBoard event file"):
        read_file(empty)
    text = tmp_path / "notes.bin"
    text.write_bytes(b"hello world, this is not an event file at all" * 10)
    assert not sniff(text)


def test_bad_file_next_to_good_one_still_loads(tmp_path: Path, real_logs: Path):
    folder = tmp_path / "mixed"
    shutil.copytree(real_logs.joinpath(*SOURCE[:-1]), folder)
    (folder / "events.out.tfevents.1729250000.Chang.1.1").write_bytes(b"\x00garbage" * 100)
    runs = parsers.load(folder)
    assert len(runs) == 1 and len(runs[0].files) == 2
    assert any("not a TensorBoard event file" in str(w) for w in runs.warnings)


def test_sniff_by_content_without_tfevents_name(tmp_path: Path, copy: Path):
    renamed = tmp_path / "renamed.bin"
    shutil.copyfile(copy, renamed)
    assert sniff(renamed)
    runs = parsers.load(renamed)
    assert len(runs) == 1 and runs[0].format == "tensorboard"


def test_damage_in_a_long_file_where_the_walk_predicts(tmp_path: Path):
    """Past a few thousand records the framing walk predicts lengths in bulk: damage there too."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(tmp_path / "long"))
    for step in range(6000):
        for tag in ("loss", "lr"):
            writer.add_event(Event(wall_time=1e9 + step, step=step,
                                   summary=Summary(value=[Summary.Value(tag=tag, simple_value=step)])))
    writer.close()
    (path,) = (tmp_path / "long").glob("*tfevents*")
    starts, lengths, total = _points_by_record(path)
    assert total == 12000
    data = bytearray(path.read_bytes())
    data[int(starts[7000]) + 1] ^= 0x01  # a length field, deep in the predicted part
    data[int(starts[9000]) + 13] ^= 0x08  # a payload byte (the wall time)
    path.write_bytes(bytes(data[: int(starts[-1]) + 20]))  # and a truncated last record
    run = read_file(path)
    validate_scalars(run.scalars)
    assert len(run.scalars) == total - 3
    assert len(run.warnings) == 3
    assert any(f"byte {int(starts[7000])}" in w and "length CRC" in w for w in run.warnings)
    assert any(f"byte {int(starts[9000])}" in w and "CRC mismatch" in w for w in run.warnings)
    slow = read_file(path, fast=False)
    assert slow.scalars.equals(run.scalars)
