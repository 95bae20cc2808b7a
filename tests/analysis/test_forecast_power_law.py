"""Loss forecast by a saturating power law: recovery, refusal, and the corpus's slow runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import parsers
from lrdoctor.analysis.forecast import forecast_loss


def test_recovers_a_noisy_power_law() -> None:
    rng = np.random.default_rng(0)
    steps = np.arange(1, 5001)
    clean = 1.5 + 4.0 * (steps + 50.0) ** -0.5
    noisy = clean + rng.normal(0, 0.02, len(steps))
    fc = forecast_loss(steps, noisy, horizon_steps=20_000)
    assert fc.ok and fc.r2 > 0.95
    assert fc.l_inf == pytest.approx(1.5, abs=0.05)
    assert fc.loss_at_2x == pytest.approx(1.5 + 4.0 * 10_050.0**-0.5, abs=0.01)
    assert fc.loss_at_horizon == pytest.approx(1.5 + 4.0 * 20_050.0**-0.5, abs=0.015)
    assert 0 < fc.gain_if_doubled < 0.1
    assert 0.5 < fc.progress_fraction < 1.0


def test_refuses_a_flat_or_short_loss() -> None:
    rng = np.random.default_rng(1)
    flat = forecast_loss(np.arange(2000), 2.3 + rng.normal(0, 0.05, 2000))
    assert not flat.ok and flat.reason == "loss is not falling"
    short = forecast_loss(np.arange(5), np.linspace(3, 2, 5))
    assert not short.ok
    with_nan = forecast_loss(np.arange(10), np.full(10, np.nan))
    assert not with_nan.ok


def _constant_lr_runs(corpus: Path, mode: str):
    for labels_file in sorted((corpus / "runs").glob("*/labels.json")):
        labels = json.loads(labels_file.read_text())
        if mode in labels["modes"] and labels["schedule"]["name"] == "constant":
            (run,) = parsers.load(labels_file.parent)
            loss = run.role_series("train_loss")
            yield labels, loss["step"].to_numpy(), loss["value"].to_numpy()


def test_slow_runs_still_gain_and_converged_runs_do_not(corpus: Path) -> None:
    slow = list(_constant_lr_runs(corpus, "lr_too_low"))
    assert len(slow) >= 15
    errors = []
    for labels, steps, loss in slow:
        fc = forecast_loss(steps, loss)
        assert fc.ok, labels["run"]
        # Doubling the run still buys >= 5% of the achievable progress.
        assert fc.gain_if_doubled >= 0.05, labels["run"]
        half = steps <= steps[-1] / 2
        early = forecast_loss(steps[half], loss[half], horizon_steps=int(steps[-1]))
        final = float(np.median(loss[-max(3, len(loss) // 20):]))
        if early.ok:
            errors.append(abs(early.loss_at_horizon - final) / final)
    # Forecast from the first half of the run to its end: typical error well under 15%.
    assert len(errors) >= 15 and float(np.median(errors)) < 0.15
    converged = [forecast_loss(s, y) for _, s, y in _constant_lr_runs(corpus, "overfitting")]
    fitted = [fc for fc in converged if fc.ok]
    assert len(fitted) >= 3
    assert all(fc.gain_if_doubled < 0.02 and fc.progress_fraction > 0.95 for fc in fitted)
