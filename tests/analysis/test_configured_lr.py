"""Runs that log no LR curve: the LR-changing findings take the LR the run was configured with
(name, folder or hparams, read as the sweep machinery reads it), or say the LR is unknown.

The inputs are a corpus run's own W&B panel exports without the LR panel (a user who exported
only the loss charts), in a folder named the way users name runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.configured_lr import configured_lr
from lrdoctor.analysis.contract import analysis_to_dict

# A diverged SGD run (peak 0.8 after a warmup); its healthy twin trained at 0.05.
RUN = "digits_mlp-4fd4"
LR_MODES = ("plateau", "lr_too_low", "spikes", "oscillating", "diverged")


def _without_lr_panel(corpus: Path, dest: Path) -> Path:
    src = corpus / "runs" / RUN
    dest.mkdir(parents=True)
    for f in src.glob("wandb_export_*.csv"):
        header = f.read_text().splitlines()[0]
        if not header.endswith('- lr__MAX"'):
            shutil.copy(f, dest / f.name)
    return dest


def test_lr_in_the_folder_name_fills_the_suggestion(corpus: Path, tmp_path: Path) -> None:
    folder = _without_lr_panel(corpus, tmp_path / "digits_mlp_sgd_lr0.8")
    runs = parsers.load(folder)
    (run,) = runs
    assert run.role_series("lr") is None
    assert configured_lr(run) == (0.8, "folder")
    out = analysis_to_dict(analyze(runs))["runs"][0]
    (div,) = [f for f in out["findings"] if f["mode"] == "diverged"]
    assert div["suggested_lr_basis"] == "configured_lr"
    assert div["suggested_lr"] < 0.8 and "folder" in div["evidence"]["suggested_lr_reason"]
    twin = json.loads((corpus / "runs" / RUN / "labels.json").read_text())["twin"]["peak_lr"]
    assert max(div["suggested_lr"] / twin, twin / div["suggested_lr"]) <= 3.0
    assert out["next_run"]["peak_lr"] == div["suggested_lr"]


def test_unknown_lr_is_said_not_invented(corpus: Path, tmp_path: Path) -> None:
    folder = _without_lr_panel(corpus, tmp_path / "fluent-wave-342")
    runs = parsers.load(folder)
    assert configured_lr(runs[0]) == (None, "none")
    out = analysis_to_dict(analyze(runs))["runs"][0]
    changing = [f for f in out["findings"] if f["mode"] in LR_MODES]
    assert changing
    for f in changing:
        assert "suggested_lr" not in f and f["suggested_lr_basis"] == "lr_unknown"
        assert "no LR value is suggested" in f["evidence"]["suggested_lr_reason"]


def test_plan_keeps_the_configured_peak_when_no_finding_changes_it(real_logs: Path) -> None:
    # pets-seg UNet_lr2e_3 logs no LR; its name says 2e-3. Alone (no sweep around it) it overfits:
    # the plan stops early and keeps that peak instead of printing "peak LR ?".
    folder = real_logs / "tensorboard" / "pets-seg-unipr" / "unet" / "runs" / "UNet_lr2e_3"
    out = analysis_to_dict(analyze(parsers.load(folder)))["runs"][0]
    plan = out["next_run"]
    assert plan["peak_lr"] == 2e-3 and plan["peak_lr_basis"] == "unchanged"
    (needs_lr,) = [n for n in out["not_checked"] if "plateau" in n["modes"]]
    assert "2.0e-03" in needs_lr["reason"] and "name" in needs_lr["reason"]
