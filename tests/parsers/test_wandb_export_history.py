"""W&B history exports (CSV / JSON / JSONL from the public API) and the runs-table CSV."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest

import parsers
from parsers import validate_scalars
from lrdoctor.cli import main as cli_main

T0 = 1_700_000_000.0


def history_frame() -> pd.DataFrame:
    """What ``run.history()`` returns: _step, _runtime, _timestamp, keys with '/', sparse cells."""
    steps = np.arange(6)
    return pd.DataFrame({
        "_step": steps,
        "_runtime": steps * 2.0 + 1.0,
        "_timestamp": T0 + steps * 2.0,
        "train/loss": [2.0, 1.8, 1.6, 1.5, 1.4, 1.3],
        "train/lr": [1e-4, 2e-4, 3e-4, 3e-4, 3e-4, 3e-4],
        "val/loss": [np.nan, np.nan, 1.9, np.nan, np.nan, 1.7],
        "epoch": [0, 0, 0, 1, 1, 1],
    })


@pytest.mark.parametrize("kind", ["csv", "json", "jsonl"])
def test_history_exports_written_by_pandas(tmp_path, kind):
    df = history_frame()
    path = tmp_path / f"run_abc123_history.{kind}"
    if kind == "csv":
        df.to_csv(path)  # index column included, as the docs' examples do
    elif kind == "json":
        df.to_json(path, orient="records")
    else:
        df.to_json(path, orient="records", lines=True)
    runs = parsers.load(path)
    assert not runs.all_warnings()
    (run,) = runs
    validate_scalars(run.scalars)
    assert run.format == "wandb_history" and run.name == "run_abc123_history"
    assert run.point_counts() == {"train/loss": 6, "train/lr": 6, "val/loss": 2, "epoch": 6}
    loss = run.series("train/loss")
    assert loss["step"].tolist() == list(range(6))
    assert loss["wall_time"].tolist() == (T0 + np.arange(6) * 2.0).tolist()
    assert run.series("val/loss")["step"].tolist() == [2, 5]
    assert run.meta["runtime_s"] == 11.0 and "wall_time_relative" not in run.meta
    assert run.primary_tag("lr") == "train/lr" and run.primary_tag("val_loss") == "val/loss"
    assert "_runtime" not in run.tags() and "_timestamp" not in run.tags()


@pytest.mark.parametrize("stem", ["history", "run_history", "wandb-history"])
def test_a_history_file_named_for_no_run_is_named_by_its_folder(tmp_path, stem):
    # run.history() saved as history.jsonl, or the client's wandb-history.jsonl copied out of its
    # run folder: two runs side by side must not both be called "wandb-history".
    for run in ("bright-owl-3", "calm-sea-7"):
        (tmp_path / run).mkdir()
        history_frame().to_json(tmp_path / run / f"{stem}.jsonl", orient="records", lines=True)
    assert sorted(r.name for r in parsers.load(tmp_path)) == [f"bright-owl-3/{stem}", f"calm-sea-7/{stem}"]


def test_scan_history_jsonl_keeps_logged_nan_and_skips_bad_lines(tmp_path):
    rows = [
        {"_step": 0, "_runtime": 0.5, "loss": 2.0, "media": {"_type": "image-file", "path": "x.png"}},
        {"_step": 1, "_runtime": 1.5, "loss": float("nan")},
        {"_step": 2, "_runtime": 2.5, "loss": float("inf"), "note": "text"},
        {"_step": 3, "_runtime": 3.5, "loss": None},
    ]
    path = tmp_path / "scan.jsonl"
    lines = [json.dumps(r) for r in rows]  # json writes NaN / Infinity tokens
    lines.insert(2, '{"_step": 99, "loss": 1.')  # a half-written record
    path.write_text("\n".join(lines) + "\n")
    runs = parsers.load(path)
    (run,) = runs
    validate_scalars(run.scalars)
    loss = run.series("loss")
    assert loss["step"].tolist() == [0, 1, 2]  # null is "not logged", NaN/Infinity are values
    assert math.isnan(loss["value"].iloc[1]) and loss["value"].iloc[2] == math.inf
    assert run.meta["wall_time_relative"] is True
    assert loss["wall_time"].tolist() == [0.5, 1.5, 2.5]
    messages = [w.message for w in runs.all_warnings()]
    assert any("line 3 is not a JSON object" in m for m in messages)
    assert any("non-numeric columns skipped" in m and "media" in m and "note" in m for m in messages)
    assert all(w.path == str(path) for w in runs.all_warnings())


def test_history_without_clock_or_step(tmp_path):
    pd.DataFrame({"_step": [0, 5, 10], "_runtime": [1.0, 2.0, 3.0], "loss": [1.0, 0.5, 0.25]}).to_csv(
        tmp_path / "h.csv", index=False)
    (run,) = parsers.load(tmp_path / "h.csv")
    assert run.series("loss")["step"].tolist() == [0, 5, 10]
    assert run.meta["wall_time_relative"] is True and run.wall_span == 2.0


def test_offline_run_folder_files_are_not_history_exports(tmp_path):
    files = tmp_path / "wandb" / "run-20240101_000000-abc" / "files"
    files.mkdir(parents=True)
    (files / "wandb-summary.json").write_text(json.dumps({"_step": 3, "_runtime": 4, "loss": 1.0}))
    (files / "wandb-history.jsonl").write_text('{"_step": 0, "loss": 1}\n{"_step": 1, "loss": 0.5}\n')
    from parsers.wandb import sniff_history

    assert not sniff_history(files / "wandb-summary.json")
    assert not sniff_history(files / "wandb-history.jsonl")


def test_runs_table_export_is_metadata_not_curves(tmp_path):
    path = tmp_path / "wandb_export_2024-03-01T10_00_00.000+01_00.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["Name", "State", "Notes", "User", "Tags", "Created", "Runtime", "Sweep",
                    "batch_size", "learning_rate", "optimizer", "_step", "train/loss", "val_loss", "val_acc"])
        w.writerow(["lively-sun-1", "finished", "-", "ana", "", "2024-03-01T09:00:00.000Z", "3600", "",
                    "64", "0.001", "adamw", "999", "0.31", "0.42", "0.88"])
        w.writerow(["dark-moon-2", "crashed", "-", "ana", "lr-test", "2024-03-01T09:10:00.000Z", "120", "",
                    "64", "0.1", "adamw", "120", "NaN", "", ""])
        w.writerow(["lively-sun-1", "failed", "-", "ana", "", "2024-03-01T09:20:00.000Z", "10", "",
                    "64", "0.01", "sgd", "5", "2.2", "", ""])
    runs = parsers.load(tmp_path)
    assert not runs.all_warnings()
    assert [r.name for r in runs] == ["lively-sun-1", "dark-moon-2", "lively-sun-1 (row 4)"]
    first, crashed = runs[0], runs[1]
    assert first.format == "wandb_runs_table" and first.scalars.empty
    validate_scalars(first.scalars)
    assert first.meta["config"] == {"batch_size": 64, "learning_rate": 0.001, "optimizer": "adamw"}
    assert first.meta["summary"] == {"_step": 999, "train/loss": 0.31, "val_loss": 0.42, "val_acc": 0.88}
    assert first.meta["run_info"]["State"] == "finished" and first.meta["runtime_s"] == 3600.0
    assert crashed.meta["summary"]["train/loss"] == "NaN"  # JSON-safe spelling of a logged NaN
    assert cli_main(["inspect", "--json", str(path)]) == 0


def test_api_summary_config_dataframe_csv(tmp_path):
    # the W&B docs' "export all runs of a project": summary/config dicts and names in a DataFrame
    df = pd.DataFrame({
        "summary": [{"loss": 0.2, "_step": 100}, {"loss": 0.9, "_step": 10}],
        "config": [{"lr": 0.001, "epochs": 3}, {"lr": 0.3, "epochs": 3}],
        "name": ["a-1", "b-2"],
    })
    df.to_csv(tmp_path / "project.csv")
    runs = parsers.load(tmp_path / "project.csv")
    assert [r.name for r in runs] == ["a-1", "b-2"]
    assert runs[1].meta["config"] == {"lr": 0.3, "epochs": 3}
    assert runs[0].meta["summary"] == {"loss": 0.2, "_step": 100}


def test_inspect_history(tmp_path, capsys):
    history_frame().to_json(tmp_path / "h.jsonl", orient="records", lines=True)
    assert cli_main(["inspect", str(tmp_path / "h.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "[wandb_history]" in out and "train/lr" in out
