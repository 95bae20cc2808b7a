"""Growing event files read from where the last look stopped (``parsers.tail.TailReader``): events
appended with TensorBoard's own writer are read from the end of the last complete record and merged
into the run already held, and the result is exactly what ``parsers.load`` gives on the same files."""

from __future__ import annotations

import os
from pathlib import Path

from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

from parsers.tail import TailReader
from tests.load_parity import assert_same_as_load


def _event(step: int, **values: float) -> event_pb2.Event:
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=t, simple_value=v) for t, v in values.items()])
    return event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary)


def _write(writer: EventFileWriter, steps: range, **extra: float) -> None:
    for step in steps:
        writer.add_event(_event(step, **{"train/loss": 2.0 / (step + 1), "lr": 1e-3}, **extra))
    writer.flush()


def _state(reader: TailReader, root: Path):
    (cursor,) = [c for f, c in reader.cursors.items() if Path(f).is_relative_to(root)]
    return cursor.state


def test_appended_events_are_read_from_the_last_record_and_merged(tmp_path: Path) -> None:
    root = tmp_path / "run"
    writer = EventFileWriter(str(root))
    _write(writer, range(0, 300))
    reader = TailReader()
    assert_same_as_load(reader.load(root), root)
    first = _state(reader, root)
    event_file = Path(first.path)
    assert first.end == event_file.stat().st_size and reader.whole == 1
    # a new tag appears in the appended part, as an eval metric does mid-training
    _write(writer, range(300, 450), **{"eval/accuracy": 0.5})
    grown = reader.load(root)
    assert_same_as_load(grown, root)
    second = _state(reader, root)
    assert reader.resumed == 1 and reader.whole == 1  # the event file was not read whole again
    assert second.end == event_file.stat().st_size > first.end
    assert len(grown[0].scalars) == 450 * 2 + 150
    # the points read before are the very arrays held, not a new parse of them
    assert second.scalars["value"].iloc[:600].tolist() == first.scalars["value"].tolist()
    # nothing appended: nothing read, the same run
    assert_same_as_load(reader.load(root), root)
    assert _state(reader, root).end == second.end and reader.resumed == 2
    writer.close()


def test_a_record_cut_mid_write_is_read_once_complete(tmp_path: Path) -> None:
    root = tmp_path / "run"
    writer = EventFileWriter(str(root))
    _write(writer, range(0, 100))
    writer.close()
    event_file = next(root.glob("*tfevents*"))
    whole = event_file.read_bytes()
    # one more record as the real writer frames it: the last record of another file it wrote
    other = EventFileWriter(str(tmp_path / "other"))
    event = _event(100, **{"train/loss": 2.0 / 101, "lr": 1e-3})
    other.add_event(event)
    other.close()
    written = next((tmp_path / "other").glob("*tfevents*")).read_bytes()
    record = written[-(len(event.SerializeToString()) + 16):]  # length, its CRC, payload, payload CRC
    reader = TailReader()
    reader.load(root)
    with open(event_file, "ab") as fh:  # the writer got half a record out
        fh.write(record[:20])
    cut = reader.load(root)
    assert_same_as_load(cut, root)
    assert any("truncated last record" in w for w in cut[0].warnings)
    assert _state(reader, root).end == len(whole)  # the cut record starts the next read
    with open(event_file, "ab") as fh:
        fh.write(record[20:])
    done = reader.load(root)
    assert_same_as_load(done, root)
    assert not done[0].warnings and done[0].step_range == (0, 100)
    assert reader.resumed == 2 and reader.whole == 1


def test_a_file_that_shrank_or_was_replaced_is_read_whole(tmp_path: Path) -> None:
    root = tmp_path / "run"
    writer = EventFileWriter(str(root))
    _write(writer, range(0, 200))
    writer.close()
    event_file = next(root.glob("*tfevents*"))
    reader = TailReader()
    reader.load(root)
    data = event_file.read_bytes()
    with open(event_file, "r+b") as fh:  # shorter than what was read: read again whole
        fh.truncate(len(data) // 2)
    assert_same_as_load(reader.load(root), root)
    assert reader.whole == 2 and reader.resumed == 0
    # replaced by another file of the same name (a new inode), longer than the old one
    other = tmp_path / "other"
    other_writer = EventFileWriter(str(other))
    _write(other_writer, range(0, 400))
    other_writer.close()
    replacement = next(other.glob("*tfevents*"))
    os.replace(replacement, event_file)
    assert_same_as_load(reader.load(root), root)
    assert reader.whole == 3 and reader.resumed == 0
    assert reader.load(root)[0].step_range == (0, 399)
    event_file.unlink()  # a deleted file's position is dropped with it
    assert not reader.load(root) and not reader.cursors


def test_split_folders_and_several_event_files_stay_one_run(tmp_path: Path) -> None:
    """Keras' train/ and validation/ folders (tag prefixes) and a restart's second event file."""
    root = tmp_path / "keras_run"
    train, val = EventFileWriter(str(root / "train")), EventFileWriter(str(root / "validation"))
    _write(train, range(0, 50))
    _write(val, range(0, 50, 10))
    reader = TailReader()
    assert_same_as_load(reader.load(root), root)
    _write(train, range(50, 80))
    _write(val, range(50, 80, 10))
    grown = reader.load(root)
    assert_same_as_load(grown, root)
    assert "validation/train/loss" in grown[0].roles and reader.resumed == 2
    train.close()
    val.close()
    restart = EventFileWriter(str(root / "train"), filename_suffix=".restart")
    _write(restart, range(70, 120))  # a restart from a checkpoint logs steps 70.. again
    restart.close()
    again = reader.load(root)
    assert_same_as_load(again, root)
    assert again[0].overlaps


def _csv_rows(path: Path, rows: list[list[object]], mode: str = "a") -> None:
    import csv

    with open(path, mode, newline="") as fh:
        csv.writer(fh).writerows(rows)


def _metrics(steps: range) -> list[list[object]]:
    """Rows as Lightning's CSVLogger writes them: epoch, step, loss, LR, and a validation loss now and then."""
    return [[s // 100, s, round(2.0 * 0.99 ** s + 0.5, 6), 0.003, 1.1 if s % 50 == 0 else ""] for s in steps]


def test_appended_csv_lines_are_parsed_alone(tmp_path: Path) -> None:
    root = tmp_path / "version_0"
    root.mkdir()
    path = root / "metrics.csv"
    _csv_rows(path, [["epoch", "step", "train_loss", "lr", "val_loss"], *_metrics(range(300))], "w")
    reader = TailReader()
    assert_same_as_load(reader.load(root), root)
    assert reader.load(root)[0].format == "lightning_csv" and reader.whole == 1
    _csv_rows(path, _metrics(range(300, 400)))
    with open(path, "a") as fh:
        fh.write("4,400,0.7")  # the logger is mid-line
    cut = reader.load(root)
    assert_same_as_load(cut, root)
    assert any("no line end" in w for w in cut[0].warnings) and cut[0].step_range == (0, 399)
    with open(path, "a") as fh:
        fh.write("1,0.003,\n")
    done = reader.load(root)
    assert_same_as_load(done, root)
    assert done[0].step_range == (0, 400) and not done[0].warnings
    assert reader.whole == 1 and reader.resumed == 3  # every later look parsed only the new lines
    assert _state(reader, root).end == path.stat().st_size


def test_csv_rewritten_or_typed_differently_is_read_whole(tmp_path: Path) -> None:
    root = tmp_path / "run"
    root.mkdir()
    path = root / "metrics.csv"
    _csv_rows(path, [["epoch", "step", "train_loss", "lr", "val_loss"], *_metrics(range(200))], "w")
    reader = TailReader()
    reader.load(root)
    # Lightning's CSVLogger rewrites the file when a new metric appears: a new header, a longer file
    rows = [r + [""] for r in _metrics(range(250))]
    _csv_rows(path, [["epoch", "step", "train_loss", "lr", "val_loss", "val_acc"], *rows], "w")
    assert_same_as_load(reader.load(root), root)
    assert (reader.whole, reader.resumed) == (2, 0)
    # text in a numeric column, then a line with too many fields: each read whole, as load says it
    _csv_rows(path, [[2, 250, "nan?", 0.003, "", ""]])
    assert_same_as_load(reader.load(root), root)
    _csv_rows(path, [[2, 251, 0.5, 0.003, "", "", "extra"]])
    grown = reader.load(root)
    assert_same_as_load(grown, root)
    assert any("line" in w and "skipped" in w for w in grown[0].warnings)
    assert (reader.resumed, reader.whole) == (0, 4)  # each look found it could not continue: read whole


def test_a_table_too_large_to_hold_is_read_whole_each_time(tmp_path: Path, monkeypatch) -> None:
    import parsers.tail

    root = tmp_path / "run"
    root.mkdir()
    path = root / "metrics.csv"
    _csv_rows(path, [["epoch", "step", "train_loss", "lr", "val_loss"], *_metrics(range(300))], "w")
    monkeypatch.setattr(parsers.tail, "MAX_HELD_TABLE_BYTES", 1024)  # 300 rows x 5 columns are more
    reader = TailReader()
    reader.load(root)
    assert not reader.cursors  # nothing held beside the run
    _csv_rows(path, _metrics(range(300, 320)))
    assert_same_as_load(reader.load(root), root)
    assert (reader.resumed, reader.whole) == (0, 2)
