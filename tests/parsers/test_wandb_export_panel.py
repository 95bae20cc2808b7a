"""W&B chart panel exports: every corpus run of format wandb_csv, and multi-run files."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

import parsers
from parsers import validate_scalars
from lrdoctor.cli import main as cli_main
from tests.paths import corpus_rows



def panel_counts(path: Path) -> dict[tuple[str, str], int]:
    """``{(run, key): cells with a value}`` of one panel file, read with the csv module."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    out = {}
    for i, col in enumerate(rows[0][1:], start=1):
        if col.endswith(("__MIN", "__MAX")):
            continue
        run, _, key = col.rpartition(" - ")
        out[(run, key)] = sum(1 for r in rows[1:] if r[i] != "")
    return out


@pytest.mark.parametrize("row", corpus_rows("wandb_csv"), ids=lambda r: r["run"])
def test_corpus_panel_run_loads_with_labelled_tags_and_counts(corpus, row):
    run_dir = corpus / row["path"]
    labels = json.loads((run_dir / "labels.json").read_text())
    runs = parsers.load(run_dir)
    assert len(runs) == 1 and not runs.all_warnings()
    run = runs[0]
    validate_scalars(run.scalars)
    assert run.format == "wandb_csv"
    assert Path(run.path) == run_dir
    assert run.name == labels["format_notes"]["display_name"]
    expected: dict[str, int] = {}
    for f in labels["files"]:
        for (run_name, key), n in panel_counts(run_dir / f).items():
            assert run_name == run.name
            expected[key] = n
        with open(run_dir / f, newline="") as fh:
            rows = list(csv.reader(fh))
        key = rows[0][1].rpartition(" - ")[2]
        series = run.series(key)
        assert series["step"].tolist() == [int(r[0]) for r in rows[1:]]
        # every value exactly float(cell), "NaN"/"Infinity" included
        np.testing.assert_array_equal(series["value"].to_numpy(), [float(r[1]) for r in rows[1:]])
    assert run.point_counts() == expected
    assert sorted(run.files) == sorted(str(run_dir / f) for f in labels["files"])
    assert set(labels["series"].values()) == set(expected)
    for canonical, tag in labels["series"].items():
        role = {"val_acc": "val_metric"}.get(canonical, canonical)
        assert run.roles[tag] == role
        if role != "val_metric":
            assert run.primary_tag(role) == tag
    # bands are metadata, one per tag, never extra tags
    assert set(run.meta["bands"]) == set(expected)
    assert not any(t.endswith(("__MIN", "__MAX")) for t in run.tags())
    assert run.meta["downsampled"][labels["series"]["lr"]] is False or labels["format_notes"]["bucketed"]
    assert run.scalars["wall_time"].isna().all()


def test_corpus_panel_nonfinite_values_kept(corpus):
    run = parsers.load(corpus / "runs" / "diabetes_mlp-7f8c")[0]
    loss = run.series("loss")
    # read by hand: step 252 is "Infinity", steps 253.. are "NaN"
    assert loss.loc[loss["step"] == 252, "value"].item() == math.inf
    assert math.isnan(loss.loc[loss["step"] == 253, "value"].item())
    assert loss["value"].iloc[0] == 0.998607873916626
    sweep = parsers.load(corpus / "sweeps/sweep_digits_mlp_sgd/lr_3e0")[0]
    grad = sweep.series("train/grad_norm")  # read by hand: "11","Infinity",...
    assert grad.loc[grad["step"] == 11, "value"].item() == math.inf


def test_corpus_bucketed_bands(corpus):
    run = parsers.load(corpus / "runs" / "digits_mlp-5469")[0]
    band = run.meta["bands"]["train/loss"]
    # read by hand: "0","2.2902592420578003","2.251875162124634","2.328643321990967"
    first = band.iloc[0]
    assert (first["step"], first["min"], first["max"]) == (0, 2.251875162124634, 2.328643321990967)
    assert run.series("train/loss")["value"].iloc[0] == 2.2902592420578003
    assert list(band["step"][:3]) == [0, 2, 4]
    assert run.meta["downsampled"]["train/loss"] and not run.meta["downsampled"]["train/lr"]


def _write_panel(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(header)
        w.writerows(rows)


def test_several_runs_side_by_side_and_several_charts(tmp_path):
    a, b = "lively-sun-1", "my run - lr 3e-4"
    _write_panel(
        tmp_path / "wandb_export_2024-01-01T00_00_00.000+00_00.csv",
        ["Step", f"{a} - train/loss", f"{a} - train/loss__MIN", f"{a} - train/loss__MAX",
         f"{b} - train/loss", f"{b} - train/loss__MIN", f"{b} - train/loss__MAX"],
        [["0", "2.5", "2.4", "2.6", "", "", ""],
         ["10", "2.0", "1.9", "2.1", "3.0", "3.0", "3.0"],
         ["20", "NaN", "NaN", "NaN", "Infinity", "Infinity", "Infinity"]],
    )
    _write_panel(
        tmp_path / "wandb_export_2024-01-01T00_00_10.000+00_00.csv",
        ["Step", f"{b} - train/lr", f"{b} - train/lr__MIN", f"{b} - train/lr__MAX"],
        [["10", "0.0003", "0.0003", "0.0003"], ["20", "0.0001", "0.0001", "0.0001"]],
    )
    runs = parsers.load(tmp_path)
    assert not runs.all_warnings()
    by_name = {r.name: r for r in runs}
    assert set(by_name) == {a, b}
    ra, rb = by_name[a], by_name[b]
    for r in runs:
        validate_scalars(r.scalars)
        assert r.path == str(tmp_path)
    assert ra.point_counts() == {"train/loss": 3}
    assert rb.point_counts() == {"train/loss": 2, "train/lr": 2}
    assert math.isnan(ra.series("train/loss")["value"].iloc[2])
    assert rb.series("train/loss")["value"].tolist() == [3.0, math.inf]
    assert len(rb.files) == 2 and len(ra.files) == 1
    band = ra.meta["bands"]["train/loss"]
    assert band["min"].tolist()[:2] == [2.4, 1.9] and ra.meta["downsampled"]["train/loss"]
    assert rb.primary_tag("lr") == "train/lr"


def test_panel_bad_files_warn_and_others_load(tmp_path):
    good = tmp_path / "wandb_export_good.csv"
    _write_panel(good, ["Step", "r - loss", "r - loss__MIN", "r - loss__MAX"], [["0", "1", "1", "1"]])
    (tmp_path / "wandb_export_header_only.csv").write_text('"Step","r - lr","r - lr__MIN","r - lr__MAX"\n')
    (tmp_path / "wandb_export_junk.csv").write_bytes(bytes(range(256)) * 20)
    runs = parsers.load(tmp_path)
    assert [r.name for r in runs] == ["r"] and runs[0].point_counts() == {"loss": 1}
    messages = {Path(w.path).name: w.message for w in runs.all_warnings()}
    assert "header only" in messages["wandb_export_header_only.csv"]
    assert "wandb_export_junk.csv" in messages


def test_inspect_panel_export(corpus, capsys):
    assert cli_main(["inspect", str(corpus / "runs" / "digits_mlp-8306")]) == 0
    out = capsys.readouterr().out
    assert "gentle-cloud-321  [wandb_csv]" in out and "train/lr" in out
    assert cli_main(["inspect", "--json", str(corpus / "runs" / "digits_mlp-5469")]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["runs"][0]["name"] == "rosy-snow-258"
    assert np.isfinite(payload["runs"][0]["tags"][0]["first"])
