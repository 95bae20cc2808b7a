"""Analysis of hostile runs (issue #15): one run's trouble never costs the others their diagnosis."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

import parsers
from lrdoctor.analysis import analyze
from lrdoctor.analysis.contract import analysis_to_dict
from lrdoctor.analysis.forecast import forecast_loss
from lrdoctor.cli import main


def _write_negative_steps(path: Path) -> Path:
    """A falling loss logged with a step counter that runs from -2000 to -10."""
    rng = np.random.default_rng(0)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "loss", "lr"])
        for step in range(-2000, 0, 10):
            writer.writerow([step, 2.5 * np.exp(-(step + 2000) / 600) + 0.3 + 0.02 * rng.standard_normal(), 1e-3])
    return path


def test_negative_steps_are_analysed_and_the_other_runs_keep_theirs(corpus: Path, tmp_path: Path,
                                                                     capsys) -> None:
    good = corpus / "runs" / "digits_mlp-c152"
    neg = _write_negative_steps(tmp_path / "neg.csv")
    runs = parsers.load(good)
    runs.extend(parsers.load(neg))
    analysis = analyze(runs)
    by_path = {ra.run.path: ra for ra in analysis.runs}
    assert [f.mode for f in by_path[str(good)].findings] == ["diverged"]
    assert by_path[str(neg)].not_diagnosed is None and by_path[str(neg)].findings
    json.dumps(analysis_to_dict(analysis), allow_nan=False)
    assert main(["analyze", str(good), str(neg), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["runs"]) == 2


def test_forecast_of_shifted_steps_matches_the_unshifted_one() -> None:
    """The power law counts steps from the start: a counter starting at -2000 gives the same fit."""
    rng = np.random.default_rng(1)
    t = np.arange(0, 5000, 5, dtype=np.float64)
    loss = 0.4 + 3.0 * (t + 50) ** -0.5 + 0.005 * rng.standard_normal(len(t))
    plain = forecast_loss(t + 1, loss)
    shifted = forecast_loss(t - 2000, loss)
    assert plain.ok and shifted.ok
    assert abs(plain.l_inf - shifted.l_inf) < 0.01
    assert shifted.last_step == int(t[-1] - 2000)
    assert abs(plain.loss_now - shifted.loss_now) < 1e-3
