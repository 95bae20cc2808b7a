"""W&B offline/synced run folders: the real ones, cut copies, and folders written by the test."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import parsers
from parsers.model import validate_scalars

HAS_WANDB = importlib.util.find_spec("wandb") is not None
needs_wandb = pytest.mark.skipif(not HAS_WANDB, reason="the binary history needs the wandb extra")
VST = "wandb_run_dirs/verysimpletransformer"


def _by_name(result) -> dict[str, parsers.Run]:
    return {r.name: r for r in result}


def test_console_only_runs_read_from_output_log(real_logs: Path) -> None:
    runs = _by_name(parsers.load(real_logs / "wandb_run_dirs/loss-plateau"))
    assert set(runs) == {"79u2qtit", "q4ebbqpc"}
    short = runs["79u2qtit"]
    validate_scalars(short.scalars)
    assert short.format == "wandb_run_dir"
    assert short.point_counts() == {"Train loss": 40, "Train Acc": 40, "Test Acc": 40}
    loss = short.series("Train loss")
    assert (loss["step"].iloc[0], loss["value"].iloc[0]) == (0, pytest.approx(2.645388603210449))
    assert (loss["step"].iloc[-1], loss["value"].iloc[-1]) == (39, pytest.approx(1.5425889492034912))
    assert short.primary_tag("train_loss") == "Train loss"
    assert short.meta["gpu"] == "Apple M1 Pro" and short.meta["gpu_count"] == 1
    assert short.meta["summary"]["train_loss"] == pytest.approx(1.5425889492034912)
    assert short.meta["console_unparsed_lines"] > 0  # the traceback at the end
    long = runs["q4ebbqpc"]
    assert long.point_counts()["Train loss"] == 500
    assert long.series("Train loss")["value"].iloc[0] == pytest.approx(2.8153765201568604)
    # every file of the folder belongs to the run: no separate text_log run from output.log
    assert all(r.format == "wandb_run_dir" for r in runs.values())


def test_metadata_config_summary_without_history(real_logs: Path) -> None:
    run = _by_name(parsers.load(real_logs / VST))["t2wihhdg"]
    assert run.path.endswith("run-20230329_015729-t2wihhdg")
    assert run.meta["gpu"] == "Tesla P100-PCIE-16GB" and run.meta["gpu_count"] == 8
    assert run.meta["cpu_count"] == 28
    assert run.meta["config"]["optimizer"] == {"bs": 4, "lr": 0.001, "method": "adam"}
    assert run.meta["config"]["seed"] == 67 and "_wandb" not in run.meta["config"]
    assert run.meta["summary"]["_step"] == 2911
    assert run.meta["runtime_s"] == pytest.approx(176.77097868919373)
    assert len(run.files) == 5  # config, summary, metadata, output.log, .wandb


@needs_wandb
def test_binary_history_complete_file(real_logs: Path) -> None:
    run = _by_name(parsers.load(real_logs / VST))["t2wihhdg"]
    validate_scalars(run.scalars)
    # summary says _step 2911: the file holds the whole history, steps 0..2911
    assert run.point_counts() == {"lr": 2912, "train_loss_local": 2912, "grad_norm_square": 2912}
    loss = run.series("train_loss_local")
    assert loss["step"].iloc[0] == 0 and loss["value"].iloc[0] == pytest.approx(1.014066219329834)
    assert loss["wall_time"].iloc[0] == pytest.approx(1680047864.0938613)
    assert loss["value"].iloc[-1] == pytest.approx(run.meta["summary"]["train_loss_local"])
    assert run.series("grad_norm_square")["value"].iloc[1] == pytest.approx(911.8275793069964)
    assert run.primary_tag("lr") == "lr" and run.primary_tag("train_loss") == "train_loss_local"
    assert not run.warnings


@needs_wandb
def test_binary_history_cut_short(real_logs: Path) -> None:
    runs = _by_name(parsers.load(real_logs / VST))
    for run_id, points in (("mpfhuxis", 4042), ("8fofwqlf", 4055)):
        run = runs[run_id]
        assert run.point_counts()["train_loss_local"] == points
        cut = [w for w in run.warnings if "file cut short" in w]
        assert len(cut) == 1 and f"run-{run_id}.wandb" in cut[0]
    assert runs["mpfhuxis"].series("lr")["value"].iloc[0] == pytest.approx(0.003)


@needs_wandb
def test_cut_copy_is_a_prefix_of_the_whole(real_logs: Path, tmp_path: Path) -> None:
    src = real_logs / VST / "run-20230329_015729-t2wihhdg"
    dst = tmp_path / "wandb" / src.name
    shutil.copytree(src, dst)
    data = (src / "run-t2wihhdg.wandb").read_bytes()
    (dst / "run-t2wihhdg.wandb").write_bytes(data[: 100_003])  # inside a record
    whole = _by_name(parsers.load(src.parent))["t2wihhdg"].series("train_loss_local")
    run = parsers.load(tmp_path)[0]
    part = run.series("train_loss_local")
    assert 0 < len(part) < len(whole)
    assert part["value"].tolist() == whole["value"].iloc[: len(part)].tolist()
    assert any("file cut short" in w and "run-t2wihhdg.wandb" in w for w in run.warnings)


def test_without_wandb_installed_says_what_is_missing(real_logs: Path) -> None:
    code = (
        "import sys; sys.modules['wandb'] = None\n"
        "import json, parsers\n"
        f"runs = parsers.load({str(real_logs / VST / 'run-20230329_015729-t2wihhdg')!r})\n"
        "r = runs[0]\n"
        "print(json.dumps({'n': len(runs), 'points': len(r.scalars), 'warnings': r.warnings,"
        " 'gpu': r.meta.get('gpu'), 'seed': r.meta['config']['seed']}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["n"] == 1 and result["points"] == 0
    assert result["gpu"] == "Tesla P100-PCIE-16GB" and result["seed"] == 67
    missing = [w for w in result["warnings"] if "run-t2wihhdg.wandb" in w]
    assert len(missing) == 1 and 'pip install "lrdoctor[wandb]"' in missing[0]


def _write_old_style_run(root: Path) -> Path:
    run = root / "wandb" / "run-20200101_120000-abc123"
    files = run / "files"
    files.mkdir(parents=True)
    (files / "config.yaml").write_text(
        "wandb_version: 1\n\n_wandb:\n  desc: null\n  value:\n    cli_version: 0.10.0\n"
        "lr:\n  desc: null\n  value: 0.0003\nbatch_size:\n  desc: null\n  value: 64\n"
    )
    rows = [
        {"_step": s, "_runtime": 1.5 * s, "_timestamp": 1577880000.0 + 1.5 * s, "train/loss": 3.0 - 0.1 * s,
         "train/lr": 3e-4, "media": {"_type": "image-file", "path": "x.png"}}
        for s in range(20)
    ]
    lines = [json.dumps(r) for r in rows]
    lines.insert(5, '{"_step": 5, "train/loss": ')  # a torn line
    (files / "wandb-history.jsonl").write_text("\n".join(lines) + "\n")
    (files / "wandb-summary.json").write_text('{"train/loss": 1.1, "_step": 19')  # truncated JSON
    (files / "wandb-metadata.json").write_text(json.dumps({"gpu": "NVIDIA A100-SXM4-40GB", "gpu_count": 4}))
    return run


def test_history_jsonl_and_bad_files(tmp_path: Path) -> None:
    run_dir = _write_old_style_run(tmp_path)
    result = parsers.load(tmp_path)
    assert len(result) == 1
    run = result[0]
    assert run.name == "abc123" and run.path == str(run_dir)
    assert run.point_counts() == {"train/loss": 20, "train/lr": 20}
    loss = run.series("train/loss")
    assert loss["value"].iloc[3] == pytest.approx(2.7)
    assert loss["wall_time"].iloc[2] == pytest.approx(1577880003.0)
    assert run.meta["config"] == {"lr": 0.0003, "batch_size": 64}
    assert run.meta["gpu"] == "NVIDIA A100-SXM4-40GB" and run.meta["gpu_count"] == 4
    assert "summary" not in run.meta
    summary_file = str(run_dir / "files" / "wandb-summary.json")
    msgs = [w for w in run.warnings if w.startswith(summary_file)]
    assert len(msgs) == 1 and "not valid JSON" in msgs[0] and "\n" not in msgs[0]
    torn = [w for w in run.warnings if "wandb-history.jsonl" in w]
    assert torn == [f"{run_dir / 'files' / 'wandb-history.jsonl'}: 1 unreadable history line(s) skipped"]


def test_garbage_wandb_file_warns_rest_loads(tmp_path: Path) -> None:
    run_dir = _write_old_style_run(tmp_path)
    (run_dir / "run-abc123.wandb").write_bytes(b":W&B\x00\x00\x00" + b"\x13" * 500)
    run = parsers.load(tmp_path)[0]
    assert run.point_counts()["train/loss"] == 20
    if HAS_WANDB:
        assert any("run-abc123.wandb" in w and "header" in w for w in run.warnings)
