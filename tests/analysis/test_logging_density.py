"""The same training logged sparsely or bucketed gets the same diagnosis, or says what it cannot see (#12).

Real corpus runs are re-logged the two ways real logs thin a curve out:

- every 10th step only (a ``log_every_n_steps`` setting), written with TensorBoard's own event writer;
- bucketed to ~100 points, each the bucket's mean with its ``__MIN``/``__MAX`` band, the way the W&B
  chart export writes them.

A symptom shorter than the logging interval cannot be seen; the run then says so in
``not_checked`` (text and JSON) instead of passing as healthy.
"""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.contract import analysis_to_dict

ROLES = ("train_loss", "val_loss", "lr", "grad_norm")
TRAIN_SIDE = ("train_loss", "lr", "grad_norm")


def _curves(src: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The run's curves by role (tags from its labels), one value per step."""
    labels = json.loads((src / "labels.json").read_text())
    (run,) = parsers.load(src)
    out = {}
    for role in ROLES:
        tag = labels["series"].get(role)
        if tag is None:
            continue
        df = run.series(tag).drop_duplicates("step", keep="last").sort_values("step")
        out[role] = (df["step"].to_numpy(np.int64), df["value"].to_numpy(np.float64))
    return out


def _write_sparse_tensorboard(src: Path, out: Path, every: int, drop: tuple[str, ...] = ()) -> Path:
    """The train-side curves at every ``every``-th step (evaluations as they were), with
    TensorBoard's own event writer; the roles in ``drop`` left out."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    tags = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "lr", "grad_norm": "grad_norm"}
    writer = EventFileWriter(str(out))
    points: dict[int, list] = {}
    for role, (steps, values) in _curves(src).items():
        if role in drop:
            continue
        keep = (steps - steps[0]) % every == 0 if role in TRAIN_SIDE else np.ones(len(steps), bool)
        for s, v in zip(steps[keep], values[keep]):
            points.setdefault(int(s), []).append(summary_pb2.Summary.Value(tag=tags[role], simple_value=float(v)))
    for step in sorted(points):
        writer.add_event(event_pb2.Event(wall_time=1.7e9 + step, step=step, summary=summary_pb2.Summary(value=points[step])))
    writer.close()
    return out


def _num(x: float) -> str:
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity") if math.isinf(x) else repr(float(x))


def _write_bucketed_wandb(src: Path, out: Path, buckets: int = 100) -> Path:
    """W&B chart exports of the train-side curves bucketed to ~``buckets`` points: the bucket's
    mean with its ``__MIN``/``__MAX`` (evaluations as they were, one point each)."""
    out.mkdir(parents=True, exist_ok=True)
    curves = _curves(src)
    span = int(curves["train_loss"][0][-1] - curves["train_loss"][0][0]) + 1
    width = max(1, math.ceil(span / buckets))
    keys = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr", "grad_norm": "train/grad_norm"}
    for i, (role, (steps, values)) in enumerate(curves.items()):
        col = f"quiet-sun-7 - {keys[role]}"
        if role in TRAIN_SIDE:
            b = (steps - steps[0]) // width
            starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
            with np.errstate(invalid="ignore"):
                mean = np.add.reduceat(values, starts) / np.diff(np.r_[starts, len(values)])
            lo, hi = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
            steps = steps[starts]
        else:
            mean, lo, hi = values, values, values
        with open(out / f"wandb_export_2026-12-03T10_00_{i:02d}.000+01_00.csv", "w", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_ALL)
            w.writerow(["Step", col, col + "__MIN", col + "__MAX"])
            for row in zip(steps, mean, lo, hi):
                w.writerow([str(int(row[0]))] + [_num(x) for x in row[1:]])
    return out


def _analysis(path: Path):
    runs = parsers.load(path)
    assert len(runs) == 1
    return analyze(runs).runs[0]


def _labels(src: Path) -> set[str]:
    return set(json.loads((src / "labels.json").read_text())["modes"])


# Each run's labelled modes that a log kept every 10th step can still show: a blow-up that never
# recovers (its 10x point sampled or not: digits_mlp-4fd4's log catches 6x of it), an overfit,
# a run still falling at the end (char_transformer-7597's 40-point tail only within noise of the
# 10% bar, its evaluations surely still falling settle it), an LR decayed too early, healthy runs.
SEEN_EVERY_10TH = ["digits_mlp-3fcd", "digits_mlp-4fd4", "breast_cancer_mlp-8093", "digits_cnn-6220",
                   "char_transformer-c26e", "char_transformer-7597", "char_transformer-ac76", "digits_mlp-d2ac",
                   "synth_clf_mlp-8a8d"]


def test_a_blow_up_the_sparse_log_samples_is_divergence_not_a_missing_warmup(corpus: Path, tmp_path: Path) -> None:
    # digits_mlp-3fcd at LR 1.5 is at 140x its start by step 10: logged every 10th step, its second
    # point is the blow-up. The initial level is the first point's (within 3 steps of the start),
    # not a median that takes in the blow-up and then reads the dead network at ln 10 as recovered.
    ra = _analysis(_write_sparse_tensorboard(corpus / "runs" / "digits_mlp-3fcd", tmp_path / "r", every=10))
    (f,) = ra.findings
    assert f.mode == "diverged" and f.evidence["diverged_at_step"] == 10
    assert f.evidence["initial_loss"] == pytest.approx(2.31, abs=0.01)


def test_what_a_sparse_log_cannot_show_is_said(corpus: Path, tmp_path: Path) -> None:
    # char_transformer-df41 climbs from 3.5 to 6.2 in steps 1-3 without a warmup: logged every 10th
    # step, the climb falls between two points. The run must not pass as healthy in silence.
    src = corpus / "runs" / "char_transformer-df41"
    assert {f.mode for f in _analysis(src).findings} == {"no_warmup"}
    out = _write_sparse_tensorboard(src, tmp_path / "df41", every=10)
    ra = _analysis(out)
    assert "no_warmup" not in {f.mode for f in ra.findings}
    unchecked = {m: nc.reason for nc in ra.not_checked for m in nc.modes}
    assert "logged every 10 steps" in unchecked["no_warmup"]
    assert "logged every 10 steps" in unchecked["spikes"]
    entry = analysis_to_dict(analyze(parsers.load(out)))["runs"][0]
    assert {"no_warmup", "spikes"} <= {m for nc in entry["not_checked"] for m in nc["modes"]}
    text = subprocess.run([sys.executable, "-m", "lrdoctor", "analyze", str(out)], capture_output=True,
                          text=True, check=True).stdout
    assert "not checked: no warmup: the loss is logged every 10 steps" in text


def test_the_dense_log_has_nothing_unchecked_for_its_density(corpus: Path) -> None:
    ra = _analysis(corpus / "runs" / "char_transformer-df41")
    assert not {"no_warmup", "spikes"} & {m for nc in ra.not_checked for m in nc.modes}


@pytest.mark.parametrize("name", ["digits_mlp-3fcd", "digits_mlp-c152", "digits_cnn-6732", "digits_mlp-41ca"])
def test_a_bucketed_export_shows_blow_ups_and_spikes_in_its_max_band(corpus: Path, tmp_path: Path, name: str) -> None:
    # Bucketed to ~100 points, the 2-3 step spikes of digits_cnn-6732 are diluted to a fifth in their
    # bucket's mean, and digits_mlp-3fcd's first bucket already averages its blow-up; the band's
    # maxima keep both whole.
    src = corpus / "runs" / name
    ra = _analysis(_write_bucketed_wandb(src, tmp_path / name))
    assert {f.mode for f in ra.findings} == _labels(src)
    if "spikes" in _labels(src):
        assert "per-bucket maxima" in ra.findings[0].evidence["summary"]
        assert not any("spikes" in nc.modes for nc in ra.not_checked)  # the band keeps every step's height


@pytest.mark.parametrize("name", ["digits_mlp-d2ac", "synth_clf_mlp-8a8d", "char_transformer-4295", "digits_cnn-73e2", "diabetes_mlp-0fe0"])
def test_healthy_runs_stay_healthy_at_any_density(corpus: Path, tmp_path: Path, name: str) -> None:
    src = corpus / "runs" / name
    assert _labels(src) == set()
    for out in (_write_sparse_tensorboard(src, tmp_path / "sparse", every=10), _write_bucketed_wandb(src, tmp_path / "b")):
        assert _analysis(out).findings == []


# Logged every 50th step, a 650-1000-step run keeps 13-20 points. What such a log still shows: a
# run at an LR too low falls in a straight line (digits_mlp-89c3, digits_cnn-4d9e: their noise is
# read from second differences, which a trend does not enter, not from a median the trend
# reproduces), and a blow-up that left the network at ln 10 for good (digits_mlp-4fd4: 0.27 at step
# 50, 3.7 at step 150, then ln 10 calm to the end), and one the training log misses whole but the
# first evaluation caught (digits_mlp-c152: 16.5 at step 25 against a start of 2.31, ln 10 after).
SEEN_EVERY_50TH = ["digits_mlp-89c3", "digits_cnn-4d9e", "digits_mlp-4fd4", "digits_mlp-f351", "digits_mlp-c152"]


@pytest.mark.parametrize(("name", "every"), [(n, 10) for n in SEEN_EVERY_10TH] + [(n, 50) for n in SEEN_EVERY_50TH])
def test_a_sparse_log_gets_the_diagnosis_its_points_can_show(corpus: Path, tmp_path: Path, name: str,
                                                             every: int) -> None:
    src = corpus / "runs" / name
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / name, every=every))
    assert {f.mode for f in ra.findings} == _labels(src)


def test_a_blow_up_before_the_second_point_reads_as_never_learned_without_evaluations(
        corpus: Path, tmp_path: Path) -> None:
    # digits_mlp-3fcd blows up within 10 steps and sits at ln 10 for good: logged every 50th step
    # with no evaluation, the log shows a classifier at chance from its first point to its last.
    # That is what the engineer sees, and the remedy that fits it (check the setup, bracket the
    # LR), never "healthy".
    ra = _analysis(_write_sparse_tensorboard(corpus / "runs" / "digits_mlp-3fcd", tmp_path / "r", every=50,
                                             drop=("val_loss",)))
    (f,) = ra.findings
    assert f.mode == "plateau" and f.evidence["stuck"] and f.remedy == "setup"
    assert f.severity == "critical"  # confirmed: ln 10 is a 10-class chance level


def test_a_blow_up_before_the_second_point_shows_in_the_first_evaluation(corpus: Path, tmp_path: Path) -> None:
    # With its evaluations, the same run's first one (step 24) finds the model at 2.58, 12% worse
    # than its start and far outside the later evaluations' spread around ln 10: the first
    # updates made it worse than its initialisation, then it relaxed to predicting nothing. That is
    # a blow-up the training log missed, said with less confidence than one it shows.
    ra = _analysis(_write_sparse_tensorboard(corpus / "runs" / "digits_mlp-3fcd", tmp_path / "r", every=50))
    (f,) = ra.findings
    assert f.mode == "diverged" and f.step_start == f.evidence["diverged_at_step"] == 24
    assert f.confidence < 0.85 and "knocked out" in f.evidence["summary"]
    # a run at far too low an LR (digits_cnn-4d9e, 2e-5) has its first evaluation at its start:
    # no knock there
    stuck = _analysis(_write_sparse_tensorboard(corpus / "runs" / "digits_cnn-4d9e", tmp_path / "s", every=50))
    assert "diverged" not in {f.mode for f in stuck.findings}


def test_an_lr_gone_before_the_log_can_show_a_fall_is_said(corpus: Path, tmp_path: Path) -> None:
    # char_transformer-0ff6's LR is below 2% of its peak by step ~110; logged every 50th step only
    # 3-4 loss points come before it, too few to tell a loss still falling from one that converged.
    src = corpus / "runs" / "char_transformer-0ff6"
    assert {f.mode for f in _analysis(src).findings} == {"decayed_too_early"}
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=50))
    assert "decayed_too_early" not in {f.mode for f in ra.findings}
    (reason,) = [nc.reason for nc in ra.not_checked if "decayed_too_early" in nc.modes]
    assert "loss points logged before it" in reason


def test_a_flat_tail_too_noisy_to_call_flat_is_said(corpus: Path, tmp_path: Path) -> None:
    # synth_clf_mlp-6cb2 sits on a noisy floor under a constant LR: every 50th step leaves 12 points
    # in its last 40%, whose trend is uncertain by more than the 8% of progress a plateau allows.
    src = corpus / "runs" / "synth_clf_mlp-6cb2"
    assert {f.mode for f in _analysis(src).findings} == {"plateau"}
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=50))
    assert not ra.findings
    (reason,) = [nc.reason for nc in ra.not_checked if "plateau" in nc.modes]
    assert "too uncertain to tell a flat loss from one still falling" in reason


@pytest.mark.parametrize("name", ["digits_mlp-d2ac", "synth_clf_mlp-8a8d", "char_transformer-4295"])
def test_healthy_runs_stay_healthy_logged_every_50th_step(corpus: Path, tmp_path: Path, name: str) -> None:
    src = corpus / "runs" / name
    assert _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=50)).findings == []


def test_an_overfit_whose_sparse_training_log_cannot_show_the_fall_is_said(corpus: Path, tmp_path: Path) -> None:
    # digits_mlp-c0e6 overfits (validation 0.43 -> 1.36 after step 349) while its training loss,
    # spiking to 34x, keeps falling underneath. Every 50th step leaves 5 training points around the
    # best evaluation, their median lifted by the spikes: overfitting and an instability that lifts
    # both losses look alike there, and the run says so instead of passing as healthy.
    src = corpus / "runs" / "digits_mlp-c0e6"
    assert "overfitting" in {f.mode for f in _analysis(src).findings}
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=50))
    assert "overfitting" not in {f.mode for f in ra.findings}
    (reason,) = [nc.reason for nc in ra.not_checked if "overfitting" in nc.modes]
    assert "validation loss rose for good after its best at step 349" in reason


def test_a_validation_rise_beside_a_spiking_sparse_training_log_is_not_called_overfitting(
        corpus: Path, tmp_path: Path) -> None:
    # digits_mlp-41ca spikes throughout (labelled spikes only); its validation loss jumps from ~1 to
    # ~7 near the end. Every 50th step, the 5 training points around its best evaluation and the 5
    # at the end are single batches of a spiking loss (0.25 0.08 0.24 against 0.02 0.12 2.6): the
    # end's median is lower by luck, not by a trend. The run says it cannot tell, not "overfitting".
    src = corpus / "runs" / "digits_mlp-41ca"
    assert "overfitting" not in {f.mode for f in _analysis(src).findings}
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=50))
    assert "overfitting" not in {f.mode for f in ra.findings}
    assert any("overfitting" in nc.modes for nc in ra.not_checked)


def test_a_sparse_flat_tail_is_confirmed_by_the_evaluations(corpus: Path, tmp_path: Path) -> None:
    # char_transformer-c523 sits on a plateau under a constant LR. Every 10th step leaves 20 training
    # points in its last 40%, too few to call the tail flat alone (1% +/- 11% of the progress); its
    # evaluations over the same stretch gained nothing more, so the plateau stands, and says how.
    src = corpus / "runs" / "char_transformer-c523"
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=10))
    (f,) = [f for f in ra.findings if f.mode == "plateau"]
    assert f.evidence["val_last_40pct_share_of_progress"] <= 0.08
    assert f.evidence["last_40pct_share_of_progress_standard_error"] > 0.08 - f.evidence["last_40pct_share_of_progress"]
    assert "evaluations there confirm it" in f.evidence["summary"]
    assert "oscillating" not in {f.mode for f in ra.findings}


def test_calm_evaluations_clear_a_sparse_bounce(corpus: Path, tmp_path: Path) -> None:
    # Every 50th step leaves 15 training points in the 2nd half of synth_clf_mlp-c5d5 (LR 0.02, on a
    # plateau); their bounce reads 6% of what it learned, near the bar an LR too high clears (the
    # dense log reads 3%). Its evaluations, beyond their trend, move by 0.9% of the progress from one
    # to the next: weights that sit still. The run is the plateau it is, not an oscillation.
    src = corpus / "runs" / "synth_clf_mlp-c5d5"
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=50))
    assert {f.mode for f in ra.findings} == {"plateau"}


@pytest.mark.parametrize(("name", "mode", "other"), [("breast_cancer_mlp-c017", "spikes", "oscillating"),
                                                     ("synth_clf_mlp-f62f", "oscillating", "spikes")])
def test_a_bucketed_export_tells_spikes_from_a_bounce_by_its_band(corpus: Path, tmp_path: Path, name: str,
                                                                  mode: str, other: str) -> None:
    # Bucketed to 100 points, a spiky run's means bounce like an LR too high's. Each bucket's band
    # tells them apart: spikes put the maximum far above the mean with the minimum close (c017: the
    # median bucket's max is 4x as far above its mean as its min below), a bounce puts both about
    # as far (f62f: 1.8x).
    found = {f.mode for f in _analysis(_write_bucketed_wandb(corpus / "runs" / name, tmp_path / "b")).findings}
    assert mode in found and other not in found


@pytest.mark.parametrize("name", ["synth_clf_mlp-b9d2", "char_transformer-97ca"])
def test_a_stall_after_the_lr_vanished_is_read_through_the_noise_of_a_sparse_log(
        corpus: Path, tmp_path: Path, name: str) -> None:
    # The LR vanished early and the loss stalled. Logged every 30th step, the single-batch points
    # after the decay carry a robust trend whose "gain" of ~3% of the range is noise (with the LR at
    # ~0 the weights barely move): the gain counts only what its trend surely shows.
    src = corpus / "runs" / name
    assert _labels(src) == {"decayed_too_early"}
    ra = _analysis(_write_sparse_tensorboard(src, tmp_path / "r", every=30))
    assert "decayed_too_early" in {f.mode for f in ra.findings}


def test_jumpy_evaluations_do_not_confirm_a_plateau(corpus: Path, tmp_path: Path) -> None:
    # synth_clf_mlp-ecc8 oscillates at LR 0.3. Every 50th step, its training tail is too uncertain
    # to call and its evaluations gained nothing over the last 40%, as on a plateau, but they jump
    # from one to the next (1.7% of the progress, weights kicked about a level): no plateau, where
    # decaying would be the remedy.
    ra = _analysis(_write_sparse_tensorboard(corpus / "runs" / "synth_clf_mlp-ecc8", tmp_path / "r", every=50))
    assert "plateau" not in {f.mode for f in ra.findings}
