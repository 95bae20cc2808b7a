"""Hostile and half-written inputs (issue #15): every case ends with a warning naming the file,
the other runs load intact, and nothing crashes or hangs.

Each test is built from a case of the hostile-input audit; real logs from ../shared are the
good runs beside the bad files.
"""

from __future__ import annotations

import io
import shutil
import tarfile
import zipfile
from pathlib import Path

import pytest

import parsers
from parsers.registry import _READERS, Reader, register
from tests.timeouts import time_limit

DEEP = 1_000  # the audit's nesting depth (Python's default recursion limit)
# Seconds a load beside an alias bomb may take (the bomb used to hang loading forever).
ALIAS_BOMB_SECONDS = 60


def _good_run(real_logs: Path, dest: Path) -> Path:
    """A real detectron2 ``metrics.json`` (a JSON-lines log) copied to ``dest``."""
    src = real_logs / "detectron2_metrics_json" / "medical-waste-detectron2" / "output" / "metrics.json"
    dest.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(src, dest / "metrics.json"))


def _messages(runs: parsers.RunList, name: str) -> list[str]:
    return [w.message for w in runs.all_warnings() if Path(w.path).name == name]


def test_deeply_nested_json_file_and_lines_cost_only_themselves(real_logs: Path, tmp_path: Path) -> None:
    good = _good_run(real_logs, tmp_path / "good")
    n_good = len(good.read_text().splitlines())
    # a small notes.json that made a format sniffer raise RecursionError and lost the folder
    (tmp_path / "notes.json").write_text("\n".join(['{"a": ' + "[" * DEEP + "]" * DEEP + "}"] * 3) + "\n")
    # a detectron2 metrics.json with one deeply nested line in the middle
    d2 = tmp_path / "d2" / "metrics.json"
    d2.parent.mkdir()
    lines = good.read_text().splitlines()
    lines.insert(5, '{"iteration": 99999, "loss": ' + "[" * DEEP + "]" * DEEP + "}")
    d2.write_text("\n".join(lines) + "\n")
    # a text log line `INFO {"loss": [[[...]]]}`
    text = tmp_path / "train.log"
    text.write_text("".join(f"step {i} loss {2 - i / 100:.3f}\n" for i in range(20))
                    + 'INFO {"loss": ' + "[" * 5 * DEEP + "]" * 5 * DEEP + "}\n")
    # a W&B history JSON-lines file with a deep record
    hist = tmp_path / "history.jsonl"
    hist.write_text("".join(f'{{"_step": {i}, "loss": {2 - i / 100}}}\n' for i in range(20))
                    + '{"_step": 20, "loss": ' + "[" * DEEP + "]" * DEEP + "}\n")

    runs = parsers.load(tmp_path)
    by_file = {Path(r.path).name if Path(r.path).is_file() else Path(r.path).name: r for r in runs}
    assert len(runs) == 4, [r.path for r in runs]
    assert all("RecursionError" not in str(w) and "recursion" not in str(w) for w in runs.all_warnings())
    assert any("line 6" in m and "nested too deeply" in m for m in _messages(runs, "metrics.json"))
    assert any("line 21" in m and "nested too deeply" in m for m in _messages(runs, "train.log"))
    assert any("line 21" in m and "nested too deeply" in m for m in _messages(runs, "history.jsonl"))
    d2_run = next(r for r in runs if r.path == str(d2) or str(d2) in r.files)
    good_run = next(r for r in runs if str(good) in r.files)
    assert d2_run.point_counts() == good_run.point_counts()  # only the deep line is lost
    assert len(good_run.warnings) == 0 and n_good > 5
    assert "history" in by_file or any(str(hist) in r.files for r in runs)


def test_a_deep_json_document_is_refused_with_its_name(tmp_path: Path) -> None:
    state = tmp_path / "trainer_state.json"
    state.write_text('{"log_history": [{"step": 1, "loss": ' + "[" * DEEP + "]" * DEEP + "}]}")
    runs = parsers.load(state)
    assert runs == []
    (warning,) = runs.warnings
    assert warning.path == str(state) and "nested more than" in warning.message


def test_any_sniffer_or_reader_exception_is_a_warning_naming_the_file(real_logs: Path, tmp_path: Path) -> None:
    """The loader's per-file boundary holds for any reader, built-in or registered by a user."""
    good = _good_run(real_logs, tmp_path / "good")
    (tmp_path / "bomb.log").write_text("x\n")

    def sniff(path: Path) -> bool:
        if path.name == "bomb.log":
            raise RecursionError("maximum recursion depth exceeded")
        return False

    register(Reader(format="hostile_plugin", sniff=sniff, read=lambda p: [], priority=0))
    try:
        runs = parsers.load(tmp_path)
    finally:
        _READERS.pop("hostile_plugin")
    assert [r.files for r in runs] == [[str(good)]]
    (message,) = _messages(runs, "bomb.log")
    assert "hostile_plugin" in message and "nested too deeply" in message


def _alias_bomb(levels: int = 9) -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    previous = "a"
    for name in "bcdefghijk"[: levels - 1]:
        text += f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]\n"
        previous = name
    return text


def test_yaml_alias_bomb_in_lightning_hparams_does_not_hang(real_logs: Path, tmp_path: Path) -> None:
    src = real_logs / "lightning_csv" / "learning-rope"
    run_dir = next(p.parent for p in src.rglob("metrics.csv"))
    dest = tmp_path / "lightning_logs" / "version_0"
    shutil.copytree(run_dir, dest)
    (dest / "hparams.yaml").write_text(_alias_bomb())
    with time_limit(ALIAS_BOMB_SECONDS):
        runs = parsers.load(tmp_path)
    (run,) = runs
    assert run.point_counts()  # the curves are intact
    assert any("alias bomb" in m for m in _messages(runs, "hparams.yaml"))


def test_yaml_alias_bomb_and_self_reference_in_mlflow_meta(tmp_path: Path) -> None:
    src = Path(__file__).parents[2] / "sample_logs" / "transcribed" / "mlflow" / "mlruns"
    good = tmp_path / "good" / "mlruns"
    shutil.copytree(src, good)
    bomb = tmp_path / "bomb" / "mlruns"
    shutil.copytree(src, bomb)
    run_meta = next(p for p in bomb.rglob("meta.yaml") if p.parent.parent != bomb)
    run_meta.write_text(run_meta.read_text() + _alias_bomb())  # still sniffed as a run's meta.yaml
    loop = tmp_path / "loop" / "mlruns"
    shutil.copytree(src, loop)
    (loop / "1" / "meta.yaml").write_text("name: &a [*a]\n")  # the experiment's meta refers to itself
    with time_limit(ALIAS_BOMB_SECONDS):
        runs = parsers.load(tmp_path)
    assert len(runs) == 2  # good, and loop (only its experiment name is unknown)
    assert any("alias bomb" in w.message and w.path == str(run_meta) for w in runs.all_warnings())
    loop_run = next(r for r in runs if str(loop) in r.path)
    assert loop_run.point_counts() == next(r for r in runs if str(good) in r.path).point_counts()
    assert any("experiment meta.yaml unreadable" in w for w in loop_run.warnings)


@pytest.mark.parametrize("kind", ["csv", "text", "mlflow"])
def test_a_cut_last_line_is_dropped_with_a_warning(kind: str, tmp_path: Path) -> None:
    """A log read while training writes it: ``0.670`` cut to ``0`` must not become a loss of 0."""
    whole = 20
    if kind == "csv":
        path = tmp_path / "metrics.csv"
        path.write_text("step,loss,lr\n" + "".join(f"{i},{2 - i / 100:.3f},3.0e-04\n" for i in range(20))
                        + "20,0")
    elif kind == "text":
        path = tmp_path / "train.log"
        path.write_text("".join(f"step {i} loss {2 - i / 100:.3f} lr 3.0e-04\n" for i in range(20))
                        + "step 20 loss 1.8 lr 3")
    else:
        src = Path(__file__).parents[2] / "sample_logs" / "transcribed" / "mlflow" / "mlruns"
        shutil.copytree(src, tmp_path / "mlruns")
        path = next((tmp_path / "mlruns").rglob("metrics/train/loss"))
        whole = len(path.read_text().splitlines())
        with open(path, "a") as fh:
            fh.write("1795687300000 0")
    runs = parsers.load(tmp_path)
    (run,) = runs
    loss = run.series("loss" if kind != "mlflow" else "train/loss")["value"]
    assert len(loss) == whole and loss.min() > 0
    if kind != "mlflow":
        assert loss.min() > 1.5 and run.series("lr")["value"].max() < 1e-3
    assert any("no line end" in w.message and w.path == str(path) for w in runs.all_warnings())


def test_a_thousand_nested_folders_are_walked(real_logs: Path, tmp_path: Path) -> None:
    folders = [tmp_path / "d"]
    for _ in range(1_100):
        folders.append(folders[-1] / "d")
    for folder in folders:
        folder.mkdir()
    try:
        _good_run(real_logs, folders[-1])
        runs = parsers.load(tmp_path)
        assert len(runs) == 1 and runs[0].point_counts()
    finally:  # shutil.rmtree (pytest's cleanup of old temp folders) recurses too: leave nothing deep
        for file in folders[-1].iterdir():
            file.unlink()
        for folder in reversed(folders):
            folder.rmdir()


def test_csv_header_over_64_kib_says_why(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    columns = ["step"] + [f"metric_with_a_long_name_{i:05d}" for i in range(3_000)]
    path.write_text(",".join(columns) + "\n" + ",".join(["1"] + ["0.5"] * 3_000) + "\n")
    runs = parsers.load(path)
    (warning,) = runs.warnings
    assert warning.path == str(path) and "first line is longer than 64 KiB" in warning.message


def test_archives_say_extract_first(real_logs: Path, tmp_path: Path) -> None:
    good = _good_run(real_logs, tmp_path / "good")
    with zipfile.ZipFile(tmp_path / "logs.zip", "w") as zf:
        zf.write(good, "metrics.json")
    with tarfile.open(tmp_path / "logs.tar.gz", "w:gz") as tf:
        tf.add(good, "metrics.json")
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tf:
        tf.add(good, "metrics.json")
    (tmp_path / "renamed.log").write_bytes(data.getvalue())  # a tar under a log's name
    runs = parsers.load(tmp_path)
    assert len(runs) == 1
    for name, kind in [("logs.zip", "zip"), ("logs.tar.gz", "tar.gz"), ("renamed.log", "tar")]:
        (message,) = _messages(runs, name)
        assert f"a {kind} archive" in message and "extract it first" in message


def test_empty_folder_and_checkpoint_only_folder_say_why(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (warning,) = parsers.load(empty).warnings
    assert warning.path == str(empty) and "empty" in warning.message
    ckpt = tmp_path / "ckpt"
    (ckpt / "checkpoint-500").mkdir(parents=True)
    (ckpt / "checkpoint-500" / "model.safetensors").write_bytes(b"\x08\x00" * 64)
    with zipfile.ZipFile(ckpt / "checkpoint-500" / "optimizer.pt", "w") as zf:  # torch.save writes a zip
        zf.writestr("archive/data.pkl", b"\x80\x04N.")
    (ckpt / "final.ckpt").write_bytes(b"\x80\x04" * 32)
    (warning,) = parsers.load(ckpt).warnings
    assert warning.path == str(ckpt) and "only model checkpoints" in warning.message


def test_cli_says_why_nothing_was_analysed(tmp_path: Path, capsys) -> None:
    from lrdoctor.cli import main

    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["analyze", str(empty)]) == 2
    captured = capsys.readouterr()
    assert "0 run(s)" not in captured.out and "nothing readable" in captured.out
    assert f"warning: {empty}: no training logs found: the folder is empty" in captured.err
