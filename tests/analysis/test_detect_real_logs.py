"""Exact cases on real public logs (expected values read by hand from the files)."""

from __future__ import annotations

from pathlib import Path

import parsers
from lrdoctor.analysis import analyze

YOLO = "lightning_csv/era-v1-session13-yolov3/lightning_logs"


def _one(path: Path):
    runs = parsers.load(path)
    assert len(runs) == 1, path
    return analyze(runs).runs[0]


def test_detect_yolov3_version1_diverges_to_nan(real_logs: Path) -> None:
    ra = _one(real_logs / YOLO / "version_1" / "metrics.csv")
    modes = {f.mode: f for f in ra.findings}
    assert "diverged" in modes
    f = modes["diverged"]
    # metrics.csv: train_loss is 16.3 at step 4,549 and "nan" from step 4,599 to the end.
    assert f.step_start == 4599
    assert f.evidence["diverged_at_step"] == 4599
    assert f.evidence["first_nonfinite_step"] == 4599
    assert f.severity == "critical"
    assert f.step_end == ra.run.step_range[1] or f.step_end <= ra.run.step_range[1]
    assert ra.suggested_lr is not None and ra.suggested_lr < 0.089  # below the 0.089 peak


def test_detect_yolov3_version4_does_not_diverge(real_logs: Path) -> None:
    ra = _one(real_logs / YOLO / "version_4" / "metrics.csv")
    assert "diverged" not in {f.mode for f in ra.findings}


def test_detect_lrqa_plateau_at_chance(real_logs: Path) -> None:
    ra = _one(real_logs / "hf_trainer_state" / "quality-lrqa")
    modes = {f.mode: f for f in ra.findings}
    assert set(modes) == {"plateau"}
    # loss stays at ln(4) = 1.386 for the whole run
    assert abs(modes["plateau"].evidence["plateau_level"] - 1.386) < 0.01


def test_detect_whisper_overfits_after_first_eval(real_logs: Path) -> None:
    ra = _one(real_logs / "hf_trainer_state" / "whisper-large-v2-ja")
    modes = {f.mode: f for f in ra.findings}
    assert "overfitting" in modes
    f = modes["overfitting"]
    # eval_loss: 0.3210 @1000, 0.3585 @2000, 0.3937 @3000, 0.4123 @4000, 0.4200 @5000
    assert f.evidence["best_val_step"] == 1000 == f.step_start
    assert abs(f.evidence["best_val_loss"] - 0.321) < 1e-3
    assert "1,000" in f.recommendation


def test_detect_tinyllama_healthy(real_logs: Path) -> None:
    ra = _one(real_logs / "hf_trainer_state" / "tinyllama-finetune-dheena")
    assert ra.findings == []


def test_detect_transformer_stuck_at_ln2_never_learned(real_logs: Path) -> None:
    # VerySimpleTransformer t2wihhdg (Adam 1e-3, IMDB): train_loss_local sits at ~0.693 = ln 2
    # (chance) for ~2.9k steps after a few wild first batches (1.01, 2.49, 0.41, ...): it never
    # learned. Its bounce is minibatch noise at chance, not an LR too high, and not a warmup issue.
    runs = [r for r in parsers.load(real_logs / "wandb_run_dirs" / "verysimpletransformer") if r.name == "t2wihhdg"]
    ra = analyze(runs).runs[0]
    assert [f.mode for f in ra.findings] == ["plateau"]
    f = ra.findings[0]
    assert f.evidence["stuck"] is True and f.severity == "critical"
    assert abs(f.evidence["plateau_level"] - 0.693) < 0.02
    assert "range test" in f.recommendation and "data" in f.recommendation


def test_detect_run_without_lr_curve_says_what_was_not_checked(real_logs: Path) -> None:
    # loss-plateau 79u2qtit logs no LR curve; its config holds lr 1e-4 (constant, no schedule logged).
    # (Its sibling q4ebbqpc never learned: a plateau where decaying pays is moot there, see
    # test_real_logs_calls.py.)
    runs = [r for r in parsers.load(real_logs / "wandb_run_dirs" / "loss-plateau") if r.name == "79u2qtit"]
    ra = analyze(runs).runs[0]
    (nc,) = [nc for nc in ra.not_checked if "plateau" in nc.modes]
    assert "decayed_too_early" in nc.modes and "LR curve" in nc.reason and "1.0e-04" in nc.reason
