"""Line-based logs that grow (issue #17 item 4): text console logs, JSON-lines metric logs
(detectron2's ``metrics.json``) and W&B history JSONL, followed with :class:`parsers.tail.TailReader`
while the real files of ../shared/real_logs are appended chunk by chunk (cut mid-line, and between
the two bytes of a CRLF line end): each look parses only the appended complete lines, and every look
gives exactly what ``parsers.load`` gives on the file as it is then."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pandas as pd
import pytest

import parsers
from parsers.tail import TailReader
from tests.load_parity import assert_same_as_load
from tests.paths import REAL_LOGS

# Looks per grown file: each compares with a whole parsers.load, so a handful keeps the test fast.
LOOKS = 6


def _cuts(data: bytes, looks: int, seed: int) -> list[int]:
    """Where the writer stops between looks: random bytes (mid-line, mid-number), one just after a
    line end, and the end of the file."""
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(data)), looks - 2))
    line_end = data.find(b"\n", len(data) // 2) + 1
    return sorted({*cuts, line_end, len(data)})


def _grow(source: bytes, target: Path, seed: int, looks: int = LOOKS) -> tuple[TailReader, parsers.RunList]:
    """Append ``source`` to ``target`` chunk by chunk, looking with one TailReader after each chunk;
    returns the reader and its last look."""
    reader, held, at = TailReader(), None, 0
    root = target.parent
    for cut in _cuts(source, looks, seed):
        with open(target, "ab") as fh:
            fh.write(source[at:cut])
        at = cut
        held = reader.load(root)
        assert_same_as_load(held, root)
    return reader, held


def _real(*parts: str) -> bytes:
    path = REAL_LOGS.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path.read_bytes()


@pytest.mark.parametrize("parts, limit", [
    (("text_logs", "nyu-ssod-detectron2", "output", "log_supervised_lr_0.040_balance.txt"), None),
    (("text_logs", "build-nanogpt-agndm", "log_linear_lr", "log.txt"), 120_000),  # the first 6,000 steps
])
def test_real_text_logs_grown_chunk_by_chunk_read_as_a_whole_read(tmp_path: Path, parts: tuple[str, ...],
                                                                  limit: int | None) -> None:
    source = _real(*parts)[:limit]
    target = tmp_path / parts[-3] / parts[-1]
    target.parent.mkdir(parents=True)
    reader, held = _grow(source, target, seed=len(source))
    assert held[0].format == "text_log"
    assert reader.whole == 1 and reader.resumed >= 2  # the first look whole (once recognised), then appended only


def test_a_restart_appended_to_metrics_json_is_superseded_as_a_whole_read_does(tmp_path: Path) -> None:
    """detectron2's metrics.json after a resume from a checkpoint: the iteration goes back."""
    source = _real("detectron2_metrics_json", "detectron-mine-gralach", "output", "metrics.json")
    target = tmp_path / "run" / "metrics.json"
    target.parent.mkdir()
    _reader, held = _grow(source, target, seed=3)
    assert held[0].overlaps  # the restarts are there, and found incrementally


def test_crlf_line_ends_cut_between_cr_and_lf(tmp_path: Path) -> None:
    source = _real("text_logs", "build-nanogpt-agndm", "log_no_warmup", "log.txt")[:60_000].replace(b"\n", b"\r\n")
    target = tmp_path / "nanogpt" / "log.txt"
    target.parent.mkdir()
    reader = TailReader()
    at = 0
    for cut in (source.find(b"\r\n", 20_000) + 1, source.find(b"\r\n", 40_000) + 1, len(source)):
        with open(target, "ab") as fh:  # the writer stopped between "\r" and "\n"
            fh.write(source[at:cut])
        at = cut
        assert_same_as_load(reader.load(target.parent), target.parent)
    assert reader.resumed == 2


def _mnist_lines(epochs: int, batches: int) -> bytes:
    """The console of PyTorch's MNIST example (its own format string): the batch counter restarts
    every epoch, and each epoch ends with a test line."""
    out = []
    n = batches * 64
    for epoch in range(1, epochs + 1):
        for batch_idx in range(batches):
            loss = 2.3 / (1 + 0.01 * (epoch * batches + batch_idx))
            out.append("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * 64, n, 100.0 * batch_idx / batches, loss))
        out.append("\nTest set: Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)\n".format(
            0.1 / epoch, 9800 + epoch, 10000, 98.0 + epoch / 10))
    return ("\n".join(out) + "\n").encode()


def test_epoch_batch_counter_keeps_its_axis_across_looks(tmp_path: Path) -> None:
    source = _mnist_lines(epochs=6, batches=40)
    target = tmp_path / "mnist" / "train.out"
    target.parent.mkdir()
    reader, held = _grow(source, target, seed=11, looks=8)
    steps = held[0].series("Loss")["step"].to_numpy()
    assert len(steps) == 240 and (steps[1:] > steps[:-1]).all()  # one axis, never restarted
    assert reader.whole == 1


def test_a_log_rewritten_in_place_is_read_whole(tmp_path: Path) -> None:
    source = _real("text_logs", "build-nanogpt-agndm", "log_linear_lr", "log.txt")[:50_000]
    root = tmp_path / "run"
    root.mkdir()
    target = root / "log.txt"
    target.write_bytes(source[:30_000])
    reader = TailReader()
    reader.load(root)
    with open(target, "r+b") as fh:  # same file, same inode, earlier lines changed and more appended
        fh.write(source[30_000:40_000].replace(b"train", b"valid"))
        fh.seek(0, os.SEEK_END)
        fh.write(source[30_000:50_000])
    assert_same_as_load(reader.load(root), root)
    assert (reader.whole, reader.resumed) == (2, 0)


def test_wandb_history_jsonl_grown_chunk_by_chunk_read_as_a_whole_read(tmp_path: Path) -> None:
    """The W&B history of a real run (media records, runtime and timestamp keys), cut mid-record."""
    source = _real("wandb_run_dirs", "spaceinvaders-mfts", "wandb", "wandb-history.jsonl")
    target = tmp_path / "spaceinvaders" / "wandb-history.jsonl"
    target.parent.mkdir()
    reader, held = _grow(source, target, seed=5, looks=8)
    assert held[0].format == "wandb_history" and reader.whole == 1 and reader.resumed >= 5
    assert any("gameplays" in w for w in held[0].warnings)  # the media column, as a whole read says


def test_history_exported_without_a_final_newline_keeps_its_last_record(tmp_path: Path) -> None:
    """pandas' ``to_json(lines=True)`` export: a last record without a line end is whole, not cut."""
    source = _real("wandb_run_dirs", "spaceinvaders-mfts", "wandb", "wandb-history.jsonl")
    frame = pd.read_json(io.StringIO(source.decode()), lines=True).drop(columns=["gameplays"])
    text = frame.to_json(orient="records", lines=True).rstrip("\n")
    root = tmp_path / "export"
    root.mkdir()
    target = root / "run_history.jsonl"
    lines = text.split("\n")
    target.write_text("\n".join(lines[:100]) + "\n")
    reader = TailReader()
    reader.load(root)
    with open(target, "a") as fh:
        fh.write("\n".join(lines[100:]))
    held = reader.load(root)
    assert_same_as_load(held, root)
    assert held[0].step_range == (0, int(frame["_step"].max())) and not held[0].warnings
    with open(target, "a") as fh:  # the next record is being written
        fh.write('\n{"episodic_reward": 12')
    held = reader.load(root)
    assert_same_as_load(held, root)
    assert any("no line end" in w for w in held[0].warnings) and reader.resumed == 2


def _copy_run_folder(source: Path, target: Path, growing: str) -> bytes:
    """The run folder's small files copied as they are; the ``growing`` file left empty, its bytes returned."""
    if not source.is_dir():
        pytest.skip(f"{source} not present")
    data = b""
    for f in sorted(source.rglob("*")):
        if f.is_file():
            out = target / f.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            if f.name == growing:
                data = f.read_bytes()
                out.touch()
            else:
                out.write_bytes(f.read_bytes())
    return data


def test_wandb_run_folder_binary_log_grown_record_by_record(tmp_path: Path) -> None:
    """A W&B run folder as the client writes it: the binary run-<id>.wandb log grows (cut inside
    records and across its 32 KiB blocks); each look decodes only the records after the last one."""
    pytest.importorskip("wandb")
    name = "run-20230329_015729-t2wihhdg"
    target = tmp_path / "wandb" / name
    data = _copy_run_folder(REAL_LOGS / "wandb_run_dirs" / "verysimpletransformer" / name, target, "run-t2wihhdg.wandb")
    (target / "run-t2wihhdg.wandb").unlink()
    reader, held = _grow(data, target / "run-t2wihhdg.wandb", seed=17, looks=5)
    assert held[0].format == "wandb_run_dir" and held[0].meta["records"] > 4000  # the whole log, decoded in pieces
    assert reader.whole == 1 and reader.resumed == 4


def test_wandb_run_folder_console_and_history_jsonl_grown(tmp_path: Path) -> None:
    """Run folders whose history is the console (output.log) or the old clients' wandb-history.jsonl."""
    name = "run-20260123_005619-q4ebbqpc"
    target = tmp_path / "wandb" / name
    data = _copy_run_folder(REAL_LOGS / "wandb_run_dirs" / "loss-plateau" / name, target, "output.log")
    (target / "files" / "output.log").unlink()
    reader, held = _grow(data, target / "files" / "output.log", seed=23)
    assert held[0].meta["history_sources"] == [str(target / "files" / "output.log")]
    assert reader.resumed >= 3
    sample = Path(__file__).resolve().parents[2] / "sample_logs" / "transcribed" / "wandb_offline" / "wandb"
    name = "offline-run-20261126_095553-66f5ae86"
    target = tmp_path / "old" / "wandb" / name
    data = _copy_run_folder(sample / name, target, "wandb-history.jsonl")
    (target / "files" / "wandb-history.jsonl").unlink()
    reader, held = _grow(data, target / "files" / "wandb-history.jsonl", seed=29)
    assert held[0].meta["history_sources"][0].endswith("wandb-history.jsonl") and reader.resumed >= 3


@pytest.mark.parametrize("parts", [
    ("lightning_csv", "slm-training", "lightning_logs", "version_0", "metrics.csv"),
    ("lightning_csv", "era-v1-session13-yolov3", "lightning_logs", "version_4", "metrics.csv"),
    ("keras_csv", "brats2020-capstone", "training.log"),
    ("ultralytics", "yolov8-fire-smoke", "runs", "detect", "train", "results.csv"),
    ("generic_csv", "char-rnn-lr-sweep", "error_logs", "learning_rate_error.csv"),
])
def test_real_tables_grown_chunk_by_chunk_read_as_a_whole_read(tmp_path: Path, parts: tuple[str, ...]) -> None:
    """Delimited tables: the appended rows are parsed and converted alone (sparse validation columns,
    a clock column, a sweep whose columns are runs), every look equal to a whole read."""
    source = _real(*parts)
    target = tmp_path.joinpath(*parts[1:])
    target.parent.mkdir(parents=True)
    reader, held = _grow(source, target, seed=len(parts[1]), looks=7)
    assert reader.whole == 1 and reader.resumed >= 3
