"""LR range tests: recognition, the published rules, and our suggestion vs the sweeps' best LR."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis.range_test import (
    analyze_range_test,
    bias_corrected_ema,
    is_range_test,
    valley_lr,
)
from parsers import Run, make_scalars

TARGET_FACTOR = 3.0


def _factor(a: float, b: float) -> float:
    return max(a, b) / min(a, b)


def test_corpus_range_tests_suggestion_within_3x(corpus: Path) -> None:
    factors = []
    for labels_file in sorted((corpus / "range_tests").glob("*/labels.json")):
        labels = json.loads(labels_file.read_text())
        (run,) = parsers.load(labels_file.parent)
        assert is_range_test(run), labels["run"]
        result = analyze_range_test(run)
        assert set(result.rules) == {"steepest", "valley", "min_div_10"}
        assert result.suggested_lr is not None
        # The suggestion is below the LR where the loss blew up.
        assert result.suggested_lr < result.min_loss_lr
        factors.append(_factor(result.suggested_lr, labels["ground_truth"]["best_lr"]))
    assert len(factors) == 6
    within = sum(f <= TARGET_FACTOR for f in factors)
    assert within >= 5, factors
    assert float(np.exp(np.mean(np.log(factors)))) <= TARGET_FACTOR


def test_stopped_range_test_reports_the_blow_up(corpus: Path) -> None:
    # Stopped early at lr 0.707 (labels: last_lr) once the loss exploded.
    path = corpus / "range_tests/lr_find_char_transformer_adamw"
    (run,) = parsers.load(path)
    result = analyze_range_test(run)
    last_lr = json.loads((path / "labels.json").read_text())["last_lr"]
    assert result.stop_lr is not None and result.stop_lr <= last_lr * 1.0001
    assert result.lr.max() < result.stop_lr
    assert len(result.lr) == len(result.smoothed_loss) == len(result.loss)


def test_training_runs_are_not_range_tests(corpus: Path) -> None:
    checked = 0
    for run_dir in sorted((corpus / "runs").iterdir()):
        for run in parsers.load(run_dir):
            assert not is_range_test(run), run.path
            checked += 1
    assert checked >= 72


def test_bias_corrected_ema_is_fastais_formula() -> None:
    values = np.array([2.0, 1.0, 4.0, 3.0, 0.5])
    expected, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = 0.98 * avg + 0.02 * v
        expected.append(avg / (1 - 0.98**i))
    assert bias_corrected_ema(values) == pytest.approx(expected)


def test_valley_is_middle_of_longest_descent() -> None:
    lr = np.logspace(-6, 0, 61)
    loss = np.concatenate([np.full(20, 2.0), np.linspace(2.0, 0.5, 31)[1:], np.linspace(0.6, 3, 11)])
    # Longest decreasing subsequence: one 2.0 then indices 20..49 (31 points), ending at 49.
    # fastai: start = end - length = 18, idx = 18 + int(31 / 3) + int(31 / 3 / 2) = 33.
    assert valley_lr(lr, loss) == pytest.approx(lr[33])


def test_geometric_ramp_run_is_a_range_test_and_warmup_is_not() -> None:
    steps = np.arange(200)
    lr = 1e-6 * 10 ** (steps / 40)  # 5 decades
    loss = 2.0 - np.tanh(steps / 60) + np.where(steps > 160, (steps - 160) * 0.5, 0.0)
    tags = ["lr"] * 200 + ["train/loss"] * 200
    run = Run(name="ramp", path="ramp", format="test",
              scalars=make_scalars(tags, np.r_[steps, steps], None, np.r_[lr, loss]))
    assert is_range_test(run)
    result = analyze_range_test(run)
    assert result.stop_lr is not None  # the loss quadrupled
    warm = np.minimum((steps + 1) / 100, 1.0) * 1e-3  # a linear warmup, then constant
    run2 = Run(name="warm", path="warm", format="test",
               scalars=make_scalars(tags, np.r_[steps, steps], None, np.r_[warm, loss]))
    assert not is_range_test(run2)


@pytest.mark.parametrize(("name", "rule"), [
    # the steepest descent just above min/10: the descent ran into the edge, the best LR sits near it
    ("lr_find_synth_clf_sgd", "steepest_x_min_div_10"),
    # the steepest descent well below min/10: the fast descent was over early, the anchor stands
    ("lr_find_digits_cnn_adam", "min_div_10"),
    ("lr_find_char_transformer_adamw", "min_div_10"),
])
def test_procedure_moves_the_anchor_toward_the_edge_only(corpus: Path, name: str, rule: str) -> None:
    (run,) = parsers.load(corpus / "range_tests" / name)
    result = analyze_range_test(run)
    assert result.suggested_rule == rule
    anchor, steep = result.rules["min_div_10"], result.rules["steepest"]
    if rule == "min_div_10":
        assert result.suggested_lr == anchor and steep < anchor
    else:
        assert anchor < result.suggested_lr < steep
    assert result.reason
