"""``lrdoctor export``: every scalar of every run of every tracker in one table, read back exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import parsers
from lrdoctor.cli import main
from lrdoctor.fleet.export import EXPORT_COLUMNS


def _check_against_load(table: pd.DataFrame, runs: parsers.RunList) -> None:
    assert list(table.columns) == list(EXPORT_COLUMNS)
    assert len(table) == sum(len(r.scalars) for r in runs) > 10_000
    assert list(dict.fromkeys(table["path"].astype(str))) == list(dict.fromkeys(r.path for r in runs))
    groups = {key: g for key, g in table.groupby(["path", "run"], observed=True, sort=False)}
    for run in runs:
        got = groups[(run.path, run.name)]
        want = run.scalars
        assert set(got["format"].astype(str)) == {run.format}
        assert got["tag"].astype(str).tolist() == want["tag"].astype(str).tolist()
        assert got["role"].astype(str).tolist() == [run.roles.get(t, "other") for t in want["tag"].astype(str)]
        assert np.array_equal(got["step"].to_numpy(np.int64), want["step"].to_numpy(np.int64))
        np.testing.assert_array_equal(got["value"].to_numpy(np.float64), want["value"].to_numpy(np.float64))
        np.testing.assert_array_equal(got["wall_time"].to_numpy(np.float64), want["wall_time"].to_numpy(np.float64))


def test_export_parquet_and_csv_read_back(real_logs: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("pyarrow", reason="pyarrow is not installed (pip install 'lrdoctor[parquet]')")
    # a mix of trackers: Keras CSVLogger, Lightning, W&B run folders, HF trainer states, TensorBoard
    paths = [real_logs / d for d in ("keras_csv", "lightning_csv", "wandb_run_dirs", "hf_trainer_state",
                                      "tensorboard")]
    runs = parsers.RunList()
    for path in paths:
        runs.extend(parsers.load(path))
    formats = {r.format for r in runs}
    assert len(formats) >= 5, "the real logs mix many trackers"
    out = tmp_path / "all.parquet"
    assert main(["export", *map(str, paths), "-o", str(out), "--jobs", "1", "--no-cache"]) == 0
    _check_against_load(pd.read_parquet(out), runs)

    csv = tmp_path / "all.csv"
    assert main(["export", *map(str, paths), "-o", str(csv), "--jobs", "1"]) == 0
    table = pd.read_csv(csv, dtype={"run": str, "path": str, "format": str, "tag": str, "role": str},
                        keep_default_na=False, na_values={"wall_time": [""], "value": ["", "nan", "inf", "-inf"]})
    table["value"] = pd.to_numeric(table["value"].replace({"inf": np.inf, "-inf": -np.inf}), errors="coerce")
    _check_against_load(table, runs)
    assert "points of" in capsys.readouterr().out


def test_export_refuses_bad_targets(real_logs: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(real_logs / "keras_csv"), "-o", str(tmp_path / "x.xlsx")]) == 2
    assert "say .parquet or .csv" in capsys.readouterr().err
    log = tmp_path / "training.log"
    log.write_bytes((real_logs / "keras_csv" / "braincnn" / "training.log").read_bytes())
    before = log.read_bytes()
    assert main(["export", str(log), "-o", str(log), "--format", "csv", "--jobs", "1"]) == 1
    assert "one of the logs" in capsys.readouterr().err
    assert log.read_bytes() == before
