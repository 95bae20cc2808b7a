"""The same training logged differently gets the same diagnosis (issue #12).

Real corpus runs are re-logged the ways real logs differ: a constant added to the loss (an
entropy floor, a regulariser, summed multi-task terms), the loss scaled, the LR curve left
out, a loss that is NaN at every point. The re-logged files are W&B chart exports written
the way the export writes them (``"Step","<run> - <key>","<run> - <key>__MIN","<run> - <key>__MAX"``)
and read back with ``parsers.load``.
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

KEYS = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr", "grad_norm": "train/grad_norm"}


def _num(x: float) -> str:
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity") if math.isinf(x) else repr(float(x))


def _relog(src: Path, out: Path, *, add: float = 0.0, mul: float = 1.0, roles=tuple(KEYS)) -> Path:
    """Write the run's curves (tags from its labels) as W&B panel CSVs, losses as mul*loss + add*L0."""
    labels = json.loads((src / "labels.json").read_text())
    (run,) = parsers.load(src)
    out.mkdir(parents=True, exist_ok=True)
    loss = run.series(labels["series"]["train_loss"])["value"].to_numpy(np.float64)
    l0 = float(loss[np.isfinite(loss)][0])
    for i, role in enumerate(roles):
        tag = labels["series"].get(role)
        if tag is None:
            continue
        df = run.series(tag).drop_duplicates("step", keep="last")
        vals = df["value"].to_numpy(np.float64)
        if role in ("train_loss", "val_loss"):
            vals = mul * vals + add * l0
        col = f"quiet-sun-7 - {KEYS[role]}"
        with open(out / f"wandb_export_2026-12-02T10_00_{i:02d}.000+01_00.csv", "w", newline="") as fh:
            w = csv.writer(fh, quoting=csv.QUOTE_ALL)
            w.writerow(["Step", col, col + "__MIN", col + "__MAX"])
            for s, v in zip(df["step"].to_numpy(), vals):
                w.writerow([str(int(s)), _num(v), _num(v), _num(v)])
    return out


def _modes(path: Path) -> set[str]:
    runs = parsers.load(path)
    assert len(runs) == 1
    return {f.mode for f in analyze(runs).runs[0].findings}


# One run per mode family whose diagnosis depended on where zero was: an overfit (val rise
# measured as a ratio to the best), an oscillating run (its level measured against zero),
# a spiky run (spikes as ratios to the floor), a run with the LR too low, a healthy run, and an
# oscillating run that bounces back up to its start (still training, no collapse to it).
CASES = ["breast_cancer_mlp-8093", "synth_clf_mlp-ecc8", "digits_mlp-41ca", "digits_cnn-6220", "digits_mlp-d2ac",
         "synth_clf_mlp-f62f"]


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("add", [1.0, 5.0])
def test_a_constant_added_to_the_loss_changes_nothing(corpus: Path, tmp_path: Path, name: str, add: float) -> None:
    src = corpus / "runs" / name
    expected = set(json.loads((src / "labels.json").read_text())["modes"])
    assert _modes(_relog(src, tmp_path / "plain")) == expected  # re-logged as it was
    assert _modes(_relog(src, tmp_path / "floor", add=add)) == expected


@pytest.mark.parametrize("name", CASES[:3])
def test_a_scaled_and_shifted_loss_changes_nothing(corpus: Path, tmp_path: Path, name: str) -> None:
    src = corpus / "runs" / name
    expected = set(json.loads((src / "labels.json").read_text())["modes"])
    assert _modes(_relog(src, tmp_path / "t", add=1.0, mul=100.0)) == expected


def test_without_an_lr_curve_the_run_says_what_was_not_checked(corpus: Path, tmp_path: Path) -> None:
    # A constant-LR plateau: without the LR curve the plateau (where decaying pays) and an
    # early decay cannot be judged; the run must say so rather than pass as healthy.
    src = corpus / "runs" / "synth_clf_mlp-6cb2"
    assert "plateau" in _modes(src)
    out = _relog(src, tmp_path / "nolr", roles=("train_loss", "val_loss", "grad_norm"))
    ra = analyze(parsers.load(out)).runs[0]
    assert "plateau" not in {f.mode for f in ra.findings}  # no LR shape is assumed
    unchecked = {m for nc in ra.not_checked for m in nc.modes}
    assert {"plateau", "decayed_too_early"} <= unchecked
    entry = analysis_to_dict(analyze(parsers.load(out)))["runs"][0]
    assert any("LR curve" in nc["reason"] and "plateau" in nc["modes"] for nc in entry["not_checked"])
    text = subprocess.run([sys.executable, "-m", "lrdoctor", "analyze", str(out)], capture_output=True,
                          text=True, check=True).stdout
    assert "not checked: plateau and decayed too early: need the LR curve" in text


@pytest.mark.parametrize("name", ["char_transformer-7597", "char_transformer-94e2"])
def test_a_slow_run_without_its_lr_curve_says_it_could_not_tell(corpus: Path, tmp_path: Path, name: str) -> None:
    # A char model at an LR too low still falls at the end, but its first 20% made over half of its
    # progress (letter frequencies come fast at any LR). With its LR curve that is lr_too_low; without
    # it, a decaying schedule still converging looks the same: the run says so instead of "healthy".
    src = corpus / "runs" / name
    assert _modes(src) == {"lr_too_low"}
    ra = analyze(parsers.load(_relog(src, tmp_path / "nolr", roles=("train_loss", "val_loss", "grad_norm")))).runs[0]
    assert not ra.findings
    (reason,) = [nc.reason for nc in ra.not_checked if "lr_too_low" in nc.modes]
    assert "nothing tells an LR too low from a decaying schedule still converging" in reason


@pytest.mark.parametrize("name", ["char_transformer-df93", "char_transformer-0ff6"])
def test_calm_evaluations_clear_a_bounce_without_an_lr_curve(corpus: Path, tmp_path: Path, name: str) -> None:
    # These char models' LR decayed to ~0 early (df93: decayed too early; 0ff6: healthy); their
    # minibatch noise stays at ~5% of their start. Without the LR curve nothing says the LR was
    # low, but their evaluations barely move beyond their trend: the weights sit still, no
    # oscillation.
    src = corpus / "runs" / name
    assert "oscillating" not in _modes(src)
    out = _relog(src, tmp_path / "nolr", roles=("train_loss", "val_loss", "grad_norm"))
    assert "oscillating" not in _modes(out)


def test_the_same_run_with_its_lr_curve_has_nothing_unchecked_for_lack_of_it(corpus: Path) -> None:
    ra = analyze(parsers.load(corpus / "runs" / "synth_clf_mlp-6cb2")).runs[0]
    assert not any("plateau" in nc.modes for nc in ra.not_checked)
    assert analysis_to_dict(analyze(parsers.load(corpus / "runs" / "synth_clf_mlp-6cb2")))["runs"][0][
        "not_checked"] == [nc.to_dict() for nc in ra.not_checked]


def test_a_loss_nan_at_every_point_diverged_at_its_first_step(tmp_path: Path) -> None:
    col = "cold-moon-3 - train/loss"
    with open(tmp_path / "wandb_export_2026-12-02T10_00_00.000+01_00.csv", "w", newline="") as fh:
        w = csv.writer(fh, quoting=csv.QUOTE_ALL)
        w.writerow(["Step", col, col + "__MIN", col + "__MAX"])
        for s in range(0, 400, 10):
            w.writerow([str(s), "NaN", "NaN", "NaN"])
    (run,) = parsers.load(tmp_path)
    ra = analyze([run]).runs[0]
    assert [f.mode for f in ra.findings] == ["diverged"]
    assert ra.findings[0].step_start == 0
    assert ra.findings[0].evidence["first_nonfinite_step"] == 0
