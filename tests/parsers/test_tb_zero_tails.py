"""Event files with zero-filled or sparse tails and lying record lengths (issue #15 item 8).

Every file is written by tensorboard's own EventFileWriter in tmp_path, then damaged.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from parsers import validate_scalars
from parsers.tb_records import crc32c, frame_records, mask_crc
from parsers.tensorboard import read_file

POINTS = 300


def _write(folder: Path, points: int = POINTS, start: int = 0) -> Path:
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    folder.mkdir(parents=True, exist_ok=True)
    writer = EventFileWriter(str(folder))
    for i in range(start, start + points):
        value = Summary.Value(tag="train/loss", simple_value=1.0 / (i + 1))
        writer.add_event(Event(wall_time=1.7e9 + i, step=i, summary=Summary(value=[value])))
    writer.close()
    return next(folder.glob("*tfevents*"))


def _record_starts(data: bytes) -> list[int]:
    fr = frame_records(data)
    assert not fr.damage
    return [int(o) - 12 for o in fr.offsets]


def _assert_all_points(run, steps) -> None:
    validate_scalars(run.scalars)
    np.testing.assert_array_equal(run.scalars["step"].to_numpy(), np.asarray(steps))
    np.testing.assert_allclose(run.scalars["value"].to_numpy(), 1.0 / (np.asarray(steps) + 1), rtol=1e-6)


def test_zero_filled_tail_is_skipped_and_said(tmp_path: Path) -> None:
    path = _write(tmp_path / "run")
    size = path.stat().st_size
    zeros = 24 << 20  # a preallocated tail (the case was 256 MB; the size does not matter)
    with open(path, "ab") as fh:
        fh.write(bytes(zeros))
    run = read_file(path)
    _assert_all_points(run, range(POINTS))
    (warning,) = run.warnings
    assert str(path) in warning and f"at byte {size}" in warning
    assert f"skipped {zeros} bytes to the end of the file" in warning


def test_sparse_two_gigabyte_tail(tmp_path: Path) -> None:
    path = _write(tmp_path / "run")
    size = path.stat().st_size
    os.truncate(path, 2 << 30)  # a hole: no disk space used
    run = read_file(path)
    _assert_all_points(run, range(POINTS))
    (warning,) = run.warnings
    assert f"at byte {size}" in warning and f"skipped {(2 << 30) - size} bytes to the end of the file" in warning


def test_records_after_a_run_of_zeros_are_read(tmp_path: Path) -> None:
    """A zero gap inside the file (a crash left a preallocated block, the writer went on)."""
    first = _write(tmp_path / "a").read_bytes()
    second = _write(tmp_path / "b", start=POINTS).read_bytes()
    gap = 3 << 20
    path = tmp_path / "run" / "events.out.tfevents.1700000000.host"
    path.parent.mkdir()
    path.write_bytes(first + bytes(gap) + second)
    run = read_file(path)
    _assert_all_points(run, range(2 * POINTS))
    (warning,) = run.warnings
    assert f"at byte {len(first)}: skipped {gap} bytes" in warning and "end of the file" not in warning


def test_a_header_claiming_4_gb_drops_only_itself(tmp_path: Path) -> None:
    """A length field of 4 GiB with a valid length CRC: the later records are still read,
    and the warning says exactly what was skipped (the 12 header bytes)."""
    path = _write(tmp_path / "run")
    data = path.read_bytes()
    starts = _record_starts(data)
    at = starts[len(starts) // 2]
    header = struct.pack("<Q", 4 << 30)
    header += struct.pack("<I", mask_crc(crc32c(header)))
    path.write_bytes(data[:at] + header + data[at:])
    run = read_file(path)
    _assert_all_points(run, range(POINTS))
    (warning,) = run.warnings
    assert f"record header at byte {at} claims 4,294,967,296 bytes" in warning
    assert f"skipped 12 bytes up to the next intact record at byte {at + 12}" in warning


@pytest.mark.parametrize("fast", [True, False])
def test_truncated_last_record_still_says_truncated(tmp_path: Path, fast: bool) -> None:
    """A last record cut short has nothing intact after it: still reported as truncated."""
    path = _write(tmp_path / "run")
    data = path.read_bytes()
    last = _record_starts(data)[-1]
    path.write_bytes(data[: last + 20])
    run = read_file(path, fast=fast)
    _assert_all_points(run, range(POINTS - 1))
    (warning,) = run.warnings
    assert f"truncated last record at byte {last}: skipped 20 bytes (1 record)" in warning
