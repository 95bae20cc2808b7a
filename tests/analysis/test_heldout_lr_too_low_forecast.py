"""lr_too_low uses the loss forecast: steps a higher LR would save, and "train longer" vs "raise the LR"."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parsers
from lrdoctor.analysis import analyze


def _lr_too_low(corpus: Path, name: str):
    folder = corpus / "runs" / name
    labels = json.loads((folder / "labels.json").read_text())
    assert "lr_too_low" in labels["modes"]
    (ra,) = analyze(parsers.load(folder)).runs
    (finding,) = [f for f in ra.findings if f.mode == "lr_too_low"]
    return labels, finding


# Constant-LR runs 10-50x below their twin's LR; the SGD ones fall almost linearly, the Adam
# synth_clf ones bend toward their floor (read from their curves).
@pytest.mark.parametrize("name", ["synth_clf_mlp-2920", "digits_mlp-08ec", "char_transformer-25de"])
def test_far_from_floor_says_raise_the_lr_with_saved_steps(corpus: Path, name: str) -> None:
    labels, f = _lr_too_low(corpus, name)
    saved = f.evidence["steps_saved_estimate"]
    assert f.evidence["forecast"]["ok"]
    assert isinstance(saved, int) and 0 < saved < labels["steps"]
    # A k-times larger LR reaches the same loss in 1/k of the steps: at most (1 - 1/k) of the run is saved.
    k = f.evidence["lr_factor"]
    assert k > 1 and saved <= labels["steps"] * (1 - 1 / k) + 1
    assert f.recommendation.startswith("raise the LR")
    assert f"{saved:,} steps sooner" in f.recommendation


def test_converging_run_says_train_longer(corpus: Path) -> None:
    labels, f = _lr_too_low(corpus, "synth_clf_mlp-6d64")
    fc = f.evidence["forecast"]
    assert fc["ok"] and fc["progress_fraction"] >= 0.85
    assert f.recommendation.startswith("train longer")
    assert "raise the LR" in f.recommendation  # the alternative stays on the table


def test_no_saved_steps_without_a_trusted_forecast(real_logs: Path) -> None:
    # Epoch-level pets-seg logs: whatever fires, a saved-steps claim needs an ok forecast.
    runs = parsers.load(real_logs / "tensorboard" / "pets-seg-unipr")
    for ra in analyze(runs).runs:
        for f in ra.findings:
            if f.mode == "lr_too_low" and f.evidence.get("steps_saved_estimate") is not None:
                assert f.evidence["forecast"]["ok"]
