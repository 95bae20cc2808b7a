"""Calls on public logs that an engineer reads differently from the curves' first impression
(values read by hand from the files in ../shared/real_logs and ../shared/corpus)."""

from __future__ import annotations

from pathlib import Path

import parsers
from lrdoctor.analysis import analyze

NYU = "text_logs/nyu-ssod-detectron2/output"


def _analysis(path: Path, name: str | None = None):
    runs = [r for r in parsers.load(path) if name is None or r.name == name]
    assert len(runs) == 1, path
    return analyze(runs).runs[0]


def test_loss_plateau_without_lr_curve_is_a_run_that_never_learned(real_logs: Path) -> None:
    # q4ebbqpc: Train loss 2.82 -> 2.61 in its first ~15 steps, then 2.60 +/- 0.01 for 490 steps;
    # Test Acc 0.109 at step 0 and ~0.12 to the end (chance). No LR curve is logged.
    ra = _analysis(real_logs / "wandb_run_dirs" / "loss-plateau", "q4ebbqpc")
    assert [f.mode for f in ra.findings] == ["plateau"]
    f = ra.findings[0]
    assert f.evidence["stuck"] is True and f.severity == "critical"
    assert f.evidence["metric_never_moved"]["tag"] == "Test Acc"
    assert abs(f.evidence["plateau_level"] - 2.60) < 0.02
    assert "range test" in f.recommendation and "data" in f.recommendation
    # Where a decay would pay is moot for a run that never learned; the early decay still needs the LR.
    unchecked = {m for nc in ra.not_checked for m in nc.modes}
    assert "plateau" not in unchecked and "decayed_too_early" in unchecked


def test_the_companion_run_whose_accuracy_climbs_is_not_stuck(real_logs: Path) -> None:
    # 79u2qtit: Train loss 2.65 -> 1.54 and Test Acc 0.18 -> 0.42 in 40 steps: it learns.
    ra = _analysis(real_logs / "wandb_run_dirs" / "loss-plateau", "79u2qtit")
    assert not any(f.evidence.get("stuck") for f in ra.findings)


def test_a_model_that_learned_before_its_first_evaluation_is_not_stuck(corpus: Path) -> None:
    # breast_cancer_mlp-c017: loss 0.70 -> 0.09 in the first 15 steps; eval_accuracy is 0.97-0.98
    # from its first evaluation (step 20) on: flat because it had already learned, not at chance.
    ra = _analysis(corpus / "runs" / "breast_cancer_mlp-c017")
    assert not any(f.evidence.get("stuck") for f in ra.findings)
    assert {"spikes", "overfitting"} <= {f.mode for f in ra.findings}


def test_short_stage_with_two_evaluations_is_not_called_never_learned(real_logs: Path) -> None:
    # 0.040_balance: a 2k-iteration stage that loads a trained model (WEIGHTS model_lr_0.04.pth):
    # total_loss 0.156 -> 0.163, AP 14.80 -> 15.16 in its 2 evaluations. A flat loss from a trained
    # checkpoint looks like a model that never learned; 2 evaluations cannot tell them apart.
    ra = _analysis(real_logs / NYU / "log_supervised_lr_0.040_balance.txt")
    assert [f.mode for f in ra.findings] == ["plateau"]  # no LR-too-high bounce read into the noise
    f = ra.findings[0]
    assert f.severity == "warning" and f.confidence <= 0.5
    assert f.evidence["confirmed"] is False
    assert "resumed near its floor" in f.evidence["summary"]
    assert "trained checkpoint" in f.recommendation


def test_yolov8_mosaic_switch_late_in_training_is_not_a_missing_warmup(real_logs: Path) -> None:
    # YOLOv8 fire/smoke, 25 epochs: train losses fall steadily over the first epochs (dfl 2.14 ->
    # 1.68 by epoch 6) and jump at epoch 15 when mosaic augmentation is switched off (close_mosaic).
    # A jump 60% into training is not an early instability from starting at the peak LR.
    for path in (real_logs / "ultralytics" / "yolov8-fire-smoke", real_logs / "tensorboard" / "yolov8-fire-smoke"):
        ra = _analysis(path)
        assert "no_warmup" not in {f.mode for f in ra.findings}, path
        assert "no_warmup" not in {m for nc in ra.not_checked for m in nc.modes}, path  # the window was seen
