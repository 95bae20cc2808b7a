"""Lightning ``metrics.csv``: every corpus run of that format and the real Lightning logs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import parsers
from parsers import validate_scalars
from lrdoctor.cli import main as cli_main
from tests.paths import corpus_rows



def column_counts(path: Path, skip: tuple[str, ...] = ("step",)) -> dict[str, int]:
    """Non-empty cells per column, read with the csv module (the expected point counts)."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    counts = {h: 0 for h in header if h not in skip}
    for row in rows[1:]:
        for name, cell in zip(header, row):
            if name in counts and cell != "":
                counts[name] += 1
    return {k: v for k, v in counts.items() if v}


def column_points(path: Path) -> dict[str, list[tuple[int, float]]]:
    """``{column: [(step, float(cell)), ...]}`` of the filled cells, in file order."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    step_i = header.index("step")
    out: dict[str, list[tuple[int, float]]] = {}
    for row in rows[1:]:
        for name, cell in zip(header, row):
            if name != "step" and cell != "":
                out.setdefault(name, []).append((int(row[step_i]), float(cell)))
    return out


def assert_same_points(run, expected: dict[str, list[tuple[int, float]]]) -> None:
    for tag, points in expected.items():
        sel = run.scalars[run.scalars["tag"] == tag]
        steps, values = zip(*points)
        assert sel["step"].tolist() == list(steps), tag
        np.testing.assert_array_equal(sel["value"].to_numpy(), np.array(values), err_msg=tag)


@pytest.mark.parametrize("row", corpus_rows("lightning_csv"), ids=lambda r: r["run"])
def test_corpus_lightning_run_loads_with_labelled_tags_and_counts(corpus, row):
    run_dir = corpus / row["path"]
    labels = json.loads((run_dir / "labels.json").read_text())
    metrics = run_dir / next(f for f in labels["files"] if f.endswith("metrics.csv"))
    runs = parsers.load(run_dir)
    assert len(runs) == 1 and not runs.all_warnings()
    run = runs[0]
    validate_scalars(run.scalars)
    assert run.format == "lightning_csv"
    assert Path(run.path) == metrics
    assert run_dir.name in run.name
    assert run.point_counts() == column_counts(metrics)
    assert_same_points(run, column_points(metrics))  # every value exactly float(cell)
    assert run.scalars["wall_time"].isna().all()
    header = next(csv.reader(open(metrics, newline="")))
    for canonical, tag in labels["series"].items():
        if tag not in header:  # range tests list val series they never logged
            continue
        role = {"val_acc": "val_metric"}.get(canonical, canonical)
        assert run.roles[tag] == role, (tag, run.roles)
        if role != "val_metric":
            assert run.primary_tag(role) == tag
    hparams = yaml.safe_load((metrics.parent / "hparams.yaml").read_text())
    assert run.meta["hparams"] == hparams
    assert str(metrics.parent / "hparams.yaml") in run.files


def test_corpus_lightning_exact_values_read_by_hand(corpus):
    run = parsers.load(corpus / "runs" / "digits_mlp-7922")[0]
    assert run.name == "digits_mlp-7922/version_0"
    loss = run.series("train_loss")
    assert loss["step"].iloc[0] == 0 and loss["value"].iloc[0] == 2.3079605102539062
    lr = run.series("lr-SGD")
    assert lr.loc[lr["step"] == 1, "value"].item() == 0.049999807234536765
    grad = run.series("grad_2.0_norm_total")
    assert grad["value"].iloc[0] == 0.44757893681526184
    assert run.roles["lr-SGD-momentum"] == "momentum"
    assert run.meta["hparams"]["optimizer"] == "SGD" and run.meta["hparams"]["lr"] == 0.05


def test_real_lightning_nan_divergence_keeps_its_nans(real_logs):
    path = real_logs / "lightning_csv/era-v1-session13-yolov3/lightning_logs/version_1/metrics.csv"
    run = parsers.load(path)[0]
    validate_scalars(run.scalars)
    assert run.name == "era-v1-session13-yolov3/version_1"
    assert run.point_counts() == column_counts(path)
    loss = run.series("train_loss")
    assert int(loss["value"].isna().sum()) == 560  # PROVENANCE: 560 "nan" cells, all train_loss
    assert loss["step"][loss["value"].isna()].min() == 4599
    assert loss["value"].iloc[0] == 15.958762168884277 and loss["step"].iloc[0] == 49
    lr = run.series("lr-Adam")
    assert len(lr) == 651 and lr["value"].iloc[0] == 0.0018197152986678127
    assert run.primary_tag("lr") == "lr-Adam" and run.primary_tag("train_loss") == "train_loss"
    # hparams.yaml pickles python objects: read as plain data, nothing constructed
    assert run.meta["hparams"]["epochs"] == 40
    assert isinstance(run.meta["hparams"]["loss_criterion"], dict)


def test_real_lightning_logs_all_load(real_logs):
    runs = parsers.load(real_logs / "lightning_csv")
    assert sorted(r.name for r in runs) == [
        "engines/version_3",
        "era-v1-session13-yolov3/version_1",
        "era-v1-session13-yolov3/version_4",
        "slm-training/version_0",
    ]
    assert not runs.all_warnings()
    for run in runs:
        validate_scalars(run.scalars)
        assert run.point_counts() == column_counts(Path(run.path))
        assert_same_points(run, column_points(Path(run.path)))
    by_name = {r.name: r for r in runs}
    slm = by_name["slm-training/version_0"]
    assert slm.primary_tag("lr") is None  # sparse file with no LR column
    assert slm.primary_tag("train_loss") == "train_loss_step"
    assert slm.roles["epoch_time"] == "other"  # seconds per epoch, not per step
    assert slm.series("train_loss_step")["value"].iloc[0] == 7.628580570220947
    rope = by_name["engines/version_3"]
    assert np.all(rope.series("lr-AdamW")["value"] == 0.001)
    assert rope.meta["hparams"] == {"lr": 0.001, "max_epochs": 100, "num_classes": 200, "weight_decay": 0.05}


def test_inspect_lightning_json(real_logs, capsys):
    path = real_logs / "lightning_csv/era-v1-session13-yolov3/lightning_logs/version_1"
    assert cli_main(["inspect", "--json", str(path)]) == 0
    payload = json.loads(capsys.readouterr().out)
    (run,) = payload["runs"]
    tags = {t["tag"]: t for t in payload["runs"][0]["tags"]}
    assert run["format"] == "lightning_csv"
    assert tags["train_loss"]["non_finite"] == 560 and tags["lr-Adam"]["role"] == "lr"
