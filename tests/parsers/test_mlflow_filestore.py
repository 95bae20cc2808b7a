"""MLflow file-store runs, written by hand exactly as MLflow's FileStore writes them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import parsers
from parsers import mlflow as mlflow_reader
from parsers.model import validate_scalars

EXP_ID = "753884796909271804"
RUN_ID = "cd3104731f064853bd3c04cbb570febc"
T0_MS = 1745058303933


def _write_experiment(root: Path, exp_id: str = EXP_ID, name: str = "AlphaTriangle") -> Path:
    exp = root / "mlruns" / exp_id
    exp.mkdir(parents=True, exist_ok=True)
    (exp / "meta.yaml").write_text(
        f"artifact_location: file://{exp}\n"
        f"creation_time: {T0_MS}\n"
        f"experiment_id: '{exp_id}'\n"
        f"last_update_time: {T0_MS}\n"
        "lifecycle_stage: active\n"
        f"name: {name}\n"
    )
    return exp


def _write_run(exp: Path, run_id: str = RUN_ID, run_name: str | None = "bold-fox-42", steps: int = 5) -> Path:
    run = exp / run_id
    for sub in ("metrics/train", "params", "tags", "artifacts"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    meta = (
        f"artifact_uri: file://{run}/artifacts\n"
        f"end_time: {T0_MS + 60_000}\n"
        "entry_point_name: ''\n"
        f"experiment_id: '{exp.name}'\n"
        "lifecycle_stage: active\n"
        f"run_id: {run_id}\n"
    )
    if run_name is not None:
        meta += f"run_name: {run_name}\n"
    meta += (
        f"run_uuid: {run_id}\n"
        "source_name: ''\n"
        "source_type: 4\n"
        "source_version: ''\n"
        f"start_time: {T0_MS}\n"
        "status: 3\n"
        "tags: []\n"
        "user_id: lab\n"
    )
    (run / "meta.yaml").write_text(meta)
    # FileStore appends "%s %s %s\n" % (timestamp, value, step) per logged value.
    (run / "metrics/train/loss").write_text(
        "".join(f"{T0_MS + 1000 * s} {2.5 / (s + 1)} {s}\n" for s in range(steps))
    )
    (run / "metrics/lr").write_text("".join(f"{T0_MS + 1000 * s} {1e-3 * (s + 1)} {s}\n" for s in range(steps)))
    (run / "metrics/val_loss").write_text(f"{T0_MS + 5000} 1.25 4\n{T0_MS + 9000} nan 8\n{T0_MS + 9500} inf 9\n")
    (run / "params/learning_rate").write_text("0.001")
    (run / "params/optimizer").write_text("adamw")
    (run / "tags/mlflow.runName").write_text(run_name or "")
    (run / "tags/mlflow.user").write_text("lab")
    return run


def _only(result) -> parsers.Run:
    assert len(result) == 1, [r.name for r in result]
    return result[0]


def test_run_folder_reads_whole_run(tmp_path: Path) -> None:
    exp = _write_experiment(tmp_path)
    run_dir = _write_run(exp)
    result = parsers.load(tmp_path / "mlruns")
    run = _only(result)
    validate_scalars(run.scalars)
    assert run.format == "mlflow"
    assert run.name == "bold-fox-42"
    assert run.path == str(run_dir)
    assert run.point_counts() == {"lr": 5, "train/loss": 5, "val_loss": 3}
    assert run.primary_tag("train_loss") == "train/loss"
    assert run.primary_tag("lr") == "lr"
    assert run.primary_tag("val_loss") == "val_loss"
    loss = run.series("train/loss")
    assert loss["step"].tolist() == [0, 1, 2, 3, 4]
    assert loss["value"].iloc[1] == pytest.approx(1.25)
    assert loss["wall_time"].iloc[2] == pytest.approx((T0_MS + 2000) / 1000)
    val = run.series("val_loss")["value"].tolist()
    assert val[0] == 1.25 and math.isnan(val[1]) and math.isinf(val[2])
    assert run.meta["params"] == {"learning_rate": "0.001", "optimizer": "adamw"}
    assert run.meta["tags"]["mlflow.user"] == "lab"
    assert run.meta["run_id"] == RUN_ID
    assert run.meta["experiment_name"] == "AlphaTriangle"
    assert run.meta["start_time"] == pytest.approx(T0_MS / 1000)
    assert run.meta["end_time"] - run.meta["start_time"] == pytest.approx(60.0)
    # every consumed file is listed; nothing was left to other readers
    listed = set(run.files)
    for file in run_dir.rglob("*"):
        if file.is_file():
            assert str(file) in listed
    assert not result.all_warnings()


def test_name_from_tag_then_run_id(tmp_path: Path) -> None:
    exp = _write_experiment(tmp_path)
    older = _write_run(exp, run_id="a" * 32, run_name=None)
    (older / "tags/mlflow.runName").write_text("from-tag")
    bare = _write_run(exp, run_id="b" * 32, run_name=None)
    (bare / "tags/mlflow.runName").unlink()
    names = sorted(r.name for r in parsers.load(exp))
    assert names == ["b" * 32, "from-tag"]


def test_two_column_metrics_of_old_mlflow_and_bad_lines(tmp_path: Path) -> None:
    exp = _write_experiment(tmp_path)
    run_dir = _write_run(exp)
    (run_dir / "metrics/acc").write_text(f"{T0_MS} 0.5\n{T0_MS + 10} 0.75\n")
    bad = run_dir / "metrics/train/loss"
    bad.write_text(f"{T0_MS} 2.0 0\ngarbage here\n{T0_MS + 5} 1.5 1\n{T0_MS + 6} 1.0 2 extra\n\n")
    run = _only(parsers.load(tmp_path))
    assert run.series("acc")["step"].tolist() == [0, 0]
    assert run.series("acc")["value"].tolist() == [0.5, 0.75]
    assert run.series("train/loss")["value"].tolist() == [2.0, 1.5]
    msgs = [w for w in run.warnings if str(bad) in w]
    assert msgs == [f"{bad}: 2 malformed line(s) skipped (first: line 2)"]


def test_bad_meta_yaml_warns_other_runs_load(tmp_path: Path) -> None:
    exp = _write_experiment(tmp_path)
    _write_run(exp, run_id="a" * 32, run_name="good")
    broken = _write_run(exp, run_id="c" * 32, run_name="broken")
    (broken / "meta.yaml").write_text("run_id: x\nexperiment_id: '1'\nstart_time: [unclosed\n")
    result = parsers.load(tmp_path)
    assert [r.name for r in result] == ["good"]
    msgs = [str(w) for w in result.warnings if str(broken / "meta.yaml") in str(w)]
    assert len(msgs) == 1 and "not valid YAML" in msgs[0] and "\n" not in msgs[0]


def test_sniff_needs_run_meta_with_metrics(tmp_path: Path) -> None:
    exp = _write_experiment(tmp_path)
    run_dir = _write_run(exp)
    assert mlflow_reader.sniff(run_dir / "meta.yaml")
    assert not mlflow_reader.sniff(exp / "meta.yaml")  # the experiment's own meta.yaml
    other = tmp_path / "proj"
    (other / "metrics").mkdir(parents=True)
    (other / "meta.yaml").write_text("title: my project\nversion: 2\n")
    assert not mlflow_reader.sniff(other / "meta.yaml")


def test_empty_metrics_folder_gives_run_with_warning(tmp_path: Path) -> None:
    exp = _write_experiment(tmp_path)
    run_dir = _write_run(exp)
    for f in list((run_dir / "metrics").rglob("*")):
        if f.is_file():
            f.unlink()
    run = _only(parsers.load(tmp_path))
    assert run.scalars.empty
    assert any("logged no metrics" in w for w in run.warnings)
    assert run.meta["params"]["optimizer"] == "adamw"
