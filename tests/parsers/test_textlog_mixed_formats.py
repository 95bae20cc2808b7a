"""One folder mixing every format loads in one ``parsers.load`` call, each run by its own reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.summary.writer.event_file_writer import EventFileWriter

import parsers


def _write_tb(folder: Path) -> None:
    writer = EventFileWriter(str(folder))
    for step in range(10):
        summary = Summary(value=[Summary.Value(tag="train/loss", simple_value=2.0 - 0.1 * step)])
        writer.add_event(Event(step=step, wall_time=1.7e9 + step, summary=summary))
    writer.close()


def _write_mlflow(root: Path) -> None:
    run = root / "mlruns" / "1" / ("f" * 32)
    (run / "metrics").mkdir(parents=True)
    (run / "params").mkdir()
    (run / "meta.yaml").write_text(
        f"artifact_uri: file://{run}/artifacts\nend_time: 1700000100000\nexperiment_id: '1'\n"
        f"lifecycle_stage: active\nrun_id: {'f' * 32}\nrun_name: mlflow-run\nrun_uuid: {'f' * 32}\n"
        "start_time: 1700000000000\nstatus: 3\nuser_id: lab\n"
    )
    (run / "metrics" / "loss").write_text("".join(f"{1700000000000 + s} {1.0 / (s + 1)} {s}\n" for s in range(7)))
    (run / "params" / "lr").write_text("0.01")


def test_mixed_folder_loads_in_one_call(real_logs: Path, corpus: Path, tmp_path: Path) -> None:
    _write_tb(tmp_path / "tb_run")
    shutil.copytree(corpus / "runs/breast_cancer_mlp-4326/lightning_logs", tmp_path / "lightning_logs")
    panel = sorted((corpus / "runs/breast_cancer_mlp-0513").glob("wandb_export_*.csv"))[0]
    (tmp_path / "wandb_panel").mkdir()
    shutil.copy(panel, tmp_path / "wandb_panel" / panel.name)
    hf = tmp_path / "hf_out"
    hf.mkdir()
    shutil.copy(real_logs / "hf_trainer_state/whisper-large-v2-ja/trainer_state.json", hf / "trainer_state.json")
    _write_mlflow(tmp_path)
    (tmp_path / "console").mkdir()
    shutil.copy(
        real_logs / "text_logs/build-nanogpt-agndm/log_linear_lr/log.txt", tmp_path / "console" / "log.txt"
    )
    (tmp_path / "console" / "metrics.json").write_text(
        "\n".join(json.dumps({"iteration": i, "total_loss": 1.0 / (i + 1), "lr": 0.01}) for i in range(5)) + "\n"
    )
    wandb_dir = tmp_path / "wandb"
    wandb_dir.mkdir()
    shutil.copytree(
        real_logs / "wandb_run_dirs/loss-plateau/run-20260123_005458-79u2qtit",
        wandb_dir / "run-20260123_005458-79u2qtit",
    )

    result = parsers.load(tmp_path)
    formats = {r.format for r in result}
    by_format: dict[str, list[parsers.Run]] = {}
    for run in result:
        by_format.setdefault(run.format, []).append(run)
    assert formats == {
        "tensorboard", "lightning_csv", "wandb_csv", "hf_trainer_state", "mlflow", "text_log", "wandb_run_dir",
    }

    assert by_format["tensorboard"][0].point_counts() == {"train/loss": 10}
    assert by_format["hf_trainer_state"][0].point_counts()["loss"] == 200
    assert by_format["mlflow"][0].name == "mlflow-run"
    assert by_format["mlflow"][0].point_counts() == {"loss": 7}
    texts = sorted(by_format["text_log"], key=lambda r: r.path)
    assert [Path(r.path).name for r in texts] == ["log.txt", "metrics.json"]
    assert texts[0].point_counts()["train_loss"] == 19073
    assert texts[1].point_counts() == {"total_loss": 5, "lr": 5}
    assert by_format["wandb_run_dir"][0].point_counts()["Train loss"] == 40
    # nothing unclaimed, nothing read twice
    assert not [w for w in result.warnings if "not a recognised" in w.message]
    files = [f for r in result for f in r.files]
    assert len(files) == len(set(files))
    for run in result:
        assert run.tags(), (run.format, run.name)
        assert run.primary_tag("train_loss") is not None, (run.format, run.name, run.tags())


def test_real_trainer_states_roles(real_logs: Path) -> None:
    result = parsers.load(real_logs / "hf_trainer_state")
    assert len(result) >= 4  # the collection grows
    for run in result:
        assert run.primary_tag("lr") in ("learning_rate", "lr")  # Star's draft heads log "lr"
        assert run.primary_tag("train_loss") == "loss"
        if "eval_loss" in run.tags():
            assert run.primary_tag("val_loss") == "eval_loss"


def test_evaluator_timings_are_no_metrics(real_logs) -> None:
    # detectron2's evaluator prints "Inference done 11/3334. Dataloading: 0.0011 s/iter. Inference:
    # 0.0355 s/iter. Eval: 0.0002 s/iter. ...": times per iteration of the inference loop, not
    # metrics, and a key never reaches back past a sentence's end ("s/iter. Eval" was one tag, a
    # val_metric by its name). The training lines' own keys stay.
    (run,) = parsers.load(real_logs / "text_logs" / "nyu-ssod-detectron2" / "output" / "log_supervised_lr_0.040_balance.txt")
    tags = set(run.scalars["tag"].unique())
    assert not {t for t in tags if "s/iter" in t or t in {"Eval", "Dataloading", "Inference", "Total"}}
    assert {"total_loss", "lr", "time"} <= tags
    assert "val_metric" not in set(run.roles.values())
