"""parsers.load on folders with bad files: one clear warning per bad file, the rest loads,
and nothing is ever written to the inputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import parsers
from tests.untouched import tree_digest


def test_missing_path_is_a_warning_not_an_exception(tmp_path: Path) -> None:
    runs = parsers.load(tmp_path / "nope")
    assert runs == []
    assert "no such file" in str(runs.warnings[0])


def test_bad_files_warn_and_good_ones_load(tmp_path: Path, corpus: Path) -> None:
    good = next(p for p in (corpus / "runs").iterdir() if list(p.glob("events.out.tfevents.*")))
    shutil.copytree(good, tmp_path / "good")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "garbage.csv").write_bytes(os.urandom(4096))
    (tmp_path / "events.out.tfevents.123.host.1.0").write_bytes(os.urandom(2048))
    (tmp_path / "notes.txt").write_text("just some notes, not a log\n")
    runs = parsers.load(tmp_path)
    assert [r.name for r in runs] == ["good"]
    messages = {Path(w.path).name: w.message for w in runs.warnings}
    assert messages["empty.csv"] == "empty file"
    assert "garbage.csv" in messages
    assert "events.out.tfevents.123.host.1.0" in messages
    assert "notes.txt" not in messages  # a folder walk does not complain about non-log files
    for w in runs.warnings:
        assert "\n" not in str(w)


def test_loading_never_writes_to_inputs(real_logs: Path) -> None:
    before = tree_digest(real_logs)
    parsers.load(real_logs)
    assert tree_digest(real_logs) == before


def test_progress_callback_can_cancel(corpus: Path) -> None:
    seen: list[int] = []

    def progress(done: int, total: int, current: str) -> bool:
        seen.append(done)
        return done < 3

    runs = parsers.load(corpus / "runs", progress=progress)
    assert seen[:4] == [0, 1, 2, 3]
    assert any("cancelled" in w.message for w in runs.warnings)


def test_generic_and_clashing_run_names_take_their_parent_folder(real_logs: Path, tmp_path: Path) -> None:
    runs = parsers.load(real_logs / "tensorboard")
    names = [r.name for r in runs]
    assert "detectron-mine-gralach/output" in names
    assert "detectron2-detection-ghailen/output" in names
    assert "UNet_lr2e_3" in names  # a telling name is left alone
    assert len(set(names)) == len(names)
    # two runs whose own folder names clash
    for parent in ("a", "b"):
        shutil.copytree(real_logs / "tensorboard/pets-seg-unipr/unet/runs/UNet_lr1e_3", tmp_path / parent / "UNet_lr1e_3")
    clash = sorted(r.name for r in parsers.load(tmp_path))
    assert clash == ["a/UNet_lr1e_3", "b/UNet_lr1e_3"]
