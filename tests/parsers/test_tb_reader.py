"""TensorBoard reader on the real logs and the corpus: parity with tbparse, both decoding
paths agree, Keras split folders, roles, restarts, ``lrdoctor inspect``."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers import validate_scalars
from parsers.tb_decode import decode_protobuf
from parsers.tb_fast import decode_fast
from parsers.tb_records import frame_records
from parsers.tensorboard import read_file, run_location
from tests.paths import REPO, SHARED



def _event_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*tfevents*") if p.is_file())


REAL_FILES = _event_files(SHARED / "real_logs")
CORPUS_FILES = _event_files(SHARED / "corpus")
CORPUS_TB_LABELS = sorted(
    p for p in (SHARED / "corpus").rglob("labels.json") if json.loads(p.read_text()).get("format") == "tensorboard"
)


def _ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(SHARED)) for p in paths]


def test_shared_logs_have_event_files():
    assert len(REAL_FILES) >= 20 and len(CORPUS_FILES) >= 20


@pytest.mark.parametrize("path", REAL_FILES, ids=_ids(REAL_FILES))
def test_points_per_tag_equal_tbparse(path: Path):
    from tbparse import SummaryReader

    run = read_file(path)
    validate_scalars(run.scalars)
    _, prefix = run_location(path)
    ours = run.scalars.assign(tag=run.scalars["tag"].astype(str).str.removeprefix(prefix))
    reader = SummaryReader(str(path), extra_columns={"wall_time"})
    ref = reader.tensors if path.name.endswith(".v2") else reader.scalars
    ref_counts = ref.groupby("tag").size().to_dict()
    our_counts = ours.groupby("tag").size().to_dict()
    if path.name.endswith(".v2"):
        # tbparse's tensors also hold histograms, images and the Keras model config:
        # every tag we leave out must be one of those (not a real-number scalar).
        for tag in set(ref_counts) - set(our_counts):
            values = ref.loc[ref["tag"] == tag, "value"]
            assert not any(isinstance(v, (float, np.floating)) for v in values), tag
        ref_counts = {t: n for t, n in ref_counts.items() if t in our_counts}
    assert our_counts == ref_counts
    assert sum(our_counts.values()) > 0
    for tag in our_counts:
        a = ours[ours["tag"] == tag].sort_values(["step", "value"])
        b = ref[ref["tag"] == tag].sort_values(["step", "value"], key=lambda s: s.astype(float))
        np.testing.assert_array_equal(a["step"].to_numpy(), b["step"].to_numpy())
        np.testing.assert_array_equal(a["value"].to_numpy(), b["value"].to_numpy(dtype=float))
        np.testing.assert_array_equal(a["wall_time"].to_numpy(), b["wall_time"].to_numpy(dtype=float))


@pytest.mark.parametrize("path", REAL_FILES + CORPUS_FILES, ids=_ids(REAL_FILES + CORPUS_FILES))
def test_fast_path_equals_protobuf_path(path: Path):
    buf = path.read_bytes()
    framing = frame_records(buf)
    assert not framing.damage
    ref = decode_protobuf(buf, framing)
    fast = decode_fast(buf, framing)
    assert len(ref.codes) > 0
    assert [ref.tag_names[c] for c in ref.codes] == [fast.tag_names[c] for c in fast.codes]
    np.testing.assert_array_equal(ref.steps, fast.steps)
    np.testing.assert_array_equal(ref.walls, fast.walls)
    np.testing.assert_array_equal(ref.values, fast.values)
    np.testing.assert_array_equal(ref.is_tensor, fast.is_tensor)
    np.testing.assert_array_equal(ref.scalar_mask(), fast.scalar_mask())
    assert ref.plugins == fast.plugins and ref.hparams == fast.hparams
    assert ref.first_wall == fast.first_wall
    # the whole reader too, on both paths
    a, b = read_file(path, fast=True), read_file(path, fast=False)
    validate_scalars(a.scalars)
    assert a.scalars.equals(b.scalars)


def test_keras_split_folders_are_one_run(corpus: Path, real_logs: Path):
    run_dir = corpus / "runs" / "char_transformer-3700"
    labels = json.loads((run_dir / "labels.json").read_text())
    runs = parsers.load(run_dir)
    assert len(runs) == 1
    run = runs[0]
    assert run.path == str(run_dir) and run.name == "char_transformer-3700"
    assert len(run.files) == 2 and run.meta["tensorboard_files"] == 2
    assert set(labels["series"].values()) <= set(run.tags())
    assert run.overlaps == []
    keras = parsers.load(real_logs / "tensorboard" / "keras-tb-tutorial")
    by_name = {r.name: r for r in keras}
    assert set(by_name) == {"Exp_0_adam_200_0.2", "Exp_1_rmsprop_200_0.2", "Exp_2_sgd_200_0.2"}
    exp2 = by_name["Exp_2_sgd_200_0.2"]
    assert {"train/epoch_loss", "validation/epoch_loss", "train/epoch_accuracy"} <= set(exp2.tags())
    assert exp2.point_counts()["train/epoch_loss"] == 10


_ROLE_OF_SERIES = {"train_loss": "train_loss", "val_loss": "val_loss", "lr": "lr", "grad_norm": "grad_norm",
                   "val_acc": "val_metric"}


@pytest.mark.parametrize("labels_path", CORPUS_TB_LABELS, ids=_ids(CORPUS_TB_LABELS))
def test_corpus_runs_tags_and_roles(labels_path: Path):
    labels = json.loads(labels_path.read_text())
    runs = parsers.load(labels_path.parent)
    tb = [r for r in runs if r.format == "tensorboard"]
    assert len(tb) == 1
    run = tb[0]
    validate_scalars(run.scalars)
    assert not run.warnings
    for key, tag in labels["series"].items():
        if key.startswith("val") and labels.get("val_every") == 0:  # range tests never validate
            assert tag not in run.roles
            continue
        assert tag in run.roles, tag
        assert run.roles[tag] == _ROLE_OF_SERIES[key], (tag, run.roles[tag])
        assert run.primary_tag(_ROLE_OF_SERIES[key]) == tag


def test_gralach_two_files_are_merged_in_time_order(real_logs: Path):
    folder = real_logs / "tensorboard" / "detectron-mine-gralach" / "output"
    runs = parsers.load(folder)
    assert len(runs) == 1
    run = runs[0]
    validate_scalars(run.scalars)
    names = [Path(f).name for f in run.files]
    assert names == sorted(names)  # the 1729238878 file was written first
    # tbparse counts from PROVENANCE.md: 12 and 50 points per tag, 21 tags
    assert run.point_counts()["total_loss"] == 62
    assert len(run.scalars) == 21 * 62
    # the resumed file starts at step 1019, after the first file's last step (224):
    # the run was resumed, but no step was logged twice, so nothing is superseded
    assert run.overlaps == []
    steps = run.series("total_loss")["step"].to_numpy()
    assert steps[0] == 19 and steps[-1] == 1999


def test_inspect_on_corpus_tb_run(corpus: Path):
    run_dir = corpus / "runs" / "char_transformer-d1d3"
    out = subprocess.run(
        [sys.executable, "-m", "lrdoctor", "inspect", str(run_dir), "--json"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    text = json.dumps(data)
    assert "tensorboard" in text and "LearningRate" in text and "GradNorm/total" in text
    plain = subprocess.run(
        [sys.executable, "-m", "lrdoctor", "inspect", str(run_dir)],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )
    assert plain.returncode == 0 and "Loss/train" in plain.stdout


def test_input_files_untouched(tmp_path: Path, real_logs: Path):
    src = real_logs / "tensorboard" / "detectron2-detection-ghailen" / "output"
    before = {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in src.iterdir()}
    parsers.load(src)
    assert before == {p: (p.stat().st_mtime_ns, p.read_bytes()) for p in src.iterdir()}
    copy = tmp_path / "copy"
    shutil.copytree(src, copy)
    assert len(parsers.load(copy)[0].scalars) == len(parsers.load(src)[0].scalars)
