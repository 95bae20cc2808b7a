"""Calls on public logs that an engineer reads differently from the curves' first impression
(values read by hand from the files in ../shared/real_logs and ../shared/corpus)."""

from __future__ import annotations

from pathlib import Path

import parsers
from lrdoctor.analysis import analyze, never_learned

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
    # checkpoint looks like a model that never learned; with no metric read as evaluated often
    # enough (its evaluator's "Eval: 0.0002 s/iter" timings are no metric) and a level, 0.158,
    # that is no classifier's chance level ln k, nothing tells them apart.
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


def test_one_lucky_evaluation_is_not_the_best_level_overfitting_rises_from(real_logs: Path) -> None:
    # DeepLabV3 wd1e-4: Test loss 0.076 -> 0.062 by epoch 8, then 0.061 0.063 0.063 0.062 0.065 0.061 0.064
    # while the training loss creeps 0.056 -> 0.053: the validation loss has flattened, with one dip
    # to 0.061 that it returns to later. Not a rise after a best.
    run = "DeepLabV3ResNet_wd1e_4"
    ra = _analysis(real_logs / "tensorboard" / "pets-seg-unipr" / "deeplabv3_resnet101" / "runs" / run)
    assert "overfitting" not in {f.mode for f in ra.findings}


def test_whisper_overfit_still_rises_from_its_best_level(real_logs: Path) -> None:
    # The counterpart: eval_loss 0.321 -> 0.358 -> 0.394 -> 0.412 -> 0.420, every evaluation above the last.
    ra = _analysis(real_logs / "hf_trainer_state" / "whisper-large-v2-ja")
    (f,) = [f for f in ra.findings if f.mode == "overfitting"]
    assert f.evidence["best_val_step"] == 1000


def test_a_network_that_died_after_a_violent_start_never_learned(real_logs: Path) -> None:
    # VerySimpleTransformer mpfhuxis (SGD 3e-3): wild first batches (0.02 .. 6.99), then
    # train_loss_local pinned at 0.693 = ln 2 with the calmest noise of its three sibling runs while
    # grad_norm_square falls from ~15 to ~0.14. Its bounce is not an LR-driven oscillation: the
    # network stopped responding to its inputs.
    runs = [r for r in parsers.load(real_logs / "wandb_run_dirs" / "verysimpletransformer") if r.name == "mpfhuxis"]
    ra = analyze(runs).runs[0]
    assert [f.mode for f in ra.findings] == ["plateau"]
    f = ra.findings[0]
    assert f.evidence["stuck"] is True and f.evidence["gradient_died"]["late"] < 0.1 * f.evidence["gradient_died"]["early"]
    assert abs(f.evidence["plateau_level"] - 0.693) < 0.01
    assert "lower the LR" in f.recommendation
    # Its sibling 8fofwqlf at SGD 1e-3 learns (PROVENANCE): the LR to try is below the 3e-3 it died at.
    assert f.suggested_lr is not None and 3e-4 <= f.suggested_lr < 3e-3


def test_models_whose_gradient_shrank_because_they_learned_are_not_dead(corpus: Path) -> None:
    # Memorising runs: the gradient norm falls to <6% of its early level too, but after the loss fell
    # from ~0.7 or ~2.3 to ~0.001 (hundreds of noise units).
    for name in ("breast_cancer_mlp-c017", "digits_mlp-d67f", "digits_mlp-15f3"):
        ra = _analysis(corpus / "runs" / name)
        assert not any(f.evidence.get("stuck") for f in ra.findings), name


def test_a_log_too_sparse_to_show_the_first_fall_is_not_a_dead_network(corpus: Path) -> None:
    # digits_mlp-d67f kept at every 50th step: its loss reads 2.3 at its first step, then ~0.04 and ~0 (the
    # fall happened between the first two points) while its gradient norm shrinks 700x as it
    # memorises. It learned; the first logged loss counts.
    import dataclasses

    (run,) = parsers.load(corpus / "runs" / "digits_mlp-d67f")
    train_side = [run.primary_tag(role) for role in ("train_loss", "grad_norm", "lr")]
    df = run.scalars
    first = df.loc[df["tag"].isin(train_side), "step"].min()  # kept from the first step, as a logger would
    drop = df["tag"].isin(train_side) & ((df["step"] - first) % 50 != 0)
    # Only the curves (no accuracy whose climb would vouch for it): what the loss and gradient say.
    keep = df["tag"].isin(train_side + [run.primary_tag("val_loss")])
    sparse = dataclasses.replace(run, scalars=df[keep & ~drop].reset_index(drop=True), roles={})
    ra = analyze([sparse]).runs[0]
    assert not any(f.evidence.get("stuck") for f in ra.findings)
    assert "overfitting" in {f.mode for f in ra.findings}


def test_a_flat_loss_at_a_chance_level_is_confirmed_without_a_metric(real_logs: Path) -> None:
    # lrqa sits at 1.39 = ln 4 (a 4-choice QA model guessing) and t2wihhdg at 0.693 = ln 2 for
    # thousands of steps, with no metric logged: the chance level itself confirms it never learned.
    for path, name, classes in ((real_logs / "hf_trainer_state" / "quality-lrqa", None, 4),
                                (real_logs / "wandb_run_dirs" / "verysimpletransformer", "t2wihhdg", 2)):
        ra = _analysis(path, name)
        (f,) = [f for f in ra.findings if f.evidence.get("stuck")]
        assert f.severity == "critical" and f.evidence.get("confirmed", True)
        assert never_learned.chance_classes(f.evidence["plateau_level"]) == classes


def test_a_run_that_ends_inside_its_warmup_is_not_told_to_raise_the_lr(real_logs: Path) -> None:
    # detectron2 Faster R-CNN demo, 300 iterations: the LR warms up linearly from 1.6e-5 to 2.5e-4
    # over the whole run, so the loss still falls fast at the end (2.63 -> 0.43). That is the warmup,
    # and says nothing of the peak LR: no "raise it 26x", and the run says why it was not judged.
    ra = _analysis(real_logs / "tensorboard" / "detectron2-detection-ghailen" / "output")
    assert "lr_too_low" not in {f.mode for f in ra.findings}
    (reason,) = [nc.reason for nc in ra.not_checked if "lr_too_low" in nc.modes]
    assert "still warming up" in reason


def test_a_noisy_test_loss_that_stopped_improving_is_no_run_still_learning(real_logs: Path) -> None:
    # UNet at lr 2e-3, the highest LR of its sweep (PROVENANCE: LR too high, test loss bouncing 3-4x
    # more than its siblings'). Its epoch-averaged training loss still falls at the end, but its test
    # loss bounces +/-0.05 around ~0.25 over the last 40%: a 6% 'gain' there is noise, and raising
    # the LR 46x would be the opposite of the cure.
    ra = _analysis(real_logs / "tensorboard" / "pets-seg-unipr" / "unet" / "runs" / "UNet_lr2e_3")
    assert "lr_too_low" not in {f.mode for f in ra.findings}


def test_a_flat_loss_far_beyond_any_chance_level_is_analysed(tmp_path: Path) -> None:
    # A loss that sits at 700,000 (a summed, unnormalised objective) at every step: ln k for that
    # many classes would overflow exp; the run is analysed as a flat loss, not "analysis failed".
    import pandas as pd

    pd.DataFrame({"step": range(20), "loss": [7e5] * 20}).to_csv(tmp_path / "metrics.csv", index=False)
    ra = _analysis(tmp_path)
    assert "not_diagnosed" not in ra.details
    assert [f.mode for f in ra.findings] == ["plateau"] and ra.findings[0].evidence["stuck"]
