"""Overfitting seen through few evaluations (an eval per epoch, a handful of epochs).

Real runs: Whisper's public trainer_state (5 evaluations), and labelled corpus runs whose
validation loss is kept at only 6 evenly spaced evaluations, the way a run that evaluates
once per epoch logs the same training.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis import analyze, overfitting


def _thin_val(run: parsers.Run, keep: int) -> parsers.Run:
    """The same run with its validation loss at ``keep`` evenly spaced evaluations."""
    tag = run.primary_tag("val_loss")
    df = run.scalars
    sel = df["tag"] == tag
    steps = np.sort(df.loc[sel, "step"].unique())
    kept = steps[np.linspace(0, len(steps) - 1, keep).round().astype(int)]
    return dataclasses.replace(run, scalars=df[~(sel & ~df["step"].isin(kept))].reset_index(drop=True))


def _finding(run: parsers.Run, mode: str):
    return next((f for f in analyze([run]).runs[0].findings if f.mode == mode), None)


def test_whisper_overfit_from_five_evaluations_is_found_and_says_how_few(real_logs: Path) -> None:
    # eval_loss 0.321 @1000 -> 0.358 -> 0.394 -> 0.412 -> 0.420 @5000 while train loss -> 0.0001.
    (run,) = parsers.load(real_logs / "hf_trainer_state" / "whisper-large-v2-ja")
    f = _finding(run, "overfitting")
    assert f is not None
    assert f.evidence["evaluations"] == 5 and f.evidence["evaluations_after_best"] == 4
    assert "only 5 evaluations" in f.evidence["summary"]
    assert 0.5 <= f.confidence < 0.8  # a clear rise, but five points: tentative


@pytest.mark.parametrize("name", ["diabetes_mlp-47c8", "digits_mlp-15f3", "breast_cancer_mlp-3415",
                                  "breast_cancer_mlp-8093"])
def test_overfit_seen_through_six_evaluations_is_found_with_lower_confidence(corpus: Path, name: str) -> None:
    (run,) = parsers.load(corpus / "runs" / name)
    full = _finding(run, "overfitting")
    few = _finding(_thin_val(run, 6), "overfitting")
    assert full is not None and few is not None
    assert few.evidence["evaluations"] == 6
    assert "only 6 evaluations" in few.evidence["summary"]
    assert "evaluations" not in full.evidence["summary"].split("while")[0]
    assert few.confidence < full.confidence


def test_val_bouncing_within_the_minibatch_noise_is_not_overfitting(corpus: Path) -> None:
    # diabetes_mlp-7c35: SGD at a high LR (labelled oscillating). Seen through 6 evaluations its
    # validation loss reads 0.78 (first, the best) then 0.84-1.17: rises of ~0.1 while its own
    # minibatch losses bounce by ~0.15. Not evidence of worse generalisation.
    (run,) = parsers.load(corpus / "runs" / "diabetes_mlp-7c35")
    sig_run = _thin_val(run, 6)
    from lrdoctor.analysis.signals import prepare

    sig = prepare(sig_run)
    vals = sig.val.values[sig.val.finite]
    rise = float(np.median(vals[-3:]) - vals.min())
    assert 0 < rise < sig.view.noise  # the premise: the rise is within one minibatch's spread
    assert overfitting.detect(sig) is None
